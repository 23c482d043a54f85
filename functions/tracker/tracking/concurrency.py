"""A bounded thread pool for the I/O of a batch or a sweep."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_concurrently(work: Callable[[T], R], items: Iterable[T], *, workers: int) -> list[R]:
    """`work` over `items`, at most `workers` at once, results in the order of `items`."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(work, items))
