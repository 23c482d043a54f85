"""adv3: a resubmitted job's new timer series, its first timer in one batch with the old series' next.

A resubmission (the producer's retry, or SQS delivering the intake message twice) records the job again: its first
timer is set and the record's series number goes back to 1, so the old series' next timer (number 2, already on the
queue) is to be dropped and the new one checked (lifecycle.Tracker.observe). The checks queue merges the messages of
a batch by ARN (checks.Target.merge), keeping the highest timer number: the old series' 2, which is not the record's,
so both are dropped without a call, and the job has no timer left (its forced checks only).

How AWS behaves: the checks queue's event source mapping hands the function up to BatchSize (10) messages at once,
however many are visible ("Lambda reads messages in batches", https://docs.aws.amazon.com/lambda/latest/dg/
with-sqs.html); two timers of one job made visible within the mapping's batching window (1 s) or while the queue is
behind (a throttled function, a burst of hand-offs) arrive in one batch, and SQS's ReceiveMessage makes no promise of
order on a standard queue ("Standard queues provide best-effort ordering", SQS developer guide).
"""

from __future__ import annotations

import json
from types import ModuleType

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import arn, sqs_event
from tests.integration.test_adaptive_polling import UNHEARD, teach
from tests.integration.test_output_events import RecordedTimers


def test_a_new_series_first_timer_in_one_batch_with_the_old_series_next_is_checked(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    runtime = app.runtime
    timers = RecordedTimers()
    runtime.tracker.timers = runtime.checks.timers = runtime.sweep.timers = timers
    teach(runtime, 100, count=40)  # Nova Reel jobs took 100 to 139 s
    job = stack.simulator.add(arn("timerbatch01"), seconds=3600, output_uri=UNHEARD)
    runtime.handle(sqs_event(job))
    ((_, delay, _, first),) = timers.set
    clock.advance(delay)
    runtime.handle(timer_batch(resources, job, first))  # the job runs on: its next timer is set
    assert [attempt for *_, attempt in timers.set] == [first, first + 1]

    runtime.handle(sqs_event(job))  # resubmitted: a new series, its first timer
    assert [attempt for *_, attempt in timers.set] == [first, first + 1, 1]
    calls = stack.simulator.calls["GetAsyncInvoke"]

    # When both series' timers come in one batch, the record's (the new series' first) is checked
    runtime.handle(timer_batch(resources, job, first + 1, 1))
    assert stack.simulator.calls["GetAsyncInvoke"] == calls + 1
    assert [attempt for *_, attempt in timers.set][-1] == 2  # and the new series goes on


def timer_batch(resources: Resources, job: str, *numbers: int) -> dict[str, object]:
    event = sqs_event(*(json.dumps({"check": job, "reason": "timer", "attempt": n}) for n in numbers))
    for record in event["Records"]:
        record["eventSourceARN"] = resources.checks_queue_arn
    return event
