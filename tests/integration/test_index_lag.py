"""An output event that comes before its job's record is indexed (a GSI Query never reads its own write) or before
the job is recorded at all is not lost, and a job recorded after its files landed is asked again in seconds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType

import pytest

from localrun.clock import Clock
from localrun.lambda_driver import LambdaDriver
from localrun.stack import EventDelivery, LocalAws, Resources
from tests.helpers import arn, sqs_event
from tests.integration.test_output_events import RecordedTimers


@pytest.fixture
def lag(stack: LocalAws, resources: Resources) -> Iterator[LocalAws]:
    """The stack's index lag, set by the test and reset after it."""
    yield stack
    stack.index_lag = 0


def by_id(stack: LocalAws, resources: Resources, invocation_id: str) -> list[str]:
    answer = stack.client("dynamodb").query(
        TableName=resources.table_name,
        IndexName="ByInvocationId",
        KeyConditionExpression="invocationId = :id",
        ExpressionAttributeValues={":id": {"S": invocation_id}},
    )
    return [item["status"]["S"] for item in answer["Items"]]


def test_an_index_query_sees_a_write_only_the_lag_after_it_was_made_a_read_by_key_at_once(
    lag: LocalAws, resources: Resources, clock: Clock
) -> None:
    lag.index_lag = 5
    dynamodb = lag.client("dynamodb")
    key = {"invocationArn": {"S": arn("lagmodel0001")}}

    dynamodb.put_item(TableName=resources.table_name, Item={**key, "invocationId": {"S": "lagmodel0001"},
                                                            "status": {"S": "InProgress"}})  # fmt: skip
    assert by_id(lag, resources, "lagmodel0001") == []
    assert dynamodb.get_item(TableName=resources.table_name, Key=key, ConsistentRead=True)["Item"]
    clock.advance(3)
    dynamodb.update_item(
        TableName=resources.table_name,
        Key=key,
        UpdateExpression="SET #status = :done",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":done": {"S": "Completed"}},
    )
    assert by_id(lag, resources, "lagmodel0001") == []
    clock.advance(2)
    assert by_id(lag, resources, "lagmodel0001") == ["InProgress"]  # the first write, not yet the second
    clock.advance(3)
    assert by_id(lag, resources, "lagmodel0001") == ["Completed"]
    dynamodb.delete_item(TableName=resources.table_name, Key=key)
    assert by_id(lag, resources, "lagmodel0001") == ["Completed"]
    clock.advance(5)
    assert by_id(lag, resources, "lagmodel0001") == []

    lag.index_lag = 0  # the default: at once
    dynamodb.put_item(TableName=resources.table_name, Item={**key, "invocationId": {"S": "lagmodel0001"},
                                                            "status": {"S": "InProgress"}})  # fmt: skip
    assert by_id(lag, resources, "lagmodel0001") == ["InProgress"]


def test_an_output_event_before_the_index_shows_the_record_is_heard_at_once(
    lag: LocalAws, resources: Resources, app: ModuleType, driver: LambdaDriver, clock: Clock, delivery: EventDelivery
) -> None:
    lag.index_lag = 10
    job = lag.simulator.add(arn("lagbeforeidx"), seconds=3600)  # writes to the watched bucket: heard
    app.runtime.handle(sqs_event(job))
    lag.simulator.end(job)  # its files land a moment later, before the index shows the record

    assert driver.poll_once(wait_seconds=2, checks=True) == 3

    assert [n["message"]["invocationArn"] for n in lag.notifications()] == [job]
    assert lag.simulator.calls["GetAsyncInvoke"] == 2  # intake's, and the event's


def test_a_job_recorded_after_its_files_landed_is_asked_again_in_seconds_not_left_to_its_forced_check(
    stack: LocalAws, resources: Resources, app: ModuleType, driver: LambdaDriver, clock: Clock, delivery: EventDelivery
) -> None:
    timers = RecordedTimers()
    app.runtime.tracker.timers = app.runtime.checks.timers = app.runtime.sweep.timers = timers
    stack.simulator.status_lag = 3.0  # Bedrock says InProgress for a moment after the files land
    try:
        job = stack.simulator.add(arn("landedfirst1"), seconds=3600)
        stack.simulator.end(job)
        assert driver.poll_once(wait_seconds=2, checks=True) == 3  # the events first: no record yet
        assert stack.simulator.calls["GetAsyncInvoke"] == 0

        app.runtime.handle(sqs_event(job))  # then the submission: InProgress, and its event came already

        assert timers.set == [(job, 5.0, "output", 2)]
        clock.advance(5)
        event = sqs_event(json.dumps({"check": job, "reason": "output", "attempt": 2}))
        for message in event["Records"]:
            message["eventSourceARN"] = resources.checks_queue_arn
        app.runtime.handle(event)
    finally:
        stack.simulator.status_lag = 0.0

    assert [n["message"]["invocationArn"] for n in stack.notifications()] == [job]


def test_an_object_of_no_tracked_invocation_costs_bounded_reads_a_small_write_and_no_call(
    stack: LocalAws, resources: Resources, app: ModuleType, driver: LambdaDriver, delivery: EventDelivery
) -> None:
    app.runtime.tracker.learn_from_others()  # an environment reads the shared durations once in 15 minutes: done
    s3 = stack.client("s3")
    for name in ("output.mp4", "manifest.json"):
        s3.put_object(Bucket=resources.bucket, Key=f"videos/zzzzzzzzzzzz/{name}", Body=b"x")

    assert driver.poll_once(wait_seconds=2, checks=True) == 2

    operations = stack.proxy.state.operations()
    assert operations["dynamodb:Query"] == 1  # the index
    assert operations["dynamodb:UpdateItem"] == 1  # its arrival noted, for a job recorded after it
    assert operations["dynamodb:GetItem"] == 2  # the shared durations (read before), the record it could be, by key
    assert stack.simulator.calls["GetAsyncInvoke"] == 0
    assert stack.queue_depth(resources.checks_queue_url) == 0  # done with, not retried
