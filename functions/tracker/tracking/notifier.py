"""The notification: one SNS message per ending, built from the stored record so that a retry says the same."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from . import jsontext
from .errors import call
from .invocations import COMPLETED
from .outputs import UNREADABLE, OutputLister
from .records import Record

if TYPE_CHECKING:  # the stubs are a development dependency only
    from types_boto3_sns.client import SNSClient

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


def message_of(
    record: Record, outputs: list[dict[str, Any]] | None = None, partial_failure: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The notification's JSON object for an ended record, with what the project adds: `durationSeconds` and,
    where listed, `outputObjects`; where a completed job's output says a part of it failed, `partialFailure`; where
    the tracker ended it because Bedrock no longer knew it, `lost`."""
    invocation = record.invocation
    fields = {**invocation.fields(), "context": record.context}
    message = {name: fields[name] for name in MESSAGE_FIELDS if fields.get(name) is not None}
    if invocation.end_time is not None:
        message["durationSeconds"] = round((invocation.end_time - invocation.submit_time).total_seconds(), 3)
    if outputs is not None:
        message["outputObjects"] = outputs
    if partial_failure:
        message["partialFailure"] = partial_failure
    if record.lost:
        message["lost"] = True
    return message


def encode(message: dict[str, Any]) -> str:
    return jsontext.dumps(message)  # the context's numbers exactly as stored, never through a float


def deduplication_id(arn: str, status: str) -> str:
    return hashlib.sha256(f"{arn}#{status}".encode()).hexdigest()


def flag_value(value: Any) -> str:
    """A flag's message attribute: `true`, or `unknown` for a partial-failure report that could not be read."""
    if isinstance(value, list) and all(entry.get("status") == UNREADABLE for entry in value):
        return "unknown"
    return "true"


class Notifier:
    def __init__(self, topic_arn: str, client: SNSClient, outputs: OutputLister | None = None) -> None:
        self.topic_arn = topic_arn
        self.client = client
        self.outputs = outputs
        self._fifo = topic_arn.endswith(".fifo")

    def message(self, record: Record) -> dict[str, Any]:
        """The notification's JSON object for `record`, its outputs listed where the bucket is named."""
        if self.outputs is None or record.invocation.status != COMPLETED:
            return message_of(record)
        return message_of(record, self.outputs.objects(record), self.outputs.partial_failure(record))

    def publish(self, record: Record, message: dict[str, Any] | None = None) -> str:
        """Publish the ending of `record` (its `message`, made here if not given); returns the SNS message id.
        Raises the classified error."""
        arn, status = record.arn, record.invocation.status
        message = self.message(record) if message is None else message
        request: dict[str, Any] = {
            "TopicArn": self.topic_arn,
            "Message": encode(message),
            "Subject": f"Bedrock async invocation {status}: {arn.rsplit('/', 1)[-1]}",
            "MessageAttributes": {
                "status": {"DataType": "String", "StringValue": status},
                "modelId": {"DataType": "String", "StringValue": record.invocation.model_id},
            },
        }
        for flag in ("partialFailure", "lost"):  # filter on it, or on its absence ({"exists": false})
            if message.get(flag):
                request["MessageAttributes"][flag] = {"DataType": "String", "StringValue": flag_value(message[flag])}
        if self._fifo:
            request["MessageGroupId"] = arn
            request["MessageDeduplicationId"] = deduplication_id(arn, status)
        return str(call(self.client.publish, **request)["MessageId"])
