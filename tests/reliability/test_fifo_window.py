"""The FIFO topic's window (issue 19, defect 7): SNS drops a repeat of a deduplication id only within 5 minutes of
the first. A publish whose answer was lost is retried by its own timer when its lease runs out, and again while a
retry is refused, inside that window: the ending is delivered once if a retry is accepted within 5 minutes of the
first attempt."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from localrun.aws_proxy import Fault
from localrun.lambda_driver import LambdaContext
from tests.helpers import ACCOUNT, sqs_event
from tests.reliability.conftest import World, fail_write
from tracking.config import Settings
from tracking.runtime import Runtime


def fifo_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    resources = world.stack.new_resources(fifo=True)
    monkeypatch.setenv("TABLE_NAME", resources.table_name)
    monkeypatch.setenv("TOPIC_ARN", resources.topic_arn)
    return replace(world, resources=resources, settings=Settings.from_env(), submitted=[])


class DelayedChecks:
    """The checks queue's delayed messages on the test's clock: each message the runtime sends, delivered to it as
    the checks queue's event once its DelaySeconds have passed on that clock (SQS itself delays in real time)."""

    def __init__(self, world: World, runtime: Runtime) -> None:
        self.world, self.runtime = world, runtime
        self.waiting: list[tuple[datetime, str]] = []
        assert runtime.tracker.timers is not None
        client = runtime.tracker.timers.client
        client.meta.events.register("provide-client-params.sqs.SendMessage", self._sent)
        name = runtime.settings.checks_queue_url.rsplit("/", 1)[-1]
        self.queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"

    def _sent(self, params: dict[str, Any], **_: Any) -> None:
        due = self.world.clock() + timedelta(seconds=int(params.get("DelaySeconds", 0)))
        self.waiting.append((due, str(params["MessageBody"])))

    def deliver_due(self) -> list[dict[str, Any]]:
        now = self.world.clock()
        due = [body for at, body in self.waiting if at <= now]
        self.waiting = [(at, body) for at, body in self.waiting if at > now]
        for body in due:
            event = sqs_event(body)
            for message in event["Records"]:
                message["eventSourceARN"] = self.queue_arn
            self.runtime.handle(event, LambdaContext(timeout=60, clock=self.world.clock))
        return [json.loads(body) for body in due]


def test_a_lost_answer_then_a_throttled_retry_on_a_fifo_topic_is_delivered_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a FIFO topic, sweeps every 3 minutes, and a job that ended
    fifo = fifo_world(world, monkeypatch)
    (job,), runtime = fifo.tracked_then_ended(1, "fifowindow")
    checks = DelayedChecks(fifo, runtime)
    # When the first publish is taken but its answer lost, and the retry after it is throttled
    fifo.stack.proxy.inject(Fault("sns", "Publish", action="drop"))
    throttled = fifo.stack.proxy.inject(Fault("sns", "Publish", code="Throttling", status=400, times=1))
    first = fifo.clock()
    delivered: list[dict[str, Any]] = []
    while fifo.clock() - first <= timedelta(minutes=9):
        if (fifo.clock() - first) % timedelta(minutes=3) == timedelta(0):
            fifo.sweep(runtime)
        delivered += checks.deliver_due()
        fifo.clock.advance(5)

    # Then a retry was refused, another went inside the 5-minute window, and SNS delivered the ending once
    assert fifo.notifications() == {job: 1}
    assert throttled.hits == 1
    assert any(message.get("reason") == "notify" for message in delivered)
    assert fifo.stack.proxy.state.deduplicated == 1
    assert "work" not in (fifo.record(job) or {})


def test_a_publish_whose_recording_failed_then_a_throttled_retry_on_a_fifo_topic_is_delivered_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a FIFO topic, sweeps every 3 minutes, and a job that ended
    fifo = fifo_world(world, monkeypatch)
    (job,), runtime = fifo.tracked_then_ended(1, "fifomarked")
    checks = DelayedChecks(fifo, runtime)
    # When the first publish is taken but recording it fails past the SDK's retries, and the retry after it is
    # throttled
    fail_write(fifo, "mark_published", times=1)
    fifo.sweep(runtime)
    throttled = fifo.stack.proxy.inject(Fault("sns", "Publish", code="Throttling", status=400, times=1))
    first = fifo.clock()
    while fifo.clock() - first <= timedelta(minutes=9):
        fifo.clock.advance(5)
        if (fifo.clock() - first) % timedelta(minutes=3) == timedelta(0):
            fifo.sweep(runtime)
        checks.deliver_due()

    # Then the retry at the lease's end was refused, the next sweep's went inside the window: delivered once
    assert fifo.notifications() == {job: 1}
    assert throttled.hits == 1
    assert fifo.stack.proxy.state.deduplicated == 1
