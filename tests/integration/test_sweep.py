"""Sweeps and notifications, through app.lambda_handler, on moto's server and the Bedrock simulator."""

from __future__ import annotations

import json
import threading
from types import ModuleType
from typing import Any

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import (
    PAST_THE_FLOOR,
    Invoke,
    LogLines,
    arn,
    fail_on_the_wire,
    load_event,
    patient_session,
    sqs_event,
    start_on_bedrock,
)
from tests.integration.test_intake import record_of
from tracking.invocations import iso
from tracking.records import STATE


def test_empty_event_sweeps(stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock) -> None:
    invocation = stack.simulator.add(arn("sweptbyempty"))
    invoke(sqs_event(invocation))
    stack.simulator.end(invocation)
    clock.advance(PAST_THE_FLOOR)  # past its first possible end: a sweep asks

    report = invoke({})

    assert report["outcomes"] == {"notified": 1}
    assert [n["message"]["invocationArn"] for n in stack.notifications()] == [invocation]


def test_schedule_event_from_the_template_input_sweeps(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock
) -> None:
    from localrun import template

    _, schedule_input = template.schedule()
    assert load_event("schedule.json") == schedule_input
    running = stack.simulator.add(arn("stillrunning"))
    invoke(sqs_event(running))
    clock.advance(PAST_THE_FLOOR)

    report = invoke(load_event("schedule.json"))

    assert report["outcomes"] == {"in_progress": 1}
    assert stack.notifications() == []


def test_completed_notification_carries_the_get_async_invoke_fields(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock
) -> None:
    invocation = stack.simulator.add(arn("completed001"))
    invoke(sqs_event(json.dumps({"invocationArn": invocation, "context": {"jobId": "42"}})))
    stack.simulator.end(invocation)
    clock.advance(PAST_THE_FLOOR)  # past its first possible end: a sweep asks
    answer = stack.client("bedrock-runtime").get_async_invoke(invocationArn=invocation)

    invoke({})

    (notification,) = stack.notifications()
    message = notification["message"]
    assert message["invocationArn"] == invocation
    assert message["status"] == "Completed"
    assert message["modelArn"] == answer["modelArn"]
    assert message["clientRequestToken"] == answer["clientRequestToken"]
    assert message["outputDataConfig"] == answer["outputDataConfig"]
    assert message["context"] == {"jobId": "42"}
    assert "failureMessage" not in message
    for name in ("submitTime", "lastModifiedTime", "endTime"):
        assert message[name] == iso(answer[name])  # ISO-8601 UTC, milliseconds, Z
    assert notification["MessageAttributes"]["status"] == {"Type": "String", "Value": "Completed"}


def test_failed_notification_carries_the_failure_message(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock
) -> None:
    invocation = stack.simulator.add(arn("failed000001"))
    invoke(sqs_event(invocation))
    stack.simulator.end(invocation, failed=True, message="The generated video was blocked by our content filters.")
    clock.advance(PAST_THE_FLOOR)  # past its first possible end: a sweep asks

    invoke({})

    (notification,) = stack.notifications()
    assert notification["message"]["status"] == "Failed"
    assert notification["message"]["failureMessage"] == "The generated video was blocked by our content filters."
    assert notification["MessageAttributes"]["status"]["Value"] == "Failed"
    assert "context" not in notification["message"]


def test_subscriber_filter_policy_on_status_receives_only_failures(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock
) -> None:
    sqs, sns = stack.client("sqs"), stack.client("sns")
    failures_url = sqs.create_queue(QueueName=f"failures-{resources.table_name}")["QueueUrl"]
    failures_arn = sqs.get_queue_attributes(QueueUrl=failures_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=resources.topic_arn,
        Protocol="sqs",
        Endpoint=failures_arn,
        Attributes={"FilterPolicy": json.dumps({"status": ["Failed"]})},
    )
    ok, bad = stack.simulator.add(arn("filterok0001")), stack.simulator.add(arn("filterbad001"))
    invoke(sqs_event(ok, bad))
    stack.simulator.end(ok)
    stack.simulator.end(bad, failed=True)
    clock.advance(PAST_THE_FLOOR)  # past its first possible end: a sweep asks

    invoke({})

    received = sqs.receive_message(QueueUrl=failures_url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(json.loads(m["Body"])["Message"])["invocationArn"] for m in received] == [bad]
    assert len(stack.notifications()) == 2


