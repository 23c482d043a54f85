"""Adaptive polling against the local stack, with the template's interval and schedule: the index carries what a
sweep needs to skip an invocation without asking Bedrock, most overdue work comes first, and no sweep scans.

The jobs here write to a bucket the stack does not watch: a job whose output is heard is asked about only at its
forced checks (tests/integration/test_output_events.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from types import ModuleType

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import arn, patient_session, sqs_event
from tracking.invocations import Invocation
from tracking.runtime import Runtime

SWEEP = 60
UNHEARD = "s3://a-bucket-the-stack-does-not-watch/videos"


def teach(runtime: Runtime, seconds: float, count: int = 30, *, spread: float = 1.0) -> None:
    """The durations of `count` Nova Reel jobs this execution environment has seen end: `seconds`, and `spread` more
    for each one after the first."""
    submitted = runtime.tracker.clock() - timedelta(days=1)
    for i in range(count):
        runtime.tracker.durations.learn(
            Invocation.from_answer(
                arn(f"taught{i:06d}"),
                {
                    "invocationArn": arn(f"taught{i:06d}"),
                    "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1",
                    "status": "Completed",
                    "submitTime": submitted,
                    "endTime": submitted + timedelta(seconds=seconds + i * spread),
                },
            )
        )


def test_a_sweep_skips_without_a_call_what_cannot_have_ended_and_asks_at_each_forced_check(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """Jobs of this model take about 900 s; the interval is 300 s. After the cold sweep that asks about all that is
    due, sweeps skip the job (read from the index alone) until its forced check at 600 s of age."""
    runtime = app.runtime
    assert runtime.settings.max_poll_interval_seconds == 300  # the template's default
    assert runtime.settings.sweep_period == timedelta(seconds=SWEEP)
    teach(runtime, 900)
    job = stack.simulator.add(arn("adaptive0001"), seconds=3600, output_uri=UNHEARD)
    runtime.handle(sqs_event(job))  # due at 300 s of age: the learned floor (about 900 s) is further

    asked_at = []
    for age in range(SWEEP, 840 + 1, SWEEP):
        clock.advance(SWEEP)
        calls = stack.simulator.calls["GetAsyncInvoke"]
        outcomes = runtime.handle({})["outcomes"]
        if stack.simulator.calls["GetAsyncInvoke"] > calls:
            asked_at.append(age)
            assert outcomes == {"in_progress": 1}
        elif age >= 300:
            assert outcomes == {"waiting": 1}  # due, judged from the index, and not asked

    assert asked_at == [300, 600]  # the cold sweep at its first due time, then the forced check


def test_due_work_is_taken_most_overdue_first(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    one_at_a_time = Runtime.build(replace(app.runtime.settings, concurrency=1), clock=clock, session=patient_session())
    jobs = [arn(f"order{i:07d}") for i in range(5)]
    for job in [jobs[2], jobs[0], jobs[4], jobs[1], jobs[3]]:  # submitted in this order: first due in this order
        stack.simulator.add(job, seconds=3600, output_uri=UNHEARD)
        clock.advance(7)
    one_at_a_time.handle(sqs_event(*jobs))
    clock.advance(600)
    stack.simulator.asked.clear()

    one_at_a_time.handle({})

    assert stack.simulator.asked == [jobs[2], jobs[0], jobs[4], jobs[1], jobs[3]]


def test_a_new_environment_judges_from_the_durations_every_environment_saved(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """One environment saw 30 Nova Reel jobs end (about 900 s each) and saved them with a sweep; a new one, which
    saw none, takes them from the shared item at its first sweep and asks only what may have ended."""
    warm = app.runtime
    teach(warm, 900)
    job = stack.simulator.add(arn("sharedlearn1"), seconds=3600, output_uri=UNHEARD)
    warm.handle(sqs_event(job))
    clock.advance(360)
    warm.handle({})  # asks (its first due time) and saves what it learned: 30 new durations are worth a write
    assert warm.tracker.records.state()["durations"]["amazon.nova-reel-v1:1"].count(",") == 29
    clock.advance(SWEEP)
    fresh = Runtime.build(warm.settings, clock=clock, session=patient_session())
    assert fresh.tracker.durations.seen("amazon.nova-reel-v1:1") == []

    assert fresh.handle({})["outcomes"] == {"waiting": 1}  # not asked: nowhere near 900 s, no forced check due
    assert len(fresh.tracker.durations.seen("amazon.nova-reel-v1:1")) == 30


def test_a_sweep_that_could_not_ask_about_everything_due_leaves_the_next_to_ask_again(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """A forced check that a sweep failed to make (Bedrock throttled it) is made by the next sweep: the sweep with
    errors does not count as one that went through all due work."""
    from bedrock_simulator import Fault
    from tracking import clients

    runtime = app.runtime
    teach(runtime, 900)
    job = stack.simulator.add(arn("missedcheck1"), seconds=3600, output_uri=UNHEARD)
    runtime.handle(sqs_event(job))  # first due at 300 s of age
    clock.advance(300)
    stack.simulator.inject("GetAsyncInvoke", Fault(code="ThrottlingException", count=clients.BEDROCK.attempts))
    assert runtime.handle({})["errors"] == {"throttled": 1}
    clock.advance(SWEEP)
    fresh = Runtime.build(runtime.settings, clock=clock, session=patient_session())
    teach(fresh, 900)

    assert runtime.handle({})["outcomes"] == {"in_progress": 1}  # asked: its forced check was never made
    clock.advance(SWEEP)
    assert fresh.handle({})["outcomes"] == {"waiting": 1}  # made now, by the other: the mark is gone
