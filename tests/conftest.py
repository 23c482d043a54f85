"""Fixtures: one local stack (moto's server and the Bedrock simulator) per session, fresh resources per test."""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_stack.lambda_driver import LambdaContext, LambdaDriver
from local_stack.stack import LocalStack, Resources

# What the template's Globals give the function, set before any test imports its modules (Powertools reads
# them when its objects are built, once per process, as in Lambda).
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bedrock-async-tracker")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Tests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
ACCOUNT = "123456789012"


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
    stack.simulator.clear_faults()
    stack.simulator.jobs.clear()
    stack.simulator.calls.clear()
    stack.simulator.regions.clear()
    stack.proxy.clear()
    yield stack.new_resources()
    stack.simulator.clear_faults()
    stack.proxy.clear()
    stack.clock = lambda: datetime.now(UTC)


@pytest.fixture
def environment(stack: LocalStack, resources: Resources, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The function's environment on the local stack; every sweep checks every in-progress invocation."""
    env = {**stack.environment(), "MAX_POLL_INTERVAL_SECONDS": "0", "POWERTOOLS_METRICS_NAMESPACE": "Tests"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def app(environment: dict[str, str]) -> ModuleType:
    """The handler module, imported as a cold start with this test's environment."""
    sys.modules.pop("app", None)
    return importlib.import_module("app")


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
        app.lambda_handler, time_factor=1.0, queue_url=resources.queue_url, queue_arn=resources.queue_arn
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


def fail_calls(client: Any, operation: str, *, code: str, times: int, status: int = 500) -> list[int]:
    """Make the next `times` calls of `operation` (`Publish`, `UpdateItem`) fail before they leave the SDK.

    The failure enters through botocore's own event hooks, after its retries would have been spent.
    Returns a one-element list counting the failures raised.
    """
    raised = [0]
    event = f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"

    def fail(**_: Any) -> None:
        if raised[0] < times:
            raised[0] += 1
            raise ClientError(
                {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                operation,
            )

    client.meta.events.register(event, fail)
    return raised
