"""What the tracker's work costs in dollars: AWS's published us-east-1 prices in one dated table, and the arithmetic
that turns a bench's counts (invocations, GB-seconds, requests, writes, publishes) into dollars.

Prices as published on each service's pricing page (us-east-1, on-demand, no free tier counted). Check them before
relying on the figures: AWS changes prices, rarely upwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

PRICES_AS_OF = "2026-12-01"
REGION = "us-east-1"

# dollars per unit, and the unit
PRICES: dict[str, tuple[float, str]] = {
    "lambda_request": (0.20 / 1e6, "Lambda request"),
    "lambda_gb_second_arm64": (0.0000133334, "Lambda GB-second on arm64 (first 7.5 billion a month)"),
    "dynamodb_write_request_unit": (0.625 / 1e6, "DynamoDB on-demand write request unit"),
    "dynamodb_read_request_unit": (0.125 / 1e6, "DynamoDB on-demand read request unit"),
    "sqs_request": (0.40 / 1e6, "SQS standard queue request (64 KiB chunk)"),
    "sns_publish": (0.50 / 1e6, "SNS standard topic publish (64 KiB chunk)"),
    "eventbridge_event": (1.00 / 1e6, "EventBridge custom event put (64 KiB chunk)"),
    "s3_list": (0.005 / 1e3, "S3 Standard LIST request"),
    "s3_get": (0.0004 / 1e3, "S3 Standard GET request"),
    "cloudwatch_metric_month": (0.30, "CloudWatch custom metric a month (first 10,000)"),
    "cloudwatch_logs_gb": (0.50, "CloudWatch Logs ingestion, GB (EMF metrics arrive as log lines)"),
}

# What the counts do not say, assumed: each named where it is used. (DynamoDB's units are not assumed: the local
# stack counts each request's read and write request units as DynamoDB charges them, localrun/capacity.py.)
# An SQS message costs its send, the event source mapping's receive and its delete (unbatched: an upper bound).
SQS_REQUESTS_PER_MESSAGE = 3
# A Lambda event source mapping long-polls each queue with about 5 pollers, 20 s each, empty or not: 2 queues.
SQS_IDLE_POLLS_PER_MONTH = 2 * 5 * 3 * 60 * 24 * 30
# Powertools writes one EMF document per invocation (and the function a few log lines): about 1 KiB.
LOG_BYTES_PER_INVOCATION = 1024
DAYS_PER_MONTH = 30


@dataclass
class Usage:
    """What a run used: counts by price name (lambda_gb_second_arm64 in GB-seconds, the rest in units)."""

    counts: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, amount: float) -> None:
        if name not in PRICES:
            raise KeyError(f"no price for {name}")
        self.counts[name] = self.counts.get(name, 0.0) + amount

    def dollars(self) -> float:
        return sum(PRICES[name][0] * amount for name, amount in self.counts.items())


def lambda_usage(usage: Usage, *, invocations: int, seconds: list[float], memory_mb: int) -> None:
    """Requests and GB-seconds, each invocation's duration billed to the millisecond, rounded up."""
    usage.add("lambda_request", invocations)
    billed = sum(math.ceil(duration * 1000) / 1000 for duration in seconds)
    usage.add("lambda_gb_second_arm64", billed * memory_mb / 1024)
    usage.add("cloudwatch_logs_gb", invocations * LOG_BYTES_PER_INVOCATION / 1024**3)


def aws_usage(
    usage: Usage, operations: Mapping[str, int], *, sqs_messages: int, dynamodb_units: Mapping[str, float]
) -> None:
    """The calls the function made (the local stack's proxy counts them, `service:Operation`), the DynamoDB request
    units they cost (`read`, `write`: LocalAws.consumed_capacity) and the SQS messages that carried its work
    (intake, timers, hand-offs, output events)."""
    usage.add("dynamodb_read_request_unit", dynamodb_units.get("read", 0.0))
    usage.add("dynamodb_write_request_unit", dynamodb_units.get("write", 0.0))
    for operation, count in operations.items():
        service, _, name = operation.partition(":")
        if service == "dynamodb":
            continue  # charged by the units above
        if service == "sns" and name == "Publish":
            usage.add("sns_publish", count)
        elif service == "events" and name == "PutEvents":
            usage.add("eventbridge_event", count)  # the tracker puts one ending per call
        elif service == "s3" and name in ("ListObjectsV2", "ListObjects"):
            usage.add("s3_list", count)
        elif service == "s3" and name in ("GetObject", "GetBucketLocation"):  # both GET-priced (all other requests)
            usage.add("s3_get", count)
        elif service == "sqs" and name in ("SendMessage", "SendMessageBatch"):
            pass  # counted as messages below, with their receive and delete
    usage.add("sqs_request", sqs_messages * SQS_REQUESTS_PER_MESSAGE)


def fixed_monthly_dollars(metrics: int) -> float:
    """What a deployment costs a month whatever its jobs: its custom metrics and its queues' idle polling."""
    return metrics * PRICES["cloudwatch_metric_month"][0] + SQS_IDLE_POLLS_PER_MONTH * PRICES["sqs_request"][0]


def monthly_dollars(*, per_1000_jobs: float, fixed_per_day: float, fixed_per_month: float, jobs_per_day: int) -> float:
    """A month of `jobs_per_day` jobs: the jobs' own cost, the sweeps that run every minute, the fixed costs."""
    return DAYS_PER_MONTH * (per_1000_jobs * jobs_per_day / 1000 + fixed_per_day) + fixed_per_month
