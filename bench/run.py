"""`make bench`: speed and cost, each figure against a baseline measured in the same run on the same stack.

1. sweep throughput at 1,000 and 10,000 due invocations, 50 ms per Bedrock answer, against concurrency 1;
2. intake throughput of SQS batches of 10, against one message per invocation;
3. a simulated day of Nova-Reel-like jobs on an injected clock: Bedrock calls and DynamoDB writes per job and
   time from a job's end to its notification, against polling every in-progress invocation every minute;
4. the handler's init time, against a handler that only imports boto3.

The throughput benches run moto's server and the Bedrock simulator as processes of their own, so that they do
not share the function's interpreter; the day runs in-process on one clock.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions" / "tracker"))
sys.path.insert(0, str(ROOT))

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bedrock-async-tracker")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from local_stack.bedrock_simulator import ARN_PATTERN  # noqa: E402
from local_stack.stack import ACCOUNT, CREDENTIALS, LocalStack  # noqa: E402
from tracking import telemetry  # noqa: E402
from tracking import tracker as tracker_module  # noqa: E402
from tracking.config import Settings  # noqa: E402
from tracking.runtime import Runtime  # noqa: E402

# The benches call the runtime directly, without the handler's decorator that flushes metrics once per event.
telemetry.metrics.add_metric = lambda **_: None  # type: ignore[method-assign]
tracker_module.count_ending = lambda *_: None  # type: ignore[attr-defined]  # printed at once: noise here

LATENCY = 0.05
rows: list[tuple[str, str, str, str, str]] = []


def row(name: str, ours: str, baseline: str, ratio: str, target: str) -> None:
    rows.append((name, ours, baseline, ratio, target))
    print(f"  {name:<46} {ours:>16} {baseline:>16} {ratio:>9}  {target}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ProcessStack(LocalStack):
    """The local stack with moto's server and the simulator each in a process of its own."""

    def start(self) -> ProcessStack:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto_port, simulator_port = free_port(), free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self._processes = [
            subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            ),
            subprocess.Popen(
                [sys.executable, "-m", "local_stack.bedrock_simulator", "--port", str(simulator_port),
                 "--time-factor", "1000", "--failure-rate", "0", "--seed", "1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            ),
        ]  # fmt: skip
        self.aws_endpoint = f"http://127.0.0.1:{moto_port}"
        self.bedrock_endpoint = f"http://127.0.0.1:{simulator_port}"
        for port in (moto_port, simulator_port):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.1)
        self.new_resources()
        return self

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
            process.wait(timeout=10)

    def faults(self, faults: dict[str, Any]) -> None:
        import urllib.request

        url = f"{self.bedrock_endpoint}/_simulator/faults"
        request = urllib.request.Request(url, data=json.dumps(faults).encode(), method="POST")  # noqa: S310
        urllib.request.urlopen(request).read()  # noqa: S310 - our own server on loopback


def lambda_event(bodies: list[str], queue_arn: str) -> dict[str, Any]:
    """Lambda's SQS event for these bodies, as the event source mapping would deliver them."""
    from local_stack.lambda_driver import sqs_event

    messages = [
        {"MessageId": f"m-{i}-{body[-12:]}", "ReceiptHandle": "r", "Body": body} for i, body in enumerate(bodies)
    ]
    return sqs_event(messages, queue_arn=queue_arn, region="us-east-1")


def settings_for(stack: LocalStack, **changes: Any) -> Settings:
    return Settings(
        table_name=stack.resources.table_name,
        topic_arn=stack.resources.topic_arn,
        max_poll_interval_seconds=0,
        **changes,
    )


@contextmanager
def stack_environment(stack: LocalStack) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update({**CREDENTIALS, "AWS_ENDPOINT_URL": stack.aws_endpoint,
                       "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stack.bedrock_endpoint})  # fmt: skip
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def start_jobs(stack: LocalStack, count: int) -> list[str]:
    """Long-running invocations on the simulator, started through its API."""
    from concurrent.futures import ThreadPoolExecutor

    bedrock = stack.client("bedrock-runtime")

    def one(_: int) -> str:
        return str(
            bedrock.start_async_invoke(
                modelId="amazon.nova-reel-v1:1",
                modelInput={"taskType": "TEXT_VIDEO"},
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{stack.resources.bucket}/v"}},
            )["invocationArn"]
        )

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(count)))


