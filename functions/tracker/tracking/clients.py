"""Every AWS client the function makes: its timeouts and retries, the longest one call can therefore take, and a
guard that refuses to start a call that could outlast the Lambda's deadline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from botocore.client import BaseClient
from botocore.config import Config

from .errors import OutOfTime

C = TypeVar("C", bound=BaseClient)

# Named in every request's User-Agent: CloudTrail shows which calls were the tracker's, and the local stack tells
# the function's calls from a test's.
USER_AGENT = "bedrock-async-tracker"

# botocore's standard mode sleeps rand(0, 1) * min(2 ** (n - 1), 20) seconds before retry n (one second scale for
# throttling errors, less for others), and up to five seconds more when the answer carries x-amz-retry-after.
_MAX_BACKOFF = 20.0
_RETRY_AFTER_EXTRA = 5.0


@dataclass(frozen=True)
class CallLimits:
    """How long one call may take: `attempts` in all (botocore's standard retries), each bounded by the timeouts."""

    attempts: int
    connect_timeout: float
    read_timeout: float

    def config(self, pool: int) -> Config:
        return Config(
            retries={"mode": "standard", "total_max_attempts": self.attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=max(10, pool),
            user_agent_extra=USER_AGENT,
        )

    @classmethod
    def of(cls, config: Config) -> CallLimits:
        """The limits a client runs with, read from its own configuration (`client.meta.config`)."""
        options = vars(config)  # Config keeps each option as an attribute (botocore-stubs declare none of them)
        attempts = (options.get("retries") or {}).get("total_max_attempts")
        if attempts is None:
            raise ValueError("a client not made with CallLimits.config: its worst case is unknown")
        return cls(
            attempts=int(attempts),
            connect_timeout=float(options["connect_timeout"]),
            read_timeout=float(options["read_timeout"]),
        )

    @property
    def worst_case(self) -> timedelta:
        """Every attempt waits out both timeouts, and every retry sleeps its longest backoff."""
        waits = self.attempts * (self.connect_timeout + self.read_timeout)
        backoff = sum(min(2.0**retry, _MAX_BACKOFF) + _RETRY_AFTER_EXTRA for retry in range(self.attempts - 1))
        return timedelta(seconds=waits + backoff)


BEDROCK = CallLimits(attempts=3, connect_timeout=1, read_timeout=3)
DYNAMODB = CallLimits(attempts=2, connect_timeout=1, read_timeout=2)
# One attempt: botocore would resend a Publish that timed out after SNS accepted it, and a standard topic would
# deliver it twice. A timeout is "outcome unknown" instead (errors.OutcomeUnknown), settled by the lease.
SNS = CallLimits(attempts=1, connect_timeout=1, read_timeout=4)
# PutEvents likewise: once, its timeout settled by the lease.
EVENTS = CallLimits(attempts=1, connect_timeout=1, read_timeout=4)
S3 = CallLimits(attempts=2, connect_timeout=1, read_timeout=2)
# Resuming a waiting workflow (callbacks.py) may be resent, unlike a Publish: Step Functions and Lambda close a task
# token or callback id on its first success and refuse every later one (TaskTimedOut, CallbackTimeoutException), so
# a retry after a timeout can never resume a workflow twice. At worst it finds the callback closed by its own first
# attempt and records it as gone: the workflow was resumed all the same.
STATES = CallLimits(attempts=2, connect_timeout=1, read_timeout=3)
LAMBDA = CallLimits(attempts=2, connect_timeout=1, read_timeout=3)
SQS = CallLimits(attempts=2, connect_timeout=1, read_timeout=2)

# The steps that must finish together once started, and so the time each needs before it may start.
TRACK = BEDROCK.worst_case + DYNAMODB.worst_case  # ask Bedrock, record the answer
PUBLISH = S3.worst_case + SNS.worst_case + DYNAMODB.worst_case  # list the outputs, publish, mark it published
RETRY = DYNAMODB.worst_case + PUBLISH  # claim a pending notification, then publish it
PUT_EVENT = EVENTS.worst_case  # with a bus named, publishing also puts the event, before marking both

Clock = Callable[[], datetime]


class DeadlineGuard:
    """The deadline of the run in progress (one at a time per execution environment, as Lambda runs them).

    Registered on every client, it refuses to start a call whose worst case would end after the deadline, so that
    Lambda never kills a run in the middle of its work."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.deadline: datetime | None = None

    def allows(self, work: timedelta) -> bool:
        return self.deadline is None or self.clock() + work <= self.deadline

    def watch(self, client: C) -> C:
        """Guard `client`, with the worst case of the configuration it was made with (CallLimits.config)."""
        limits = CallLimits.of(client.meta.config)

        def before_call(model: Any = None, **_: Any) -> None:
            if not self.allows(limits.worst_case):
                name = getattr(model, "name", "a call")
                raise OutOfTime(f"{name} could take {limits.worst_case.total_seconds():.0f} s; less is left")

        client.meta.events.register("before-call", before_call)
        return client
