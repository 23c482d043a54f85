"""An invocation's life in the tracker, the one operation every trigger shares: ask Bedrock, record the answer, notify
an ending exactly once on each channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from .bedrock import BedrockReader
from .callbacks import Callback
from .channels.channel import Channel, Refusal
from .clients import DYNAMODB, S3, TRACK
from .errors import AlreadyDone, OutOfTime, TrackerError, UnknownInvocation
from .invocations import COMPLETED, FAILED, Invocation, InvocationArn, iso, parse_iso
from .notifier import Notifier
from .polling import Durations, forced, next_check_at, worth_asking
from .records import (
    CALLBACK_PREFIX,
    LISTEN,
    POLL,
    TIMED,
    DueItem,
    Record,
    RecordStore,
    invocation_id,
    marking_writes,
)
from .telemetry import (
    ENDINGS_TOO_OLD_TO_NOTIFY,
    INVOCATIONS_COMPLETED,
    INVOCATIONS_FAILED,
    INVOCATIONS_LOST,
    INVOCATIONS_OVERDUE,
    INVOCATIONS_TRACKED,
    SENDS_ABANDONED,
    count,
    count_ending,
    count_error,
    logger,
)
from .timers import MAX_DELAY, RECHECKS, Timers

Clock = Callable[[], datetime]

# A lease outlives the run that holds it by this much, so a live run is never overtaken by a retry.
LEASE_MARGIN = timedelta(seconds=30)
# Bedrock's clock and ours may differ: an ending this close to a record's retention counts as older than it.
CLOCK_SKEW = timedelta(hours=1)
# An environment that does not sweep takes the durations the others saved this often (a read each time).
LEARN_EVERY = timedelta(minutes=15)
# A job whose end is not heard is asked by its own timers: the next goes off where a quarter of its model's recent
# jobs ended after its age, or sooner where many end close together (TIMER_WIDTH), so the gap between two bounds
# its delay; each costs a call while it runs, and writes nothing. One whose output lands in a watched bucket has
# two, where half and most of its model's jobs had ended: for a failure, which writes nothing, or a lost event.
TIMER_SHARE = 0.25
TIMER_WIDTH = timedelta(seconds=40)
HEARD_TIMERS = (0.5, 0.9)
# The next timer goes off at least this long after the check that sets it (a closer one adds a call for little).
TIMER_SPACING = timedelta(seconds=10)
# An ending a channel refused until someone acts is retried 2^n sweep periods after its nth refusal in a row, and
# never later than this after the last: a fix is picked up within minutes, and refusals cost a few calls an hour.
REFUSED_BACKOFF_CAP = timedelta(minutes=10)
# SNS FIFO drops a repeat of a deduplication id only within 5 minutes of the first. A send whose outcome is unknown
# is retried by its own timer when its lease runs out, and a retry refused after it again this much later, while
# the retry would still go out inside the window (less the margin its own send may take).
FIFO_WINDOW = timedelta(minutes=5)
WINDOW_RETRY = timedelta(seconds=20)
WINDOW_MARGIN = timedelta(seconds=15)
# Bedrock forgets an invocation some time after it ends (and says nothing of its old ARNs past its model's end of
# life): asked about, such an ARN answers ValidationException, as an unknown one does. A tracked invocation it no
# longer knows is ended by the tracker (status Failed, `lost`), not asked forever, once it has been in progress
# longer than `overdue_after` and Bedrock has said so LOST_ANSWERS times over at least LOST_SPAN.
LOST_ANSWERS = 3
LOST_SPAN = timedelta(minutes=10)
LOST_MESSAGE = (
    "Bedrock no longer knows this invocation: GetAsyncInvoke answered ValidationException {answers} times since "
    "{since}, while the tracker had it in progress. Ended by the tracker; Bedrock's own outcome is unknown."
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Outcome(StrEnum):
    IN_PROGRESS = "in_progress"
    NOTIFIED = "notified"
    NOTIFICATION_PENDING = "notification_pending"  # ended, but the publish failed: a sweep retries it
    ALREADY_ENDED = "already_ended"  # another run recorded this ending; it owns the notification
    NOT_CLAIMED = "not_claimed"  # a pending notification held by another run, or already published
    WAITING = "waiting"  # due, but it cannot have ended since the last sweep: not asked, nothing written
    TOO_OLD_TO_NOTIFY = "too_old_to_notify"  # ended before a record's retention, never seen: recorded, not notified
    ABANDONED = "abandoned"  # a channel refused it until it was as old as a record is kept: given up there
    UNKNOWN_TO_BEDROCK = "unknown_to_bedrock"  # tracked, and Bedrock answered it does not know it: not lost yet


@dataclass
class _Sends:
    """What one run's sends of an ending did, by key (a channel's name, or a callback's)."""

    sent: dict[str, str] = field(default_factory=dict)
    unknown: TrackerError | None = None  # a send with no answer: it may have gone
    failed: TrackerError | None = None  # a send refused, to be retried
    refused: bool = False  # ... refused until someone acts
    abandoned: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    unanswered: list[str] = field(
        default_factory=list
    )  # callbacks whose send had no answer (retried: a resend is safe)


