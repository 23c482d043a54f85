"""Logger, metrics and tracer shared by every module; metric calls are safe from worker threads."""

from __future__ import annotations

import threading

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()
tracer = Tracer()

_lock = threading.Lock()

INVOCATIONS_TRACKED = "InvocationsTracked"
INVOCATIONS_COMPLETED = "InvocationsCompleted"
INVOCATIONS_FAILED = "InvocationsFailed"
NOTIFICATIONS_PUBLISHED = "NotificationsPublished"
BEDROCK_CALLS = "BedrockCalls"
SUBMISSIONS_RECEIVED = "SubmissionsReceived"
SWEEPS = "Sweeps"
INVOCATIONS_OVERDUE = "InvocationsOverdue"
NOTIFICATIONS_PENDING = "NotificationsPending"


def count(name: str, value: int = 1) -> None:
    if value:
        with _lock:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def gauge(name: str, value: int) -> None:
    """A value emitted even when zero, for alarms that must see the all-clear."""
    with _lock:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_error(kind: str) -> None:
    """Errors by kind: one metric per kind (`Errors.throttled`, `Errors.malformed_body`, ...)."""
    count(f"Errors.{kind}")
