"""The workflows that wait on jobs: Step Functions tasks (a task token) and Lambda durable functions (a callback id),
on the world's clock, behaving as AWS documents, with what the Resumer's clients meet on a bad day.

- a task token or callback id closes on its first success or failure; every later SendTaskSuccess/Failure answers
  `TaskTimedOut`, every later SendDurableExecutionCallbackSuccess/Failure `CallbackTimeoutException` (botocore's
  stepfunctions 2016-11-23 and lambda 2015-03-31 models: "The task token has either expired or the task associated
  with the token has already been closed");
- a task may time out before its job ends (its state's TimeoutSeconds or HeartbeatSeconds; a durable callback's
  timeout): from then on it answers the same;
- throttles (`ThrottlingException`; Lambda's `TooManyRequestsException`, 429), 5xx (`ServiceUnavailable`; Lambda's
  `ServiceException`), and answers lost (the call took effect, the answer never came: botocore's
  ReadTimeoutError), each at the world's rates;
- botocore's standard retry mode as the function's clients are configured (clients.STATES, clients.LAMBDA: two
  attempts): a throttle, a 5xx or a lost answer is resent once after a jittered back-off on the world's clock, and
  the final error carries `ResponseMetadata.RetryAttempts` as botocore's does; the deadline guard
  (clients.DeadlineGuard) refuses a call whose worst case would pass the run's deadline, once per call, as its
  `before-call` hook does.

Every request is checked against the API's bounds (the output's 256 KiB, the error's 256 and the cause's 32,768
characters, the output a JSON text), and kept with what became of it for chaos.promises to judge.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.hooks import HierarchicalEmitter

from tracking.callbacks import CALLBACK_ID, TASK_TOKEN
from tracking.clients import LAMBDA, STATES, CallLimits, DeadlineGuard
from tracking.errors import OutOfTime

from .faults import Rates
from .trail import Trail

SUCCEEDED, FAILED, TIMED_OUT = "succeeded", "failed", "timed_out"
ATTEMPTS = 2  # clients.STATES and clients.LAMBDA: botocore's max_attempts
# Each service's refusal of a closed callback, its throttle and its 5xx: (code, HTTP status).
CODES = {
    TASK_TOKEN: {"closed": ("TaskTimedOut", 400), "throttle": ("ThrottlingException", 400),
                 "server": ("ServiceUnavailable", 503)},
    CALLBACK_ID: {"closed": ("CallbackTimeoutException", 400), "throttle": ("TooManyRequestsException", 429),
                  "server": ("ServiceException", 500)},
}  # fmt: skip
LIMITS: dict[str, CallLimits] = {TASK_TOKEN: STATES, CALLBACK_ID: LAMBDA}


@dataclass
class Attempt:
    at: datetime
    operation: str
    attempt: int  # 0: the call's first, 1: botocore's resend
    fate: str  # throttled | server | took | closed (refused: already closed or timed out)
    answered: bool  # whether the answer reached the function (a lost one did not)


@dataclass
class Waiting:
    """One workflow waiting on a job: the token its submission carried, and what became of it."""

    kind: str  # TASK_TOKEN or CALLBACK_ID
    token: str
    arn: str
    times_out: datetime | None  # its task's timeout, if it comes before the job ends
    body: str = ""  # the submission that hands it over
    state: str = ""  # "" while waiting; SUCCEEDED, FAILED, or TIMED_OUT
    closed_at: datetime | None = None
    output: str = ""  # the success's output (a durable Result, decoded), or the failure's error name
    attempts: list[Attempt] = field(default_factory=list)
    unsettled: int = 0  # calls that ended in an error that leaves it to be sent again (a throttle, a 5xx, no answer)

    def settle(self, now: datetime) -> None:
        if not self.state and self.times_out is not None and now >= self.times_out:
            self.state, self.closed_at = TIMED_OUT, self.times_out


class Workflows:
    """Every waiting workflow of a scenario, by token; `client(kind, guard)` is what a Resumer calls."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        rng: random.Random,
        *,
        rates: Rates,
        trail: Trail,
        spend: Callable[[], None],
        sleep: Callable[[float], None],
    ) -> None:
        self.clock, self.rng, self.rates, self.trail = clock, rng, rates, trail
        self.spend = spend  # one attempt's time on the world's clock, and Lambda's deadline (or kill)
        self.sleep = sleep  # botocore's back-off, on the world's clock
        self.waiting: dict[str, Waiting] = {}

    def wait(self, kind: str, arn: str, times_out: datetime | None) -> Waiting:
        """A new workflow waiting on `arn`, its token (base64, as a callback id must be) for its submission."""
        token = base64.b64encode(self.rng.randbytes(96 if kind == TASK_TOKEN else 48)).decode()
        waiting = Waiting(kind, token, arn, times_out)
        self.waiting[token] = waiting
        return waiting

    def client(self, kind: str, guard: DeadlineGuard) -> StatesClient | DurableClient:
        return StatesClient(self, guard) if kind == TASK_TOKEN else DurableClient(self, guard)

    def call(
        self, kind: str, operation: str, token: str, *, outcome: str, output: str, guard: DeadlineGuard, events: Any
    ) -> Any:
        """One API call as botocore makes it: its `before-call` event (the guard's check, the Resumer's own), then up
        to ATTEMPTS attempts, each followed by its `needs-retry` event (with the attempt's exception, as botocore's
        endpoint emits it); a throttle, a 5xx or a lost answer is resent after botocore's back-off, and the last
        attempt's error is raised."""
        limits = LIMITS[kind]
        waiting = self.waiting.get(token)
        service = "sfn" if kind == TASK_TOKEN else "lambda"  # botocore's event names: the service id, hyphenized
        events.emit(f"before-call.{service}.{operation}")
        if not guard.allows(limits.worst_case):
            if waiting is not None:
                waiting.unsettled += 1
            raise OutOfTime(f"{operation} could take {limits.worst_case.total_seconds():.0f} s; less is left")
        for attempt in range(ATTEMPTS):
            self.spend()
            fate, error = self._attempt(kind, operation, token, attempt, outcome=outcome, output=output)
            caught = error if isinstance(error, ReadTimeoutError) else None  # a ClientError comes as a response
            events.emit(f"needs-retry.{service}.{operation}", caught_exception=caught, attempts=attempt + 1)
            if error is None:
                return {"ResponseMetadata": {"HTTPStatusCode": 200, "RetryAttempts": attempt}}
            retry = fate in ("throttled", "server", "lost")
            if not retry or attempt + 1 == ATTEMPTS:
                if retry and waiting is not None:
                    waiting.unsettled += 1
                raise error
            # botocore's back-off: rand(0, 1) * min(base * 2 ** attempt, 20), base 1 s for throttles, else 50 ms
            base = 1.0 if fate == "throttled" else 0.05
            self.sleep(self.rng.random() * min(base * 2**attempt, 20.0))
        raise AssertionError("unreachable")

    def _attempt(
        self, kind: str, operation: str, token: str, attempt: int, *, outcome: str, output: str
    ) -> tuple[str, Exception | None]:
        """One attempt's fate (throttled, server, took, closed, or lost: it took effect or was refused, and its
        answer never came), and the error the function's client raises for it (None: answered, taken)."""
        waiting = self.waiting.get(token)
        subjects = [waiting.arn] if waiting else []
        codes, r = CODES[kind], self.rates
        now, roll = self.clock(), self.rng.random()
        if roll < r.callback_throttles + r.callback_errors:
            fate = "throttled" if roll < r.callback_throttles else "server"
            if waiting is not None:
                waiting.attempts.append(Attempt(now, operation, attempt, fate, answered=True))
            self.trail.add(now, "callback_fault", subjects, f"{operation} attempt {attempt + 1}: {fate}")
            return fate, _error(operation, *codes["throttle" if fate == "throttled" else "server"], attempt)
        if waiting is None:  # never handed out: the service does not know it
            unknown = ("InvalidToken", 400) if kind == TASK_TOKEN else ("ResourceNotFoundException", 404)
            return "closed", _error(operation, *unknown, attempt)
        waiting.settle(now)
        took = not waiting.state
        if took:
            waiting.state, waiting.closed_at, waiting.output = outcome, now, output
        fate = "took" if took else "closed"
        lost = self.rng.random() < r.callback_unanswered
        waiting.attempts.append(Attempt(now, operation, attempt, fate, answered=not lost))
        self.trail.add(now, "callback", subjects, f"{operation} attempt {attempt + 1}: {fate}"
                       f"{', its answer lost' if lost else ''} ({kind} {token[:8]})")  # fmt: skip
        if lost:
            return "lost", ReadTimeoutError(endpoint_url=f"https://{kind}.chaos")
        return fate, None if took else _error(operation, *codes["closed"], attempt)


