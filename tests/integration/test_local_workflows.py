"""The local stack's workflows, before the tracker is wired to them: moto runs the README's state machine
(examples/wait-for-job.asl.json) for real, its task's message lands on the intake queue as a valid submission, and a
SendTaskSuccess or SendTaskFailure (by hand, or by callbacks.Resumer through the function's endpoints) ends it as
Step Functions would; the durable callback stand-in checks what it is sent against botocore's model."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from localrun.stack import CREDENTIALS, REGION, WAIT_FOR_JOB, LocalAws, Resources
from tests.helpers import arn, fail_on_the_wire
from tracking.callbacks import CALLBACK_ID, FAILED_ERROR, TASK_TOKEN, Callback, Resumer
from tracking.clients import LAMBDA, STATES
from tracking.errors import CallbackGone, ServiceUnavailable, Throttled
from tracking.notifier import encode
from tracking.submissions import parse_submission

JOB = arn("abcdefghij12")
NOTIFICATION = {"invocationArn": JOB, "status": "Completed", "context": {"order": 7}, "durationSeconds": 91.5}
FAILURE = {"invocationArn": JOB, "status": "Failed", "failureMessage": "The video was blocked by a filter."}


def start(stack: LocalAws, resources: Resources, job: str = JOB) -> str:
    answer = stack.client("stepfunctions").start_execution(
        stateMachineArn=resources.state_machine_arn, input=json.dumps({"invocationArn": job})
    )
    return str(answer["executionArn"])


def handed_over(stack: LocalAws, resources: Resources) -> dict[str, Any]:
    """The task's message on the intake queue (waits for it to arrive), deleted, parsed."""
    sqs = stack.client("sqs")
    messages = sqs.receive_message(QueueUrl=resources.queue_url, WaitTimeSeconds=20).get("Messages", [])
    assert len(messages) == 1, messages
    sqs.delete_message(QueueUrl=resources.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    body: dict[str, Any] = json.loads(messages[0]["Body"])
    return body


def ended(stack: LocalAws, execution: str) -> dict[str, Any]:
    """The execution once moto's executor has ended it: waits for that event, not for time to pass."""
    states = stack.client("stepfunctions")
    for _ in range(2000):
        described: dict[str, Any] = states.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.01)
    raise AssertionError(f"{execution} is still running")


def resumer(stack: LocalAws) -> Resumer:
    """callbacks.Resumer with the function's clients: Step Functions through the proxy, Lambda's durable callbacks
    at the stand-in (AWS_ENDPOINT_URL_LAMBDA), each with its CallLimits."""
    session = boto3.session.Session(
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )
    environment = stack.environment()
    return Resumer(
        session.client("stepfunctions", endpoint_url=environment["AWS_ENDPOINT_URL"], config=STATES.config(1)),
        session.client("lambda", endpoint_url=environment["AWS_ENDPOINT_URL_LAMBDA"], config=LAMBDA.config(1)),
    )


def test_the_workflow_hands_the_job_and_its_task_token_to_the_intake_queue_and_waits(
    stack: LocalAws, resources: Resources
) -> None:
    execution = start(stack, resources)
    body = handed_over(stack, resources)
    submission = parse_submission(json.dumps(body))  # what the tracker will parse: a valid submission
    assert submission.arn.arn == JOB
    assert submission.callback is not None
    assert submission.callback.kind == TASK_TOKEN
    assert stack.client("stepfunctions").describe_execution(executionArn=execution)["status"] == "RUNNING"


