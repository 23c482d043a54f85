"""Wait for it (issue 21): the README's state machine, run as written on the local stack (moto executes it), waits on
a job with its task token, and the tracker resumes it when the job ends.

The README's definition is examples/wait-for-job.asl.json itself (checked here); the local stack creates it for
every test's resources, its intake queue substituted; the tracker resumes it through the callback channel
(tracking/channels/callback.py)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from localrun.clock import Clock
from localrun.lambda_driver import LambdaDriver
from localrun.stack import WAIT_FOR_JOB, LocalAws, Resources
from tests.helpers import Invoke, LogLines, arn
from tracking.callbacks import FAILED_ERROR

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "docs" / "design.md").read_text()  # the definition, shown where callbacks are described


def readme_definition() -> str:
    match = re.search(
        r"<!-- run as written by tests/e2e/test_wait_for_it.py: wait-for-job -->\n```json\n(.*?)```", README, re.S
    )
    assert match, "docs/design.md has no block marked wait-for-job"
    return match.group(1)


def test_the_readme_shows_the_definition_the_local_stack_runs() -> None:
    assert readme_definition() == WAIT_FOR_JOB.read_text()
    definition = json.loads(readme_definition())
    task = definition["States"][definition["StartAt"]]
    assert task["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    assert task["Parameters"]["MessageBody"] == {"invocationArn.$": "$.invocationArn", "taskToken.$": "$$.Task.Token"}
    assert [catch["ErrorEquals"] for catch in task["Catch"]] == [[FAILED_ERROR]]


def start(stack: LocalAws, resources: Resources, job: str) -> str:
    """The README's state machine (the local stack made it from the README's definition), waiting on `job`."""
    answer = stack.client("stepfunctions").start_execution(
        stateMachineArn=resources.state_machine_arn, input=json.dumps({"invocationArn": job})
    )
    return str(answer["executionArn"])


def ended(stack: LocalAws, execution: str) -> dict[str, Any]:
    """The execution once moto's executor has ended it (waits for that event, not for time to pass)."""
    states = stack.client("stepfunctions")
    for _ in range(2000):
        described: dict[str, Any] = states.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.01)
    raise AssertionError(f"{execution} is still running")


def test_a_workflow_waiting_on_a_job_resumes_with_the_notification_as_its_output(
    stack: LocalAws, resources: Resources, driver: LambdaDriver, invoke: Invoke, clock: Clock
) -> None:
    job = stack.simulator.add(arn("waitforit001"))
    execution = start(stack, resources, job)
    assert driver.poll_once(wait_seconds=20) == 1  # the task's message: the job, tracked, and its token kept
    assert stack.client("stepfunctions").describe_execution(executionArn=execution)["status"] == "RUNNING"

    stack.simulator.end(job)
    clock.advance(310)
    invoke({})  # the sweep that finds the ending resumes the workflow with the notification it publishes

    (notification,) = stack.notifications()
    described = ended(stack, execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == notification["message"]
    assert stack.proxy.state.operations()["states:SendTaskSuccess"] == 1
    invoke({})
    assert stack.proxy.state.operations()["states:SendTaskSuccess"] == 1  # once per ending


def test_a_failed_job_lands_in_the_workflows_catch(
    stack: LocalAws, resources: Resources, driver: LambdaDriver, invoke: Invoke, clock: Clock
) -> None:
    job = stack.simulator.add(arn("waitforit002"))
    execution = start(stack, resources, job)
    assert driver.poll_once(wait_seconds=20) == 1
    stack.simulator.end(job, failed=True, message="The video was blocked by a filter.")
    clock.advance(310)
    invoke({})

    described = ended(stack, execution)
    assert (described["status"], described["error"]) == ("FAILED", FAILED_ERROR)
    assert described["cause"] == "The video was blocked by a filter."
    states = stack.client("stepfunctions")
    entered = [
        event["stateEnteredEventDetails"]["name"]
        for event in states.get_execution_history(executionArn=execution)["events"]
        if "stateEnteredEventDetails" in event
    ]
    assert entered == ["WaitForJob", "JobFailed"]  # through the Catch


def test_a_timed_out_task_is_recorded_as_gone_and_not_retried(
    stack: LocalAws, resources: Resources, driver: LambdaDriver, invoke: Invoke, clock: Clock, logs: LogLines
) -> None:
    """The README's definition with a one-second TimeoutSeconds: the task times out before its job ends."""
    definition = json.loads(readme_definition().replace("${IntakeQueueUrl}", resources.queue_url))
    definition["States"]["WaitForJob"]["TimeoutSeconds"] = 1
    states = stack.client("stepfunctions")
    machine = states.create_state_machine(
        name=f"{resources.state_machine_arn.rsplit(':', 1)[-1]}-1s",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/wait-for-job",
    )["stateMachineArn"]
    job = stack.simulator.add(arn("waitforit003"))
    execution = states.start_execution(stateMachineArn=machine, input=json.dumps({"invocationArn": job}))
    assert driver.poll_once(wait_seconds=20) == 1
    assert ended(stack, execution["executionArn"])["error"] == "States.Timeout"

    stack.simulator.end(job)
    clock.advance(310)
    invoke({})
    assert len(stack.notifications()) == 1  # the other channels went out all the same
    assert stack.proxy.state.operations()["states:SendTaskSuccess"] == 1  # refused once, not resent
    assert logs.where(message="callback can never be resumed; recorded as gone, not retried")
    for _ in range(3):
        clock.advance(120)  # past any lease
        invoke({})
    assert stack.proxy.state.operations()["states:SendTaskSuccess"] == 1  # never retried
