"""`make bench`: speed and cost, each figure against a baseline measured in the same run on the same stack, and
each throughput against what this machine allows at most.

1. sweep throughput at 1,000 due invocations, 50 ms per Bedrock answer, against concurrency 1; and 10,000 due in
   one sweep of 60 s, handing what it cannot reach to other execution environments (worker processes);
2. intake throughput of SQS batches of 10, against one message per invocation;
3. a simulated day (bench/day.py): time from a job's end to its notification, Bedrock calls and DynamoDB writes per
   job, against polling every in-progress invocation every minute; and the same day with a workflow's callback on
   every job, its calls and writes per job beside the day without;
4. the handler's init time, against a handler that only imports boto3;
5. cost in dollars (bench/prices.py): the simulated day with every job's output in a watched bucket, then none,
   against the baseline, per 1,000 jobs and for a month of 10,000 jobs a day.

A baseline that waits on latency runs as fast on any machine, while our side is bound by CPU, so a ratio alone
changes with the machine. Beside each throughput: the limit of calls in flight over latency, the limit of this
machine's cores over the CPU time a check takes in every process (the function's, moto's, the simulator's,
measured), and the share of the lower one reached.

    make bench                 # about ten minutes
    make bench ARGS=--json     # the same, then one JSON object on the last line
    .venv/bin/python -m bench.run --only cost --day-jobs 200 --json   # the dollars alone
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bedrock-async-tracker")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from bedrock_simulator import ARN_PATTERN  # noqa: E402
from localrun.stack import ACCOUNT, CREDENTIALS, LocalAws  # noqa: E402
from tracking import lifecycle, telemetry  # noqa: E402
from tracking.config import Settings  # noqa: E402
from tracking.runtime import Runtime  # noqa: E402

# The benches call the runtime directly, without the handler's decorator that flushes metrics once per event.
telemetry.metrics.add_metric = lambda **_: None  # type: ignore[method-assign]
lifecycle.count_ending = lambda *_: None  # type: ignore[attr-defined]  # printed at once: noise here

LATENCY = 0.05
CORES = os.cpu_count() or 1
rows: list[tuple[str, str, str, str, str]] = []
figures: dict[str, float] = {}


def row(name: str, ours: str, baseline: str, ratio: str, target: str) -> None:
    rows.append((name, ours, baseline, ratio, target))
    print(f"  {name:<52} {ours:>16} {baseline:>16} {ratio:>9}  {target}", flush=True)


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user and system) a process has used: this one's, or another's from /proc."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ProcessStack(LocalAws):
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
                [sys.executable, "-m", "bedrock_simulator", "--port", str(simulator_port),
                 "--time-factor", "1000", "--failure-rate", "0", "--seed", "1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            ),
        ]  # fmt: skip
        self.pids = {"moto": self._processes[0].pid, "simulator": self._processes[1].pid}
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
    from localrun.lambda_driver import sqs_event

    messages = [
        {"MessageId": f"m-{i}-{body[-12:]}", "ReceiptHandle": "r", "Body": body} for i, body in enumerate(bodies)
    ]
    return sqs_event(messages, queue_arn=queue_arn, region="us-east-1")


def settings_for(stack: LocalAws, **changes: Any) -> Settings:
    return Settings(
        table_name=stack.resources.table_name,
        topic_arn=stack.resources.topic_arn,
        max_poll_interval_seconds=0,
        **changes,
    )


@contextmanager
def stack_environment(stack: LocalAws) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update({**CREDENTIALS, "AWS_ENDPOINT_URL": stack.aws_endpoint,
                       "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stack.bedrock_endpoint})  # fmt: skip
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def start_jobs(stack: LocalAws, count: int) -> list[str]:
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


def simulator_calls(stack: ProcessStack) -> int:
    import urllib.request

    answer = urllib.request.urlopen(f"{stack.bedrock_endpoint}/_simulator/stats").read()  # noqa: S310 - our own server
    return int(json.loads(answer)["calls"].get("GetAsyncInvoke", 0))


def seed_records(stack: LocalAws, arns: list[str]) -> None:
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


class Cpu:
    """CPU seconds used by each process of the stack, and by the function (this process), over a measurement."""

    def __init__(self, stack: ProcessStack) -> None:
        self.pids: dict[str, int | None] = {"function": None, **stack.pids}
        self.started = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def used(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) - self.started[name] for name, pid in self.pids.items()}


def limits(name: str, rate: float, *, in_flight: int, cpu: dict[str, float], checks: int) -> float:
    """Print the two limits of `rate` on this machine and the share of the lower reached; returns CPU ms a check."""
    per_check = {process: seconds / checks for process, seconds in cpu.items()}
    latency_limit = in_flight / LATENCY
    cpu_limit = CORES / sum(per_check.values())
    reached = rate / min(latency_limit, cpu_limit)
    spent = ", ".join(f"{process} {seconds * 1000:.2f}" for process, seconds in per_check.items())
    print(
        f"      {name}: limit {in_flight} in flight / {LATENCY * 1000:.0f} ms = {latency_limit:.0f}/s; "
        f"{CORES} cores / {sum(per_check.values()) * 1000:.2f} ms CPU a check ({spent}) = {cpu_limit:.0f}/s; "
        f"reached {reached:.0%} of the lower",
        flush=True,
    )
    return per_check["function"] * 1000


def timed_sweep(stack: ProcessStack, workers: int) -> tuple[float, dict[str, float], int]:
    runtime = Runtime.build(settings_for(stack, concurrency=workers))
    cpu = Cpu(stack)
    started = time.perf_counter()
    report = runtime.sweep.run(deadline=datetime.now(UTC) + timedelta(hours=1))
    elapsed = time.perf_counter() - started
    checked = report.outcomes.get("in_progress", 0)
    if report.errors or report.stopped_early:
        raise SystemExit(f"sweep bench went wrong: {report.as_dict()}")
    return checked / elapsed, cpu.used(), checked


def bench_sweeps(stack: ProcessStack, concurrency: int, large: int) -> None:
    print(f"\n1. Sweep throughput, {LATENCY * 1000:.0f} ms per Bedrock answer (invocations checked per second)")
    with stack_environment(stack):
        stack.new_resources()
        seed_records(stack, start_jobs(stack, 1000))
        stack.faults({"GetAsyncInvoke": {"latency": LATENCY}})
        baseline, baseline_cpu, baseline_checked = timed_sweep(stack, 1)
        ours, ours_cpu, checked = timed_sweep(stack, concurrency)
        row("sweep of 1,000 due", f"{ours:.0f}/s", f"{baseline:.1f}/s", f"{ours / baseline:.1f}x", ">= 20x")
        figures["cpu_ms_per_check"] = limits("ours", ours, in_flight=concurrency, cpu=ours_cpu, checks=checked)
        limits("baseline", baseline, in_flight=1, cpu=baseline_cpu, checks=baseline_checked)
        figures["sweep_checks_per_s"] = ours
        figures["sweep_limit_checks_per_s"] = min(concurrency / LATENCY, CORES / (sum(ours_cpu.values()) / checked))
        row("CPU time a check takes, the function's", f"{figures['cpu_ms_per_check']:.2f} ms", "", "", "")
        stack.faults({})
        bench_fleet(stack, concurrency, large)


def bench_fleet(stack: ProcessStack, concurrency: int, large: int, workers: int = 2) -> None:
    """`large` due: one sweep with Lambda's 60 s, handing what it cannot reach to `workers` more environments."""
    stack.new_resources()
    seed_records(stack, start_jobs(stack, large))
    stack.faults({"GetAsyncInvoke": {"latency": LATENCY}})
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TABLE_NAME": stack.resources.table_name,
        "TOPIC_ARN": stack.resources.topic_arn,
        "MAX_POLL_INTERVAL_SECONDS": "0",
        "CHECKS_QUEUE_URL": stack.resources.checks_queue_url,
        "CHECKS_QUEUE_ARN": stack.resources.checks_queue_arn,
        "CONCURRENCY": str(concurrency),
    }
    processes = [
        subprocess.Popen([sys.executable, "-m", "bench.checks_worker"], cwd=ROOT, env=env) for _ in range(workers)
    ]
    try:
        time.sleep(3)  # their cold starts, before the sweep: Lambda's would overlap it
        runtime = Runtime.build(
            replace(settings_for(stack, concurrency=concurrency), checks_queue_url=stack.resources.checks_queue_url)
        )
        before = simulator_calls(stack)
        started = time.perf_counter()
        report = runtime.sweep.run(deadline=datetime.now(UTC) + timedelta(seconds=60))
        swept = time.perf_counter() - started
        while simulator_calls(stack) - before < large and time.perf_counter() - started < 600:
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
    handed = report.outcomes.get("handed_off", 0)
    row(
        f"{large:,} due, one sweep of 60 s and {workers} more environments",
        f"all in {elapsed:.0f} s",
        "",
        "",
        "all within 60 s",
    )
    print(
        f"      the sweep checked {report.outcomes.get('in_progress', 0):,} in {swept:.0f} s and handed {handed:,} "
        f"to the checks queue; its pace {runtime.sweep.pace.rate():.0f}/s, measured",
        flush=True,
    )
    figures["sweep_10000_due_all_checked_s"] = elapsed
    stack.faults({})


