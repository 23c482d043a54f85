"""The sweep: discover untracked invocations (if enabled), retry pending notifications, then check every
in-progress invocation that is due, handing to other execution environments what it cannot reach in time.

Every sweep reads the item all environments share (records.STATE): the durations every environment learned,
and whether a sweep left due work unasked (`incompleteSince`). It saves what it learned when that is worth a write.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from .clients import TRACK
from .concurrency import map_concurrently
from .discovery import Discovery
from .errors import OutOfTime, TrackerError
from .invocations import InvocationArn
from .lifecycle import Clock, Outcome, Tracker
from .records import IN_PROGRESS_WORK, NOTIFY, POLL, DueItem, RecordStore
from .telemetry import (
    CHECKS_HANDED_OFF,
    INVOCATIONS_IN_PROGRESS,
    NOTIFICATIONS_PENDING,
    SWEEPS,
    count,
    count_error,
    gauge,
    logger,
)
from .timers import BATCH, Timers

Action = Callable[[DueItem, datetime], str]
# Pending notifications are retried only in this share of the time in which a sweep may start checks (until TRACK
# before its deadline): endings a channel keeps refusing never take a whole run from the jobs in progress.
NOTIFY_SHARE = 0.5


@dataclass
class Pace:
    """How many checks a second this environment makes: measured on its own sweeps, and before any, estimated
    from the CPU time a check takes and the share of a vCPU Lambda gives the function's memory (1,769 MB is one)."""

    cpu_share: float
    cpu_per_check: float = 0.005  # seconds of one vCPU, measured here; replaced by this environment's own
    seconds_per_check: float | None = None  # wall time per check at the sweep's concurrency, measured

    def rate(self) -> float:
        if self.seconds_per_check is not None:
            return 1 / self.seconds_per_check
        return self.cpu_share / self.cpu_per_check

    def learn(self, checks: int, wall: float, cpu: float) -> None:
        if checks >= 10 and wall > 0:  # too few say little
            self.cpu_per_check = cpu / checks
            self.seconds_per_check = wall / checks


@dataclass
class SweepReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    stopped_early: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"outcomes": dict(self.outcomes), "errors": dict(self.errors), "stoppedEarly": self.stopped_early}


