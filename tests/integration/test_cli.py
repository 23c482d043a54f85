"""The bedrock-tracker command line, each command against the local stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from localrun.clock import Clock
from localrun.lambda_driver import LambdaDriver
from localrun.stack import LocalAws, Resources
from tests.helpers import PAST_THE_FLOOR, Invoke, arn, sqs_event
from tracker_cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def cli(resources: Resources, *args: str) -> list[str]:
    return [
        "--stack", "", "--queue-url", resources.queue_url, "--dlq-url", resources.dead_letter_queue_url,
        "--table", resources.table_name, "--topic-arn", resources.topic_arn, *args,
    ]  # fmt: skip


@pytest.mark.usefixtures("environment")
def test_submit_sends_each_arn_with_its_context_and_the_function_tracks_them(
    stack: LocalAws, resources: Resources, driver: LambdaDriver, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = stack.simulator.add(arn("clisubmit001")), stack.simulator.add(arn("clisubmit002"))

    assert main(cli(resources, "submit", first, second, "--context", '{"jobId": "7"}')) == 0

    assert capsys.readouterr().out.count("submitted arn:aws:bedrock") == 2
    assert driver.poll_once(wait_seconds=1) == 2
    records = stack.client("dynamodb").scan(TableName=resources.table_name)["Items"]
    assert {item["invocationArn"]["S"] for item in records} == {first, second}
    assert all(item["context"]["M"]["jobId"]["S"] == "7" for item in records)


@pytest.mark.usefixtures("environment")
def test_submit_refuses_an_arn_the_function_would_refuse_and_sends_nothing(
    stack: LocalAws, resources: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    good = stack.simulator.add(arn("clisubmitok1"))

    assert main(cli(resources, "submit", good, "not-an-arn")) == 2

    assert "not sent: not a Bedrock async-invoke ARN: 'not-an-arn'" in capsys.readouterr().err
    assert stack.queue_depth(resources.queue_url) == 0  # not even the good one: all or nothing


@pytest.mark.usefixtures("environment")
def test_a_missing_target_is_named_with_the_flag_that_exists(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "", "redrive"]) == 2
    err = capsys.readouterr().err
    assert "--dlq-url" in err
    option = err.split("pass ", 1)[1].split(",")[0]
    assert option in main.__globals__["parser"]().format_help()


@pytest.mark.usefixtures("environment")
def test_submit_refuses_a_context_that_is_not_an_object(
    resources: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(cli(resources, "submit", arn("abcdefghij12"), "--context", "[1]")) == 2
    assert "--context must be a JSON object" in capsys.readouterr().err


def test_status_shows_the_record_or_says_it_is_not_tracked(
    stack: LocalAws, resources: Resources, invoke: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    tracked = stack.simulator.add(arn("clistatus001"))
    invoke(sqs_event(tracked))
    capsys.readouterr()  # the function's own log lines

    assert main(cli(resources, "status", tracked)) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "InProgress"
    assert record["invocationArn"] == tracked

    assert main(cli(resources, "status", arn("notracked001"))) == 1
    assert "is not tracked" in capsys.readouterr().err


def test_list_filters_by_status(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    running, done = stack.simulator.add(arn("clilistrun01")), stack.simulator.add(arn("clilistdone1"))
    invoke(sqs_event(running, done))
    stack.simulator.end(done)
    clock.advance(PAST_THE_FLOOR)
    invoke({})
    capsys.readouterr()

    assert main(cli(resources, "list")) == 0
    assert capsys.readouterr().out.count("arn:aws:bedrock") == 2
    assert main(cli(resources, "list", "--status", "Completed")) == 0
    out = capsys.readouterr().out
    assert done in out
    assert running not in out
    assert "published" in out


def test_watch_shows_counts_and_the_newest_invocations(
    stack: LocalAws, resources: Resources, invoke: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(sqs_event(stack.simulator.add(arn("cliwatch0001"))))
    capsys.readouterr()

    assert main(cli(resources, "watch", "--iterations", "2", "--interval", "0")) == 0

    out = capsys.readouterr().out
    assert out.count("InProgress: 1  Completed: 0  Failed: 0  notifications pending: 0") == 2
    assert arn("cliwatch0001") in out


@pytest.mark.usefixtures("environment")
def test_redrive_moves_the_dead_letters_back_to_the_intake_queue(
    stack: LocalAws, resources: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = stack.client("sqs")
    for body in ("first", "second"):
        sqs.send_message(QueueUrl=resources.dead_letter_queue_url, MessageBody=body)

    assert main(cli(resources, "redrive")) == 0

    assert "moved 2 message(s)" in capsys.readouterr().out
    assert stack.queue_depth(resources.dead_letter_queue_url) == 0
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(bodies) == ["first", "second"]


@pytest.mark.usefixtures("environment")
def test_start_starts_on_bedrock_and_submits_in_one_step(
    stack: LocalAws, resources: Resources, driver: LambdaDriver, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["start", "--model-id", "amazon.nova-reel-v1:1", "--input", '{"taskType": "TEXT_VIDEO"}',
            "--output-s3-uri", f"s3://{resources.bucket}/videos", "--context", '{"jobId": "s"}']  # fmt: skip

    assert main(cli(resources, *args)) == 0

    out = capsys.readouterr().out
    started = out.split("started ", 1)[1].split()[0]
    assert started in stack.simulator.jobs
    assert driver.poll_once(wait_seconds=1) == 1
    item = stack.client("dynamodb").get_item(TableName=resources.table_name, Key={"invocationArn": {"S": started}})
    assert item["Item"]["context"]["M"]["jobId"]["S"] == "s"


@pytest.mark.usefixtures("environment")
def test_resources_come_from_the_stacks_outputs(
    stack: LocalAws, resources: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = {
        "IntakeQueueUrl": resources.queue_url,
        "IntakeDeadLetterQueueUrl": resources.dead_letter_queue_url,
        "InvocationTableName": resources.table_name,
        "NotificationTopicArn": resources.topic_arn,
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    name = f"tracker-{resources.table_name}"
    stack.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))

    assert main(["--stack", name, "list"]) == 0
    assert "0 invocation(s)" in capsys.readouterr().err

    assert main(["--stack", "no-such-stack", "list"]) == 2
    assert "cannot read stack 'no-such-stack'" in capsys.readouterr().err


def test_the_console_script_is_installed_and_explains_itself() -> None:
    script = Path(sys.executable).parent / "bedrock-tracker"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in ("submit", "status", "list", "watch", "redrive", "start"):
        assert command in result.stdout


@pytest.mark.usefixtures("environment")
def test_check_bucket_says_whether_eventbridge_hears_the_bucket_and_the_command_it_prints_turns_it_on(
    stack: LocalAws, resources: Resources, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import shlex

    s3 = stack.client("s3")
    bucket = f"quiet-{resources.table_name}"
    s3.create_bucket(Bucket=bucket)
    queue_arn = resources.queue_arn
    s3.put_bucket_notification_configuration(  # a notification it already has must survive
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectRemoved:*"]}]},
    )

    assert main(cli(resources, "check-bucket", bucket)) == 1
    command = capsys.readouterr().out.strip().splitlines()[-1].strip()
    assert command.startswith("aws s3api put-bucket-notification-configuration")
    aws = os.environ.get("AWS_CLI") or str(ROOT / ".venv-cli" / "bin" / "aws")
    ran = subprocess.run([aws, *shlex.split(command)[1:]], capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr

    assert main(cli(resources, "check-bucket", bucket)) == 0
    assert "sends its events to EventBridge" in capsys.readouterr().out
    assert s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"][0]["QueueArn"] == queue_arn
    assert main(cli(resources, "check-bucket", resources.bucket)) == 0  # the stack's own: on


@pytest.mark.usefixtures("environment")
def test_check_bucket_enable_turns_it_on(stack: LocalAws, resources: Resources) -> None:
    bucket = f"toenable-{resources.table_name}"
    stack.client("s3").create_bucket(Bucket=bucket)

    assert main(cli(resources, "check-bucket", bucket, "--enable")) == 0

    assert "EventBridgeConfiguration" in stack.client("s3").get_bucket_notification_configuration(Bucket=bucket)


@pytest.mark.usefixtures("environment")
def test_check_bucket_needs_no_stack_it_is_run_before_one_watches_the_bucket(
    stack: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the README offers it: `bedrock-tracker check-bucket my-bucket`, with no flags and no stack deployed (the
    default stack name does not exist on the local stack)."""
    bucket = "nostack-bucket"
    stack.client("s3").create_bucket(Bucket=bucket)

    assert main(["check-bucket", bucket]) == 1

    captured = capsys.readouterr()
    assert "does not send its events to EventBridge" in captured.out
    assert "cannot read stack" not in captured.err
