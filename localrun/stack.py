"""AWS on this machine (LocalAws): moto's server for DynamoDB, SQS, SNS, S3 and EventBridge, the Bedrock simulator,
and the resources of template.yaml created on them, with the names and settings the deployed function would see.

What moto does not do and AWS does is modelled here: DynamoDB applies conditional writes atomically, counts the
read and write request units each request costs (`consumed_capacity`, localrun.capacity), deletes items whose TTL
has passed (`expire_records`, on the stack's clock) and, if asked (`index_lag`), shows a write in
its global secondary indexes only some seconds after it was made; the function reaches AWS through a proxy
(aws_proxy) that injects faults beneath the SDK and deduplicates SNS FIFO publishes on the stack's clock; S3's
events reach the checks queue through moto's EventBridge and the template's own rule, but late, sometimes twice and
sometimes not at all, as EventBridge delivers (`EventDelivery`), where moto delivers at once, and with their keys
URL-encoded as S3 sends them.

moto runs state machines here (`_execute_state_machines`): the workflow the README shows
(examples/wait-for-job.asl.json) waits on a job with its task token, and the tracker resumes it. Lambda's durable
callbacks, which nothing here executes, reach a stand-in that checks each request against botocore's model
(durable_callbacks)."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
from moto.server import ThreadedMotoServer

from bedrock_simulator import Simulator, SimulatorServer

from . import capacity, index_lag, template
from .aws_proxy import AwsProxy
from .durable_callbacks import DurableCallbacks
from .index_lag import IndexLag

REGION = "us-east-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
# The state machine the README shows, its intake queue's URL left to a definition substitution.
WAIT_FOR_JOB = Path(__file__).resolve().parent.parent / "examples" / "wait-for-job.asl.json"


_serialize_writes = threading.RLock()  # moto's transact_write_items calls its own put_item: one thread, twice


@dataclass
class EventDelivery:
    """How EventBridge delivers to a queue: at least once, usually within seconds, now and then a minute or more
    later; `duplicates` and `losses` are shares of events delivered twice or never (a rule's target failing)."""

    delay: tuple[float, float] = (1.0, 5.0)
    late_share: float = 0.01
    late: tuple[float, float] = (60.0, 120.0)
    duplicates: float = 0.0
    losses: float = 0.0
    seed: int | None = None
    delivered: int = 0
    lost: int = 0
    # Takes each delivery (the event, its delay in seconds) instead of the queue: a simulation on a clock of its own.
    sink: Callable[[dict[str, Any], float], None] | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - a model, not security

    def deliveries(self) -> list[float]:
        """The delays, in seconds, of each delivery of one event (none if it is lost)."""
        if self._rng.random() < self.losses:
            self.lost += 1
            return []
        copies = 2 if self._rng.random() < self.duplicates else 1
        self.delivered += copies
        return [self._delay() for _ in range(copies)]

    def _delay(self) -> float:
        low, high = self.late if self._rng.random() < self.late_share else self.delay
        return self._rng.uniform(low, high)


_DELIVERY = EventDelivery()


def _answer_eventbridge_configuration_as_s3_does() -> None:
    """S3 answers GetBucketNotificationConfiguration with the bucket's EventBridgeConfiguration; moto keeps it
    (and sends the events) but leaves it out of the answer."""
    from moto.s3.responses import S3Response

    original = S3Response.get_bucket_notification
    if getattr(original, "_modelled", False):
        return

    def get_bucket_notification(self: Any) -> Any:
        answer = original(self)
        configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if configuration is None or configuration.event_bridge is None:
            return answer
        status, headers, body = answer
        text = body.decode() if isinstance(body, bytes) else str(body)
        if "<NotificationConfiguration" not in text:  # an empty answer: none of the other kinds either
            text = '<?xml version="1.0" encoding="UTF-8"?><NotificationConfiguration/>'
        text = re.sub(
            r"<NotificationConfiguration([^>]*)/>", r"<NotificationConfiguration\1></NotificationConfiguration>", text
        )
        text = text.replace("</NotificationConfiguration>", "<EventBridgeConfiguration/></NotificationConfiguration>")
        return status, headers, text.encode()

    get_bucket_notification._modelled = True  # type: ignore[attr-defined]
    S3Response.get_bucket_notification = get_bucket_notification  # type: ignore[method-assign]


def _deliver_events_as_eventbridge_does() -> None:
    """moto's rules send each event to an SQS target at once; EventBridge takes seconds, and may repeat or lose."""
    from moto.events.models import Rule
    from moto.sqs.models import sqs_backends

    original = Rule._send_to_sqs_queue
    if getattr(original, "_modelled", False):
        return

    def send(self: Any, resource_id: str, event: dict[str, Any], group_id: str | None = None) -> None:
        if group_id or event.get("source") != "aws.s3":  # FIFO targets, and the endings put on a bus: as moto does
            event.setdefault("account", self.account_id)  # which EventBridge's events carry, and moto's lose
            original(self, resource_id, event, group_id)
            return
        if "time" in event and not isinstance(event["time"], str):
            event["time"] = datetime.fromtimestamp(float(event["time"]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # S3 URL-encodes the key (a space as `+`, other characters as %XX, the slashes kept); moto sends it as is
        detail = event.get("detail") or {}
        if isinstance(detail.get("object"), dict) and "key" in detail["object"]:
            encoded = quote_plus(str(detail["object"]["key"]), safe="/")
            event = {**event, "detail": {**detail, "object": {**detail["object"], "key": encoded}}}
        for delay in _DELIVERY.deliveries():
            if _DELIVERY.sink is not None:
                _DELIVERY.sink(event, delay)
                continue
            sqs_backends[self.account_id][self.region_name].send_message(
                queue_name=resource_id, message_body=json.dumps(event), delay_seconds=min(900, round(delay))
            )

    send._modelled = True  # type: ignore[attr-defined]
    Rule._send_to_sqs_queue = send  # type: ignore[method-assign]


def _execute_state_machines(endpoint: str, port: int) -> None:
    """moto's server runs state machines only when its configuration says so. Its executor calls other services with
    clients of its own, at localhost:MOTO_PORT (5000 unless set): this server's port, so that a task's SendMessage
    lands in this stack's queue (moto's own SQS, not through the function's proxy)."""
    from moto.stepfunctions.parser.asl.utils import boto_client

    setattr(boto_client, "moto_server_port", lambda: str(port))  # noqa: B010 - moto's module declares no such name
    request = urllib.request.Request(  # noqa: S310 - the stack's own server
        f"{endpoint}/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        answer.read()


def _keep_the_cause_of_a_task_failure() -> None:
    """SendTaskFailure's `cause` reaches the task's Catch and the execution's failure on Step Functions; moto's server
    reads only the `error` and drops the cause."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.send_task_failure
    if getattr(original, "_modelled", False):
        return

    def send_task_failure(self: Any) -> Any:
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    send_task_failure._modelled = True  # type: ignore[attr-defined]
    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]


def _name_each_execution_as_step_functions_does() -> None:
    """StartExecution without a name gets a UUID on Step Functions; moto's executing backend names it "None", so that
    every such execution of a state machine would share one ARN."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.start_execution
    if getattr(original, "_modelled", False):
        return

    def start_execution(self: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    start_execution._modelled = True  # type: ignore[attr-defined]
    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]


def _answer_without_delayed_acks() -> None:
    """moto's server writes an answer's headers and body apart; with Nagle's algorithm on, the body waits for the
    client's delayed ACK (40 ms on Linux), which made every call through it take that long."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    MotoRequestHandler.disable_nagle_algorithm = True


def _list_moto_services_once() -> None:
    """moto's server finds the service of every request by listing its package's folders (os.listdir, and a stat of
    each of some 150 entries, backends.list_of_moto_modules): a twentieth of the stack's CPU in a chaos day. They do
    not change while it runs."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "_listed_once", False):
        return
    listed = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return listed

    list_of_moto_modules._listed_once = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules


def _answer_one_dynamodb_request_at_a_time() -> None:
    """DynamoDB reads and writes an item atomically: a request never sees another's write half made. moto's threaded
    server does its own work around the backend's: UpdateItem deep-copies the item before updating it (for
    ReturnValues), GetItem serialises it, each outside any lock, and a copy taken while another thread adds to the
    item's attributes fails ("dictionary changed size during iteration", answered 500), as seen on a loaded machine
    with ten submissions adding callbacks to one record at once. Every DynamoDB request runs whole under
    index_lag's lock, the first that its writes take (then the write lock), so that the order stays one."""
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_one_at_a_time", False):
        return
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with index_lag.LOCK:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoHandler._one_at_a_time = True  # type: ignore[attr-defined]


def _make_item_writes_atomic() -> None:
    """DynamoDB applies each conditional write atomically; moto's threaded server does not, so two
    concurrent UpdateItem calls can both pass one condition. The stack serialises moto's item writes so
    that the tracker's exactly-once guarantees are tested against DynamoDB's real semantics.

    Once per process, marked on the class: later patches (index_lag's) wrap the same methods, so a mark on
    the outermost function is not this patch's, and a second stack in the process (the bench's days) wrapped them
    again: each write then took the lock inside itself and waited for good (tests/integration/test_stack_twice.py)."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_writes_serialised", False):
        return
    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
        original = getattr(DynamoDBBackend, name)

        def serialised(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _serialize_writes:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, serialised)
    DynamoDBBackend._writes_serialised = True  # type: ignore[attr-defined]


@dataclass
class Resources:
    table_name: str
    topic_arn: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str
    subscriber_queue_url: str
    bucket: str
    checks_queue_url: str
    checks_queue_arn: str
    checks_dead_letter_queue_url: str
    # The bus the function puts every ending on, and a user's rule on it taking them all to this queue.
    event_bus_name: str = ""
    event_subscriber_queue_url: str = ""
    # The README's workflow (examples/wait-for-job.asl.json), sending to this intake queue.
    state_machine_arn: str = ""


@dataclass
class LocalAws:
    """Start with `start()`; `environment()` is what the function gets; `client(name)` talks to the stack."""

    time_factor: float = 1.0
    failure_rate: float = 0.0
    seed: int | None = None
    fifo: bool = False
    moto_port: int = 0
    simulator_port: int = 0
    proxy_port: int = 0
    simulator: Simulator = field(init=False)
    resources: Resources = field(init=False)
    proxy: AwsProxy = field(init=False)
    durable: DurableCallbacks = field(init=False)
    _clients: dict[tuple[str, str], Any] = field(init=False, default_factory=dict)
    _clients_lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def start(self) -> LocalAws:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
        _make_item_writes_atomic()
        _answer_one_dynamodb_request_at_a_time()
        _deliver_events_as_eventbridge_does()
        _answer_eventbridge_configuration_as_s3_does()
        _keep_the_cause_of_a_task_failure()
        _name_each_execution_as_step_functions_does()
        index_lag.install()
        capacity.install()  # after every other patch of moto's item writes: it counts what each one cost
        _answer_without_delayed_acks()
        _list_moto_services_once()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.aws_endpoint = f"http://{host}:{port}"
        _execute_state_machines(self.aws_endpoint, port)
        self.proxy = AwsProxy(self.aws_endpoint, port=self.proxy_port).start()
        self.simulator = Simulator(
            account=ACCOUNT,
            time_factor=self.time_factor,
            failure_rate=self.failure_rate,
            seed=self.seed,
            s3=self.client("s3"),
        )
        self._simulator_server = SimulatorServer(self.simulator, port=self.simulator_port).start()
        self.bedrock_endpoint = self._simulator_server.endpoint
        self.durable = DurableCallbacks().start()
        self.new_resources()
        return self

    def stop(self) -> None:
        self._simulator_server.stop()
        self.durable.stop()
        self.proxy.stop()
        self._moto.stop()

    @property
    def event_delivery(self) -> EventDelivery:
        return _DELIVERY

    @event_delivery.setter
    def event_delivery(self, model: EventDelivery) -> None:
        global _DELIVERY  # one moto in the process, one model of EventBridge's delivery  # noqa: PLW0603
        _DELIVERY = model

    @property
    def index_lag(self) -> IndexLag:
        """How late a Query on a global secondary index sees each write (localrun.index_lag); none by default."""
        return index_lag.current()

    @index_lag.setter
    def index_lag(self, model: IndexLag | float) -> None:
        """A model, or a number of seconds: every write seen exactly that late."""
        if not isinstance(model, IndexLag):
            model = IndexLag(min_seconds=float(model), max_seconds=float(model))
        model.clock = self.clock
        index_lag.set_current(model)

    @property
    def clock(self) -> Callable[[], datetime]:
        """The stack's clock: Bedrock's jobs, SNS FIFO deduplication and DynamoDB's TTL all run on it."""
        return self.simulator.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self.simulator.clock = clock
        self.proxy.state.clock = clock
        index_lag.current().clock = clock

    def consumed_capacity(self, *, by_function: bool = True) -> dict[str, float]:
        """The DynamoDB read and write request units (`read`, `write`) the requests on this stack's table have cost
        so far, as DynamoDB charges them (localrun.capacity): the function's, or everyone else's."""
        return capacity.consumed(self.resources.table_name, by_function=by_function)

    def expire_records(self) -> int:
        """Delete the items whose TTL attribute has passed on the stack's clock, as DynamoDB's TTL does (at some
        time after it passes; moto never does). Returns how many were deleted."""
        dynamodb = self.client("dynamodb")
        attribute = template.ttl_attribute()
        now = int(self.clock().timestamp())
        expired = [
            item["invocationArn"]
            for page in dynamodb.get_paginator("scan").paginate(TableName=self.resources.table_name)
            for item in page["Items"]
            if attribute in item and int(item[attribute]["N"]) <= now
        ]
        for key in expired:
            dynamodb.delete_item(TableName=self.resources.table_name, Key={"invocationArn": key})
        return len(expired)

    def environment(self) -> dict[str, str]:
        """The function's environment: the template's variables, with the SDK's endpoint settings pointing here."""
        settings = template.function_settings()
        # The template's poll interval on the stack's clock, as the simulator's job durations are.
        interval = int(settings["environment"]["MAX_POLL_INTERVAL_SECONDS"])
        return {
            **settings["environment"],
            "MAX_POLL_INTERVAL_SECONDS": str(max(1, round(interval * self.time_factor)) if interval else 0),
            "SWEEP_SCHEDULE": template.scaled_schedule(self.time_factor)[1],
            "CHECKS_QUEUE_URL": self.resources.checks_queue_url,
            "EVENT_BUS_NAME": self.resources.event_bus_name,
            # Lambda sets this itself, from the function's MemorySize
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(settings["memory"]),
            **CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.proxy.endpoint,  # the function's calls pass the proxy; a test's go to moto
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.bedrock_endpoint,
            "AWS_ENDPOINT_URL_LAMBDA": self.durable.endpoint,  # durable callbacks; nothing else of Lambda is called
            "ALLOWED_ACCOUNTS": ACCOUNT,  # as the template sets it: the deploying account
            "ACCOUNT_ID": ACCOUNT,
            "OUTPUT_BUCKETS": f"arn:aws:s3:::{self.resources.bucket}",
            "TABLE_NAME": self.resources.table_name,
            "TOPIC_ARN": self.resources.topic_arn,
        }

    def client(self, service: str, region: str = REGION) -> Any:
        """A client that talks to the stack directly (not through the function's proxy), one per service and
        region: a new boto3 session reloads botocore's endpoint data, which costs more than most calls."""
        with self._clients_lock:
            client = self._clients.get((service, region))
            if client is None:
                endpoint = self.bedrock_endpoint if service == "bedrock-runtime" else self.aws_endpoint
                client = self._clients[(service, region)] = boto3.session.Session(
                    aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
                    region_name=region,
                ).client(service, endpoint_url=endpoint)  # type: ignore[call-overload]  # any service, by name
        return client

    def new_resources(self, *, fifo: bool | None = None) -> Resources:
        """A fresh table, queues and topic on the running servers (the tests take one set each)."""
        self.resources = self._create_resources(suffix=secrets.token_hex(4), fifo=self.fifo if fifo is None else fifo)
        if getattr(self, "simulator", None) is not None:
            self.simulator.default_output_uri = f"s3://{self.resources.bucket}/videos"
        return self.resources

    def delete_resources(self, resources: Resources, *, buckets: tuple[str, ...] = ()) -> None:
        """Delete a set of resources (and `buckets` beside it) once it is done with: moto keeps every one in memory,
        and matches each event against every rule and each Publish against every subscription, so that a process
        running set after set (the chaos day's workers) grew slower with each."""
        events, sqs, sns, s3 = (self.client(name) for name in ("events", "sqs", "sns", "s3"))
        suffix = resources.table_name.removeprefix("invocations-")
        for rule, bus in ((f"output-events-{suffix}", "default"), (f"all-endings-{suffix}", resources.event_bus_name)):
            ids = [target["Id"] for target in events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]]
            if ids:
                events.remove_targets(Rule=rule, EventBusName=bus, Ids=ids)
            events.delete_rule(Name=rule, EventBusName=bus)
        if resources.event_bus_name:
            events.delete_event_bus(Name=resources.event_bus_name)
        for subscription in sns.list_subscriptions_by_topic(TopicArn=resources.topic_arn)["Subscriptions"]:
            sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
        sns.delete_topic(TopicArn=resources.topic_arn)
        urls = (
            resources.queue_url,
            resources.dead_letter_queue_url,
            resources.subscriber_queue_url,
            resources.checks_queue_url,
            resources.checks_dead_letter_queue_url,
            resources.event_subscriber_queue_url,
        )
        for url in filter(None, urls):
            sqs.delete_queue(QueueUrl=url)
        for bucket in (resources.bucket, *buckets):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                if page.get("Contents"):
                    keys = [{"Key": item["Key"]} for item in page["Contents"]]
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            s3.delete_bucket(Bucket=bucket)
        self.client("dynamodb").delete_table(TableName=resources.table_name)
        if resources.state_machine_arn:
            self.client("stepfunctions").delete_state_machine(stateMachineArn=resources.state_machine_arn)

    def _create_resources(self, suffix: str, fifo: bool) -> Resources:
        dynamodb, sqs, sns, s3 = (self.client(name) for name in ("dynamodb", "sqs", "sns", "s3"))
        table_name = f"invocations-{suffix}"
        dynamodb.create_table(**template.table_definition(table_name))
        dynamodb.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"AttributeName": template.ttl_attribute(), "Enabled": True}
        )

        intake = template.intake_settings()
        dlq_url = sqs.create_queue(QueueName=f"intake-dlq-{suffix}")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # The template's visibility timeout, on the stack's clock: failures come back as they would on AWS.
        visibility = max(1, round(intake["visibility_timeout"] * self.time_factor))
        queue_url = sqs.create_queue(
            QueueName=f"intake-{suffix}",
            Attributes={
                "VisibilityTimeout": str(visibility),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": intake["max_receive_count"]}
                ),
            },
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

        topic_attributes = {"FifoTopic": "true"} if fifo else {}
        topic_name = f"notifications-{suffix}" + (".fifo" if fifo else "")
        topic_arn = sns.create_topic(Name=topic_name, Attributes=topic_attributes)["TopicArn"]
        subscriber_name = f"subscriber-{suffix}" + (".fifo" if fifo else "")
        subscriber_url = sqs.create_queue(QueueName=subscriber_name, Attributes={"FifoQueue": "true"} if fifo else {})[
            "QueueUrl"
        ]
        subscriber_arn = sqs.get_queue_attributes(QueueUrl=subscriber_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=subscriber_arn)

        bucket = f"outputs-{suffix}"
        s3.create_bucket(Bucket=bucket)
        checks = template.checks_settings()
        checks_dlq_url = sqs.create_queue(QueueName=f"checks-dlq-{suffix}")["QueueUrl"]
        checks_dlq_arn = sqs.get_queue_attributes(QueueUrl=checks_dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        checks_url = sqs.create_queue(
            QueueName=f"checks-{suffix}",
            Attributes={
                "VisibilityTimeout": str(max(1, round(checks["visibility_timeout"] * self.time_factor))),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": checks_dlq_arn, "maxReceiveCount": checks["max_receive_count"]}
                ),
            },
        )["QueueUrl"]
        checks_arn = sqs.get_queue_attributes(QueueUrl=checks_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._watch_output_events(bucket, checks_arn, suffix)
        bus, event_subscriber_url = self._route_endings(suffix)
        state_machine_arn = self._wait_for_job(queue_url, suffix)
        return Resources(
            table_name=table_name,
            topic_arn=topic_arn,
            queue_url=queue_url,
            queue_arn=queue_arn,
            dead_letter_queue_url=dlq_url,
            subscriber_queue_url=subscriber_url,
            bucket=bucket,
            checks_queue_url=checks_url,
            checks_queue_arn=checks_arn,
            checks_dead_letter_queue_url=checks_dlq_url,
            event_bus_name=bus,
            event_subscriber_queue_url=event_subscriber_url,
            state_machine_arn=state_machine_arn,
        )

    def _wait_for_job(self, queue_url: str, suffix: str) -> str:
        """The README's state machine, as a deployment's DefinitionSubstitutions would make it: sending to this intake
        queue. moto checks no role, and runs it (`_execute_state_machines`)."""
        definition = WAIT_FOR_JOB.read_text().replace("${IntakeQueueUrl}", queue_url)
        answer = self.client("stepfunctions").create_state_machine(
            name=f"wait-for-job-{suffix}", definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/wait-for-job"
        )
        return str(answer["stateMachineArn"])

    def _route_endings(self, suffix: str) -> tuple[str, str]:
        """A bus of the user's (EventBusName), and a rule on it, as a user writes one, taking every ending the tracker
        puts there to a queue of theirs."""
        events, sqs = self.client("events"), self.client("sqs")
        bus = f"endings-{suffix}"
        events.create_event_bus(Name=bus)
        url = sqs.create_queue(QueueName=f"event-subscriber-{suffix}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule = f"all-endings-{suffix}"
        pattern = {"source": ["bedrock-async-tracker"], "detail-type": ["Bedrock Async Invoke State Change"]}
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "subscriber", "Arn": arn}])
        return bus, url

    def _watch_output_events(self, bucket: str, queue_arn: str, suffix: str) -> None:
        """The bucket sends its events to EventBridge, and the template's rule takes those of objects created in it
        to the checks queue (the queue policy that lets EventBridge send is not modelled: moto does not enforce it)."""
        self.client("s3").put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        events = self.client("events")
        rule = f"output-events-{suffix}"
        events.put_rule(Name=rule, EventPattern=json.dumps(template.output_events_pattern([f"arn:aws:s3:::{bucket}"])))
        events.put_targets(Rule=rule, Targets=[{"Id": "checks", "Arn": queue_arn}])

    # -- what a person or a test looks at ------------------------------------------------------------

    def notifications(self, *, wait: float = 0) -> list[dict[str, Any]]:
        """Drain the subscriber queue: the SNS envelopes, with `message` parsed from their `Message`."""

        def envelope(body: str) -> dict[str, Any]:
            parsed: dict[str, Any] = json.loads(body)
            return {**parsed, "message": json.loads(parsed["Message"])}

        return self._drain(self.resources.subscriber_queue_url, envelope, wait=wait)

    def events(self, *, wait: float = 0) -> list[dict[str, Any]]:
        """Drain the queue the user's rule on the bus sends to: the EventBridge events, as their targets get them."""
        return self._drain(self.resources.event_subscriber_queue_url, json.loads, wait=wait)

    def _drain(self, url: str, parse: Callable[[str], dict[str, Any]], *, wait: float) -> list[dict[str, Any]]:
        """Every message in the queue at `url`, parsed and deleted; waits up to `wait` s for the first."""
        sqs = self.client("sqs")
        received: list[dict[str, Any]] = []
        while True:
            answer = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=int(wait) if not received else 0
            )
            messages = answer.get("Messages", [])
            if not messages:
                return received
            for message in messages:
                received.append(parse(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def dead_letters(self) -> list[str]:
        """Bodies resting in the intake dead-letter queue. They are read, then made visible again: left there."""
        sqs = self.client("sqs")
        url = self.resources.dead_letter_queue_url
        seen: dict[str, dict[str, Any]] = {}
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
                "Messages", []
            )
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update((m["MessageId"], m) for m in fresh)
        handles = [m["ReceiptHandle"] for m in seen.values()]
        for start in range(0, len(handles), 10):
            sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for i, handle in enumerate(handles[start : start + 10])
                ],
            )
        return [m["Body"] for m in seen.values()]

    def queue_depth(self, url: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def start_function(stack: LocalAws, log: Path, extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """The function in a process of its own, as Lambda runs it, fed by the event source mapping and the schedule
    (localrun.lambda_driver), its logs written to `log`."""
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        **stack.environment(),
        "LOCAL_TIME_FACTOR": str(stack.time_factor),
        "LOCAL_QUEUE_URL": stack.resources.queue_url,
        "LOCAL_QUEUE_ARN": stack.resources.queue_arn,
        "LOCAL_CHECKS_QUEUE_URL": stack.resources.checks_queue_url,
        "LOCAL_CHECKS_QUEUE_ARN": stack.resources.checks_queue_arn,
        "PYTHONPATH": str(root),
        **(extra or {}),
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "localrun.lambda_driver"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