class Sweep:
    def __init__(
        self,
        tracker: Tracker,
        records: RecordStore,
        *,
        workers: int,
        clock: Clock,
        period: timedelta = timedelta(minutes=1),
        discovery: Discovery | None = None,
        timers: Timers | None = None,
        cpu_share: float = 1.0,
        run_budget: timedelta = timedelta(seconds=60),
    ) -> None:
        self.tracker = tracker
        self.records = records
        self.workers = workers
        self.clock = clock
        self.period = period
        self.discovery = discovery
        self.timers = timers
        self.pace = Pace(cpu_share)
        # When the last sweep of this execution environment that asked about all due work began (polling.forced).
        self.since: datetime | None = None
        self._run_since: datetime | None = None  # the `since` of the sweep in progress
        # How long a run of the function has (its timeout): what a run of the checks queue that takes a hand-off
        # has, whatever is left of the sweep that hands it off.
        self.run_budget = run_budget
        self._handing_off = False
        self._notify_until: datetime | None = None  # pending notifications are retried until then (NOTIFY_SHARE)

    def run(self, *, deadline: datetime) -> SweepReport:
        """Each piece of work starts only if it can finish before `deadline` (clients.TRACK, RETRY); what does not
        fit stays due, most overdue first, for the next sweep."""
        count(SWEEPS)
        report = SweepReport()
        started = self.clock()
        state = self._read_state()
        since = self._since(started, state)
        if self.discovery is not None:
            report.outcomes.update(self.discovery.run(deadline=deadline))
        notify = SweepReport()  # its share spent, the checks still go (NOTIFY_SHARE)
        self._notify_until = started + (deadline - TRACK - started) * NOTIFY_SHARE
        pending = self._work(NOTIFY, self._retry, notify, started=started, deadline=deadline)
        report.outcomes.update(notify.outcomes)
        report.errors.update(notify.errors)
        gauge(NOTIFICATIONS_PENDING, pending)
        complete = False
        if not report.stopped_early:
            errors = sum(report.errors.values())
            self._handing_off, self._run_since = False, since
            for work in IN_PROGRESS_WORK:
                if not report.stopped_early:
                    self._work(work, partial(self._check, work=work), report, started=started, deadline=deadline)
            complete = not report.stopped_early and sum(report.errors.values()) == errors
            if complete:
                self.since = started  # every forced check due by `started` was asked, or handed off
            try:
                gauge(INVOCATIONS_IN_PROGRESS, sum(self.records.count(work) for work in IN_PROGRESS_WORK))
            except TrackerError as exc:  # a missing data point on the dashboard, nothing more
                count_error(exc.kind)
        report.stopped_early = report.stopped_early or notify.stopped_early
        self._write_state(state, complete=complete, since=since, started=started)
        logger.info("sweep finished", extra=report.as_dict())
        return report

    def _read_state(self) -> dict[str, Any] | None:
        try:
            state = self.records.state()
        except TrackerError as exc:
            count_error(exc.kind)
            return None
        self.tracker.adopt(state)
        return state

    def _since(self, started: datetime, state: dict[str, Any] | None) -> datetime | None:
        """Since when forced checks are known to be made: the start of the last complete sweep of any environment (the
        shared item keeps it: sweeps are missed, throttled or late, so a new environment cannot guess it from the
        schedule), or of this one's; earlier if a sweep has since left due work unasked. None (ask everything due)
        without state, or before any sweep was complete."""
        if state is None:
            return None
        shared = state.get("lastCompleteSweep")
        known = [moment for moment in (self.since, shared and datetime.fromtimestamp(int(shared), UTC)) if moment]
        if not known:
            return None
        since = max(known)
        incomplete = state.get("incompleteSince")
        if incomplete is not None:
            since = min(since, datetime.fromtimestamp(int(incomplete), UTC))
        return since

    def _write_state(
        self, state: dict[str, Any] | None, *, complete: bool, since: datetime | None, started: datetime
    ) -> None:
        """Say whether due work was left unasked (a write only when that changes) or, complete, when this sweep
        started (a write each complete sweep, for every environment's next), and save the durations learned when
        that is worth a write."""
        self.tracker.share_what_was_learned()
        if state is None:
            return
        try:
            if not complete:
                self.records.mark_sweeps_incomplete(since or self.clock())
            else:
                self.records.mark_sweep_complete_at(started)
                if "incompleteSince" in state:
                    marks = state.get("incompleteMarks")
                    self.records.mark_sweeps_complete(
                        int(state["incompleteSince"]), int(marks) if marks is not None else None
                    )
        except TrackerError as exc:
            count_error(exc.kind)

    def _work(
        self,
        work: str,
        action: Action,
        report: SweepReport,
        *,
        started: datetime,
        deadline: datetime,
    ) -> int:
        """Do one kind of due work, a page at a time, most overdue first; returns how much was due.

        Only work due when the sweep started is taken, so the loop ends even while new work keeps falling due.
        """
        due = 0
        pages = self.records.due(work, now=started)
        while not report.stopped_early:
            try:
                items = next(pages, None)
            except OutOfTime:  # no time left to read the next page: the rest stays due
                report.stopped_early = True
                break
            if items is None:
                break
            due += len(items)
            if work in IN_PROGRESS_WORK:
                items = self._hand_off_what_cannot_be_reached(items, deadline, report, work=work)
            attempt = partial(self._attempt, action, deadline=deadline)
            began, cpu = self.clock(), time.process_time()
            results = map_concurrently(attempt, items, workers=self.workers)
            for result, detail in results:
                if result == "ok":
                    report.outcomes[detail] += 1
                elif result == "error":
                    report.errors[detail] += 1
                else:
                    report.stopped_early = True
            if work in IN_PROGRESS_WORK:
                asked = sum(1 for _, detail in results if detail != Outcome.WAITING.value)
                self.pace.learn(asked, (self.clock() - began).total_seconds(), time.process_time() - cpu)
        return due

    def _hand_off_what_cannot_be_reached(
        self, items: list[DueItem], deadline: datetime, report: SweepReport, *, work: str
    ) -> list[DueItem]:
        """Of a page of due work, what this sweep can check before it must stop starting checks (TRACK before the
        deadline, at its pace); the rest, if worth asking about, goes to the checks queue for other environments."""
        if self.timers is None:
            return items
        window = (deadline - TRACK - self.clock()).total_seconds()
        reachable = 0 if self._handing_off else max(0, int(window * self.pace.rate()))
        if len(items) <= reachable:
            return items
        self._handing_off = True  # from here on, every page goes to the others
        rest = [item for item in items[reachable:] if self.tracker.worth_asking(item, since=self._run_since, work=work)]
        # A handed-off check that fails is made up: the consumer hands on what it could not check and, where it
        # cannot, marks sweeps incomplete from this sweep's `since` (checks.Checks), so this sweep counts as complete.
        # Each message is what one run of the checks queue can check before its deadline at this pace.
        per_message = int((self.run_budget - TRACK).total_seconds() * self.pace.rate() / BATCH)
        since = int(self._run_since.timestamp()) if self._run_since is not None else 0
        handed = self.timers.hand_off([item.arn for item in rest], since=since, per_message=per_message)
        count(CHECKS_HANDED_OFF, handed)
        report.outcomes["handed_off"] += handed
        if handed < len(rest):
            report.stopped_early = True  # what could not be handed off stays due
        return items[:reachable]

    def _attempt(self, action: Action, item: DueItem, *, deadline: datetime) -> tuple[str, str]:
        try:
            return "ok", action(item, deadline)
        except OutOfTime:  # left due: the next sweep starts with it
            return "deferred", ""
        except TrackerError as exc:
            count_error(exc.kind)
            logger.warning(
                "sweep could not check invocation",
                extra={"invocationArn": item.arn, "kind": exc.kind, "reason": exc.reason},
            )
            return "error", exc.kind

    def _retry(self, item: DueItem, deadline: datetime) -> str:
        if self._notify_until is not None and self.clock() > self._notify_until:
            raise OutOfTime("the sweep's share of time for pending notifications is spent: the checks go first")
        return self.tracker.retry_notification(item.arn, deadline=deadline).value

    def _check(self, item: DueItem, deadline: datetime, *, work: str) -> str:
        if not self.tracker.worth_asking(item, since=self._run_since, work=work):
            if work == POLL:
                self._time_long_job(item)
            return Outcome.WAITING.value
        return self.tracker.check(InvocationArn.parse(item.arn), deadline=deadline, tracked=True).value

    def _time_long_job(self, item: DueItem) -> None:
        """A job too long for a timer when it was recorded (SQS delays 15 minutes at most) gets its first from a
        sweep, once it would go off within a period; its later timers follow from there. One series per job: the
        record says it has one, and a sweep starts another only once its next timer is a period overdue."""
        self.tracker.start_timer_series(item, within=self.period, stale=self.period)
