"""The function's settings, read and validated once from the environment at cold start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta


class ConfigurationError(Exception):
    """The environment the template sets is missing a variable or holds a bad value."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    topic_arn: str
    max_poll_interval_seconds: int
    record_retention_days: int = 30
    concurrency: int = 32
    function_timeout_seconds: int = 60
    # Accounts whose invocation ARNs are accepted; empty accepts any (the role still limits what can be read).
    allowed_accounts: frozenset[str] = frozenset()
    overdue_minutes: int = 60
    # Buckets whose objects a completed invocation's notification lists (s3:ListBucket granted on these only).
    output_buckets: frozenset[str] = frozenset()
    # Regions whose invocations sweeps discover with ListAsyncInvokes; empty turns discovery off.
    discovery_regions: tuple[str, ...] = ()
    discovery_model_ids: frozenset[str] = frozenset()
    # How often the schedule sweeps (its rate expression, SWEEP_SCHEDULE): the contract's bound is the poll
    # interval plus one sweep period, and adaptive polling judges what may have ended since the last sweep.
    sweep_period: timedelta = timedelta(minutes=1)
    # Where checks are asked for: output events, timers, hand-offs (CHECKS_QUEUE_URL); empty sets no timers.
    checks_queue_url: str = ""
    # The EventBridge bus every ending is also put on (EVENT_BUS_NAME: a name, "default", or an ARN); empty: none.
    event_bus_name: str = ""
    # The function's memory (Lambda's own AWS_LAMBDA_FUNCTION_MEMORY_SIZE): its share of a vCPU, 1,769 MB being one.
    memory_mb: int = 1769
    # The stack's Region (Lambda's own AWS_REGION) and account (ACCOUNT_ID): S3 sends a watched bucket's events to
    # this stack only from a bucket of this Region that this account owns. Empty: not known, not checked.
    region: str = ""
    account: str = ""

    @property
    def cpu_share(self) -> float:
        return min(1.0, self.memory_mb / 1769)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            table_name=_required(env, "TABLE_NAME"),
            topic_arn=_required(env, "TOPIC_ARN"),
            max_poll_interval_seconds=_integer(env, "MAX_POLL_INTERVAL_SECONDS", None, minimum=0),
            record_retention_days=_integer(env, "RECORD_RETENTION_DAYS", 30, minimum=1),
            concurrency=_integer(env, "CONCURRENCY", 32, minimum=1),
            function_timeout_seconds=_integer(env, "FUNCTION_TIMEOUT_SECONDS", 60, minimum=1),
            allowed_accounts=_accounts(env.get("ALLOWED_ACCOUNTS", "")),
            overdue_minutes=_integer(env, "OVERDUE_MINUTES", 60, minimum=1),
            sweep_period=_rate(env.get("SWEEP_SCHEDULE", "").strip() or "rate(1 minute)"),
            checks_queue_url=env.get("CHECKS_QUEUE_URL", "").strip(),
            event_bus_name=env.get("EVENT_BUS_NAME", "").strip(),
            memory_mb=_integer(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 1769, minimum=128),
            region=env.get("AWS_REGION", "").strip(),
            account=env.get("ACCOUNT_ID", "").strip(),
            discovery_regions=tuple(dict.fromkeys(_list(env, "DISCOVERY_REGIONS"))),
            discovery_model_ids=frozenset(_list(env, "DISCOVERY_MODEL_IDS")),
            output_buckets=frozenset(
                part.strip().removeprefix("arn:").split(":::")[-1]
                for part in env.get("OUTPUT_BUCKETS", "").split(",")
                if part.strip()
            ),
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required and is not set")
    return value


def _list(env: Mapping[str, str], name: str) -> list[str]:
    return [part.strip() for part in env.get(name, "").split(",") if part.strip()]


# Seconds are not a unit of EventBridge schedules: only the local stack, whose clock runs faster, uses them.
_RATE = re.compile(r"rate\((?P<value>[1-9][0-9]*) (?P<unit>seconds?|minutes?|hours?|days?)\)")
_UNIT = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}


def _rate(expression: str) -> timedelta:
    """The period of an EventBridge rate expression (the template allows rates only)."""
    match = _RATE.fullmatch(expression)
    if match is None:
        raise ConfigurationError(
            f"SWEEP_SCHEDULE must be a rate expression such as rate(5 minutes), got {expression!r}"
        )
    return int(match["value"]) * _UNIT[match["unit"].rstrip("s")]


def _accounts(raw: str) -> frozenset[str]:
    accounts = frozenset(part.strip() for part in raw.split(",") if part.strip())
    bad = sorted(a for a in accounts if not (len(a) == 12 and a.isdigit()))
    if bad:
        raise ConfigurationError(f"ALLOWED_ACCOUNTS must list 12-digit account IDs, got {', '.join(bad)}")
    return accounts


def _integer(env: Mapping[str, str], name: str, default: int | None, *, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        if default is None:
            raise ConfigurationError(f"environment variable {name} is required and is not set")
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"environment variable {name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigurationError(f"environment variable {name} must be at least {minimum}, got {value}")
    return value
