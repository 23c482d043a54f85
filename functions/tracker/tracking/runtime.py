"""Wiring: the clients and objects one execution environment builds once and reuses for every event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config

from . import clients
from .bedrock import BedrockReader
from .callbacks import Resumer
from .channels.bus import Bus
from .channels.callback import Callbacks
from .channels.channel import Channel
from .channels.topic import Topic
from .checks import Checks, from_queue
from .config import Settings
from .discovery import Discovery
from .events import EventPublisher
from .intake import Intake, is_sqs_batch
from .lifecycle import Clock, Tracker, utcnow
from .notifier import Notifier
from .outputs import OutputLister
from .records import SENT_FIELDS, RecordStore
from .sweep import Sweep
from .timers import Timers


@dataclass
class Runtime:
    settings: Settings
    guard: clients.DeadlineGuard
    tracker: Tracker
    intake: Intake
    sweep: Sweep
    checks: Checks | None
    clock: Clock

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        session: boto3.session.Session | None = None,
        bedrock_client: Any = None,
        clock: Clock = utcnow,
    ) -> Runtime:
        """Clients come from `session` (endpoints from the SDK's own settings) unless given, as tests may."""
        session = session or boto3.session.Session()
        guard = clients.DeadlineGuard(clock)

        def config(limits: clients.CallLimits) -> Config:
            return limits.config(settings.concurrency)

        outputs = (
            OutputLister(guard.watch(session.client("s3", config=config(clients.S3))), settings.output_buckets)
            if settings.output_buckets
            else None
        )
        notifier = Notifier(settings.topic_arn, guard.watch(session.client("sns", config=config(clients.SNS))), outputs)
        # Each ending goes out on every channel here (channels/), its state in the record under the channel's name.
        channels: list[Channel] = [Topic(notifier)]
        if settings.event_bus_name:
            events = guard.watch(session.client("events", config=config(clients.EVENTS)))
            channels.append(Bus(EventPublisher(settings.event_bus_name, events)))
        # The workflows waiting on a job (a submission's taskToken or callbackId), in the function's own Region.
        resumer = Resumer(
            guard.watch(session.client("stepfunctions", config=config(clients.STATES))),
            guard.watch(session.client("lambda", config=config(clients.LAMBDA))),
        )
        channels.append(Callbacks(resumer))
        records = RecordStore(
            settings.table_name,
            guard.watch(session.client("dynamodb", config=config(clients.DYNAMODB))),
            retention=timedelta(days=settings.record_retention_days),
            channels=tuple(channel.name for channel in channels if channel.name in SENT_FIELDS),  # a state each
        )
        bedrock = BedrockReader(
            (lambda _region: bedrock_client)
            if bedrock_client is not None
            else (
                lambda region: guard.watch(
                    session.client("bedrock-runtime", region_name=region, config=config(clients.BEDROCK))
                )
            )
        )
        timers = (
            Timers(guard.watch(session.client("sqs", config=config(clients.SQS))), settings.checks_queue_url)
            if settings.checks_queue_url
            else None
        )
        tracker = Tracker(
            bedrock=bedrock,
            records=records,
            notifier=notifier,
            max_poll_interval=timedelta(seconds=settings.max_poll_interval_seconds),
            sweep_period=settings.sweep_period,
            overdue_after=timedelta(minutes=settings.overdue_minutes),
            clock=clock,
            timers=timers,
            channels=tuple(channels),
            watched_buckets=settings.output_buckets,
            bucket_region=outputs.region_of if outputs is not None else None,
            region=settings.region,
            account=settings.account,
        )
        return cls(
            settings=settings,
            guard=guard,
            tracker=tracker,
            intake=Intake(tracker, workers=settings.concurrency, allowed_accounts=settings.allowed_accounts),
            checks=Checks(
                tracker,
                records,
                timers,
                workers=settings.concurrency,
                clock=clock,
                region=settings.region,
                accounts=tuple(sorted({settings.account, *settings.allowed_accounts} - {""})),
            )
            if timers
            else None,
            sweep=Sweep(
                tracker,
                records,
                workers=settings.concurrency,
                clock=clock,
                period=settings.sweep_period,
                timers=timers,
                cpu_share=settings.cpu_share,
                run_budget=timedelta(seconds=settings.function_timeout_seconds),
                discovery=Discovery(
                    bedrock,
                    records,
                    tracker,
                    regions=settings.discovery_regions,
                    model_ids=settings.discovery_model_ids,
                    clock=clock,
                )
                if settings.discovery_regions
                else None,
            ),
            clock=clock,
        )

    def handle(self, event: Any, lambda_context: Any = None) -> dict[str, Any]:
        """An SQS batch is intake (or, from the checks queue, checks asked for now); in the contract's words, "any
        event that is not an SQS batch is a sweep". The schedule's Input (`"action": "sweep"`) is not read: it names
        the event for whoever reads it in the logs, and a manual invoke with `{}` sweeps as well."""
        deadline = self.guard.deadline = self.deadline(lambda_context)
        try:
            if is_sqs_batch(event):
                if self.checks is not None and from_queue(event, self.settings.checks_queue_url):
                    return self.checks.handle(event, deadline=deadline)
                return dict(self.intake.handle(event, deadline=deadline))
            return self.sweep.run(deadline=deadline).as_dict()
        finally:
            self.guard.deadline = None  # the run is over: its deadline with it

    def deadline(self, lambda_context: Any) -> datetime:
        remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
        budget = (
            timedelta(milliseconds=remaining())
            if callable(remaining)
            else timedelta(seconds=self.settings.function_timeout_seconds)
        )
        return self.clock() + budget