def seed_records(stack: LocalStack, arns: list[str]) -> None:
    """In-progress records, due now, written directly (BatchWriteItem) so that seeding is not what is timed."""
    dynamodb = stack.client("dynamodb")
    now = datetime.now(UTC).isoformat()
    for start in range(0, len(arns), 25):
        requests = [
            {"PutRequest": {"Item": {
                "invocationArn": {"S": arn}, "status": {"S": "InProgress"}, "submitTime": {"S": now},
                "modelArn": {"S": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1"},
                "work": {"S": "poll"}, "dueAt": {"N": "0"},
            }}}
            for arn in arns[start : start + 25]
        ]  # fmt: skip
        dynamodb.batch_write_item(RequestItems={stack.resources.table_name: requests})


def timed_sweep(stack: ProcessStack, workers: int) -> float:
    runtime = Runtime.build(settings_for(stack, concurrency=workers))
    started = time.perf_counter()
    report = runtime.sweep.run(deadline=datetime.now(UTC) + timedelta(hours=1))
    elapsed = time.perf_counter() - started
    checked = report.outcomes.get("in_progress", 0)
    if report.errors or report.stopped_early:
        raise SystemExit(f"sweep bench went wrong: {report.as_dict()}")
    return checked / elapsed


def bench_sweeps(stack: ProcessStack, concurrency: int, large: int) -> None:
    print(f"\n1. Sweep throughput, {LATENCY * 1000:.0f} ms per Bedrock answer (invocations checked per second)")
    with stack_environment(stack):
        stack.new_resources()
        seed_records(stack, start_jobs(stack, 1000))
        stack.faults({"GetAsyncInvoke": {"latency": LATENCY}})
        baseline = timed_sweep(stack, 1)
        ours = timed_sweep(stack, concurrency)
        row("sweep of 1,000 due", f"{ours:.0f}/s", f"{baseline:.1f}/s", f"{ours / baseline:.1f}x", ">= 20x")
        stack.faults({})
        stack.new_resources()
        seed_records(stack, start_jobs(stack, large))
        stack.faults({"GetAsyncInvoke": {"latency": LATENCY}})
        started = time.perf_counter()
        ours_large = timed_sweep(stack, concurrency)
        row(
            f"sweep of {large:,} due ({time.perf_counter() - started:.0f} s)",
            f"{ours_large:.0f}/s", f"{baseline:.1f}/s", f"{ours_large / baseline:.1f}x", "(baseline: 1,000 at c=1)",
        )  # fmt: skip
        stack.faults({})


def bench_intake(stack: ProcessStack, concurrency: int, messages: int) -> None:
    from local_stack.lambda_driver import LambdaContext

    print(f"\n2. Intake throughput, {LATENCY * 1000:.0f} ms per Bedrock answer (messages tracked per second)")
    with stack_environment(stack):
        stack.new_resources()
        arns = start_jobs(stack, messages * 2)
        stack.faults({"GetAsyncInvoke": {"latency": LATENCY}})
        runtime = Runtime.build(settings_for(stack, concurrency=concurrency))

        def run(bodies: list[str], size: int) -> float:
            started = time.perf_counter()
            for start in range(0, len(bodies), size):
                event = lambda_event(bodies[start : start + size], stack.resources.queue_arn)
                response = runtime.handle(event, LambdaContext(timeout=60))
                if response["batchItemFailures"]:
                    raise SystemExit(f"intake bench went wrong: {response}")
            return len(bodies) / (time.perf_counter() - started)

        baseline = run(arns[:messages], 1)
        ours = run(arns[messages:], 10)
        row(
            f"intake of {messages} messages, batches of 10",
            f"{ours:.0f}/s",
            f"{baseline:.1f}/s",
            f"{ours / baseline:.1f}x",
            ">= 5x",
        )
        stack.faults({})


# -- a simulated day -------------------------------------------------------------------------------------


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


# Nova-Reel-like jobs as a user's day might hold them: mostly 6 s clips, some multi-shot videos.
DAY_MIX = [
    (0.6, {"taskType": "TEXT_VIDEO"}),
    (0.3, {"taskType": "MULTI_SHOT_AUTOMATED", "videoGenerationConfig": {"durationSeconds": 30}}),
    (0.1, {"taskType": "MULTI_SHOT_AUTOMATED", "videoGenerationConfig": {"durationSeconds": 120}}),
]


def simulate_day(jobs: int, max_poll_interval: int, seed: int) -> dict[str, float]:
    """One day on one clock: jobs start and are submitted as they arrive, a sweep runs every minute."""
    start = datetime(2026, 11, 26, tzinfo=UTC)
    clock = Clock(start)
    stack = LocalStack(time_factor=1.0, failure_rate=0.05, seed=seed).start()
    stack.simulator.clock = clock
    try:
        with stack_environment(stack):
            runtime = Runtime.build(
                settings_for(stack, concurrency=4, record_retention_days=30)
                if max_poll_interval == 0
                else replace(settings_for(stack, concurrency=4), max_poll_interval_seconds=max_poll_interval),
                clock=clock,
            )
            writes = [0]
            runtime.tracker.records.client.meta.events.register(
                "provide-client-params.dynamodb.UpdateItem", lambda **_: writes.__setitem__(0, writes[0] + 1)
            )
            rng = random.Random(seed)
            arrivals = sorted(rng.uniform(0, 86_400 - 3_600) for _ in range(jobs))
            bedrock = stack.client("bedrock-runtime")
            started_arns: list[str] = []
            from local_stack.lambda_driver import LambdaContext

            next_arrival = 0
            for minute in range(1, 24 * 60 + 1):
                tick = minute * 60.0
                while next_arrival < len(arrivals) and arrivals[next_arrival] <= tick:
                    clock.now = start + timedelta(seconds=arrivals[next_arrival])
                    weights, inputs = zip(*DAY_MIX, strict=True)
                    model_input = rng.choices(inputs, weights=weights)[0]
                    arn = bedrock.start_async_invoke(
                        modelId="amazon.nova-reel-v1:1", modelInput=model_input,
                        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{stack.resources.bucket}/v"}},
                    )["invocationArn"]  # fmt: skip
                    started_arns.append(arn)
                    runtime.handle(lambda_event([arn], stack.resources.queue_arn), LambdaContext(timeout=60))
                    next_arrival += 1
                clock.now = start + timedelta(seconds=tick)
                runtime.sweep.run(deadline=clock.now + timedelta(seconds=60))
            calls = stack.simulator.calls["GetAsyncInvoke"]
            delays = []
            for arn in started_arns:
                record = runtime.tracker.records.get(arn)
                if record is None or record.get("notification") != "published":
                    raise SystemExit(f"day bench: {arn} was not notified: {record}")
                end = stack.simulator.jobs[arn].end_time
                notified = datetime.fromisoformat(str(record["notifiedAt"]).replace("Z", "+00:00"))
                delays.append((notified - end).total_seconds())
            delays.sort()
            return {
                "calls": calls / jobs,
                "writes": writes[0] / jobs,
                "p50": statistics.median(delays),
                "p95": delays[int(0.95 * (len(delays) - 1))],
                "max": delays[-1],
            }
    finally:
        stack.stop()


def bench_day(jobs: int) -> None:
    print(f"\n3. A simulated day: {jobs} Nova-Reel-like jobs (60% 6 s clips, 30% 30 s, 10% 2 min videos)")
    ours = simulate_day(jobs, max_poll_interval=300, seed=5)
    baseline = simulate_day(jobs, max_poll_interval=0, seed=5)
    row(
        "Bedrock calls per job",
        f"{ours['calls']:.2f}",
        f"{baseline['calls']:.2f}",
        f"{ours['calls'] / baseline['calls']:.2f}",
        "<= 0.6",
    )
    row("DynamoDB writes per job", f"{ours['writes']:.2f}", f"{baseline['writes']:.2f}", "", "<= 3")
    for name in ("p50", "p95", "max"):
        row(
            f"end to notification, {name}",
            f"{ours[name]:.0f} s",
            f"{baseline[name]:.0f} s",
            "",
            "p95 <= 75 s" if name == "p95" else "",
        )


# -- init ---------------------------------------------------------------------------------------------------

INIT = """
import sys, time
started = time.perf_counter()
sys.path.insert(0, {path!r})
import {module}
print(time.perf_counter() - started)
"""


def bench_init(runs: int) -> None:
    print(f"\n4. Handler init time (median of {runs} cold starts each, alternating)")
    env = {**os.environ, "TABLE_NAME": "t", "TOPIC_ARN": f"arn:aws:sns:us-east-1:{ACCOUNT}:n",
           "MAX_POLL_INTERVAL_SECONDS": "300", "POWERTOOLS_TRACE_DISABLED": "false"}  # fmt: skip
    env.pop("POWERTOOLS_METRICS_DISABLED", None)
    samples: dict[str, list[float]] = {"app": [], "boto3_handler": []}
    for _ in range(runs):
        for module, path in (("app", ROOT / "functions" / "tracker"), ("boto3_handler", ROOT / "bench")):
            code = INIT.format(path=str(path), module=module)
            output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
            samples[module].append(float(output.stdout.strip().splitlines()[-1]))
    ours, baseline = statistics.median(samples["app"]), statistics.median(samples["boto3_handler"])
    row(
        "init: import app (clients created)",
        f"{ours * 1000:.0f} ms",
        f"{baseline * 1000:.0f} ms",
        f"{ours / baseline:.2f}",
        "<= 1.5",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=Settings.__dataclass_fields__["concurrency"].default)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--day-jobs", type=int, default=600)
    parser.add_argument("--init-runs", type=int, default=9)
    parser.add_argument("--only", choices=["sweep", "intake", "day", "init"], action="append")
    args = parser.parse_args(argv)
    only = set(args.only or ["sweep", "intake", "day", "init"])
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; concurrency {args.concurrency}")  # fmt: skip
    print(f"  {'':<46} {'ours':>16} {'baseline':>16} {'ratio':>9}  target")
    if {"sweep", "intake"} & only:
        stack = ProcessStack().start()
        try:
            if "sweep" in only:
                bench_sweeps(stack, args.concurrency, args.large)
            if "intake" in only:
                bench_intake(stack, args.concurrency, args.messages)
        finally:
            stack.stop()
    if "day" in only:
        bench_day(args.day_jobs)
    if "init" in only:
        bench_init(args.init_runs)
    print("\n| measure | ours | baseline | ratio | target |\n| --- | --- | --- | --- | --- |")
    for name, ours, baseline, ratio, target in rows:
        print(f"| {name} | {ours} | {baseline} | {ratio} | {target} |")


if __name__ == "__main__":
    assert ARN_PATTERN
    main()
