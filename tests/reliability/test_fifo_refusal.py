"""adv3: a publish whose answer was lost, then one retry refused until someone acts (SNS's AuthorizationError), on a
FIFO topic: the README promises the ending is delivered once if a retry is accepted within 5 minutes of the first
attempt, and that "a retry refused after it [is retried] again every 20 s while the window is open".

How AWS behaves:
- SNS FIFO drops a repeat of a deduplication id only inside its interval: "If a message with a particular
  MessageDeduplicationId is sent successfully, subsequent messages within the deduplication scope and interval, with
  the same MessageDeduplicationId, are accepted successfully but aren't delivered" ("the 5 minute minimum
  deduplication interval", SNS API reference, Publish, MessageDeduplicationId); the local proxy models that window on
  the test's clock (localrun/aws_proxy.py, `_fifo`).
- Publish answers AuthorizationError (HTTP 403) when the caller is not allowed, and KMSDisabled / KMSNotFound /
  KMSAccessDenied (400) for an encrypted topic whose key cannot be used (SNS API reference, Publish, Errors): all
  classified as refusals that need a person (channels.channel.Refusal.NEEDS_PERSON). Such a refusal can end within
  seconds (an IAM policy or KMS grant change reaching the endpoint, a key re-enabled).

With sweeps every 3 minutes (the template's most a FIFO topic allows), the refused retry at the lease's end is backed
off 2 sweep periods (6 minutes) and no 20 s timer is set: the next try is past the window, and SNS delivers the
ending a second time although it would have taken a retry 20 s after the refusal.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from localrun.aws_proxy import Fault
from tests.reliability.conftest import World
from tests.reliability.test_fifo_window import DelayedChecks, fifo_world


def test_a_lost_answer_then_one_refused_retry_on_a_fifo_topic_is_delivered_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a FIFO topic, sweeps every 3 minutes, and a job that ended
    fifo = fifo_world(world, monkeypatch)
    (job,), runtime = fifo.tracked_then_ended(1, "fiforefused", sweep_period=timedelta(minutes=3))
    checks = DelayedChecks(fifo, runtime)
    # When the first publish is taken but its answer lost, and the retry after it is refused once (403)
    fifo.stack.proxy.inject(Fault("sns", "Publish", action="drop"))
    refused = fifo.stack.proxy.inject(Fault("sns", "Publish", code="AuthorizationError", status=403, times=1))
    first = fifo.clock()
    delivered: list[dict[str, Any]] = []
    while fifo.clock() - first <= timedelta(minutes=9):
        if (fifo.clock() - first) % timedelta(minutes=3) == timedelta(0):
            fifo.sweep(runtime)
        delivered += checks.deliver_due()
        fifo.clock.advance(5)

    # Then the refused retry was retried inside the 5-minute window, and SNS delivered the ending once
    assert refused.hits == 1
    assert any(message.get("reason") == "notify" for message in delivered)
    assert "work" not in (fifo.record(job) or {})
    assert fifo.notifications() == {job: 1}
    assert fifo.stack.proxy.state.deduplicated == 1
