"""The sweep: discover untracked invocations (if enabled), retry pending notifications, then check every
in-progress invocation that is due."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from .concurrency import map_concurrently
from .discovery import Discovery
from .errors import OutOfTime, TrackerError
from .invocations import InvocationArn
from .records import NOTIFY, POLL, DueItem, RecordStore
from .telemetry import INVOCATIONS_IN_PROGRESS, NOTIFICATIONS_PENDING, SWEEPS, count, count_error, gauge, logger
from .tracker import Clock, Outcome, Tracker

Action = Callable[[DueItem, datetime], str]


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
        discovery: Discovery | None = None,
    ) -> None:
        self.tracker = tracker
        self.records = records
        self.workers = workers
        self.clock = clock
        self.discovery = discovery
        # When the last sweep of this execution environment that asked about all due work began (polling.forced);
        # a new environment does not know, and asks about everything due.
        self.since: datetime | None = None

    def run(self, *, deadline: datetime) -> SweepReport:
        """Each piece of work starts only if it can finish before `deadline` (clients.TRACK, RETRY); what does not
        fit stays due, most overdue first, for the next sweep."""
        count(SWEEPS)
        report = SweepReport()
        started = self.clock()
        if self.discovery is not None:
            report.outcomes.update(self.discovery.run(deadline=deadline))
        pending = self._work(NOTIFY, self._retry, report, started=started, deadline=deadline)
        gauge(NOTIFICATIONS_PENDING, pending)
        if not report.stopped_early:
            errors = sum(report.errors.values())
            self._work(POLL, self._check, report, started=started, deadline=deadline)
            if not report.stopped_early and sum(report.errors.values()) == errors:
                self.since = started  # every forced check due by `started` was asked
            try:
                gauge(INVOCATIONS_IN_PROGRESS, self.records.count(POLL))
            except TrackerError as exc:  # a missing data point on the dashboard, nothing more
                count_error(exc.kind)
        logger.info("sweep finished", extra=report.as_dict())
        return report

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
            attempt = partial(self._attempt, action, deadline=deadline)
            for result, detail in map_concurrently(attempt, items, workers=self.workers):
                if result == "ok":
                    report.outcomes[detail] += 1
                elif result == "error":
                    report.errors[detail] += 1
                else:
                    report.stopped_early = True
        return due

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
        return self.tracker.retry_notification(item.arn, deadline=deadline).value

    def _check(self, item: DueItem, deadline: datetime) -> str:
        if not self.tracker.worth_asking(item, since=self.since):
            return Outcome.WAITING.value
        return self.tracker.check(InvocationArn.parse(item.arn), deadline=deadline, tracked=True).value
