"""The local stack's model of a global secondary index's lag (a GSI Query never reads its own write)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import arn


@pytest.fixture
def lag(stack: LocalAws, resources: Resources) -> Iterator[LocalAws]:
    """The stack's index lag, set by the test and reset after it."""
    yield stack
    stack.index_lag = 0


def by_id(stack: LocalAws, resources: Resources, invocation_id: str) -> list[str]:
    answer = stack.client("dynamodb").query(
        TableName=resources.table_name,
        IndexName="ByInvocationId",
        KeyConditionExpression="invocationId = :id",
        ExpressionAttributeValues={":id": {"S": invocation_id}},
    )
    return [item["status"]["S"] for item in answer["Items"]]


def test_an_index_query_sees_a_write_only_the_lag_after_it_was_made_a_read_by_key_at_once(
    lag: LocalAws, resources: Resources, clock: Clock
) -> None:
    lag.index_lag = 5
    dynamodb = lag.client("dynamodb")
    key = {"invocationArn": {"S": arn("lagmodel0001")}}

    dynamodb.put_item(TableName=resources.table_name, Item={**key, "invocationId": {"S": "lagmodel0001"},
                                                            "status": {"S": "InProgress"}})  # fmt: skip
    assert by_id(lag, resources, "lagmodel0001") == []
    assert dynamodb.get_item(TableName=resources.table_name, Key=key, ConsistentRead=True)["Item"]
    clock.advance(3)
    dynamodb.update_item(
        TableName=resources.table_name,
        Key=key,
        UpdateExpression="SET #status = :done",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":done": {"S": "Completed"}},
    )
    assert by_id(lag, resources, "lagmodel0001") == []
    clock.advance(2)
    assert by_id(lag, resources, "lagmodel0001") == ["InProgress"]  # the first write, not yet the second
    clock.advance(3)
    assert by_id(lag, resources, "lagmodel0001") == ["Completed"]
    dynamodb.delete_item(TableName=resources.table_name, Key=key)
    assert by_id(lag, resources, "lagmodel0001") == ["Completed"]
    clock.advance(5)
    assert by_id(lag, resources, "lagmodel0001") == []

    lag.index_lag = 0  # the default: at once
    dynamodb.put_item(TableName=resources.table_name, Item={**key, "invocationId": {"S": "lagmodel0001"},
                                                            "status": {"S": "InProgress"}})  # fmt: skip
    assert by_id(lag, resources, "lagmodel0001") == ["InProgress"]
