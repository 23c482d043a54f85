"""A job's callbacks each sent with no answer: the record notes every one `unanswered` (so that a later refusal as
closed reads as sent), whatever their number. DynamoDB refuses an UpdateExpression over 4 KB (Developer Guide,
Constraints, *Expression parameters*; the local stack's proxy refuses it too); `#callback_<fp>.#unanswered = :true`
is some 50 bytes, so 100 of them in the one write that records a run's sends would be refused, and the ending then
"published but not marked" after every lease. They go 25 a write, as callbacks marked sent do."""

from __future__ import annotations

from types import ModuleType

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import PAST_THE_FLOOR, Invoke, arn, sqs_event
from tests.integration.test_callback_channel import waiting
from tests.integration.test_intake import record_of
from tracking.records import CALLBACK_PREFIX, MAX_CALLBACKS, Record


def test_every_callback_of_a_job_sent_with_no_answer_is_noted_unanswered_even_a_hundred(
    stack: LocalAws, resources: Resources, app: ModuleType, invoke: Invoke, clock: Clock
) -> None:
    job = stack.simulator.add(arn("unanswered01"))
    ids = [stack.durable.open() for _ in range(MAX_CALLBACKS)]
    for first in range(0, MAX_CALLBACKS, 10):
        bodies = (waiting(job, callback_id) for callback_id in ids[first : first + 10])
        assert invoke(sqs_event(*bodies, ids=f"m{first}-")) == {"batchItemFailures": []}
    stack.simulator.end(job)
    stack.durable.inject("ServiceException", status=500, times=10 * MAX_CALLBACKS)  # every callback left pending
    clock.advance(PAST_THE_FLOOR)
    invoke({})  # published on the topic; each callback refused, pending, the ending due again
    item = record_of(stack, resources, job)
    assert item is not None
    keys = tuple(sorted(name for name in item if name.startswith(CALLBACK_PREFIX)))
    assert len(keys) == MAX_CALLBACKS

    # a run whose every callback send had no answer records them so, through the function's own client (the proxy)
    app.runtime.tracker.records.mark_delivered(
        job, now=clock(), sent={}, finished=False, failure="no answer", unanswered=keys, callbacks=len(keys)
    )

    after = record_of(stack, resources, job)
    assert after is not None
    assert Record.of(after).unanswered == frozenset(keys)
    assert after["work"] == "notify"  # still to be sent: a resend is safe, and a refusal as closed reads as sent
