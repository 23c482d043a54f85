"""One scenario: jobs submitted over a few simulated hours, run by the function's own code (tracking.runtime.Runtime)
against the local stack (moto through localrun's proxy, the Bedrock simulator), on one injected clock, with every
misbehaviour of chaos.faults at its rate. What happened is kept (`Facts`) for chaos.promises to judge.

The function's execution environments (one Runtime each: intake, checks, sweep) are replaced at random and killed
mid-run; every AWS call takes simulated time (botocore's retry back-offs too), so Lambda's 60 s deadline is real on
the simulated clock; the intake and checks queues are chaos.queues' SimQueues, fed to the function as Lambda's
event source mappings do (batches of 10 after the batching window, batchItemFailures back after the visibility
timeout); the schedule sends a sweep every period, late, throttled, missed or dead-lettered at the world's rates.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote_plus, unquote

import boto3
import botocore.endpoint

from bedrock_simulator import Simulator
from bench.day import MODELS, START, Happening
from localrun import template
from localrun.clock import Clock
from localrun.index_lag import IndexLag
from localrun.lambda_driver import Killed, LambdaContext, sqs_event
from localrun.stack import ACCOUNT, REGION, EventDelivery, LocalAws
from tracking.callbacks import CALLBACK_ID, TASK_TOKEN, Resumer
from tracking.channels.callback import Callbacks
from tracking.config import Settings
from tracking.polling import Durations
from tracking.records import STATE, RecordStore
from tracking.runtime import Runtime

from .faults import ARN, Faults, Outage, Rates, outage
from .queues import QueueClient, SimQueue
from .trail import Trail
from .workflows import Waiting, Workflows

CHECKS_QUEUE = "chaos-checks"
CHECKS_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{CHECKS_QUEUE}"
INTAKE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:chaos-intake"
CHECKS_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{CHECKS_QUEUE}"
DRAIN = timedelta(minutes=30)  # after the last submission: every job ends, every outage passes
LATENCY = {"dynamodb": (0.005, 0.03), "sns": (0.01, 0.05), "eventbridge": (0.01, 0.05), "s3": (0.01, 0.05),
           "callback": (0.01, 0.05)}  # fmt: skip


@dataclass
class Job:
    arn: str
    model: str
    kind: str  # watched | unwatched | other_region
    submitted: datetime
    lands: datetime  # its files land (a failure writes none, but for Marengo's error.txt)
    flips: datetime  # Bedrock starts saying it ended
    fails: bool
    encoded: bool = False


@dataclass
class SweepRun:
    scheduled: datetime
    started: datetime | None  # None: it never ran (missed, dead-lettered, an outage)
    why: str = ""
    killed: bool = False
    report: dict[str, Any] = field(default_factory=dict)
    ended: datetime | None = None


@dataclass
class Facts:
    """What a scenario leaves for the promises to judge."""

    seed: int
    fifo: bool
    bus: bool
    settings: Settings
    end: datetime
    jobs: dict[str, Job]
    asked: dict[str, list[datetime]]  # ARN -> when Bedrock was asked about it (every attempt)
    answered: dict[str, int]  # ARN -> GetAsyncInvoke answers (the calls a job cost)
    sweeps: list[SweepRun]
    timers: dict[str, list[tuple[str, datetime, datetime, int]]]  # ARN -> (message id, sent, goes off, number)
    timer_received: dict[str, datetime]  # message id -> first handed to the function
    sweep_series: dict[str, set[int]]  # ARN -> numbers of the timer series a sweep started (claimed with a write)
    shared_durations: list[tuple[datetime, dict[str, list[float]]]]  # the shared item's durations, as of each change
    event_received: dict[str, datetime]  # invocation id -> its output event first handed to the function
    event_deliveries: dict[str, int]  # invocation id -> output events handed to the function
    intake_received: dict[str, datetime]  # ARN -> its intake message first handed to the function
    intake_dead: dict[str, int]  # ARN -> receives its dead-lettered message had, of which the function ran...
    intake_handled: dict[str, int]  # ARN -> ... this many
    submissions: dict[str, list[str]]  # ARN -> the bodies of its submissions (one, or two with callbacks)
    dead_bodies: dict[str, int]  # a dead-lettered submission's body -> its receives, of which the function ran...
    handled_bodies: dict[str, int]  # body -> ... this many
    workflows: dict[str, Waiting]  # token -> the workflow that waited on it, and what became of it
    notifications: dict[tuple[str, str], int]  # (ARN, status) -> deliveries on the topic
    events: dict[tuple[str, str], int]  # (ARN, status) -> deliveries of the bus's rule
    records: dict[str, dict[str, Any]]  # ARN -> its record at the end
    faults: Faults
    kills: list[datetime]
    trail: Trail
    topic_denied: Outage | None
    bus_deleted: Outage | None


@dataclass
class _Run:
    deadline: datetime
    kill_at: datetime | None
    label: str


class Scenario:
    def __init__(
        self,
        stack: LocalAws,
        session: SharedClients,
        *,
        seed: int,
        jobs: int = 50,
        hours: float = 2.0,
        rates: Rates | None = None,
        fifo: bool | None = None,
    ) -> None:
        self.stack, self.session, self.seed = stack, session, seed
        self.count, self.hours = jobs, hours
        self.rates = rates or Rates()
        self.fifo = seed % 2 == 1 if fifo is None else fifo
        self.rng = random.Random(seed)
        self.clock = Clock(START)
        self.trail = Trail(START)
        self.happenings: list[Happening] = []
        self.order = itertools.count()
        self.jobs: dict[str, Job] = {}
        self.ids: dict[str, str] = {}  # invocation id -> ARN
        self.asked: dict[str, list[datetime]] = {}
        self.answered: dict[str, int] = {}
        self.sweeps: list[SweepRun] = []
        self.timers: dict[str, list[tuple[str, datetime, datetime, int]]] = {}
        self.timer_received: dict[str, datetime] = {}
        self.sweep_series: dict[str, set[int]] = {}  # ARN -> numbers of the timer series a sweep started
        self.shared_durations: list[tuple[datetime, dict[str, list[float]]]] = []  # (as of, model -> durations)
        self.event_received: dict[str, datetime] = {}
        self.event_deliveries: dict[str, int] = {}
        self.intake_received: dict[str, datetime] = {}
        self.kills: list[datetime] = []
        self.run_now: _Run | None = None
        self.envs: dict[str, Runtime] = {}  # the execution environment of each kind (intake, checks, sweep)
        self.hooks: dict[str, list[tuple[Any, str, Any]]] = {}  # ... and the hooks it set on the shared clients
        self.submissions: dict[str, list[str]] = {}
        self.handled_bodies: dict[str, int] = {}
        self.cb_rng = random.Random(seed * 7919 + 4)  # the workflows' own: the rest of the world as without them
        self.workflows = Workflows(
            self.clock,
            self.cb_rng,
            rates=self.rates,
            trail=self.trail,
            spend=lambda: self._before_call("callback", rng=self.cb_rng),
            sleep=self.clock.advance,
        )

    # -- the day ------------------------------------------------------------------------------------

    def run(self) -> Facts:
        stack, rates = self.stack, self.rates
        stack.new_resources(fifo=self.fifo)
        stack.proxy.clear()
        stack.simulator.forget()
        stack.simulator._rng = random.Random(self.seed)
        self.backoff = random.Random(self.seed * 7919 + 3)  # botocore's retry back-offs: the same seed, the same waits
        stack.clock = self.clock
        faults_rng = random.Random(self.seed * 7919 + 1)
        span = timedelta(hours=self.hours)
        self.faults = Faults(
            rates,
            faults_rng,
            self.trail,
            self.clock,
            topic_denied=outage(self.rng, rates.topic_denied, START, span * 0.7, (10, 40)),
            bus_deleted=outage(self.rng, rates.bus_deleted, START, span * 0.7, (10, 40)),
        )
        self._proxy_faults(on=True)
        stack.event_delivery = EventDelivery(
            delay=(1.0, 5.0),
            late_share=rates.late_events,
            duplicates=rates.event_duplicates,
            losses=rates.event_losses,
            seed=self.seed,
            sink=self._delivered,
        )
        stack.index_lag = IndexLag(max_seconds=rates.index_lag, seed=self.seed)
        if rates.bedrock_throttles:
            from bedrock_simulator.simulator import Fault as BedrockFault

            stack.simulator.inject(
                "GetAsyncInvoke", BedrockFault(code="ThrottlingException", rate=rates.bedrock_throttles)
            )
        resources = stack.resources
        s3 = stack.client("s3")
        self.buckets = {
            "watched": resources.bucket,
            "unwatched": f"unwatched-{resources.bucket}",
            "other_region": f"elsewhere-{resources.bucket}",
        }
        s3.create_bucket(Bucket=self.buckets["unwatched"])
        # named among the watched buckets, but in another Region: its events go to that Region's bus
        s3.create_bucket(
            Bucket=self.buckets["other_region"], CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        env = stack.environment()
        env["OUTPUT_BUCKETS"] = f"arn:aws:s3:::{self.buckets['watched']},arn:aws:s3:::{self.buckets['other_region']}"
        self.settings = replace(
            Settings.from_env(env),
            concurrency=1,  # one call at a time: the same seed, the same run
            checks_queue_url=CHECKS_URL,
        )
        intake, checks = template.intake_settings(), template.checks_settings()
        queue_rng = random.Random(self.seed * 7919 + 2)
        self.intake = SimQueue(
            "intake", self.clock, queue_rng, rates, self.trail,
            timedelta(seconds=intake["visibility_timeout"]), intake["max_receive_count"],
        )  # fmt: skip
        self.checks = SimQueue(
            "checks", self.clock, queue_rng, rates, self.trail,
            timedelta(seconds=checks["visibility_timeout"]), checks["max_receive_count"],
        )  # fmt: skip
        self.windows = {"intake": timedelta(seconds=intake["batching_window"]), "checks": timedelta(seconds=1)}
        self.batch = {"intake": min(10, intake["batch_size"]), "checks": checks["batch_size"]}
        self.intake_handled: dict[str, int] = {}
        self.sweep_outage = outage(self.rng, rates.schedule_outage, START, span, (3, 10))
        for name, window in (("schedule outage", self.sweep_outage), ("topic denied", self.faults.topic_denied),
                             ("bus deleted", self.faults.bus_deleted)):  # fmt: skip
            if window is not None:
                self.trail.add(window.start, name, None, f"until +{(window.end - START).total_seconds():.0f}s")
        # The simulator's server lands outputs on a real-time loop; here they land on the scenario's clock, in order.
        setattr(stack.simulator, "settle_all", lambda: None)  # noqa: B010 - the instance's, for the loop only
        # The sweep's gauge of jobs in progress costs three count Queries a sweep, a third of a scenario's CPU, for a
        # dashboard figure no promise rests on: it reads 0 here.
        counting = RecordStore.count
        RecordStore.count = lambda self, work: 0  # type: ignore[method-assign]
        try:
            with _environment(env), _simulated_backoff(self.clock), _hooked(self):
                self._environments_start()
                self._plan(span)
                self._loop(START + span + DRAIN)
            return self._facts(START + span + DRAIN)
        finally:  # the stack as it was, for whoever uses it next (the suite's session-wide stack)
            self._proxy_faults(on=False)
            stack.event_delivery = EventDelivery()
            stack.index_lag = IndexLag()
            stack.simulator.clear_faults()
            del stack.simulator.settle_all
            RecordStore.count = counting  # type: ignore[method-assign]

    def _plan(self, span: timedelta) -> None:
        seconds = span.total_seconds()
        moments: list[float] = []
        while len(moments) < self.count:
            if self.rng.random() < self.rates.bursts:  # a burst: up to burst_size jobs within a minute
                at = self.rng.uniform(0, seconds - 600)
                size = min(int(self.rates.burst_size), self.count - len(moments))
                moments += [at + self.rng.uniform(0, 60) for _ in range(size)]
            else:
                moments.append(self.rng.uniform(0, seconds - 600))
        for at in moments:
            self.push(START + timedelta(seconds=at), "submit")
        period = self.settings.sweep_period
        for tick in range(1, math.ceil((span + DRAIN) / period)):
            self.push(START + period * tick, "sweep", START + period * tick)
        for kind in ("intake", "checks", "sweep"):
            at = 0.0
            while self.rates.recycles_per_hour and at < (span + DRAIN).total_seconds():
                at += self.rng.expovariate(self.rates.recycles_per_hour / 3600)
                self.push(START + timedelta(seconds=at), "recycle", kind)

    def push(self, at: datetime, kind: str, payload: Any = None) -> None:
        heapq.heappush(self.happenings, Happening(at, next(self.order), kind, payload))

    def _loop(self, end: datetime) -> None:
        while True:
            moments: list[tuple[datetime, str]] = []
            if self.happenings:
                moments.append((self.happenings[0].at, "happening"))
            for name, queue in (("intake", self.intake), ("checks", self.checks)):
                visible = queue.next_visible()
                if visible is not None:
                    moments.append((visible + self.windows[name], name))
            if not moments:
                return
            at, what = min(moments)
            if at > end:
                return
            self.clock.advance_to(at)
            if what == "happening":
                self._happen(heapq.heappop(self.happenings))
            else:
                self._poll(what)

    def _happen(self, happening: Happening) -> None:
        if happening.kind == "submit":
            self._submit()
        elif happening.kind == "land":
            Simulator.settle_all(self.stack.simulator)  # the files land; S3's events set off (or not)
        elif happening.kind == "intake":
            self.intake.send(happening.payload)
            self.trail.add(self.clock(), "submitted", _subjects(happening.payload),
                           f"the producer's message reaches intake{_callback_note(happening.payload)}")  # fmt: skip
        elif happening.kind == "check":
            self.checks.send(happening.payload)
        elif happening.kind == "sweep":
            self._sweep(happening.payload)
        elif happening.kind == "recycle":
            self._environment(happening.payload)
            self.trail.add(self.clock(), "recycled", None, f"a new {happening.payload} environment")

    # -- jobs and their outputs ---------------------------------------------------------------------

    def _submit(self) -> None:
        rng, rates = self.rng, self.rates
        model, model_input, _, (shortest, longest) = rng.choices(MODELS, weights=[m[2] for m in MODELS])[0]
        roll = rng.random()
        kind = (
            "other_region"
            if roll < rates.other_region
            else "unwatched"
            if roll < rates.other_region + rates.unwatched
            else "watched"
        )
        encoded = rng.random() < rates.encoded_keys
        prefix = "my videos/day 1" if encoded else "day"
        arn = self.stack.client("bedrock-runtime").start_async_invoke(
            modelId=model,
            modelInput=model_input,
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{self.buckets[kind]}/{prefix}"}},
        )["invocationArn"]
        job = self.stack.simulator.jobs[arn]
        seconds = rng.uniform(shortest, longest) * rates.longer
        job.fails = rng.random() < rates.failures
        if job.fails:
            seconds *= rng.uniform(0.02, 1.0)  # a failure can come at any point of a run
        job.end_time = job.submit_time + timedelta(seconds=seconds)
        job.status_lag = timedelta(seconds=rng.uniform(0, rates.status_lag))
        self.jobs[arn] = Job(arn, model, kind, job.submit_time, job.end_time, job.ended_at, job.fails, encoded)
        self.ids[arn.rsplit("/", 1)[-1]] = arn
        self.push(job.end_time, "land")
        self._submissions(self.jobs[arn])
        self.trail.add(self.clock(), "started", arn, f"{model} {kind}{' (key with a space)' if encoded else ''}, "
                       f"{'fails' if job.fails else 'ends'} at +{(job.end_time - START).total_seconds():.0f}s, "
                       f"status flips at +{(job.ended_at - START).total_seconds():.0f}s")  # fmt: skip

    def _submissions(self, job: Job) -> None:
        """Its producer's message (0..intake_delay s after StartAsyncInvoke): the ARN alone, or with a task token or a
        callback id at the world's rates (the workflows' own random, so the rest of the world is as without them);
        of those, a share submitted once more with another callback, at any moment up to a while after it ends."""
        rates, cb = self.rates, self.cb_rng
        at = self.clock() + timedelta(seconds=self.rng.uniform(0, rates.intake_delay))
        moments = [at]
        roll = cb.random()
        if roll >= rates.task_tokens + rates.callback_ids:
            self.submissions[job.arn] = [job.arn]
            self.push(at, "intake", job.arn)
            return
        kinds = [TASK_TOKEN if roll < rates.task_tokens else CALLBACK_ID]
        if cb.random() < rates.second_callbacks:
            kinds.append(cb.choice((TASK_TOKEN, CALLBACK_ID)))
            moments.append(at + timedelta(seconds=cb.uniform(0, (job.flips - at).total_seconds() + 600)))
        for kind, moment in zip(kinds, moments, strict=True):
            times_out = None
            if cb.random() < rates.callback_timeouts:  # its task times out before the job ends (or soon after)
                times_out = moment + timedelta(seconds=cb.uniform(0, max(60.0, (job.flips - moment).total_seconds())))
            waiting = self.workflows.wait(kind, job.arn, times_out)
            body = waiting.body = json.dumps({"invocationArn": job.arn, kind: waiting.token})
            self.submissions.setdefault(job.arn, []).append(body)
            self.push(moment, "intake", body)

    def _delivered(self, event: dict[str, Any], delay: float) -> None:
        """S3's event, as EventBridge hands it to the checks queue: late, its key URL-encoded as S3 sends it."""
        key = str(event["detail"]["object"]["key"])
        event = json.loads(json.dumps(event))
        event["detail"]["object"]["key"] = quote_plus(key, safe="/")
        at = self.clock() + timedelta(seconds=delay)
        self.push(at, "check", json.dumps(event))
        self.trail.add(
            self.clock(), "output_event", key.split("/")[-2:-1], f"{key} reaches the checks queue +{delay:.1f}s"
        )

    # -- Lambda ------------------------------------------------------------------------------------

    def _environments_start(self) -> None:
        for kind in ("intake", "checks", "sweep"):
            self._environment(kind)

    def _environments_gone(self) -> None:
        for hooks in self.hooks.values():
            self.session.release(hooks)

    def _environment(self, kind: str) -> Runtime:
        """A new execution environment for `kind` (the one before it, if any, is gone, its hooks with it)."""
        if kind in self.envs:
            self.session.release(self.hooks.pop(kind))
        with self.session.environment() as hooks:
            runtime = Runtime.build(self.settings, session=self.session, clock=self.clock)  # type: ignore[arg-type]
        self.hooks[kind] = hooks
        self.envs[kind] = runtime
        timers = runtime.tracker.timers
        if timers is not None:
            client = QueueClient(
                self.checks,
                self.rng,
                self.rates,
                self.trail,
                self._spend_sqs,
                self.timers,
                (lambda: self.run_now is not None and self.run_now.label == "sweep", self.sweep_series),
            )
            timers.client = client  # type: ignore[assignment]
        for channel in runtime.tracker.channels:  # the workflows' services, on the world's clock
            if isinstance(channel, Callbacks):
                states: Any = self.workflows.client(TASK_TOKEN, runtime.guard)
                durable: Any = self.workflows.client(CALLBACK_ID, runtime.guard)
                channel.resumer = Resumer(states, durable)  # its hooks on these clients' events
        return runtime

    def _spend_sqs(self) -> None:
        self._before_call("sqs")

    def _invoke(self, kind: str, event: dict[str, Any], label: str) -> dict[str, Any] | None:
        """One run in the `kind` environment, as Lambda runs it: killed at its deadline, or at a random moment."""
        context = LambdaContext(timeout=template.function_settings()["timeout"], clock=self.clock)
        kill_at = None
        if self.rng.random() < self.rates.kills:
            kill_at = self.clock() + timedelta(seconds=self.rng.uniform(0, context.timeout))
        self.run_now = _Run(self.clock() + timedelta(seconds=context.timeout), kill_at, label)
        try:
            answer: dict[str, Any] = self.envs[kind].handle(event, context)
            return answer
        except Killed as exc:
            self.kills.append(self.clock())
            self.trail.add(self.clock(), "killed", None, f"{label}: {exc}")
            self._environment(kind)  # Lambda starts the next run in a new environment
            return None
        except Exception as exc:  # noqa: BLE001 - the run failed, as Lambda reports it: its batch comes back
            self.trail.add(self.clock(), "function_error", None, f"{label}: {type(exc).__name__}: {exc}")
            return None
        finally:
            self.run_now = None

    def _before_call(
        self, service: str, request: Any = None, operation: str = "", rng: random.Random | None = None
    ) -> None:
        run = self.run_now
        if run is not None and (self.clock() >= run.deadline or (run.kill_at and self.clock() >= run.kill_at)):
            if request is not None and service == "dynamodb":
                body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
                for arn in ARN.findall(body):
                    if self.faults.published.get(arn):  # died between publishing and recording it
                        self.faults.window.add(arn)
            raise Killed(
                f"{service} {operation} after the run's {'deadline' if self.clock() >= run.deadline else 'end'}"
            )
        if service == "bedrock":
            low, high = self.rates.bedrock_latency
        else:
            low, high = (self.rates.aws_latency * s for s in LATENCY.get(service, (0.005, 0.02)))
        self.clock.advance((rng or self.rng).uniform(low, high))
        if _DEBUG:
            self.trail.add(self.clock(), "call", None, f"{service} {operation}")
        if service == "bedrock" and request is not None and operation == "GetAsyncInvoke":
            arn = unquote(str(request.url).rsplit("/async-invoke/", 1)[-1].split("?")[0])
            arn = arn if arn.startswith("arn:") else f"{arn}"
            self.asked.setdefault(arn, []).append(self.clock())

    def _answered(self, arn: str, status: str) -> None:
        self.answered[arn] = self.answered.get(arn, 0) + 1
        self.trail.add(
            self.clock(), "asked", arn, f"Bedrock says {status} ({self.run_now.label if self.run_now else ''})"
        )

    # -- the event source mappings and the schedule --------------------------------------------------

    def _poll(self, name: str) -> None:
        queue = self.intake if name == "intake" else self.checks
        messages = queue.receive(self.batch[name])
        if not messages:
            return
        if self.rng.random() < self.rates.receive_throttles:  # the mapping received them; Lambda throttled the run
            for message in messages:
                self.trail.add(self.clock(), "receive_throttled", _subjects(message.body), f"{name} {message.id}")
            return
        handles = {m.id: (m, m.handle) for m in messages}
        for message in messages:
            self._received(name, message.id, message.body)
        event = sqs_event(
            [{"MessageId": m.id, "ReceiptHandle": str(m.handle), "Body": m.body} for m in messages],
            queue_arn=INTAKE_ARN if name == "intake" else CHECKS_ARN,
            region=REGION,
        )
        answer = self._invoke(name, event, f"{name} batch of {len(messages)}")
        if answer is None:
            return  # killed: the whole batch comes back after the visibility timeout
        failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
        for message_id, (message, handle) in handles.items():
            if message_id in failed:
                self.trail.add(self.clock(), "message_failed", _subjects(message.body), f"{name} {message_id}")
            else:
                queue.delete(message, handle)

    def _received(self, name: str, message_id: str, body: str) -> None:
        now = self.clock()
        if name == "intake":
            arn = _submitted(body)
            self.intake_received.setdefault(arn, now)
            self.intake_handled[arn] = self.intake_handled.get(arn, 0) + 1
            self.handled_bodies[body] = self.handled_bodies.get(body, 0) + 1
            return
        self.timer_received.setdefault(message_id, now)
        for subject in _subjects(body):
            if subject in self.ids and "aws.s3" in body:
                self.event_received.setdefault(subject, now)
                self.event_deliveries[subject] = self.event_deliveries.get(subject, 0) + 1
        self.trail.add(now, "received", _subjects(body), f"checks {message_id}: {body[:160]}")

    def _sweep(self, scheduled: datetime) -> None:  # noqa: PLR0911 - one return per fate of a sweep
        rng, rates, now = self.rng, self.rates, self.clock()
        if scheduled == now:  # first delivery attempt: the schedule's own misbehaviour
            roll = rng.random()
            if self.sweep_outage is not None and self.sweep_outage.covers(now):
                return self._not_swept(scheduled, "schedule outage")
            if roll < rates.sweeps_missed:
                return self._not_swept(scheduled, "missed")
            if roll < rates.sweeps_missed + rates.sweeps_dead_lettered:
                return self._not_swept(scheduled, "sent to the sweep dead-letter queue")
            if roll < rates.sweeps_missed + rates.sweeps_dead_lettered + rates.sweeps_late:
                self.push(now + timedelta(seconds=rng.uniform(1, 59)), "sweep", scheduled)
                self.trail.add(now, "sweep_late", None, "the schedule delivers late")
                return None
            if roll < rates.sweeps_missed + rates.sweeps_dead_lettered + rates.sweeps_late + rates.sweeps_throttled:
                self.push(now + timedelta(seconds=rng.uniform(60, 180)), "sweep", scheduled)
                self.trail.add(now, "sweep_throttled", None, "reserved concurrency: retried later")
                return None
        run = SweepRun(scheduled, now)
        self.sweeps.append(run)
        answer = self._invoke("sweep", {"source": "bedrock-async-tracker.schedule", "action": "sweep"}, "sweep")
        run.ended = self.clock()
        self._note_shared_durations()
        if answer is None:
            run.killed = True
            return None
        run.report = answer
        self.trail.add(now, "sweep", None, json.dumps(answer, sort_keys=True))
        return None

    def _not_swept(self, scheduled: datetime, why: str) -> None:
        self.sweeps.append(SweepRun(scheduled, None, why))
        self.trail.add(self.clock(), "no_sweep", None, why)

    def _proxy_faults(self, *, on: bool) -> None:
        """The proxy's faults at the world's rates, or none (the suite's session-wide stack is shared)."""
        state = self.stack.proxy.state
        state.decide, state.rewrite = (self.faults.decide, self.faults.rewrite) if on else (None, None)
        # DynamoDB promises no order for a Map's keys (moto keeps the order they were written in)
        shuffle = on and self.rates.shuffle_maps
        state.map_order, state.map_rng = ("shuffled", random.Random(self.seed * 7919 + 2)) if shuffle else ("", None)

    def _note_shared_durations(self) -> None:
        """The durations every environment has saved to the shared item, as of now (read past the proxy: no fault,
        no cost to the function), kept when they changed: what a timer may count on once environments read them."""
        answer = self.stack.client("dynamodb").get_item(
            TableName=self.stack.resources.table_name, Key={"invocationArn": {"S": STATE}}, ConsistentRead=True
        )
        stored = answer.get("Item", {}).get("durations", {}).get("M", {})
        read = Durations()
        read.adopt({model: value["S"] for model, value in stored.items()})  # as an environment reads them
        durations = read.shared
        if not self.shared_durations or self.shared_durations[-1][1] != durations:
            self.shared_durations.append((self.clock(), durations))

    # -- what is left at the end ------------------------------------------------------------------

    def _facts(self, end: datetime) -> Facts:
        stack = self.stack
        notifications: dict[tuple[str, str], int] = {}
        for envelope in stack.notifications():
            key = (envelope["message"]["invocationArn"], envelope["message"]["status"])
            notifications[key] = notifications.get(key, 0) + 1
        events: dict[tuple[str, str], int] = {}
        bus = bool(self.settings.event_bus_name)
        if bus:
            for event in stack.events():
                key = (event["detail"]["invocationArn"], event["detail"]["status"])
                events[key] = events.get(key, 0) + 1
        records: dict[str, dict[str, Any]] = {}
        dynamodb = stack.client("dynamodb")
        for page in dynamodb.get_paginator("scan").paginate(TableName=stack.resources.table_name):
            for item in page["Items"]:
                key = item["invocationArn"]["S"]
                records[key] = {name: next(iter(value.values())) for name, value in item.items()}
        dead_bodies = {m.body: m.receives for m in self.intake.dead}
        dead: dict[str, int] = {}
        for body, receives in dead_bodies.items():
            dead[_submitted(body)] = max(dead.get(_submitted(body), 0), receives)
        for waiting in self.workflows.waiting.values():
            waiting.settle(end)
        return Facts(
            seed=self.seed,
            fifo=self.fifo,
            bus=bus,
            settings=self.settings,
            end=end,
            jobs=self.jobs,
            asked=self.asked,
            answered=self.answered,
            sweeps=self.sweeps,
            timers=self.timers,
            timer_received=self.timer_received,
            sweep_series=self.sweep_series,
            shared_durations=self.shared_durations,
            event_received=self.event_received,
            event_deliveries=self.event_deliveries,
            intake_received=self.intake_received,
            intake_dead=dead,
            intake_handled=self.intake_handled,
            submissions=self.submissions,
            dead_bodies=dead_bodies,
            handled_bodies=self.handled_bodies,
            workflows=self.workflows.waiting,
            notifications=notifications,
            events=events,
            records=records,
            faults=self.faults,
            kills=self.kills,
            trail=self.trail,
            topic_denied=self.faults.topic_denied,
            bus_deleted=self.faults.bus_deleted,
        )