def test_send_task_success_ends_the_workflow_succeeded_with_that_output(stack: LocalAws, resources: Resources) -> None:
    execution = start(stack, resources)
    token = handed_over(stack, resources)["taskToken"]
    stack.client("stepfunctions").send_task_success(taskToken=token, output=encode(NOTIFICATION))
    described = ended(stack, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == NOTIFICATION


def test_a_failure_named_as_the_tracker_names_it_lands_in_the_catch(stack: LocalAws, resources: Resources) -> None:
    execution = start(stack, resources)
    token = handed_over(stack, resources)["taskToken"]
    states = stack.client("stepfunctions")
    states.send_task_failure(taskToken=token, error=FAILED_ERROR, cause=FAILURE["failureMessage"])
    described = ended(stack, execution)
    assert described["status"] == "FAILED"
    assert (described["error"], described["cause"]) == (FAILED_ERROR, FAILURE["failureMessage"])
    entered = [
        event["stateEnteredEventDetails"]["name"]
        for event in states.get_execution_history(executionArn=execution)["events"]
        if "stateEnteredEventDetails" in event
    ]
    assert entered == ["WaitForJob", "JobFailed"]


def test_the_trackers_resumer_resumes_the_workflow_through_the_functions_endpoint(
    stack: LocalAws, resources: Resources
) -> None:
    execution = start(stack, resources)
    callback = parse_submission(json.dumps(handed_over(stack, resources))).callback
    assert callback is not None
    resumer(stack).resume(callback, NOTIFICATION, "Completed")
    described = ended(stack, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == NOTIFICATION
    assert stack.proxy.state.operations()["states:SendTaskSuccess"] == 1


def test_the_trackers_resumer_lands_a_failed_job_in_the_catch(stack: LocalAws, resources: Resources) -> None:
    execution = start(stack, resources)
    callback = parse_submission(json.dumps(handed_over(stack, resources))).callback
    assert callback is not None
    resumer(stack).resume(callback, FAILURE, "Failed")
    described = ended(stack, execution)
    assert (described["status"], described["error"]) == ("FAILED", FAILED_ERROR)
    assert described["cause"] == FAILURE["failureMessage"]


def test_a_task_already_resumed_is_gone_and_not_resent(stack: LocalAws, resources: Resources) -> None:
    execution = start(stack, resources)
    callback = parse_submission(json.dumps(handed_over(stack, resources))).callback
    assert callback is not None
    resumer(stack).resume(callback, NOTIFICATION, "Completed")
    assert ended(stack, execution)["status"] == "SUCCEEDED"
    with pytest.raises(CallbackGone):
        resumer(stack).resume(callback, NOTIFICATION, "Completed")
    assert stack.proxy.state.operations()["states:SendTaskSuccess"] == 2  # the second refused once, not resent
    assert json.loads(ended(stack, execution)["output"]) == NOTIFICATION


def test_a_timed_out_task_is_gone(stack: LocalAws, resources: Resources) -> None:
    """The README's workflow with a one-second TimeoutSeconds: moto's executor times the task out on its own clock
    (the test waits for that event), and the tracker's resume is then refused for good."""
    definition = json.loads(WAIT_FOR_JOB.read_text().replace("${IntakeQueueUrl}", resources.queue_url))
    definition["States"]["WaitForJob"]["TimeoutSeconds"] = 1
    states = stack.client("stepfunctions")
    machine = states.create_state_machine(
        name=f"{resources.state_machine_arn.rsplit(':', 1)[-1]}-1s",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/wait-for-job",
    )["stateMachineArn"]
    execution = states.start_execution(stateMachineArn=machine, input=json.dumps({"invocationArn": JOB}))
    callback = parse_submission(json.dumps(handed_over(stack, resources))).callback
    assert callback is not None
    described = ended(stack, execution["executionArn"])
    assert (described["status"], described.get("error")) == ("FAILED", "States.Timeout")  # the task timed out
    with pytest.raises(CallbackGone):
        resumer(stack).resume(callback, NOTIFICATION, "Completed")


def test_a_throttled_resume_is_transient_and_the_task_still_waits(stack: LocalAws, resources: Resources) -> None:
    execution = start(stack, resources)
    callback = parse_submission(json.dumps(handed_over(stack, resources))).callback
    assert callback is not None
    fault = fail_on_the_wire(
        stack, "states", "SendTaskSuccess", code="ThrottlingException", status=400, calls=STATES.attempts
    )
    with pytest.raises(Throttled):
        resumer(stack).resume(callback, NOTIFICATION, "Completed")
    assert fault.hits == STATES.attempts
    assert stack.client("stepfunctions").describe_execution(executionArn=execution)["status"] == "RUNNING"
    resumer(stack).resume(callback, NOTIFICATION, "Completed")  # the retry a sweep makes
    assert ended(stack, execution)["status"] == "SUCCEEDED"


# -- Lambda durable functions: the stand-in of their callback API ------------------------------------


def test_a_durable_callback_gets_the_notification_as_its_result_once(stack: LocalAws, resources: Resources) -> None:
    callback = Callback(CALLBACK_ID, stack.durable.open())
    resumer(stack).resume(callback, NOTIFICATION, "Completed")
    (received,) = [call for call in stack.durable.received if call.callback_id == callback.token]
    assert received.operation == "SendDurableExecutionCallbackSuccess"
    assert json.loads(received.result or b"") == NOTIFICATION
    with pytest.raises(CallbackGone, match="CallbackTimeoutException"):  # closed by its first success
        resumer(stack).resume(callback, NOTIFICATION, "Completed")


def test_a_durable_callback_of_a_failed_job_gets_the_error_and_the_notification(
    stack: LocalAws, resources: Resources
) -> None:
    callback = Callback(CALLBACK_ID, stack.durable.open())
    resumer(stack).resume(callback, FAILURE, "Failed")
    (received,) = [call for call in stack.durable.received if call.callback_id == callback.token]
    assert received.operation == "SendDurableExecutionCallbackFailure"
    assert received.error is not None
    assert received.error["ErrorType"] == FAILED_ERROR
    assert received.error["ErrorMessage"] == FAILURE["failureMessage"]
    assert json.loads(received.error["ErrorData"]) == FAILURE


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [("TooManyRequestsException", 429, Throttled), ("ServiceException", 500, ServiceUnavailable)],
)
def test_a_durable_callback_refused_for_now_stays_open_for_the_retry(
    stack: LocalAws, resources: Resources, code: str, status: int, expected: type[Exception]
) -> None:
    callback = Callback(CALLBACK_ID, stack.durable.open())
    stack.durable.inject(code, status, times=LAMBDA.attempts)
    with pytest.raises(expected, match=code):
        resumer(stack).resume(callback, NOTIFICATION, "Completed")
    assert [c for c in stack.durable.received if c.callback_id == callback.token] == []
    resumer(stack).resume(callback, NOTIFICATION, "Completed")  # the retry a sweep makes
    assert [c.operation for c in stack.durable.received if c.callback_id == callback.token] == [
        "SendDurableExecutionCallbackSuccess"
    ]


def test_a_callback_id_the_stand_in_never_opened_is_gone(stack: LocalAws, resources: Resources) -> None:
    with pytest.raises(CallbackGone, match="ResourceNotFoundException"):
        resumer(stack).resume(Callback(CALLBACK_ID, "bm90LW9wZW5lZA=="), NOTIFICATION, "Completed")


def signed_post(url: str, body: bytes, *, sign: bool = True) -> tuple[int, str]:
    """A request botocore would not make (its serializer knows the model too), signed as it would sign it."""
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    if sign:
        SigV4Auth(Credentials("testing", "testing"), "lambda", REGION).add_auth(request)
    prepared = request.prepare()
    try:
        sent = urllib.request.Request(url, data=body, headers=dict(prepared.headers), method="POST")  # noqa: S310
        with urllib.request.urlopen(sent, timeout=10) as answer:  # noqa: S310 - the stand-in's own endpoint
            return answer.status, ""
    except urllib.error.HTTPError as refusal:
        return refusal.code, refusal.headers["x-amzn-ErrorType"]


def test_the_stand_in_refuses_a_request_the_model_does_not_allow(stack: LocalAws, resources: Resources) -> None:
    unchecked = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client("lambda", endpoint_url=stack.durable.endpoint, config=Config(parameter_validation=False))
    callback_id = stack.durable.open()
    with pytest.raises(unchecked.exceptions.InvalidParameterValueException, match="ErrorMessage must be a string"):
        unchecked.send_durable_execution_callback_failure(CallbackId=callback_id, Error={"ErrorMessage": 42})
    path = f"/2025-12-01/durable-execution-callbacks/{quote(callback_id, safe='')}/fail"
    assert signed_post(stack.durable.endpoint + path, b'{"Reason": "x"}') == (400, "InvalidParameterValueException")
    assert signed_post(stack.durable.endpoint + path, b"{}", sign=False) == (403, "AccessDeniedException")
    with pytest.raises(unchecked.exceptions.InvalidParameterValueException, match="CallbackId must match"):
        unchecked.send_durable_execution_callback_success(CallbackId="not base64!", Result=b"{}")
    with pytest.raises(unchecked.exceptions.InvalidParameterValueException, match="over 256 KB"):
        unchecked.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"x" * 262_145)
    unchecked.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"{}")  # the id is still open
