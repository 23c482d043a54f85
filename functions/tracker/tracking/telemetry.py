"""Logger and metrics shared by every module; metric calls are safe from worker threads."""

from __future__ import annotations

import threading

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

logger = Logger()
metrics = Metrics()

_lock = threading.Lock()

INVOCATIONS_TRACKED = "InvocationsTracked"
INVOCATIONS_COMPLETED = "InvocationsCompleted"
INVOCATIONS_FAILED = "InvocationsFailed"
NOTIFICATIONS_PUBLISHED = "NotificationsPublished"
INVOCATIONS_DISCOVERED = "InvocationsDiscovered"
EVENTS_PUT = "EventsPut"  # endings put on the EventBridge bus
EVENTS_NOT_PUT = "EventsNotPut"  # puts that failed (or went unanswered): a sweep retries them
# Sends a channel refused until someone acts (AccessDenied, a deleted topic or bus, a disabled key): alarmed at once
SENDS_REFUSED = "SendsRefused"
# Endings a channel still refused once they were as old as a record is kept: given up on that channel
SENDS_ABANDONED = "SendsAbandoned"
BEDROCK_CALLS = "BedrockCalls"
SUBMISSIONS_RECEIVED = "SubmissionsReceived"
SWEEPS = "Sweeps"
INVOCATIONS_OVERDUE = "InvocationsOverdue"
NOTIFICATIONS_PENDING = "NotificationsPending"
INVOCATIONS_IN_PROGRESS = "InvocationsInProgress"
NOTIFICATION_DELAY = "NotificationDelay"
ENDINGS_BY_MODEL = "EndingsByModel"
ENDINGS_TOO_OLD_TO_NOTIFY = "EndingsTooOldToNotify"
TIMERS_SET = "TimersSet"
OUTPUT_EVENTS = "OutputEvents"  # objects created in a watched bucket, as EventBridge delivered them
OUTPUT_EVENTS_UNTRACKED = "OutputEventsUntracked"  # of those, objects of no tracked invocation
CHECKS_HANDED_OFF = "ChecksHandedOff"
CALLBACKS_RESUMED = "CallbacksResumed"  # waiting workflows told of their job's end (callbacks.py)
CALLBACKS_GONE = "CallbacksGone"  # of those, ones that can never be resumed (timed out, invalid, gone): not retried
INVOCATIONS_LOST = "InvocationsLost"  # ended by the tracker: Bedrock no longer knew them (Tracker.check)
PARTIAL_FAILURES = "PartialFailures"  # completed jobs whose output reports that a part failed


def count(name: str, value: int = 1) -> None:
    if value:
        with _lock:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def gauge(name: str, value: int) -> None:
    """A value emitted even when zero, for alarms that must see the all-clear."""
    with _lock:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def seconds(name: str, value: float) -> None:
    with _lock:
        metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=value)


def count_ending(model_id: str, status: str) -> None:
    """Endings per model and status, for the dashboard (a metric of its own, with those dimensions)."""
    with _lock, single_metric(name=ENDINGS_BY_MODEL, unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="modelId", value=model_id)
        metric.add_dimension(name="status", value=status)


def count_error(kind: str) -> None:
    """Errors by kind: one metric per kind (`Errors.throttled`, `Errors.malformed_body`, ...)."""
    count(f"Errors.{kind}")
