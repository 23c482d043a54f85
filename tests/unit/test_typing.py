"""The AWS boundary is typed: strict mypy, with the types-boto3 stubs, checks every request the code builds."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
from tracking.errors import call
from tracking.records import RecordStore
from tracking.timers import Timers


def misspelt(store: RecordStore, timers: Timers) -> None:
    call(store.client.get_item, TableName="t", Key={"invocationArn": {"S": "a"}}, ConsistentReed=True)
    call(timers.client.send_message, QueueUrl="q", MessageBody="b", DelaySeconds="15")
"""


def test_no_blanket_ignore_hides_boto3_or_botocore() -> None:
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["strict"] is True
    assert "ignore_missing_imports" not in mypy
    ignored = [module for override in mypy.get("overrides", []) for module in override["module"]]
    assert not [module for module in ignored if module.split(".")[0] in {"boto3", "botocore"}]


def test_a_request_the_client_would_refuse_fails_the_type_check(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), str(probe)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert 'Unexpected keyword argument "ConsistentReed"' in result.stdout
    assert '"DelaySeconds"' in result.stdout  # a str where SQS takes an int
