"""Shared durations keep the models most recently seen, by a time stored with each model's durations: DynamoDB
promises no order for a Map's keys, and the local stack can return them in another order than written."""

from __future__ import annotations

from datetime import timedelta
from types import ModuleType

import pytest

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import arn
from tracking import polling
from tracking.invocations import Invocation


def test_the_local_stack_can_return_a_maps_keys_in_another_order_than_written(
    stack: LocalAws, resources: Resources, app: ModuleType
) -> None:
    stack.client("dynamodb").put_item(
        TableName=resources.table_name,
        Item={"invocationArn": {"S": "map#order"}, "map": {"M": {name: {"S": name} for name in "abcdef"}}},
    )
    records = app.runtime.tracker.records

    item = records.get("map#order")
    assert item is not None
    assert list(item["map"]) == list("abcdef")  # as moto keeps them
    stack.proxy.state.map_order = "reversed"
    item = records.get("map#order")
    assert item is not None
    assert list(item["map"]) == list("fedcba")
    stack.proxy.state.map_order, stack.proxy.state.map_seed = "shuffled", 3
    item = records.get("map#order")
    assert item is not None
    assert sorted(item["map"]) == list("abcdef")
    assert list(item["map"]) != list("abcdef")


def learn(app: ModuleType, model: str, clock: Clock) -> None:
    """Twenty jobs of `model` seen to end now (enough for a write), then saved for all."""
    submitted = clock() - timedelta(seconds=100)
    for i in range(polling.SAVE_EVERY):
        job = arn(f"learned{i:05d}")
        app.runtime.tracker.durations.learn(
            Invocation.from_answer(
                job,
                {
                    "invocationArn": job,
                    "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model}",
                    "status": "Completed",
                    "submitTime": submitted,
                    "endTime": clock(),
                },
            ),
            now=clock(),
        )
    app.runtime.tracker.share_what_was_learned()


@pytest.mark.parametrize("order", ["", "reversed", "shuffled"])
def test_the_model_seen_longest_ago_is_evicted_whatever_order_the_maps_keys_come_in(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    monkeypatch.setattr(polling, "MODELS", 2)
    stack.proxy.state.map_order = order
    learn(app, "model.seen-first", clock)
    clock.advance(100)
    learn(app, "model.seen-second", clock)
    clock.advance(100)

    learn(app, "model.seen-last", clock)

    stored = app.runtime.tracker.records.state()["durations"]
    assert sorted(stored) == ["model.seen-last", "model.seen-second"]
