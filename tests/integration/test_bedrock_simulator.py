"""The Bedrock Runtime simulator, through the unchanged boto3 client, as the tracker and users reach it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bedrock_simulator import ARN_PATTERN, Fault, Simulator, SimulatorServer
from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import start_on_bedrock


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 26, 12, tzinfo=UTC))


@pytest.fixture
def simulator(clock: Clock) -> Any:
    simulator = Simulator(time_factor=1.0, failure_rate=0.0, seed=3, clock=clock)
    server = SimulatorServer(simulator).start()
    yield simulator, client(server.endpoint)
    server.stop()


def client(endpoint: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def start(bedrock: Any, model: str = "amazon.nova-reel-v1:1", **extra: Any) -> str:
    answer = bedrock.start_async_invoke(
        modelId=model,
        modelInput=extra.pop("modelInput", {"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "x"}}),
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://bucket/videos"}},
        **extra,
    )
    return str(answer["invocationArn"])


def test_started_invocations_have_real_arns_and_run_for_their_models_duration(simulator: Any, clock: Clock) -> None:
    _, bedrock = simulator
    arn = start(bedrock)
    assert ARN_PATTERN.fullmatch(arn)

    running = bedrock.get_async_invoke(invocationArn=arn)
    assert running["status"] == "InProgress"
    assert "endTime" not in running
    assert running["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"] == f"s3://bucket/videos/{arn[-12:]}"

    clock.advance(75)  # a 6 s Nova Reel video takes about 90 s (81 to 101 here)
    assert bedrock.get_async_invoke(invocationArn=arn)["status"] == "InProgress"
    clock.advance(30)
    ended = bedrock.get_async_invoke(invocationArn=arn)
    assert ended["status"] == "Completed"
    assert timedelta(seconds=80) < ended["endTime"] - ended["submitTime"] < timedelta(seconds=102)


def test_a_two_minute_video_takes_about_fifteen_minutes(simulator: Any, clock: Clock) -> None:
    _, bedrock = simulator
    arn = start(
        bedrock, modelInput={"taskType": "MULTI_SHOT_AUTOMATED", "videoGenerationConfig": {"durationSeconds": 120}}
    )
    clock.advance(13 * 60)
    assert bedrock.get_async_invoke(invocationArn=arn)["status"] == "InProgress"
    clock.advance(5 * 60)
    assert bedrock.get_async_invoke(invocationArn=arn)["status"] == "Completed"


def test_start_is_idempotent_on_the_client_request_token(simulator: Any) -> None:
    sim, bedrock = simulator
    first = start(bedrock, clientRequestToken="same-token")
    second = start(bedrock, clientRequestToken="same-token")
    third = start(bedrock, clientRequestToken="other-token")
    assert first == second != third
    assert len(sim.jobs) == 2
    assert bedrock.get_async_invoke(invocationArn=first)["clientRequestToken"] == "same-token"


@pytest.mark.parametrize(
    ("arn", "code"),
    [
        ("arn:aws:bedrock:us-east-1:123456789012:async-invoke/nosuchjob123", "ValidationException"),
        ("arn:aws:bedrock:us-east-1:123456789012:async-invoke/BAD", "ValidationException"),
        ("arn:aws:bedrock:us-east-1:999999999999:async-invoke/abcdefghij12", "AccessDeniedException"),
    ],
)
def test_errors_come_back_as_botocore_parses_them(simulator: Any, arn: str, code: str) -> None:
    _, bedrock = simulator
    with pytest.raises(ClientError) as raised:
        bedrock.get_async_invoke(invocationArn=arn)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["Error"]["Message"]


def test_models_without_async_support_are_refused(simulator: Any) -> None:
    _, bedrock = simulator
    with pytest.raises(ClientError, match="doesn't support async inference"):
        start(bedrock, model="anthropic.claude-3-haiku-20240307-v1:0")


def test_an_invocation_is_asked_for_in_its_own_region(simulator: Any) -> None:
    sim, bedrock = simulator
    arn = start(bedrock)
    west = client(bedrock.meta.endpoint_url, region="us-west-2")
    with pytest.raises(ClientError, match="ValidationException"):
        west.get_async_invoke(invocationArn=arn)
    assert sim.regions == {"us-east-1": 1, "us-west-2": 1}


def test_list_filters_sorts_and_pages(simulator: Any, clock: Clock) -> None:
    sim, bedrock = simulator
    arns = []
    for model in ("luma.ray-v2:0", *["amazon.nova-reel-v1:1"] * 4):
        arns.append(start(bedrock, model=model))
        clock.advance(1)
    clock.advance(200)  # luma (60-180 s) and every 6 s Nova Reel video have ended by now
    later = start(bedrock)
    for arn in arns[1:]:
        assert bedrock.get_async_invoke(invocationArn=arn)["status"] == "Completed"

    newest_first = bedrock.list_async_invokes()["asyncInvokeSummaries"]
    assert next(s["invocationArn"] for s in newest_first) == later
    in_progress = bedrock.list_async_invokes(statusEquals="InProgress")["asyncInvokeSummaries"]
    assert [s["invocationArn"] for s in in_progress] == [later]
    after = bedrock.list_async_invokes(submitTimeAfter=clock.now - timedelta(seconds=100))["asyncInvokeSummaries"]
    assert [s["invocationArn"] for s in after] == [later]
    page = bedrock.list_async_invokes(maxResults=2, sortOrder="Ascending")
    assert [s["invocationArn"] for s in page["asyncInvokeSummaries"]] == arns[:2]
    assert page["nextToken"]
    pages = bedrock.get_paginator("list_async_invokes").paginate(
        sortOrder="Ascending", PaginationConfig={"PageSize": 2}
    )
    assert [s["invocationArn"] for p in pages for s in p["asyncInvokeSummaries"]] == [*arns, later]
    with pytest.raises(ClientError, match="ValidationException"):
        bedrock.list_async_invokes(maxResults=1001)
    assert sim.calls["ListAsyncInvokes"] >= 6


def test_injected_faults_fail_the_next_calls_then_stop(simulator: Any) -> None:
    sim, bedrock = simulator
    arn = start(bedrock)
    sim.inject("GetAsyncInvoke", Fault(code="ThrottlingException", count=2))
    no_retries = boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=bedrock.meta.endpoint_url,
        aws_access_key_id="t", aws_secret_access_key="t",
        config=boto3.session.Config(retries={"total_max_attempts": 1}),
    )  # fmt: skip
    for _ in range(2):
        with pytest.raises(ClientError) as raised:
            no_retries.get_async_invoke(invocationArn=arn)
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert no_retries.get_async_invoke(invocationArn=arn)["status"] == "InProgress"
    assert sim.calls["GetAsyncInvoke"] == 3


def test_injected_latency_slows_each_call(simulator: Any) -> None:
    sim, bedrock = simulator
    arn = start(bedrock)
    sim.inject("GetAsyncInvoke", Fault(latency=0.2))
    started = time.monotonic()
    bedrock.get_async_invoke(invocationArn=arn)
    assert time.monotonic() - started >= 0.2


def test_failure_rate_ends_that_share_failed_with_a_message(clock: Clock) -> None:
    sim = Simulator(failure_rate=0.5, seed=11, clock=clock)
    for _ in range(200):
        sim.start(
            "us-east-1",
            {
                "modelId": "luma.ray-v2:0",
                "modelInput": {},
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b/p"}},
            },
        )
    clock.advance(3600)
    answers = [sim.get("us-east-1", arn) for arn in sim.jobs]
    failed = [a for a in answers if a["status"] == "Failed"]
    assert 70 < len(failed) < 130
    assert all(a["failureMessage"] for a in failed)
    assert all("failureMessage" not in a for a in answers if a["status"] == "Completed")


def test_time_factor_scales_durations(clock: Clock) -> None:
    sim = Simulator(time_factor=0.01, seed=1, clock=clock)
    arn = sim.start(
        "us-east-1",
        {
            "modelId": "amazon.nova-reel-v1:1",
            "modelInput": {},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b/p"}},
        },
    )["invocationArn"]
    clock.advance(1.2)
    assert sim.get("us-east-1", arn)["status"] == "Completed"


def test_nova_reel_output_lands_in_a_folder_per_invocation(stack: LocalAws, resources: Resources) -> None:
    bedrock = stack.client("bedrock-runtime")
    arn = start_on_bedrock(stack, model="amazon.nova-reel-v1:0", folder="reels")
    stack.simulator.end(arn)

    listed = stack.client("s3").list_objects_v2(Bucket=resources.bucket, Prefix=f"reels/{arn[-12:]}/")
    keys = sorted(obj["Key"].rsplit("/", 1)[-1] for obj in listed["Contents"])
    assert keys == ["generation-status.json", "manifest.json", "output.mp4"]
    uri = bedrock.get_async_invoke(invocationArn=arn)["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"]
    assert uri == f"s3://{resources.bucket}/reels/{arn[-12:]}"


def test_standalone_process_serves_boto3_and_its_control_endpoints() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "bedrock_simulator", "--port", str(port), "--time-factor", "0.001"],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert "Bedrock Runtime simulator on" in process.stdout.readline()
        bedrock = client(f"http://127.0.0.1:{port}")
        arn = start(bedrock)
        import urllib.request

        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/_simulator/faults",
            data=json.dumps({"GetAsyncInvoke": {"code": "InternalServerException", "count": 1}}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request) as response:  # noqa: S310 - our own loopback server
            assert json.load(response) == {"faults": ["GetAsyncInvoke"]}
        assert bedrock.get_async_invoke(invocationArn=arn)["invocationArn"] == arn  # retried past the one fault
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_simulator/stats") as response:
            stats = json.load(response)
        assert stats["calls"] == {"StartAsyncInvoke": 1, "GetAsyncInvoke": 2}
    finally:
        process.terminate()
        process.wait(timeout=10)
