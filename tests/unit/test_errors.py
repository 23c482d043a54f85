"""Classification of AWS errors: each code and SDK exception by what to do about it."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from tracking.errors import (
    AlreadyDone,
    OutcomeUnknown,
    Rejected,
    ServiceUnavailable,
    Throttled,
    TrackerError,
    UnknownInvocation,
    classify,
)


def client_error(code: str, status: int, operation: str = "GetAsyncInvoke") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 429, Throttled),
        ("ProvisionedThroughputExceededException", 400, Throttled),
        ("RequestLimitExceeded", 400, Throttled),
        ("Throttling", 400, Throttled),
        ("SomethingNew", 429, Throttled),
        ("InternalServerException", 500, ServiceUnavailable),
        ("ServiceUnavailableException", 503, ServiceUnavailable),
        ("InternalError", 500, ServiceUnavailable),
        ("SomethingNew", 502, ServiceUnavailable),
        ("ValidationException", 400, UnknownInvocation),  # of GetAsyncInvoke: Bedrock does not know the ARN
        ("AccessDeniedException", 403, Rejected),
        ("NotFound", 404, Rejected),
        ("ConditionalCheckFailedException", 400, AlreadyDone),
    ],
)
def test_every_client_error_code_is_classified_by_what_to_do(code: str, status: int, expected: type) -> None:
    error = classify(client_error(code, status))
    assert type(error) is expected
    assert code in error.reason


def test_a_validation_error_of_another_call_is_a_plain_rejection() -> None:
    assert type(classify(client_error("ValidationException", 400, "UpdateItem"))) is Rejected


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        # never sent: nothing happened
        (EndpointConnectionError(endpoint_url="http://x"), ServiceUnavailable),
        (ConnectTimeoutError(endpoint_url="http://x"), ServiceUnavailable),
        # sent, and no answer: it may have taken effect
        (ReadTimeoutError(endpoint_url="http://x"), OutcomeUnknown),
        (ConnectionClosedError(endpoint_url="http://x"), OutcomeUnknown),
        (NoCredentialsError(), ServiceUnavailable),
        (ParamValidationError(report="bad"), Rejected),
    ],
)
def test_sdk_errors_are_classified(exc: Exception, expected: type) -> None:
    assert type(classify(exc)) is expected


def test_project_errors_pass_through_and_other_exceptions_are_not_aws_errors() -> None:
    error = Throttled("x")
    assert classify(error) is error
    with pytest.raises(TypeError):
        classify(ValueError("not from AWS"))
    assert issubclass(Throttled, TrackerError)
