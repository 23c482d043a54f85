"""The sweep: retry pending notifications, then check every in-progress invocation that is due."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .concurrency import map_concurrently
from .errors import TrackerError
from .invocations import InvocationArn
from .records import NOTIFY, POLL, RecordStore
from .telemetry import SWEEPS, count, count_error, logger
from .tracker import Clock, Tracker

# Stop starting new work this long before the Lambda's deadline, so that what is in flight can finish.
SAFETY_MARGIN = timedelta(seconds=15)


@dataclass
class SweepReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    stopped_early: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"outcomes": dict(self.outcomes), "errors": dict(self.errors), "stoppedEarly": self.stopped_early}


class Sweep:
    def __init__(self, tracker: Tracker, records: RecordStore, *, workers: int, clock: Clock) -> None:
        self.tracker = tracker
        self.records = records
        self.workers = workers
        self.clock = clock

    def run(self, *, deadline: datetime) -> SweepReport:
        count(SWEEPS)
        report = SweepReport()
        stop_at = deadline - min(SAFETY_MARGIN, (deadline - self.clock()) / 3)
        started = self.clock()
        for work, action in ((NOTIFY, self._retry), (POLL, self._check)):
            # Work that becomes due while this sweep runs waits for the next one: the loop always ends.
            for arns in self.records.due(work, now=started):
                if self.clock() >= stop_at:
                    report.stopped_early = True
                    break

                def one(arn: str, action: Callable[[str, datetime], str] = action) -> tuple[str, str]:
                    if self.clock() >= stop_at:
                        return "deferred", ""
                    try:
                        return "ok", action(arn, deadline)
                    except TrackerError as exc:
                        count_error(exc.kind)
                        logger.warning(
                            "sweep could not check invocation",
                            extra={"invocationArn": arn, "kind": exc.kind, "reason": exc.reason},
                        )
                        return "error", exc.kind

                for result, detail in map_concurrently(one, arns, workers=self.workers):
                    if result == "ok":
                        report.outcomes[detail] += 1
                    elif result == "error":
                        report.errors[detail] += 1
                    else:
                        report.stopped_early = True
            if report.stopped_early:
                break
        logger.info("sweep finished", extra=report.as_dict())
        return report

    def _retry(self, arn: str, deadline: datetime) -> str:
        return self.tracker.retry_notification(arn, deadline=deadline).value

    def _check(self, arn: str, deadline: datetime) -> str:
        return self.tracker.check(InvocationArn.parse(arn), deadline=deadline).value
