"""The local stack's Lambda: a run that reaches its deadline is killed, makes no AWS call afterwards, and its whole
batch comes back, as Lambda does it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from localrun.lambda_driver import LambdaDriver, TimedOut
from localrun.stack import LocalAws, Resources


def test_a_run_past_its_deadline_is_killed_and_its_whole_batch_comes_back(
    stack: LocalAws, resources: Resources
) -> None:
    sqs = stack.client("sqs")
    sqs.set_queue_attributes(QueueUrl=resources.queue_url, Attributes={"VisibilityTimeout": "1"})
    for body in ("first", "second"):
        sqs.send_message(QueueUrl=resources.queue_url, MessageBody=body)
    dynamodb = stack.client("dynamodb")

    def overrunning(event: dict[str, Any], context: Any) -> dict[str, Any]:
        time.sleep(1.5)  # past its 1 s: Lambda kills it; the write below never happens
        dynamodb.put_item(TableName=resources.table_name, Item={"invocationArn": {"S": "written-after-death"}})
        return {"batchItemFailures": []}

    driver = LambdaDriver(
        handler=overrunning,
        sqs=sqs,
        queue_url=resources.queue_url,
        queue_arn=resources.queue_arn,
        batch_size=10,
        timeout=1.0,
        schedule_period=60,
        schedule_input={},
    )

    assert driver.poll_once(wait_seconds=1) == 2
    assert driver.timeouts == 1
    time.sleep(1.0)  # the killed run's thread reached its call and died there
    assert "Item" not in dynamodb.get_item(
        TableName=resources.table_name, Key={"invocationArn": {"S": "written-after-death"}}
    )
    assert stack.queue_depth(resources.queue_url) == 2  # nothing deleted: both come back
    with pytest.raises(TimedOut):
        driver.invoke({})
