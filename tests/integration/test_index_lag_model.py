"""The local stack's DynamoDB indexes are eventually consistent, as DynamoDB's global secondary indexes are: with
`LocalAws.index_lag` set, a Query on an index sees each write up to N seconds (of the stack's clock) late, and the
table itself at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localrun.clock import Clock
from localrun.index_lag import IndexLag
from localrun.stack import LocalAws, Resources

ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12"


@pytest.fixture
def lag(stack: LocalAws, clock: Clock) -> Iterator[IndexLag]:
    stack.index_lag = IndexLag(max_seconds=5, seed=3)
    yield stack.index_lag
    stack.index_lag = IndexLag()


def by_id(stack: LocalAws, resources: Resources) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = stack.client("dynamodb").query(
        TableName=resources.table_name,
        IndexName="ByInvocationId",
        KeyConditionExpression="invocationId = :id",
        ExpressionAttributeValues={":id": {"S": "abcdefghij12"}},
    )["Items"]
    return items


def write(stack: LocalAws, resources: Resources, status: str) -> None:
    stack.client("dynamodb").update_item(
        TableName=resources.table_name,
        Key={"invocationArn": {"S": ARN}},
        UpdateExpression="SET invocationId = :id, #status = :status",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":id": {"S": "abcdefghij12"}, ":status": {"S": status}},
    )


def test_an_index_query_sees_a_new_item_only_once_the_write_has_propagated(
    stack: LocalAws, resources: Resources, clock: Clock, lag: IndexLag
) -> None:
    write(stack, resources, "InProgress")
    table = stack.client("dynamodb").get_item(TableName=resources.table_name, Key={"invocationArn": {"S": ARN}})
    assert table["Item"]["status"]["S"] == "InProgress"  # the table reads its own write
    assert by_id(stack, resources) == []  # the index does not, yet
    clock.advance(5.1)
    assert [item["status"]["S"] for item in by_id(stack, resources)] == ["InProgress"]


def test_an_index_query_sees_an_item_as_it_was_before_a_recent_write(
    stack: LocalAws, resources: Resources, clock: Clock, lag: IndexLag
) -> None:
    write(stack, resources, "InProgress")
    clock.advance(5.1)
    write(stack, resources, "Completed")
    assert [item["status"]["S"] for item in by_id(stack, resources)] == ["InProgress"]
    clock.advance(5.1)
    assert [item["status"]["S"] for item in by_id(stack, resources)] == ["Completed"]


def test_without_a_lag_the_index_reads_at_once(stack: LocalAws, resources: Resources, clock: Clock) -> None:
    write(stack, resources, "InProgress")
    assert [item["status"]["S"] for item in by_id(stack, resources)] == ["InProgress"]
