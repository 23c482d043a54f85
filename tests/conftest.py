"""Fixtures: one local stack (moto's server and the Bedrock simulator) per session, fresh resources per test, and
one clock per test that the function and the whole stack run on (no sleeping for time to pass)."""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local_stack.aws_proxy import Fault
from local_stack.lambda_driver import LambdaContext, LambdaDriver
from local_stack.stack import EventDelivery, LocalStack, Resources

# What the template's Globals give the function, set before any test imports its modules (Powertools reads
# them when its objects are built, once per process, as in Lambda).
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bedrock-async-tracker")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Tests")

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
ACCOUNT = "123456789012"


class Clock:
    """The test's clock: the function's, and the stack's (Bedrock's jobs, DynamoDB's TTL, SNS FIFO deduplication).
    Leases, due times and jobs run out when the test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)

    def advance_to(self, moment: datetime) -> None:
        with self._lock:
            self.now = max(self.now, moment)


# Past any job's first forced check (the template's 300 s interval): a sweep then asks about it, whether its output
# lands in a watched bucket (first due after the interval) or not (first due when it can have ended).
PAST_THE_FLOOR = 310


def arn(invocation_id: str, region: str = "us-east-1", account: str = ACCOUNT) -> str:
    return f"arn:aws:bedrock:{region}:{account}:async-invoke/{invocation_id}"


def start_on_bedrock(stack: LocalStack, model: str = "amazon.nova-reel-v1:1", folder: str = "videos") -> str:
    """StartAsyncInvoke on the simulator through boto3, writing under the stack's bucket: a real ARN back."""
    answer = stack.client("bedrock-runtime").start_async_invoke(
        modelId=model,
        modelInput={"taskType": "TEXT_VIDEO"},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{stack.resources.bucket}/{folder}"}},
    )
    return str(answer["invocationArn"])


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def sqs_event(*bodies: str) -> dict[str, Any]:
    """A Lambda SQS event with these bodies, in the shape of events/sqs_good_batch.json."""
    template = load_event("sqs_good_batch.json")["Records"][0]
    return {
        "Records": [
            {**template, "messageId": f"message-{i}", "body": body, "md5OfBody": "0" * 32}
            for i, body in enumerate(bodies)
        ]
    }


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    stack = LocalStack(time_factor=1.0, failure_rate=0.0, seed=1).start()
    yield stack
    stack.stop()


@pytest.fixture
def resources(stack: LocalStack) -> Iterator[Resources]:
    stack.clock = lambda: datetime.now(UTC)
    stack.simulator.forget()
    stack.proxy.clear()
    yield stack.new_resources()
    # A guarantee every test that runs the function holds it to: due work comes from a Query, never a Scan.
    scans = stack.proxy.state.operations()["dynamodb:Scan"]
    stack.simulator.clear_faults()
    stack.proxy.clear()
    stack.clock = lambda: datetime.now(UTC)
    assert scans == 0, f"the function scanned the table {scans} time(s)"


@pytest.fixture
def clock(stack: LocalStack, resources: Resources) -> Clock:
    clock = Clock()
    stack.clock = clock
    return clock


@pytest.fixture
def delivery(stack: LocalStack) -> Iterator[EventDelivery]:
    """EventBridge delivering S3's events at once (a test's choice; its default is seconds), in full unless a test
    says otherwise."""
    saved = stack.event_delivery
    stack.event_delivery = EventDelivery(delay=(0.0, 0.0), late_share=0.0, seed=1)
    yield stack.event_delivery
    stack.event_delivery = saved


@pytest.fixture
def environment(stack: LocalStack, resources: Resources, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The function's environment on the local stack, as the template sets it (the poll interval, the schedule)."""
    env = {**stack.environment(), "POWERTOOLS_METRICS_NAMESPACE": "Tests"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def app(environment: dict[str, str], clock: Clock) -> ModuleType:
    """The handler module, imported as a cold start with this test's environment, its runtime on the test's clock."""
    from tracking.config import Settings
    from tracking.runtime import Runtime

    sys.modules.pop("app", None)
    module = importlib.import_module("app")
    module.runtime = Runtime.build(Settings.from_env(), clock=clock)
    return module


Invoke = Callable[[dict[str, Any]], Any]


@pytest.fixture
def invoke(app: ModuleType) -> Invoke:
    def call(event: dict[str, Any]) -> Any:
        return app.lambda_handler(event, LambdaContext(timeout=60))

    return call


@pytest.fixture
def driver(app: ModuleType, stack: LocalStack, resources: Resources) -> LambdaDriver:
    """The event source mapping and the schedule, driven one step at a time by the test."""
    from local_stack import lambda_driver

    return lambda_driver.from_environment(
        app.lambda_handler,
        time_factor=1.0,
        queue_url=resources.queue_url,
        queue_arn=resources.queue_arn,
        checks_queue_url=resources.checks_queue_url,
        checks_queue_arn=resources.checks_queue_arn,
    )


class LogLines(logging.Handler):
    """The function's structured log lines, parsed."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def where(self, **fields: Any) -> list[dict[str, Any]]:
        return [line for line in self.lines if all(line.get(k) == v for k, v in fields.items())]


@pytest.fixture
def logs(app: ModuleType) -> Iterator[LogLines]:
    from tracking.telemetry import logger

    handler = LogLines()
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    yield handler
    logger._logger.removeHandler(handler)


def fail_on_the_wire(
    stack: LocalStack, service: str, operation: str, *, code: str, status: int = 500, calls: int = 1, match: str = ""
) -> Fault:
    """The function's next `calls` requests of `operation` (whose body holds `match`) answer with the AWS error
    `code`, on the wire: botocore sees each one and retries as it would (to fail one call of the function past its
    retries, pass that client's attempts). Returns the fault; its `hits` count the requests it answered."""
    return stack.proxy.inject(Fault(service, operation, code=code, status=status, times=calls, match=match))
