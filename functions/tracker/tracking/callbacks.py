"""Resuming the workflow that waits on a job: a Step Functions task (its task token) or a Lambda durable function
(its callback id), told once when the job ends, with the notification as its result.

A callback is a capability: whoever holds it can end one waiting task. It is never logged; `Callback.fingerprint`
names it in logs and metrics. Each API bounds what it takes; what does not fit is cut, and the receiver is told so:
an output or result that lost part of the notification carries `"truncated": true`, a cut text ends in
`TRUNCATION_MARK`. Both services close a callback on its first success and refuse every later one, so a resend can
never resume a workflow twice (clients.STATES, clients.LAMBDA)."""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from .errors import CallbackGone, MalformedMessage, OutcomeUnknown, TrackerError, call
from .invocations import COMPLETED, FAILED
from .jsontext import dumps as encode  # notifier.encode, without importing the notifier (records imports this)
from .telemetry import CALLBACKS_GONE, CALLBACKS_RESUMED, count, logger

if TYPE_CHECKING:  # the stubs are a development dependency only
    from types_boto3_lambda.client import LambdaClient
    from types_boto3_stepfunctions.client import SFNClient

# The submission's fields, one per kind of waiting workflow. A task token is what an
# `arn:aws:states:::sqs:sendMessage.waitForTaskToken` state sends as "$$.Task.Token".
TASK_TOKEN = "taskToken"  # noqa: S105 - a field's name, not a secret
CALLBACK_ID = "callbackId"  # what a Lambda durable function's waitForCallback hands its submitter

# The APIs' constraints (botocore's stepfunctions 2016-11-23 and lambda 2015-03-31 models, the API reference).
MAX_TASK_TOKEN_CHARS = 2048
MAX_CALLBACK_ID_CHARS = 1024
# The model's pattern for CallbackId, [A-Za-z0-9+/]+={0,2}: base64, taken here as the whole id.
_CALLBACK_ID = re.compile(r"[A-Za-z0-9+/]+={0,2}")
MAX_OUTPUT_BYTES = 262_144  # SendTaskSuccess `output`: 256 KiB of UTF-8
MAX_ERROR_CHARS = 256  # SendTaskFailure `error`
MAX_CAUSE_CHARS = 32_768  # SendTaskFailure `cause`
# SendDurableExecutionCallbackSuccess `Result`: the API reference says 256 KB (botocore's model allows 1 MiB; the
# smaller holds). A durable execution's error fields are limited to 256 KB together.
MAX_RESULT_BYTES = 262_144
MAX_ERROR_OBJECT_BYTES = 262_144

# The error a state machine's Catch (or a durable function's handler) matches when the job failed.
FAILED_ERROR = "Bedrock.AsyncInvokeFailed"
TRUNCATED = "truncated"
TRUNCATION_MARK = " [truncated]"


@dataclass(frozen=True)
class Callback:
    """What a submission handed over to be resumed by: its `kind` (TASK_TOKEN or CALLBACK_ID, the submission's field)
    and its value, `token`, left out of every repr and log line."""

    kind: str
    token: str = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """Names the callback in logs without revealing it."""
        return hashlib.sha256(f"{self.kind}#{self.token}".encode()).hexdigest()[:16]

    @classmethod
    def of(cls, document: dict[str, Any]) -> Callback | None:
        """The callback a submission's JSON object carries, checked against its API's constraints (None if none);
        raises MalformedMessage naming what is wrong."""
        given = [kind for kind in (TASK_TOKEN, CALLBACK_ID) if document.get(kind) is not None]
        if not given:
            return None
        if len(given) > 1:
            raise MalformedMessage(f"a submission carries a {TASK_TOKEN} or a {CALLBACK_ID}, not both")
        (kind,) = given
        token = document[kind]
        if not isinstance(token, str):
            raise MalformedMessage(f"{kind} must be a string")
        if kind == TASK_TOKEN:
            if not 1 <= len(token) <= MAX_TASK_TOKEN_CHARS:
                raise MalformedMessage(f"{kind} must be 1 to {MAX_TASK_TOKEN_CHARS} characters, got {len(token)}")
        else:
            if not 1 <= len(token) <= MAX_CALLBACK_ID_CHARS:
                raise MalformedMessage(f"{kind} must be 1 to {MAX_CALLBACK_ID_CHARS} characters, got {len(token)}")
            if not _CALLBACK_ID.fullmatch(token):
                raise MalformedMessage(f"{kind} must be base64 (letters, digits, + and /, up to two = at the end)")
        return cls(kind, token)


def fitted(message: dict[str, Any], limit: int) -> str:
    """`message` as JSON in at most `limit` bytes of UTF-8. If it does not fit, the listed output objects are cut
    from the end (as many kept as fit) and `"truncated": true` added; if even that cannot fit (the contract's bounds
    on the context and the failure message keep a notification far smaller), only the ARN and status are kept."""
    text = encode(message)
    if _size(text) <= limit:
        return text
    objects = list(message.get("outputObjects") or [])
    low, high, best = 0, len(objects), None
    while low <= high:  # the longest prefix of the objects that fits
        middle = (low + high) // 2
        shortened = {**message, TRUNCATED: True}
        if "outputObjects" in message:
            shortened["outputObjects"] = objects[:middle]
        candidate = encode(shortened)
        if _size(candidate) <= limit:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    if best is not None:
        return best
    return encode({**{name: message[name] for name in ("invocationArn", "status") if name in message}, TRUNCATED: True})