def _error(operation: str, code: str, status: int, attempt: int) -> ClientError:
    answer: Any = {
        "Error": {"Code": code, "Message": f"{code} (chaos)"},
        "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": attempt},
    }
    return ClientError(answer, operation)


def _invalid(operation: str, code: str, what: str) -> ClientError:
    answer: Any = {"Error": {"Code": code, "Message": what}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    return ClientError(answer, operation)


class StatesClient:
    """SendTaskSuccess and SendTaskFailure, as the Resumer calls them (keyword arguments, botocore's names)."""

    def __init__(self, service: Workflows, guard: DeadlineGuard) -> None:
        self.service, self.guard = service, guard
        self.meta = SimpleNamespace(events=HierarchicalEmitter())  # what the Resumer registers its hooks on

    def send_task_success(self, *, taskToken: str, output: str) -> Any:
        if len(output.encode()) > 262_144:
            raise _invalid("SendTaskSuccess", "InvalidOutput", "output over 256 KiB")
        try:
            json.loads(output)
        except ValueError:
            raise _invalid("SendTaskSuccess", "InvalidOutput", "output is not JSON") from None
        return self.service.call(
            TASK_TOKEN,
            "SendTaskSuccess",
            taskToken,
            outcome=SUCCEEDED,
            output=output,
            guard=self.guard,
            events=self.meta.events,
        )

    def send_task_failure(self, *, taskToken: str, error: str = "", cause: str = "") -> Any:
        if len(error) > 256 or len(cause) > 32_768:
            raise _invalid("SendTaskFailure", "ValidationException", "error or cause too long")
        return self.service.call(
            TASK_TOKEN,
            "SendTaskFailure",
            taskToken,
            outcome=FAILED,
            output=error,
            guard=self.guard,
            events=self.meta.events,
        )


class DurableClient:
    """SendDurableExecutionCallbackSuccess and ...Failure, as the Resumer calls them."""

    def __init__(self, service: Workflows, guard: DeadlineGuard) -> None:
        self.service, self.guard = service, guard
        self.meta = SimpleNamespace(events=HierarchicalEmitter())  # what the Resumer registers its hooks on

    def send_durable_execution_callback_success(self, *, CallbackId: str, Result: bytes = b"") -> Any:
        if not isinstance(Result, bytes) or len(Result) > 1_048_576:
            raise _invalid("SendDurableExecutionCallbackSuccess", "InvalidParameterValueException", "Result")
        operation = "SendDurableExecutionCallbackSuccess"
        return self.service.call(
            CALLBACK_ID,
            operation,
            CallbackId,
            outcome=SUCCEEDED,
            output=Result.decode(),
            guard=self.guard,
            events=self.meta.events,
        )

    def send_durable_execution_callback_failure(self, *, CallbackId: str, Error: dict[str, Any]) -> Any:
        if set(Error) - {"ErrorType", "ErrorMessage", "ErrorData", "StackTrace"}:
            raise _invalid("SendDurableExecutionCallbackFailure", "InvalidParameterValueException", "Error")
        operation = "SendDurableExecutionCallbackFailure"
        return self.service.call(
            CALLBACK_ID,
            operation,
            CallbackId,
            outcome=FAILED,
            output=str(Error.get("ErrorType")),
            guard=self.guard,
            events=self.meta.events,
        )
