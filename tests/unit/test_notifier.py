"""The notification's shape and SNS parameters, and the outputs it lists, with botocore's Stubber."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from tests.helpers import stub_client
from tracking.errors import Throttled
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
    sns = stub_client("sns")
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
    sns = stub_client("sns")
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
    sns = stub_client("sns")
    sent: list[str] = []
    sns.meta.events.register("provide-client-params.sns.Publish", lambda params, **_: sent.append(params["Message"]))
    with Stubber(sns) as stub:
        stub.add_response("publish", {"MessageId": "m"})
        Notifier("arn:aws:sns:us-east-1:123456789012:n", sns).publish(RECORD)
    assert json.loads(sent[0])["context"] == {"n": 3, "ratio": 0.5}


def test_publish_errors_are_classified() -> None:
    sns = stub_client("sns")
    with Stubber(sns) as stub:
        stub.add_client_error("publish", "ThrottlingException", http_status_code=400)
        with pytest.raises(Throttled):
            Notifier("arn:aws:sns:us-east-1:123456789012:n", sns).publish(RECORD)


def test_duration_is_the_time_from_submission_to_the_end() -> None:
    assert message_of(RECORD)["durationSeconds"] == 90.0
    assert "durationSeconds" not in message_of(Record.of({**ITEM, "endTime": None}))


def test_a_listing_that_fails_never_holds_the_notification_back() -> None:
    from tracking.outputs import OutputLister

    s3, sns = stub_client("s3"), stub_client("sns")
    sent: list[str] = []
    sns.meta.events.register("provide-client-params.sns.Publish", lambda params, **_: sent.append(params["Message"]))
    with Stubber(s3) as listing, Stubber(sns) as publishing:
        listing.add_client_error("list_objects_v2", "AccessDenied", http_status_code=403)
        publishing.add_response("publish", {"MessageId": "m-1"})

        assert (
            Notifier("arn:aws:sns:us-east-1:123456789012:n", sns, OutputLister(s3, frozenset({"b"}))).publish(RECORD)
            == "m-1"
        )

        listing.assert_no_pending_responses()  # the listing was tried, and failed
        publishing.assert_no_pending_responses()  # and the ending went out all the same
    (message,) = sent
    assert json.loads(message)["invocationArn"] == ARN
    assert "outputObjects" not in json.loads(message)


def test_the_outputs_listed_are_each_objects_key_and_size_under_the_invocations_folder() -> None:
    from tracking.outputs import OutputLister

    s3 = stub_client("s3")
    with Stubber(s3) as stub:
        stub.add_response(
            "list_objects_v2",
            {"Contents": [{"Key": "abcdefghij12/output.mp4", "Size": 1234}]},
            {"Bucket": "b", "Prefix": "abcdefghij12/", "MaxKeys": 100},
        )
        assert OutputLister(s3, frozenset({"b"})).objects(RECORD) == [{"key": "abcdefghij12/output.mp4", "size": 1234}]


def test_a_notification_writes_the_contexts_numbers_exactly() -> None:
    from tracking.notifier import encode

    record = Record.of({**ITEM, "context": {"pi": Decimal("3.14159265358979323846264"), "n": Decimal(3)}})
    assert '"context":{"pi":3.14159265358979323846264,"n":3}' in encode(message_of(record))
