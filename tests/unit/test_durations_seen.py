"""Shared durations carry when each model was last seen, beside them; those saved before that was stored still read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import arn
from tracking import polling
from tracking.invocations import Invocation
from tracking.polling import Durations

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def completed(model: str, seconds: float) -> Invocation:
    job = arn("durseen00001")
    return Invocation.from_answer(
        job,
        {
            "invocationArn": job,
            "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model}",
            "status": "Completed",
            "submitTime": NOW - timedelta(seconds=seconds),
            "endTime": NOW,
        },
    )


def test_durations_saved_without_a_seen_time_are_read_and_evicted_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(polling, "MODELS", 2)
    durations = Durations()
    durations.adopt({"old.model": "10.0,11.0", "kept.model": f"{NOW.timestamp() - 60:.0f}@20.0"})
    assert durations.seen("old.model") == [10.0, 11.0]

    durations.learn(completed("new.model", 30), now=NOW)
    merged, seen = durations.merged({"old.model": "10.0,11.0", "kept.model": f"{NOW.timestamp() - 60:.0f}@20.0"})

    assert merged == {"kept.model": "20.0", "new.model": "30.0"}  # as every version reads them
    assert seen == {"kept.model": int(NOW.timestamp()) - 60, "new.model": int(NOW.timestamp())}


def test_the_seen_times_stored_beside_the_durations_decide_which_models_stay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(polling, "MODELS", 2)
    durations = Durations()
    durations.learn(completed("new.model", 30), now=NOW)
    stored = {"seen.long.ago": "10.0", "seen.lately": "20.0"}  # a Map: its keys come in no order

    merged, seen = durations.merged(stored, {"seen.long.ago": 1, "seen.lately": int(NOW.timestamp()) - 5})

    assert merged == {"seen.lately": "20.0", "new.model": "30.0"}
    assert seen == {"seen.lately": int(NOW.timestamp()) - 5, "new.model": int(NOW.timestamp())}
