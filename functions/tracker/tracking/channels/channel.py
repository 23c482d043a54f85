"""What every channel is: how it sends an ending, how its refusals classify, what it counts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from tracking.errors import GiveUp, OutcomeUnknown, TrackerError
from tracking.records import Record
from tracking.telemetry import SENDS_REFUSED, count, count_error, logger


class Refusal(StrEnum):
    """What a failed send means for its ending on that channel."""

    TRANSIENT = "transient"  # not sent (throttled, a 5xx, out of time): the next sweep sends it
    UNKNOWN = "unknown"  # sent, and no answer came: it may have gone; retried when its lease runs out
    # Refused until someone acts: AccessDenied, a topic or bus deleted, a disabled KMS key, a message it will never
    # take. Alarmed at once (SENDS_REFUSED), and retried less and less often (capped) until someone fixes it.
    NEEDS_PERSON = "needs_person"
    # Refused for good, as no resend can change (a callback whose task timed out, whose token is invalid): recorded
    # so (records.GONE) and never sent again. Not a failure of the ending: the other channels finish as they would.
    GONE = "gone"


class Channel(ABC):
    """One way an ending goes out. `name` is its state in the record (records.SENT_FIELDS); `what` names it in logs,
    `errors` its `Errors.*` metrics; `worst_case` is the longest one send can take (clients.CallLimits)."""

    name: ClassVar[str]
    what: ClassVar[str]
    errors: ClassVar[str]
    worst_case: ClassVar[timedelta]
    not_sent_metric: ClassVar[str | None] = None  # counted for each ending this channel did not send

    def pending(self, record: Record) -> list[str]:
        """What this channel has still to send of the record's ending: the keys of its states in the record (its name,
        or one key per callback)."""
        return [self.name] if record.pending(self.name) else []

    def send_time(self, record: Record | None = None) -> timedelta:
        """The longest sending `record`'s ending on this channel can take (any record's, if none is given)."""
        return self.worst_case

    @abstractmethod
    def send(self, record: Record, message: dict[str, Any], key: str = "") -> str:
        """Send the ending of `record` (`message`: the notification's JSON object) to `key` (one of `pending`); the id
        the service gave it. Raises the classified error (errors.call)."""

    @abstractmethod
    def sent(self, record: Record, sent_id: str, *, now: datetime) -> None:
        """Count and log one ending sent."""

    def may_have_sent(self, exc: TrackerError) -> bool:
        """Whether a send that failed with `exc`, and is sent again, may have gone all the same (kept on the record
        where the channel's state can say so: Callbacks)."""
        return False

    def refusal(self, exc: TrackerError) -> Refusal:
        """How a failed send classifies."""
        if isinstance(exc, OutcomeUnknown):
            return Refusal.UNKNOWN
        if isinstance(exc, GiveUp):  # errors.classify: a 4xx that no retry soon will change
            return Refusal.NEEDS_PERSON
        return Refusal.TRANSIENT

    def not_sent(self, arn: str, exc: TrackerError, refusal: Refusal) -> None:
        count_error(f"{self.errors}_{exc.kind}")
        if self.not_sent_metric is not None:
            count(self.not_sent_metric)
        if refusal is Refusal.NEEDS_PERSON:
            count(SENDS_REFUSED)
            logger.error(
                f"{self.what} refused until someone acts; kept pending, retried less often",
                extra={"invocationArn": arn, "reason": exc.reason, "kind": exc.kind, "channel": self.name},
            )
            return
        then = {
            Refusal.UNKNOWN: "a sweep publishes it when its lease runs out",
            Refusal.TRANSIENT: "a sweep will retry it",
        }[refusal]
        logger.warning(
            f"{self.what} not published; {then}", extra={"invocationArn": arn, "reason": exc.reason, "kind": exc.kind}
        )
