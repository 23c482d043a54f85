"""The contract's bound, over random workloads: no in-progress invocation goes longer than MAX_POLL_INTERVAL_SECONDS
plus one sweep period since Bedrock was last asked about it, whatever was learned and whatever the schedule."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from localrun import template
from tracking.config import _rate
from tracking.invocations import Invocation
from tracking.polling import Durations, next_check_at, worth_asking

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