def bench_intake(stack: ProcessStack, concurrency: int, messages: int) -> None:
    from localrun.lambda_driver import LambdaContext

    print(f"\n2. Intake throughput, {LATENCY * 1000:.0f} ms per Bedrock answer (messages tracked per second)")
    with stack_environment(stack):
        stack.new_resources()
        arns = start_jobs(stack, messages * 2)
        stack.faults({"GetAsyncInvoke": {"latency": LATENCY}})
        runtime = Runtime.build(settings_for(stack, concurrency=concurrency))

        def run(bodies: list[str], size: int) -> tuple[float, dict[str, float]]:
            cpu = Cpu(stack)
            started = time.perf_counter()
            for start in range(0, len(bodies), size):
                event = lambda_event(bodies[start : start + size], stack.resources.queue_arn)
                response = runtime.handle(event, LambdaContext(timeout=60))
                if response["batchItemFailures"]:
                    raise SystemExit(f"intake bench went wrong: {response}")
            return len(bodies) / (time.perf_counter() - started), cpu.used()

        baseline, _ = run(arns[:messages], 1)
        ours, cpu = run(arns[messages:], 10)
        row(
            f"intake of {messages} messages, batches of 10",
            f"{ours:.0f}/s",
            f"{baseline:.1f}/s",
            f"{ours / baseline:.1f}x",
            ">= 5x",
        )
        limits("ours", ours, in_flight=10, cpu=cpu, checks=messages)
        figures["intake_per_s"] = ours
        stack.faults({})


