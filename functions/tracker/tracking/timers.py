"""Timers: a check of an invocation asked for later (when it should end, a few seconds after its output landed) or
handed to other execution environments now, as messages on the checks queue.

SQS delays a message by up to 15 minutes (`DelaySeconds`, standard queues). A timer that cannot be sent is logged
and forgotten: the sweep checks the invocation on its own schedule all the same.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .errors import TrackerError, call
from .telemetry import TIMERS_SET, count, count_error, logger

if TYPE_CHECKING:  # the stubs are a development dependency only
    from types_boto3_sqs.client import SQSClient
    from types_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

MAX_DELAY = timedelta(seconds=900)
# After an output file lands, Bedrock may still say InProgress for a moment: ask again this much later.
RECHECKS = (timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20))
# A hand-off message carries at most this many ARNs; fewer where the sweep's measured pace says a run of the checks
# queue (a batch of up to ten messages) could not check ten such messages before its deadline.
HANDOFF_ARNS = 100
BATCH = 10  # messages per run of the checks queue (the template's BatchSize for it)


class Timers:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def check_at(
        self, arn: str, delay: timedelta, *, reason: str, attempt: int = 1, opened: datetime | None = None
    ) -> bool:
        """Ask for a check of `arn` in `delay` (at most 15 minutes), the `attempt`th for this `reason`; False if it
        could not be asked for. `opened` (a "notify" retry): when the send of unknown outcome it retries was made,
        which the record may not say (the write that would have said it failed)."""
        seconds = min(max(0, math.ceil(delay.total_seconds())), int(MAX_DELAY.total_seconds()))
        message: dict[str, object] = {"check": arn, "reason": reason, "attempt": attempt}
        if opened is not None:
            message["opened"] = int(opened.timestamp())
        body = json.dumps(message)
        try:
            call(self.client.send_message, QueueUrl=self.queue_url, MessageBody=body, DelaySeconds=seconds)
        except TrackerError as exc:
            count_error(f"timer_{exc.kind}")
            logger.warning("timer not set; the sweep checks it", extra={"invocationArn": arn, "reason": exc.reason})
            return False
        count(TIMERS_SET)
        return True

    def hand_off(self, arns: list[str], *, since: int = 0, per_message: int = HANDOFF_ARNS, again: bool = False) -> int:
        """Checks for other execution environments, now, `per_message` ARNs a message (at most HANDOFF_ARNS): returns
        how many ARNs were handed off. `since` (epoch seconds) is the handing sweep's: where a check cannot be made
        nor handed on, the consumer marks sweeps incomplete from there (checks.Checks), so the next sweep makes it;
        `again`: these were handed off before, and a run could not check them (they are not handed on a third time)."""
        handed = 0
        size = max(1, min(per_message, HANDOFF_ARNS))
        chunks = [arns[start : start + size] for start in range(0, len(arns), size)]
        for start in range(0, len(chunks), 10):
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {
                    "Id": str(i),
                    "MessageBody": json.dumps(
                        {"check": chunk, "reason": "handoff", "since": since, **({"again": True} if again else {})}
                    ),
                }
                for i, chunk in enumerate(chunks[start : start + 10])
            ]
            try:
                answer = call(self.client.send_message_batch, QueueUrl=self.queue_url, Entries=entries)
            except TrackerError as exc:
                logger.warning("checks not handed off; they stay due", extra={"reason": exc.reason})
                break
            sent = {entry["Id"] for entry in answer.get("Successful", [])}
            handed += sum(len(chunks[start + int(i)]) for i in sent)
        return handed
