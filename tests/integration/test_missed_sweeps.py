"""Sweeps missed on AWS (throttled by reserved concurrency, dropped to the sweep's dead-letter queue, late): a new
execution environment starts from the last complete sweep of any environment, kept in the shared item, and makes
every forced check that fell in the gap."""

from __future__ import annotations

from types import ModuleType

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import arn, patient_session, sqs_event
from tests.integration.test_adaptive_polling import SWEEP, UNHEARD, teach
from tracking.runtime import Runtime


def test_a_new_environment_after_missed_sweeps_makes_the_forced_check_that_fell_in_the_gap(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """Jobs of this model take about 900 s; its first forced check falls at 300 s of age. The sweeps after 60 s are
    missed until 420 s, when a new environment sweeps: it must ask (the issue saw it wait for the next at 600 s)."""
    warm = app.runtime
    teach(warm, 900)
    job = stack.simulator.add(arn("missedsweep1"), seconds=3600, output_uri=UNHEARD)
    warm.handle(sqs_event(job))  # due at 300 s of age
    clock.advance(SWEEP)
    assert warm.handle({})["stoppedEarly"] is False  # a complete sweep; it saves the durations it learned
    clock.advance(420 - SWEEP)  # the sweeps at 120 to 360 s never ran
    fresh = Runtime.build(warm.settings, clock=clock, session=patient_session())
    calls = stack.simulator.calls["GetAsyncInvoke"]

    assert fresh.handle({})["outcomes"] == {"in_progress": 1}
    assert stack.simulator.calls["GetAsyncInvoke"] == calls + 1
    clock.advance(SWEEP)
    assert fresh.handle({})["outcomes"] == {"waiting": 1}  # made: the next forced check is at 600 s
