"""The workflows waiting on a job: each callback a submission handed over (a Step Functions task token, a durable
function's callback id) told of the ending once (callbacks.Resumer resumes it), each with its own state in the record
(records.callback_key). One that can never be resumed (its task timed out, its token is not valid, its execution is
gone) is recorded GONE and never sent again; a throttle, a 5xx or an unanswered call is retried as on every channel
(a resend cannot resume a workflow twice: both services close a callback on its first success)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tracking.callbacks import Resumer
from tracking.clients import LAMBDA, STATES
from tracking.errors import CallbackGone, OutcomeUnknown, TrackerError
from tracking.records import CALLBACKS, Record
from tracking.telemetry import count_error, logger

from .channel import Channel, Refusal


class Callbacks(Channel):
    name = CALLBACKS
    what = "callback"
    errors = "callback"
    worst_case = max(STATES.worst_case, LAMBDA.worst_case)  # one callback's

    def __init__(self, resumer: Resumer) -> None:
        self.resumer = resumer

    def pending(self, record: Record) -> list[str]:
        return [key for key in record.callbacks if record.pending(key)]

    def send_time(self, record: Record | None = None) -> timedelta:
        """A callback's worst case where the record has one pending (the lifecycle checks the time left before each
        further one), nothing where it has none: an ending without callbacks needs no more time than before."""
        return self.worst_case if record is not None and self.pending(record) else timedelta(0)

    def send(self, record: Record, message: dict[str, Any], key: str = "") -> str:
        # A callback whose earlier send had no answer may have been closed by it: a refusal then is not "gone".
        return self.resumer.resume(
            record.callbacks[key], message, record.invocation.status, unanswered=key in record.unanswered
        )

    def sent(self, record: Record, sent_id: str, *, now: datetime) -> None:
        logger.info(
            "workflow resumed",
            extra={"invocationArn": record.arn, "callback": sent_id, "status": record.invocation.status},
        )

    def may_have_sent(self, exc: TrackerError) -> bool:
        return self.resumer.may_have_resumed(exc)

    def refusal(self, exc: TrackerError) -> Refusal:
        if isinstance(exc, CallbackGone):
            return Refusal.GONE
        if isinstance(exc, OutcomeUnknown):  # a resend is safe here (see the module's docstring)
            return Refusal.TRANSIENT
        return super().refusal(exc)

    def not_sent(self, arn: str, exc: TrackerError, refusal: Refusal) -> None:
        if refusal is Refusal.GONE:  # counted (CallbacksGone) and logged by the resumer
            count_error(f"{self.errors}_{exc.kind}")
            return
        super().not_sent(arn, exc, refusal)
