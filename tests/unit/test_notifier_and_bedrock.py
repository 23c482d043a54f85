"""The notification's shape and SNS parameters, and the Bedrock reader, with botocore's Stubber."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tracking import clients
from tracking.bedrock import BedrockReader
from tracking.errors import Rejected, ServiceUnavailable, Throttled, UnexpectedAnswer
from tracking.invocations import InvocationArn
from tracking.notifier import Notifier, deduplication_id, message_of
from tracking.records import Record

ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12"
ITEM: dict[str, Any] = {
    "invocationArn": ARN,
    "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1",
    "clientRequestToken": "t",
    "status": "Completed",
    "submitTime": "2026-11-26T12:00:00.000Z",
    "lastModifiedTime": "2026-11-26T12:01:30.000Z",
    "endTime": "2026-11-26T12:01:30.000Z",
    "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b/abcdefghij12"}},
    "context": {"n": Decimal(3), "ratio": Decimal("0.5")},
    # the record's own fields, which a notification does not carry
    "work": "notify",
    "dueAt": Decimal(1),
    "notification": "pending",
    "expiresAt": Decimal(2),
}
RECORD = Record.of(ITEM)


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")


def test_message_has_the_get_async_invoke_fields_and_the_context_only() -> None:
    message = message_of(RECORD)
    assert set(message) == {
        "invocationArn", "modelArn", "clientRequestToken", "status", "submitTime", "lastModifiedTime", "endTime",
        "outputDataConfig", "context", "durationSeconds",
    }  # fmt: skip


def test_failure_message_only_when_failed() -> None:
    assert "failureMessage" not in message_of(Record.of({**ITEM, "failureMessage": "x"}))
    assert message_of(Record.of({**ITEM, "status": "Failed", "failureMessage": "x"}))["failureMessage"] == "x"


def test_standard_topic_gets_status_and_model_attributes_and_no_fifo_ids() -> None:
    sns = client("sns")
    topic = "arn:aws:sns:us-east-1:123456789012:notifications"
    with Stubber(sns) as stub:
        stub.add_response(
            "publish",
            {"MessageId": "m-1"},
            {
                "TopicArn": topic,
                "Message": ANY,
                "Subject": "Bedrock async invocation Completed: abcdefghij12",
                "MessageAttributes": {
                    "status": {"DataType": "String", "StringValue": "Completed"},
                    "modelId": {"DataType": "String", "StringValue": "amazon.nova-reel-v1:1"},
                },
            },
        )
        assert Notifier(topic, sns).publish(RECORD) == "m-1"
        stub.assert_no_pending_responses()


def test_fifo_topic_gets_the_arn_as_group_and_a_deduplication_id_from_arn_and_status() -> None:
    sns = client("sns")
    topic = "arn:aws:sns:us-east-1:123456789012:notifications.fifo"
    expected = {
        "TopicArn": topic,
        "Message": ANY,
        "Subject": ANY,
        "MessageAttributes": ANY,
        "MessageGroupId": ARN,
        "MessageDeduplicationId": deduplication_id(ARN, "Completed"),
    }
    with Stubber(sns) as stub:
        stub.add_response("publish", {"MessageId": "m-1"}, expected)
        Notifier(topic, sns).publish(RECORD)
    assert deduplication_id(ARN, "Completed") != deduplication_id(ARN, "Failed")
    assert len(deduplication_id(ARN, "Completed")) <= 128


def test_numbers_in_the_context_are_written_as_json_numbers() -> None:
    sns = client("sns")
    sent: list[str] = []
    sns.meta.events.register("provide-client-params.sns.Publish", lambda params, **_: sent.append(params["Message"]))
    with Stubber(sns) as stub:
        stub.add_response("publish", {"MessageId": "m"})
        Notifier("arn:aws:sns:us-east-1:123456789012:n", sns).publish(RECORD)
    assert json.loads(sent[0])["context"] == {"n": 3, "ratio": 0.5}


def test_publish_errors_are_classified() -> None:
    sns = client("sns")
    with Stubber(sns) as stub:
        stub.add_client_error("publish", "ThrottlingException", http_status_code=400)
        with pytest.raises(Throttled):
            Notifier("arn:aws:sns:us-east-1:123456789012:n", sns).publish(RECORD)


def test_one_client_per_region_is_created_and_reused() -> None:
    created: list[str] = []
    clients: dict[str, Any] = {}

    def factory(region: str) -> Any:
        created.append(region)
        clients[region] = client("bedrock-runtime")
        return clients[region]

    reader = BedrockReader(factory)
    west = InvocationArn.parse(ARN.replace("us-east-1", "us-west-2"))
    answer = {
        "invocationArn": west.arn,
        "modelArn": "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-reel-v1:1",
        "status": "InProgress",
        "submitTime": datetime(2026, 11, 26, tzinfo=UTC),
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b"}},
    }
    reader.client("us-west-2")
    with Stubber(clients["us-west-2"]) as stub:
        stub.add_response("get_async_invoke", answer, {"invocationArn": west.arn})
        stub.add_response("get_async_invoke", answer, {"invocationArn": west.arn})
        assert reader.get(west).status == "InProgress"
        assert reader.get(west).status == "InProgress"
    assert created == ["us-west-2"]


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ValidationException", 400, Rejected),
        ("AccessDeniedException", 403, Rejected),
        ("ThrottlingException", 429, Throttled),
        ("InternalServerException", 500, ServiceUnavailable),
    ],
)
def test_bedrock_errors_become_the_projects(code: str, status: int, expected: type) -> None:
    bedrock = client("bedrock-runtime")
    reader = BedrockReader(lambda _region: bedrock)
    with Stubber(bedrock) as stub:
        stub.add_client_error("get_async_invoke", code, http_status_code=status)
        with pytest.raises(expected) as raised:
            reader.get(InvocationArn.parse(ARN))
    if expected is Rejected:
        assert ARN in str(raised.value)


def test_an_answer_about_another_invocation_is_not_trusted() -> None:
    bedrock = client("bedrock-runtime")
    reader = BedrockReader(lambda _region: bedrock)
    other = ARN.replace("abcdefghij12", "zzzzzzzzzzzz")
    with Stubber(bedrock) as stub:
        stub.add_response(
            "get_async_invoke",
            {"invocationArn": other, "modelArn": "m", "status": "Completed", "submitTime": datetime.now(UTC),
             "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b"}}},
        )  # fmt: skip
        with pytest.raises(UnexpectedAnswer):
            reader.get(InvocationArn.parse(ARN))


def test_retries_are_botocores_standard_mode_and_the_pool_matches_the_threads() -> None:
    config = clients.BEDROCK.config(32)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert config.max_pool_connections == 32
    assert config.user_agent_extra == "bedrock-async-tracker"


def test_a_publish_is_never_retried_by_the_sdk() -> None:
    assert clients.SNS.config(32).retries == {"mode": "standard", "total_max_attempts": 1}


def test_a_calls_worst_case_is_every_attempt_timing_out_after_the_longest_backoffs() -> None:
    # 3 attempts of (1 s to connect + 3 s to read), then sleeps of up to 1 and 2 s before retries 1 and 2, each
    # with up to 5 s more when the answer asks for it (x-amz-retry-after)
    assert clients.BEDROCK.worst_case.total_seconds() == 3 * 4 + (1 + 5) + (2 + 5)
    assert clients.SNS.worst_case.total_seconds() == 5


def test_duration_is_the_time_from_submission_to_the_end() -> None:
    assert message_of(RECORD)["durationSeconds"] == 90.0
    assert "durationSeconds" not in message_of(Record.of({**ITEM, "endTime": None}))


def test_a_listing_that_fails_never_holds_the_notification_back() -> None:
    from tracking.outputs import OutputLister

    s3 = client("s3")
    record = Record.of({**ITEM, "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b/abcdefghij12"}}})
    with Stubber(s3) as stub:
        stub.add_client_error("list_objects_v2", "AccessDenied", http_status_code=403)
        assert OutputLister(s3, frozenset({"b"})).objects(record) is None
    with Stubber(s3) as stub:
        stub.add_response(
            "list_objects_v2",
            {"Contents": [{"Key": "abcdefghij12/output.mp4", "Size": 1234}]},
            {"Bucket": "b", "Prefix": "abcdefghij12/", "MaxKeys": 100},
        )
        assert OutputLister(s3, frozenset({"b"})).objects(record) == [{"key": "abcdefghij12/output.mp4", "size": 1234}]


def test_clients_are_kept_for_the_regions_in_use_only_however_many_regions_arns_name() -> None:
    created: list[str] = []

    def factory(region: str) -> Any:
        created.append(region)
        return object()

    reader = BedrockReader(factory, max_clients=3)
    for region in ["us-east-1", "us-west-2", "eu-west-1", "us-east-1", "ap-south-1", "us-east-1"]:
        reader.client(region)
    assert len(reader._clients) == 3
    assert list(reader._clients) == ["eu-west-1", "ap-south-1", "us-east-1"]  # the least recently used went
    assert created == ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"]  # us-east-1, in use, was never remade


def test_a_notification_writes_the_contexts_numbers_exactly() -> None:
    from tracking.notifier import encode

    record = Record.of({**ITEM, "context": {"pi": Decimal("3.14159265358979323846264"), "n": Decimal(3)}})
    assert '"context":{"pi":3.14159265358979323846264,"n":3}' in encode(message_of(record))
