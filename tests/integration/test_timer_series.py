"""One timer series per job, whatever SQS repeats and however many sweeps find the job not worth asking: the record
says which timer is next, a sweep starts a series only where none is going (a conditional write), and a timer whose
number is not the record's is dropped without a call."""

from __future__ import annotations

from types import ModuleType

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import arn, sqs_event
from tests.integration.test_adaptive_polling import UNHEARD, teach
from tests.integration.test_output_events import RecordedTimers, timer_event


def test_sweeps_start_one_series_for_a_long_job_and_a_repeated_timer_sets_no_second(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """Nova Reel jobs took 1,000 to 1,039 s: too long for a timer at intake (SQS delays 15 minutes at most), so the
    sweep before the predicted end sets the first. Two sweeps at that moment (two environments, or one run twice)
    start one series; its first timer delivered twice (SQS's at-least-once) asks once and sets one next."""
    runtime = app.runtime
    timers = RecordedTimers()
    runtime.tracker.timers = runtime.checks.timers = runtime.sweep.timers = timers
    teach(runtime, 1000, count=40)
    job = stack.simulator.add(arn("longjobtimer"), seconds=3600, output_uri=UNHEARD)
    runtime.handle(sqs_event(job))
    assert timers.set == []  # its first timer would be 1,009 s away
    clock.advance(900)
    assert runtime.handle({})["outcomes"] == {"in_progress": 1}  # its forced check
    clock.advance(60)

    assert runtime.handle({})["outcomes"] == {"waiting": 1}
    assert runtime.handle({})["outcomes"] == {"waiting": 1}

    ((_, delay, reason, first),) = timers.set  # one series
    assert reason == "timer"
    assert 0 < delay <= 60
    clock.advance(delay)
    calls = stack.simulator.calls["GetAsyncInvoke"]
    runtime.handle(timer_event(resources, job, first))
    runtime.handle(timer_event(resources, job, first))  # SQS delivered it twice
    assert stack.simulator.calls["GetAsyncInvoke"] == calls + 1
    assert [attempt for *_, attempt in timers.set] == [first, first + 1]
