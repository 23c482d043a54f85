"""Shared durations carry when each model was last seen; those saved before that was stored still read."""

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
    merged = durations.merged({"old.model": "10.0,11.0", "kept.model": f"{NOW.timestamp() - 60:.0f}@20.0"})

    assert merged == {
        "kept.model": f"{NOW.timestamp() - 60:.0f}@20.0",
        "new.model": f"{NOW.timestamp():.0f}@30.0",
    }
