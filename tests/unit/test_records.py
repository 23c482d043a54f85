"""A stored record read into types once: what the notification, the lifecycle and the outputs read from it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.helpers import arn
from tracking.records import DueItem, Record

ITEM = {
    "invocationArn": arn("abcdefghij12"),
    "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1",
    "status": "Failed",
    "failureMessage": "blocked",
    "submitTime": "2026-11-26T12:00:00.000Z",
    "endTime": "2026-11-26T12:01:30.250Z",
    "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bucket/videos/run"}},
    "context": {"pi": Decimal("3.14159265358979323846264")},
    "notification": "published",
    "event": "pending",
    "work": "notify",
    "dueAt": Decimal(1764158490),
}


def test_a_record_reads_the_invocation_its_context_and_each_channels_state() -> None:
    record = Record.of(ITEM)
    assert record.arn == ITEM["invocationArn"]
    assert record.invocation.status == "Failed"
    assert record.invocation.failure_message == "blocked"
    assert record.invocation.model_id == "amazon.nova-reel-v1:1"
    assert record.invocation.end_time == datetime(2026, 11, 26, 12, 1, 30, 250000, tzinfo=UTC)
    assert record.invocation.output_location == ("bucket", "videos/run")
    assert record.context == {"pi": Decimal("3.14159265358979323846264")}  # exact, never a float
    assert record.channels == {"notification": "published", "event": "pending"}
    assert not record.pending("notification")
    assert record.pending("event")


def test_a_record_without_a_bus_has_the_topic_only_and_its_times_come_back_as_written() -> None:
    item = {name: value for name, value in ITEM.items() if name not in ("event", "context")}
    record = Record.of(item)
    assert record.channels == {"notification": "published"}
    assert record.context is None
    fields = record.invocation.fields()
    assert (fields["submitTime"], fields["endTime"]) == (ITEM["submitTime"], ITEM["endTime"])


def test_a_due_item_names_its_model_as_a_record_does() -> None:
    item = {
        "invocationArn": {"S": ITEM["invocationArn"]},
        "dueAt": {"N": "1764158490"},
        "modelArn": {"S": ITEM["modelArn"]},
        "submitTime": {"S": ITEM["submitTime"]},
    }
    assert DueItem.of(item).model_id == Record.of(ITEM).invocation.model_id