def test_publish_that_failed_is_retried_by_the_next_sweep_once(
    stack: LocalAws, resources: Resources, app: ModuleType, invoke: Invoke, logs: LogLines, clock: Clock
) -> None:
    invocation = stack.simulator.add(arn("publishfail1"))
    invoke(sqs_event(invocation))
    stack.simulator.end(invocation)
    clock.advance(PAST_THE_FLOOR)  # past its first possible end: a sweep asks
    failures = fail_on_the_wire(stack, "sns", "Publish", code="InternalError")

    # the sweep that sees the ending cannot publish: the notification stays pending, due now
    first = invoke({})
    assert first["outcomes"] == {"notification_pending": 1}
    assert failures.hits == 1
    assert stack.notifications() == []
    record = record_of(stack, resources, invocation)
    assert record is not None
    assert record["notification"] == "pending"
    assert record["work"] == "notify"
    assert record["publishFailures"] == 1
    assert "InternalError" in str(record["lastPublishError"])

    # the next sweep publishes it, and the one after has nothing left to do
    assert invoke({})["outcomes"] == {"notified": 1}
    assert invoke({})["outcomes"] == {}
    (notification,) = stack.notifications()
    assert notification["message"]["invocationArn"] == invocation
    record = record_of(stack, resources, invocation)
    assert record is not None
    assert record["notification"] == "published"
    assert record["notificationMessageId"] == notification["MessageId"]
    assert logs.where(message="notification not published; a sweep will retry it", invocationArn=invocation)


def test_publish_failure_at_intake_still_tracks_the_message(
    stack: LocalAws, resources: Resources, app: ModuleType, invoke: Invoke, clock: Clock
) -> None:
    invocation = stack.simulator.add(arn("intakepubfl1"))
    stack.simulator.end(invocation)
    clock.advance(PAST_THE_FLOOR)  # past its first possible end: a sweep asks
    fail_on_the_wire(stack, "sns", "Publish", code="Throttling", status=400)

    # the record is durable, so the message is done; the notification waits for the sweep
    assert invoke(sqs_event(invocation)) == {"batchItemFailures": []}
    assert stack.notifications() == []
    assert invoke({})["outcomes"] == {"notified": 1}
    assert len(stack.notifications()) == 1