def bench_day(jobs: int) -> None:
    from bench.day import Day

    print(f"\n3. A simulated day: {jobs} jobs of five kinds (bench/day.py), environments recycled hourly")
    ours = Day(jobs=jobs, seed=5, ours=True).run()
    baseline = Day(jobs=jobs, seed=5, ours=False).run()
    for kind, label in (("with", "with output events"), ("without", "without output events")):
        row(
            f"end to notification, {label} ({ours[f'jobs_{kind}']:.0f} jobs), p50 / p95",
            f"{ours[f'p50_{kind}']:.1f} / {ours[f'p95_{kind}']:.0f} s",
            f"{baseline[f'p50_{kind}']:.1f} / {baseline[f'p95_{kind}']:.0f} s",
            "",
            "<= 3 / 10 s" if kind == "with" else "<= 15 / 45 s",
        )
        figures[f"notify_p50_s_{kind}_output_events"] = ours[f"p50_{kind}"]
        figures[f"notify_p95_s_{kind}_output_events"] = ours[f"p95_{kind}"]
    row("end to notification, worst, any job", f"{ours['worst']:.0f} s", f"{baseline['worst']:.0f} s", "", "<= 360 s")
    figures["notify_worst_s"] = ours["worst"]
    for kind, target in (("with", "<= 2.5"), ("without", "<= 3.5")):
        row(
            f"Bedrock calls per job, {kind} output events",
            f"{ours[f'calls_{kind}']:.2f}",
            f"{baseline[f'calls_{kind}']:.2f}",
            f"{ours[f'calls_{kind}'] / baseline[f'calls_{kind}']:.2f}",
            target,
        )
        figures[f"bedrock_calls_per_job_{kind}_output_events"] = ours[f"calls_{kind}"]
    row("DynamoDB writes per job", f"{ours['writes']:.2f}", f"{baseline['writes']:.2f}", "", "<= 3.2")
    figures["dynamodb_writes_per_job"] = ours["writes"]
    day_limits("ours", ours)
    day_limits("baseline", baseline)
    # The same day with every job awaited by a workflow (a durable function's callback id on each submission): one
    # more channel per ending, and not one more call to Bedrock or write. A day of its own stack, the third in this
    # process (tests/integration/test_stack_twice.py: a second stack used to block on its own write lock).
    awaited = Day(jobs=jobs, seed=5, ours=True, callbacks=True).run()
    for name, key, target in (
        ("Bedrock calls", "calls", "unchanged (1.00)"),
        ("DynamoDB writes", "writes", "unchanged"),
    ):
        row(
            f"{name} per job, a callback per job / none",
            f"{awaited[key]:.3f}",
            f"{ours[key]:.3f}",
            f"{awaited[key] / ours[key]:.3f}",
            target,
        )
        figures[f"callbacks_{key}_per_job"] = awaited[key]
        figures[f"callbacks_{key}_per_job_change"] = awaited[key] - ours[key]
    day_limits("a callback per job", awaited)
    if "fresh_due" in ours:
        row(
            f"new environments' first sweeps with work due, after 500 endings of a model ({ours['fresh_sweeps']:.0f})",
            f"ask {ours['fresh_asked']:.0f} of {ours['fresh_due']:.0f} due",
            "ask all due",
            "",
            "only those that may have ended",
        )
        figures["new_environment_first_sweep_asked"] = ours["fresh_asked"]
        figures["new_environment_first_sweep_due"] = ours["fresh_due"]


