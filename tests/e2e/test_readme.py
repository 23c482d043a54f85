"""The README's commands, run exactly as written: each block marked `run as written by tests/e2e/test_readme.py`
is taken from the README itself (or docs/development.md, where the local stack by hand is) and run in bash (or
Python), with nothing added but the environment.

Commands for a deployed stack reach "AWS" through a stand-in for its public endpoints (aws_endpoints), as a
corporate network's proxy would route them; `sam deploy`, `make bench` and `make publish` are not run here (an AWS
account, and minutes of benchmark)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localrun.stack import CREDENTIALS, LocalAws, Resources
from tests.e2e.aws_endpoints import AwsEndpoints

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DEVELOPMENT = (ROOT / "docs" / "development.md").read_text()
# The Lambda runtime's Python, which `make test` finds (or the test fails: `sam build` needs it on PATH).
PYTHON313 = Path(os.environ.get("PYTHON313") or sys.executable)


def block(name: str) -> str:
    """The code of the block marked `name` in the README or docs/development.md, exactly as written."""
    mark = rf"<!-- run as written by tests/e2e/test_readme.py: {re.escape(name)} -->\n```\w+\n(.*?)```"
    found = [m for m in (re.search(mark, text, re.S) for text in (README, DEVELOPMENT)) if m]
    assert len(found) == 1, f"{len(found)} blocks marked {name!r} in the README and docs/development.md, not one"
    return found[0].group(1)


def shell(
    script: str, *, env: dict[str, str], cwd: Path = ROOT, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", script], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False
    )


def documents(text: str) -> list[dict[str, object]]:
    """The JSON documents the AWS CLI printed one after another."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (start := text.find("{", at)) != -1:
        document, at = decoder.raw_decode(text, start)
        found.append(document)
    return found


def plain_environment(**extra: str) -> dict[str, str]:
    """A shell's environment with none of the test's AWS settings."""
    keep = {name: value for name, value in os.environ.items() if name in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**keep, "SAM_CLI_TELEMETRY": "0", **extra}


def test_make_build_runs_as_written() -> None:
    result = shell("make build", env=plain_environment(), timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (ROOT / ".aws-sam" / "build" / "TrackerFunction" / "app.py").is_file()


def test_sam_build_runs_as_written(tmp_path: Path) -> None:
    assert PYTHON313.name.startswith("python")
    assert sys.version_info >= (3, 11)
    version = subprocess.run([str(PYTHON313), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("Python 3.13"), f"sam build needs the runtime's Python 3.13; `make test` found {version}"
    for name in ("template.yaml", "samconfig.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "functions", tmp_path / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    sam = Path(os.environ.get("SAM") or ROOT / ".venv-sam" / "bin" / "sam")
    path = f"{sam.parent}:{PYTHON313.parent}:{os.environ['PATH']}"  # sam, and Python 3.13, on PATH as the README says

    result = shell(block("build"), env=plain_environment(PATH=path), cwd=tmp_path, timeout=600)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    built = tmp_path / ".aws-sam" / "build" / "TrackerFunction"
    assert (built / "app.py").is_file()
    assert (built / "tracking" / "records.py").is_file()
    assert not (built / "tests").exists()
    assert not (built / "localrun").exists()


@pytest.fixture
def aws(stack: LocalAws, resources: Resources, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A deployed `bedrock-async-tracker` stack, as the README's commands find it: its outputs name the local
    stack's queue and topic, and "AWS" is moto behind its public endpoint names."""
    cloudformation = stack.client("cloudformation")
    for existing in cloudformation.list_stacks()["StackSummaries"]:
        if existing["StackName"] == "bedrock-async-tracker" and existing["StackStatus"] != "DELETE_COMPLETE":
            cloudformation.delete_stack(StackName="bedrock-async-tracker")
    outputs = {"IntakeQueueUrl": resources.queue_url, "NotificationTopicArn": resources.topic_arn}
    cloudformation.create_stack(
        StackName="bedrock-async-tracker",
        TemplateBody=json.dumps(
            {
                "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {name: {"Value": value} for name, value in outputs.items()},
            }
        ),
    )
    endpoints = AwsEndpoints(stack.aws_endpoint, tmp_path).start()
    cli = Path(os.environ.get("AWS_CLI") or ROOT / ".venv-cli" / "bin" / "aws").parent
    yield plain_environment(
        **CREDENTIALS,
        AWS_DEFAULT_REGION="us-east-1",
        PATH=f"{cli}:{os.environ['PATH']}",
        **endpoints.environment(),
    )
    endpoints.stop()
    cloudformation.delete_stack(StackName="bedrock-async-tracker")


def test_submitting_to_a_deployed_stack_runs_as_written(
    stack: LocalAws, resources: Resources, aws: dict[str, str]
) -> None:
    result = shell(block("submit"), env=aws)

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count('"MessageId"') == 2
    bodies = sorted(
        m["Body"]
        for m in stack.client("sqs").receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=10)["Messages"]
    )
    arn = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12"
    assert bodies == sorted([arn, json.dumps({"invocationArn": arn, "context": {"jobId": "video-42"}})])


def test_subscribing_to_a_deployed_stack_runs_as_written(
    stack: LocalAws, resources: Resources, aws: dict[str, str]
) -> None:
    sqs = stack.client("sqs")
    mine = sqs.create_queue(QueueName=f"mine-{resources.table_name}")["QueueUrl"]
    mine_arn = sqs.get_queue_attributes(QueueUrl=mine, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    result = shell(block("subscribe"), env={**aws, "YOUR_QUEUE_ARN": mine_arn})

    assert result.returncode == 0, result.stderr[-3000:]
    sns = stack.client("sns")
    subscriptions = {
        s["Endpoint"]: s for s in sns.list_subscriptions_by_topic(TopicArn=resources.topic_arn)["Subscriptions"]
    }
    assert "you@example.com" in subscriptions
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscriptions[mine_arn]["SubscriptionArn"])
    assert json.loads(attributes["Attributes"]["FilterPolicy"]) == {"status": ["Failed"]}


def test_the_python_example_runs_as_written(stack: LocalAws, resources: Resources, aws: dict[str, str]) -> None:
    """In the shell the README's submit block ran in: QUEUE_URL is what that block exported, nothing set here."""
    env = {**aws, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stack.bedrock_endpoint}
    script = f"{block('submit')}\n{shlex.quote(sys.executable)} -c {shlex.quote(block('python'))}\n"

    result = shell(script, env=env)

    assert result.returncode == 0, result.stderr
    messages = stack.client("sqs").receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in messages if m["Body"].startswith("{")]
    (body,) = [b for b in bodies if b["invocationArn"] in stack.simulator.jobs]  # the job Python started
    assert body["context"] == {"jobId": "42"}


def _interruptible() -> None:
    """Ctrl-C as in a terminal: a test run started in the background (`make test &` in a script, nohup, some CI
    runners) has SIGINT ignored, and an ignored signal stays ignored across exec, so Python would never raise
    KeyboardInterrupt in `make stack` (seen: the stack still running an hour after the test)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_the_local_stack_by_hand_runs_as_written(tmp_path: Path) -> None:
    env_file = ROOT / ".demo" / "stack.env"
    env_file.unlink(missing_ok=True)
    output = tmp_path / "make-stack.log"  # a file, not a pipe nobody reads until the end: a full pipe blocks make stack
    with output.open("w") as out:
        stack_process = subprocess.Popen(
            ["bash", "-c", block("stack")],
            cwd=ROOT,
            env=plain_environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=_interruptible,  # noqa: PLW1509 - a signal disposition, set before exec: no lock is taken
        )
    try:
        deadline = time.monotonic() + 120
        while not env_file.exists():
            assert stack_process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, "make stack did not write .demo/stack.env"
            time.sleep(0.5)

        session = shell(block("local-session"), env=plain_environment())
        assert session.returncode == 0, session.stdout[-2000:] + session.stderr[-2000:]
        arn = re.search(r"arn:aws:bedrock:us-east-1:\d{12}:async-invoke/[a-z0-9]{12}", session.stdout)
        assert arn, session.stdout
        *_, received = documents(session.stdout)  # send-message's, get-item's, then receive-message's answer
        notification = json.loads(received["Messages"][0]["Body"])
        assert json.loads(notification["Message"])["invocationArn"] == arn.group(0)

        cli = shell("source .demo/stack.env\n" + block("local-cli"), env=plain_environment())
        assert cli.returncode == 0, cli.stderr[-2000:]
        assert "started arn:aws:bedrock:us-east-1" in cli.stdout
        assert cli.stdout.count("notifications pending:") == 3
    finally:
        os.killpg(stack_process.pid, signal.SIGINT)  # Ctrl-C, as the README says
        # A bound, not a pace: stopping the function, moto and the simulator took over 30 s with the machine busy.
        try:
            stack_process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(stack_process.pid, signal.SIGKILL)
            raise AssertionError("make stack did not stop on Ctrl-C: " + output.read_text()[-4000:]) from None
    assert not env_file.exists()


def test_the_readme_lists_every_mutation_the_suite_must_catch() -> None:
    from tests.mutants import MUTANTS

    listed = DEVELOPMENT[DEVELOPMENT.index("## What the suite must catch") :]
    for mutant in MUTANTS:
        assert f"- {mutant.name}\n" in listed, mutant.name


def test_the_layout_names_every_folder_and_every_module_of_the_function() -> None:
    layout = re.search(r"```\n(template\.yaml, samconfig\.toml.*?)```", DEVELOPMENT, re.S)
    assert layout, "docs/development.md has no layout block"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    folders = {path.split("/")[0] for path in tracked if "/" in path and not path.startswith(".")}
    modules = {path.name for path in (ROOT / "functions" / "tracker" / "tracking").glob("*.py")} - {"__init__.py"}
    assert {f for f in folders if not re.search(rf"^{re.escape(f)}/", layout.group(1), re.M)} == set()
    assert {m for m in modules if not re.search(rf"\b{re.escape(m)}\b", layout.group(1))} == set()


def test_turning_eventbridge_on_for_a_bucket_runs_as_written(stack: LocalAws, aws: dict[str, str]) -> None:
    s3 = stack.client("s3")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket="my-bucket")

    result = shell(block("bucket"), env=aws)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "EventBridgeConfiguration" in s3.get_bucket_notification_configuration(Bucket="my-bucket")