def cut(text: str, limit: int) -> str:
    """`text` in at most `limit` characters; a cut text ends in TRUNCATION_MARK."""
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARK)] + TRUNCATION_MARK


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


class Resumer:
    """Resumes waiting workflows: Step Functions tasks through `states`, durable functions through `durable` (a
    Lambda client), both of the function's own Region (a callback names no Region)."""

    def __init__(self, states: SFNClient, durable: LambdaClient) -> None:
        self.states = states
        self.durable = durable
        # Whether an attempt of the call in progress (in this thread) was sent and its answer lost. botocore's
        # RetryAttempts counts every retry, a throttle's or a 5xx's too (nothing taken): only a lost answer may have
        # closed the callback before the resend that finds it closed.
        self._calls = threading.local()
        for client in (states, durable):
            client.meta.events.register("before-call", self._new_call)
            client.meta.events.register("needs-retry", self._attempted)

    def _new_call(self, **_: Any) -> None:
        self._calls.answer_lost = False

    def may_have_resumed(self, exc: TrackerError) -> bool:
        """Whether the call just made, failed with `exc`, may have resumed the workflow all the same: an attempt of it
        lost its answer (the last one: OutcomeUnknown; or an earlier one, whose resend then failed)."""
        return isinstance(exc, OutcomeUnknown) or bool(getattr(self._calls, "answer_lost", False))

    def _attempted(self, caught_exception: Exception | None = None, **_: Any) -> None:
        """Told after each attempt, beside botocore's retry handler (returning None, this one never decides a retry)."""
        if isinstance(caught_exception, ReadTimeoutError | ConnectionClosedError):
            self._calls.answer_lost = True

    def resume(self, callback: Callback, message: dict[str, Any], status: str, *, unanswered: bool = False) -> str:
        """Tell the workflow behind `callback` that its job ended with `status`, `message` being the notification's
        JSON object: its output when Completed, a failure named FAILED_ERROR with the failure message as its cause
        when Failed. Returns the callback's fingerprint. Raises the classified error: CallbackGone (counted, and
        never to be retried), RetryLater, Rejected. `unanswered`: an earlier send to this callback had no answer (it
        may have closed it), so a refusal as closed counts as sent, as a refusal of botocore's resend does."""
        if status not in (COMPLETED, FAILED):
            raise ValueError(f"only an ended job resumes a workflow, not one {status}")
        try:
            if callback.kind == TASK_TOKEN:
                self._resume_task(callback.token, message, status)
            else:
                self._resume_durable(callback.token, message, status)
        except CallbackGone as exc:
            if getattr(self._calls, "answer_lost", False) or unanswered:
                # botocore resent a request whose answer was lost (clients.STATES allows two attempts), and the token
                # was closed when the resend came: most likely by that first attempt, which Step Functions took. A
                # refusal of such a resend proves nothing gone, so the callback counts as sent, and is not sent again.
                # So for a later send after a call that may have gone (an answer lost: the record notes it).
                logger.warning(
                    "callback refused after a send that had no answer: that send may have resumed it; counted as sent",
                    extra={
                        "invocationArn": message.get("invocationArn"),
                        "callback": callback.fingerprint,
                        "kind": callback.kind,
                        "reason": exc.reason,
                    },
                )
                count(CALLBACKS_RESUMED)
                return callback.fingerprint
            count(CALLBACKS_GONE)
            logger.warning(
                "callback can never be resumed; recorded as gone, not retried",
                extra={
                    "invocationArn": message.get("invocationArn"),
                    "callback": callback.fingerprint,
                    "kind": callback.kind,
                    "reason": exc.reason,
                },
            )
            raise
        count(CALLBACKS_RESUMED)
        return callback.fingerprint

    def _resume_task(self, token: str, message: dict[str, Any], status: str) -> None:
        if status == COMPLETED:
            call(self.states.send_task_success, taskToken=token, output=fitted(message, MAX_OUTPUT_BYTES))
        else:
            call(
                self.states.send_task_failure,
                taskToken=token,
                error=FAILED_ERROR,
                cause=cut(str(message.get("failureMessage", "")), MAX_CAUSE_CHARS),
            )

    def _resume_durable(self, callback_id: str, message: dict[str, Any], status: str) -> None:
        if status == COMPLETED:
            call(
                self.durable.send_durable_execution_callback_success,
                CallbackId=callback_id,
                Result=fitted(message, MAX_RESULT_BYTES).encode("utf-8"),
            )
            return
        cause = cut(str(message.get("failureMessage", "")), MAX_CAUSE_CHARS)
        room = MAX_ERROR_OBJECT_BYTES - _size(FAILED_ERROR) - _size(cause)
        call(
            self.durable.send_durable_execution_callback_failure,
            CallbackId=callback_id,
            # The failure's data is the whole notification, for a handler that wants more than the message.
            Error={"ErrorType": FAILED_ERROR, "ErrorMessage": cause, "ErrorData": fitted(message, room)},
        )
