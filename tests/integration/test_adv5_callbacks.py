"""adv5: the callback channel as wired, on the local stack (moto's Step Functions running the README's workflow, the
stand-in of Lambda's durable callback API), against what AWS documents.

1. A job may hold MAX_CALLBACKS (100) callbacks (docs/guarantees.md). DynamoDB refuses an expression longer than
   4 KB: "The maximum length of any expression string is 4 KB" (developer guide, Constraints, *Expression
   parameters*, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html); the local
   stack's proxy now refuses one as DynamoDB does (moto does not check it). RecordStore.mark_delivered names every
   callback it marks in one UpdateExpression (about 94 bytes each, `#callback_<16 hex>.#state = :published,
   #callback_<16 hex>.#resumedAt = :now`), so an ending sent to some 40 callbacks or more cannot be recorded: the run
   takes it as "published but not marked", and when the lease runs out the topic is published again and every
   callback sent again (refused as closed, then recorded gone, if that write fits at all). Fixed: the callbacks past
   records.CALLBACKS_PER_WRITE are marked in writes of their own.

2. A callback whose send's outcome is unknown across calls. botocore's standard mode retries a request whose answer
   was lost (ConnectionClosedError and ReadTimeoutError are HTTPClientErrors, retried by its
   TransientRetryableChecker: botocore/retries/standard.py), and clients.STATES allows two attempts. When both
   answers are lost, the call raises (errors.OutcomeUnknown) and the channel leaves the callback pending for a
   sweep (channels/callback.py: TRANSIENT). The sweep's new call is a first attempt (RetryAttempts 0), and Step
   Functions refuses it: a task token is closed by its first SendTaskSuccess ("The task token has either expired or
   the task associated with the token has already been closed": TaskTimedOut in botocore's stepfunctions model;
   moto answers InvalidToken). Commit 320e18f reads only a refusal of botocore's own resend as sent; this one is
   recorded gone and counted in CallbacksGone, for a workflow the tracker did resume. Fixed (branch cbchaos, found
   by the chaos day too): mark_delivered notes such a callback `unanswered` on its entry, and a later refusal of it
   is read as sent (tests/integration/test_callback_unanswered.py). A send whose recording failed ("published but
   not marked") cannot be remembered so, and stays ambiguous: Step Functions and Lambda answer "expired or already
   closed" alike.

3. botocore's RetryAttempts counts every retry, whatever made it: botocore/endpoint.py `_send_request` sets
   `ResponseMetadata.RetryAttempts = attempts - 1` on the final response, and standard mode retries throttling
   codes (ThrottlingException, TooManyRequestsException) and 5xx as well as lost answers. So a first attempt that
   was throttled (nothing taken) followed by a refusal of a task that really had timed out is read as sent by
   320e18f: counted in CallbacksResumed, not CallbacksGone, the record saying `published` for a workflow that was
   never resumed (it took its States.Timeout). Fixed: the Resumer notes, from botocore's needs-retry event, whether
   an attempt of the call lost its answer (ReadTimeoutError, ConnectionClosedError), and reads only such a refusal
   as sent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from localrun.aws_proxy import Fault
from localrun.clock import Clock
from localrun.stack import WAIT_FOR_JOB, LocalAws, Resources
from tests.helpers import PAST_THE_FLOOR, Invoke, arn, fail_on_the_wire, sqs_event
from tests.integration.test_callback_channel import SUCCESS, callback_states, resumed, waiting
from tests.integration.test_intake import record_of
from tests.integration.test_local_workflows import NOTIFICATION, ended, handed_over, resumer, start
from tracking import callbacks
from tracking.callbacks import CALLBACK_ID, TASK_TOKEN, Callback
from tracking.records import MAX_CALLBACKS, PUBLISHED, callback_key
from tracking.submissions import parse_submission
from tracking.telemetry import CALLBACKS_GONE, CALLBACKS_RESUMED


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    counted: list[str] = []
    monkeypatch.setattr(callbacks, "count", lambda name, value=1: counted.append(name))
    return counted


def test_a_job_with_as_many_callbacks_as_it_may_hold_is_notified_once_and_each_workflow_resumed_once(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock
) -> None:
    job = stack.simulator.add(arn("hundredcbk01"))
    ids = [stack.durable.open() for _ in range(MAX_CALLBACKS)]
    for first in range(0, MAX_CALLBACKS, 10):
        bodies = (waiting(job, callback_id) for callback_id in ids[first : first + 10])
        assert invoke(sqs_event(*bodies, ids=f"m{first}-")) == {"batchItemFailures": []}
    stack.simulator.end(job)

    notifications: list[dict[str, Any]] = []
    clock.advance(PAST_THE_FLOOR)
    invoke({})
    notifications += stack.notifications()
    for _ in range(3):  # the sweeps that follow, each past a lease
        clock.advance(600)
        invoke({})
        notifications += stack.notifications()

    assert len(notifications) == 1, f"the ending was published {len(notifications)} times"
    assert sorted(resumed(stack)[SUCCESS]) == sorted(ids)  # each workflow once
    assert set(callback_states(stack, resources, job).values()) == {PUBLISHED}
    assert "work" not in (record_of(stack, resources, job) or {})


def test_a_resume_whose_answers_were_all_lost_is_not_recorded_gone_when_a_sweep_finds_it_closed(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = _counted(monkeypatch)
    job = stack.simulator.add(arn("lostanswrs01"))
    execution = start(stack, resources, job)
    body = handed_over(stack, resources)
    token = body[TASK_TOKEN]
    assert invoke(sqs_event(json.dumps(body))) == {"batchItemFailures": []}
    stack.simulator.end(job)
    # Step Functions takes the first SendTaskSuccess; neither its answer nor the resend's arrives
    lost = stack.proxy.inject(Fault("states", "SendTaskSuccess", action="drop", times=2))

    clock.advance(PAST_THE_FLOOR)
    invoke({})
    assert lost.hits == 2
    assert ended(stack, execution)["status"] == "SUCCEEDED"  # resumed, by the first attempt
    assert len(stack.notifications()) == 1
    clock.advance(600)
    invoke({})  # the sweep that retries the callback left pending

    key = callback_key(Callback(TASK_TOKEN, token))
    assert callback_states(stack, resources, job) == {key: PUBLISHED}, "a resumed workflow recorded as gone"
    assert CALLBACKS_GONE not in counted


def test_a_throttled_first_attempt_then_a_task_that_had_timed_out_is_gone_not_resumed(
    stack: LocalAws, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = _counted(monkeypatch)
    definition = json.loads(WAIT_FOR_JOB.read_text().replace("${IntakeQueueUrl}", resources.queue_url))
    definition["States"]["WaitForJob"]["TimeoutSeconds"] = 1
    states = stack.client("stepfunctions")
    machine = states.create_state_machine(
        name=f"{resources.state_machine_arn.rsplit(':', 1)[-1]}-adv5",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/wait-for-job",
    )["stateMachineArn"]
    execution = states.start_execution(
        stateMachineArn=machine, input=json.dumps({"invocationArn": arn("timedoutjob1")})
    )
    callback = parse_submission(json.dumps(handed_over(stack, resources))).callback
    assert callback is not None
    described = ended(stack, execution["executionArn"])
    assert (described["status"], described.get("error")) == ("FAILED", "States.Timeout")  # never resumed
    throttled = fail_on_the_wire(stack, "states", "SendTaskSuccess", code="ThrottlingException", status=400)

    outcome: object
    try:
        outcome = resumer(stack).resume(callback, NOTIFICATION, "Completed")
    except callbacks.CallbackGone as exc:
        outcome = exc

    assert throttled.hits == 1
    assert stack.proxy.state.operations()["states:SendTaskSuccess"] == 2  # botocore retried the throttle
    assert isinstance(outcome, callbacks.CallbackGone), "a workflow that timed out reported resumed"
    assert CALLBACKS_GONE in counted
    assert CALLBACKS_RESUMED not in counted


def test_a_throttled_first_attempt_then_a_closed_durable_callback_is_gone_not_resumed(
    stack: LocalAws, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda's durable callback API alike: TooManyRequestsException is retried by botocore (RetryAttempts 1), and
    a callback already closed answers CallbackTimeoutException ("has either expired or the callback associated with
    the token has already been closed": the Lambda API reference, SendDurableExecutionCallbackSuccess)."""
    callback = Callback(CALLBACK_ID, stack.durable.open())
    resumer(stack).resume(callback, NOTIFICATION, "Completed")  # another ending's send closed it
    counted = _counted(monkeypatch)
    stack.durable.inject("TooManyRequestsException", status=429, times=1)

    with pytest.raises(callbacks.CallbackGone, match="CallbackTimeoutException"):
        resumer(stack).resume(callback, NOTIFICATION, "Completed")
    assert CALLBACKS_GONE in counted
    assert CALLBACKS_RESUMED not in counted
