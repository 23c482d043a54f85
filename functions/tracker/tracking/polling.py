"""When an in-progress invocation is next worth asking about, from its age and its model's expected duration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .invocations import Invocation


@dataclass(frozen=True)
class Profile:
    """How long a model's jobs take. `earliest` is the shortest plausible run: no point asking before it."""

    earliest: timedelta
    # Past `earliest`, wait this fraction of the invocation's age between checks: long jobs are asked less often.
    age_fraction: float = 0.1


PROFILES: dict[str, Profile] = {
    # Nova Reel: about 90 s for a 6 s video, 14-17 minutes for 2 minutes (AWS documentation).
    "amazon.nova-reel": Profile(earliest=timedelta(seconds=75)),
    "luma.ray": Profile(earliest=timedelta(seconds=60)),
    # Embeddings of video can be quick for short media; ask from the first sweep on.
    "twelvelabs.marengo-embed": Profile(earliest=timedelta(seconds=15)),
    "amazon.nova-2-multimodal-embeddings": Profile(earliest=timedelta(seconds=15)),
}
DEFAULT_PROFILE = Profile(earliest=timedelta(0))


def profile_of(model_id: str) -> Profile:
    for prefix, profile in PROFILES.items():
        if model_id.startswith(prefix):
            return profile
    return DEFAULT_PROFILE


def next_check_at(invocation: Invocation, *, now: datetime, max_interval: timedelta) -> datetime:
    """Never later than `max_interval` from now; `max_interval` of zero means every sweep asks."""
    if max_interval <= timedelta(0):
        return now
    profile = profile_of(invocation.model_id)
    earliest_end = invocation.submit_time + profile.earliest
    wanted = earliest_end if now < earliest_end else now + (now - invocation.submit_time) * profile.age_fraction
    return min(wanted, now + max_interval)
