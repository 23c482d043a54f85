"""The newer paths, each through what a user sees: the rechecks after an output lands, the gap between a job's
timers, the first timer a sweep gives a job longer than SQS can delay, a heard job among learned durations, the
durations an environment saves after half an hour, and discovery's look before its watermark.

Timers here are noted, not sent: the test delivers each one itself when the clock reaches it (SQS holds a delayed
message in real time, and these series run for minutes)."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from localrun.clock import Clock
from localrun.lambda_driver import LambdaDriver
from localrun.stack import EventDelivery, LocalAws, Resources
from tests.helpers import arn, patient_session, sqs_event, start_on_bedrock
from tests.integration.test_adaptive_polling import UNHEARD, teach
from tracking.invocations import parse_iso
from tracking.runtime import Runtime

MODEL = "amazon.nova-reel-v1:1"


@dataclass
class NotedTimers:
    """Timers that note when they would go off (on the test's clock) instead of waiting on SQS: as SQS delays a
    message, by whole seconds."""

    clock: Clock
    set: list[tuple[datetime, str, str, int]] = field(default_factory=list)

    def check_at(self, arn: str, delay: timedelta, *, reason: str, attempt: int = 1) -> bool:
        self.set.append((self.clock() + timedelta(seconds=math.ceil(delay.total_seconds())), arn, reason, attempt))
        return True

    def hand_off(self, arns: list[str]) -> int:
        return 0

    def next_due(self) -> datetime | None:
        return min((timer[0] for timer in self.set), default=None)

    def take_next(self) -> tuple[datetime, str, str, int]:
        timer = min(self.set)
        self.set.remove(timer)
        return timer


def noted_timers(runtime: Runtime, clock: Clock) -> NotedTimers:
    timers = NotedTimers(clock)
    runtime.tracker.timers = timers  # type: ignore[assignment]
    runtime.sweep.timers = timers  # type: ignore[assignment]
    if runtime.checks is not None:
        runtime.checks.timers = timers  # type: ignore[assignment]
    return timers


def check_event(resources: Resources, arn: str, reason: str, attempt: int) -> dict[str, Any]:
    """The checks queue's message of a timer, as the event source mapping hands it to the function."""
    event = sqs_event(json.dumps({"check": arn, "reason": reason, "attempt": attempt}))
    for record in event["Records"]:
        record["eventSourceARN"] = resources.checks_queue_arn
    return event


def go_off(
    runtime: Runtime, resources: Resources, timers: NotedTimers, clock: Clock, *, until: datetime
) -> list[datetime]:
    """Deliver every timer that goes off by `until`, each when the clock reaches it; returns when each went off."""
    went_off = []
    while (due := timers.next_due()) is not None and due <= until:
        at, invocation, reason, attempt = timers.take_next()
        clock.advance_to(at)
        runtime.handle(check_event(resources, invocation, reason, attempt))
        went_off.append(at)
    clock.advance_to(until)
    return went_off


def notified(stack: LocalAws) -> list[str]:
    return [n["message"]["invocationArn"] for n in stack.notifications()]


def test_an_output_whose_status_lags_25_seconds_is_notified_by_the_third_recheck(
    stack: LocalAws,
    resources: Resources,
    app: ModuleType,
    driver: LambdaDriver,
    clock: Clock,
    delivery: EventDelivery,
) -> None:
    """The files land, Bedrock says InProgress for 25 s more: the rechecks 5, 10 and 20 s apart find it ended at
    the third (35 s after the files), long before the sweep's forced check would."""
    timers = noted_timers(app.runtime, clock)
    stack.simulator.status_lag = 25.0
    try:
        job = start_on_bedrock(stack)
        app.runtime.handle(sqs_event(job))
        stack.simulator.end(job)  # the files land now
        landed = clock()
        assert driver.poll_once(wait_seconds=2, checks=True) == 3  # one check, still InProgress
        assert notified(stack) == []

        went_off = go_off(app.runtime, resources, timers, clock, until=landed + timedelta(seconds=60))
    finally:
        stack.simulator.status_lag = 0.0

    assert [(at - landed).total_seconds() for at in went_off] == [5, 15, 35]
    assert notified(stack) == [job]


def test_a_job_whose_model_ends_close_together_is_asked_by_timers_at_most_40_s_past_the_next_ending(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """A hundred of the model's jobs ended between 100 and 397 s, one every 3 s: a quarter of them spans 75 s.
    A job no event will tell of is asked at most 40 s past the first of those jobs that ran 10 s longer than its
    last check, so the gap between its timers (how late its end is heard) stays within that."""
    timers = noted_timers(app.runtime, clock)
    teach(app.runtime, 100, count=100, spread=3)
    durations = [100 + 3 * i for i in range(100)]
    job = stack.simulator.add(arn("closeendings"), seconds=3600, output_uri=UNHEARD)
    submitted = clock()
    app.runtime.handle(sqs_event(job))

    went_off = go_off(app.runtime, resources, timers, clock, until=submitted + timedelta(seconds=600))

    asked = [0.0] + [(at - submitted).total_seconds() for at in went_off]
    assert asked[-1] >= durations[-1] - 40  # the series follows the job through all the model's endings
    for before, after in itertools.pairwise(asked):
        first_later = min(d for d in durations if d >= before + 10)
        assert after <= first_later + 40, asked


def test_a_job_longer_than_sqs_can_delay_gets_its_timer_from_a_sweep_and_is_notified_as_it_ends(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """The model's jobs take 30 minutes, more than the 15 minutes SQS delays a message: no timer at intake. The
    sweep before the predicted end sets one, which finds the job ended the moment it does, where the next sweep
    would come 25 s later."""
    timers = noted_timers(app.runtime, clock)
    teach(app.runtime, 1800, spread=0)
    job = stack.simulator.add(arn("longerthansq"), seconds=1800, output_uri=UNHEARD)
    submitted = clock()
    app.runtime.handle(sqs_event(job))
    assert timers.set == []  # too far ahead for SQS
    ended = submitted + timedelta(seconds=1800)

    sweep = submitted + timedelta(seconds=25)  # sweeps at 25 s of age, then every minute
    while sweep <= ended + timedelta(seconds=120):
        go_off(app.runtime, resources, timers, clock, until=sweep)
        app.runtime.handle({})
        sweep += timedelta(seconds=60)

    assert notified(stack) == [job]
    assert notified_late(app.runtime, job) <= timedelta(seconds=5)


def notified_late(runtime: Runtime, job: str) -> timedelta:
    """How long after its end the job's notification went out (the record's `notifiedAt` and `endTime`)."""
    record = runtime.tracker.records.get(job)
    assert record is not None
    return parse_iso(str(record["notifiedAt"])) - parse_iso(str(record["endTime"]))


def test_a_heard_job_among_learned_durations_is_asked_by_sweeps_only_at_its_forced_checks(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """The model's jobs ended between 400 and 429 s; this one writes to the watched bucket, so its output's event
    will tell when it ends: sweeps every minute ask Bedrock about it at its forced checks (300, 600, 900 s), and not
    while its age passes the learned durations, nor once it is older than all of them."""
    noted_timers(app.runtime, clock)  # its two timers are noted and never go off here
    teach(app.runtime, 400)
    job = stack.simulator.add(arn("heardamongst"), seconds=3600)  # the stack's bucket: watched
    app.runtime.handle(sqs_event(job))
    record = app.runtime.tracker.records.get(job)
    assert record is not None
    assert record["work"] == "listen"

    asked_at = []
    for age in range(60, 900 + 1, 60):
        clock.advance(60)
        calls = stack.simulator.calls["GetAsyncInvoke"]
        app.runtime.handle({})
        if stack.simulator.calls["GetAsyncInvoke"] > calls:
            asked_at.append(age)

    assert asked_at == [300, 600, 900]


def test_a_few_durations_are_saved_for_every_environment_once_the_first_has_waited_30_minutes(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """One environment sees 12 jobs of a model end: fewer than the 20 that make a write worth it at once. Its sweeps
    save them once the first has waited 30 minutes; from then on a new environment times a job of that model from
    them (a timer at its predicted end), which a new one before then cannot."""
    learner = app.runtime
    jobs = [stack.simulator.add(arn(f"fewended{i:04d}"), seconds=200, output_uri=UNHEARD) for i in range(12)]
    learner.handle(sqs_event(*jobs[:10]))
    learner.handle(sqs_event(*jobs[10:]))
    clock.advance(310)
    outcomes = learner.handle({})["outcomes"]  # 12 durations of 200 s learned now, as the endings are recorded
    assert outcomes.get("notified", 0) + outcomes.get("notification_pending", 0) == 12

    def a_new_environment_times_a_job(name: str) -> bool:
        fresh = Runtime.build(replace(learner.settings), clock=clock, session=patient_session())
        before = stack.proxy.state.operations()["sqs:SendMessage"]  # a timer: a delayed message on the wire
        fresh.handle(sqs_event(stack.simulator.add(arn(name), seconds=3600, output_uri=UNHEARD)))
        return stack.proxy.state.operations()["sqs:SendMessage"] > before

    for _ in range(29):
        clock.advance(60)
        learner.handle({})
    assert not a_new_environment_times_a_job("newat29mins0")  # nothing saved yet: nothing to time it by

    clock.advance(60)
    learner.handle({})  # the first has waited 30 minutes: saved
    assert a_new_environment_times_a_job("newat30mins0")


def discovering(app: ModuleType) -> Runtime:
    return Runtime.build(
        replace(app.runtime.settings, discovery_regions=("us-east-1",)),
        clock=app.runtime.clock,
        session=patient_session(),
    )


def test_a_job_listed_after_the_watermark_with_an_earlier_submission_time_is_discovered(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """Submission times come from Bedrock's clock, not the order jobs are listed in: a job that first appears in the
    listing after the watermark passed its submission time (here by 2 minutes, within discovery's 5-minute look
    back) is still discovered and tracked."""
    runtime = discovering(app)
    first = stack.simulator.add(arn("firstlisted1"), seconds=3600)
    assert runtime.handle({})["outcomes"].get("discovered_in_progress") == 1  # the watermark: its submission
    clock.advance(60)
    late = stack.simulator.add(arn("listedlater1"), seconds=3600)
    stack.simulator.jobs[late].submit_time = stack.simulator.jobs[first].submit_time - timedelta(minutes=2)

    report = runtime.handle({})

    assert report["outcomes"].get("discovered_in_progress") == 1
    record = runtime.tracker.records.get(late)
    assert record is not None
    assert record["status"] == "InProgress"
