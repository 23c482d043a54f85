"""Discovery: invocations started in the account but never submitted, found with ListAsyncInvokes and tracked."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from .bedrock import BedrockReader
from .errors import OutOfTime, TrackerError, UnexpectedAnswer
from .invocations import Invocation
from .lifecycle import Tracker
from .records import RecordStore
from .telemetry import INVOCATIONS_DISCOVERED, count, count_error, logger

# Submission times come from Bedrock's clock: look a little before the watermark, and let the keys sort it out.
OVERLAP = timedelta(minutes=5)
# The first time discovery runs in a region, it adopts what was submitted in the hour before.
FIRST_LOOK_BACK = timedelta(hours=1)


class Discovery:
    def __init__(
        self,
        bedrock: BedrockReader,
        records: RecordStore,
        tracker: Tracker,
        *,
        regions: tuple[str, ...],
        model_ids: frozenset[str],
        clock: Callable[[], datetime],
    ) -> None:
        self.bedrock = bedrock
        self.records = records
        self.tracker = tracker
        self.regions = regions
        self.model_ids = model_ids
        self.clock = clock

    def run(self, *, deadline: datetime) -> Counter[str]:
        """Track what was submitted since each region's watermark and is not tracked yet."""
        outcomes: Counter[str] = Counter()
        for region in self.regions:
            try:
                self._region(region, outcomes, deadline=deadline)
            except OutOfTime:  # the watermark stays: the next sweep lists these again
                return outcomes
            except TrackerError as exc:  # the next sweep lists again from the same watermark
                count_error(f"discovery_{exc.kind}")
                logger.warning("discovery failed", extra={"region": region, "kind": exc.kind, "reason": exc.reason})
                outcomes["discovery_errors"] += 1
        return outcomes

    def _region(self, region: str, outcomes: Counter[str], *, deadline: datetime) -> None:
        watermark = self.records.watermark(region)
        since = watermark - OVERLAP if watermark else self.clock() - FIRST_LOOK_BACK
        newest = watermark
        for page in self.bedrock.submitted_since(region, since):
            invocations = [invocation for invocation in map(self._invocation, page) if invocation is not None]
            known = self.records.known([invocation.invocation_arn for invocation in invocations])
            for invocation in invocations:
                if invocation.invocation_arn not in known:
                    outcome = self._adopt(invocation, deadline)
                    outcomes[outcome] += 1
                newest = max(newest or invocation.submit_time, invocation.submit_time)
        if newest is not None and newest != watermark:
            self.records.set_watermark(region, newest)

    def _invocation(self, summary: Mapping[str, Any]) -> Invocation | None:
        arn = str(summary.get("invocationArn", ""))
        try:
            invocation = Invocation.from_answer(arn, summary)
        except UnexpectedAnswer as exc:
            logger.warning(
                "discovery skipped a summary it cannot trust", extra={"invocationArn": arn, "reason": exc.reason}
            )
            return None
        if self.model_ids and invocation.model_id not in self.model_ids:
            return None
        return invocation

    def _adopt(self, invocation: Invocation, deadline: datetime) -> str:
        outcome = self.tracker.observe(invocation, deadline=deadline)  # a record found ended is ALREADY_ENDED
        count(INVOCATIONS_DISCOVERED)
        logger.info(
            "invocation discovered", extra={"invocationArn": invocation.invocation_arn, "outcome": outcome.value}
        )
        return f"discovered_{outcome.value}"
