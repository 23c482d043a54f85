"""`bedrock-tracker`: submit, inspect and operate the tracker from a terminal, on AWS or on the local stack.

The queue, table and topic come from a CloudFormation stack's outputs (--stack, default the name in
samconfig.toml) or from flags. Endpoints come from the SDK's own settings, so with AWS_ENDPOINT_URL and
AWS_ENDPOINT_URL_BEDROCK_RUNTIME set (`make stack` prints them) every command works on the local stack.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError

from tracking.errors import GiveUp
from tracking.invocations import InvocationArn
from tracking.submissions import parse_submission

if TYPE_CHECKING:  # the stubs are a development dependency only
    from types_boto3_s3.type_defs import NotificationConfigurationTypeDef

DEFAULT_STACK = "bedrock-async-tracker"
STATUSES = ("InProgress", "Completed", "Failed")


class CliError(Exception):
    """Something the user can fix, said plainly."""


# What each target is called, and the flag that names it.
FLAGS = {
    "queue_url": ("intake queue", "--queue-url"),
    "dead_letter_queue_url": ("dead-letter queue", "--dlq-url"),
    "table_name": ("records table", "--table"),
    "topic_arn": ("notification topic", "--topic-arn"),
}


@dataclass
class Targets:
    queue_url: str | None
    dead_letter_queue_url: str | None
    table_name: str | None
    topic_arn: str | None

    def need(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            what, flag = FLAGS[name]
            raise CliError(f"no {what}: pass {flag}, or --stack with a deployed tracker stack")
        return str(value)


def resolve(args: argparse.Namespace, session: boto3.session.Session) -> Targets:
    given = Targets(args.queue_url, args.dlq_url, args.table, args.topic_arn)
    if all(vars(given).values()) or args.stack == "":
        return given
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
    except ClientError as exc:
        if all([given.queue_url, given.table_name]):
            return given
        raise CliError(
            f"cannot read stack {args.stack!r}: {exc.response['Error'].get('Message', exc)} "
            "(deploy it with `sam deploy --guided`, or pass --stack and the resource flags)"
        ) from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return Targets(
        queue_url=given.queue_url or outputs.get("IntakeQueueUrl"),
        dead_letter_queue_url=given.dead_letter_queue_url or outputs.get("IntakeDeadLetterQueueUrl"),
        table_name=given.table_name or outputs.get("InvocationTableName"),
        topic_arn=given.topic_arn or outputs.get("NotificationTopicArn"),
    )


def submit(args: argparse.Namespace, session: boto3.session.Session, targets: Targets) -> int:
    context = _context(args.context)
    bodies = [
        json.dumps({"invocationArn": arn, "context": context}) if context is not None else arn for arn in args.arns
    ]
    for arn, body in zip(args.arns, bodies, strict=True):  # all checked, by the function's own code, before any is sent
        try:
            InvocationArn.parse(arn)
            parse_submission(body)
        except GiveUp as exc:
            raise CliError(f"not sent: {exc.reason}") from exc
    sqs = session.client("sqs")
    queue = targets.need("queue_url")
    for arn, body in zip(args.arns, bodies, strict=True):
        message_id = sqs.send_message(QueueUrl=queue, MessageBody=body)["MessageId"]
        print(f"submitted {arn} (message {message_id})")
    return 0


def status(args: argparse.Namespace, session: boto3.session.Session, targets: Targets) -> int:
    answer = session.client("dynamodb").get_item(
        TableName=targets.need("table_name"), Key={"invocationArn": {"S": args.arn}}, ConsistentRead=True
    )
    if "Item" not in answer:
        print(f"{args.arn} is not tracked (submit it with `bedrock-tracker submit`)", file=sys.stderr)
        return 1
    print(json.dumps(_plain(answer["Item"]), indent=2, sort_keys=True, default=str))
    return 0


def records(session: boto3.session.Session, table: str, wanted: str | None = None) -> list[dict[str, Any]]:
    """Every record (an operator's Scan, paged; the tracker itself never scans), optionally of one status."""
    request: dict[str, Any] = {"TableName": table}
    if wanted:
        request.update(
            FilterExpression="#status = :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": {"S": wanted}},
        )
    found = []
    for page in session.client("dynamodb").get_paginator("scan").paginate(**request):
        found += [_plain(item) for item in page["Items"] if item["invocationArn"]["S"].startswith("arn:")]
    return sorted(found, key=lambda r: str(r.get("submitTime", "")))


