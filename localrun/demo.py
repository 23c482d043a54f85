"""`make demo`: the whole product on this machine, no AWS account, watched as it runs.

Starts the local stack (moto's server and the Bedrock simulator, the template's resources), runs the
function as Lambda would in a process of its own, starts async invocations on the simulator, submits them
on the intake queue with one malformed message, and shows submitted / in progress / completed / failed /
notified until every invocation is accounted for. The output bucket's events reach the function through
EventBridge's rule, a little late as EventBridge delivers them; the demo shows each invocation's time from its
end to its notification. Every ending also goes on an EventBridge bus, where a rule delivers it to a queue. Exits 0
when each ended invocation was notified exactly once on the topic and on the bus and the malformed message rests
in the dead-letter queue; non-zero otherwise.

Two workflows wait on two of the jobs (the README's state machine, examples/wait-for-job.asl.json, which moto runs):
each hands the tracker its job's ARN and its task token, and waits. The one whose job completes is resumed with the
notification as its output, the one whose job fails lands in its Catch; the demo shows how soon after each job's end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bedrock_simulator import Fault

from .stack import EventDelivery, LocalAws, start_function

ROOT = Path(__file__).resolve().parent.parent
MALFORMED = '{"invocationArn": "not-an-arn", "context": {"note": "this one is meant to fail"}}'
# A mix like a real account's, of the models Bedrock serves asynchronously today: short and long Nova Reel videos,
# Luma Ray2, TwelveLabs Marengo Embed 3.0 and Nova Multimodal Embeddings (segmented).
WORKLOAD: list[tuple[str, dict[str, Any]]] = [
    ("amazon.nova-reel-v1:1", {"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "a lighthouse at dawn"}}),
    (
        "amazon.nova-reel-v1:1",
        {
            "taskType": "MULTI_SHOT_AUTOMATED",
            "multiShotAutomatedParams": {"text": "a day at the harbour"},
            "videoGenerationConfig": {"durationSeconds": 30},
        },
    ),
    ("luma.ray-v2:0", {"prompt": "waves on a beach", "duration": "5s"}),
    (
        "twelvelabs.marengo-embed-3-0-v1:0",
        {"inputType": "video", "video": {"mediaSource": {"s3Location": {"uri": "s3://in/v"}}}},
    ),
    (
        "amazon.nova-2-multimodal-embeddings-v1:0",
        {
            "taskType": "SEGMENTED_EMBEDDING",
            "segmentedEmbeddingParams": {
                "embeddingPurpose": "GENERIC_INDEX",
                "video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://in/v.mp4"}}},
            },
        },
    ),
    (
        "amazon.nova-reel-v1:1",
        {
            "taskType": "MULTI_SHOT_AUTOMATED",
            "multiShotAutomatedParams": {"text": "a city at night"},
            "videoGenerationConfig": {"durationSeconds": 60},
        },
    ),
]


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stack = LocalAws(time_factor=args.time_factor, failure_rate=args.failure_rate, seed=args.seed)
        self.tty = sys.stdout.isatty()
        self.arns: list[str] = []
        self.unsubmitted: list[str] = []
        self.received: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []  # what a rule on the bus delivered to its queue
        self.log = ROOT / ".demo" / "function.log"
        self.workflows: dict[str, str] = {}  # execution ARN -> the job it waits on

    def run(self) -> int:
        self.stack.start()
        factor = self.args.time_factor  # EventBridge's seconds, on the demo's faster clock
        self.stack.event_delivery = EventDelivery(
            delay=(1 * factor, 5 * factor), late_share=0.01, late=(60 * factor, 120 * factor), seed=self.args.seed
        )
        resources = self.stack.resources
        self.say(
            f"Local stack: AWS services on {self.stack.aws_endpoint}, Bedrock Runtime on {self.stack.bedrock_endpoint}"
        )
        self.say(f"  intake queue {resources.queue_url}")
        self.say(f"  table {resources.table_name}, topic {resources.topic_arn}")
        discovery = {"DISCOVERY_REGIONS": "us-east-1"} if self.args.discover else {}
        function = start_function(self.stack, self.log, discovery)
        try:
            if self.args.fail_bedrock:
                self.stack.simulator.inject("GetAsyncInvoke", Fault(code="InternalServerException", rate=1.0))
                self.say("Every GetAsyncInvoke call will fail with InternalServerException (--fail-bedrock).")
            self.start_invocations()
            self.start_workflows()
            self.submit()
            self.arns += self.unsubmitted  # from here on, accounted for like the rest
            finished = self.watch()
            return self.report(finished)
        finally:
            function.terminate()
            function.wait(timeout=10)
            self.stack.stop()
            self.say(f"The function's logs are in {self.log}")

    def say(self, text: str) -> None:
        print(text, flush=True)

    def start_invocations(self) -> None:
        bedrock = self.stack.client("bedrock-runtime")
        for i in range(self.args.invocations):
            model, model_input = WORKLOAD[i % len(WORKLOAD)]
            answer = bedrock.start_async_invoke(
                modelId=model,
                modelInput=model_input,
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{self.stack.resources.bucket}/outputs"}},
            )
            self.arns.append(answer["invocationArn"])
        models = Counter(WORKLOAD[i % len(WORKLOAD)][0] for i in range(self.args.invocations))
        self.say(f"Started {len(self.arns)} async invocations on the simulator: {dict(models)}")
        for _ in range(self.args.discover):
            answer = bedrock.start_async_invoke(
                modelId="amazon.nova-reel-v1:1",
                modelInput={"taskType": "TEXT_VIDEO"},
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{self.stack.resources.bucket}/unsubmitted"}},
            )
            self.unsubmitted.append(answer["invocationArn"])
        if self.args.discover:
            self.say(f"Started {self.args.discover} more that nobody submits: discovery must find them.")

    def start_workflows(self) -> None:
        """Two executions of the README's state machine, each waiting on a job: the last to complete, the last to fail
        (the later the job ends, the plainer that the workflow waited for it)."""
        jobs = self.stack.simulator.jobs
        states = self.stack.client("stepfunctions")
        for fails in (False, True):
            waited = [arn for arn in self.arns if jobs[arn].fails == fails]
            if not waited:
                continue
            job = max(waited, key=lambda arn: jobs[arn].ended_at)
            execution = states.start_execution(
                stateMachineArn=self.stack.resources.state_machine_arn, input=json.dumps({"invocationArn": job})
            )["executionArn"]
            self.workflows[execution] = job
        self.say(
            f"Started {len(self.workflows)} workflow(s) of the README's state machine, each waiting on a job with its "
            "task token."
        )

    def workflows_running(self) -> int:
        states = self.stack.client("stepfunctions")
        return sum(
            1
            for execution in self.workflows
            if states.describe_execution(executionArn=execution)["status"] == "RUNNING"
        )

    def submit(self) -> None:
        sqs = self.stack.client("sqs")
        for i, arn in enumerate(self.arns):
            # half as JSON with a context to echo, half as the bare ARN
            body = json.dumps({"invocationArn": arn, "context": {"jobId": f"job-{i:03d}"}}) if i % 2 == 0 else arn
            sqs.send_message(QueueUrl=self.stack.resources.queue_url, MessageBody=body)
        sqs.send_message(QueueUrl=self.stack.resources.queue_url, MessageBody=MALFORMED)
        self.say(f"Submitted {len(self.arns)} invocations and 1 malformed message to the intake queue.\n")

    def counts(self) -> dict[str, int]:
        records = self.records()
        statuses = Counter(str(r.get("status", {}).get("S")) for r in records.values())
        self.received += self.stack.notifications()
        self.events += self.stack.events()
        return {
            "invocations": len(self.arns),
            "tracked": len(records),
            "in progress": statuses["InProgress"],
            "completed": statuses["Completed"],
            "failed": statuses["Failed"],
            "notified": len(self.received),
            "events": len(self.events),
            "dead letters": self.stack.queue_depth(self.stack.resources.dead_letter_queue_url),
            "waiting": self.workflows_running(),
            "ended on Bedrock": sum(
                1
                for arn in self.arns
                if self.stack.simulator.jobs[arn].status(self.stack.simulator.clock()) != "InProgress"
            ),
        }

    def records(self) -> dict[str, dict[str, Any]]:
        # The demo's own view of the table; the function itself never scans.
        items = self.stack.client("dynamodb").scan(TableName=self.stack.resources.table_name)["Items"]
        return {item["invocationArn"]["S"]: item for item in items}

    def watch(self) -> bool:
        deadline = time.monotonic() + self.args.timeout
        started = time.monotonic()
        last_print = 0.0
        expected_dead = len(self.arns) + 1 if self.args.fail_bedrock else 1
        while time.monotonic() < deadline:
            counts = self.counts()
            line = "  ".join(f"{name}: {value:>3}" for name, value in counts.items())
            elapsed = time.monotonic() - started
            if self.tty:
                print(f"\r[{elapsed:5.1f}s] {line}", end="", flush=True)
            elif elapsed - last_print >= 3:
                print(f"[{elapsed:5.1f}s] {line}", flush=True)
                last_print = elapsed
            done = counts["notified"] >= counts["ended on Bedrock"] == len(self.arns) <= counts["events"]
            done = done and counts["waiting"] == 0
            if (done or self.args.fail_bedrock) and counts["dead letters"] >= expected_dead:
                print(f"\n[{elapsed:5.1f}s] {line}" if self.tty else f"[{elapsed:5.1f}s] {line}", flush=True)
                return True
            time.sleep(0.5)
        print(flush=True)
        return False

    def report(self, finished: bool) -> int:
        self.received += self.stack.notifications()
        self.events += self.stack.events()
        by_arn = Counter(n["message"]["invocationArn"] for n in self.received)
        events_by_arn = Counter(e["detail"]["invocationArn"] for e in self.events)
        self.say("\nNotifications received by an SQS subscriber of the topic:")
        for n in sorted(self.received, key=lambda n: n["message"]["invocationArn"]):
            message = n["message"]
            files = ", ".join(o["key"].rsplit("/", 1)[-1] for o in message.get("outputObjects", []))
            detail = (
                message.get("failureMessage")
                or files
                or message.get("outputDataConfig", {}).get("s3OutputDataConfig", {}).get("s3Uri", "")
            )
            if message["invocationArn"] in self.unsubmitted:
                detail += "  (discovered)"
            context = json.dumps(message["context"]) if "context" in message else "-"
            model = message["modelArn"].rsplit("/", 1)[-1]
            self.say(
                f"  {message['invocationArn'][-12:]}  {message['status']:<9}  {model:<34}  {context:<20}  {detail}"
            )
        self.report_events(by_arn, events_by_arn)
        problems = self.report_workflows()
        self.report_delays()
        self.report_function_errors()
        dead = self.stack.dead_letters()
        self.say(f"\nIntake dead-letter queue ({len(dead)} message(s), bodies intact):")
        for body in dead:
            self.say(f"  {body[:110]}")
        in_queue = self.stack.queue_depth(self.stack.resources.queue_url)

        ended = [
            a for a in self.arns if self.stack.simulator.jobs[a].status(self.stack.simulator.clock()) != "InProgress"
        ]
        missing = [a for a in ended if by_arn[a] == 0]
        doubled = [a for a, count in by_arn.items() if count > 1]
        if missing:
            problems.append(f"{len(missing)} ended invocation(s) not notified")
        if doubled:
            problems.append(f"{len(doubled)} invocation(s) notified more than once")
        if [a for a in ended if events_by_arn[a] != 1]:
            problems.append("an ended invocation's event did not reach the bus's rule exactly once")
        if MALFORMED not in dead:
            problems.append("the malformed message is not in the dead-letter queue")
        if len(ended) < len(self.arns):
            problems.append(f"{len(self.arns) - len(ended)} invocation(s) still running on Bedrock")
        if not finished:
            problems.append(f"timed out after {self.args.timeout:.0f}s")
        tracked = self.records()
        accounted = sum(1 for a in self.arns if by_arn[a] or a in tracked)
        lost = max(0, len(self.arns) + 1 - len(dead) - in_queue - accounted)
        submitted = len(self.arns) - len(self.unsubmitted)
        discovered = f" (+{len(self.unsubmitted)} left to discovery)" if self.unsubmitted else ""
        self.say(
            f"\nAccounting: {submitted} submitted{discovered}, {len(ended)} ended, "
            f"{sum(by_arn.values())} notification(s) for {len(by_arn)} invocation(s), {len(dead)} in the dead-letter "
            f"queue, {in_queue} still in the intake queue, {lost} lost."
        )
        if lost:
            problems.append(f"{lost} submission(s) lost")
        if problems:
            self.say("FAILED: " + "; ".join(problems))
            return 1
        self.say(
            "OK: every ended invocation was notified exactly once, on the topic and on the bus; each waiting workflow "
            "was resumed; the malformed message rests in the DLQ."
        )
        return 0

    def report_workflows(self) -> list[str]:
        """Each waiting workflow as it ended: resumed with the notification as its output, or through its Catch; how
        soon after its job's end (the execution's stop time, on this machine's clock, as the simulator's)."""
        states = self.stack.client("stepfunctions")
        messages = {n["message"]["invocationArn"]: n["message"] for n in self.received}
        problems: list[str] = []
        if self.workflows:
            self.say("\nWorkflows waiting on a job (the README's state machine, run by moto), resumed by the tracker:")
        for execution, job in self.workflows.items():
            described = states.describe_execution(executionArn=execution)
            status = described["status"]
            if status == "RUNNING":
                self.say(f"  {job[-12:]}  still waiting")
                problems.append("a workflow was not resumed")
                continue
            after = (described["stopDate"].astimezone(UTC) - self.stack.simulator.jobs[job].ended_at).total_seconds()
            if status == "SUCCEEDED":
                output = json.loads(described.get("output") or "null")
                self.say(f"  {job[-12:]}  SUCCEEDED  {after:5.2f} s after its job ended, its output the notification")
                if output != messages.get(job):
                    problems.append("a resumed workflow's output is not its job's notification")
            else:
                self.say(
                    f"  {job[-12:]}  {status}  {after:5.2f} s after its job ended, through its Catch: "
                    f"{described.get('error')}: {described.get('cause', '')[:60]}"
                )
                if described.get("error") != "Bedrock.AsyncInvokeFailed":
                    problems.append("a failed job's workflow did not land in its Catch")
        return problems

    def report_events(self, notified: Counter[str], put: Counter[str]) -> None:
        """The same endings as EventBridge events, delivered by a rule on the bus to a queue, as a user routes them."""
        self.say(f"\nEvents on the bus {self.stack.resources.event_bus_name}, as a rule delivered them to a queue:")
        for event in sorted(self.events, key=lambda e: e["detail"]["invocationArn"])[:5]:
            detail = event["detail"]
            self.say(
                f"  {detail['invocationArn'][-12:]}  {event['detail-type']}  source {event['source']}  "
                f"status {detail['status']}"
            )
        if len(self.events) > 5:
            self.say(f"  ... and {len(self.events) - 5} more")
        both = sum(1 for arn in notified if put[arn] == notified[arn] == 1)
        self.say(f"  {both} ending(s) went out once on each channel, the SNS topic and the bus")

    def report_delays(self) -> None:
        """Each ending's time to its notification (the record's notifiedAt), for the jobs whose output landed in
        the watched bucket (heard through EventBridge) and for those that wrote none (timers and sweeps)."""
        records = self.records()
        delays: dict[str, list[float]] = {"with output events": [], "without (failures write nothing)": []}
        for arn in self.arns:
            notified = records.get(arn, {}).get("notifiedAt", {}).get("S")
            if notified is None:
                continue
            job = self.stack.simulator.jobs[arn]
            seconds = (datetime.fromisoformat(notified.replace("Z", "+00:00")) - job.ended_at).total_seconds()
            delays[
                "with output events" if job.output_written and not job.fails else "without (failures write nothing)"
            ].append(seconds)
        self.say(
            f"\nTime from a job's end to its notification, in seconds of this machine (jobs and sweeps run "
            f"{1 / self.args.time_factor:.0f} times faster here; EventBridge's delay is scaled alike):"
        )
        for kind, values in delays.items():
            if values:
                values.sort()
                p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
                self.say(
                    f"  {kind:<34} {len(values):>3} jobs  median {statistics.median(values):.2f} s  p95 {p95:.2f} s"
                )

    def report_function_errors(self) -> None:
        """What the function said about the messages it could not track, from its structured logs."""
        kinds: Counter[str] = Counter()
        reasons: dict[str, str] = {}
        for line in self.log.read_text(errors="replace").splitlines() if self.log.exists() else []:
            if not line.startswith("{"):
                continue
            entry = json.loads(line)
            if entry.get("message") in ("submission not tracked", "sweep could not check invocation"):
                kinds[entry["kind"]] += 1
                reasons.setdefault(entry["kind"], entry["reason"])
        if kinds:
            self.say("\nThe function's failures, from its logs (one line per message and attempt):")
            for kind, count in kinds.most_common():
                self.say(f"  {count:>4} x {kind:<18} e.g. {reasons[kind][:90]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--invocations", "-n", type=int, default=20, help="async invocations to start (20)")
    parser.add_argument(
        "--time-factor", type=float, default=0.02, help="multiplies job durations, timeouts and the schedule (0.02)"
    )
    parser.add_argument("--failure-rate", type=float, default=0.2, help="share of invocations that end Failed (0.2)")
    parser.add_argument("--fail-bedrock", action="store_true", help="make every GetAsyncInvoke call fail")
    parser.add_argument(
        "--discover",
        type=int,
        default=0,
        metavar="N",
        help="also start N invocations nobody submits, with discovery on",
    )
    parser.add_argument("--timeout", type=float, default=110, help="seconds before the demo gives up (110)")
    parser.add_argument("--seed", type=int, default=7)
    return Demo(parser.parse_args(argv)).run()


if __name__ == "__main__":
    sys.exit(main())
