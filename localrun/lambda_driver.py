"""Drives a handler as Lambda does: an SQS event source mapping and the EventBridge schedule rule.

The poller receives batches, builds Lambda's SQS event, calls the handler, deletes only the messages not
named in `batchItemFailures` (none if the handler raised or ran out of time), and leaves the rest to come back
after the visibility timeout until the queue's `maxReceiveCount` moves them to the dead-letter queue. A run that
reaches its deadline is killed, as Lambda kills it: no AWS call of it gets through afterwards (`killed_at`), and
its whole batch comes back. The timer sends the template's schedule `Input` at the template's rate, both scaled
by the stack's time factor.

    python -m localrun.lambda_driver   # with the function's environment set, as `make demo` does
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import template

Handler = Callable[[dict[str, Any], Any], Any]


def load_handler() -> Handler:
    """The function's handler, found as Lambda finds it: the template's `Handler` (module.function) in its `CodeUri`.
    The module is loaded once per process, as in an execution environment."""
    settings = template.function_settings()
    module_name, function = settings["handler"].rsplit(".", 1)
    if module_name not in sys.modules:
        path = template.TEMPLATE.parent / settings["code_uri"] / f"{module_name}.py"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"no handler module at {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    handler: Handler = getattr(sys.modules[module_name], function)
    return handler


class Killed(BaseException):
    """Lambda ended the run at its deadline: nothing of it runs after this (not an Exception: nothing catches it)."""


class TimedOut(Exception):
    """The handler did not return before its deadline (Lambda reports "Task timed out")."""


class _RunDeadline:
    """Whether the run in progress is past its deadline; asked at every AWS call of the process (one run at a time,
    as in one execution environment)."""

    passed: Callable[[], bool] | None = None


_RUN = _RunDeadline()


def _enforce_deadlines() -> None:
    from botocore.client import BaseClient

    original = BaseClient._make_api_call  # type: ignore[attr-defined]  # private: not in botocore-stubs
    if getattr(original, "_enforced", False):
        return

    def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        passed = _RUN.passed
        if passed is not None and passed():
            raise Killed(f"{operation_name} called after the run's deadline")
        answer = original(self, operation_name, api_params)
        if passed is not None and passed():  # the call outlasted the deadline: the run died during it
            raise Killed(f"{operation_name} answered after the run's deadline")
        return answer

    _make_api_call._enforced = True  # type: ignore[attr-defined]
    BaseClient._make_api_call = _make_api_call  # type: ignore[attr-defined]


@contextmanager
def killed_at(passed: Callable[[], bool]) -> Iterator[None]:
    """While this run lasts, every AWS call it makes once `passed()` raises Killed."""
    _enforce_deadlines()
    _RUN.passed = passed
    try:
        yield
    finally:
        _RUN.passed = None


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that Powertools and the handler read. The deadline is `timeout` seconds
    after it is made, on `clock` if given (a test's or the bench's), else on real time."""

    timeout: float
    clock: Callable[[], datetime] | None = None
    function_name: str = "tracker"
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self._now()

    def _now(self) -> float:
        return time.monotonic() if self.clock is None else self.clock().timestamp()

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout - (self._now() - self.started)) * 1000))

    def passed(self) -> bool:
        """Past the deadline: Lambda has killed the run."""
        return self._now() > self.started + self.timeout


