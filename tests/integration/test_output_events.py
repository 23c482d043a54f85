"""Notified in seconds: objects created in a watched bucket reach the function through moto's EventBridge and the
template's rule, timers ask about a job when it should end, and the sweep catches what both miss."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from types import ModuleType

from localrun.clock import Clock
from localrun.lambda_driver import LambdaDriver
from localrun.stack import EventDelivery, LocalAws, Resources
from tests.helpers import PAST_THE_FLOOR, arn, patient_session, sqs_event, start_on_bedrock
from tests.integration.test_adaptive_polling import UNHEARD, teach


def function_calls(stack: LocalAws, operation: str) -> int:
    return stack.proxy.state.operations()[operation]


def test_a_job_that_writes_three_files_each_delivered_twice_is_asked_about_once_and_notified_once(
    stack: LocalAws, resources: Resources, app: ModuleType, driver: LambdaDriver, delivery: EventDelivery
) -> None:
    delivery.duplicates = 1.0
    job = start_on_bedrock(stack)  # Nova Reel: output.mp4, manifest.json, generation-status.json
    app.runtime.handle(sqs_event(job))
    calls = stack.simulator.calls["GetAsyncInvoke"]

    stack.simulator.end(job)  # the files land: six events on the checks queue
    assert driver.poll_once(wait_seconds=2, checks=True) == 6

    assert stack.simulator.calls["GetAsyncInvoke"] == calls + 1
    (notification,) = stack.notifications()
    assert notification["message"]["invocationArn"] == job
    assert stack.queue_depth(resources.checks_queue_url) == 0
    # the same files again, later (a redelivery): the record says ended, so no call is made
    stack.client("s3").put_object(Bucket=resources.bucket, Key=f"videos/{job[-12:]}/output.mp4", Body=b"again")
    assert driver.poll_once(wait_seconds=2, checks=True) == 2
    assert stack.simulator.calls["GetAsyncInvoke"] == calls + 1
    assert stack.notifications() == []


def test_an_object_of_no_tracked_invocation_costs_two_reads_and_a_noted_arrival_at_most_and_no_call(
    stack: LocalAws, resources: Resources, app: ModuleType, driver: LambdaDriver, delivery: EventDelivery
) -> None:
    app.runtime.tracker.learn_from_others()  # an environment reads the shared durations once in 15 minutes: done
    s3 = stack.client("s3")
    s3.put_object(Bucket=resources.bucket, Key="videos/zzzzzzzzzzzz/output.mp4", Body=b"x")  # a folder like an id
    s3.put_object(Bucket=resources.bucket, Key="notes/readme.txt", Body=b"x")  # nothing like an id: no read

    assert driver.poll_once(wait_seconds=2, checks=True) == 2

    assert function_calls(stack, "dynamodb:Query") == 1
    assert function_calls(stack, "dynamodb:GetItem") == 2  # the shared durations, read before; the record it could be
    assert function_calls(stack, "dynamodb:UpdateItem") == 1  # its arrival noted, for a job recorded after it
    assert stack.simulator.calls["GetAsyncInvoke"] == 0
    assert stack.queue_depth(resources.checks_queue_url) == 0  # done with, not retried


def test_a_lost_event_leaves_the_ending_to_the_sweep(
    stack: LocalAws,
    resources: Resources,
    app: ModuleType,
    driver: LambdaDriver,
    clock: Clock,
    delivery: EventDelivery,
) -> None:
    delivery.losses = 1.0
    job = start_on_bedrock(stack)
    app.runtime.handle(sqs_event(job))
    stack.simulator.end(job)
    assert driver.poll_once(wait_seconds=1, checks=True) == 0

    clock.advance(PAST_THE_FLOOR)
    app.runtime.handle({})

    assert [n["message"]["invocationArn"] for n in stack.notifications()] == [job]


def quick_model(runtime: object, seconds: float = 2.0) -> None:
    """Teach the runtime that Nova Reel jobs take `seconds`, so that a timer is due that soon (in real time too)."""
    teach(runtime, seconds, spread=0)  # type: ignore[arg-type]


def test_a_timer_at_the_predicted_end_notifies_a_job_whose_events_were_lost(
    stack: LocalAws,
    resources: Resources,
    app: ModuleType,
    driver: LambdaDriver,
    clock: Clock,
    delivery: EventDelivery,
) -> None:
    delivery.losses = 1.0
    quick_model(app.runtime)
    job = stack.simulator.add(arn("timedtoend01"), seconds=2)
    app.runtime.handle(sqs_event(job))  # recorded in progress: a timer in about 2 s
    assert stack.proxy.state.operations()["sqs:SendMessage"] == 1
    clock.advance(2)
    stack.simulator.end(job)

    time.sleep(2.5)  # SQS holds the timer in real time
    assert driver.poll_once(wait_seconds=2, checks=True) == 1

    assert [n["message"]["invocationArn"] for n in stack.notifications()] == [job]


def test_a_timer_that_finds_the_job_running_writes_only_which_timer_is_next(
    stack: LocalAws, resources: Resources, app: ModuleType, driver: LambdaDriver, delivery: EventDelivery
) -> None:
    quick_model(app.runtime)
    job = stack.simulator.add(arn("stillrunnin1"), seconds=3600)
    app.runtime.handle(sqs_event(job))
    writes = function_calls(stack, "dynamodb:UpdateItem")

    time.sleep(2.5)
    assert driver.poll_once(wait_seconds=2, checks=True) == 1

    assert function_calls(stack, "dynamodb:UpdateItem") == writes + 1  # the record's timer moves to the next
    assert stack.notifications() == []
    record = app.runtime.tracker.records.get(job)
    assert record is not None
    assert record["status"] == "InProgress"


def test_an_output_that_lands_before_the_status_says_so_is_checked_again_seconds_later(
    stack: LocalAws,
    resources: Resources,
    app: ModuleType,
    driver: LambdaDriver,
    clock: Clock,
    delivery: EventDelivery,
) -> None:
    stack.simulator.status_lag = 3.0  # the files first, the status three seconds later
    try:
        job = start_on_bedrock(stack)
        app.runtime.handle(sqs_event(job))
        stack.simulator.end(job)
        assert driver.poll_once(wait_seconds=2, checks=True) == 3  # still InProgress: a recheck in 5 s
        assert stack.notifications() == []
        clock.advance(5)

        time.sleep(5.5)
        assert driver.poll_once(wait_seconds=2, checks=True) == 1
    finally:
        stack.simulator.status_lag = 0.0

    assert [n["message"]["invocationArn"] for n in stack.notifications()] == [job]


def test_an_environment_that_only_takes_submissions_sets_timers_from_what_others_learned(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    from dataclasses import replace

    from tracking.runtime import Runtime

    learned = app.runtime
    teach(learned, 30)
    job = stack.simulator.add(arn("otherlearned"), seconds=3600)
    learned.handle({})  # a sweep: it saves what it learned
    fresh = Runtime.build(replace(learned.settings), clock=clock, session=patient_session())

    fresh.handle(sqs_event(job))

    assert stack.proxy.state.operations()["sqs:SendMessage"] == 1  # its timer, at the median of 30 to 59 s
    assert fresh.tracker.durations.predicted("amazon.nova-reel-v1:1", 0.5) == timedelta(seconds=45)


class RecordedTimers:
    """Timers that note what they were asked for instead of waiting on SQS: the test delivers each one itself."""

    def __init__(self) -> None:
        self.set: list[tuple[str, float, str, int]] = []

    def check_at(self, arn: str, delay: timedelta, *, reason: str, attempt: int = 1, opened: object = None) -> bool:
        self.set.append((arn, delay.total_seconds(), reason, attempt))
        return True

    def hand_off(self, arns: list[str], **_: object) -> int:
        return 0


def timer_event(resources: Resources, arn: str, attempt: int) -> dict[str, object]:
    event = sqs_event(json.dumps({"check": arn, "reason": "timer", "attempt": attempt}))
    for record in event["Records"]:
        record["eventSourceARN"] = resources.checks_queue_arn
    return event


def test_a_job_no_event_will_tell_of_is_asked_by_a_series_of_timers_that_write_only_its_end(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    timers = RecordedTimers()
    app.runtime.tracker.timers = app.runtime.checks.timers = app.runtime.sweep.timers = timers
    teach(app.runtime, 100, count=40)  # Nova Reel jobs took 100 to 139 s
    job = stack.simulator.add(arn("timerseries1"), seconds=125, output_uri=UNHEARD)
    app.runtime.handle(sqs_event(job))
    record = app.runtime.tracker.records.get(job)
    assert record is not None
    assert record["work"] == "timed"
    ((_, first, reason, attempt),) = timers.set
    assert (reason, attempt) == ("timer", 1)
    assert 105 <= first <= 115  # where a quarter of the jobs had ended (and the gaps are bounded by 40 s)

    clock.advance(first)
    writes, calls = function_calls(stack, "dynamodb:UpdateItem"), stack.simulator.calls["GetAsyncInvoke"]
    app.runtime.handle(timer_event(resources, job, 1))  # still running: the next timer, and its number recorded
    assert stack.simulator.calls["GetAsyncInvoke"] == calls + 1
    assert function_calls(stack, "dynamodb:UpdateItem") == writes + 1
    (_, second, _, attempt) = timers.set[-1]
    assert attempt == 2
    assert first + 10 <= first + second <= 139

    clock.advance(min(second, 60) - 1)  # a sweep before the timer leaves the job to it: not even due
    assert app.runtime.handle({})["outcomes"] == {}
    assert stack.simulator.calls["GetAsyncInvoke"] == calls + 1
    clock.advance(125 - first - min(second, 60) + 2)
    assert stack.notifications() == []

    app.runtime.handle(timer_event(resources, job, 2))

    assert [n["message"]["invocationArn"] for n in stack.notifications()] == [job]
    assert stack.simulator.calls["GetAsyncInvoke"] == calls + 2
