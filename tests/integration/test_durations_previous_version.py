"""The shared durations item stays readable by the version before this one, which still runs beside it.

The previous version reads what this one wrote whenever a deploy is undone: when any resource of a stack update
fails, CloudFormation rolls the whole stack back, the function's code with it, "to the last known stable state"
(CloudFormation API reference, RollbackStack / UPDATE_ROLLBACK_*), and the function's code is updated before the
resources that depend on it, so the new code has run (a sweep every minute, every intake batch) and saved durations
by then. Lambda also keeps invoking the previous code while an update is in progress (Lambda API reference,
UpdateFunctionConfiguration: "During this time, you can't modify the function, but you can still invoke it").

The previous version (267db84, polling._numbers, copied below as it was) reads each model's durations as plain
numbers, `float(value) for value in text.split(",")`. Its sweep adopts them right after reading the item
(sweep._read_state catches TrackerError only) and its intake in learn_from_others (likewise): a ValueError there
fails every sweep (no pending notification retried, no due job asked) and every intake batch (its messages come back
and end in the dead-letter queue) until someone rewrites the item.
"""

from __future__ import annotations

from types import ModuleType

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.integration.test_shared_durations import learn


def previous_numbers(text: str) -> list[float]:
    """polling._numbers at 267db84, verbatim: how the previous version reads one model's stored durations."""
    return [float(value) for value in text.split(",") if value]


def test_durations_this_version_saved_are_read_by_the_previous_one(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    learn(app, "amazon.nova-reel-v1:1", clock)  # twenty jobs ended: saved for every environment

    stored = app.runtime.tracker.records.state()["durations"]
    assert stored, "nothing was saved"

    read = {model: previous_numbers(str(text)) for model, text in stored.items()}  # the previous sweep's adopt
    assert read == {"amazon.nova-reel-v1:1": [100.0] * 20}
