"""What AWS may do on its worst day, each at a chosen rate, and how it is done to the function's requests.

Requests to DynamoDB, SNS, EventBridge and S3 pass localrun's proxy: `Faults.decide` picks, for each, a fault at
the world's rates (an error in the service's wire format, or the request taking effect and its answer lost), and
`Faults.rewrite` counts the writes that took effect; the proxy's `map_order` gives a DynamoDB Map's keys back in
another order (its CRC32 made anew, as botocore checks it). Bedrock's faults are the simulator's own;
SQS's are chaos.queues'; the schedule's and Lambda's are the scenario's.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from localrun.aws_proxy import Fault

from .trail import Trail

ARN = re.compile(r"arn:aws:bedrock:[a-z0-9-]+:\d{12}:async-invoke/[a-z0-9]{12}")
WORK = re.compile(r'":work":\s*\{"S":\s*"(listen|timed|poll)"')
WRITES = {"UpdateItem", "PutItem", "DeleteItem"}


@dataclass(frozen=True)
class Rates:
    """Every misbehaviour, on by default at a rate that a day on AWS can show; `Rates.off()` for none."""

    # DynamoDB: an index Query sees a write 0..index_lag s late; throttles; a write taken whose answer is lost.
    index_lag: float = 3.0
    dynamodb_throttles: float = 0.01
    lost_answers: float = 0.005
    shuffle_maps: bool = True
    # SQS: duplicates (delayed ones too), throttled sends, refused batch entries, receives Lambda throttled.
    sqs_duplicates: float = 0.02
    sqs_duplicate_spread: float = 30.0
    sqs_send_throttles: float = 0.01
    sqs_entry_failures: float = 0.01
    receive_throttles: float = 0.01
    # Lambda: environments replaced (per environment and hour), runs killed at a random moment.
    recycles_per_hour: float = 2.0
    kills: float = 0.01
    # The schedule: a sweep late (up to a period), throttled by reserved concurrency (retried 1 to 3 min later),
    # missed, sent to its dead-letter queue; and, with this chance per scenario, an outage of 3 to 10 minutes.
    sweeps_late: float = 0.05
    sweeps_throttled: float = 0.03
    sweeps_missed: float = 0.02
    sweeps_dead_lettered: float = 0.01
    schedule_outage: float = 0.3
    # SNS and EventBridge: transient refusals, accepted but unanswered, and with this chance per scenario a refusal
    # for good (AccessDenied on the topic, a deleted bus) that a person fixes 10 to 40 minutes later.
    publish_refusals: float = 0.02
    publish_unanswered: float = 0.01
    put_refusals: float = 0.02
    put_unanswered: float = 0.01
    topic_denied: float = 0.2
    bus_deleted: float = 0.3
    # Bedrock: the status flips 0..status_lag s after the files land; failures end a job anywhere in its run;
    # throttles; each answer takes this long.
    status_lag: float = 20.0
    failures: float = 0.1
    bedrock_throttles: float = 0.02
    bedrock_latency: tuple[float, float] = (0.05, 0.4)
    aws_latency: float = 1.0  # how much slower than usual DynamoDB, SNS, EventBridge, S3 and SQS answer
    # S3's events: 1 to 5 s late (late_events of them a minute or two), lost, twice; a share of jobs writes to a
    # watched bucket of another Region (its events go to that Region's bus); keys with a space (sent URL-encoded).
    event_losses: float = 0.02
    event_duplicates: float = 0.03
    late_events: float = 0.02
    other_region: float = 0.05
    encoded_keys: float = 0.1
    unwatched: float = 0.2
    # Arrivals: a share of jobs comes in bursts; the producer's message reaches intake 0..intake_delay s after
    # StartAsyncInvoke (a batching window, a backlog, a producer that submits a moment later).
    bursts: float = 0.3
    burst_size: float = 15  # jobs at most in a burst, all within a minute
    longer: float = 1.0  # every job runs this many times as long as bench.day's models say
    intake_delay: float = 20.0
    # Workflows waiting on jobs (chaos.workflows): a share of jobs submitted with a Step Functions task token, a share
    # with a durable function's callback id; of those, a share submitted again with another callback (one ARN, two
    # waiting workflows; the second may come after the job ended). A callback's task times out before its job ends;
    # SendTask*/SendDurableExecutionCallback* throttled, answered 5xx, or taken with the answer lost.
    task_tokens: float = 0.25
    callback_ids: float = 0.15
    second_callbacks: float = 0.2
    callback_timeouts: float = 0.1
    callback_throttles: float = 0.03
    callback_errors: float = 0.02
    callback_unanswered: float = 0.02

    @classmethod
    def off(cls) -> Rates:
        zero: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in (
                "bedrock_latency",
                "aws_latency",
                "sqs_duplicate_spread",
                "recycles_per_hour",
                "intake_delay",
            ):
                continue
            zero[f.name] = False if f.name == "shuffle_maps" else 0.0
        return cls(**zero)

    def with_changes(self, changes: dict[str, Any]) -> Rates:
        return replace(self, **changes)


@dataclass
class Outage:
    start: datetime
    end: datetime

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass
class Faults:
    """Decides each proxied request's fate, and keeps what each job's requests cost and suffered."""

    rates: Rates
    rng: random.Random
    trail: Trail
    clock: Any
    topic_denied: Outage | None = None
    bus_deleted: Outage | None = None
    writes: dict[str, int] = field(default_factory=dict)  # ARN -> DynamoDB writes the function made
    published: dict[str, int] = field(default_factory=dict)  # ARN -> publishes and puts that reached the service
    troubled: dict[str, int] = field(default_factory=dict)  # ARN -> faults met by its requests
    window: set[str] = field(default_factory=set)  # ARNs with a publish or put whose outcome the function lost
    work: dict[str, str] = field(default_factory=dict)  # ARN -> how it was first recorded in progress
    recorded: dict[str, datetime] = field(default_factory=dict)  # ARN -> when its record was first written
    _writing: list[str] = field(default_factory=list)  # the ARNs of the write in flight (one call at a time)

    def decide(self, service: str, operation: str, body: str) -> Fault | None:
        arns = sorted(set(ARN.findall(unquote(body)))) if service in ("dynamodb", "sns", "events") else []
        now = self.clock()
        if service == "dynamodb" and operation in WRITES:
            work = WORK.search(body)
            self._writing = arns
            for arn in arns:
                if work is not None:
                    self.work.setdefault(arn, work[1])
        fault = self._fault(service, operation, now)
        if fault is None:
            if operation in ("Publish", "PutEvents"):
                for arn in arns:
                    self.published[arn] = self.published.get(arn, 0) + 1
                self.trail.add(now, "sent_ending", arns, f"{operation} goes through")
            return None
        for arn in arns:
            self.troubled[arn] = self.troubled.get(arn, 0) + 1
            if fault.action == "drop" and operation in ("Publish", "PutEvents"):
                self.window.add(arn)
            if operation in WRITES and self.published.get(arn):  # a write after its publish: marking it, maybe
                self.window.add(arn)
        self.trail.add(now, f"{service}_fault", arns, f"{operation}: {fault.action} {fault.code}")
        return fault

    def _fault(self, service: str, operation: str, now: datetime) -> Fault | None:  # noqa: PLR0911
        r, roll = self.rates, self.rng.random()
        if service == "dynamodb":
            if roll < r.dynamodb_throttles:
                return Fault(service, operation, code="ProvisionedThroughputExceededException", status=400)
            if operation in WRITES and roll < r.dynamodb_throttles + r.lost_answers:
                return Fault(service, operation, action="drop")
        elif service == "sns" and operation == "Publish":
            if self.topic_denied is not None and self.topic_denied.covers(now):
                return Fault(service, operation, code="AuthorizationError", status=403)
            if roll < r.publish_refusals:
                return Fault(service, operation, code="Throttling", status=400)
            if roll < r.publish_refusals + r.publish_unanswered:
                return Fault(service, operation, action="drop")
        elif service == "events" and operation == "PutEvents":
            if self.bus_deleted is not None and self.bus_deleted.covers(now):
                return Fault(service, operation, code="ResourceNotFoundException", status=400)
            if roll < r.put_refusals:
                return Fault(service, operation, code="ThrottlingException", status=400)
            if roll < r.put_refusals + r.put_unanswered:
                return Fault(service, operation, action="drop")
        elif service == "s3" and roll < r.dynamodb_throttles:
            return Fault(service, operation, code="SlowDown", status=503)
        return None

    def rewrite(self, service: str, operation: str, answer: bytes) -> bytes:
        """Counts the writes that took effect (a conditional write refused is not one of a job's writes); the answer
        goes on as it is (a Map's keys in any order is the proxy's `map_order`, which the world switches on)."""
        if service == "dynamodb" and operation in WRITES:
            for arn in self._writing:
                self.writes[arn] = self.writes.get(arn, 0) + 1
                self.recorded.setdefault(arn, self.clock())
        return answer


def outage(
    rng: random.Random, chance: float, start: datetime, span: timedelta, length: tuple[float, float]
) -> Outage | None:
    """With `chance`, one outage of `length` minutes starting somewhere in the first `span`."""
    if rng.random() >= chance:
        return None
    begins = start + timedelta(seconds=rng.uniform(0, span.total_seconds()))
    return Outage(begins, begins + timedelta(minutes=rng.uniform(*length)))
