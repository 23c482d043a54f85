"""The fault-injection harness: execution environments with their own clients and an injected clock, crash
hooks at each step, and the contract's invariants checked after every case."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from localrun.aws_proxy import Fault
from localrun.clock import Clock
from localrun.lambda_driver import Killed, LambdaContext, killed_at, sqs_event
from localrun.stack import LocalAws, Resources
from tests.helpers import PAST_THE_FLOOR, arn, fail_on_the_wire, patient_session
from tracking import clients
from tracking.config import Settings
from tracking.records import RecordStore
from tracking.runtime import Runtime


class Crash(BaseException):
    """The execution environment dies here (killed, out of memory): nothing after this line runs."""


class Waves:
    """Virtual latency for one client's calls, made in parallel: calls gather into waves of up to `width` (the
    function's pool), every call of a wave starts at the same moment of the test's clock, and the clock reads
    `seconds` later once they answer. What fits before a deadline is then exact, whatever the threads' timing.

    A wave starts once `width` calls wait, or as many as are still to come of `calls` in all (if the test knows it);
    otherwise, once no call has come for `gather` seconds of real time, a fallback long enough that a busy machine's
    slow threads never split a wave."""

    def __init__(
        self, clock: Clock, seconds: float, *, width: int, calls: int | None = None, gather: float = 60.0
    ) -> None:
        self.clock, self.seconds, self.width, self.calls, self.gather = clock, seconds, width, calls, gather
        self._condition = threading.Condition()
        self._wave, self._waiting = 0, 0
        self._starts: list[datetime] = []
        self._mine = threading.local()
        self.waves: list[int] = []  # calls per wave

    def install(self, client: Any) -> None:
        name = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-call.{name}", self._before)
        client.meta.events.register(f"after-call.{name}", self._after)

    def _before(self, **_: Any) -> None:
        with self._condition:
            wave = self._wave
            self._waiting += 1
            self._condition.notify_all()  # one more came: the others' wait for more starts again
            while self._wave == wave and self._waiting < self._wanted():
                waiting = self._waiting
                if not self._condition.wait_for(
                    lambda waiting=waiting: self._wave > wave or self._waiting > waiting, timeout=self.gather
                ):
                    break  # nobody came for `gather` seconds: this wave starts with those here
            if self._wave == wave:  # full, or nobody else is coming: this wave starts, all of it now
                self.waves.append(self._waiting)
                self._starts.append(self.clock())
                self._wave, self._waiting = wave + 1, 0
                self._condition.notify_all()
            self._mine.start = self._starts[wave]

    def _wanted(self) -> int:
        if self.calls is None:
            return self.width
        return min(self.width, self.calls - sum(self.waves))

    def _after(self, **_: Any) -> None:
        self.clock.advance_to(self._mine.start + timedelta(seconds=self.seconds))


@dataclass
class World:
    stack: LocalAws
    resources: Resources
    settings: Settings
    clock: Clock
    submitted: list[str] = field(default_factory=list)
    session: boto3.session.Session = field(default_factory=boto3.session.Session)
    patient_clients: boto3.session.Session = field(default_factory=patient_session)
    hidden: list[str] = field(default_factory=list)  # receipt handles of messages a run handed back

    def environment(self, *, patient: bool = False, **changes: Any) -> Runtime:
        """A new execution environment (its own clients), sharing the test's clock. Its clients come from one boto3
        session for all (a session of its own would reload botocore's endpoint data each time, for nothing), with
        the function's read timeouts on the wire; `patient` ones wait for the local stack however slow the machine
        (tests.helpers.patient_session), for tests whose subject is not a timeout."""
        from dataclasses import replace

        session = self.patient_clients if patient else self.session
        return Runtime.build(replace(self.settings, **changes), clock=self.clock, session=session)

    def start(self, count: int, prefix: str = "job", *, seconds: float = 3600.0) -> list[str]:
        """`count` invocations on Bedrock, each running `seconds` on the test's clock unless ended earlier."""
        return [
            self.stack.simulator.add(arn(f"{prefix}{i:0{12 - len(prefix)}d}"), seconds=seconds) for i in range(count)
        ]

    def tracked_then_ended(self, count: int, prefix: str, **changes: Any) -> tuple[list[str], Runtime]:
        """`count` invocations submitted and tracked in progress by a new environment (its settings with `changes`),
        then ended on Bedrock, the clock past their first possible end (a sweep asks about them)."""
        jobs = self.start(count, prefix)
        runtime = self.environment(**changes)
        self.send(*jobs)
        while self.deliver(runtime, batch=100)["received"]:
            pass
        for job in jobs:
            self.stack.simulator.end(job)
        self.clock.advance(PAST_THE_FLOOR)
        return jobs, runtime

    def send(self, *bodies: str) -> None:
        sqs = self.stack.client("sqs")
        for body in bodies:
            sqs.send_message(QueueUrl=self.resources.queue_url, MessageBody=body)
            self.submitted.append(body)

    def deliver(self, runtime: Runtime, *, budget: float = 60.0, batch: int = 10) -> dict[str, Any]:
        """One event source mapping step: receive up to `batch` messages, invoke, delete what succeeded (nothing if
        the run died). What was not deleted stays hidden until `redeliver` says its visibility timeout passed: SQS
        counts that timeout in real time, which must not decide a test (a busy machine receives slowly)."""
        sqs = self.stack.client("sqs")
        messages: list[dict[str, Any]] = []
        while len(messages) < batch:
            received = sqs.receive_message(
                QueueUrl=self.resources.queue_url,
                MaxNumberOfMessages=min(10, batch - len(messages)),
                AttributeNames=["All"],
                VisibilityTimeout=900,
            ).get("Messages", [])
            if not received:
                break
            messages += received
        if not messages:
            return {"received": 0}
        event = sqs_event(messages, queue_arn=self.resources.queue_arn, region="us-east-1")
        context = LambdaContext(timeout=budget, clock=self.clock)
        try:
            with killed_at(context.passed):
                response = runtime.handle(event, context)
        except (Crash, Killed):  # Lambda hands the whole batch back
            self.hidden += [message["ReceiptHandle"] for message in messages]
            return {"received": len(messages), "crashed": True}
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=self.resources.queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                self.hidden.append(message["ReceiptHandle"])
        return {"received": len(messages), "failed": len(failed)}

    def redeliver(self) -> None:
        """The visibility timeout of every message a run handed back has passed: SQS delivers them again."""
        sqs = self.stack.client("sqs")
        for handle in self.hidden:
            sqs.change_message_visibility(QueueUrl=self.resources.queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
        self.hidden.clear()

    def sweep(self, runtime: Runtime, *, budget: float = 60.0) -> dict[str, Any]:
        context = LambdaContext(timeout=budget, clock=self.clock)
        try:
            with killed_at(context.passed):
                return runtime.handle({}, context)
        except (Crash, Killed):
            return {"crashed": True}

    def notifications(self) -> Counter[str]:
        return Counter(n["message"]["invocationArn"] for n in self.stack.notifications())

    def record(self, invocation: str) -> dict[str, Any] | None:
        return RecordStore(self.settings.table_name, self.stack.client("dynamodb"), retention=timedelta(0)).get(
            invocation
        )

    def assert_invariants(self, notified: Counter[str], *, ended: list[str]) -> None:
        """Every submitted invocation is tracked or its message is still queued or dead-lettered; every
        ending is notified exactly once."""
        queued = self.stack.queue_depth(self.resources.queue_url) + self.stack.queue_depth(
            self.resources.dead_letter_queue_url
        )
        untracked = [b for b in self.submitted if self.record(_arn_of(b)) is None]
        assert len(untracked) <= queued, f"lost: {untracked}"
        assert {a: notified[a] for a in ended} == dict.fromkeys(ended, 1)
        assert not set(notified) - set(ended), "a notification for an invocation that had not ended"


def _arn_of(body: str) -> str:
    return str(json.loads(body)["invocationArn"]) if body.startswith("{") else body


@pytest.fixture
def world(stack: LocalAws, resources: Resources, environment: dict[str, str], clock: Clock) -> World:
    return World(stack=stack, resources=resources, settings=Settings.from_env(), clock=clock)


def hook(runtime: Runtime, service: str, moment: str, operation: str, action: Callable[..., Any]) -> None:
    """Run `action` at botocore's `moment` (`before-call`, `after-call`) of `operation` on that runtime's client."""
    clients = {
        "dynamodb": runtime.tracker.records.client,
        "sns": runtime.tracker.notifier.client,
    }
    client = clients[service] if service in clients else runtime.tracker.bedrock.client("us-east-1")
    client.meta.events.register(f"{moment}.{client.meta.service_model.service_id.hyphenize()}.{operation}", action)


def crash_once() -> Callable[..., None]:
    fired = [False]

    def crash(**_: Any) -> None:
        if not fired[0]:
            fired[0] = True
            raise Crash

    return crash


def fail_write(world: World, which: str, *, times: int, code: str = "ProvisionedThroughputExceededException") -> Fault:
    """Fail `times` of one kind of the function's DynamoDB writes (recognised by its update expression) on the wire,
    each past the SDK's retries: every attempt botocore makes is refused."""
    marks = {
        "observe": "#firstSeenAt",
        "claim": "SET #dueAt = :lease",
        "mark_published": ":published",
        "release": ":reason",
    }
    return fail_on_the_wire(
        world.stack,
        "dynamodb",
        "UpdateItem",
        code=code,
        status=400,
        calls=times * clients.DYNAMODB.attempts,
        match=marks[which],
    )
