"""DynamoDB answers each request on an item whole: a read or an UpdateItem's own copy of the item never meets another
request's write half made. moto's threaded server copies and serialises items outside its backend (UpdateItem
deep-copies the item before the update, for ReturnValues), so without the stack's lock a copy taken while another
thread adds to the item's attributes fails with "dictionary changed size during iteration" and moto answers 500:
seen on a loaded machine, ten submissions adding callbacks to one record at once. Here threads add attributes to
one item while others read it and update it, the interpreter switching threads as often as it can."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config

from localrun.stack import LocalAws, Resources

COUNT = 150
KEY = {"invocationArn": {"S": "arn:aws:bedrock:us-east-1:123456789012:async-invoke/whole0000001"}}


@pytest.fixture
def switching_often() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def test_concurrent_updates_and_reads_of_one_item_each_get_a_whole_answer(
    stack: LocalAws, resources: Resources, switching_often: None
) -> None:
    # no retries: botocore's would hide a 500 behind a second attempt
    dynamodb = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=stack.aws_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )
    table = resources.table_name
    dynamodb.put_item(TableName=table, Item={**KEY, "n": {"N": "0"}})

    def add(number: int) -> int:
        answer = dynamodb.update_item(
            TableName=table,
            Key=KEY,
            UpdateExpression="SET #a = :v ADD #n :one",
            ExpressionAttributeNames={"#a": f"callback_{number:04d}", "#n": "n"},
            ExpressionAttributeValues={":v": {"M": {"state": {"S": "pending"}}}, ":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        )
        return int(answer["ResponseMetadata"]["HTTPStatusCode"])

    def read(_: int) -> int:
        return int(dynamodb.get_item(TableName=table, Key=KEY)["ResponseMetadata"]["HTTPStatusCode"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        adds = pool.map(add, range(COUNT))
        reads = pool.map(read, range(COUNT))
        statuses = [*adds, *reads]

    assert statuses == [200] * 2 * COUNT
    item = dynamodb.get_item(TableName=table, Key=KEY, ConsistentRead=True)["Item"]
    assert item["n"] == {"N": str(COUNT)}
    assert sum(name.startswith("callback_") for name in item) == COUNT
