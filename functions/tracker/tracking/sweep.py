"""The sweep: discover untracked invocations (if enabled), retry pending notifications, then check every
in-progress invocation that is due."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from .concurrency import map_concurrently
from .discovery import Discovery
from .errors import TrackerError
from .invocations import InvocationArn
from .records import NOTIFY, POLL, DueItem, RecordStore
from .telemetry import INVOCATIONS_IN_PROGRESS, NOTIFICATIONS_PENDING, SWEEPS, count, count_error, gauge, logger
from .tracker import Clock, Outcome, Tracker

# Stop starting new work this long before the Lambda's deadline, so that what is in flight can finish.
SAFETY_MARGIN = timedelta(seconds=15)

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

    def run(self, *, deadline: datetime) -> SweepReport:
        count(SWEEPS)
        report = SweepReport()
        started = self.clock()
        stop_at = deadline - min(SAFETY_MARGIN, (deadline - started) / 3)
        if self.discovery is not None:
            report.outcomes.update(self.discovery.run(deadline=deadline, stop_at=stop_at))
        pending = self._work(NOTIFY, self._retry, report, started=started, stop_at=stop_at, deadline=deadline)
        gauge(NOTIFICATIONS_PENDING, pending)
        if not report.stopped_early:
            self._work(POLL, self._check, report, started=started, stop_at=stop_at, deadline=deadline)
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
        stop_at: datetime,
        deadline: datetime,
    ) -> int:
        """Do one kind of due work, a page at a time, most overdue first; returns how much was due.

        Only work due when the sweep started is taken, so the loop ends even while new work keeps falling due.
        """
        due = 0
        for arns in self.records.due(work, now=started):
            due += len(arns)
            if self.clock() >= stop_at:
                report.stopped_early = True
                break
            attempt = partial(self._attempt, action, stop_at=stop_at, deadline=deadline)
            for result, detail in map_concurrently(attempt, arns, workers=self.workers):
                if result == "ok":
                    report.outcomes[detail] += 1
                elif result == "error":
                    report.errors[detail] += 1
                else:
                    report.stopped_early = True
        return due

    def _attempt(self, action: Action, item: DueItem, *, stop_at: datetime, deadline: datetime) -> tuple[str, str]:
        if self.clock() >= stop_at:  # left due: the next sweep starts with it
            return "deferred", ""
        try:
            return "ok", action(item, deadline)
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
        if not self.tracker.worth_asking(item):
            return Outcome.WAITING.value
        return self.tracker.check(InvocationArn.parse(item.arn), deadline=deadline, tracked=True).value
