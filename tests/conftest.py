"""Fixtures: one local stack (moto's server and the Bedrock simulator) per session, fresh resources per test, and
one clock per test that the function and the whole stack run on (no sleeping for time to pass)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest

from localrun.clock import Clock
from localrun.lambda_driver import LambdaContext, LambdaDriver
from localrun.stack import EventDelivery, LocalAws, Resources
from tests.helpers import Invoke, LogLines, patient_session

# What the template's Globals give the function, set before any test imports its modules (Powertools reads
# them when its objects are built, once per process, as in Lambda).
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bedrock-async-tracker")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Tests")


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalAws]:
    stack = LocalAws(time_factor=1.0, failure_rate=0.0, seed=1).start()
    yield stack
    stack.stop()


@pytest.fixture
def resources(stack: LocalAws) -> Iterator[Resources]:
    stack.clock = lambda: datetime.now(UTC)
    stack.simulator.forget()
    stack.proxy.clear()
    stack.durable.clear()
    yield stack.new_resources()
    # A guarantee every test that runs the function holds it to: due work comes from a Query, never a Scan.
    scans = stack.proxy.state.operations()["dynamodb:Scan"]
    stack.simulator.clear_faults()
    stack.proxy.clear()
    stack.clock = lambda: datetime.now(UTC)
    assert scans == 0, f"the function scanned the table {scans} time(s)"


@pytest.fixture
def clock(stack: LocalAws, resources: Resources) -> Clock:
    clock = Clock()
    stack.clock = clock
    return clock


@pytest.fixture
def delivery(stack: LocalAws) -> Iterator[EventDelivery]:
    """EventBridge delivering S3's events at once (a test's choice; its default is seconds), in full unless a test
    says otherwise."""
    saved = stack.event_delivery
    stack.event_delivery = EventDelivery(delay=(0.0, 0.0), late_share=0.0, seed=1)
    yield stack.event_delivery
    stack.event_delivery = saved


@pytest.fixture
def environment(stack: LocalAws, resources: Resources, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The function's environment on the local stack, as the template sets it (the poll interval, the schedule)."""
    env = {**stack.environment(), "POWERTOOLS_METRICS_NAMESPACE": "Tests"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def app(environment: dict[str, str], clock: Clock) -> ModuleType:
    """The handler module, imported as a cold start with this test's environment, its runtime on the test's clock
    (its clients patient: the local stack's speed decides nothing)."""
    from tracking.config import Settings
    from tracking.runtime import Runtime

    sys.modules.pop("app", None)
    module = importlib.import_module("app")
    module.runtime = Runtime.build(Settings.from_env(), clock=clock, session=patient_session())
    return module


@pytest.fixture
def invoke(app: ModuleType) -> Invoke:
    def call(event: dict[str, Any]) -> Any:
        return app.lambda_handler(event, LambdaContext(timeout=60))

    return call


@pytest.fixture
def driver(app: ModuleType, stack: LocalAws, resources: Resources) -> LambdaDriver:
    """The event source mapping and the schedule, driven one step at a time by the test."""
    from localrun import lambda_driver

    return lambda_driver.from_environment(
        app.lambda_handler,
        time_factor=1.0,
        queue_url=resources.queue_url,
        queue_arn=resources.queue_arn,
        checks_queue_url=resources.checks_queue_url,
        checks_queue_arn=resources.checks_queue_arn,
    )


@pytest.fixture
def logs(app: ModuleType) -> Iterator[LogLines]:
    from tracking.telemetry import logger

    handler = LogLines()
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    yield handler
    logger._logger.removeHandler(handler)
