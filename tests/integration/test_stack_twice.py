"""A second local stack in one process (the bench runs several simulated days, a LocalAws each): its DynamoDB writes
take the stack's write lock once, as the first stack's do.

moto's patches are installed on its classes, once per process. The write lock's patch used to recognise itself by
a mark on the outermost function; index_lag wraps the same methods after it, so a second start wrapped them again,
and each write then took the (non-reentrant) lock inside itself: every DynamoDB write of the second stack waited
forever, which the function saw as read timeouts."""

from __future__ import annotations

import threading
from types import TracebackType

import pytest

from localrun import stack as stack_module
from localrun.stack import LocalAws


class NestingLock:
    """Stands in for the write lock: counts how deeply one write holds it (a real Lock would block for good)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.depth = 0
        self.deepest = 0

    def __enter__(self) -> None:
        self._lock.acquire()
        self.depth += 1
        self.deepest = max(self.deepest, self.depth)

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.depth -= 1
        self._lock.release()


def test_a_second_stack_in_one_process_takes_the_write_lock_once_per_write(
    stack: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    second = LocalAws(seed=2).start()  # the session's stack is the first in this process
    try:
        lock = NestingLock()
        monkeypatch.setattr(stack_module, "_serialize_writes", lock)
        second.client("dynamodb").update_item(
            TableName=second.resources.table_name,
            Key={"invocationArn": {"S": "second-stack"}},
            UpdateExpression="SET #a = :a",
            ExpressionAttributeNames={"#a": "a"},
            ExpressionAttributeValues={":a": {"S": "written"}},
        )
    finally:
        second.stop()
    assert lock.deepest == 1
