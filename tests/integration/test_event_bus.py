"""The event AWS does not send: every ending also put on the EventBridge bus the user names, once per ending and
channel, routed by the user's own rule (moto's EventBridge, a rule on the bus, an SQS target)."""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType

from localrun.aws_proxy import Fault
from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import Invoke, arn, fail_on_the_wire, patient_session, sqs_event
from tests.integration.test_sweep import record_of


def ended(stack: LocalAws, name: str, *, fails: bool = False) -> str:
    job = stack.simulator.add(arn(name))
    stack.simulator.end(job, failed=fails)
    return job


def test_one_event_per_ending_reaches_the_users_rule_in_the_documented_shape(
    stack: LocalAws, resources: Resources, invoke: Invoke
) -> None:
    completed, failed = ended(stack, "busending001"), ended(stack, "busending002", fails=True)
    invoke(sqs_event(completed, failed))
    invoke(sqs_event(completed))  # a resubmission: no second event, no second notification

    events = {event["detail"]["invocationArn"]: event for event in stack.events()}
    notifications = {n["message"]["invocationArn"]: n["message"] for n in stack.notifications()}
    assert set(events) == set(notifications) == {completed, failed}
    for job, event in events.items():
        assert event["source"] == "bedrock-async-tracker"
        assert event["detail-type"] == "Bedrock Async Invoke State Change"
        assert event["resources"] == [job]
        assert event["account"] == job.split(":")[4]
        assert event["detail"] == notifications[job]  # the same JSON object as the SNS message
    assert events[failed]["detail"]["status"] == "Failed"
    assert events[failed]["detail"]["failureMessage"]
    record = record_of(stack, resources, completed)
    assert record is not None
    assert record["event"] == "published"
    assert record["eventId"]
    assert "work" not in record  # both channels done, in the one write that also marks the notification


def test_a_failed_put_is_retried_by_the_next_sweep_and_never_repeats_the_sns_message(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock
) -> None:
    job = ended(stack, "busputfail01")
    fail_on_the_wire(stack, "events", "PutEvents", code="InternalException", status=500)

    invoke(sqs_event(job))
    assert len(stack.notifications()) == 1  # SNS took it
    assert stack.events() == []
    record = record_of(stack, resources, job)
    assert record is not None
    assert (record["notification"], record["event"], record["work"]) == ("published", "pending", "notify")

    assert invoke({})["outcomes"] == {"notified": 1}  # released: the next sweep puts it
    assert invoke({})["outcomes"] == {}
    assert [event["detail"]["invocationArn"] for event in stack.events()] == [job]
    assert stack.notifications() == []  # and did not publish again


def test_a_partially_failed_put_events_is_a_failure_retried_once(
    stack: LocalAws, resources: Resources, invoke: Invoke
) -> None:
    """PutEvents answers 200 with FailedEntryCount 1 when an entry was refused (throttled, an internal failure)."""
    stack.proxy.inject(Fault("events", "PutEvents", action="refuse_entries", code="InternalFailure"))
    job = ended(stack, "buspartial01")

    invoke(sqs_event(job))
    assert stack.events() == []
    record = record_of(stack, resources, job)
    assert record is not None
    assert record["event"] == "pending"
    assert "InternalFailure" in str(record["lastPublishError"])

    assert invoke({})["outcomes"] == {"notified": 1}
    assert len(stack.events()) == 1
    assert len(stack.notifications()) == 1  # the one intake published, never again


def test_a_failed_publish_is_retried_without_putting_the_event_again(
    stack: LocalAws, resources: Resources, invoke: Invoke
) -> None:
    job = ended(stack, "bussnsfail01")
    fail_on_the_wire(stack, "sns", "Publish", code="InternalError", status=500)

    invoke(sqs_event(job))
    assert len(stack.events()) == 1
    assert stack.notifications() == []

    assert invoke({})["outcomes"] == {"notified": 1}
    assert len(stack.notifications()) == 1
    assert stack.events() == []


def test_with_no_bus_named_nothing_is_put(stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock) -> None:
    from tracking.runtime import Runtime

    runtime = Runtime.build(replace(app.runtime.settings, event_bus_name=""), clock=clock, session=patient_session())
    assert [channel.name for channel in runtime.tracker.channels] == ["notification", "callbacks"]
    job = ended(stack, "busnothing01")

    runtime.handle(sqs_event(job))

    assert len(stack.notifications()) == 1
    assert stack.events() == []
    assert stack.proxy.state.operations()["events:PutEvents"] == 0
    record = record_of(stack, resources, job)
    assert record is not None
    assert "event" not in record
