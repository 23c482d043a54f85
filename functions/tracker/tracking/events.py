"""The event AWS does not send: each ending put on an EventBridge bus as well, in the shape AWS uses for its own
state-change events, so that users route endings with rules (to Step Functions, queues, other accounts' buses).

A bus is a second channel beside the SNS topic, with the same guarantee per channel (lifecycle.py, records.py): put
once, a failed put retried by a sweep, a put that was sent but not answered left to the lease. PutEvents cannot be
asked what it accepted: an entry put but not recorded as put is put again when the lease runs out, the one window
this channel cannot close (a rule's target deduplicates on the detail's `invocationArn` and `status`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import UnexpectedAnswer, call, classify_code
from .notifier import encode

if TYPE_CHECKING:  # the stubs are a development dependency only
    from types_boto3_events.client import EventBridgeClient
    from types_boto3_events.type_defs import PutEventsRequestEntryTypeDef

SOURCE = "bedrock-async-tracker"
DETAIL_TYPE = "Bedrock Async Invoke State Change"


class EventPublisher:
    def __init__(self, bus: str, client: EventBridgeClient) -> None:
        self.bus = bus  # a name, "default", or an ARN (another account's bus, which its policy must admit)
        self.client = client

    def entry(self, message: dict[str, Any]) -> PutEventsRequestEntryTypeDef:
        return {
            "EventBusName": self.bus,
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Resources": [str(message["invocationArn"])],
            "Detail": encode(message),
        }

    def put(self, message: dict[str, Any]) -> str:
        """Put one ending on the bus (`message`: the notification's JSON object); returns the event id. A failed
        entry (`FailedEntryCount`) raises as the call's own failure with its code would."""
        answer = call(self.client.put_events, Entries=[self.entry(message)])
        (result,) = answer["Entries"]
        if answer.get("FailedEntryCount") or "EventId" not in result:
            code, reason = result.get("ErrorCode"), result.get("ErrorMessage", "")
            if code is None:
                raise UnexpectedAnswer("PutEvents: an entry with neither an event id nor an error code")
            # Documented: InternalFailure and ThrottlingException are retryable; AccessDeniedException,
            # NotAuthorizedForSourceException and the like are not (errors.classify_code).
            raise classify_code(code, f"PutEvents: {code}: {reason}".rstrip(": "))
        return result["EventId"]
