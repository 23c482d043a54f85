"""Several messages about one job in one batch of the checks queue: one check, and every reason's follow-up."""

from __future__ import annotations

import json
from types import ModuleType

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import arn, sqs_event
from tests.integration.test_adaptive_polling import UNHEARD, teach
from tests.integration.test_output_events import RecordedTimers


def checks_event(resources: Resources, *bodies: dict[str, object]) -> dict[str, object]:
    event = sqs_event(*(json.dumps(body) for body in bodies))
    for message in event["Records"]:
        message["eventSourceARN"] = resources.checks_queue_arn
    return event


def test_a_timer_batched_with_a_hand_off_of_the_same_job_still_sets_the_next_timer(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    timers = RecordedTimers()
    app.runtime.tracker.timers = app.runtime.checks.timers = app.runtime.sweep.timers = timers
    teach(app.runtime, 100, count=40)  # Nova Reel jobs took 100 to 139 s
    job = stack.simulator.add(arn("mergedtimer1"), seconds=3600, output_uri=UNHEARD)
    app.runtime.handle(sqs_event(job))
    ((_, first, _, _),) = timers.set
    clock.advance(first)
    calls = stack.simulator.calls["GetAsyncInvoke"]

    # the hand-off first: merged, the timer's reason must not be lost with it
    app.runtime.handle(
        checks_event(
            resources,
            {"check": [job], "reason": "handoff"},
            {"check": job, "reason": "timer", "attempt": 1},
        )
    )

    assert stack.simulator.calls["GetAsyncInvoke"] == calls + 1  # asked once for both
    assert [(reason, attempt) for _, _, reason, attempt in timers.set[1:]] == [("timer", 2)]


def test_a_timer_batched_after_a_recheck_of_the_same_job_keeps_both_follow_ups(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    timers = RecordedTimers()
    app.runtime.tracker.timers = app.runtime.checks.timers = app.runtime.sweep.timers = timers
    teach(app.runtime, 100, count=40)
    job = stack.simulator.add(arn("mergedrechk1"), seconds=3600, output_uri=UNHEARD)
    app.runtime.handle(sqs_event(job))
    ((_, first, _, _),) = timers.set
    clock.advance(first)

    app.runtime.handle(
        checks_event(
            resources,
            {"check": job, "reason": "output", "attempt": 2},
            {"check": job, "reason": "timer", "attempt": 1},
        )
    )

    assert sorted((reason, attempt) for _, _, reason, attempt in timers.set[1:]) == [("output", 3), ("timer", 2)]