def _subjects(body: str) -> list[str]:
    from .queues import _arns

    if body.startswith('{"invocationArn"'):  # a submission with a callback
        return [_submitted(body)]
    return _arns(body) if body.startswith("{") else [body]


def _submitted(body: str) -> str:
    """The ARN an intake message submits: the body itself, or its JSON object's invocationArn."""
    return str(json.loads(body)["invocationArn"]) if body.startswith("{") else body


def _callback_note(body: str) -> str:
    if not body.startswith("{"):
        return ""
    kind = TASK_TOKEN if TASK_TOKEN in json.loads(body) else CALLBACK_ID
    return f", with a {kind} {json.loads(body)[kind][:8]}"


# -- the process: environment, back-offs, the hooks on every call ------------------------------------

_CURRENT: list[Scenario] = []
_DEBUG = bool(os.environ.get("CHAOS_DEBUG"))


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _SimulatedTime:
    """botocore's endpoint sleeps between retries with time.sleep: here that time passes on the scenario's clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)
        if _DEBUG and _CURRENT:
            _CURRENT[-1].trail.add(self.clock(), "backoff", None, f"{seconds:.3f}")

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)


def _seeded_backoffs() -> None:
    """botocore draws each retry's back-off from the process's global random, which moto's threads draw from too."""
    from botocore.retries import standard

    original = standard.ExponentialBackoff.delay_amount
    if getattr(original, "_seeded", False):
        return

    def delay_amount(self: Any, context: Any) -> Any:
        if _CURRENT:
            self._random = _CURRENT[-1].backoff.random
        return original(self, context)

    delay_amount._seeded = True  # type: ignore[attr-defined]
    standard.ExponentialBackoff.delay_amount = delay_amount  # type: ignore[method-assign]


