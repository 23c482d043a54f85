"""A simulated day of async invocations, on one clock, with what happens to them as it happens on AWS.

Jobs arrive and are submitted; Bedrock ends them (a mix of models with broad spreads of duration; failures end
early and write nothing; a fifth write to a bucket the stack does not watch; at noon every job starts taking twice
as long); S3's events reach the checks queue late (1 to 5 s, 1% after a minute or more), sometimes twice, sometimes
never; timers fire when they were set for; a sweep runs every minute; execution environments are replaced at least
hourly, and intake and sweeps run in environments of their own. Everything runs against the local stack (moto,
the Bedrock simulator) in this process, on the simulated clock.

`ours` runs the tracker as deployed (the template's interval, output events, timers, shared durations). The
baseline polls every in-progress job every minute (interval 0) and hears nothing else. With `callbacks`, every job is
submitted with a callback id (a durable function waiting on it, the local stack's stand-in of Lambda's callback API):
the day's calls to Bedrock and writes per job are to be the same, and each callback resumed once.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import prices
from localrun import capacity
from localrun.clock import Clock
from localrun.lambda_driver import LambdaContext, sqs_event
from localrun.stack import EventDelivery, LocalAws
from localrun.template import template
from tracking.config import Settings
from tracking.runtime import Runtime

START = datetime(2026, 11, 26, tzinfo=UTC)
# model id, model input, share of the day's jobs, (shortest, longest) seconds
MODELS: list[tuple[str, dict[str, Any], float, tuple[float, float]]] = [
    ("amazon.nova-reel-v1:1", {"taskType": "TEXT_VIDEO"}, 0.40, (80, 110)),
    ("amazon.nova-reel-v1:1", {"taskType": "MULTI_SHOT_AUTOMATED"}, 0.15, (300, 420)),
    ("luma.ray-v2:0", {"prompt": "waves", "duration": "5s"}, 0.15, (60, 240)),
    ("twelvelabs.marengo-embed-3-0-v1:0", {"inputType": "video"}, 0.15, (20, 180)),
    ("amazon.nova-2-multimodal-embeddings-v1:0", {"taskType": "SEGMENTED_EMBEDDING"}, 0.15, (10, 120)),
]  # fmt: skip
FAILURES = 0.1  # of jobs; they end after 10% to 60% of their run and write nothing
UNWATCHED = 0.2  # of jobs write to a bucket the stack does not watch: no events
LONGER_FROM = START + timedelta(hours=12)  # from noon, every job takes twice as long
FRESH_AFTER = 500  # endings of a model, after which a new environment's first sweep is measured


@dataclass(order=True)
class Happening:
    at: datetime
    order: int
    kind: str = field(compare=False)
    payload: Any = field(compare=False, default=None)


class DayTimers:
    """The function's timers and hand-offs, delivered on the day's clock instead of SQS's real-time delays."""

    def __init__(self, day: Day) -> None:
        self.day = day

    def check_at(self, arn: str, delay: timedelta, *, reason: str, attempt: int = 1) -> bool:
        body = json.dumps({"check": arn, "reason": reason, "attempt": attempt})
        self.day.push(self.day.clock() + max(delay, timedelta(0)), "check", body)
        return True

    def hand_off(self, arns: list[str], *, since: int = 0, per_message: int = 100, again: bool = False) -> int:
        size = max(1, min(per_message, 100))  # as timers.Timers.hand_off sizes them
        for start in range(0, len(arns), size):
            body = {"check": arns[start : start + size], "reason": "handoff", "since": since}
            self.day.push(self.day.clock(), "check", json.dumps({**body, **({"again": True} if again else {})}))
        return len(arns)


