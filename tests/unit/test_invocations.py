"""An answer of GetAsyncInvoke read into an Invocation: times as aware UTC, answers we cannot trust refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.helpers import SUBMIT_TIME, answer
from tracking.errors import UnexpectedAnswer
from tracking.invocations import Invocation, iso

ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12"


def test_answer_becomes_fields_with_iso_utc_times() -> None:
    invocation = Invocation.from_answer(ARN, answer(submitTime=SUBMIT_TIME.astimezone(timezone(timedelta(hours=2)))))
    fields = invocation.fields()
    assert fields["submitTime"] == "2026-11-26T12:00:00.123Z"
    assert "endTime" not in fields
    assert "failureMessage" not in fields
    assert invocation.model_id == "amazon.nova-reel-v1:1"
    assert not invocation.ended


def test_failure_message_is_kept_only_for_failed_invocations() -> None:
    failed = Invocation.from_answer(ARN, answer(status="Failed", failureMessage="blocked", endTime=SUBMIT_TIME))
    assert failed.fields()["failureMessage"] == "blocked"
    completed = Invocation.from_answer(ARN, answer(status="Completed", failureMessage="stray", endTime=SUBMIT_TIME))
    assert "failureMessage" not in completed.fields()


def test_naive_and_string_times_are_read_as_utc() -> None:
    invocation = Invocation.from_answer(
        ARN, answer(submitTime="2026-11-26T12:00:00Z", endTime=datetime(2026, 11, 26, 13))
    )
    assert invocation.submit_time == datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert invocation.end_time == datetime(2026, 11, 26, 13, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"status": "Cancelled"}, "unknown status"),
        ({"status": None}, "unknown status"),
        ({"invocationArn": ARN.replace("abcdefghij12", "zzzzzzzzzzzz")}, "answered about"),
        ({"modelArn": None}, "no modelArn"),
        ({"submitTime": None}, "no submitTime"),
        ({"submitTime": "yesterday"}, "not a time"),
        ({"endTime": 12}, "not a time"),
        ({"outputDataConfig": "s3://b"}, "not an object"),
    ],
)
def test_answers_we_cannot_trust_are_refused(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(UnexpectedAnswer, match=reason):
        Invocation.from_answer(ARN, answer(**changes))


def test_iso_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        iso(datetime(2026, 1, 1))
