"""Writes the events/ files: real-shaped Lambda events for `sam local invoke -e` and for the tests.

python events/generate.py
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:bedrock-async-tracker-IntakeQueue"
ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/{}"


def record(body: str, n: int) -> dict[str, object]:
    return {
        "messageId": str(uuid.UUID(int=n)),
        "receiptHandle": f"AQEB{n:04d}ReceiptHandle",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1764195300000",
            "SenderId": "123456789012",
            "ApproximateFirstReceiveTimestamp": "1764195300001",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def write(name: str, event: object) -> None:
    (HERE / name).write_text(json.dumps(event, indent=2) + "\n")


def main() -> None:
    good = [
        json.dumps({"invocationArn": ARN.format("goodjson0001"), "context": {"jobId": "video-42", "user": "ana"}}),
        ARN.format("goodbare0002"),
    ]
    write("sqs_good_batch.json", {"Records": [record(body, i + 1) for i, body in enumerate(good)]})

    mixed = [
        json.dumps({"invocationArn": ARN.format("goodjson0001"), "context": {"jobId": "video-42"}}),
        "this is not JSON and not an ARN",
        json.dumps({"context": {"jobId": "no-arn"}}),
        json.dumps({"invocationArn": "arn:aws:bedrock:us-east-1:123456789012:async-invoke/NOT-VALID"}),
        json.dumps({"invocationArn": ARN.format("ctxnotobject"), "context": ["a", "list"]}),
        json.dumps({"invocationArn": ARN.format("ctxoversize1"), "context": {"blob": "x" * 5000}}),
        json.dumps({"invocationArn": ARN.format("hugebody0001"), "padding": "y" * 200_000}),
    ]
    write("sqs_mixed_batch.json", {"Records": [record(body, 101 + i) for i, body in enumerate(mixed)]})

    # Exactly the template's schedule Input: the EventBridge rule sends it as the event.
    write("schedule.json", {"source": "bedrock-async-tracker.schedule", "action": "sweep"})


if __name__ == "__main__":
    main()
