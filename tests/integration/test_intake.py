"""Intake, driven by the events/ files through app.lambda_handler, on moto's server and the Bedrock simulator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localrun.lambda_driver import LambdaDriver
from localrun.stack import LocalAws, Resources
from tests.helpers import (
    PAST_THE_FLOOR,
    Invoke,
    LogLines,
    arn,
    fail_on_the_wire,
    load_event,
    patient_session,
    sqs_event,
)
from tracking import clients


def record_of(stack: LocalAws, resources: Resources, invocation_arn: str) -> dict[str, object] | None:
    from boto3.dynamodb.types import TypeDeserializer

    item = stack.client("dynamodb").get_item(
        TableName=resources.table_name, Key={"invocationArn": {"S": invocation_arn}}, ConsistentRead=True
    )
    if "Item" not in item:
        return None
    return {name: TypeDeserializer().deserialize(value) for name, value in item["Item"].items()}


def test_good_batch_of_json_and_bare_arn_is_tracked_whole(
    stack: LocalAws, resources: Resources, invoke: Invoke
) -> None:
    # given the two invocations of events/sqs_good_batch.json, still running
    stack.simulator.add(arn("goodjson0001"))
    stack.simulator.add(arn("goodbare0002"))

    # when the batch arrives
    response = invoke(load_event("sqs_good_batch.json"))

    # then no message fails and both are recorded in progress, the JSON one with its context
    assert response == {"batchItemFailures": []}
    first = record_of(stack, resources, arn("goodjson0001"))
    second = record_of(stack, resources, arn("goodbare0002"))
    assert first is not None
    assert second is not None
    assert first["status"] == "InProgress"
    assert first["context"] == {"jobId": "video-42", "user": "ana"}
    assert second["status"] == "InProgress"
    assert "context" not in second
    assert first["modelArn"] == "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1"
    assert str(first["submitTime"]).endswith("Z")


def test_each_kind_of_malformed_body_fails_alone_with_one_log_line_naming_it(
    stack: LocalAws, resources: Resources, invoke: Invoke, logs: LogLines
) -> None:
    stack.simulator.add(arn("goodjson0001"))
    event = load_event("sqs_mixed_batch.json")
    good, *bad = event["Records"]

    response = invoke(event)

    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert sorted(failed) == sorted(record["messageId"] for record in bad)
    assert good["messageId"] not in failed
    assert record_of(stack, resources, arn("goodjson0001")) is not None
    kinds = {}
    for record in bad:
        lines = logs.where(message="submission not tracked", messageId=record["messageId"])
        assert len(lines) == 1, record["body"][:80]
        assert lines[0]["reason"]
        kinds[record["messageId"]] = lines[0]["kind"]
    assert sorted(kinds.values()) == sorted(
        ["malformed_body", "malformed_body", "invalid_arn", "malformed_body", "oversize_context", "malformed_body"]
    )


@pytest.mark.parametrize(
    ("body", "kind", "reason"),
    [
        ("this is not JSON", "malformed_body", "neither a JSON object nor an async-invoke ARN"),
        ('{"invocationArn": ', "malformed_body", "not valid JSON"),
        ('{"context": {}}', "malformed_body", "no invocationArn"),
        ('{"invocationArn": "arn:aws:s3:::bucket"}', "invalid_arn", "not a Bedrock async-invoke ARN"),
        (json.dumps({"invocationArn": arn("abcdefghij12"), "context": "text"}), "malformed_body", "context must be"),
        (json.dumps({"invocationArn": arn("abcdefghij12"), "context": {"b": "x" * 4100}}), "oversize_context", "4096"),
        (json.dumps({"invocationArn": arn("abcdefghij12"), "pad": "y" * 200_000}), "malformed_body", "bytes"),
        ("", "malformed_body", "empty"),
    ],
)
def test_malformed_body_is_reported_with_its_reason(
    resources: Resources, invoke: Invoke, logs: LogLines, body: str, kind: str, reason: str
) -> None:
    response = invoke(sqs_event(body))

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    (line,) = logs.where(messageId="message-0", message="submission not tracked")
    assert line["kind"] == kind
    assert reason in line["reason"]


@pytest.mark.parametrize(
    ("invocation_arn", "expected"),
    [
        (arn("unknown00001"), "ValidationException"),  # Bedrock has no such invocation
        (arn("otheraccount", account="999999999999"), "AccessDeniedException"),
    ],
)
def test_arn_that_bedrock_rejects_is_reported(
    stack: LocalAws, resources: Resources, app: Any, logs: LogLines, invocation_arn: str, expected: str
) -> None:
    from dataclasses import replace

    from tracking.runtime import Runtime

    # another account admitted by AllowedInvocationAccounts, but the role cannot read its invocations
    settings = replace(app.runtime.settings, allowed_accounts=frozenset({"123456789012", "999999999999"}))

    response = Runtime.build(settings, session=patient_session()).handle(sqs_event(invocation_arn))

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    (line,) = logs.where(messageId="message-0", message="submission not tracked")
    assert line["kind"] == "rejected_by_service"
    assert expected in line["reason"]
    assert record_of(stack, resources, invocation_arn) is None


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServerException", "ServiceUnavailableException"])
def test_throttling_and_5xx_never_lose_a_message(
    stack: LocalAws, resources: Resources, driver: LambdaDriver, code: str
) -> None:
    from bedrock_simulator import Fault

    invocation = stack.simulator.add(arn("throttled001"))
    stack.simulator.inject("GetAsyncInvoke", Fault(code=code, count=1000))
    sqs = stack.client("sqs")
    sqs.set_queue_attributes(QueueUrl=resources.queue_url, Attributes={"VisibilityTimeout": "1"})
    sqs.send_message(QueueUrl=resources.queue_url, MessageBody=invocation)

    # every attempt the SDK makes fails: the message is reported, not deleted
    assert driver.poll_once(wait_seconds=0) == 1
    assert stack.simulator.calls["GetAsyncInvoke"] == clients.BEDROCK.attempts  # botocore's retries, then give up
    assert record_of(stack, resources, invocation) is None
    assert stack.queue_depth(resources.queue_url) == 1

    # once Bedrock answers again, the same message comes back and is tracked
    stack.simulator.clear_faults()
    assert driver.poll_once(wait_seconds=3) == 1  # back after the queue's visibility timeout
    assert record_of(stack, resources, invocation) is not None
    assert stack.queue_depth(resources.queue_url) == 0


def test_duplicate_submissions_make_one_record_and_one_notification(
    stack: LocalAws, resources: Resources, invoke: Invoke
) -> None:
    invocation = stack.simulator.add(arn("duplicate001"))
    body = json.dumps({"invocationArn": invocation, "context": {"n": 1}})

    assert invoke(sqs_event(body, body, invocation)) == {"batchItemFailures": []}
    stack.simulator.end(invocation)
    assert invoke(sqs_event(body, invocation)) == {"batchItemFailures": []}
    invoke({})  # a sweep as well
    assert invoke(sqs_event(body)) == {"batchItemFailures": []}

    items = stack.client("dynamodb").scan(TableName=resources.table_name)["Items"]
    records = [item["invocationArn"]["S"] for item in items if item["invocationArn"]["S"] != "tracker#state"]
    assert records == [invocation]  # the sweep's own item (records.STATE) aside
    notifications = stack.notifications()
    assert [n["message"]["invocationArn"] for n in notifications] == [invocation]
    assert notifications[0]["message"]["context"] == {"n": 1}


def test_invocation_already_ended_at_submission_is_notified_once(
    stack: LocalAws, resources: Resources, invoke: Invoke
) -> None:
    invocation = stack.simulator.add(arn("endedbefore1"))
    stack.simulator.end(invocation, failed=True, message="content filters")

    assert invoke(sqs_event(invocation)) == {"batchItemFailures": []}
    invoke({})
    assert invoke(sqs_event(invocation)) == {"batchItemFailures": []}

    (notification,) = stack.notifications()
    assert notification["message"]["status"] == "Failed"
    assert notification["message"]["failureMessage"] == "content filters"
    record = record_of(stack, resources, invocation)
    assert record is not None
    assert record["notification"] == "published"
    assert "work" not in record  # out of the sweep's index for good


def test_context_is_stored_and_echoed_unchanged(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Any
) -> None:
    invocation = stack.simulator.add(arn("withcontext1"))
    context = {"jobId": "j-1", "ratio": 0.25, "count": 3, "nested": {"ok": True, "list": [1, "two", None]}, "u": "é✓"}
    invoke(sqs_event(json.dumps({"invocationArn": invocation, "context": context})))

    record = record_of(stack, resources, invocation)
    assert record is not None
    assert json.loads(json.dumps(record["context"], default=float)) == context
    stack.simulator.end(invocation)
    clock.advance(PAST_THE_FLOOR)
    invoke({})
    (notification,) = stack.notifications()
    assert notification["message"]["context"] == context


def test_message_is_kept_when_the_record_cannot_be_written(
    stack: LocalAws, resources: Resources, app: object, invoke: Invoke, logs: LogLines
) -> None:
    invocation = stack.simulator.add(arn("dynamofails1"))
    fail_on_the_wire(
        stack,
        "dynamodb",
        "UpdateItem",
        code="ProvisionedThroughputExceededException",
        status=400,
        calls=clients.DYNAMODB.attempts,  # every attempt: throttled past the SDK's retries
    )

    response = invoke(sqs_event(invocation))

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    (line,) = logs.where(messageId="message-0", message="submission not tracked")
    assert line["kind"] == "throttled"
    assert record_of(stack, resources, invocation) is None


def test_arn_of_an_account_outside_the_allow_list_is_refused_with_a_clear_reason(
    stack: LocalAws, resources: Resources, invoke: Invoke, logs: LogLines
) -> None:
    foreign = arn("foreignacct1", account="210987654321")

    response = invoke(sqs_event(foreign))

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    (line,) = logs.where(messageId="message-0", message="submission not tracked")
    assert line["kind"] == "account_not_allowed"
    assert "210987654321" in line["reason"]
    assert "deploy a tracker in that account" in line["reason"]
    assert stack.simulator.calls["GetAsyncInvoke"] == 0  # refused before asking Bedrock


def test_numbers_in_a_context_come_back_in_the_notification_with_every_digit(
    stack: LocalAws, resources: Resources, invoke: Invoke
) -> None:
    invocation = stack.simulator.add(arn("exactnumbers"))
    stack.simulator.end(invocation)
    context = '{"pi":3.14159265358979323846264,"big":12345678901234567890123,"tiny":1E-130}'

    invoke(sqs_event('{"invocationArn": "%s", "context": %s}' % (invocation, context)))  # noqa: UP031

    sqs = stack.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=resources.subscriber_queue_url, WaitTimeSeconds=2)["Messages"]
    raw = json.loads(message["Body"])["Message"]  # the notification as SNS carried it, text
    assert '"context":{"pi":3.14159265358979323846264,"big":12345678901234567890123,"tiny":1E-130}' in raw


def test_a_lone_surrogate_fails_its_message_alone_as_a_malformed_body(
    stack: LocalAws, resources: Resources, invoke: Invoke, logs: LogLines
) -> None:
    good = stack.simulator.add(arn("besidesurrog"))
    bad = '{"invocationArn": "%s", "context": {"name": "\\ud800"}}' % arn("surrogate001")  # noqa: UP031

    response = invoke(sqs_event(good, bad))

    assert response == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}
    (line,) = logs.where(messageId="message-1", message="submission not tracked")
    assert line["kind"] == "malformed_body"
    assert "surrogate" in line["reason"]


def test_an_arn_of_a_region_that_cannot_exist_fails_as_an_invalid_arn_without_asking_bedrock(
    stack: LocalAws, resources: Resources, invoke: Invoke, logs: LogLines
) -> None:
    made_up = [arn("madeupregion", region=f"moon-base-{i}") for i in range(300)]

    response = invoke(sqs_event(*made_up[:10]))

    assert len(response["batchItemFailures"]) == 10
    assert {line["kind"] for line in logs.where(message="submission not tracked")} == {"invalid_arn"}
    assert stack.simulator.calls["GetAsyncInvoke"] == 0


def test_each_arn_is_asked_at_its_own_regions_endpoint(
    stack: LocalAws, resources: Resources, environment: dict[str, str], clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No endpoint override for Bedrock here: botocore resolves bedrock-runtime.<region>.amazonaws.com from the ARN's
    region, and a hook takes each request there to the simulator, noting where it was going."""
    import boto3
    import urllib3
    from botocore.awsrequest import AWSResponse

    from tracking.config import Settings
    from tracking.runtime import Runtime

    # the other services stay on the stack; Bedrock's endpoint is botocore's own, per region
    for service in ("DYNAMODB", "SNS", "S3"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", environment["AWS_ENDPOINT_URL"])
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
    west = stack.simulator.add(arn("westregion01", region="us-west-2"))
    frankfurt = stack.simulator.add(arn("frankfurt001", region="eu-central-1"))
    hosts: list[str] = []
    http = urllib3.PoolManager()

    def to_the_simulator(request: Any, **_: Any) -> AWSResponse:
        url = urllib3.util.parse_url(request.url)
        hosts.append(str(url.host))
        answer = http.request(
            request.method, stack.bedrock_endpoint + (url.request_uri or "/"), body=request.body,
            headers=dict(request.headers), preload_content=False,
        )  # fmt: skip
        return AWSResponse(request.url, answer.status, answer.headers, answer)

    session = boto3.session.Session()
    session._session.register("before-send.bedrock-runtime", to_the_simulator)
    runtime = Runtime.build(Settings.from_env(), session=session, clock=clock)

    assert runtime.handle(sqs_event(west, frankfurt)) == {"batchItemFailures": []}

    assert sorted(hosts) == ["bedrock-runtime.eu-central-1.amazonaws.com", "bedrock-runtime.us-west-2.amazonaws.com"]
    assert stack.simulator.regions == {"us-west-2": 1, "eu-central-1": 1}  # each signed for its own region
