"""What happened in a scenario, in order: each entry names the jobs it concerns (an ARN, or an output folder's
invocation id), so that a broken promise can be reported with the events that led there."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    subjects: tuple[str, ...]
    detail: str


@dataclass
class Trail:
    start: datetime
    entries: list[Entry] = field(default_factory=list)

    def add(
        self, at: datetime, kind: str, subjects: list[str] | tuple[str, ...] | str | None, detail: str = ""
    ) -> None:
        if subjects is None:
            subjects = ()
        elif isinstance(subjects, str):
            subjects = (subjects,)
        self.entries.append(Entry(at, kind, tuple(subjects), detail))

    def of(self, arn: str) -> list[Entry]:
        """The entries about one job (by ARN or its invocation id) and those about every job (sweeps, outages)."""
        invocation_id = arn.rsplit("/", 1)[-1]
        return [e for e in self.entries if not e.subjects or arn in e.subjects or invocation_id in e.subjects]

    def text(self, entries: list[Entry], *, limit: int = 60) -> list[str]:
        lines = [f"+{(e.at - self.start).total_seconds():8.1f}s {e.kind:<18} {e.detail}" for e in entries]
        if len(lines) > limit:
            lines = [*lines[: limit // 2], f"... {len(lines) - limit} more ...", *lines[-limit // 2 :]]
        return lines
