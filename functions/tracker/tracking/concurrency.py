"""A bounded thread pool for the I/O of a batch or a sweep, carrying the X-Ray trace into its threads."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .telemetry import tracer

T = TypeVar("T")
R = TypeVar("R")


def map_concurrently(work: Callable[[T], R], items: Iterable[T], *, workers: int) -> list[R]:
    """`work` over `items`, at most `workers` at once, results in the order of `items`."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    entity = _trace_entity()

    def traced(item: T) -> R:
        if entity is not None:
            from aws_xray_sdk.core import xray_recorder

            xray_recorder.set_trace_entity(entity)
        return work(item)

    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(traced if entity is not None else work, items))


def _trace_entity() -> Any:
    """The current X-Ray segment when tracing is on, so that boto3 calls made in threads stay in the trace."""
    if getattr(tracer, "disabled", True):
        return None
    from aws_xray_sdk.core import xray_recorder

    return xray_recorder.get_trace_entity()
