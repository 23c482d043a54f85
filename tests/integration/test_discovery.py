"""Discovery: invocations started in the account and never submitted are found, tracked and notified once."""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType
from typing import Any

from localrun.stack import LocalAws, Resources
from tests.helpers import PAST_THE_FLOOR, patient_session, sqs_event, start_on_bedrock
from tracking.runtime import Runtime


def discovering(app: ModuleType, **changes: Any) -> Runtime:
    """The app's runtime with discovery on, on the test's clock."""
    return Runtime.build(
        replace(app.runtime.settings, discovery_regions=("us-east-1",), **changes),
        clock=app.runtime.clock,
        session=patient_session(),
    )


def start(stack: LocalAws, resources: Resources, model: str = "amazon.nova-reel-v1:1") -> str:
    assert stack.resources == resources
    return start_on_bedrock(stack, model=model)


def test_an_invocation_never_submitted_is_discovered_and_notified_once(
    stack: LocalAws, resources: Resources, app: ModuleType
) -> None:
    runtime = discovering(app)
    ended = start(stack, resources)
    running = start(stack, resources)
    stack.simulator.end(ended)

    first = runtime.handle({})

    assert first["outcomes"]["discovered_notified"] == 1
    assert first["outcomes"]["discovered_in_progress"] == 1
    stack.simulator.end(running)
    app.runtime.clock.advance(PAST_THE_FLOOR)
    second = runtime.handle({})
    assert "discovered_notified" not in second["outcomes"]  # known now: not adopted again
    assert second["outcomes"]["notified"] == 1  # the running one, through the ordinary sweep
    runtime.handle({})
    notified = sorted(n["message"]["invocationArn"] for n in stack.notifications())
    assert notified == sorted([ended, running])
    watermark = runtime.tracker.records.watermark("us-east-1")
    assert watermark is not None


def test_a_submitted_invocation_is_not_adopted_twice(stack: LocalAws, resources: Resources, app: ModuleType) -> None:
    runtime = discovering(app)
    invocation = start(stack, resources)
    assert runtime.handle(sqs_event(invocation)) == {"batchItemFailures": []}
    stack.simulator.end(invocation)
    app.runtime.clock.advance(PAST_THE_FLOOR)

    report = runtime.handle({})

    assert not any(name.startswith("discovered") for name in report["outcomes"])
    assert len(stack.notifications()) == 1


def test_discovery_can_be_limited_to_some_models(stack: LocalAws, resources: Resources, app: ModuleType) -> None:
    runtime = discovering(app, discovery_model_ids=frozenset({"luma.ray-v2:0"}))
    start(stack, resources, model="amazon.nova-reel-v1:1")
    luma = start(stack, resources, model="luma.ray-v2:0")

    report = runtime.handle({})

    assert {k: v for k, v in report["outcomes"].items() if k.startswith("discovered")} == {"discovered_in_progress": 1}
    assert runtime.tracker.records.get(luma) is not None


def test_without_discovery_nothing_is_listed(stack: LocalAws, resources: Resources, app: ModuleType) -> None:
    start(stack, resources)
    app.runtime.handle({})
    assert stack.simulator.calls["ListAsyncInvokes"] == 0


def test_a_listing_error_is_reported_and_the_next_sweep_lists_again(
    stack: LocalAws, resources: Resources, app: ModuleType
) -> None:
    from bedrock_simulator import Fault

    runtime = discovering(app)
    invocation = start(stack, resources)
    stack.simulator.end(invocation)
    stack.simulator.inject("ListAsyncInvokes", Fault(code="AccessDeniedException", count=1))

    assert runtime.handle({})["outcomes"] == {"discovery_errors": 1}
    assert runtime.handle({})["outcomes"] == {"discovered_notified": 1}
    assert len(stack.notifications()) == 1


def test_a_watermark_moved_further_by_a_concurrent_sweep_is_kept_without_an_error(
    stack: LocalAws, resources: Resources, app: ModuleType
) -> None:
    from datetime import UTC, datetime, timedelta

    records = app.runtime.tracker.records
    later = datetime(2026, 11, 26, 12, tzinfo=UTC)
    records.set_watermark("us-east-1", later)

    records.set_watermark("us-east-1", later - timedelta(minutes=1))  # the slower sweep: not an error

    assert records.watermark("us-east-1") == later
