"""events/: every event the function takes, each one read by the function's own parsers as the handler routes it
(an intake batch, the schedule's event, and on the checks queue an S3 output event, a timer, a hand-off), and the
files exactly what events/generate.py writes."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from tests.helpers import EVENTS, load_event
from tracking.checks import Handoff, from_queue, targets_of
from tracking.errors import TrackerError
from tracking.intake import is_sqs_batch
from tracking.submissions import parse_submission

INTAKE_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/bedrock-async-tracker-IntakeQueue"
CHECKS_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/bedrock-async-tracker-ChecksQueue"
ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/{}"


def test_the_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    before = {path.name: path.read_text() for path in EVENTS.glob("*.json")}
    namespace = runpy.run_path(str(EVENTS / "generate.py"))
    namespace["main"].__globals__["HERE"] = tmp_path
    namespace["main"]()
    assert {path.name: path.read_text() for path in tmp_path.glob("*.json")} == before


def test_the_schedules_event_is_a_sweep() -> None:
    assert not is_sqs_batch(load_event("schedule.json"))


def test_the_good_intake_batch_parses_whole() -> None:
    event = load_event("sqs_good_batch.json")
    assert is_sqs_batch(event)
    assert not from_queue(event, CHECKS_QUEUE_URL)
    assert from_queue(event, INTAKE_QUEUE_URL)
    arns = [parse_submission(message["body"]).arn.arn for message in event["Records"]]
    assert arns == [ARN.format("goodjson0001"), ARN.format("goodbare0002")]


def test_the_mixed_intake_batch_has_one_good_message_and_the_rest_refused() -> None:
    event = load_event("sqs_mixed_batch.json")
    assert is_sqs_batch(event)
    assert from_queue(event, INTAKE_QUEUE_URL)
    good, *bad = event["Records"]
    assert parse_submission(good["body"]).arn.arn == ARN.format("goodjson0001")
    for message in bad:
        with pytest.raises(TrackerError):
            parse_submission(message["body"])


def checks_bodies(name: str) -> list[str]:
    event = load_event(name)
    assert is_sqs_batch(event)
    assert from_queue(event, CHECKS_QUEUE_URL)  # routed to the checks, not to intake
    assert not from_queue(event, INTAKE_QUEUE_URL)
    return [message["body"] for message in event["Records"]]


def test_the_output_event_names_its_invocations_folder() -> None:
    (body,) = checks_bodies("sqs_output_event.json")
    assert json.loads(body)["detail-type"] == "Object Created"
    (target,) = targets_of(body)
    assert (target.invocation_id, target.arn, target.reasons) == ("goodjson0001", None, {"output": 1})
    assert Handoff.of(body) is None


def test_the_timer_is_its_series_second() -> None:
    (body,) = checks_bodies("sqs_timer.json")
    (target,) = targets_of(body)
    assert (target.arn, target.reasons) == (ARN.format("goodbare0002"), {"timer": 2})
    assert Handoff.of(body) is None


def test_the_handoff_carries_its_arns_and_its_sweeps_start() -> None:
    (body,) = checks_bodies("sqs_handoff.json")
    targets = list(targets_of(body))
    assert [t.arn for t in targets] == [ARN.format("goodjson0001"), ARN.format("goodbare0002")]
    assert all(t.reasons == {"handoff": 1} for t in targets)
    assert Handoff.of(body) == Handoff(since=1764195300, again=False)
