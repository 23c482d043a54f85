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
# The checks queue: output events, timers and hand-offs arrive there (CHECKS_QUEUE_URL names it; the function tells
# its batches from intake's by the queue's name at the end of eventSourceARN).
CHECKS_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:bedrock-async-tracker-ChecksQueue"
ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/{}"


def record(body: str, n: int, queue_arn: str = QUEUE_ARN) -> dict[str, object]:
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
        "eventSourceARN": queue_arn,
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

    # An S3 "Object Created" event as the stack's EventBridge rule forwards it to the checks queue (the rule's
    # target is the queue: the message body is the whole EventBridge event). Bedrock wrote into the folder named
    # by the invocation's id; S3 URL-encodes the key.
    object_created = {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-26T12:01:32Z",
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::my-bedrock-outputs"],
        "detail": {
            "version": "0",
            "bucket": {"name": "my-bedrock-outputs"},
            "object": {
                "key": "videos/goodjson0001/output.mp4",
                "size": 4718592,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "sequencer": "00617F08299329D189",
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "203.0.113.15",
            "reason": "PutObject",
        },
    }
    write("sqs_output_event.json", {"Records": [record(json.dumps(object_created), 201, CHECKS_QUEUE_ARN)]})

    # A timer the tracker set itself (a delayed message): the second of the job's series.
    timer = json.dumps({"check": ARN.format("goodbare0002"), "reason": "timer", "attempt": 2})
    write("sqs_timer.json", {"Records": [record(timer, 301, CHECKS_QUEUE_ARN)]})

    # A hand-off: checks a sweep could not reach before its deadline, for another execution environment; `since`
    # is the handing sweep's start (epoch seconds).
    handoff = json.dumps(
        {"check": [ARN.format("goodjson0001"), ARN.format("goodbare0002")], "reason": "handoff", "since": 1764195300}
    )
    write("sqs_handoff.json", {"Records": [record(handoff, 401, CHECKS_QUEUE_ARN)]})


if __name__ == "__main__":
    main()