@contextmanager
def _simulated_backoff(clock: Clock) -> Iterator[None]:
    endpoint: Any = botocore.endpoint  # botocore-stubs do not show the module's own `time`
    saved = endpoint.time
    endpoint.time = _SimulatedTime(clock)
    try:
        yield
    finally:
        endpoint.time = saved


@contextmanager
def _hooked(scenario: Scenario) -> Iterator[None]:
    _CURRENT.append(scenario)
    try:
        yield
    finally:
        _CURRENT.remove(scenario)
        scenario._environments_gone()  # its environments end with its day


class SharedClients:
    """What Runtime.build asks of a boto3 session (`client`), each client made once per process and then shared:
    a new execution environment is a new Runtime, with its own state, but making botocore clients anew (loading
    their models, opening connections) would cost more CPU than the scenario itself. Each client's hooks give every
    call its simulated time and Lambda's deadline, and keep what Bedrock was asked and answered."""

    def __init__(self) -> None:
        _seeded_backoffs()
        self.session = boto3.session.Session()
        self.session.events.register("before-send", _before_send)
        self.session.events.register("after-call.bedrock-runtime.GetAsyncInvoke", _after_call)
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._hooks: list[tuple[Any, str, Any]] | None = None

    def client(self, service: str, region_name: str | None = None, config: Any = None) -> Any:
        key = (service, region_name, repr(getattr(config, "retries", None)), getattr(config, "read_timeout", None),
               getattr(config, "connect_timeout", None), getattr(config, "max_pool_connections", None))  # fmt: skip
        if key not in self._clients:
            client = self.session.client(service, region_name=region_name, config=config)  # type: ignore[call-overload]
            _no_real_timeouts(client)
            self._record_hooks(client)
            self._clients[key] = client
        return self._clients[key]

    @contextmanager
    def environment(self) -> Iterator[list[tuple[Any, str, Any]]]:
        """Within it, the hooks an execution environment's Runtime registers on the shared clients (its deadline
        guard's) are kept in the list it yields, for `release` when the environment is gone: else every call would
        go through the hooks of every environment the process ever made, and a worker's seeds grow slower."""
        hooks: list[tuple[Any, str, Any]] = []
        self._hooks = hooks
        try:
            yield hooks
        finally:
            self._hooks = None

    @staticmethod
    def release(hooks: list[tuple[Any, str, Any]]) -> None:
        for events, name, handler in hooks:
            events.unregister(name, handler)
        hooks.clear()

    def _record_hooks(self, client: Any) -> None:
        events = client.meta.events
        register = events.register

        def recorded(event_name: str, handler: Any, *args: Any, **kwargs: Any) -> Any:
            if self._hooks is not None:
                self._hooks.append((events, event_name, handler))
            return register(event_name, handler, *args, **kwargs)

        events.register = recorded


def _no_real_timeouts(client: Any) -> None:
    """The function's timeouts are part of its design (its worst cases, read from the client's config, stay as they
    are), but on a busy machine a local answer can take seconds of real time: here no call times out for real, so
    the same seed runs the same way however loaded the machine is. Lost answers are the faults' to decide."""
    from urllib3.util.timeout import Timeout

    http = client._endpoint.http_session
    http._timeout = Timeout(connect=120, read=120)
    manager = getattr(http, "_manager", None)
    if manager is not None:
        manager.connection_pool_kw["timeout"] = http._timeout


def _before_send(request: Any = None, event_name: str = "", **_: Any) -> None:
    if _CURRENT:
        parts = [*event_name.split("."), "", ""]
        service, operation = parts[1], parts[2]
        _CURRENT[-1]._before_call("bedrock" if service == "bedrock-runtime" else service, request, operation)


def _after_call(parsed: Any = None, **_: Any) -> None:
    if _CURRENT and isinstance(parsed, dict) and "invocationArn" in parsed and "status" in parsed:
        _CURRENT[-1]._answered(str(parsed["invocationArn"]), str(parsed["status"]))
