"""What DynamoDB charges for each request, counted on moto's own items: on-demand read and write request units,
which moto does not count (its ConsumedCapacity is a constant).

The rules, from the DynamoDB Developer Guide ("DynamoDB read and write operations", "DynamoDB item sizes and
formats", "Global secondary indexes: provisioned throughput considerations"):

- an item's size is the UTF-8 bytes of its attribute names and values (a number 1 byte per two significant
  digits, plus 1; a Boolean or null 1; a List or Map 3 bytes, and 1 more per element);
- a write is 1 write unit per 1 KB of the item, the larger of the item before and after it (a delete: the item
  deleted); a conditional write whose condition fails still costs the existing item's size (at least 1 unit) and
  writes no index;
- each global secondary index the item is in, before or after, costs its own writes, by the size of the index entry
  (the table's key, the index's keys, its projected attributes): a put or a delete of the entry 1 write each, an
  indexed key that changes 2 (the old entry deleted, the new put), a projected attribute that changes 1, nothing
  if the entry stays as it was;
- GetItem is 1 read unit per 4 KB of the item (at least 1, found or not), half when eventually consistent;
  BatchGetItem the same for each item; a Query the sum of the sizes of the items (index entries, for an index) it
  reads, rounded up to 4 KB once, half when eventually consistent (as every read of a global secondary index is).
  A projection or `Select: COUNT` does not lower it. (A FilterExpression's discarded items are not counted here:
  the tracker uses none.)

Counted per table and per caller, the function (its User-Agent, as the proxy tells) or anyone else: `consumed`.
"""

from __future__ import annotations

import base64
import copy
import math
import threading
from typing import Any

FUNCTION_USER_AGENT = "bedrock-async-tracker"  # as aws_proxy's: the function's calls say it
WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096

_consumed: dict[tuple[str, bool], dict[str, float]] = {}
_lock = threading.RLock()  # a write's before, the write and its after, as one
_request = threading.local()  # the request moto's thread is answering: its caller and body


def consumed(table: str, *, by_function: bool = True) -> dict[str, float]:
    """The read and write request units (`read`, `write`) charged so far for requests on `table`."""
    with _lock:
        return dict(_consumed.get((table, by_function), {}))


def since(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """The units charged between two readings of `consumed`."""
    return {kind: after[kind] - before.get(kind, 0.0) for kind in after if after[kind] != before.get(kind, 0.0)}


def value_size(value: dict[str, Any]) -> int:
    """The size of one attribute value in DynamoDB's JSON ({"S": ...}, {"M": {...}}, ...), its name not counted."""
    ((kind, raw),) = value.items()
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: item}) for item in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(item) for item in raw)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(item) for name, item in raw.items())
    return _scalar_size(kind, raw)


