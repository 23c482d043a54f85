"""When an in-progress invocation is next worth asking about: not before it can have ended, then every sweep.

Bedrock says nothing about progress, so the only saving is in not asking before a job could possibly be done.
How soon that is comes from the model's profile and, once this execution environment has seen enough of the
model's jobs end, from their durations (a user's workload tends to repeat the same kind of job).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .invocations import Invocation

# Known floors: the shortest run each family's jobs take (Nova Reel: about 90 s for a 6 s video).
PROFILES: dict[str, timedelta] = {
    "amazon.nova-reel": timedelta(seconds=75),
    "luma.ray": timedelta(seconds=45),
    "twelvelabs.marengo-embed": timedelta(seconds=15),
    "amazon.nova-2-multimodal-embeddings": timedelta(seconds=10),
}
LEARN_AFTER = 20  # endings of a model before its observed durations are trusted
LEARNED_QUANTILE = 0.05  # wait for the duration that 95% of the model's recent jobs outlasted
MEMORY = 200  # recent durations kept per model


def profile_floor(model_id: str) -> timedelta:
    for prefix, floor in PROFILES.items():
        if model_id.startswith(prefix):
            return floor
    return timedelta(0)


@dataclass
class Durations:
    """Recent job durations per model, seen by this execution environment; safe to share between threads."""

    recent: dict[str, deque[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def record(self, invocation: Invocation) -> None:
        if invocation.end_time is None or invocation.status != "Completed":
            return  # failures can end early (content filters) and say nothing about how long a job runs
        seconds = (invocation.end_time - invocation.submit_time).total_seconds()
        if seconds >= 0:
            with self._lock:
                self.recent.setdefault(invocation.model_id, deque(maxlen=MEMORY)).append(seconds)

    def seen(self, model_id: str) -> list[float]:
        with self._lock:
            return sorted(self.recent.get(model_id, ()))

    def floor(self, model_id: str) -> timedelta | None:
        with self._lock:
            seen = list(self.recent.get(model_id, ()))
        if len(seen) < LEARN_AFTER:
            return None
        return timedelta(seconds=_quantile(seen, LEARNED_QUANTILE))


def _quantile(values: Iterable[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def next_check_at(
    invocation: Invocation, *, now: datetime, max_interval: timedelta, durations: Durations | None = None
) -> datetime:
    """When a just-recorded invocation is first due: when it can have ended, and never later than `max_interval` from
    now; `max_interval` of zero means every sweep asks. From then on it is due at `dueAt + k * max_interval`."""
    if max_interval <= timedelta(0):
        return now
    learned = durations.floor(invocation.model_id) if durations else None
    floor = learned if learned is not None else profile_floor(invocation.model_id)
    return min(max(now, invocation.submit_time + floor), now + max_interval)


def forced(*, due_at: datetime, since: datetime, now: datetime, max_interval: timedelta) -> bool:
    """Whether one of the invocation's forced checks (at `due_at + k * max_interval`, k = 0, 1, ...) fell after
    `since` and by `now`. `due_at` is where Bedrock was last asked and recorded, plus at most `max_interval`, so asking
    at each forced point keeps every gap within `max_interval` plus one sweep period, and needs no write."""

    def points_by(moment: datetime) -> int:
        return 0 if moment < due_at else (moment - due_at) // max_interval + 1

    return points_by(now) > points_by(since)


def worth_asking(
    *,
    model_id: str | None,
    submit_time: datetime | None,
    due_at: datetime,
    now: datetime,
    since: datetime | None,
    max_interval: timedelta,
    period: timedelta,
    durations: Durations | None = None,
) -> bool:
    """Whether a sweep should ask Bedrock about a due, in-progress invocation, judged without asking it.

    `since` is when the last sweep that went through all due work started (None if unknown: ask everything due).
    Asked at each forced point since then, and, once enough of the model's jobs have been seen to end, while its
    age is near a duration seen before (since the last sweep, give or take half a period) or beyond all seen.
    """
    if max_interval <= timedelta(0) or since is None:
        return True
    if forced(due_at=due_at, since=since, now=now, max_interval=max_interval):
        return True
    if model_id is None or submit_time is None or durations is None:
        return True  # nothing to judge by
    seen = durations.seen(model_id)
    if len(seen) < LEARN_AFTER:
        return True
    age = (now - submit_time).total_seconds()
    back = (now - since).total_seconds() + period.total_seconds() / 2
    ahead = period.total_seconds() / 2
    if age - back > seen[-1]:
        return True  # older than any seen: it may end at any moment
    return any(age - back < duration <= age + ahead for duration in seen)
