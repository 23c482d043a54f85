"""End to end: the demo's scenario and its accounting, and the real AWS CLI against the local stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local_stack.lambda_driver import LambdaDriver
from local_stack.stack import CREDENTIALS, LocalStack, Resources
from tests.conftest import arn
from tests.integration.test_intake import record_of

ROOT = Path(__file__).resolve().parents[2]
AWS_CLI = os.environ.get("AWS_CLI") or str(ROOT / ".venv-cli" / "bin" / "aws")


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_stack.demo", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=180,
        check=False,
    )


@pytest.mark.slow
def test_demo_notifies_each_ended_invocation_once_and_dead_letters_the_malformed_message() -> None:
    result = run_demo("--invocations", "12", "--failure-rate", "0.25")

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert (
        "Accounting: 12 submitted, 12 ended, 12 notification(s) for 12 invocation(s), 1 in the dead-letter queue"
        in result.stdout
    )
    assert "0 lost" in result.stdout
    assert '{"invocationArn": "not-an-arn"' in result.stdout
    assert "Failed" in result.stdout


@pytest.mark.slow
def test_demo_with_bedrock_failing_every_call_shows_it_and_exits_non_zero_with_nothing_lost() -> None:
    result = run_demo("--invocations", "6", "--fail-bedrock")

    assert result.returncode == 1, result.stdout[-4000:]
    assert "Every GetAsyncInvoke call will fail" in result.stdout
    assert "FAILED: 6 ended invocation(s) not notified" in result.stdout
    assert "0 lost" in result.stdout
    assert "7 in the dead-letter queue" in result.stdout
    assert "internal_server" in result.stdout or "service_error" in result.stdout


def test_real_aws_cli_send_message_is_picked_up_and_tracked(
    stack: LocalStack, resources: Resources, driver: LambdaDriver
) -> None:
    invocation = stack.simulator.add(arn("fromtheawscli"[:12]))
    body = json.dumps({"invocationArn": invocation, "context": {"from": "aws cli"}})
    env = {**os.environ, **CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}

    sent = subprocess.run(
        [AWS_CLI, "sqs", "send-message", "--endpoint-url", stack.aws_endpoint, "--queue-url", resources.queue_url,
         "--message-body", body],
        capture_output=True, text=True, env=env, check=False, timeout=60,
    )  # fmt: skip

    assert sent.returncode == 0, sent.stderr
    assert "MessageId" in sent.stdout
    assert driver.poll_once(wait_seconds=2) == 1
    record = record_of(stack, resources, invocation)
    assert record is not None
    assert record["context"] == {"from": "aws cli"}
    assert stack.queue_depth(resources.queue_url) == 0


@pytest.mark.slow
def test_demo_with_discovery_notifies_the_invocations_nobody_submitted_once() -> None:
    result = run_demo("--invocations", "6", "--discover", "3", "--failure-rate", "0")

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert (
        "Accounting: 6 submitted (+3 left to discovery), 9 ended, 9 notification(s) for 9 invocation(s)"
        in result.stdout
    )
    assert result.stdout.count("(discovered)") == 3
    assert "output.mp4" in result.stdout
