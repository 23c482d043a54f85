"""End to end: `make demo` and its variants exactly as the README shows them, and their accounting."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_readme import block, plain_environment

ROOT = Path(__file__).resolve().parents[2]


def run(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=plain_environment(),
        timeout=300,
        check=False,
    )


def readme_demo(flag: str) -> str:
    """The README's `make demo` line with this flag, as written."""
    (line,) = [line for line in block("demos").splitlines() if flag in line]
    return line


@pytest.mark.slow
def test_make_demo_notifies_each_ended_invocation_once_and_dead_letters_the_malformed_message() -> None:
    assert "make demo   #" in (ROOT / "README.md").read_text()  # the README's first command

    result = run("make demo")

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert (
        "Accounting: 20 submitted, 20 ended, 20 notification(s) for 20 invocation(s), 1 in the dead-letter queue"
        in result.stdout
    )
    assert "0 lost" in result.stdout
    assert '{"invocationArn": "not-an-arn"' in result.stdout
    assert "Failed" in result.stdout
    assert "Time from a job's end to its notification" in result.stdout
    assert re.search(r"with output events +\d+ jobs +median [\d.]+ s +p95 [\d.]+ s", result.stdout)
    # the README's workflow, waiting on a job: resumed with the notification, or through its Catch
    assert re.search(r"SUCCEEDED +[\d.]+ s after its job ended, its output the notification", result.stdout)
    assert re.search(
        r"FAILED +[\d.]+ s after its job ended, through its Catch: Bedrock.AsyncInvokeFailed", result.stdout
    )


@pytest.mark.slow
def test_make_demo_with_bedrock_failing_every_call_shows_it_and_exits_non_zero_with_nothing_lost() -> None:
    result = run(readme_demo("--fail-bedrock"))

    assert result.returncode == 2, result.stdout[-4000:]  # make's own code for a recipe that failed (the demo's 1)
    assert "Every GetAsyncInvoke call will fail" in result.stdout
    (failed,) = [line for line in result.stdout.splitlines() if line.startswith("FAILED: ")]
    assert "20 ended invocation(s) not notified" in failed
    assert "a workflow was not resumed" in failed  # the two workflows' jobs were never tracked either
    assert "0 lost" in result.stdout
    # the 20 submissions, the two workflows' own (each job's ARN with its task token), the malformed message
    assert "23 in the dead-letter queue" in result.stdout
    assert "service_error" in result.stdout


@pytest.mark.slow
def test_make_demo_with_discovery_notifies_the_invocations_nobody_submitted_once() -> None:
    result = run(readme_demo("--discover 3"))

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert (
        "Accounting: 20 submitted (+3 left to discovery), 23 ended, 23 notification(s) for 23 invocation(s)"
        in result.stdout
    )
    assert result.stdout.count("(discovered)") == 3
    assert "output.mp4" in result.stdout


@pytest.mark.slow
def test_make_unit_runs_as_the_readme_shows_it() -> None:
    assert "| `make unit`, `make integration`, `make reliability` |" in (ROOT / "docs" / "development.md").read_text()

    result = run("make unit")

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout), result.stdout[-2000:]
