"""What went wrong, expressed as what the caller should do about it; every AWS error is classified here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)


class TrackerError(Exception):
    """Base of the project's errors. `kind` names the error in logs and metrics."""

    kind = "error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GiveUp(TrackerError):
    """This input will never succeed: report it and do not retry it."""

    kind = "rejected"


class MalformedMessage(GiveUp):
    kind = "malformed_body"


class InvalidArn(GiveUp):
    kind = "invalid_arn"


class OversizeContext(GiveUp):
    kind = "oversize_context"


class TooManyCallbacks(GiveUp):
    """The job's record holds as many callbacks as it may (records.MAX_CALLBACKS): this one is not kept."""

    kind = "too_many_callbacks"


class AccountNotAllowed(GiveUp):
    kind = "account_not_allowed"


class Rejected(GiveUp):
    """An AWS service refused the request itself (validation, access denied)."""

    kind = "rejected_by_service"


class CallbackGone(Rejected):
    """The workflow that waited can never be resumed: its task timed out or was closed, its token or callback id is
    not valid, its execution is gone. Recorded as such and never retried (a resend would be refused the same way)."""

    kind = "callback_gone"


class UnknownInvocation(Rejected):
    """Bedrock does not know the invocation (GetAsyncInvoke's ValidationException: it has no ResourceNotFound). For a
    new submission a rejection like any; for a tracked one, an ARN Bedrock has aged out (see Tracker.check)."""


class RetryLater(TrackerError):
    """Transient: the same call may succeed later (throttling, 5xx, timeouts), once the SDK's retries are spent."""

    kind = "transient"


class Throttled(RetryLater):
    kind = "throttled"


class ServiceUnavailable(RetryLater):
    kind = "service_error"


class OutcomeUnknown(ServiceUnavailable):
    """The request was sent and no answer came (a read timeout, a dropped connection): it may have taken effect."""

    kind = "outcome_unknown"


class OutOfTime(RetryLater):
    """Not started: it could outlast the Lambda's deadline. The next run (or the message's next receive) does it."""

    kind = "out_of_time"


class UnexpectedAnswer(RetryLater):
    """A service answered with something we cannot trust; never acted upon, asked again later."""

    kind = "unexpected_answer"


class AlreadyDone(TrackerError):
    """Nothing went wrong: a conditional write found the work already done by another run. `item` is the item as
    it found it, when the write asked for it (ReturnValuesOnConditionCheckFailure), in DynamoDB's JSON."""

    kind = "already_done"

    def __init__(self, reason: str, item: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.item = item or {}


_THROTTLING = {
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "KMSThrottlingException",
    "KmsThrottlingException",  # Step Functions spells it so
    "KMSThrottling",  # SNS's name for KMS throttling a publish to an encrypted topic
    "SlowDown",
}
_SERVER = {
    "InternalServerException",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceUnavailableError",
    "ServiceException",
    "ModelNotReadyException",
}
_DONE = {"ConditionalCheckFailedException", "TransactionConflictException"}
# The refusals of a callback that no resend can change, by operation: these codes mean other things elsewhere (S3's
# InvalidToken is a bad continuation token; ResourceNotFoundException is often a deployment to fix).
_TASK_GONE = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
_DURABLE_CALLBACK_GONE = frozenset(
    {"CallbackTimeoutException", "ResourceNotFoundException", "InvalidParameterValueException"}
)
_CALLBACK_GONE = {
    "SendTaskSuccess": _TASK_GONE,
    "SendTaskFailure": _TASK_GONE,
    "SendDurableExecutionCallbackSuccess": _DURABLE_CALLBACK_GONE,
    "SendDurableExecutionCallbackFailure": _DURABLE_CALLBACK_GONE,
}
_NOT_SENT = (ConnectTimeoutError, EndpointConnectionError)
_SENT_UNANSWERED = (ReadTimeoutError, ConnectionClosedError)


def classify(exc: Exception) -> TrackerError:  # noqa: PLR0911 - one return per class of error reads best
    """Turn an error from botocore into the project's own. Unknown 4xx codes are permanent, unknown 5xx are not."""
    if isinstance(exc, TrackerError):
        return exc
    if isinstance(exc, _SENT_UNANSWERED):
        return OutcomeUnknown(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, _NOT_SENT):
        return ServiceUnavailable(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, ParamValidationError):
        return Rejected(f"ParamValidationError: {exc}")
    if isinstance(exc, BotoCoreError):  # no credentials, a bad endpoint: the deployment, not the input
        return ServiceUnavailable(f"{type(exc).__name__}: {exc}")
    if not isinstance(exc, ClientError):
        raise TypeError(f"not an AWS error: {exc!r}") from exc
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = f"{exc.operation_name}: {code}: {error.get('Message', '')}".rstrip(": ")
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in _CALLBACK_GONE.get(exc.operation_name, ()):
        return CallbackGone(message)
    if code in _DONE:
        return AlreadyDone(message, cast(dict[str, Any], exc.response.get("Item")))
    if code == "ValidationException" and exc.operation_name == "GetAsyncInvoke":
        return UnknownInvocation(message)  # Bedrock has no ResourceNotFound: it does not know the invocation
    return classify_code(code, message, status)


def classify_code(code: str, message: str, status: int = 0) -> TrackerError:
    """An AWS error code (with its HTTP status, where there is one) as the project's error: also for the codes a
    call answers inside a success, such as PutEvents' failed entries. Any other 4xx is permanent: AccessDenied, a
    topic or bus that does not exist, a disabled KMS key are refused until someone acts (see channels/)."""
    if code in _THROTTLING or status == 429:
        return Throttled(message)
    if code in _SERVER or status >= 500:
        return ServiceUnavailable(message)
    return Rejected(message)


P = ParamSpec("P")
R = TypeVar("R")


def call(method: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """One AWS call, `method(*args, **kwargs)`, its botocore errors raised as the project's own (classify). The
    request is checked against the client's stubs: `call(client.update_item, TableName=..., ...)`."""
    try:
        return method(*args, **kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise classify(exc) from exc
