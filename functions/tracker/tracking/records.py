"""The record store: one DynamoDB item per invocation, changed only by conditional writes.

A record's place in the sweep's work is two attributes, indexed by the table's `DueWork` index:
`work` is `poll` while the invocation is in progress and `notify` while its ending awaits publication,
`dueAt` (epoch seconds) is when that work is due. Both are removed once the notification is published,
so the index holds exactly the work there is and a sweep never scans the table.

A record expires (DynamoDB TTL on `expiresAt`) only once its work is done: `expiresAt` is set when the
notification is published and removed whenever the record has work, so no sweep has to touch a record to
keep it alive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from .callbacks import Callback
from .errors import AlreadyDone, TooManyCallbacks, call
from .invocations import IN_PROGRESS, Invocation, iso, model_id_of, parse_iso

if TYPE_CHECKING:  # the stubs are a development dependency only
    from types_boto3_dynamodb.client import DynamoDBClient
    from types_boto3_dynamodb.type_defs import QueryOutputTypeDef

DUE_INDEX = "DueWork"
ID_INDEX = "ByInvocationId"  # an output object's folder is named by the invocation's id: from it, to the record
# One item that every execution environment shares: learned durations and the sweeps' state (see polling).
STATE = "tracker#state"
# An output's arrival noted where no record was found for its folder (not indexed yet, or not recorded yet), under
# `output#<invocation id>`: a job recorded after it reads it. Kept a day (Bedrock says it ended long before).
OUTPUT_NOTE = "output#"
OUTPUT_NOTE_KEPT = timedelta(days=1)
POLL = "poll"
# In progress, its output heard (a watched bucket's events say when it lands): the sweep makes forced checks only.
LISTEN = "listen"
# In progress, asked by its own timers at its model's predicted ends: the sweep makes forced checks, and asks each
# sweep only once the job is older than any its model ran.
TIMED = "timed"
IN_PROGRESS_WORK = (POLL, LISTEN, TIMED)
NOTIFY = "notify"
# The channels an ending goes out on (channels/), each with its own state under its name (PENDING until sent, then
# PUBLISHED), the id the service gave it and when: the SNS topic always, the EventBridge bus when one is named. One
# lease (work NOTIFY) covers all, and one write records what a run sent: a channel that failed never makes another
# send again. A new channel adds its fields here (the stored shape of today's records: one attribute per field).
NOTIFICATION = "notification"
EVENT = "event"
SENT_FIELDS = {NOTIFICATION: ("notificationMessageId", "notifiedAt"), EVENT: ("eventId", "eventPutAt")}
PENDING = "pending"
PUBLISHED = "published"
# A channel that refused an ending until someone acts, still refusing once the ending was as old as a record is
# kept: given up on that channel (see Tracker._publish).
REFUSED = "refused"
# A waiting workflow's callback (callbacks.py), one attribute each, `callback_<fingerprint>`: a map of its `kind`, its
# `token` and its `state` (PENDING from its submission until the ending goes to it, then PUBLISHED, or GONE: refused
# for good, never retried), and `resumedAt`. The set `callbacks` holds their fingerprints, so that a conditional
# write can count them. A token is up to 2,048 characters: an entry takes about 2.2 KB, and 100 of them 220 KB, with
# the rest of a record (a context of 4 KiB, a failure message of 2 KiB, the output's location) far from the 400 KB a
# DynamoDB item may hold. A submission past the bound fails alone (errors.TooManyCallbacks).
CALLBACK_PREFIX = "callback_"
CALLBACKS = "callbacks"
MAX_CALLBACKS = 100
GONE = "gone"
# DynamoDB refuses an expression longer than 4 KB (the developer guide's Constraints, *Expression parameters*). A
# callback marked sent takes about 94 bytes of an UpdateExpression and 49 of its condition: mark_delivered names at
# most this many in one write, and marks the others first, in writes of their own.
CALLBACKS_PER_WRITE = 25
# An ending first seen longer ago than a record is kept: its notification may have gone out and expired with its
# record, so it is recorded and not notified (see Tracker.observe).
SKIPPED = "skipped"

# A job's timer series (lifecycle.Tracker): the number of its timer to go off next, and when (epoch seconds). A timer
# message of any other number is dropped without a call, so SQS's repeats and a second series cost nothing.
TIMER_FIELDS = ("timer", "timerAt")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class Record:
    """An invocation's item in the table, read into types once: the invocation as last recorded, the context it was
    submitted with (JSON, its numbers exact), and the state of each channel its ending goes out on."""

    invocation: Invocation
    context: Any = None
    channels: dict[str, str] = field(default_factory=dict)  # by channel: PENDING, PUBLISHED, SKIPPED or REFUSED
    refusals: int = 0  # sends refused until someone acts, in a row: each waits longer for the next retry
    unknown_since: datetime | None = None  # the first send whose outcome is unknown: a FIFO topic's window opened
    lost: bool = False  # ended by the tracker: Bedrock stopped knowing it while it was in progress (Tracker.check)
    timer: int | None = None  # the number of the job's timer to go off next, if it has a series (TIMER_FIELDS)
    callbacks: dict[str, Callback] = field(default_factory=dict)  # by key (callback_key); states in `channels`
    # The callbacks (by key) a send may have reached without an answer: a later refusal as closed proves none gone.
    unanswered: frozenset[str] = frozenset()

    @property
    def arn(self) -> str:
        return self.invocation.invocation_arn

    def pending(self, channel: str) -> bool:
        return self.channels.get(channel) == PENDING

    @classmethod
    def of(cls, item: dict[str, Any]) -> Record:
        """From the item as deserialized (the GetAsyncInvoke fields under their own names, as observe wrote them)."""
        return cls(
            invocation=Invocation.from_answer(str(item["invocationArn"]), item),
            context=item.get("context"),
            channels={
                **{name: str(item[name]) for name in SENT_FIELDS if name in item},
                **{name: str(value["state"]) for name, value in item.items() if name.startswith(CALLBACK_PREFIX)},
            },
            refusals=int(item.get("refusals", 0)),
            unknown_since=parse_iso(str(item["unknownSince"])) if "unknownSince" in item else None,
            lost=item.get("lost") is True,
            timer=int(item["timer"]) if "timer" in item else None,
            callbacks={
                name: Callback(str(value["kind"]), str(value["token"]))
                for name, value in item.items()
                if name.startswith(CALLBACK_PREFIX)
            },
            unanswered=frozenset(
                name for name, value in item.items() if name.startswith(CALLBACK_PREFIX) and value.get("unanswered")
            ),
        )


@dataclass(frozen=True)
class Observation:
    """What writing an observation did. `record` is the record after the write (or as found, if it had ended; None
    where there was none)."""

    record: Record | None
    ended_now: bool  # this write moved the record from in progress (or nothing) to an ending: notify it
    created: bool


@dataclass(frozen=True)
class DueItem:
    arn: str
    due_at: datetime
    submit_time: datetime | None = None
    model_id: str | None = None

    @classmethod
    def of(cls, item: dict[str, Any]) -> DueItem:
        submitted = item.get("submitTime", {}).get("S")
        model = item.get("modelArn", {}).get("S")
        return cls(
            arn=item["invocationArn"]["S"],
            due_at=datetime.fromtimestamp(int(item["dueAt"]["N"]), UTC),
            submit_time=parse_iso(submitted) if submitted else None,
            model_id=model_id_of(model) if model else None,
        )


def marking_writes(callbacks: int) -> int:
    """The writes mark_delivered makes to record what a run sent to `callbacks` callbacks (CALLBACKS_PER_WRITE a
    write), besides the second one a callback added while sending calls for."""
    return max(1, -(-callbacks // CALLBACKS_PER_WRITE))


def callback_key(callback: Callback) -> str:
    """The attribute that holds a callback, and names its state among the record's channels."""
    return CALLBACK_PREFIX + callback.fingerprint


