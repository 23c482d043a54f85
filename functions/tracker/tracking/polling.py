"""When an in-progress invocation is next worth asking about: not before it can have ended, then every sweep.

Bedrock says nothing about progress, so the only saving is in not asking before a job could possibly be done.
How soon that is comes from the model's profile and, once this execution environment has seen enough of the
model's jobs end, from their durations (a user's workload tends to repeat the same kind of job).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .invocations import COMPLETED, Invocation

# Known floors: the shortest run each family's jobs take (Nova Reel: about 90 s for a 6 s video).
PROFILES: dict[str, timedelta] = {
    "amazon.nova-reel": timedelta(seconds=75),
    "luma.ray": timedelta(seconds=45),
    "twelvelabs.marengo-embed": timedelta(seconds=15),
    "amazon.nova-2-multimodal-embeddings": timedelta(seconds=10),
}
LEARN_AFTER = 10  # endings of a model before its observed durations are trusted
LEARNED_QUANTILE = 0.05  # wait for the duration that 95% of the model's recent jobs outlasted
MEMORY = 100  # recent durations kept per model: when a workload changes, predictions follow within MEMORY jobs
MODELS = 50  # models kept in the shared item (a few KB each), the most recently seen
SAVE_EVERY = 20  # new durations that make saving them worth a write ...
SAVE_AFTER = timedelta(minutes=30)  # ... or how long the first of them may wait


def profile_floor(model_id: str) -> timedelta:
    for prefix, floor in PROFILES.items():
        if model_id.startswith(prefix):
            return floor
    return timedelta(0)


@dataclass
class Durations:
    """Recent job durations per model: those every execution environment saved in the shared item (`shared`), and
    those this one has seen since it last saved (`unsaved`), with when each model's last job was seen to end (epoch
    seconds): stored beside its durations (a map of its own, `durationsSeen`), it says which models to keep, since
    DynamoDB promises no order for a Map's keys. The durations keep the format every version reads (`d1,d2,...`): a
    version rolled back to still reads what this one saved. Safe to share between threads."""

    shared: dict[str, list[float]] = field(default_factory=dict)
    unsaved: dict[str, list[float]] = field(default_factory=dict)
    first_unsaved: datetime | None = None
    seen_at: dict[str, float] = field(default_factory=dict)  # of the models in `unsaved`

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def learn(self, invocation: Invocation, *, now: datetime | None = None) -> None:
        if invocation.end_time is None or invocation.status != COMPLETED:
            return  # failures can end early (content filters) and say nothing about how long a job runs
        seconds = (invocation.end_time - invocation.submit_time).total_seconds()
        if seconds >= 0:
            seen = (now or invocation.end_time).timestamp()
            with self._lock:
                self.unsaved.setdefault(invocation.model_id, []).append(seconds)
                self.seen_at[invocation.model_id] = max(self.seen_at.get(invocation.model_id, seen), seen)
                self.first_unsaved = self.first_unsaved or now or invocation.end_time

    def seen(self, model_id: str) -> list[float]:
        with self._lock:
            return sorted((self.shared.get(model_id, []) + self.unsaved.get(model_id, []))[-MEMORY:])

    def floor(self, model_id: str) -> timedelta | None:
        seen = self.seen(model_id)
        if len(seen) < LEARN_AFTER:
            return None
        return timedelta(seconds=_quantile(seen, LEARNED_QUANTILE))

    def predicted(self, model_id: str, quantile: float) -> timedelta | None:
        """The duration that `quantile` of the model's recent jobs took at most; None until enough have been seen."""
        seen = self.seen(model_id)
        return timedelta(seconds=_quantile(seen, quantile)) if len(seen) >= LEARN_AFTER else None

    def next_end(self, model_id: str, age: timedelta, *, share: float, width: timedelta) -> timedelta | None:
        """When to ask next about a job of the model running for `age`: where `share` of the model's recent jobs
        ended since that age, or where the last of those ending within `width` of the first did, whichever is
        sooner (so where many end close together, it is asked every `width` or less). None until enough have been
        seen, or if it is older than all of them."""
        seen = self.seen(model_id)
        if len(seen) < LEARN_AFTER:
            return None
        later = seen[bisect.bisect_right(seen, age.total_seconds()) :]
        if not later:
            return None
        by_share = later[min(len(later), max(1, int(share * len(seen)))) - 1]
        by_width = later[bisect.bisect_right(later, later[0] + width.total_seconds()) - 1]
        return timedelta(seconds=min(by_share, by_width))

    def adopt(self, stored: dict[str, str]) -> None:
        """Take what every environment saved (read once per sweep, or at a cold start)."""
        with self._lock:
            self.shared = {model: _stored(text)[1] for model, text in stored.items()}

    def worth_saving(self, now: datetime) -> bool:
        """Saving costs a write: only once enough is new, or what is new has waited long enough."""
        with self._lock:
            new = sum(len(values) for values in self.unsaved.values())
            waited = self.first_unsaved is not None and now - self.first_unsaved >= SAVE_AFTER
            return new >= SAVE_EVERY or (new > 0 and waited)

    def merged(
        self, stored: dict[str, str], stored_seen: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, str], dict[str, int]]:
        """What to save: the stored durations with this environment's new ones, the most recent MEMORY per model,
        the MODELS models most recently seen (by the time stored for each in `stored_seen`, whatever order the Map's
        keys come in); and those times, to store beside them."""
        with self._lock:
            merged = {model: _stored(text) for model, text in stored.items()}
            for model, (seen, values) in merged.items():
                merged[model] = (max(seen, float((stored_seen or {}).get(model, 0))), values)
            for model, values in self.unsaved.items():
                seen, known = merged.get(model, (0.0, []))
                merged[model] = (max(seen, self.seen_at.get(model, 0.0)), (known + values)[-MEMORY:])
        kept = sorted(merged.items(), key=lambda entry: (entry[1][0], entry[0]))[-MODELS:]
        durations = {model: ",".join(f"{value:.1f}" for value in values) for model, (_, values) in kept}
        return durations, {model: int(seen) for model, (seen, _) in kept}

    def saved(self, stored: dict[str, str]) -> None:
        with self._lock:
            self.shared = {model: _stored(text)[1] for model, text in stored.items()}
            self.unsaved, self.first_unsaved, self.seen_at = {}, None, {}


def _stored(text: str) -> tuple[float, list[float]]:
    """A model's stored durations: when its last job was seen to end (0 unless stored as `SEEN@d1,...`, as one
    version did), and its durations."""
    seen, _, numbers = text.rpartition("@")
    return float(seen or 0), [float(value) for value in numbers.split(",") if value]


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
    timed: bool = False,
) -> bool:
    """Whether a sweep should ask Bedrock about a due, in-progress invocation, judged without asking it.

    `since` is when the last sweep that went through all due work started (None if unknown: ask everything due).
    Asked at each forced point since then, and, once enough of the model's jobs have been seen to end, while its
    age is near a duration seen before (since the last sweep, give or take half a period) or beyond all seen. A
    `timed` one (its own timers ask at its model's predicted ends) only once it is beyond all seen.
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
    return not timed and any(age - back < duration <= age + ahead for duration in seen)
