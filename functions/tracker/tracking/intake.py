"""Intake: a batch of SQS submissions, each tracked or reported alone in `batchItemFailures`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from .concurrency import map_concurrently
from .errors import AccountNotAllowed, TrackerError
from .lifecycle import Outcome, Tracker
from .submissions import parse_submission
from .telemetry import SUBMISSIONS_RECEIVED, count, count_error, logger


class ConcurrentBatchProcessor(BatchProcessor):
    """Powertools' SQS batch processor, with the records of a batch handled by a bounded thread pool."""

    def __init__(self, workers: int) -> None:
        # Returned, not raised: a batch that failed whole is reported message by message like any other.
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self.workers = workers

    def process(self) -> list[tuple[Any, ...]]:
        return map_concurrently(self._process_record, self.records, workers=self.workers)


def is_sqs_batch(event: Any) -> bool:
    messages = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(messages, list) or not messages:
        return False
    return all(isinstance(message, dict) and message.get("eventSource") == "aws:sqs" for message in messages)


class Intake:
    def __init__(self, tracker: Tracker, *, workers: int, allowed_accounts: frozenset[str] = frozenset()) -> None:
        self.tracker = tracker
        self.processor = ConcurrentBatchProcessor(workers)
        self.allowed_accounts = allowed_accounts

    def handle(self, event: dict[str, Any], *, deadline: datetime) -> PartialItemFailureResponse:
        count(SUBMISSIONS_RECEIVED, len(event["Records"]))
        self.tracker.learn_from_others()  # timers need the durations every environment learned
        # Powertools calls the handler with the SQS message as `record=`
        handler: Callable[[SQSRecord], Outcome] = lambda record: self.submit(record, deadline=deadline)  # noqa: E731
        response = process_partial_response(event=event, record_handler=handler, processor=self.processor)
        self.tracker.share_what_was_learned()
        return response

    def submit(self, message: SQSRecord, *, deadline: datetime) -> Outcome:
        """Track one message. Raising marks it failed: it comes back, and after maxReceiveCount rests in the DLQ."""
        try:
            submission = parse_submission(message.body)
            if self.allowed_accounts and submission.arn.account not in self.allowed_accounts:
                raise AccountNotAllowed(
                    f"invocation of account {submission.arn.account}: this tracker reads only the invocations of "
                    f"account {', '.join(sorted(self.allowed_accounts))} (Bedrock lets no other account read them; "
                    "deploy a tracker in that account)"
                )
            outcome = self.tracker.check(
                submission.arn, deadline=deadline, context=submission.context, callback=submission.callback
            )
        except TrackerError as exc:
            count_error(exc.kind)
            logger.warning(
                "submission not tracked",
                extra={
                    "messageId": message.message_id,
                    "kind": exc.kind,
                    "reason": exc.reason,
                    "receiveCount": message.attributes.approximate_receive_count,
                },
            )
            raise
        except Exception:  # a bug: still one line naming the message, and the message is not lost
            count_error("unexpected")
            logger.exception("submission failed unexpectedly", extra={"messageId": message.message_id})
            raise
        logger.info(
            "submission tracked",
            extra={"messageId": message.message_id, "invocationArn": submission.arn.arn, "outcome": outcome.value},
        )
        return outcome
