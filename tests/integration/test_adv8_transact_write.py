"""TransactWriteItems on the local stack: a synchronous write of up to 100 actions, all applied or none (DynamoDB API
Reference, "TransactWriteItems": "The actions are completed atomically so that either all of them succeed, or all of
them fail"). moto's backend answers it by calling its own put_item, update_item and delete_item, and the stack wraps
both the transaction and each of those in its write lock (`_serialize_writes`, a plain Lock): the transaction's
first Put takes the lock its own thread already holds and waits for good. Since every DynamoDB request runs under
index_lag.LOCK (acfee8f), that thread holds LOCK too, so every later DynamoDB request of the process (the
function's, the sweep's, every other test's) waits behind it: one TransactWriteItems wedges the whole stack.

The write lock is replaced here by one of the same kind that notes, instead of blocking, each time a thread asks
for it while already holding it and a real one would not let it in (so that the test cannot hang the session)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import pytest

from localrun import stack as stack_module
from localrun.stack import LocalAws, Resources


class SelfDeadlockProbe:
    """A lock of the stack's write lock's kind; a thread asking for it again while it holds it is counted
    (`self_deadlocks`) and let through where the real lock would have blocked it for ever."""

    def __init__(self, kind: Any) -> None:
        self._lock = kind()
        self._owner: int | None = None
        self._held: list[bool] = []  # per entry of the holder: whether the underlying lock was taken by it
        self.self_deadlocks = 0

    def __enter__(self) -> None:
        me = threading.get_ident()
        if self._owner == me:
            taken = self._lock.acquire(blocking=False)  # a Lock: its holder asking again would wait for good
            self.self_deadlocks += not taken
            self._held.append(taken)
            return
        self._lock.acquire()
        self._owner = me
        self._held.append(True)

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        taken = self._held.pop()
        if not self._held:
            self._owner = None
        if taken:
            self._lock.release()


def test_a_transact_write_items_answers_and_writes_its_items(
    stack: LocalAws, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = SelfDeadlockProbe(type(stack_module._serialize_writes))
    monkeypatch.setattr(stack_module, "_serialize_writes", probe)
    dynamodb = stack.client("dynamodb")
    keys = [f"arn:aws:bedrock:us-east-1:123456789012:async-invoke/adv8tx{n:06d}" for n in range(2)]

    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": resources.table_name, "Item": {"invocationArn": {"S": key}, "n": {"N": "1"}}}}
            for key in keys
        ]
    )

    assert probe.self_deadlocks == 0  # a real Lock would have left this request, and every later one, waiting
    for key in keys:
        item = dynamodb.get_item(TableName=resources.table_name, Key={"invocationArn": {"S": key}}, ConsistentRead=True)
        assert item["Item"]["n"] == {"N": "1"}