def day_limits(name: str, day: dict[str, float]) -> None:
    """A simulated day's limit on this machine: the function, moto, the proxy and the simulator all run in this
    process, so its CPU time a job bounds the jobs a second these cores can take; and the share of it reached."""
    limit = CORES / (day["cpu_ms_per_job"] / 1000)
    print(
        f"      {name}: {day['jobs_per_s']:.1f} jobs/s; limit {CORES} cores / {day['cpu_ms_per_job']:.1f} ms CPU a job "
        f"(function, moto, proxy, simulator: one process) = {limit:.0f}/s; reached {day['jobs_per_s'] / limit:.0%}",
        flush=True,
    )


def bench_cost(jobs: int) -> None:
    from bench import prices
    from bench.day import Day

    print(f"\n5. Cost at AWS's us-east-1 prices of {prices.PRICES_AS_OF} (bench/prices.py), a day of {jobs} jobs")
    runs = {
        "with": Day(jobs=jobs, seed=5, ours=True, unwatched=0.0).run(),
        "without": Day(jobs=jobs, seed=5, ours=True, unwatched=1.0).run(),
        "baseline": Day(jobs=jobs, seed=5, ours=False).run(),
    }
    # Custom metrics a month: each named metric, EndingsByModel per model and status, a few error kinds.
    names = [value for name, value in vars(telemetry).items() if name.isupper() and isinstance(value, str)]
    metrics = len(names) + 2 * 4 + 5
    fixed = prices.fixed_monthly_dollars(metrics)
    for kind, run in runs.items():
        month = prices.monthly_dollars(
            per_1000_jobs=run["usd_per_1000_jobs"],
            fixed_per_day=run["usd_sweeps_per_day"],
            fixed_per_month=fixed,
            jobs_per_day=10_000,
        )
        key = "baseline" if kind == "baseline" else f"{kind}_output_events"
        figures[f"usd_per_1000_jobs_{key}" if kind != "baseline" else "baseline_usd_per_1000_jobs"] = run[
            "usd_per_1000_jobs"
        ]
        figures[f"usd_per_month_10000_jobs_a_day_{key}"] = month
        figures[f"usd_sweeps_per_day_{key}"] = run["usd_sweeps_per_day"]
    figures["usd_fixed_per_month"] = fixed
    for kind, label in (("with", "with output events"), ("without", "without output events")):
        ours, baseline = runs[kind], runs["baseline"]
        row(
            f"USD per 1,000 jobs, {label}",
            f"${ours['usd_per_1000_jobs']:.4f}",
            f"${baseline['usd_per_1000_jobs']:.4f}",
            f"{ours['usd_per_1000_jobs'] / baseline['usd_per_1000_jobs']:.2f}",
            "",
        )
        row(
            f"DynamoDB write / read request units per job, {label}",
            f"{ours['write_units']:.2f} / {ours['read_units']:.2f}",
            f"{baseline['write_units']:.2f} / {baseline['read_units']:.2f}",
            "",
            "",
        )
        figures[f"dynamodb_write_units_per_job_{kind}_output_events"] = ours["write_units"]
        figures[f"dynamodb_read_units_per_job_{kind}_output_events"] = ours["read_units"]
        row(
            f"USD a month at 10,000 jobs a day, {label}",
            f"${figures[f'usd_per_month_10000_jobs_a_day_{kind}_output_events']:.2f}",
            f"${figures['usd_per_month_10000_jobs_a_day_baseline']:.2f}",
            "",
            "",
        )


# -- init ---------------------------------------------------------------------------------------------------

INIT = """
import time
started = time.perf_counter()
import {module}
print(time.perf_counter() - started)
"""