def test_two_sweeps_at_once_notify_each_ending_once(
    stack: LocalAws, resources: Resources, app: ModuleType, invoke: Invoke, clock: Clock
) -> None:
    from tracking.config import Settings
    from tracking.runtime import Runtime

    invocations = [stack.simulator.add(arn(f"concurrent{i:02d}")) for i in range(30)]
    for start in range(0, 30, 10):
        assert invoke(sqs_event(*invocations[start : start + 10])) == {"batchItemFailures": []}
    for invocation in invocations:
        stack.simulator.end(invocation, failed=invocation.endswith("7"))
        clock.advance(PAST_THE_FLOOR)  # past its first possible end: a sweep asks
    # two execution environments, each with its own clients, as two concurrent Lambda invocations have
    runtimes = [Runtime.build(Settings.from_env(), clock=clock, session=patient_session()) for _ in range(3)]
    barrier = threading.Barrier(len(runtimes))
    reports: list[dict[str, object]] = []

    def sweep(runtime: Runtime) -> None:
        barrier.wait()
        reports.append(runtime.handle({}))

    threads = [threading.Thread(target=sweep, args=(runtime,)) for runtime in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    notifications = stack.notifications(wait=1)
    assert sorted(n["message"]["invocationArn"] for n in notifications) == sorted(invocations)
    assert sum(report["outcomes"].get("notified", 0) for report in reports) == 30  # type: ignore[attr-defined]


def test_a_sweep_asks_about_each_due_invocation_and_leaves_those_still_running_due(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock
) -> None:
    running = [stack.simulator.add(arn(f"inprogress{i:02d}")) for i in range(3)]
    invoke(sqs_event(*running))
    clock.advance(PAST_THE_FLOOR)
    calls_before = stack.simulator.calls["GetAsyncInvoke"]

    report = invoke({})

    assert report["outcomes"] == {"in_progress": 3}
    assert stack.simulator.calls["GetAsyncInvoke"] == calls_before + 3
    record = record_of(stack, resources, running[0])
    assert record is not None
    assert record["work"] == "listen"  # its output lands in the watched bucket: its event will tell


def test_sweep_reports_a_bedrock_error_and_keeps_the_invocation_due(
    stack: LocalAws, resources: Resources, invoke: Invoke, logs: LogLines, clock: Clock
) -> None:
    from bedrock_simulator import Fault

    invocation = stack.simulator.add(arn("sweepthrott1"))
    invoke(sqs_event(invocation))
    stack.simulator.end(invocation)
    clock.advance(PAST_THE_FLOOR)  # past its first possible end: a sweep asks
    stack.simulator.inject("GetAsyncInvoke", Fault(code="ThrottlingException", count=4))

    assert invoke({})["errors"] == {"throttled": 1}
    assert logs.where(message="sweep could not check invocation", invocationArn=invocation)
    assert invoke({})["outcomes"] == {"notified": 1}
    assert len(stack.notifications()) == 1


def test_an_invocation_running_far_longer_than_expected_is_reported_overdue(
    stack: LocalAws, resources: Resources, app: ModuleType, logs: LogLines
) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from tracking.runtime import Runtime

    invocation = stack.simulator.add(arn("overdue00001"))
    later = Runtime.build(
        replace(app.runtime.settings, overdue_minutes=30),
        clock=lambda: datetime.now(UTC) + timedelta(minutes=31),
        session=patient_session(),
    )

    assert later.handle(sqs_event(invocation)) == {"batchItemFailures": []}

    (line,) = logs.where(message="invocation in progress for longer than expected")
    assert line["invocationArn"] == invocation
    assert line["modelId"] == "amazon.nova-reel-v1:1"


def test_a_sweep_writes_nothing_for_invocations_still_in_progress(
    stack: LocalAws, resources: Resources, app: ModuleType, invoke: Invoke, clock: Clock
) -> None:
    # outputs no watched bucket hears: a sweep asks about these every time (MaxPollInterval of 0 aside, on any
    # sweep that finds them due), and writes nothing while they run
    running = [stack.simulator.add(arn(f"nowrite{i:05d}"), output_uri="s3://not-watched/x") for i in range(5)]
    invoke(sqs_event(*running))
    clock.advance(PAST_THE_FLOOR)
    writes = []

    def write(params: dict[str, Any], **_: Any) -> None:
        if params["Key"]["invocationArn"]["S"] != STATE:  # a complete sweep says so in the shared item, once
            writes.append(params)

    app.runtime.tracker.records.client.meta.events.register("provide-client-params.dynamodb.UpdateItem", write)

    assert invoke({})["outcomes"] == {"in_progress": 5}
    assert invoke({})["outcomes"] == {"in_progress": 5}  # still due: asked again, nothing written

    assert writes == []
    stack.simulator.end(running[0])
    clock.advance(PAST_THE_FLOOR)  # past its first possible end: a sweep asks
    assert invoke({})["outcomes"] == {"in_progress": 4, "notified": 1}
    assert len(writes) == 2  # the ending, then its publication


def test_a_completed_nova_reel_notification_lists_its_output_and_duration(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock
) -> None:
    invocation = start_on_bedrock(stack)
    invoke(sqs_event(invocation))
    stack.simulator.end(invocation)
    clock.advance(PAST_THE_FLOOR)  # past its first possible end: a sweep asks

    invoke({})

    (notification,) = stack.notifications()
    message = notification["message"]
    folder = f"videos/{invocation[-12:]}/"
    keys = {item["key"]: item["size"] for item in message["outputObjects"]}
    assert set(keys) == {folder + "output.mp4", folder + "manifest.json", folder + "generation-status.json"}
    assert keys[folder + "output.mp4"] > 1000
    assert message["durationSeconds"] >= 0
    assert notification["Subject"] == f"Bedrock async invocation Completed: {invocation[-12:]}"
    assert notification["MessageAttributes"]["modelId"] == {"Type": "String", "Value": "amazon.nova-reel-v1:1"}


def test_outputs_are_not_listed_for_failures_or_buckets_not_named(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock
) -> None:
    failed = stack.simulator.add(arn("failednolist"))
    elsewhere = stack.simulator.add(arn("elsewhere001"), output_uri="s3://someone-elses-bucket/x")
    invoke(sqs_event(failed, elsewhere))
    stack.simulator.end(failed, failed=True)
    stack.simulator.end(elsewhere)
    clock.advance(PAST_THE_FLOOR)  # past its first possible end: a sweep asks

    invoke({})

    messages = {n["message"]["invocationArn"]: n["message"] for n in stack.notifications()}
    assert "outputObjects" not in messages[failed]
    assert "outputObjects" not in messages[elsewhere]


def test_a_runs_deadline_ends_with_the_run(stack: LocalAws, resources: Resources, app: ModuleType) -> None:
    """Calls made between runs (none in Lambda; an operator's or a test's) are not refused by an old deadline."""
    invocation = stack.simulator.add(arn("afterarun001"))
    app.runtime.handle(sqs_event(invocation))

    assert app.runtime.guard.deadline is None
    assert app.runtime.tracker.records.get(invocation) is not None
