"""What the tests share besides fixtures: the test's clock, ARNs and SQS events in Lambda's shape, faults on the
wire, the function's log lines. Fixtures are in conftest.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from localrun import lambda_driver
from localrun.aws_proxy import Fault
from localrun.stack import LocalAws

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
ACCOUNT = "123456789012"


# Past any job's first forced check (the template's 300 s interval): a sweep then asks about it, whether its output
# lands in a watched bucket (first due after the interval) or not (first due when it can have ended).
PAST_THE_FLOOR = 310


# How long a patient client waits for the local stack's answer: on a busy machine moto's server can take longer
# than a production read timeout (2 to 4 s), which would make a test's outcome depend on the machine's speed.
PATIENT_READ_TIMEOUT = 120.0


def patient_session() -> boto3.session.Session:
    """A session whose clients wait for the local stack's answers as long as it takes (PATIENT_READ_TIMEOUT), for
    tests whose subject is not a timeout. Only the wire's read timeout changes (botocore's per-request override):
    the clients' configuration, from which the deadline guard reads each call's worst case, stays the function's,
    so what a run starts before its deadline is still decided on the test's clock."""
    session = boto3.session.Session()
    session.events.register("before-call", _patient)
    return session


def _patient(context: dict[str, Any], **_: Any) -> None:
    context["read_timeout"] = PATIENT_READ_TIMEOUT


def arn(invocation_id: str, region: str = "us-east-1", account: str = ACCOUNT) -> str:
    return f"arn:aws:bedrock:{region}:{account}:async-invoke/{invocation_id}"


def start_on_bedrock(stack: LocalAws, model: str = "amazon.nova-reel-v1:1", folder: str = "videos") -> str:
    """StartAsyncInvoke on the simulator through boto3, writing under the stack's bucket: a real ARN back."""
    answer = stack.client("bedrock-runtime").start_async_invoke(
        modelId=model,
        modelInput={"taskType": "TEXT_VIDEO"},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{stack.resources.bucket}/{folder}"}},
    )
    return str(answer["invocationArn"])


SUBMIT_TIME = datetime(2026, 11, 26, 12, 0, 0, 123000, tzinfo=UTC)


def answer(invocation_arn: str = arn("abcdefghij12"), **changes: Any) -> dict[str, Any]:
    """A GetAsyncInvoke answer as botocore returns it (an in-progress Nova Reel job submitted at SUBMIT_TIME), with
    `changes`; a change to None leaves the field out."""
    base = {
        "invocationArn": invocation_arn,
        "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1",
        "clientRequestToken": "token",
        "status": "InProgress",
        "submitTime": SUBMIT_TIME,
        "lastModifiedTime": SUBMIT_TIME,
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b/abcdefghij12"}},
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def stub_client(service: str) -> Any:
    """A boto3 client that cannot reach AWS, for botocore's Stubber."""
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def sqs_event(*bodies: str, ids: str = "message-") -> dict[str, Any]:
    """Lambda's SQS event for messages with these bodies on the intake queue of events/sqs_good_batch.json, their
    message ids `ids` followed by 0, 1, ..."""
    sample = load_event("sqs_good_batch.json")["Records"][0]
    messages = [
        {"MessageId": f"{ids}{i}", "ReceiptHandle": f"handle-{i}", "Body": body, "Attributes": sample["attributes"]}
        for i, body in enumerate(bodies)
    ]
    return lambda_driver.sqs_event(messages, queue_arn=sample["eventSourceARN"], region=sample["awsRegion"])


Invoke = Callable[[dict[str, Any]], Any]


class LogLines(logging.Handler):
    """The function's structured log lines, parsed."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def where(self, **fields: Any) -> list[dict[str, Any]]:
        return [line for line in self.lines if all(line.get(k) == v for k, v in fields.items())]


def fail_on_the_wire(
    stack: LocalAws, service: str, operation: str, *, code: str, status: int = 500, calls: int = 1, match: str = ""
) -> Fault:
    """The function's next `calls` requests of `operation` (whose body holds `match`) answer with the AWS error
    `code`, on the wire: botocore sees each one and retries as it would (to fail one call of the function past its
    retries, pass that client's attempts). Returns the fault; its `hits` count the requests it answered."""
    return stack.proxy.inject(Fault(service, operation, code=code, status=status, times=calls, match=match))
