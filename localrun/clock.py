"""A clock that moves only when told: one for the function, the stack (Bedrock's jobs, DynamoDB's TTL, SNS FIFO
deduplication) and Lambda's deadlines, so that leases, due times and jobs run out when a test or the bench says."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)

    def advance_to(self, moment: datetime) -> None:
        with self._lock:
            self.now = max(self.now, moment)
