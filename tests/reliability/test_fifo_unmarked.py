"""adv3: a publish SNS took whose recording failed (the README's second case of "the one window"), then two
throttled retries, on a FIFO topic: the README says "the ending is delivered once if a retry is accepted within 5
minutes of the first attempt", and that a retry refused after the one at the lease's end goes again every 20 s while
the window is open.

How AWS behaves:
- SNS FIFO drops a repeat of a deduplication id only inside its interval: "If a message with a particular
  MessageDeduplicationId is sent successfully, subsequent messages within the deduplication scope and interval, with
  the same MessageDeduplicationId, are accepted successfully but aren't delivered" ("the 5 minute minimum
  deduplication interval", SNS API reference, Publish, MessageDeduplicationId); the local proxy models it on the
  test's clock (localrun/aws_proxy.py, `_fifo`).
- SNS throttles Publish per account and Region (ThrottledException, HTTP 429, or Throttling: SNS API reference,
  Publish, Errors), and DynamoDB refuses a write past the SDK's retries with ProvisionedThroughputExceededException.

The failed write is the one that would have said a send's outcome was unknown (`unknownSince`): the retry at the
lease's end does not know the window is open, so a retry throttled after it waits for the next sweep (every 3
minutes), and one throttled there for the sweep after, past the window: SNS delivers the ending a second time,
although it would have taken a retry 20 s after either throttle.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from localrun.aws_proxy import Fault
from tests.reliability.conftest import World, fail_write
from tests.reliability.test_fifo_window import DelayedChecks, fifo_world


def test_a_publish_whose_recording_failed_then_two_throttled_retries_on_a_fifo_topic_is_delivered_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a FIFO topic, sweeps every 3 minutes, and a job that ended
    fifo = fifo_world(world, monkeypatch)
    (job,), runtime = fifo.tracked_then_ended(1, "fifounmark", sweep_period=timedelta(minutes=3))
    checks = DelayedChecks(fifo, runtime)
    # When the first publish is taken but recording it fails past the SDK's retries, and two retries are throttled
    fail_write(fifo, "mark_published", times=1)
    first = fifo.clock()
    fifo.sweep(runtime)
    throttled = fifo.stack.proxy.inject(Fault("sns", "Publish", code="Throttling", status=400, times=2))
    while fifo.clock() - first <= timedelta(minutes=9):
        fifo.clock.advance(5)
        if (fifo.clock() - first) % timedelta(minutes=3) == timedelta(0):
            fifo.sweep(runtime)
        checks.deliver_due()

    # Then a retry went inside the 5-minute window, and SNS delivered the ending once
    assert throttled.hits == 2
    assert "work" not in (fifo.record(job) or {})
    assert fifo.notifications() == {job: 1}
    assert fifo.stack.proxy.state.deduplicated == 1
