"""The contract's bound, over random workloads: no in-progress invocation goes longer than MAX_POLL_INTERVAL_SECONDS
plus one sweep period since Bedrock was last asked about it, whatever was learned and whatever the schedule."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from hypothesis import example, given, settings
from hypothesis import strategies as st

from localrun import template
from tracking.config import _rate
from tracking.invocations import Invocation
from tracking.lifecycle import Tracker
from tracking.polling import Durations, next_check_at, worth_asking
from tracking.records import LISTEN, POLL, TIMED, DueItem, epoch
from tracking.sweep import Sweep

MODEL = "amazon.nova-reel-v1:1"
ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12"
START = datetime(2026, 11, 26, tzinfo=UTC)
PERIODS = [_rate(schedule) for schedule in template.template()["Parameters"]["SweepSchedule"]["AllowedValues"]]


def invocation(submitted: datetime) -> Invocation:
    return Invocation.from_answer(
        ARN,
        {
            "invocationArn": ARN,
            "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}",
            "status": "InProgress",
            "submitTime": submitted,
        },
    )


def learned(seconds: list[float]) -> Durations:
    durations = Durations()
    durations.shared[MODEL] = list(seconds)
    return durations


@settings(max_examples=400, deadline=None)
@given(
    interval=st.sampled_from([0, 60, 120, 300, 600, 900, 1800]),
    period=st.sampled_from(PERIODS),
    offset=st.floats(min_value=0, max_value=1),
    submitted_after=st.floats(min_value=0, max_value=7200),
    lasts=st.floats(min_value=1, max_value=6 * 3600),
    seen=st.lists(st.floats(min_value=1, max_value=4 * 3600), max_size=60),
    recycled=st.lists(st.booleans(), max_size=400),
)
def test_no_invocation_goes_longer_than_the_bound_plus_one_sweep_period_without_a_check(
    interval: int,
    period: timedelta,
    offset: float,
    submitted_after: float,
    lasts: float,
    seen: list[float],
    recycled: list[bool],
) -> None:
    max_interval = timedelta(seconds=interval)
    submitted = START + timedelta(seconds=submitted_after)
    ends = submitted + timedelta(seconds=lasts)
    durations = learned(seen)  # what the environments learned, right or (for this job) badly wrong
    # intake asks at submission and records when the invocation is first due
    due_at = next_check_at(invocation(submitted), now=submitted, max_interval=max_interval, durations=durations)
    asks = [submitted]
    since: datetime | None = None
    sweep = START + period * (offset - 1)  # sweeps at START + period * (offset + k), k = 0, 1, ...
    k = 0
    while asks[-1] < ends:
        sweep += period
        if sweep <= submitted:
            continue
        if k < len(recycled) and recycled[k]:
            since = None  # a new execution environment: it does not know when the last sweep ran
        k += 1
        if due_at <= sweep and worth_asking(
            model_id=MODEL,
            submit_time=submitted,
            due_at=due_at,
            now=sweep,
            since=since,
            max_interval=max_interval,
            period=period,
            durations=durations,
        ):
            asks.append(sweep)
        since = sweep
    gaps = [later - earlier for earlier, later in itertools.pairwise(asks)]
    bound = max_interval + period if interval else period  # 0: every sweep asks about every invocation
    assert max(gaps) <= bound, (asks, due_at)


class SharedState:
    """The item every execution environment shares (records.STATE), in memory: what sweeps read and mark."""

    def __init__(self) -> None:
        self.item: dict[str, Any] = {}

    def state(self) -> dict[str, Any]:
        return dict(self.item)

    def mark_sweeps_incomplete(self, since: datetime) -> None:
        self.item.setdefault("incompleteSince", epoch(since))
        self.item["incompleteMarks"] = self.item.get("incompleteMarks", 0) + 1

    def mark_sweeps_complete(self, seen: int, marks: int | None = None) -> None:
        if self.item.get("incompleteSince") == seen and self.item.get("incompleteMarks") == marks:
            del self.item["incompleteSince"]

    def mark_sweep_complete_at(self, started: datetime) -> None:
        self.item["lastCompleteSweep"] = max(self.item.get("lastCompleteSweep", 0), epoch(started))


def schedule(
    *,
    work: str,
    interval: int,
    period: timedelta,
    offset: float,
    submitted_after: float,
    lasts: float,
    seen: list[float],
    recycled: list[bool],
    missed: list[bool],
) -> tuple[list[datetime], list[datetime]]:
    """When Bedrock is asked about one job of kind `work` (POLL, LISTEN, TIMED) by the sweeps, judged by the
    tracker's own code: when it is first due (Tracker._next_check, due times stored in whole seconds as the index
    holds them), whether a sweep asks (Tracker.worth_asking), and since when a sweep knows forced checks were made,
    in a new execution environment too (Sweep._since, Sweep._write_state over the shared item). Sweeps come every
    `period`; `missed[k]` says the k-th never ran (the schedule late, throttled, dead-lettered), `recycled[k]` that
    it ran in a new execution environment. Timers are left out: they only add checks. Returns the asks (the first
    at submission) and the sweeps that ran."""
    max_interval = timedelta(seconds=interval)
    submitted = START + timedelta(seconds=submitted_after)
    ends = submitted + timedelta(seconds=lasts)
    moment = [submitted]
    tracker = Tracker(
        bedrock=cast(Any, None),
        records=cast(Any, None),
        notifier=cast(Any, None),
        max_poll_interval=max_interval,
        sweep_period=period,
        clock=lambda: moment[0],
        durations=learned(seen),
    )
    shared = SharedState()

    def environment() -> Sweep:
        return Sweep(tracker, cast(Any, shared), workers=1, clock=lambda: moment[0], period=period)

    due_at = datetime.fromtimestamp(epoch(tracker._next_check(invocation(submitted), submitted, work)), UTC)
    item = DueItem(ARN, due_at=due_at, submit_time=submitted, model_id=MODEL)
    asks, runs = [submitted], [submitted]
    sweeper = environment()
    started = START + period * (offset - 1)  # sweeps at START + period * (offset + k), k = 0, 1, ...
    k = 0
    while asks[-1] < ends:
        started += period
        if started - asks[-1] > timedelta(days=1):  # never asked again: as if asked now, a day late
            asks.append(started)
            break
        if started <= submitted:
            continue
        k += 1
        if k - 1 < len(missed) and missed[k - 1]:
            continue
        if k - 1 < len(recycled) and recycled[k - 1]:
            sweeper = environment()
        moment[0] = started
        state = shared.state()
        since = sweeper._since(started, state)
        runs.append(started)
        if due_at <= started and tracker.worth_asking(item, since=since, work=work):
            asks.append(started)
        sweeper.since = started  # it went through all due work (Sweep.run)
        sweeper._write_state(state, complete=True, since=since, started=started)
    return asks, runs


WORKLOADS = {
    "work": st.sampled_from([POLL, LISTEN, TIMED]),
    "interval": st.sampled_from([0, 60, 120, 300, 600, 900, 1800]),
    "period": st.sampled_from(PERIODS),
    "offset": st.floats(min_value=0, max_value=1),
    "submitted_after": st.floats(min_value=0, max_value=7200),
    "lasts": st.floats(min_value=1, max_value=6 * 3600),
    "seen": st.lists(st.floats(min_value=1, max_value=4 * 3600), max_size=60),
    "recycled": st.lists(st.booleans(), max_size=400),
}


@settings(max_examples=300, deadline=None)
@given(**WORKLOADS)
def test_no_job_polled_heard_or_timed_goes_longer_than_the_bound_in_environments_old_and_new(
    work: str,
    interval: int,
    period: timedelta,
    offset: float,
    submitted_after: float,
    lasts: float,
    seen: list[float],
    recycled: list[bool],
) -> None:
    """Every sweep runs; any of them may run in a new execution environment, which starts from what it can know."""
    asks, _ = schedule(
        work=work,
        interval=interval,
        period=period,
        offset=offset,
        submitted_after=submitted_after,
        lasts=lasts,
        seen=seen,
        recycled=recycled,
        missed=[],
    )
    gaps = [later - earlier for earlier, later in itertools.pairwise(asks)]
    bound = timedelta(seconds=interval) + period if interval else period
    assert max(gaps) <= bound, asks


@settings(max_examples=300, deadline=None)
@given(**WORKLOADS, missed=st.lists(st.booleans(), max_size=400))
@example(  # due at +300 s; the sweeps of +300 and +360 s missed; a new environment at +420 s; next ask at +600 s
    work=LISTEN,
    interval=300,
    period=timedelta(minutes=1),
    offset=0,
    submitted_after=0,
    lasts=1200,
    seen=[],
    recycled=[False, False, False, False, False, False, True],
    missed=[False, False, False, False, True, True],
)
def test_after_missed_sweeps_the_first_sweep_that_runs_makes_the_forced_checks_that_fell_in_the_gap(
    work: str,
    interval: int,
    period: timedelta,
    offset: float,
    submitted_after: float,
    lasts: float,
    seen: list[float],
    recycled: list[bool],
    missed: list[bool],
) -> None:
    """Sweeps the schedule never ran stretch the bound by the time between the sweeps that did, and no more: two asks
    are never further apart than the interval plus the longest wait between two sweeps that ran in between."""
    asks, runs = schedule(
        work=work,
        interval=interval,
        period=period,
        offset=offset,
        submitted_after=submitted_after,
        lasts=lasts,
        seen=seen,
        recycled=recycled,
        missed=missed,
    )
    for earlier, later in itertools.pairwise(asks):
        between = [run for run in runs if earlier <= run <= later]
        longest_wait = max((b - a for a, b in itertools.pairwise(between)), default=period)
        assert later - earlier <= timedelta(seconds=interval) + longest_wait, (asks, runs)
