"""The EventBridge bus, when one is named: every ending put there as well (events.EventPublisher puts it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tracking.clients import EVENTS
from tracking.events import EventPublisher
from tracking.records import EVENT, Record
from tracking.telemetry import EVENTS_NOT_PUT, EVENTS_PUT, count, logger

from .channel import Channel


class Bus(Channel):
    name = EVENT
    what = "event"
    errors = "event"
    worst_case = EVENTS.worst_case
    not_sent_metric = EVENTS_NOT_PUT

    def __init__(self, publisher: EventPublisher) -> None:
        self.publisher = publisher

    def send(self, record: Record, message: dict[str, Any], key: str = "") -> str:
        return self.publisher.put(message)

    def sent(self, record: Record, sent_id: str, *, now: datetime) -> None:
        count(EVENTS_PUT)
        logger.info(
            "event put", extra={"invocationArn": record.arn, "eventId": sent_id, "status": record.invocation.status}
        )
