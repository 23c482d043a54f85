"""The SNS topic: every ending is published there (notifier.Notifier makes the message and publishes it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tracking.clients import SNS
from tracking.notifier import Notifier
from tracking.records import NOTIFICATION, Record
from tracking.telemetry import NOTIFICATION_DELAY, NOTIFICATIONS_PUBLISHED, count, logger, seconds

from .channel import Channel


class Topic(Channel):
    name = NOTIFICATION
    what = "notification"
    errors = "publish"
    worst_case = SNS.worst_case

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def send(self, record: Record, message: dict[str, Any], key: str = "") -> str:
        return self.notifier.publish(record, message)

    def sent(self, record: Record, sent_id: str, *, now: datetime) -> None:
        count(NOTIFICATIONS_PUBLISHED)
        if record.invocation.end_time is not None:
            seconds(NOTIFICATION_DELAY, max(0.0, (now - record.invocation.end_time).total_seconds()))
        logger.info(
            "notification published",
            extra={"invocationArn": record.arn, "messageId": sent_id, "status": record.invocation.status},
        )