def _callback_entry(callback: Callback) -> dict[str, str]:
    return {"kind": callback.kind, "token": callback.token, "state": PENDING}


def _state_path(key: str) -> str:
    """Where a channel's state is in an expression: its attribute, or a callback's `state`."""
    return f"#{key}.#state" if key.startswith(CALLBACK_PREFIX) else f"#{key}"


# A callback is taken where its key is new and the record holds fewer than MAX_CALLBACKS (or it holds this one).
_ROOM = "(attribute_not_exists(#callbacks) OR size(#callbacks) < :maxCallbacks OR contains(#callbacks, :fingerprint))"


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def invocation_id(arn: str) -> str:
    """The twelve characters that end an invocation's ARN, and name its output folder."""
    return arn.rsplit("/", 1)[-1]


class RecordStore:
    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        retention: timedelta,
        channels: tuple[str, ...] = (NOTIFICATION,),
    ) -> None:
        self.table_name = table_name
        self.client = client
        self.retention = retention
        self.channels = channels

    def observe(
        self,
        invocation: Invocation,
        *,
        now: datetime,
        context: dict[str, Any] | None = None,
        next_check_at: datetime,
        lease_until: datetime,
        existing_only: bool = False,
        work: str = POLL,
        lost: bool = False,
        timer: tuple[int, datetime] | None = None,
        callback: Callback | None = None,
    ) -> Observation:
        """Store what Bedrock said. Only a record still in progress (or none) changes, so an ending is recorded once.

        An ending is written with its notification pending and leased to this run until `lease_until`. With
        `existing_only`, only a record already in progress changes: where there is none, nothing is written and
        the observation's record is empty. `work`: the sweep's work while it is in progress (POLL, LISTEN or TIMED);
        `timer`: the number of the timer just set and when it goes off (the job's series from now on). A `callback`
        is kept, PENDING, with what Bedrock said (once: a resubmission keeps the first); raises TooManyCallbacks if
        the record holds MAX_CALLBACKS others (and nothing is written then).
        """
        values: dict[str, Any] = {}
        assignments: dict[str, str] = {}

        def assign(name: str, value: Any, expression: str | None = None) -> None:
            values[name] = value
            assignments[name] = expression or f":{name}"

        for name, value in invocation.fields().items():
            if name != "invocationArn":  # the key itself
                assign(name, value)
        assign("invocationId", invocation_id(invocation.invocation_arn))
        assign("lastCheckedAt", iso(now))
        assign("firstSeenAt", iso(now), "if_not_exists(#firstSeenAt, :firstSeenAt)")
        if context is not None:  # the first submission's context stays: a resubmission is harmless
            assign("context", context, "if_not_exists(#context, :context)")
        if lost:
            assign("lost", True)
        extra_values: dict[str, Any] = {"inProgress": IN_PROGRESS}
        addition = ""
        if callback is not None:
            key = callback_key(callback)
            assign(key, _callback_entry(callback), f"if_not_exists(#{key}, :{key})")
            extra_values.update(fingerprints={callback.fingerprint}, fingerprint=callback.fingerprint)
            extra_values["maxCallbacks"] = MAX_CALLBACKS
            addition = " ADD #callbacks :fingerprints"
        if invocation.ended:
            assign("work", NOTIFY)
            assign("dueAt", epoch(lease_until))
            for channel in self.channels:
                assign(channel, PENDING)
        else:
            assign("work", work)
            assign("dueAt", epoch(next_check_at))
            if timer is not None:
                assign("timer", timer[0])
                assign("timerAt", epoch(timer[1]))
        condition = (
            "attribute_exists(#invocationArn) AND #status = :inProgress"
            if existing_only
            else "(attribute_not_exists(#invocationArn) OR #status = :inProgress)"
        )
        if callback is not None:
            condition += " AND " + _ROOM
        try:
            answer = call(
                self.client.update_item,
                TableName=self.table_name,
                Key={"invocationArn": {"S": invocation.invocation_arn}},
                # Work remains, so the record must not expire (see the module's docstring).
                UpdateExpression="SET "
                + ", ".join(f"#{name} = {expr}" for name, expr in assignments.items())
                + " REMOVE #expiresAt"
                + addition,
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    f"#{name}": name
                    for name in [*assignments, "invocationArn", "expiresAt", *([CALLBACKS] if callback else [])]
                },
                ExpressionAttributeValues=_values({**values, **extra_values}),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except AlreadyDone as exc:  # it had already ended (another run owns that ending), or is not there
            found = Record.of(_item(exc.item)) if exc.item else None
            if callback is not None and found is not None and not found.invocation.ended:
                raise _too_many(invocation.invocation_arn) from exc  # in progress: only the bound refuses it
            return Observation(record=found, ended_now=False, created=False)
        item = _item(answer["Attributes"])
        return Observation(record=Record.of(item), ended_now=invocation.ended, created=item["firstSeenAt"] == iso(now))

    def observe_unnotified(
        self, invocation: Invocation, *, now: datetime, context: dict[str, Any] | None = None
    ) -> Observation:
        """Record an ending that will not be notified (SKIPPED) where there is no record; its retention starts now."""
        fields = {name: value for name, value in invocation.fields().items() if name != "invocationArn"}
        values = {
            **fields,
            "invocationId": invocation_id(invocation.invocation_arn),
            "firstSeenAt": iso(now),
            "lastCheckedAt": iso(now),
            "notification": SKIPPED,
            "expiresAt": epoch(now + self.retention),
            **({"context": context} if context is not None else {}),
        }
        try:
            answer = call(
                self.client.update_item,
                TableName=self.table_name,
                Key={"invocationArn": {"S": invocation.invocation_arn}},
                UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in values),
                ConditionExpression="attribute_not_exists(#invocationArn)",
                ExpressionAttributeNames={f"#{name}": name for name in [*values, "invocationArn"]},
                ExpressionAttributeValues=_values(values),
                ReturnValues="ALL_NEW",
            )
        except AlreadyDone:  # another run recorded it in the meantime
            return Observation(record=self.record(invocation.invocation_arn), ended_now=False, created=False)
        return Observation(record=Record.of(_item(answer["Attributes"])), ended_now=False, created=True)

    def mark_unknown(self, arn: str, *, now: datetime, run_after: datetime) -> dict[str, Any]:
        """Bedrock answered that it does not know this in-progress invocation: count the answer in the run of such
        answers (`forgottenSince`, `forgottenAnswers`, `forgottenLast`). A run whose last answer came before
        `run_after` is over (Bedrock answered in between: the job is asked at least that often), and a new one
        starts with this answer. Returns the record's item as written; AlreadyDone if not in progress."""
        names = {
            "#forgottenSince": "forgottenSince",
            "#forgottenAnswers": "forgottenAnswers",
            "#forgottenLast": "forgottenLast",
            "#status": "status",
        }
        answer = call(
            self.client.update_item,
            TableName=self.table_name,
            Key={"invocationArn": {"S": arn}},
            UpdateExpression="SET #forgottenSince = if_not_exists(#forgottenSince, :now), #forgottenLast = :now "
            "ADD #forgottenAnswers :one",
            ConditionExpression="#status = :inProgress",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_values({"now": iso(now), "one": 1, "inProgress": IN_PROGRESS}),
            ReturnValues="ALL_OLD",
        )
        item = _item(answer["Attributes"])
        last = item.get("forgottenLast")
        if last is not None and parse_iso(str(last)) < run_after:  # a new run: Bedrock knew it in between
            call(
                self.client.update_item,
                TableName=self.table_name,
                Key={"invocationArn": {"S": arn}},
                UpdateExpression="SET #forgottenSince = :now, #forgottenAnswers = :one",
                ConditionExpression="#status = :inProgress AND #forgottenLast = :now",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_values({"now": iso(now), "one": 1, "inProgress": IN_PROGRESS}),
            )
            return {**item, "forgottenSince": iso(now), "forgottenAnswers": 1, "forgottenLast": iso(now)}
        answers = int(item.get("forgottenAnswers", 0)) + 1
        since = item.get("forgottenSince") or iso(now)
        return {**item, "forgottenSince": since, "forgottenAnswers": answers, "forgottenLast": iso(now)}

    def add_callback(self, arn: str, callback: Callback, *, now: datetime, lease_until: datetime) -> Record | None:
        """Keep a callback on the record of an ended job, to go out under the same lease as every channel. Where no run
        holds the ending's lease (all sent, or a retry due), this write takes it (until `lease_until`) and returns the
        record: the caller sends what is pending. Where a run holds it, the callback waits PENDING, and that run's
        finishing write, which counts the callbacks, leaves the ending due (mark_delivered): None then, and None if
        the record holds this callback already. Raises TooManyCallbacks past MAX_CALLBACKS."""
        key = callback_key(callback)
        values = {
            "entry": _callback_entry(callback),
            "fingerprints": {callback.fingerprint},
            "fingerprint": callback.fingerprint,
            "maxCallbacks": MAX_CALLBACKS,
            "inProgress": IN_PROGRESS,
            "notify": NOTIFY,
            "lease": epoch(lease_until),
            "now": epoch(now),
        }
        new = (
            f"attribute_exists(#invocationArn) AND #status <> :inProgress AND attribute_not_exists(#{key}) AND {_ROOM}"
        )
        writes = (
            (  # take the lease with it
                f"SET #{key} = :entry, #work = :notify, #dueAt = :lease REMOVE #expiresAt ADD #callbacks :fingerprints",
                f"{new} AND (attribute_not_exists(#work) OR (#work = :notify AND #dueAt <= :now))",
            ),
            (f"SET #{key} = :entry ADD #callbacks :fingerprints", f"{new} AND #work = :notify AND #dueAt > :now"),
        )
        for _ in range(3):  # a lease taken or given up between two writes: each try is one write
            for expression, condition in writes:
                used = set(re.findall(r":(\w+)", expression + " " + condition))
                try:
                    answer = call(
                        self.client.update_item,
                        TableName=self.table_name,
                        Key={"invocationArn": {"S": arn}},
                        UpdateExpression=expression,
                        ConditionExpression=condition,
                        ExpressionAttributeNames=_names(expression + " " + condition),
                        ExpressionAttributeValues=_values({k: v for k, v in values.items() if k in used}),
                        ReturnValues="ALL_NEW",
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                except AlreadyDone as exc:
                    found = _item(exc.item) if exc.item else {}
                    if not found or key in found:
                        return None
                    if len(found.get(CALLBACKS, ())) >= MAX_CALLBACKS:
                        raise _too_many(arn) from exc
                    continue  # the lease was not as this write expected: the other write fits
                if "#work = :notify, " in expression:
                    return Record.of(_item(answer["Attributes"]))
                return None
        raise AlreadyDone(f"{arn}: its lease changed hands on every try; the callback was not kept")

    def claim_notification(self, arn: str, *, now: datetime, lease_until: datetime) -> Record | None:
        """Take a pending notification whose lease has run out; None if another run holds it or it is done."""
        try:
            answer = call(
                self.client.update_item,
                TableName=self.table_name,
                Key={"invocationArn": {"S": arn}},
                UpdateExpression="SET #dueAt = :lease",
                ConditionExpression="#work = :notify AND #dueAt <= :now",
                ExpressionAttributeNames={"#work": "work", "#dueAt": "dueAt"},
                ExpressionAttributeValues=_values({"lease": epoch(lease_until), "notify": NOTIFY, "now": epoch(now)}),
                ReturnValues="ALL_NEW",
            )
        except AlreadyDone:
            return None
        return Record.of(_item(answer["Attributes"]))

    def mark_delivered(
        self,
        arn: str,
        *,
        now: datetime,
        sent: dict[str, str],
        finished: bool,
        failure: str | None = None,
        retry_at: datetime | None = None,
        refused: bool = False,
        abandoned: tuple[str, ...] = (),
        unknown_at: datetime | None = None,
        gone: tuple[str, ...] = (),
        callbacks: int = 0,
        unanswered: tuple[str, ...] = (),
        room_for_two: bool = True,
    ) -> bool:
        """What one run sent, in one write: each channel in `sent` (channel, or a callback's key: the id the service
        gave) is published, each in `abandoned` REFUSED, each callback in `gone` GONE (never to be sent).
        `finished` (nothing left pending): the record leaves the index for good and its retention starts; but if a
        callback was added since the record was read (`callbacks`: how many it held; add_callback), what went is
        recorded and the ending left due at once, for whoever claims it next to send the new one (False is returned
        then, else True). Else, with a `failure`, the rest is due again at `retry_at` (now if not given), so that a
        sweep retries it then, and a send `refused` until someone acts counts one more refusal in a row; without a
        failure it stays leased (a send whose outcome is unknown: the lease settles it). Raises AlreadyDone if a
        channel sent or abandoned was not pending. `unanswered`: the callbacks whose send had no answer (it may have
        resumed the workflow: Record.unanswered). `unknown_at`: when a send whose outcome is unknown was made (kept
        if an earlier one was: SNS's FIFO deduplication window counts from the first). Without `room_for_two` (the
        run has time for one write, not for the second a callback added while sending calls for), a `finished`
        ending is recorded as the second write would, due at once: whoever claims it next finds nothing pending, and
        finishes it (False is returned)."""
        values: dict[str, Any] = {
            "notify": NOTIFY,
            "pending": PENDING,
            "published": PUBLISHED,
            "refused": REFUSED,
            "now": iso(now),
        }
        named = dict.fromkeys(key for key in [*sent, *abandoned, *gone, *unanswered] if key.startswith(CALLBACK_PREFIX))
        extra = list(named)[CALLBACKS_PER_WRITE:]
        for first in range(0, len(extra), CALLBACKS_PER_WRITE):
            self._mark_callbacks(
                arn,
                set(extra[first : first + CALLBACKS_PER_WRITE]),
                sent=sent,
                abandoned=abandoned,
                gone=gone,
                unanswered=unanswered,
                values=values,
            )
        sent = {key: sent_id for key, sent_id in sent.items() if key not in extra}
        abandoned = tuple(key for key in abandoned if key not in extra)
        gone = tuple(key for key in gone if key not in extra)
        unanswered = tuple(key for key in unanswered if key not in extra)
        assignments, removals, additions = [], [], []
        for channel, sent_id in sent.items():
            if channel.startswith(CALLBACK_PREFIX):
                assignments += [f"#{channel}.#state = :published", f"#{channel}.#resumedAt = :now"]
                continue
            id_field, at_field = SENT_FIELDS[channel]
            values[id_field] = sent_id
            assignments += [f"#{channel} = :published", f"#{id_field} = :{id_field}", f"#{at_field} = :now"]
        assignments += [f"{_state_path(channel)} = :refused" for channel in abandoned]
        values["gone"] = GONE
        assignments += [f"{_state_path(key)} = :gone" for key in gone]
        values["true"] = True
        assignments += [f"#{key}.#unanswered = :true" for key in unanswered]  # still pending; it may have gone
        if unknown_at is not None:
            values["unknownAt"] = iso(unknown_at)
            assignments.append("#unknownSince = if_not_exists(#unknownSince, :unknownAt)")
        if finished:
            values["expires"] = epoch(now + self.retention)
            assignments.append("#expiresAt = :expires")
            removals += ["#work", "#dueAt", "#lastPublishError", "#refusals", "#unknownSince"]
        elif failure is not None:
            values.update(due=epoch(retry_at or now), reason=failure[:1000], one=1)
            assignments += ["#dueAt = :due", "#lastPublishError = :reason"]
            additions.append("#publishFailures :one")
            if refused:
                additions.append("#refusals :one")
        if not assignments:
            return True
        condition = " AND ".join(
            ["#work = :notify", *(f"{_state_path(key)} = :pending" for key in [*sent, *abandoned, *gone])]
        )
        if finished and room_for_two:  # and no callback added since the record was read
            values["known"] = callbacks
            counted = "size(#callbacks) = :known" if callbacks else "attribute_not_exists(#callbacks)"
            try:
                self._update(
                    *self._delivered(arn, assignments, removals, additions, f"{condition} AND {counted}"), values
                )
            except AlreadyDone:
                pass
            else:
                return True
        if finished:  # a callback came while sending, or may come: what went is recorded, the ending due at once
            values["due"] = epoch(now)
            assignments = [a for a in assignments if not a.startswith("#expiresAt")] + ["#dueAt = :due"]
            removals = []
        self._update(*self._delivered(arn, assignments, removals, additions, condition), values)
        return not finished

    def _mark_callbacks(
        self,
        arn: str,
        keys: set[str],
        *,
        sent: dict[str, str],
        abandoned: tuple[str, ...],
        gone: tuple[str, ...],
        unanswered: tuple[str, ...],
        values: dict[str, Any],
    ) -> None:
        """Mark the callbacks `keys` (among `sent`, `abandoned`, `gone`, `unanswered`) in one write of their own, each
        still pending and the ending still being notified, as mark_delivered's own write would; AlreadyDone if not."""
        assignments: list[str] = []
        for key in sorted(keys):
            if key in sent:
                assignments += [f"#{key}.#state = :published", f"#{key}.#resumedAt = :now"]
            elif key in abandoned or key in gone:
                assignments.append(f"#{key}.#state = {':refused' if key in abandoned else ':gone'}")
            if key in unanswered:
                assignments.append(f"#{key}.#unanswered = :true")
        condition = " AND ".join(["#work = :notify", *(f"#{key}.#state = :pending" for key in sorted(keys))])
        self._update(arn, "SET " + ", ".join(assignments), condition, {**values, "gone": GONE, "true": True})

    @staticmethod
    def _delivered(
        arn: str, assignments: list[str], removals: list[str], additions: list[str], condition: str
    ) -> tuple[str, str, str]:
        expression = "SET " + ", ".join(assignments)
        expression += " REMOVE " + ", ".join(removals) if removals else ""
        expression += " ADD " + ", ".join(additions) if additions else ""
        return arn, expression, condition

    def move_timer(self, arn: str, *, current: int, number: int, at: datetime) -> None:
        """Timer `current` went off on a job still running: its next is `number`, at `at`. AlreadyDone if the record's
        timer is not `current` (a repeat of that timer, or another series took over)."""
        self._update(
            arn,
            "SET #timer = :number, #timerAt = :at",
            "#timer = :current AND #status = :inProgress",
            {"number": number, "at": epoch(at), "current": current, "inProgress": IN_PROGRESS},
        )

    def start_timer(self, arn: str, *, at: datetime, stale_before: datetime) -> int:
        """Start a job's timer series, unless one is going (its next timer due at or after `stale_before`): returns
        the new series' first number, one past the record's last. AlreadyDone if a series is going or it ended."""
        answer = call(
            self.client.update_item,
            TableName=self.table_name,
            Key={"invocationArn": {"S": arn}},
            UpdateExpression="SET #timer = if_not_exists(#timer, :zero) + :one, #timerAt = :at",
            ConditionExpression="(attribute_not_exists(#timer) OR #timerAt < :stale) AND #status = :inProgress",
            ExpressionAttributeNames={"#timer": "timer", "#timerAt": "timerAt", "#status": "status"},
            ExpressionAttributeValues=_values(
                {"zero": 0, "one": 1, "at": epoch(at), "stale": epoch(stale_before), "inProgress": IN_PROGRESS}
            ),
            ReturnValues="UPDATED_NEW",
        )
        return int(_item(answer["Attributes"])["timer"])

    def due(self, work: str, *, now: datetime, page_size: int = 500) -> Iterator[list[DueItem]]:
        """Pages of work that is due, most overdue first; a Query on the index, never a Scan.

        The index carries `submitTime` and `modelArn`, so a sweep can tell without asking Bedrock (or writing)
        whether an invocation is worth asking about yet."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "#work = :work AND #dueAt <= :now",
            "ExpressionAttributeNames": {"#work": "work", "#dueAt": "dueAt"},
            "ExpressionAttributeValues": _values({"work": work, "now": epoch(now)}),
            "Limit": page_size,
        }
        for page in self._query(request):
            items = [DueItem.of(item) for item in page.get("Items", [])]
            if items:
                yield items

    def by_invocation_id(self, invocation_id: str) -> list[tuple[str, str]]:
        """The records of the invocations with this id (one, unless two regions drew the same twelve characters):
        (ARN, status) each, from one Query on the index."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": ID_INDEX,
            "KeyConditionExpression": "#invocationId = :id",
            "ExpressionAttributeNames": {"#invocationId": "invocationId"},
            "ExpressionAttributeValues": _values({"id": invocation_id}),
        }
        page = call(self.client.query, **request)
        return [(item["invocationArn"]["S"], item.get("status", {}).get("S", "")) for item in page.get("Items", [])]

    def note_output(self, invocation_id: str, *, now: datetime) -> None:
        """Note that an output landed in the folder of `invocation_id` (the first time it did is kept)."""
        call(
            self.client.update_item,
            TableName=self.table_name,
            Key={"invocationArn": {"S": OUTPUT_NOTE + invocation_id}},
            UpdateExpression="SET #landedAt = if_not_exists(#landedAt, :now), #expiresAt = :expires",
            ExpressionAttributeNames={"#landedAt": "landedAt", "#expiresAt": "expiresAt"},
            ExpressionAttributeValues=_values({"now": iso(now), "expires": epoch(now + OUTPUT_NOTE_KEPT)}),
        )

    def output_noted(self, invocation_id: str) -> bool:
        """Whether an output of `invocation_id` landed before its record was found (a read by key: consistent)."""
        return self.get(OUTPUT_NOTE + invocation_id) is not None

    def statuses(self, arns: list[str]) -> list[tuple[str, str]]:
        """(ARN, status) of those of `arns` that have a record: a consistent GetItem each (never a write missed, as an
        index Query may miss one; the role may GetItem, and these are few: the stack's account and those it accepts)."""
        found = [(arn, self.get(arn)) for arn in dict.fromkeys(arns)]
        return [(arn, str(item.get("status", ""))) for arn, item in found if item is not None]

    def state(self) -> dict[str, Any]:
        """The shared item (learned durations, the sweeps' state), as stored; empty if there is none yet."""
        return self.get(STATE) or {}

    def save_durations(self, durations: dict[str, str], *, version: int, seen: dict[str, int] | None = None) -> None:
        """Replace the learned durations and when each model was last seen, if nobody saved others since `version`
        was read (AlreadyDone if they did)."""
        self._update(
            STATE,
            "SET #durations = :durations, #durationsSeen = :seen, #durationsVersion = :next",
            "attribute_not_exists(#durationsVersion) OR #durationsVersion = :version",
            {"durations": durations, "seen": seen or {}, "next": version + 1, "version": version},
        )

    def mark_sweeps_incomplete(self, since: datetime) -> None:
        """A sweep could not ask about all due work: forced checks since `since` are not known to be made. Each mark
        counts one in `incompleteMarks`, even where `incompleteSince` stays as it was: a sweep that read the item
        before this mark then does not remove it (mark_sweeps_complete)."""
        call(
            self.client.update_item,
            TableName=self.table_name,
            Key={"invocationArn": {"S": STATE}},
            UpdateExpression="SET #incompleteSince = if_not_exists(#incompleteSince, :since) ADD #incompleteMarks :one",
            ExpressionAttributeNames={"#incompleteSince": "incompleteSince", "#incompleteMarks": "incompleteMarks"},
            ExpressionAttributeValues=_values({"since": epoch(since), "one": 1}),
        )

    def mark_sweep_complete_at(self, started: datetime) -> None:
        """A sweep that started at `started` asked about all due work: every environment's next sweep starts from
        there (polling.forced), unless a sweep that started later said so first."""
        try:
            self._update(
                STATE,
                "SET #lastCompleteSweep = :started",
                "attribute_not_exists(#lastCompleteSweep) OR #lastCompleteSweep < :started",
                {"started": epoch(started)},
            )
        except AlreadyDone:
            return

    def mark_sweeps_complete(self, seen: int, marks: int | None = None) -> None:
        """A sweep asked about all due work since the mark it read (`incompleteSince` `seen`, `incompleteMarks`
        `marks`): remove it, unless a newer one replaced it or was made since (a hand-off that failed while the
        sweep ran marks the same `since` again: only its count tells)."""
        counted = "#incompleteMarks = :marks" if marks is not None else "attribute_not_exists(#incompleteMarks)"
        try:
            call(
                self.client.update_item,
                TableName=self.table_name,
                Key={"invocationArn": {"S": STATE}},
                UpdateExpression="REMOVE #incompleteSince",
                ConditionExpression=f"#incompleteSince = :seen AND {counted}",
                ExpressionAttributeNames={"#incompleteSince": "incompleteSince", "#incompleteMarks": "incompleteMarks"},
                ExpressionAttributeValues=_values({"seen": seen, **({"marks": marks} if marks is not None else {})}),
            )
        except AlreadyDone:
            return

    def count(self, work: str) -> int:
        """How many records have this work (all of it, due or not): a counting Query on the index."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "#work = :work",
            "ExpressionAttributeNames": {"#work": "work"},
            "ExpressionAttributeValues": _values({"work": work}),
            "Select": "COUNT",
        }
        return sum(int(page.get("Count", 0)) for page in self._query(request))

    def known(self, arns: list[str]) -> set[str]:
        """Which of these ARNs have a record (BatchGetItem on the keys only; reads, not writes)."""
        found: set[str] = set()
        for start in range(0, len(arns), 100):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [{"invocationArn": {"S": arn}} for arn in dict.fromkeys(arns[start : start + 100])],
                    "ProjectionExpression": "invocationArn",
                }
            }
            while request:
                answer = call(self.client.batch_get_item, RequestItems=request)
                found.update(item["invocationArn"]["S"] for item in answer["Responses"].get(self.table_name, []))
                request = answer.get("UnprocessedKeys") or {}
        return found

    def watermark(self, region: str) -> datetime | None:
        """The newest submission time discovery has seen in a region (its own item in the table)."""
        item = self.get(f"discovery#{region}")
        return parse_iso(str(item["watermark"])) if item and "watermark" in item else None

    def set_watermark(self, region: str, moment: datetime) -> None:
        """Move the watermark forward; a concurrent sweep that moved it further already did the work."""
        try:
            self._update(
                f"discovery#{region}",
                "SET #watermark = :watermark",
                "attribute_not_exists(#watermark) OR #watermark < :watermark",
                {"watermark": iso(moment)},
            )
        except AlreadyDone:
            return

    def record(self, arn: str) -> Record | None:
        """The invocation's record, None if it has none."""
        item = self.get(arn)
        return Record.of(item) if item else None

    def get(self, arn: str) -> dict[str, Any] | None:
        """An item as stored (a record's, or the shared state's), deserialized; None if there is none."""
        answer = call(
            self.client.get_item, TableName=self.table_name, Key={"invocationArn": {"S": arn}}, ConsistentRead=True
        )
        return _item(answer["Item"]) if "Item" in answer else None

    def _update(self, arn: str, expression: str, condition: str, values: dict[str, Any]) -> None:
        used = set(re.findall(r":(\w+)", expression + " " + condition))  # DynamoDB refuses values not used
        values = {name: value for name, value in values.items() if name in used}
        names = _names(expression + " " + condition)
        call(
            self.client.update_item,
            TableName=self.table_name,
            Key={"invocationArn": {"S": arn}},
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_values(values),
        )

    def _query(self, request: dict[str, Any]) -> Iterator[QueryOutputTypeDef]:
        """The pages of a Query, following LastEvaluatedKey."""
        while True:
            page = call(self.client.query, **request)
            yield page
            if "LastEvaluatedKey" not in page:
                return
            request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def _names(expression: str) -> dict[str, str]:
    """The attribute names an expression uses (`#name`, in paths and functions too)."""
    return {f"#{name}": name for name in re.findall(r"#(\w+)", expression)}


def _too_many(arn: str) -> TooManyCallbacks:
    return TooManyCallbacks(
        f"{arn}: its record holds {MAX_CALLBACKS} callbacks, as many as it may; this one is not kept (one workflow "
        "waiting on the others' behalf can pass the ending on)"
    )


def _values(values: dict[str, Any]) -> dict[str, Any]:
    return {f":{name}": _serializer.serialize(value) for name, value in values.items()}


def _item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}
