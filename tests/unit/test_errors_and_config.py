"""Classification of AWS errors and the settings read from the environment."""

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

from tracking.config import ConfigurationError, Settings
from tracking.errors import (
    AlreadyDone,
    OutcomeUnknown,
    Rejected,
    ServiceUnavailable,
    Throttled,
    TrackerError,
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
        ("ValidationException", 400, Rejected),
        ("AccessDeniedException", 403, Rejected),
        ("NotFound", 404, Rejected),
        ("ConditionalCheckFailedException", 400, AlreadyDone),
    ],
)
def test_every_client_error_code_is_classified_by_what_to_do(code: str, status: int, expected: type) -> None:
    error = classify(client_error(code, status))
    assert type(error) is expected
    assert code in error.reason


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


BASE = {"TABLE_NAME": "t", "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:n", "MAX_POLL_INTERVAL_SECONDS": "300"}


def test_settings_from_the_environment_the_template_sets() -> None:
    settings = Settings.from_env({**BASE, "CONCURRENCY": "8"})
    assert settings.table_name == "t"
    assert settings.max_poll_interval_seconds == 300
    assert settings.concurrency == 8
    assert settings.record_retention_days == 30


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TABLE_NAME": ""}, "TABLE_NAME is required"),
        ({"TOPIC_ARN": "  "}, "TOPIC_ARN is required"),
        ({"MAX_POLL_INTERVAL_SECONDS": ""}, "MAX_POLL_INTERVAL_SECONDS is required"),
        ({"MAX_POLL_INTERVAL_SECONDS": "soon"}, "must be an integer"),
        ({"MAX_POLL_INTERVAL_SECONDS": "-1"}, "at least 0"),
        ({"CONCURRENCY": "0"}, "at least 1"),
    ],
)
def test_bad_environment_fails_loudly_at_cold_start(change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({**BASE, **change})


def test_allowed_accounts_are_read_as_a_set_of_account_ids() -> None:
    settings = Settings.from_env({**BASE, "ALLOWED_ACCOUNTS": "123456789012, 210987654321"})
    assert settings.allowed_accounts == {"123456789012", "210987654321"}
    assert Settings.from_env(BASE).allowed_accounts == frozenset()
    with pytest.raises(ConfigurationError, match="12-digit"):
        Settings.from_env({**BASE, "ALLOWED_ACCOUNTS": "1234,123456789012"})
