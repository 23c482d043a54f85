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
from dataclasses import dataclass, field
from typing import Any

from .errors import MalformedMessage

# The submission's fields, one per kind of waiting workflow.
TASK_TOKEN = "taskToken"  # noqa: S105 - a field name; what `arn:aws:states:::sqs:sendMessage.waitForTaskToken` sends as "$$.Task.Token"
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
