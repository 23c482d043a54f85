"""Resuming a waiting workflow: the requests each API gets (botocore's Stubber checks them against the models), what
is cut to fit each API's limits and how the receiver knows, and how each refusal is classified."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber

from tests.helpers import stub_client
from tracking import callbacks
from tracking.callbacks import (
    CALLBACK_ID,
    FAILED_ERROR,
    MAX_CAUSE_CHARS,
    MAX_ERROR_CHARS,
    MAX_OUTPUT_BYTES,
    TASK_TOKEN,
    TRUNCATED,
    TRUNCATION_MARK,
    Callback,
    Resumer,
    cut,
    fitted,
)
from tracking.clients import LAMBDA, STATES, CallLimits
from tracking.errors import CallbackGone, OutcomeUnknown, Rejected, ServiceUnavailable, Throttled, classify
from tracking.notifier import encode
from tracking.telemetry import CALLBACKS_GONE, CALLBACKS_RESUMED

ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12"
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAW" + "Zm9vYmFy" * 80
CALLBACK = "Y2FsbGJhY2stMTIzNDU2Nzg5MA=="
COMPLETED_MESSAGE = {
    "invocationArn": ARN,
    "status": "Completed",
    "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://outputs/videos/abcdefghij12"}},
    "context": {"order": 7},
}
FAILED_MESSAGE = {"invocationArn": ARN, "status": "Failed", "failureMessage": "The video was blocked by a filter."}


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []
    monkeypatch.setattr(callbacks, "count", lambda name, value=1: names.append(name))
    return names


def clients() -> tuple[Any, Any]:
    return stub_client("stepfunctions"), stub_client("lambda")


def test_a_completed_job_resumes_the_task_with_the_notification_as_its_output(counted: list[str]) -> None:
    states, durable = clients()
    with Stubber(states) as stub:
        stub.add_response("send_task_success", {}, {"taskToken": TOKEN, "output": encode(COMPLETED_MESSAGE)})
        fingerprint = Resumer(states, durable).resume(Callback(TASK_TOKEN, TOKEN), COMPLETED_MESSAGE, "Completed")
        stub.assert_no_pending_responses()
    assert fingerprint == Callback(TASK_TOKEN, TOKEN).fingerprint
    assert counted == [CALLBACKS_RESUMED]


def test_a_failed_job_fails_the_task_with_an_error_a_catch_can_match(counted: list[str]) -> None:
    states, durable = clients()
    with Stubber(states) as stub:
        expected = {"taskToken": TOKEN, "error": FAILED_ERROR, "cause": FAILED_MESSAGE["failureMessage"]}
        stub.add_response("send_task_failure", {}, expected)
        Resumer(states, durable).resume(Callback(TASK_TOKEN, TOKEN), FAILED_MESSAGE, "Failed")
        stub.assert_no_pending_responses()
    assert counted == [CALLBACKS_RESUMED]
    assert len(FAILED_ERROR) <= MAX_ERROR_CHARS


def test_a_completed_job_resumes_the_durable_function_with_the_notification_as_its_result() -> None:
    states, durable = clients()
    with Stubber(durable) as stub:
        expected = {"CallbackId": CALLBACK, "Result": encode(COMPLETED_MESSAGE).encode()}
        stub.add_response("send_durable_execution_callback_success", {}, expected)
        Resumer(states, durable).resume(Callback(CALLBACK_ID, CALLBACK), COMPLETED_MESSAGE, "Completed")
        stub.assert_no_pending_responses()


def test_a_failed_job_fails_the_durable_callback_with_the_notification_as_its_data() -> None:
    states, durable = clients()
    with Stubber(durable) as stub:
        error = {
            "ErrorType": FAILED_ERROR,
            "ErrorMessage": FAILED_MESSAGE["failureMessage"],
            "ErrorData": encode(FAILED_MESSAGE),
        }
        stub.add_response("send_durable_execution_callback_failure", {}, {"CallbackId": CALLBACK, "Error": error})
        Resumer(states, durable).resume(Callback(CALLBACK_ID, CALLBACK), FAILED_MESSAGE, "Failed")
        stub.assert_no_pending_responses()


def test_a_job_in_progress_resumes_nothing() -> None:
    with pytest.raises(ValueError, match="only an ended job"):
        Resumer(*clients()).resume(Callback(TASK_TOKEN, TOKEN), COMPLETED_MESSAGE, "InProgress")


@pytest.mark.parametrize(
    ("callback", "operation", "code", "status"),
    [
        (Callback(TASK_TOKEN, TOKEN), "send_task_success", "TaskTimedOut", 400),
        (Callback(TASK_TOKEN, TOKEN), "send_task_success", "InvalidToken", 400),
        (Callback(TASK_TOKEN, TOKEN), "send_task_success", "TaskDoesNotExist", 400),
        (Callback(CALLBACK_ID, CALLBACK), "send_durable_execution_callback_success", "CallbackTimeoutException", 400),
        (Callback(CALLBACK_ID, CALLBACK), "send_durable_execution_callback_success", "ResourceNotFoundException", 404),
        (
            Callback(CALLBACK_ID, CALLBACK),
            "send_durable_execution_callback_success",
            "InvalidParameterValueException",
            400,
        ),
    ],
)
def test_a_callback_that_can_never_succeed_is_gone_and_counted(
    counted: list[str], callback: Callback, operation: str, code: str, status: int
) -> None:
    states, durable = clients()
    with Stubber(durable if callback.kind == CALLBACK_ID else states) as stub:
        stub.add_client_error(operation, service_error_code=code, http_status_code=status)
        with pytest.raises(CallbackGone, match=code):
            Resumer(states, durable).resume(callback, COMPLETED_MESSAGE, "Completed")
    assert counted == [CALLBACKS_GONE]


def test_a_failure_sent_to_a_closed_task_is_gone_too(counted: list[str]) -> None:
    states, durable = clients()
    with Stubber(states) as stub:
        stub.add_client_error("send_task_failure", service_error_code="TaskTimedOut", http_status_code=400)
        with pytest.raises(CallbackGone):
            Resumer(states, durable).resume(Callback(TASK_TOKEN, TOKEN), FAILED_MESSAGE, "Failed")
    assert counted == [CALLBACKS_GONE]


@pytest.mark.parametrize(
    ("operation", "code", "status", "expected"),
    [
        ("SendTaskSuccess", "ThrottlingException", 400, Throttled),
        ("SendTaskSuccess", "KmsThrottlingException", 400, Throttled),
        ("SendTaskSuccess", "InternalFailure", 500, ServiceUnavailable),
        ("SendTaskSuccess", "AccessDeniedException", 400, Rejected),  # a deployment to fix: retried
        ("SendTaskSuccess", "KmsAccessDeniedException", 400, Rejected),
        ("SendDurableExecutionCallbackFailure", "TooManyRequestsException", 429, Throttled),
        ("SendDurableExecutionCallbackFailure", "ServiceException", 500, ServiceUnavailable),
        ("SendDurableExecutionCallbackFailure", "KMSAccessDeniedException", 502, ServiceUnavailable),
        # The same codes from other calls mean other things: not a callback gone.
        ("ListObjectsV2", "InvalidToken", 400, Rejected),
        ("GetFunction", "ResourceNotFoundException", 404, Rejected),
    ],
)
def test_other_refusals_are_retried_or_rejected_as_any_call_s(
    operation: str, code: str, status: int, expected: type[Exception]
) -> None:
    error = ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)
    classified = classify(error)
    assert type(classified) is expected
    assert not isinstance(classified, CallbackGone)


def test_a_resume_sent_and_never_answered_has_an_unknown_outcome(counted: list[str]) -> None:
    states, durable = clients()

    def unanswered(**_: Any) -> Any:
        raise ReadTimeoutError(endpoint_url="https://states.us-east-1.amazonaws.com")

    states.meta.events.register("before-send.sfn.SendTaskSuccess", unanswered)
    with pytest.raises(OutcomeUnknown):
        Resumer(states, durable).resume(Callback(TASK_TOKEN, TOKEN), COMPLETED_MESSAGE, "Completed")
    assert counted == []


def test_the_clients_may_resend_and_their_worst_case_stays_short() -> None:
    for limits in (STATES, LAMBDA):
        assert limits.attempts == 2
        assert CallLimits.of(limits.config(pool=4)) == limits
        assert limits.worst_case.total_seconds() <= 15


# -- what is cut, and how the receiver knows ------------------------------------------------------


def objects(count: int) -> list[dict[str, Any]]:
    return [{"key": f"videos/abcdefghij12/shot_{n:05d}.mp4", "size": 1_000_000 + n} for n in range(count)]


def test_a_notification_that_fits_is_sent_whole_and_unmarked() -> None:
    message = {**COMPLETED_MESSAGE, "outputObjects": objects(3)}
    assert json.loads(fitted(message, MAX_OUTPUT_BYTES)) == message


def test_an_oversize_notification_keeps_the_output_objects_that_fit_and_says_it_was_cut() -> None:
    message = {**COMPLETED_MESSAGE, "outputObjects": objects(10_000)}
    text = fitted(message, MAX_OUTPUT_BYTES)
    sent = json.loads(text)
    assert len(text.encode()) <= MAX_OUTPUT_BYTES
    assert sent[TRUNCATED] is True
    kept = sent["outputObjects"]
    assert 0 < len(kept) < 10_000
    assert kept == message["outputObjects"][: len(kept)]  # the first ones, in order
    one_more = {**sent, "outputObjects": message["outputObjects"][: len(kept) + 1]}
    assert len(encode(one_more).encode()) > MAX_OUTPUT_BYTES  # as many as fit
    assert {k: v for k, v in sent.items() if k not in ("outputObjects", TRUNCATED)} == COMPLETED_MESSAGE


def test_the_limit_counts_bytes_of_utf8_not_characters() -> None:
    message = {**COMPLETED_MESSAGE, "context": {"title": "é" * 2000}, "outputObjects": objects(5)}
    limit = len(encode({**COMPLETED_MESSAGE, "context": {"title": "é" * 2000}})) + 200  # characters
    text = fitted(message, limit)  # counted in characters the context would fit; in bytes it does not
    assert len(text.encode()) <= limit
    assert json.loads(text) == {"invocationArn": ARN, "status": "Completed", TRUNCATED: True}


def test_a_notification_that_cannot_fit_at_all_keeps_its_arn_and_status() -> None:
    assert json.loads(fitted(COMPLETED_MESSAGE, 120)) == {"invocationArn": ARN, "status": "Completed", TRUNCATED: True}


def test_an_oversize_output_is_what_the_task_gets(counted: list[str]) -> None:
    states, durable = clients()
    message = {**COMPLETED_MESSAGE, "outputObjects": objects(10_000)}
    with Stubber(states) as stub:
        stub.add_response("send_task_success", {}, {"taskToken": TOKEN, "output": fitted(message, MAX_OUTPUT_BYTES)})
        Resumer(states, durable).resume(Callback(TASK_TOKEN, TOKEN), message, "Completed")
        stub.assert_no_pending_responses()


def test_a_long_cause_is_cut_to_the_api_limit_and_ends_in_the_mark() -> None:
    text = cut("x" * (MAX_CAUSE_CHARS + 10), MAX_CAUSE_CHARS)
    assert len(text) == MAX_CAUSE_CHARS
    assert text.endswith(TRUNCATION_MARK)
    assert cut("short", MAX_CAUSE_CHARS) == "short"
