"""S3 URL-encodes object keys in its EventBridge events (a space arrives as `+`, other characters as %XX): the folder
that names the invocation is found in the key as decoded."""

from __future__ import annotations

import json
from types import ModuleType

from localrun.lambda_driver import LambdaDriver
from localrun.stack import EventDelivery, LocalAws, Resources
from tests.helpers import arn, sqs_event
from tracking.checks import output_folder, targets_of


def output_event(resources: Resources, key: str) -> dict[str, object]:
    body = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": resources.bucket}, "object": {"key": key}},
    }
    event = sqs_event(json.dumps(body))
    for message in event["Records"]:
        message["eventSourceARN"] = resources.checks_queue_arn
    return event


def test_a_key_encoded_as_s3_sends_it_names_its_folder() -> None:
    body = {"source": "aws.s3", "detail-type": "Object Created", "detail": {"object": {"key": ""}}}
    for key in ("my+renders%2Fabcdefghij12%2Foutput.mp4", "my+renders/abcdefghij12/out+put%3A1.mp4"):
        body["detail"]["object"]["key"] = key  # type: ignore[index]
        (target,) = targets_of(json.dumps(body))
        assert target.invocation_id == "abcdefghij12", key
    assert output_folder("my renders/abcdefghij12/output.mp4") == "abcdefghij12"


def test_an_output_whose_key_arrives_encoded_is_heard_and_notified(
    stack: LocalAws, resources: Resources, app: ModuleType
) -> None:
    job = stack.simulator.add(arn("encodedkey01"), seconds=3600, output_uri=f"s3://{resources.bucket}/my renders")
    app.runtime.handle(sqs_event(job))
    stack.simulator.end(job)

    # as S3 sent a key with a colon once (aws/aws-sdk-js#837): every separator encoded too
    app.runtime.handle(output_event(resources, "my+renders%2Fencodedkey01%2Foutput.mp4"))

    assert [n["message"]["invocationArn"] for n in stack.notifications()] == [job]


def test_the_local_stack_encodes_keys_in_its_events_as_s3_does(
    stack: LocalAws, resources: Resources, app: ModuleType, driver: LambdaDriver, delivery: EventDelivery
) -> None:
    seen: list[str] = []
    delivery.sink = lambda event, _delay: seen.append(event["detail"]["object"]["key"])

    stack.client("s3").put_object(Bucket=resources.bucket, Key="my renders/abcdefghij12/a:b.mp4", Body=b"x")

    assert seen == ["my+renders/abcdefghij12/a%3Ab.mp4"]
