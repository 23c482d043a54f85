"""SQS standard queues on the simulated clock, with what SQS promises and no more.

- at least once: a message may be delivered twice (the same MessageId, a second copy), delayed ones too;
- no order: a receive takes any of the visible messages;
- a received message is hidden for the visibility timeout; deleted only when the function reports it done, it comes
  back otherwise, and the receive that would pass maxReceiveCount moves it to the dead-letter queue;
- a receive the event source mapping makes and Lambda then throttles (reserved concurrency) counts as a receive.

`QueueClient` is what the function's Timers send through: SendMessage and SendMessageBatch on a SimQueue, with
throttles, refused entries and lost answers at the world's rates.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError

from .faults import Rates
from .trail import Trail


@dataclass
class Message:
    id: str
    body: str
    visible_at: datetime
    sent_at: datetime
    receives: int = 0
    handle: int = 0  # the current receipt handle: a delete with an older one does nothing


@dataclass
class SimQueue:
    name: str
    clock: Callable[[], datetime]
    rng: random.Random
    rates: Rates
    trail: Trail
    visibility: timedelta
    max_receives: int
    messages: list[Message] = field(default_factory=list)
    dead: list[Message] = field(default_factory=list)
    handles: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    ids: itertools.count[int] = field(default_factory=itertools.count)

    def send(self, body: str, delay: timedelta = timedelta(0)) -> str:
        """One message, visible after `delay`; sometimes delivered twice (SQS's at-least-once)."""
        now = self.clock()
        message_id = f"{self.name}-{next(self.ids)}"
        self.messages.append(Message(message_id, body, now + delay, now))
        if self.rng.random() < self.rates.sqs_duplicates:
            again = now + delay + timedelta(seconds=self.rng.uniform(0, self.rates.sqs_duplicate_spread))
            self.messages.append(Message(message_id, body, again, now))
            self.trail.add(self.clock(), "sqs_duplicate", _arns(body), f"{self.name} {message_id} again at {again:%T}")
        return message_id

    def next_visible(self) -> datetime | None:
        return min((m.visible_at for m in self.messages), default=None)

    def receive(self, most: int) -> list[Message]:
        """Up to `most` visible messages, in no particular order, each hidden for the visibility timeout."""
        now = self.clock()
        visible = [m for m in self.messages if m.visible_at <= now]
        self.rng.shuffle(visible)
        taken: list[Message] = []
        for message in visible:
            if len(taken) == most:
                break
            if message.receives >= self.max_receives:  # this receive would pass maxReceiveCount
                self.messages.remove(message)
                self.dead.append(message)
                self.trail.add(now, "dead_lettered", _arns(message.body), f"{self.name} {message.id}")
                continue
            message.receives += 1
            message.handle = next(self.handles)
            message.visible_at = now + self.visibility
            taken.append(message)
        return taken

    def delete(self, message: Message, handle: int) -> None:
        if message in self.messages and message.handle == handle:
            self.messages.remove(message)


class QueueClient:
    """The SQS client the function's Timers use, on a SimQueue (SendMessage, SendMessageBatch)."""

    def __init__(  # noqa: PLR0917 - one of each the world has
        self,
        queue: SimQueue,
        rng: random.Random,
        rates: Rates,
        trail: Trail,
        spend: Callable[[], None],
        timers: dict[str, list[tuple[str, datetime, datetime, int]]],
        sweep_series: tuple[Callable[[], bool], dict[str, set[int]]] | None = None,
    ) -> None:
        self.timers = timers  # ARN -> (message id, sent, goes off, its number in the series) of each timer sent
        # whether a sweep is running, and ARN -> numbers of the timer series sweeps started (a write each)
        self.sweep_series = sweep_series
        self.queue = queue
        self.rng = rng
        self.rates = rates
        self.trail = trail
        self.spend = spend  # the call's time, and Lambda's deadline

    def _fault(self, operation: str, body: str) -> None:
        self.spend()
        if self.rng.random() < self.rates.sqs_send_throttles:
            self.trail.add(self.queue.clock(), "sqs_throttled", _arns(body), operation)
            answer: dict[str, Any] = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
            raise ClientError(answer, operation)  # type: ignore[arg-type]  # botocore's stubs want every header

    def send_message(self, *, QueueUrl: str, MessageBody: str, DelaySeconds: int = 0) -> dict[str, Any]:
        self._fault("SendMessage", MessageBody)
        message_id = self.queue.send(MessageBody, timedelta(seconds=DelaySeconds))
        now = self.queue.clock()
        message = json.loads(MessageBody)
        if message.get("reason") == "timer":
            for arn in _arns(MessageBody):
                fires = now + timedelta(seconds=DelaySeconds)
                self.timers.setdefault(arn, []).append((message_id, now, fires, int(message.get("attempt", 1))))
                if self.sweep_series is not None and self.sweep_series[0]():
                    self.sweep_series[1].setdefault(arn, set()).add(int(message.get("attempt", 1)))
        self.trail.add(self.queue.clock(), "sent", _arns(MessageBody), f"{MessageBody} delay {DelaySeconds}s")
        if self.rng.random() < self.rates.lost_answers:
            self.trail.add(self.queue.clock(), "answer_lost", _arns(MessageBody), "SendMessage")
            raise ReadTimeoutError(endpoint_url=QueueUrl)
        return {"MessageId": message_id}

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self._fault("SendMessageBatch", json.dumps([e["MessageBody"] for e in Entries]))
        successful, failed = [], []
        for entry in Entries:
            if self.rng.random() < self.rates.sqs_entry_failures:
                failed.append({"Id": entry["Id"], "Code": "InternalError", "SenderFault": False})
                self.trail.add(self.queue.clock(), "entry_refused", _arns(entry["MessageBody"]), "SendMessageBatch")
                continue
            message_id = self.queue.send(entry["MessageBody"], timedelta(seconds=entry.get("DelaySeconds", 0)))
            successful.append({"Id": entry["Id"], "MessageId": message_id})
            self.trail.add(self.queue.clock(), "sent", _arns(entry["MessageBody"]), "hand-off")
        return {"Successful": successful, "Failed": failed}


def _arns(body: str) -> list[str]:
    """What a checks-queue message names: the ARNs of a timer or a hand-off, the output folder of an S3 event."""
    try:
        message = json.loads(body)
    except ValueError:
        return []
    if isinstance(message, dict) and message.get("source") == "aws.s3":
        parts = str(message.get("detail", {}).get("object", {}).get("key", "")).split("/")
        return parts[-2:-1]
    if isinstance(message, dict) and isinstance(message.get("invocationArn"), str):  # a submission with a callback
        return [message["invocationArn"]]
    wanted = message.get("check") if isinstance(message, dict) else None
    return [w for w in (wanted if isinstance(wanted, list) else [wanted]) if isinstance(w, str)]