def _scalar_size(kind: str, raw: Any) -> int:
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return _number_size(str(raw))
    if kind == "B":
        return len(raw) if isinstance(raw, bytes) else len(base64.b64decode(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    raise ValueError(f"unknown attribute type {kind}")


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")
    return math.ceil(len(digits) / 2) + 1


def item_size(attributes: dict[str, dict[str, Any]] | None) -> int:
    """The size of an item given as DynamoDB's JSON, name -> value."""
    return sum(len(name.encode()) + value_size(value) for name, value in (attributes or {}).items())


def _attributes(item: Any) -> dict[str, dict[str, Any]] | None:
    """A moto Item as DynamoDB's JSON (None for no item)."""
    return None if item is None else copy.deepcopy(item.to_json()["Attributes"])


def _entry(index: Any, attributes: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]] | None:
    """The item's entry in a global secondary index, or None if the item is not in it (sparse: a key missing)."""
    if attributes is None or any(key not in attributes for key in index.schema_key_attrs):
        return None
    kind = (index.projection or {}).get("ProjectionType", "ALL")
    if kind == "ALL":
        return attributes
    kept = {*index.table_key_attrs, *index.schema_key_attrs}
    if kind == "INCLUDE":
        kept |= set(index.projection.get("NonKeyAttributes", []))
    return {name: value for name, value in attributes.items() if name in kept}


def _write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def _index_write_units(index: Any, before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
    old, new = _entry(index, before), _entry(index, after)
    if old is None and new is None:
        return 0
    if old is None or new is None:
        return _write_units(item_size(old if new is None else new))
    if any(old[key] != new[key] for key in index.schema_key_attrs):
        return _write_units(item_size(old)) + _write_units(item_size(new))
    if old != new:
        return _write_units(max(item_size(old), item_size(new)))
    return 0


def write_units(table: Any, old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
    """What one write that took effect costs (the item before and after it, as DynamoDB's JSON): the table's units and
    each global secondary index's."""
    units = _write_units(max(item_size(old), item_size(new)))
    return units + sum(_index_write_units(index, old, new) for index in table.global_indexes or [])


def _charge(table: str, kind: str, units: float) -> None:
    by_function = getattr(_request, "by_function", False)
    with _lock:
        counted = _consumed.setdefault((table, by_function), {})
        counted[kind] = counted.get(kind, 0.0) + units


def _operation() -> str:
    """The operation moto's thread is answering ("" outside a request): a write's own reads are not charged."""
    return str(getattr(_request, "operation", ""))


def _body() -> dict[str, Any]:
    return getattr(_request, "body", None) or {}


def _read_units(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def install() -> None:
    """Patch moto's DynamoDB (once per process, marked on the class) to count what each request costs on DynamoDB."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoDBBackend, "_metered", False):
        return
    original_call = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        _request.by_function = FUNCTION_USER_AGENT in str(self.headers.get("User-Agent", ""))
        _request.operation = str(self.headers.get("X-Amz-Target", "")).rsplit(".", 1)[-1]
        body = getattr(self, "params", None)  # the request's parameters, parsed (moto's call_action makes them body)
        _request.body = body if isinstance(body, dict) else None
        try:
            return original_call(self)
        finally:
            _request.by_function, _request.operation, _request.body = False, "", None

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _meter_writes(DynamoDBBackend)
    _meter_reads(DynamoDBBackend)
    DynamoDBBackend._metered = True  # type: ignore[attr-defined]


def _meter_writes(backend: Any) -> None:
    """Each item write of a write request: the item before and after it, read under one lock with the write."""
    from moto.dynamodb.exceptions import ConditionalCheckFailed

    for name, key_argument in (("put_item", "item_attrs"), ("update_item", "key"), ("delete_item", "key")):
        original = getattr(backend, name)

        def metered(self: Any, table_name: str, *args: Any, _original: Any = original, _key: str = key_argument,
                    **kwargs: Any) -> Any:  # fmt: skip
            if _operation() not in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"):
                return _original(self, table_name, *args, **kwargs)
            table = self.get_table(table_name)
            hash_key, range_key = self.get_keys_value(table, args[0] if args else kwargs[_key])
            with _lock:
                before = _attributes(table.get_item(hash_key, range_key))  # a copy: moto updates its Item in place
                try:
                    answer = _original(self, table_name, *args, **kwargs)
                except ConditionalCheckFailed:  # the existing item's size, at least 1 unit; no index written
                    _charge(table_name, "write", _write_units(item_size(before)))
                    raise
                after = _attributes(table.get_item(hash_key, range_key))
                _charge(table_name, "write", write_units(table, before, after))
            return answer

        setattr(backend, name, metered)


def _meter_reads(backend: Any) -> None:
    """GetItem and BatchGetItem item by item, a Query by the items (index entries) it read."""
    original_get = backend.get_item

    def get_item(self: Any, table_name: str, keys: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        item = original_get(self, table_name, keys, *args, **kwargs)
        operation = _operation()
        if operation not in ("GetItem", "BatchGetItem"):  # a write's own look at its item is not a read
            return item
        whole = original_get(self, table_name, keys)  # the whole item is charged, whatever the projection
        request = (_body().get("RequestItems", {}).get(table_name) or {}) if operation == "BatchGetItem" else _body()
        consistent = bool(request.get("ConsistentRead", False))
        _charge(table_name, "read", _read_units(item_size(_attributes(whole)), consistent=consistent))
        return item

    backend.get_item = get_item

    original_query = backend.query

    def query(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        answer = original_query(self, table_name, *args, **kwargs)
        if _operation() != "Query":
            return answer
        index_name = _body().get("IndexName")
        table = self.get_table(table_name)
        index = next((i for i in table.all_indexes() if i.name == index_name), None) if index_name else None
        size = sum(
            item_size(_entry(index, _attributes(item)) if index is not None else _attributes(item))
            for item in answer[0]
        )
        _charge(table_name, "read", _read_units(size, consistent=bool(_body().get("ConsistentRead", False))))
        return answer

    backend.query = query