def list_records(args: argparse.Namespace, session: boto3.session.Session, targets: Targets) -> int:
    rows = records(session, targets.need("table_name"), args.status)
    for record in rows:
        print(_row(record))
    print(f"{len(rows)} invocation(s)", file=sys.stderr)
    return 0


def watch(args: argparse.Namespace, session: boto3.session.Session, targets: Targets) -> int:
    table = targets.need("table_name")
    shown = 0
    while args.iterations == 0 or shown < args.iterations:
        rows = records(session, table)
        counts = Counter(str(r.get("status")) for r in rows)
        pending = sum(1 for r in rows if r.get("notification") == "pending")
        if sys.stdout.isatty():
            print("\033[2J\033[H", end="")
        print(
            f"{time.strftime('%H:%M:%S')}  "
            + "  ".join(f"{s}: {counts[s]}" for s in STATUSES)
            + f"  notifications pending: {pending}"
        )
        for record in rows[-args.rows :]:
            print(_row(record))
        sys.stdout.flush()
        shown += 1
        if args.iterations == 0 or shown < args.iterations:
            time.sleep(args.interval)
    return 0


def redrive(args: argparse.Namespace, session: boto3.session.Session, targets: Targets) -> int:
    """Move the dead-letter queue's messages back to the intake queue, bodies unchanged."""
    sqs = session.client("sqs")
    source, target = targets.need("dead_letter_queue_url"), targets.need("queue_url")
    moved = 0
    while True:
        messages = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not messages:
            break
        for message in messages:
            sqs.send_message(QueueUrl=target, MessageBody=message["Body"])  # sent first: never lost in between
            sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    print(f"moved {moved} message(s) from the dead-letter queue back to the intake queue")
    return 0


def start(args: argparse.Namespace, session: boto3.session.Session, targets: Targets) -> int:
    try:
        model_input = json.loads(args.input)
    except ValueError as exc:
        raise CliError(f"--input is not JSON: {exc}") from exc
    bedrock = session.client("bedrock-runtime", region_name=args.region or session.region_name)
    arn = bedrock.start_async_invoke(
        modelId=args.model_id,
        modelInput=model_input,
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": args.output_s3_uri}},
    )["invocationArn"]
    print(f"started {arn}")
    args.arns = [arn]
    return submit(args, session, targets)


def check_bucket(args: argparse.Namespace, session: boto3.session.Session, targets: Targets) -> int:
    """Whether the tracker hears a bucket's outputs land: S3 sends a bucket's events to the default bus of the bucket
    owner's account in the bucket's Region, so the bucket must be in this Region (the stack's), owned by this account,
    and send its events to EventBridge."""
    s3 = session.client("s3")
    account = session.client("sts").get_caller_identity()["Account"]
    try:  # S3 refuses with 403 a bucket whose owner is not the expected one
        location = s3.get_bucket_location(Bucket=args.bucket, ExpectedBucketOwner=account)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("AccessDenied", "403"):
            raise
        print(
            f"{args.bucket} is not owned by account {account} (or this account may not read it): S3 sends its events "
            "to its owner's account, and the tracker does not hear its outputs. It times and polls their jobs."
        )
        return 1
    # us-east-1 answers no constraint, and the oldest buckets of eu-west-1 answer EU
    region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(
        location.get("LocationConstraint"), str(location.get("LocationConstraint"))
    )
    if region != session.region_name:
        print(
            f"{args.bucket} is in {region}, not {session.region_name}: S3 sends its events to {region}'s default bus, "
            "and the tracker does not hear its outputs. It times and polls their jobs."
        )
        return 1
    answer = s3.get_bucket_notification_configuration(Bucket=args.bucket, ExpectedBucketOwner=account)
    current = {name: value for name, value in answer.items() if name != "ResponseMetadata"}
    if "EventBridgeConfiguration" in current:
        print(
            f"{args.bucket} is in {region}, owned by {account}, and sends its events to EventBridge: the tracker hears "
            "its outputs land, if it watches it"
        )
        return 0
    # The call replaces the whole configuration: keep the rest, as read (the answer's shape is the request's).
    wanted = cast("NotificationConfigurationTypeDef", {**current, "EventBridgeConfiguration": {}})
    if args.enable:
        s3.put_bucket_notification_configuration(Bucket=args.bucket, NotificationConfiguration=wanted)
        print(f"{args.bucket} now sends its events to EventBridge (in effect within about five minutes)")
        return 0
    print(
        f"{args.bucket} does not send its events to EventBridge: the tracker times and polls its jobs.\n"
        "Turn them on (this keeps the notifications it has), or run this command again with --enable:\n\n"
        f"  aws s3api put-bucket-notification-configuration --bucket {args.bucket} "
        f"--notification-configuration '{json.dumps(wanted)}'"
    )
    return 1


