"""The checks queue: requests to check an invocation now rather than at the next sweep.

Three kinds of message arrive there:
- an S3 "Object Created" event, forwarded by the stack's EventBridge rule for the buckets the user named: Bedrock
  wrote a file into an invocation's output folder, named by the invocation's id, so it may just have ended;
- a timer the tracker set itself (timers.py): when a job should end, or a few seconds after its output landed;
  or when the lease of a send whose outcome is unknown runs out ("notify": retried inside a FIFO topic's window);
- checks a sweep handed off because it had more due than it could reach before its deadline.

A batch is checked once per invocation however many messages name it (a job writes several files), and each reason
it was named for has its follow-up (a timer's next timer, an output's recheck). A message
whose check failed comes back (batchItemFailures) and, after the queue's maxReceiveCount, rests in its dead-letter
queue; one that names nothing to check (a file of no tracked invocation) is done.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from .concurrency import map_concurrently
from .errors import MalformedMessage, RetryLater, TrackerError
from .invocations import ENDED, InvocationArn, partition_of
from .lifecycle import Clock, Outcome, Tracker
from .records import RecordStore
from .telemetry import OUTPUT_EVENTS, OUTPUT_EVENTS_UNTRACKED, count, count_error, logger
from .timers import RECHECKS, Timers

_FOLDER = re.compile(r"[a-z0-9]{12}")


@dataclass
class Target:
    """One check to make: an invocation's ARN, or the id of an output folder to look up; and why: each reason it was
    asked for (handoff, timer, output) with its attempt, the highest where several messages give one."""

    arn: str | None = None
    invocation_id: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    opened: int | None = None  # a "notify" retry's: when the send it retries was made (epoch seconds)
    timers: set[int] = field(default_factory=set)  # every timer number its messages give (two series may meet)

    def merge(self, other: Target) -> None:
        for reason, attempt in other.reasons.items():
            self.reasons[reason] = max(self.reasons.get(reason, 0), attempt)
        self.timers |= other.timers
        if other.opened is not None:
            self.opened = other.opened if self.opened is None else min(self.opened, other.opened)


def from_queue(event: dict[str, Any], queue_url: str) -> bool:
    """Whether an SQS batch came from this queue (its ARN ends with the queue's name, as its URL does)."""
    name = queue_url.rstrip("/").rsplit("/", 1)[-1]
    return bool(name) and all(
        str(message.get("eventSourceARN", "")).rsplit(":", 1)[-1] == name for message in event["Records"]
    )


def output_folder(key: str) -> str | None:
    """The invocation id an output object's key names: its folder, the last before the file (`.../abcdefghij12/x`)."""
    parts = key.split("/")
    return parts[-2] if len(parts) >= 2 and _FOLDER.fullmatch(parts[-2]) else None


@dataclass(frozen=True)
class Handoff:
    """A hand-off message's own fields: its sweep's `since` (epoch seconds), and whether it was handed on again."""

    since: int
    again: bool

    @classmethod
    def of(cls, body: str) -> Handoff | None:
        """The hand-off a message is, None if it is none."""
        try:
            message = json.loads(body)
        except ValueError:
            return None
        if not isinstance(message, dict) or message.get("reason", "handoff") != "handoff" or "check" not in message:
            return None
        since = message.get("since", 0)
        return cls(since=since if isinstance(since, int) else 0, again=message.get("again") is True)


def targets_of(body: str) -> Iterator[Target]:
    """What one message asks to check. Raises MalformedMessage for a message of no known kind."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise MalformedMessage(f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise MalformedMessage("not a JSON object")
    if message.get("source") == "aws.s3" and message.get("detail-type") == "Object Created":
        count(OUTPUT_EVENTS)
        # S3 URL-encodes the key in its events (a space as `+`, other characters as %XX)
        key = unquote_plus(str(((message.get("detail") or {}).get("object") or {}).get("key", "")))
        folder = output_folder(key)
        if folder is not None:
            yield Target(invocation_id=folder, reasons={"output": 1})
        return
    wanted = message.get("check")
    arns: list[str] = [arn for arn in (wanted if isinstance(wanted, list) else [wanted]) if isinstance(arn, str)]
    if not arns or (isinstance(wanted, list) and len(arns) != len(wanted)):
        raise MalformedMessage("neither an S3 event nor a check of ARNs")
    attempt = message.get("attempt", 1)
    opened = message.get("opened")
    reason = str(message.get("reason", "handoff"))
    number = attempt if isinstance(attempt, int) else 1
    for arn in arns:
        yield Target(
            arn=InvocationArn.parse(arn).arn,
            reasons={reason: number},
            opened=opened if isinstance(opened, int) else None,
            timers={number} if reason == "timer" else set(),
        )


class Checks:
    def __init__(
        self,
        tracker: Tracker,
        records: RecordStore,
        timers: Timers,
        *,
        workers: int,
        clock: Clock,
        region: str = "",
        accounts: tuple[str, ...] = (),
    ) -> None:
        self.tracker = tracker
        self.records = records
        self.timers = timers
        self.workers = workers
        self.clock = clock
        # Whose invocations a watched bucket's output can be: this Region's (where its events come from), of these
        # accounts (this stack's, and those it accepts invocations of).
        partition = partition_of(region) if region else None
        self.arn_prefixes = [f"arn:{partition}:bedrock:{region}:{account}:async-invoke/" for account in accounts]
        if partition is None:
            self.arn_prefixes = []

    def handle(self, event: dict[str, Any], *, deadline: datetime) -> dict[str, Any]:
        failed: set[str] = set()
        targets: dict[tuple[str, str], Target] = {}
        handoffs: dict[str, Handoff] = {}  # hand-off messages, by id
        for message in event["Records"]:
            message_id = message["messageId"]
            try:
                handoff = Handoff.of(message.get("body", ""))
                if handoff is not None:
                    handoffs[message_id] = handoff
                for target in targets_of(message.get("body", "")):
                    kind = "notify" if "notify" in target.reasons else "arn"  # a retry of a send, not a check
                    key = (kind, target.arn) if target.arn else ("id", target.invocation_id or "")
                    merged = targets.setdefault(key, target)
                    merged.merge(target)
                    merged.messages.append(message_id)
            except TrackerError as exc:  # only the tracker and EventBridge write here: this one is a bug
                count_error(exc.kind)
                logger.error("check message not understood", extra={"messageId": message_id, "reason": exc.reason})
                failed.add(message_id)

        retry_later: set[str] = set()  # ARNs whose check may go through if asked again soon

        def check(target: Target) -> Target | None:
            try:
                self._check(target, deadline)
            except TrackerError as exc:
                if isinstance(exc, RetryLater) and target.arn is not None:
                    retry_later.add(target.arn)
                count_error(exc.kind)
                logger.warning(
                    "check not made; its message comes back",
                    extra={"invocationArn": target.arn, "invocationId": target.invocation_id, "reason": exc.reason},
                )
                return target
            return None

        self.tracker.learn_from_others()
        not_handed: dict[str, list[str]] = {}  # hand-off message: its ARNs not checked
        for unchecked in map_concurrently(check, list(targets.values()), workers=self.workers):
            if unchecked is not None:
                for message_id in unchecked.messages:
                    if message_id in handoffs and unchecked.arn is not None:
                        not_handed.setdefault(message_id, []).append(unchecked.arn)
                    else:
                        failed.add(message_id)
        failed.update(self._make_up(not_handed, handoffs, retry_later))
        self.tracker.share_what_was_learned()
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in sorted(failed)]}

    def _make_up(
        self, unchecked: dict[str, list[str]], handoffs: dict[str, Handoff], retry_later: set[str]
    ) -> set[str]:
        """A handed-off check that failed fails neither its neighbours nor the polling bound: what was not checked for
        want of time or a throttle is handed on at once, once (a hand-off handed on is not handed on again, so a
        throttle does not spin); the rest makes sweeps incomplete from the handing sweep's `since`, so that the next
        sweep makes its forced checks. Only if neither can be done does its message come back (after the queue's
        visibility timeout; a run killed before it answers comes back the same way). Returns those messages."""
        if not unchecked:
            return set()
        since = min(handoffs[message].since for message in unchecked)
        arns = sorted({arn for message in unchecked.values() for arn in message})
        first = not any(handoffs[message].again for message in unchecked)
        if first and set(arns) <= retry_later and self.timers.hand_off(arns, since=since, again=True) == len(arns):
            return set()
        try:
            self.records.mark_sweeps_incomplete(datetime.fromtimestamp(since, UTC))
        except TrackerError as exc:
            count_error(exc.kind)
            return set(unchecked)
        return set()

    def _check(self, target: Target, deadline: datetime) -> None:
        if target.invocation_id is not None:
            found = self.records.by_invocation_id(target.invocation_id)  # one read, whatever the region
            if not found:
                found = self._not_indexed(target.invocation_id)
            if not found:
                count(OUTPUT_EVENTS_UNTRACKED)
            for arn, status in found:
                if status not in ENDED:  # an ended one was notified already: no call for its other files
                    self._ask(Target(arn=arn, reasons=target.reasons), deadline)
            return
        self._ask(target, deadline)

    def _not_indexed(self, invocation_id: str) -> list[tuple[str, str]]:
        """The records an output's folder may name that the index does not show: it never reads its own write, and
        the job may not be recorded yet (intake after the event). Its arrival is noted first, then the records it can
        be are read by key: a record written before the read is found, and one written after it finds the note
        (Tracker.observe), so the event is never lost. A write and a read, and no call, for a folder of no job."""
        self.records.note_output(invocation_id, now=self.clock())
        if not self.arn_prefixes:
            return []
        return self.records.statuses([prefix + invocation_id for prefix in self.arn_prefixes])

    def _ask(self, target: Target, deadline: datetime) -> None:
        assert target.arn is not None
        reasons = target.reasons
        if "notify" in reasons:  # a send of unknown outcome, retried inside a FIFO topic's window
            opened = datetime.fromtimestamp(target.opened, UTC) if target.opened is not None else None
            retried = self.tracker.retry_notification(target.arn, deadline=deadline, opened=opened)
            logger.info(
                "notification retried on request", extra={"invocationArn": target.arn, "outcome": retried.value}
            )
            return
        timer = reasons.get("timer", 0)  # if it runs on, its next timer is set
        if set(reasons) == {"timer"}:
            due = self._timer_due(target.arn, target.timers or {timer})
            if due is None:
                return  # a read, not a call
            timer = due
        outcome = self.tracker.check(InvocationArn.parse(target.arn), deadline=deadline, tracked=True, timer=timer)
        logger.info(
            "checked on request",
            extra={"invocationArn": target.arn, "why": ",".join(sorted(reasons)), "outcome": outcome.value},
        )
        output = reasons.get("output", 0)
        if outcome is Outcome.IN_PROGRESS and 0 < output <= len(RECHECKS):
            # the file is there; Bedrock's status may follow a moment later
            self.timers.check_at(target.arn, RECHECKS[output - 1], reason="output", attempt=output + 1)

    def _timer_due(self, arn: str, numbers: set[int]) -> int | None:
        """Which of the timers `numbers` (one batch's, for one job) is the job's next, by its record: none if the job
        ended (its output's event or a sweep was first; or there is no record left), nor if the record's series is at
        another number (a repeat of a timer SQS delivered twice, or of a series another replaced): one series per
        job."""
        record = self.records.record(arn)
        if record is None or record.invocation.ended:
            return None
        if record.timer not in numbers:
            logger.info("timer dropped: not the job's next", extra={"invocationArn": arn, "timer": sorted(numbers)})
            return None
        return record.timer