@dataclass
class Day:
    jobs: int
    seed: int
    ours: bool
    unwatched: float = UNWATCHED  # share of jobs writing to a bucket the stack does not watch
    callbacks: bool = False
    clock: Clock = field(default_factory=lambda: Clock(START))
    happenings: list[Happening] = field(default_factory=list)
    order: itertools.count[int] = field(default_factory=itertools.count)
    kinds: dict[str, str] = field(default_factory=dict)  # ARN -> "with" or "without" output events
    ids: dict[str, datetime] = field(default_factory=dict)  # invocation id -> when its files land
    # New environments' first sweeps with work due, once a model has had 500 endings: sweeps, due, asked.
    fresh: Counter[str] = field(default_factory=Counter)
    watching: bool = False  # the sweeping environment is new, and its first sweep with work due is to be measured
    # What the day cost: each Lambda invocation's duration (real seconds on this machine), SQS messages delivered
    # (intake, timers, hand-offs, output events), and of the sweeps that found no work, their durations and calls.
    durations: list[float] = field(default_factory=list)
    messages: int = 0
    sweeps: int = 0
    idle_durations: list[float] = field(default_factory=list)
    idle_operations: Counter[str] = field(default_factory=Counter)
    idle_units: dict[str, float] = field(default_factory=dict)  # DynamoDB request units, `read` and `write`
    # What the day's work did, taken before the measuring reads the records: the function's calls, the DynamoDB
    # request units they cost (as DynamoDB charges them: localrun/capacity.py), and the CPU this process spent
    # (the function, moto, the proxy and the simulator all run in it).
    operations: Counter[str] = field(default_factory=Counter)
    units: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    intake: Runtime = field(init=False)
    sweeper: Runtime = field(init=False)

    def push(self, at: datetime, kind: str, payload: Any = None) -> None:
        heapq.heappush(self.happenings, Happening(at, next(self.order), kind, payload))

    def run(self) -> dict[str, float]:
        rng = random.Random(self.seed)
        stack = LocalAws(time_factor=1.0, failure_rate=0.0, seed=self.seed).start()
        stack.clock = self.clock
        stack.event_delivery = EventDelivery(
            delay=(1.0, 5.0), late_share=0.01, duplicates=0.02, losses=0.01, seed=self.seed, sink=self._delivered
        )
        saved = dict(os.environ)
        os.environ.update(stack.environment())  # what the function's environment holds: endpoints, credentials
        try:
            return self._run(stack, rng)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            stack.event_delivery = EventDelivery()
            stack.stop()

    def _run(self, stack: LocalAws, rng: random.Random) -> dict[str, float]:
        unwatched = f"unwatched-{stack.resources.bucket}"
        stack.client("s3").create_bucket(Bucket=unwatched)
        self.stack, self.settings = (
            stack,
            replace(
                Settings.from_env(stack.environment()),
                concurrency=8,
                max_poll_interval_seconds=300 if self.ours else 0,
                checks_queue_url="day://checks" if self.ours else "",
            ),
        )
        self.intake, self.sweeper = self._environment_now(), self._environment_now()
        for offset in sorted(rng.uniform(0, 86_400 - 3_600) for _ in range(self.jobs)):
            self.push(START + timedelta(seconds=offset), "submit")
        for minute in range(1, 25 * 60):
            self.push(START + timedelta(minutes=minute), "sweep")
        for hour in range(25):  # each environment lives at most an hour, and they are not replaced together
            self.push(START + timedelta(hours=hour, minutes=rng.uniform(0, 60)), "recycle", "intake")
            self.push(START + timedelta(hours=hour, minutes=rng.uniform(0, 60)), "recycle", "sweep")
        bedrock = stack.client("bedrock-runtime")
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        while self.happenings:
            happening = heapq.heappop(self.happenings)
            self.clock.now = max(self.clock.now, happening.at)
            if happening.kind == "submit":
                self._submit(stack, bedrock, rng, unwatched, self.intake)
            elif happening.kind == "end":
                stack.simulator.settle_all()  # the job's files land (S3's events start on their way)
            elif happening.kind == "check":
                self._checks(happening)
            elif happening.kind == "sweep":
                self._sweep()
            else:
                self._recycle(happening.payload)
        self.cpu_seconds, self.wall_seconds = time.process_time() - cpu_started, time.perf_counter() - wall_started
        self.operations, self.units = stack.proxy.state.operations(), stack.consumed_capacity()
        return self._measure(stack, self.fresh)

    def _checks(self, first: Happening) -> None:
        """The checks that arrive within the event source's one-second batching window, in batches of ten."""
        batch = [first.payload]
        window = first.at + timedelta(seconds=1)
        while self.happenings and self.happenings[0].kind == "check" and self.happenings[0].at <= window:
            batch.append(heapq.heappop(self.happenings).payload)
        self.clock.now = max(self.clock.now, min(window, self.happenings[0].at if self.happenings else window))
        self.messages += len(batch)
        for start in range(0, len(batch), 10):
            self._invoke(self.intake, self._sqs("checks", batch[start : start + 10]))

    def _invoke(self, runtime: Runtime, event: dict[str, Any]) -> Any:
        began = time.perf_counter()
        try:
            return runtime.handle(event, LambdaContext(timeout=60, clock=self.clock))
        finally:
            self.durations.append(time.perf_counter() - began)

    def _sweep(self) -> None:
        before, units = self.stack.proxy.state.operations(), self.stack.consumed_capacity()
        report = self._invoke(self.sweeper, {})
        self.sweeps += 1
        if not any(report["outcomes"].values()) and not any(report["errors"].values()):
            self.idle_durations.append(self.durations[-1])
            self.idle_operations.update(self.stack.proxy.state.operations() - before)
            for kind, spent in capacity.since(units, self.stack.consumed_capacity()).items():
                self.idle_units[kind] = self.idle_units.get(kind, 0.0) + spent
        due = sum(report["outcomes"].get(outcome, 0) for outcome in ("waiting", "in_progress", "notified"))
        if self.watching and due:
            self.watching = False
            self.fresh.update(sweeps=1, due=due, asked=due - report["outcomes"].get("waiting", 0))

    def _recycle(self, which: str) -> None:
        if which == "intake":
            self.intake = self._environment_now()
            return
        self.sweeper = self._environment_now()
        self.watching = self._endings("amazon.nova-reel-v1:1") >= FRESH_AFTER

    def _endings(self, model: str) -> int:
        return sum(1 for j in self.stack.simulator.jobs.values() if j.model_id == model and j.ended_at <= self.clock())

    def _environment_now(self) -> Runtime:
        runtime = Runtime.build(self.settings, clock=self.clock)
        if self.ours:
            timers = DayTimers(self)
            runtime.tracker.timers = timers  # type: ignore[assignment]
            runtime.sweep.timers = timers  # type: ignore[assignment]
            if runtime.checks is not None:
                runtime.checks.timers = timers  # type: ignore[assignment]
        return runtime

    def _submit(self, stack: LocalAws, bedrock: Any, rng: random.Random, unwatched: str, intake: Runtime) -> None:
        model, model_input, _, (shortest, longest) = rng.choices(MODELS, weights=[m[2] for m in MODELS])[0]
        watched = rng.random() >= self.unwatched
        bucket = stack.resources.bucket if watched else unwatched
        arn = bedrock.start_async_invoke(
            modelId=model,
            modelInput=model_input,
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/day"}},
        )["invocationArn"]
        job = stack.simulator.jobs[arn]
        seconds = rng.uniform(shortest, longest) * (2 if self.clock.now >= LONGER_FROM else 1)
        job.fails = rng.random() < FAILURES
        if job.fails:
            seconds *= rng.uniform(0.1, 0.6)  # content filters end a job early
        job.end_time = job.submit_time + timedelta(seconds=seconds)
        writes = not job.fails or model.startswith("twelvelabs.marengo")  # a failed Marengo job writes error.txt
        self.kinds[arn] = "with" if watched and writes else "without"
        self.ids[arn[-12:]] = job.end_time
        self.push(job.end_time, "end")
        body = json.dumps({"invocationArn": arn, "callbackId": stack.durable.open()}) if self.callbacks else arn
        self.messages += 1
        self._invoke(intake, self._sqs("intake", [body]))

    def _delivered(self, event: dict[str, Any], delay: float) -> None:
        if not self.ours:
            return  # the baseline hears nothing but its own polls
        key = str(event["detail"]["object"]["key"])
        landed = self.ids.get(key.split("/")[-2], self.clock())  # when the file landed, on the day's clock
        event = {**event, "time": landed.strftime("%Y-%m-%dT%H:%M:%SZ")}
        self.push(landed + timedelta(seconds=delay), "check", json.dumps(event))

    def _sqs(self, queue: str, bodies: list[str]) -> dict[str, Any]:
        messages = [{"MessageId": f"m{next(self.order)}", "ReceiptHandle": "r", "Body": body} for body in bodies]
        return sqs_event(messages, queue_arn=f"arn:aws:sqs:us-east-1:123456789012:{queue}", region="us-east-1")

    def _measure(self, stack: LocalAws, fresh: Counter[str]) -> dict[str, float]:
        records = Runtime.build(self.settings, clock=self.clock).tracker.records
        asked = Counter(stack.simulator.asked)
        delays: dict[str, list[float]] = {"with": [], "without": []}
        calls: dict[str, list[int]] = {"with": [], "without": []}
        for arn, kind in self.kinds.items():
            record = records.get(arn)
            if record is None or record.get("notification") != "published":
                raise SystemExit(f"day: {arn} was not notified: {record}")
            notified = datetime.fromisoformat(str(record["notifiedAt"]).replace("Z", "+00:00"))
            delays[kind].append((notified - stack.simulator.jobs[arn].ended_at).total_seconds())
            calls[kind].append(asked[arn])
        if self.callbacks and len(stack.durable.received) != len(self.kinds):
            raise SystemExit(f"day: {len(stack.durable.received)} callbacks resumed for {len(self.kinds)} jobs")
        writes = self.operations["dynamodb:UpdateItem"]
        measured: dict[str, float] = {
            "writes": writes / len(self.kinds),
            "write_units": self.units.get("write", 0.0) / len(self.kinds),
            "read_units": self.units.get("read", 0.0) / len(self.kinds),
            "cpu_ms_per_job": self.cpu_seconds / len(self.kinds) * 1000,
            "jobs_per_s": len(self.kinds) / self.wall_seconds,
            "calls": sum(asked[arn] for arn in self.kinds) / len(self.kinds),
            "worst": max(delays["with"] + delays["without"]),
        }
        for kind in ("with", "without"):
            values = sorted(delays[kind])
            if not values:  # a day whose jobs are all of one kind (the cost bench's)
                continue
            measured[f"p50_{kind}"] = statistics.median(values)
            measured[f"p95_{kind}"] = values[int(0.95 * (len(values) - 1))]
            measured[f"calls_{kind}"] = statistics.mean(calls[kind])
            measured[f"jobs_{kind}"] = len(values)
        if fresh["sweeps"]:
            measured.update(fresh_sweeps=fresh["sweeps"], fresh_asked=fresh["asked"], fresh_due=fresh["due"])
        measured.update(self._dollars(stack))
        return measured

    def _dollars(self, stack: LocalAws) -> dict[str, float]:
        """The day's cost at bench/prices.py's prices: what the jobs cost (all of it, less what the sweeps that found
        no work cost) per 1,000 jobs, and what a day of sweeps every minute costs whatever the jobs."""
        memory = int(template()["Globals"]["Function"]["MemorySize"])
        day, idle = prices.Usage(), prices.Usage()
        prices.lambda_usage(day, invocations=len(self.durations), seconds=self.durations, memory_mb=memory)
        prices.aws_usage(day, self.operations, sqs_messages=self.messages, dynamodb_units=self.units)
        prices.lambda_usage(idle, invocations=len(self.idle_durations), seconds=self.idle_durations, memory_mb=memory)
        prices.aws_usage(idle, self.idle_operations, sqs_messages=0, dynamodb_units=self.idle_units)
        idle_per_sweep = idle.dollars() / max(1, len(self.idle_durations))
        jobs_dollars = day.dollars() - idle_per_sweep * self.sweeps  # every sweep costs at least an idle one
        return {
            "usd_per_1000_jobs": jobs_dollars / len(self.kinds) * 1000,
            "usd_sweeps_per_day": idle_per_sweep * 24 * 60,  # a sweep a minute
        }
