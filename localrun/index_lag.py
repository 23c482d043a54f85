"""DynamoDB's global secondary indexes are eventually consistent: a Query on one sees a write a moment after it is
made (usually under a second, sometimes seconds), and never reads its own write. moto's indexes are read from the
table itself, at once. With `IndexLag(max_seconds=N)` set on the stack (`LocalAws.index_lag`), each write of an
item reaches the indexes 0 to N s later on the stack's clock (in order, per item): until then a Query on an index
sees the item as it was before the write, or not at all if the write created it. Reads of the table itself
(GetItem, a Query without IndexName) are not affected, as on DynamoDB.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass
class _Write:
    visible_at: datetime
    before: Any  # moto's Item as it was before the write, or None: the index sees this until visible_at


@dataclass
class IndexLag:
    max_seconds: float = 0.0
    min_seconds: float = 0.0  # each write is seen min..max seconds late (equal: a fixed lag)
    seed: int | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    lagged_reads: int = 0  # index reads that saw an item as it was before a write

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - a model, not security
        self._writes: dict[tuple[str, Any], list[_Write]] = {}

    def wrote(self, table: str, key: Any, before: Any) -> None:
        if self.max_seconds <= 0:
            return
        now = self.clock()
        pending = [w for w in self._writes.get((table, key), []) if w.visible_at > now]
        visible_at = now + timedelta(
            seconds=self._rng.uniform(min(self.min_seconds, self.max_seconds), self.max_seconds)
        )
        if pending:  # an item's writes reach the index in order
            visible_at = max(visible_at, pending[-1].visible_at)
        self._writes[(table, key)] = [*pending, _Write(visible_at, before)]

    def seen(self, table: str) -> dict[Any, Any]:
        """The items of `table` the index does not see as they are: key -> the item it sees instead (None: none)."""
        now = self.clock()
        seen: dict[Any, Any] = {}
        for (name, key), writes in list(self._writes.items()):
            if name != table:
                continue
            pending = [w for w in writes if w.visible_at > now]
            if not pending:
                del self._writes[(name, key)]
                continue
            self._writes[(name, key)] = pending
            seen[key] = pending[0].before
        return seen


_LAG = IndexLag()
LOCK = threading.RLock()  # held by every DynamoDB request (localrun.stack), and here


def current() -> IndexLag:
    return _LAG


def set_current(model: IndexLag) -> None:
    global _LAG  # one moto in the process, one model of its indexes  # noqa: PLW0603
    _LAG = model


def install() -> None:
    """Patch moto's DynamoDB backend (once per process): writes are remembered, index Queries see them late."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_lagged", False):
        return
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def remembered(
            self: Any, table_name: str, keys: Any, *args: Any, _original: Any = original, **kwargs: Any
        ) -> Any:
            if not _LAG.max_seconds:
                return _original(self, table_name, keys, *args, **kwargs)
            from moto.dynamodb.models.dynamo_type import DynamoType

            with LOCK:
                table = self.get_table(table_name)
                key = DynamoType(keys[table.hash_key_attr])  # the table has a hash key only, as template.yaml's
                before = copy.deepcopy(table.items.get(key))
                answer = _original(self, table_name, keys, *args, **kwargs)
                if _changed(before, table.items.get(key)):
                    _LAG.wrote(table_name, key, before)
                return answer

        setattr(DynamoDBBackend, name, remembered)

    original_query = Table.query

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name") if "index_name" in kwargs else (args[7] if len(args) > 7 else None)
        if not index_name or not _LAG.max_seconds:
            return original_query(self, *args, **kwargs)
        with LOCK:
            seen = _LAG.seen(self.name)
            saved = {key: self.items.get(key) for key in seen}
            for key, item in seen.items():
                if item is None:
                    self.items.pop(key, None)
                else:
                    self.items[key] = item
            _LAG.lagged_reads += len(seen)
            try:
                return original_query(self, *args, **kwargs)
            finally:
                for key, item in saved.items():
                    if item is None:
                        self.items.pop(key, None)
                    else:
                        self.items[key] = item

    query._lagged = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]


def _changed(before: Any, after: Any) -> bool:
    if before is None or after is None:
        return before is not after
    return bool(before.to_json() != after.to_json())
