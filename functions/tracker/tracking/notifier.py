"""The notification: one SNS message per ending, built from the stored record so that a retry says the same."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .errors import classify
from .invocations import FAILED

# The GetAsyncInvoke fields a notification carries, in this order, plus the submitted context.
MESSAGE_FIELDS = (
    "invocationArn",
    "modelArn",
    "clientRequestToken",
    "status",
    "failureMessage",
    "submitTime",
    "lastModifiedTime",
    "endTime",
    "outputDataConfig",
    "context",
)


def message_of(record: dict[str, Any]) -> dict[str, Any]:
    """The notification's JSON object for an ended record."""
    message = {name: record[name] for name in MESSAGE_FIELDS if record.get(name) is not None}
    if record.get("status") != FAILED:
        message.pop("failureMessage", None)
    return message


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=_number)


def deduplication_id(arn: str, status: str) -> str:
    return hashlib.sha256(f"{arn}#{status}".encode()).hexdigest()


class Notifier:
    def __init__(self, topic_arn: str, client: Any) -> None:
        self.topic_arn = topic_arn
        self.client = client
        self._fifo = topic_arn.endswith(".fifo")

    def publish(self, record: dict[str, Any]) -> str:
        """Publish the ending of `record`; returns the SNS message id. Raises the classified error."""
        arn, status = record["invocationArn"], record["status"]
        request: dict[str, Any] = {
            "TopicArn": self.topic_arn,
            "Message": encode(message_of(record)),
            "Subject": f"Bedrock async invocation {status}: {arn.rsplit('/', 1)[-1]}",
            "MessageAttributes": {
                "status": {"DataType": "String", "StringValue": status},
                "modelId": {"DataType": "String", "StringValue": str(record["modelArn"]).rsplit("/", 1)[-1]},
            },
        }
        if self._fifo:
            request["MessageGroupId"] = arn
            request["MessageDeduplicationId"] = deduplication_id(arn, status)
        try:
            return str(self.client.publish(**request)["MessageId"])
        except (ClientError, BotoCoreError) as exc:
            raise classify(exc) from exc


def _number(value: Any) -> Any:
    """DynamoDB hands numbers back as Decimal; write them as the JSON numbers they were."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot encode {type(value).__name__}")