@dataclass
class Tracker:
    bedrock: BedrockReader
    records: RecordStore
    notifier: Notifier
    max_poll_interval: timedelta
    sweep_period: timedelta = timedelta(minutes=1)
    overdue_after: timedelta = timedelta(hours=1)
    clock: Clock = utcnow
    durations: Durations = field(default_factory=Durations)
    timers: Timers | None = None
    # The channels each ending goes out on (channels/): the topic, and the bus if one is named.
    channels: tuple[Channel, ...] = ()
    _learned_at: datetime | None = field(default=None, init=False)
    # Buckets whose objects' events reach the checks queue: a job writing there is heard when it ends, if the bucket
    # is in this stack's Region and account (`region`, `account`; empty: not checked), where its events go.
    watched_buckets: frozenset[str] = frozenset()
    region: str = ""
    account: str = ""
    bucket_region: Callable[[str], str | None] | None = None  # a watched bucket's Region (outputs.OutputLister)

    def check(
        self,
        arn: InvocationArn,
        *,
        deadline: datetime,
        context: dict[str, Any] | None = None,
        tracked: bool = False,
        timer: int = 0,
        callback: Callback | None = None,
    ) -> Outcome:
        """Ask Bedrock about `arn` and record it; publish if this run recorded its ending.

        `tracked` says the record exists in progress and is due (a sweep's work, a timer): if it is still in
        progress, nothing is written (its due time stands; polling.worth_asking says when to ask again), and if this
        check is its timer number `timer`, the next one is set. Raises the project's errors: Rejected or RetryLater
        from Bedrock or DynamoDB, OutOfTime if asking and recording could outlast `deadline`. Once the record is
        written the invocation is durably tracked, and a failed publish no longer raises. A `callback` (the workflow
        waiting on it) is kept on the record, and resumed with the ending; if the job has ended already, at once.
        """
        self._require(TRACK, deadline)
        try:
            invocation = self.bedrock.get(arn)
        except UnknownInvocation as exc:
            if not tracked:
                raise
            return self._unknown(arn, exc, deadline=deadline)
        if tracked and not invocation.ended:
            self._report_if_overdue(invocation, self.clock())
            if timer:
                self._next_timer(invocation, after=timer)
            return Outcome.IN_PROGRESS
        outcome = self.observe(invocation, deadline=deadline, context=context, callback=callback)
        if callback is not None and outcome in (Outcome.ALREADY_ENDED, Outcome.TOO_OLD_TO_NOTIFY):
            return self._resume_late(arn.arn, callback, deadline) or outcome
        return outcome

    def _resume_late(self, arn: str, callback: Callback, deadline: datetime) -> Outcome | None:
        """A callback for a job whose ending the record holds already: kept with a conditional write that takes the
        ending's lease where no run holds it, then sent as every channel is (the others are sent already). Where a run
        holds the lease, that run's finishing write sees the new callback and leaves the ending due (None here)."""
        record = self.records.add_callback(arn, callback, now=self.clock(), lease_until=deadline + LEASE_MARGIN)
        if record is None:
            return None
        logger.info("callback for an ended job: resumed at once", extra={"invocationArn": arn})
        return self._publish(record, deadline)

    def observe(
        self,
        invocation: Invocation,
        *,
        deadline: datetime,
        context: dict[str, Any] | None = None,
        callback: Callback | None = None,
    ) -> Outcome:
        """Record what Bedrock said of an invocation (asked just now, or listed by discovery); publish its ending
        if this run recorded it.

        An ending older than a record's retention may have been notified already, by a record that has since
        expired: where no record is left, it is recorded and not notified again (Outcome.TOO_OLD_TO_NOTIFY)."""
        now = self.clock()
        too_old = invocation.end_time is not None and now - invocation.end_time > self.records.retention - CLOCK_SKEW
        work, timer = POLL, None
        if not invocation.ended:
            # Its first timer goes before the record says it has one (this write). A resubmission's series replaces
            # the one before: a timer whose number is not the record's is dropped (checks.Checks).
            timer = self.set_timer(invocation)
            work = LISTEN if self.heard(invocation) else TIMED if timer else POLL
        observation = self.records.observe(
            invocation,
            now=now,
            context=context,
            next_check_at=self._next_check(invocation, now, work),
            lease_until=deadline + LEASE_MARGIN,
            existing_only=invocation.ended and too_old,
            work=work,
            timer=timer,
            callback=callback,
        )
        if invocation.ended and too_old and observation.record is None:
            observation = self.records.observe_unnotified(invocation, now=now, context=context)
            if observation.created:
                count(INVOCATIONS_TRACKED)
                count(ENDINGS_TOO_OLD_TO_NOTIFY)
                logger.warning(
                    "ended longer ago than records are kept: recorded, not notified (it may have been already)",
                    extra={"invocationArn": invocation.invocation_arn, "endTime": iso(invocation.end_time or now)},
                )
                return Outcome.TOO_OLD_TO_NOTIFY
        if observation.created:
            count(INVOCATIONS_TRACKED)
        if not observation.ended_now:
            if observation.record is not None and observation.record.invocation.ended:
                return Outcome.ALREADY_ENDED
            if observation.created and work == LISTEN:
                self._heard_before_recorded(invocation)
            self._report_if_overdue(invocation, now)
            return Outcome.IN_PROGRESS
        self.durations.learn(invocation, now=now)
        count(INVOCATIONS_COMPLETED if invocation.status == COMPLETED else INVOCATIONS_FAILED)
        count_ending(invocation.model_id, invocation.status)
        logger.info("invocation ended", extra={"invocationArn": invocation.invocation_arn, "status": invocation.status})
        assert observation.record is not None  # this write recorded the ending
        return self._publish(observation.record, deadline)

    def _unknown(self, arn: InvocationArn, exc: UnknownInvocation, *, deadline: datetime) -> Outcome:
        """Bedrock does not know a tracked invocation in progress: count the answer in its record and, past the bounds
        (LOST_ANSWERS, LOST_SPAN, `overdue_after`), end it as lost and notify that, once, on every channel."""
        now = self.clock()
        try:
            # every in-progress job is asked at least once a polling bound: a longer gap had an answer in between
            bound = max(self.max_poll_interval, timedelta(0)) + 2 * self.sweep_period
            item = self.records.mark_unknown(arn.arn, now=now, run_after=now - bound)
        except AlreadyDone:  # it ended meanwhile (or there is no record): nothing to do
            return Outcome.ALREADY_ENDED
        record = Record.of(item)
        since, answers = parse_iso(str(item["forgottenSince"])), int(item["forgottenAnswers"])
        self._report_if_overdue(record.invocation, now)
        lost = now - record.invocation.submit_time > self.overdue_after
        if not lost or answers < LOST_ANSWERS or now - since < LOST_SPAN:
            count_error(exc.kind)
            logger.warning(
                "Bedrock does not know this tracked invocation; ended as lost if that goes on",
                extra={"invocationArn": arn.arn, "reason": exc.reason, "answers": answers, "since": iso(since)},
            )
            return Outcome.UNKNOWN_TO_BEDROCK
        ending = Invocation(
            invocation_arn=arn.arn,
            model_arn=record.invocation.model_arn,
            status=FAILED,
            submit_time=record.invocation.submit_time,
            client_request_token=record.invocation.client_request_token,
            failure_message=LOST_MESSAGE.format(answers=answers, since=iso(since)),
            last_modified_time=now,
            end_time=now,
            output_data_config=record.invocation.output_data_config,
        )
        observation = self.records.observe(
            ending, now=now, next_check_at=now, lease_until=deadline + LEASE_MARGIN, existing_only=True, lost=True
        )
        if not observation.ended_now or observation.record is None:
            return Outcome.ALREADY_ENDED
        count(INVOCATIONS_LOST)
        logger.error(
            "Bedrock no longer knows this invocation: ended as lost",
            extra={"invocationArn": arn.arn, "answers": answers, "since": iso(since), "modelId": ending.model_id},
        )
        return self._publish(observation.record, deadline)

    def heard(self, invocation: Invocation) -> bool:
        """Whether the invocation writes to a watched bucket whose events reach this stack, to say when its output
        lands. S3 sends a bucket's events to the default bus of the bucket owner's account in the bucket's Region:
        Bedrock writes to a bucket in the invocation's Region, owned by the invoking account unless the job names
        another (`bucketOwner`). Anywhere else, nothing is heard: it is timed and polled as an unwatched one."""
        location = invocation.output_location
        if location is None or location[0] not in self.watched_buckets:
            return False
        arn = InvocationArn.parse(invocation.invocation_arn)
        owner = (invocation.output_data_config or {}).get("s3OutputDataConfig", {}).get("bucketOwner") or arn.account
        if (self.region and arn.region != self.region) or (self.account and owner != self.account):
            return False
        # A bucket named among the watched ones may still be in another Region (nothing stops either the user or
        # Bedrock): its events go to that Region's bus, so it is heard only where S3 says it is in this one.
        return self.bucket_region is None or not self.region or self.bucket_region(location[0]) == self.region

    def _heard_before_recorded(self, invocation: Invocation) -> None:
        """A heard job just recorded in progress whose output landed already (an event that found no record noted it,
        checks.Checks._not_indexed): its event came and went, and Bedrock's status follows in a moment, so it is asked
        again in seconds, as after its event, not left to its forced check. A read by key, after the record's write."""
        if self.timers is None:
            return
        try:
            landed = self.records.output_noted(invocation_id(invocation.invocation_arn))
        except TrackerError as exc:  # its timers and forced checks still ask
            count_error(exc.kind)
            return
        if landed:
            self.timers.check_at(invocation.invocation_arn, RECHECKS[0], reason="output", attempt=2)

    def worth_asking(self, item: DueItem, *, since: datetime | None, work: str = POLL) -> bool:
        """Whether a sweep should ask Bedrock about this due, in-progress invocation now; `since` is when the
        last complete sweep of this execution environment started (None: ask). A heard one (LISTEN) only at its
        forced checks: its output's event will tell when it ends; a TIMED one as polling.worth_asking says."""
        if work == LISTEN and since is not None and self.max_poll_interval > timedelta(0):
            return forced(due_at=item.due_at, since=since, now=self.clock(), max_interval=self.max_poll_interval)
        return worth_asking(
            model_id=item.model_id,
            submit_time=item.submit_time,
            due_at=item.due_at,
            now=self.clock(),
            since=since,
            max_interval=self.max_poll_interval,
            period=self.sweep_period,
            durations=self.durations,
            timed=work == TIMED,
        )

    def set_timer(self, invocation: Invocation) -> tuple[int, datetime] | None:
        """Set the job's first timer, if SQS can delay a message that long: its number and when it goes off, for the
        record to say; None if there is none (its model's durations not learned yet, older than all of them, or too
        far ahead)."""
        planned = self.plan_timer(
            invocation.submit_time, invocation.model_id, heard=self.heard(invocation), after=0, within=MAX_DELAY
        )
        if planned is None or self.timers is None:
            return None
        number, delay = planned
        if not self.timers.check_at(invocation.invocation_arn, delay, reason="timer", attempt=number):
            return None
        return number, self.clock() + delay

    def _next_timer(self, invocation: Invocation, *, after: int) -> None:
        """Timer number `after` found the job running: set the next, once. The record's number moves from `after`
        to the next's first (a conditional write), so a repeat of this timer (SQS delivers at least once) sets
        none; with no next timer, nothing is written and the series ends."""
        planned = self.plan_timer(
            invocation.submit_time, invocation.model_id, heard=self.heard(invocation), after=after, within=MAX_DELAY
        )
        if planned is None or self.timers is None:
            return
        number, delay = planned
        try:
            self.records.move_timer(invocation.invocation_arn, current=after, number=number, at=self.clock() + delay)
        except AlreadyDone:  # a repeat of this timer, or another series took over: it sets the next
            return
        except TrackerError as exc:  # the series ends here; the sweep's forced checks keep the bound
            count_error(f"timer_{exc.kind}")
            return
        self.timers.check_at(invocation.invocation_arn, delay, reason="timer", attempt=number)

    def start_timer_series(self, item: DueItem, *, within: timedelta, stale: timedelta) -> bool:
        """A sweep's timer for a job too long for one when it was recorded: only if the record has no series going
        (none, or its next timer is `stale` overdue), claimed with a conditional write so that concurrent sweeps start
        one; its number follows the record's last, so the timers of a series that died are dropped."""
        if item.submit_time is None or item.model_id is None or self.timers is None:
            return False
        planned = self.plan_timer(item.submit_time, item.model_id, heard=False, after=0, within=within)
        if planned is None:
            return False
        now = self.clock()
        try:
            number = self.records.start_timer(item.arn, at=now + planned[1], stale_before=now - stale)
        except AlreadyDone:  # a series is going, or it ended meanwhile
            return False
        except TrackerError as exc:
            count_error(f"timer_{exc.kind}")
            return False
        return self.timers.check_at(item.arn, planned[1], reason="timer", attempt=number)

    def plan_timer(
        self, submit_time: datetime, model_id: str, *, heard: bool, after: int, within: timedelta
    ) -> tuple[int, timedelta] | None:
        """The timer after number `after` of a job of the model submitted at `submit_time`: its number and its delay,
        if it goes off within `within`; None if there is none."""
        if self.timers is None:
            return None
        age = self.clock() - submit_time
        number, ends = after + 1, None
        if not heard:
            ends = self.durations.next_end(model_id, age + TIMER_SPACING, share=TIMER_SHARE, width=TIMER_WIDTH)
        for number, share in enumerate(HEARD_TIMERS[after:] if heard else (), start=after + 1):  # noqa: B007
            ends = self.durations.predicted(model_id, share)
            if ends is not None and ends > age:
                break
        if ends is None or not timedelta(0) < ends - age <= within:
            return None
        return number, ends - age

    def learn_from_others(self, *, every: timedelta = LEARN_EVERY) -> None:
        """Take the durations every environment saved, unless taken less than `every` ago (a read each time)."""
        now = self.clock()
        if self._learned_at is not None and now - self._learned_at < every:
            return
        try:
            self.adopt(self.records.state())
        except TrackerError as exc:  # predictions wait for the next reading; nothing else depends on it
            count_error(exc.kind)

    def adopt(self, state: dict[str, Any]) -> None:
        """Take the durations of the shared item as read (by a sweep, which reads it anyway)."""
        self.durations.adopt(state.get("durations") or {})
        self._learned_at = self.clock()

    def share_what_was_learned(self) -> None:
        """Save this environment's new durations for all, once enough are new (or have waited) to be worth a write."""
        if not self.durations.worth_saving(self.clock()):
            return
        try:
            state = self.records.state()
            merged, seen = self.durations.merged(state.get("durations") or {}, state.get("durationsSeen"))
            self.records.save_durations(merged, seen=seen, version=int(state.get("durationsVersion", 0)))
        except AlreadyDone:  # another environment saved meanwhile: ours go with the next run
            return
        except TrackerError as exc:
            count_error(exc.kind)
            return
        self.durations.saved(merged)

    def retry_notification(self, arn: str, *, deadline: datetime, opened: datetime | None = None) -> Outcome:
        """Publish a pending notification whose lease ran out (an earlier publish failed, or its run died); `opened`:
        when a send of unknown outcome it retries was made, if its timer says (the record may not)."""
        self._require(DYNAMODB.worst_case + self._send_time(None), deadline)
        record = self.records.claim_notification(arn, now=self.clock(), lease_until=deadline + LEASE_MARGIN)
        if record is None:
            return Outcome.NOT_CLAIMED
        logger.info("retrying notification", extra={"invocationArn": arn, "status": record.invocation.status})
        return self._publish(record, deadline, opened=opened)

    def _require(self, work: timedelta, deadline: datetime) -> None:
        """Start nothing that could outlast the Lambda's deadline: Lambda would kill the run half way."""
        if self.clock() + work > deadline:
            raise OutOfTime(f"needs up to {work.total_seconds():.0f} s; less is left before the deadline")

    def _publish(self, record: Record, deadline: datetime, *, opened: datetime | None = None) -> Outcome:
        """Send the ending on each channel still pending (the topic, the bus), then record in one write what went.
        `opened`: when an earlier send of unknown outcome was made, where the record does not say (unknownSince)."""
        arn = record.arn
        opened = record.unknown_since or opened
        try:
            # Sending and recording it go together: never send without the time to mark it sent.
            self._require(self._send_time(record), deadline)
        except OutOfTime as exc:
            count_error(f"publish_{exc.kind}")
            logger.warning(
                "notification not published; a sweep publishes it when its lease runs out",
                extra={"invocationArn": arn, "reason": exc.reason, "kind": exc.kind},
            )
            return Outcome.NOTIFICATION_PENDING
        attempted = self.clock()
        sends = self._send_each(record, deadline)
        sent, unknown, failed, refused, abandoned = (
            sends.sent,
            sends.unknown,
            sends.failed,
            sends.refused,
            sends.abandoned,
        )
        finished = unknown is None and failed is None
        as_asked = True
        try:
            as_asked = self.records.mark_delivered(
                arn,
                now=self.clock(),
                sent=sent,
                finished=finished,
                failure=failed.reason if failed is not None and unknown is None else None,
                retry_at=self._after_refusals(record.refusals + 1, unknown_since=opened) if refused else None,
                refused=refused,
                abandoned=tuple(abandoned),
                # kept while pending, so that every later retry knows SNS's FIFO window is open
                unknown_at=None if finished else (opened or attempted) if unknown is not None else opened,
                gone=tuple(sends.gone),
                callbacks=len(record.callbacks),
                unanswered=tuple(sends.unanswered),
                room_for_two=self._room_to_record(sends, deadline),
            )
        except AlreadyDone:
            logger.warning("notification was no longer pending when marked published", extra={"invocationArn": arn})
        except TrackerError as exc:
            count_error(f"bookkeeping_{exc.kind}")
            if not sent:  # only a release: the lease runs out by itself, and the retry comes later
                logger.warning(
                    "could not release the notification lease", extra={"invocationArn": arn, "reason": exc.reason}
                )
                return Outcome.NOTIFICATION_PENDING
            # The one window we cannot close on a standard topic or a bus: sent, but not recorded as such. The
            # lease runs out and its timer or a sweep sends again (FIFO topics drop it by deduplication id).
            logger.error(
                "published but not marked; the notification may be repeated once the lease ends",
                extra={"invocationArn": arn, "reason": exc.reason, "kind": exc.kind, "sent": sorted(sent)},
            )
            # As good as unknown: the record does not say it went. Retried at the lease's end, inside the window.
            self._retry_in_window(record, deadline, opened or attempted, unknown=True)
            if not finished:
                return Outcome.NOTIFICATION_PENDING
            return Outcome.ABANDONED if abandoned else Outcome.NOTIFIED
        if not finished:
            self._retry_in_window(record, deadline, opened or attempted, unknown=unknown is not None, opened=opened)
            return Outcome.NOTIFICATION_PENDING
        if not as_asked and self.timers is not None:  # a callback came while sending, or no time to see: due at once
            self.timers.check_at(arn, timedelta(0), reason="notify")
        return Outcome.ABANDONED if abandoned else Outcome.NOTIFIED

    def _send_each(self, record: Record, deadline: datetime) -> _Sends:
        """Send the ending to each key still pending on each channel, and sort what each failed send means."""
        pending = [(channel, key) for channel in self.channels for key in channel.pending(record)]
        message = self.notifier.message(record) if pending else {}
        sends = _Sends()
        budgeted: set[Channel] = set()  # each channel's first send is in _send_time; a further one checks the time
        named = 0  # the callbacks so far: mark_delivered records them in marking_writes(named) writes
        for channel, key in pending:
            attempted = False  # an OutOfTime before the send sent nothing (the channel's last call may have)
            named += key.startswith(CALLBACK_PREFIX)
            try:
                if channel in budgeted:
                    writes = marking_writes(named)  # to record what went, this one too
                    self._require(channel.worst_case + DYNAMODB.worst_case * writes, deadline)
                budgeted.add(channel)
                attempted = True
                sends.sent[key] = channel.send(record, message, key)
            except TrackerError as exc:
                refusal = channel.refusal(exc)
                channel.not_sent(record.arn, exc, refusal)
                if attempted and channel.may_have_sent(exc):
                    sends.unanswered.append(key)  # a callback it may have resumed: noted on its state
                if refusal is Refusal.GONE:
                    sends.gone.append(key)
                elif refusal is Refusal.UNKNOWN:
                    # Kept leased, not released: if the service did take it, an immediate retry would repeat it;
                    # when the lease runs out its timer or a sweep sends it (a FIFO topic drops the repeat by its
                    # deduplication id, inside its window: _retry_in_window).
                    sends.unknown = exc
                elif refusal is Refusal.NEEDS_PERSON and self._kept_too_long(record):
                    sends.abandoned.append(key)
                    self._abandon(record, key, exc)
                else:
                    sends.failed = exc
                    sends.refused = sends.refused or refusal is Refusal.NEEDS_PERSON
            else:
                channel.sent(record, sends.sent[key], now=self.clock())
        return sends

    def _room_to_record(self, sends: _Sends, deadline: datetime) -> bool:
        """Whether the run has the time to record what went in two writes, should a callback have been added while
        it sent (mark_delivered's finishing write then fails, and a second records what went): the time kept for
        it (_send_time, _send_each) is one write's, and another's only as long as the sends took less than theirs."""
        named = {*sends.sent, *sends.abandoned, *sends.gone, *sends.unanswered}
        callbacks = sum(key.startswith(CALLBACK_PREFIX) for key in named)
        return self.clock() + DYNAMODB.worst_case * (marking_writes(callbacks) + 1) <= deadline

    def _retry_in_window(
        self, record: Record, deadline: datetime, window: datetime, *, unknown: bool, opened: datetime | None = None
    ) -> None:
        """Retry a send whose outcome is unknown before SNS's FIFO window closes on it: a timer (reason "notify")
        when the lease runs out, and another WINDOW_RETRY after a retry that failed again, while the window is open.
        A sweep would come only when the schedule says, which may be past the window; a refusal that needs a person
        is retried there too (_after_refusals), as it may be lifted in seconds. `window`: when the first send of
        unknown outcome was made (the window opened); `opened`: the same, if an earlier attempt's was (else None)."""
        if self.timers is None:
            return
        now = self.clock()
        if unknown:
            # one second past the lease, which claim_notification compares in whole seconds
            delay = deadline + LEASE_MARGIN - now + timedelta(seconds=1)
        elif opened is not None:  # an earlier send's outcome is unknown: the window it opened may still be open
            delay = WINDOW_RETRY
        else:
            return
        if now + delay <= window + FIFO_WINDOW - WINDOW_MARGIN:
            self.timers.check_at(record.arn, delay, reason="notify", opened=window)

    def _after_refusals(self, refusals: int, *, unknown_since: datetime | None = None) -> datetime:
        """When an ending refused `refusals` times in a row is next retried: 2^n sweep periods on, capped; but
        WINDOW_RETRY on while a send of unknown outcome (at `unknown_since`) can still be deduplicated by a FIFO
        topic, so that a refusal lifted within the window does not make the ending go out twice."""
        now = self.clock()
        wait = min(self.sweep_period * (1 << min(refusals, 16)), REFUSED_BACKOFF_CAP)
        if unknown_since is not None and now + WINDOW_RETRY <= unknown_since + FIFO_WINDOW - WINDOW_MARGIN:
            wait = min(wait, WINDOW_RETRY)
        return now + wait

    def _kept_too_long(self, record: Record) -> bool:
        """Whether the ending is as old as a record is kept: a channel still refusing it then is given up."""
        ended = record.invocation.end_time
        return ended is not None and self.clock() - ended > self.records.retention

    def _abandon(self, record: Record, channel: str, exc: TrackerError) -> None:
        count(SENDS_ABANDONED)
        logger.error(
            "ending refused on a channel until it was as old as a record is kept: given up on that channel",
            extra={"invocationArn": record.arn, "channel": channel, "reason": exc.reason, "refusals": record.refusals},
        )

    def _send_time(self, record: Record | None) -> timedelta:
        """The longest publishing `record`'s ending (any record's, if None) can take: list the outputs, send on every
        channel (a first callback counted where the record has one pending), record what went."""
        channels = sum((channel.send_time(record) for channel in self.channels), timedelta(0))
        return S3.worst_case + channels + DYNAMODB.worst_case

    def _next_check(self, invocation: Invocation, now: datetime, work: str) -> datetime:
        if work in (LISTEN, TIMED) and self.max_poll_interval > timedelta(0):
            # its output's event, or its timers, tell when it ends; its forced checks keep the bound
            return now + self.max_poll_interval
        return next_check_at(invocation, now=now, max_interval=self.max_poll_interval, durations=self.durations)

    def _report_if_overdue(self, invocation: Invocation, now: datetime) -> None:
        if now - invocation.submit_time > self.overdue_after:
            count(INVOCATIONS_OVERDUE)
            logger.warning(
                "invocation in progress for longer than expected",
                extra={
                    "invocationArn": invocation.invocation_arn,
                    "submitTime": iso(invocation.submit_time),
                    "modelId": invocation.model_id,
                },
            )