def sqs_event(messages: list[dict[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    """Lambda's SQS event for messages as ReceiveMessage returned them (with AttributeNames=All)."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


@dataclass
class LambdaDriver:
    handler: Handler
    sqs: Any
    queue_url: str
    queue_arn: str
    batch_size: int
    timeout: float
    schedule_period: float
    schedule_input: dict[str, Any]
    region: str = "us-east-1"
    checks_queue_url: str | None = None  # a second event source mapping, on the checks queue
    checks_queue_arn: str | None = None
    invocations: int = 0
    errors: int = 0
    timeouts: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one invocation at a time, as one execution environment runs
        self._threads: list[threading.Thread] = []

    def invoke(self, event: dict[str, Any]) -> Any:
        """One invocation with Lambda's deadline: raises TimedOut if the handler has not returned by then."""
        with self._lock:
            self.invocations += 1
            context = LambdaContext(timeout=self.timeout)
            outcome: dict[str, Any] = {}

            def run() -> None:
                try:
                    with killed_at(lambda: context.get_remaining_time_in_millis() <= 0):
                        outcome["response"] = self.handler(event, context)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller, as Lambda reports it
                    outcome["error"] = exc

            thread = threading.Thread(target=run, name="invocation", daemon=True)
            thread.start()
            thread.join(self.timeout)
            if thread.is_alive() or isinstance(outcome.get("error"), Killed):
                self.errors += 1
                self.timeouts += 1
                thread.join(self.timeout)  # it dies at its next AWS call; the environment starts over
                raise TimedOut(f"Task timed out after {self.timeout:.2f} seconds")
            if "error" in outcome:
                self.errors += 1
                raise outcome["error"]
            return outcome["response"]

    def poll_once(self, wait_seconds: int = 1, *, checks: bool = False) -> int:
        """One receive (from the intake queue, or the checks queue) and, if anything came, one handler invocation.
        Returns the number of messages."""
        queue_url = (self.checks_queue_url or "") if checks else self.queue_url
        queue_arn = (self.checks_queue_arn or "") if checks else self.queue_arn
        answer = self.sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(self.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        try:
            response = self.invoke(sqs_event(messages, queue_arn=queue_arn, region=self.region))
        except Exception:  # noqa: BLE001 - Lambda's behaviour: a failed invocation deletes nothing
            return len(messages)
        failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages)

    def sweep_once(self) -> Any:
        return self.invoke(dict(self.schedule_input))

    def start(self) -> LambdaDriver:
        loops: list[Callable[[], None]] = [self._poll_loop, self._schedule_loop]
        if self.checks_queue_url:
            loops.append(lambda: self._poll_loop(checks=True))
        for target in loops:
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _poll_loop(self, *, checks: bool = False) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(checks=checks)
            except Exception as exc:  # noqa: BLE001 - the event source mapping keeps polling
                print(f"poller: {exc}")
                self._stop.wait(0.5)

    def _schedule_loop(self) -> None:
        while not self._stop.wait(self.schedule_period):
            try:
                self.sweep_once()
            except Exception as exc:  # noqa: BLE001 - the schedule sweeps again on its next tick
                print(f"schedule: {exc}")


def from_environment(
    handler: Handler,
    *,
    time_factor: float,
    queue_url: str,
    queue_arn: str,
    checks_queue_url: str | None = None,
    checks_queue_arn: str | None = None,
) -> LambdaDriver:
    """A driver with the template's settings (batch size, timeout, schedule), on the stack's clock."""
    import boto3

    from . import template

    intake = template.intake_settings()
    _, schedule_input = template.schedule()
    period, _ = template.scaled_schedule(time_factor)
    return LambdaDriver(
        handler=handler,
        sqs=boto3.client("sqs"),
        queue_url=queue_url,
        queue_arn=queue_arn,
        batch_size=intake["batch_size"],
        timeout=template.function_settings()["timeout"],
        schedule_period=period,
        schedule_input=schedule_input,
        checks_queue_url=checks_queue_url,
        checks_queue_arn=checks_queue_arn,
    )


def main() -> None:
    """Run the function's code as Lambda would, from the environment the demo gives this process."""
    import os

    driver = from_environment(
        load_handler(),
        time_factor=float(os.environ["LOCAL_TIME_FACTOR"]),
        queue_url=os.environ["LOCAL_QUEUE_URL"],
        queue_arn=os.environ["LOCAL_QUEUE_ARN"],
        checks_queue_url=os.environ.get("LOCAL_CHECKS_QUEUE_URL"),
        checks_queue_arn=os.environ.get("LOCAL_CHECKS_QUEUE_ARN"),
    ).start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        driver.stop()


if __name__ == "__main__":
    main()