def _context(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        context = json.loads(raw)
    except ValueError as exc:
        raise CliError(f"--context is not JSON: {exc}") from exc
    if not isinstance(context, dict):
        raise CliError('--context must be a JSON object, for example \'{"jobId": "42"}\'')
    return context


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def _row(record: dict[str, Any]) -> str:
    model = str(record.get("modelArn", "")).rsplit("/", 1)[-1]
    notified = record.get("notification", "-")
    return f"{record['invocationArn']}  {record.get('status', '?'):<10}  {model:<34}  {notified}"


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="bedrock-tracker", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    main.add_argument("--stack", default=DEFAULT_STACK, help=f"the tracker's CloudFormation stack ({DEFAULT_STACK})")
    main.add_argument("--queue-url", help="the intake queue (stack output IntakeQueueUrl)")
    main.add_argument("--dlq-url", help="the intake dead-letter queue (IntakeDeadLetterQueueUrl)")
    main.add_argument("--table", help="the records table (InvocationTableName)")
    main.add_argument("--topic-arn", help="the notification topic (NotificationTopicArn)")
    main.add_argument("--region", help="the AWS region (default: the SDK's)")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    one = commands.add_parser("submit", help="submit invocation ARNs for tracking")
    one.add_argument("arns", nargs="+", metavar="ARN")
    one.add_argument("--context", help="a JSON object echoed in the notification")
    one.set_defaults(run=submit)

    one = commands.add_parser("status", help="show an invocation's record")
    one.add_argument("arn", metavar="ARN")
    one.set_defaults(run=status)

    one = commands.add_parser("list", help="list tracked invocations")
    one.add_argument("--status", choices=STATUSES)
    one.set_defaults(run=list_records)

    one = commands.add_parser("watch", help="a live view of the tracked invocations")
    one.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes (2)")
    one.add_argument("--rows", type=int, default=20, help="newest invocations shown (20)")
    one.add_argument("--iterations", type=int, default=0, help="refreshes before stopping; 0 runs until Ctrl-C")
    one.set_defaults(run=watch)

    one = commands.add_parser("redrive", help="move the dead-letter queue's messages back to the intake queue")
    one.set_defaults(run=redrive)

    one = commands.add_parser(
        "check-bucket", help="whether the tracker hears a bucket: in its Region and account, events sent to EventBridge"
    )
    one.add_argument("bucket", metavar="BUCKET")
    one.add_argument("--enable", action="store_true", help="turn them on, keeping the bucket's other notifications")
    one.set_defaults(run=check_bucket, needs_stack=False)  # a bucket is checked before any stack watches it

    one = commands.add_parser("start", help="start an async invocation on Bedrock and submit it in one step")
    one.add_argument("--model-id", required=True, help="for example luma.ray-v2:0")
    one.add_argument("--input", required=True, help="the model input, JSON")
    one.add_argument("--output-s3-uri", required=True, help="where Bedrock writes the output, s3://bucket/prefix")
    one.add_argument("--context", help="a JSON object echoed in the notification")
    one.set_defaults(run=start)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        session = boto3.session.Session(region_name=args.region)
        if session.region_name is None:
            raise CliError("no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION")
        needs_stack = getattr(args, "needs_stack", True)
        targets = resolve(args, session) if needs_stack else Targets(None, None, None, None)
        return int(args.run(args, session, targets))
    except CliError as exc:
        print(f"bedrock-tracker: {exc}", file=sys.stderr)
        return 2
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(
            f"bedrock-tracker: {exc.operation_name} failed: {error.get('Code')}: {error.get('Message')}",
            file=sys.stderr,
        )
        return 1
    except BotoCoreError as exc:
        print(f"bedrock-tracker: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
