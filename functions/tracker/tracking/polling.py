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
    """Never later than `max_interval` from now; `max_interval` of zero means every sweep asks."""
    if max_interval <= timedelta(0):
        return now
    learned = durations.floor(invocation.model_id) if durations else None
    floor = learned if learned is not None else profile_floor(invocation.model_id)
    return min(max(now, invocation.submit_time + floor), now + max_interval)


def worth_asking(
    *,
    model_id: str | None,
    submit_time: datetime | None,
    now: datetime,
    max_interval: timedelta,
    period: timedelta,
    durations: Durations | None = None,
) -> bool:
    """Whether a due, in-progress invocation may have ended since the last sweep, judged without asking Bedrock.

    Once enough of the model's jobs have been seen to end, an invocation is asked about only while its age is
    near a duration seen before (one sweep period back, half a period either side), once it is older than any
    seen, and at
    least once in every `max_interval` of its age, so that a change of workload is caught within that bound.
    """
    if max_interval <= timedelta(0) or model_id is None or submit_time is None or durations is None:
        return True
    age = (now - submit_time).total_seconds()
    step, window = max_interval.total_seconds(), period.total_seconds()
    if age // step != (age + window) // step:  # the last sweep before each `max_interval` of age
        return True
    seen = durations.seen(model_id)
    if len(seen) < LEARN_AFTER or age - window > seen[-1]:
        return True
    # Ended since the last sweep, give or take half a period for the durations not seen yet.
    return any(age - 1.5 * window < duration <= age + 0.5 * window for duration in seen)
