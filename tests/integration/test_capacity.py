"""The local stack counts DynamoDB's request units as DynamoDB charges them (localrun/capacity.py), on the Developer
Guide's own examples: an item's size by its names and values, writes by the larger of before and after, a failed
condition still charged, reads by 4 KB (half when eventually consistent), a batch item by item. These calls are the
test's (not the function's), on the template's table."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localrun import capacity
from localrun.stack import LocalAws, Resources


def units(stack: LocalAws) -> dict[str, float]:
    return dict(stack.consumed_capacity(by_function=False))


def put(stack: LocalAws, key: str, **attributes: dict[str, Any]) -> None:
    stack.client("dynamodb").put_item(
        TableName=stack.resources.table_name, Item={"invocationArn": {"S": key}, **attributes}
    )


def test_an_item_s_size_is_its_names_and_values_as_the_guide_counts_them() -> None:
    assert capacity.item_size({"name": {"S": "héllo"}}) == 4 + 6  # UTF-8 bytes
    assert capacity.item_size({"n": {"N": "-0012.3400"}}) == 1 + 2 + 1  # digits 1234: 1 byte per two, plus 1
    assert capacity.item_size({"b": {"BOOL": True}, "z": {"NULL": True}}) == 2 + 2
    assert capacity.item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)  # 3, and 1 per element
    assert capacity.item_size({"l": {"L": []}}) == 1 + 3


def test_writes_are_charged_by_the_larger_item_and_a_failed_condition_still_pays(
    stack: LocalAws, resources: Resources
) -> None:
    put(stack, "w1", payload={"S": "x" * 1500})  # about 1.5 KB, in no index: 2 units
    assert units(stack) == {"write": 2}
    stack.client("dynamodb").update_item(
        TableName=resources.table_name,
        Key={"invocationArn": {"S": "w1"}},
        UpdateExpression="REMOVE payload",
    )  # the larger of before (1.5 KB) and after (a few bytes): 2 more
    assert units(stack) == {"write": 4}
    put(stack, "w2", payload={"S": "x" * 3000})
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        stack.client("dynamodb").put_item(
            TableName=resources.table_name,
            Item={"invocationArn": {"S": "w2"}},
            ConditionExpression="attribute_not_exists(invocationArn)",
        )  # refused, and charged the existing item's 3 units
    assert units(stack) == {"write": 4 + 3 + 3}


def test_an_item_put_into_an_index_pays_for_the_index_too(stack: LocalAws, resources: Resources) -> None:
    put(stack, "i1", work={"S": "poll"}, dueAt={"N": "5"})  # the table, and a put into DueWork
    assert units(stack) == {"write": 2}
    put(stack, "i1", work={"S": "poll"}, dueAt={"N": "6"})  # DueWork's key changes: a delete and a put
    assert units(stack) == {"write": 2 + 3}


def test_reads_are_charged_by_4_kb_half_when_eventually_consistent_found_or_not(
    stack: LocalAws, resources: Resources
) -> None:
    put(stack, "r1", payload={"S": "x" * 1500})
    put(stack, "r2", payload={"S": "x" * 6500})
    dynamodb = stack.client("dynamodb")
    before = units(stack)["write"]
    dynamodb.get_item(TableName=resources.table_name, Key={"invocationArn": {"S": "r2"}}, ConsistentRead=True)
    dynamodb.get_item(TableName=resources.table_name, Key={"invocationArn": {"S": "none"}})  # still half a unit
    assert units(stack) == {"write": before, "read": 2 + 0.5}
    dynamodb.batch_get_item(  # the guide's example: 1.5 KB and 6.5 KB are 4 KB + 8 KB, eventually consistent
        RequestItems={resources.table_name: {"Keys": [{"invocationArn": {"S": "r1"}}, {"invocationArn": {"S": "r2"}}]}}
    )
    assert units(stack) == {"write": before, "read": 2.5 + 1.5}


def test_a_query_of_an_index_is_charged_by_its_entries_rounded_up_once(stack: LocalAws, resources: Resources) -> None:
    for number in range(3):  # 5 KB each in the table; DueWork holds the keys, submitTime and modelArn only
        put(stack, f"q{number}", work={"S": "poll"}, dueAt={"N": str(number)}, payload={"S": "x" * 5000})
    before = units(stack)["write"]
    answer = stack.client("dynamodb").query(
        TableName=resources.table_name,
        IndexName="DueWork",
        KeyConditionExpression="#work = :work",
        ExpressionAttributeNames={"#work": "work"},
        ExpressionAttributeValues={":work": {"S": "poll"}},
        Select="COUNT",
    )
    assert answer["Count"] == 3
    assert units(stack) == {"write": before, "read": 0.5}  # three small entries: one 4 KB, eventually consistent