def bench_init(runs: int) -> None:
    print(f"\n4. Handler init time (median of {runs} cold starts each, alternating)")
    env = {**os.environ, "TABLE_NAME": "t", "TOPIC_ARN": f"arn:aws:sns:us-east-1:{ACCOUNT}:n",
           "MAX_POLL_INTERVAL_SECONDS": "300"}  # fmt: skip
    env.pop("POWERTOOLS_METRICS_DISABLED", None)
    samples: dict[str, list[float]] = {"app": [], "boto3_handler": []}
    for _ in range(runs):
        for module, path in (("app", ROOT / "functions" / "tracker"), ("boto3_handler", ROOT / "bench")):
            output = subprocess.run(  # the handler's folder first on the path, as Lambda's /var/task is
                [sys.executable, "-c", INIT.format(module=module)],
                capture_output=True,
                text=True,
                env={**env, "PYTHONPATH": str(path)},
                check=True,
            )
            samples[module].append(float(output.stdout.strip().splitlines()[-1]))
    ours, baseline = statistics.median(samples["app"]), statistics.median(samples["boto3_handler"])
    figures["init_ratio"] = ours / baseline
    row(
        "init: import app (clients created)",
        f"{ours * 1000:.0f} ms",
        f"{baseline * 1000:.0f} ms",
        f"{ours / baseline:.2f}",
        "<= 1.5",
    )
    bench_package()


def bench_package() -> None:
    """The package `sam build` makes (as `make build` runs it), its size unzipped and zipped, and what takes it."""
    sam = os.environ.get("SAM") or str(ROOT / ".venv-sam" / "bin" / "sam")
    if not Path(sam).exists():
        print("  package size: skipped (no SAM CLI: make dev installs it)")
        return
    python = os.environ.get("PYTHON313") or shutil.which("python3.13")
    path = f"{Path(python).parent}:{os.environ['PATH']}" if python else os.environ["PATH"]
    with tempfile.TemporaryDirectory() as build:
        built = subprocess.run(
            [sam, "build", "--template", str(ROOT / "template.yaml"), "--build-dir", build],
            cwd=ROOT, env={**os.environ, "PATH": path, "SAM_CLI_TELEMETRY": "0"},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if built.returncode != 0:
            print(f"  package size: skipped (sam build failed: {(built.stdout + built.stderr).strip()[-300:]})")
            return
        package = Path(build) / "TrackerFunction"
        sizes: Counter[str] = Counter()
        for file in package.rglob("*"):
            if file.is_file():
                sizes[file.relative_to(package).parts[0].split("-")[0].split(".dist")[0]] += file.stat().st_size
        archive = shutil.make_archive(str(Path(build) / "package"), "zip", package)
        zipped = Path(archive).stat().st_size
    total = sum(sizes.values())
    figures["package_mb"] = total / 1e6
    figures["package_zipped_mb"] = zipped / 1e6
    row("package (sam build), unzipped / zipped", f"{total / 1e6:.1f} / {zipped / 1e6:.1f} MB", "", "", "")
    largest = ", ".join(f"{name} {size / 1e6:.1f}" for name, size in sizes.most_common(5))
    unwanted = sorted({"aws_xray_sdk", "pydantic"} & set(sizes)) or "none"
    print(f"      largest parts (MB): {largest}; of aws_xray_sdk and pydantic: {unwanted}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=Settings.__dataclass_fields__["concurrency"].default)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--day-jobs", type=int, default=1000)
    parser.add_argument("--init-runs", type=int, default=9)
    parser.add_argument("--only", choices=["sweep", "intake", "day", "init", "cost"], action="append")
    parser.add_argument("--json", action="store_true", help="end with the figures as one JSON object on one line")
    args = parser.parse_args(argv)
    only = set(args.only or ["sweep", "intake", "day", "init", "cost"])
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; concurrency {args.concurrency}")  # fmt: skip
    print(f"  {'':<52} {'ours':>16} {'baseline':>16} {'ratio':>9}  target")
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
    if "cost" in only:
        bench_cost(args.day_jobs)
    print("\n| measure | ours | baseline | ratio | target |\n| --- | --- | --- | --- | --- |")
    for name, ours, baseline, ratio, target in rows:
        print(f"| {name} | {ours} | {baseline} | {ratio} | {target} |")
    if args.json:
        print(json.dumps({name: round(value, 3) for name, value in figures.items()}))


if __name__ == "__main__":
    assert ARN_PATTERN
    main()
