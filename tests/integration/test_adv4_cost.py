"""adv4: the DynamoDB units bench/prices.py charges against DynamoDB's own rules for a table with global secondary
indexes, on the items the tracker really writes and reads (local stack) and the indexes the template really declares.

The bench prices the units the local stack counts for each of the function's requests (localrun/capacity.py,
LocalAws.consumed_capacity); these tests hold that count to the rules as written here, independently. They were
strict xfails while the bench priced every write 2 units and every read 1."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import timedelta
from types import ModuleType
from typing import Any

from bench import prices
from localrun import capacity
from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from localrun.template import template
from tests.helpers import arn, sqs_event
from tracking.invocations import InvocationArn

ITEM_UNIT = 1024  # a write request unit covers an item up to 1 KB


def _size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it, closely enough: names plus values (UTF-8)."""
    return sum(len(name.encode()) + len(json.dumps(value, default=str).encode()) for name, value in item.items())


def write_units(before: dict[str, Any] | None, after: dict[str, Any], indexes: list[dict[str, Any]]) -> int:
    """DynamoDB's documented rule (Developer Guide, "Global secondary indexes: provisioned throughput
    considerations", GSI.html#GSI.Writes, and "Read/write capacity mode": a write request unit per write of an item
    up to 1 KB, the larger of the item before and after an update): the table's write, plus for each index the
    item is in, before or after: 1 write to put or delete it, 2 if an indexed key attribute changed ("one to delete
    the previous item from the index and another write to put the new item into the index"), 1 if only a projected
    attribute changed, none if nothing it holds changed."""
    units = math.ceil(max(_size(before or {}), _size(after)) / ITEM_UNIT)
    for index in indexes:
        keys = [part["AttributeName"] for part in index["KeySchema"]]
        held = [*keys, "invocationArn", *index["Projection"].get("NonKeyAttributes", [])]
        was = before is not None and all(key in before for key in keys)
        now = all(key in after for key in keys)
        if was and now:
            assert before is not None
            if any(before[key] != after[key] for key in keys):
                units += 2 * math.ceil(_size(after) / ITEM_UNIT)
            elif any(before.get(name) != after.get(name) for name in held):
                units += 1
        elif was or now:
            units += 1
    return units


def priced(stack: LocalAws, before: dict[str, float], operations: Counter[str]) -> dict[str, float]:
    """What bench/prices.py charges for the function's requests since `before` (the stack's units then)."""
    usage = prices.Usage()
    prices.aws_usage(
        usage, operations, sqs_messages=0, dynamodb_units=capacity.since(before, stack.consumed_capacity())
    )
    return usage.counts


def test_the_write_units_priced_cover_what_the_tracker_s_writes_cost(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    table = next(
        resource["Properties"]
        for resource in template()["Resources"].values()
        if resource["Type"] == "AWS::DynamoDB::Table" and "GlobalSecondaryIndexes" in resource["Properties"]
    )
    indexes: list[dict[str, Any]] = table["GlobalSecondaryIndexes"]
    records = app.runtime.tracker.records
    job = stack.simulator.add(arn("costs0000001"), model_id="luma.ray-v2:0", seconds=600)

    units, calls = stack.consumed_capacity(), stack.proxy.state.operations()
    app.runtime.handle(sqs_event(job))  # intake: the record's first write (one UpdateItem)
    calls = stack.proxy.state.operations() - calls
    assert calls["dynamodb:UpdateItem"] == 1, calls
    first = priced(stack, units, calls)["dynamodb_write_request_unit"]
    created = records.get(job)
    assert created is not None
    stack.simulator.end(job)
    clock.advance(1)
    ended = app.runtime.tracker.bedrock.get(InvocationArn.parse(job))
    now = clock()
    units, calls = stack.consumed_capacity(), stack.proxy.state.operations()
    records.observe(ended, now=now, next_check_at=now, lease_until=now + timedelta(minutes=1), existing_only=True)
    calls = stack.proxy.state.operations() - calls
    assert calls["dynamodb:UpdateItem"] == 1, calls
    ending = priced(stack, units, calls)["dynamodb_write_request_unit"]
    recorded = records.get(job)  # the ending, as Tracker.observe writes it (one UpdateItem)
    assert recorded is not None
    assert recorded["status"] == "Completed"

    costs = {"first write": write_units(None, created, indexes), "ending": write_units(created, recorded, indexes)}
    assert costs == {"first write": 3, "ending": 4}  # the table, and each index the write puts, changes or deletes
    assert {"first write": first, "ending": ending} == costs


def _attribute_size(value: dict[str, Any]) -> int:
    """A DynamoDB attribute value's size (Developer Guide, "Item sizes and formats"): a string its UTF-8 bytes, a
    number about its digits / 2 + 1."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return len(str(raw).lstrip("-").replace(".", "")) // 2 + 1
    return len(json.dumps(raw).encode())


def test_the_read_units_priced_cover_a_sweep_s_query_of_due_work(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """DynamoDB Developer Guide, "Read consumption for Query": a Query consumes read units for the sum of the sizes
    of the items it returns (the projected attributes, for an index), rounded up to the next 4 KB, and an eventually
    consistent read (every read of a global secondary index) half of that. bench/prices.py charged every Query 1
    unit, whatever it returned; the sweep's Query (RecordStore.due) reads pages of up to 500 items. Here 60 jobs in
    progress, one page of the DueWork index as the sweep asks for it."""
    for number in range(60):
        job = stack.simulator.add(arn(f"readcost{number:04d}"), model_id="luma.ray-v2:0", seconds=6 * 3600)
        app.runtime.handle(sqs_event(job))
    records = app.runtime.tracker.records
    work = records.get(job)
    assert work is not None
    later = clock() + timedelta(days=1)  # everything due: the sweep's page, at its page size
    units, calls = stack.consumed_capacity(), stack.proxy.state.operations()
    (page, *_) = list(records.due(str(work["work"]), now=later))
    assert len(page) == 60
    calls = stack.proxy.state.operations() - calls
    assert calls == Counter({"dynamodb:Query": 1}), calls
    charged = priced(stack, units, calls)["dynamodb_read_request_unit"]

    answer = stack.client("dynamodb").query(
        TableName=resources.table_name,
        IndexName="DueWork",
        KeyConditionExpression="#work = :work AND #dueAt <= :now",
        ExpressionAttributeNames={"#work": "work", "#dueAt": "dueAt"},
        ExpressionAttributeValues={":work": {"S": str(work["work"])}, ":now": {"N": str(int(later.timestamp()))}},
        Limit=500,
    )
    returned = sum(
        len(name.encode()) + _attribute_size(value) for item in answer["Items"] for name, value in item.items()
    )
    units = math.ceil(returned / 4096) / 2  # eventually consistent: half a unit per 4 KB
    assert units > 1  # more than the 1 unit a Query was priced before
    assert charged == units, (returned, charged)
