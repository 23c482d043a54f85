"""The callback channel (issue 21) on the local stack: each workflow waiting on a job resumed once per ending under
the same lease as the topic and the bus, its state in the record; durable functions' callbacks reach the stand-in
of Lambda's callback API (localrun/durable_callbacks.py), which checks each request against botocore's model."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import PAST_THE_FLOOR, Invoke, LogLines, answer, arn, sqs_event
from tests.integration.test_metrics import emitted
from tests.integration.test_sweep import record_of
from tracking import records
from tracking.callbacks import CALLBACK_ID, FAILED_ERROR, TASK_TOKEN, Callback
from tracking.errors import TooManyCallbacks
from tracking.invocations import Invocation
from tracking.records import CALLBACKS, GONE, MAX_CALLBACKS, PUBLISHED, RecordStore, callback_key
from tracking.telemetry import CALLBACKS_GONE

SUCCESS = "SendDurableExecutionCallbackSuccess"


def waiting(job: str, callback_id: str, **more: Any) -> str:
    return json.dumps({"invocationArn": job, CALLBACK_ID: callback_id, **more})


def resumed(stack: LocalAws) -> dict[str, list[str]]:
    """The callback ids the stand-in took, by operation."""
    taken: dict[str, list[str]] = {}
    for call in stack.durable.received:
        taken.setdefault(call.operation, []).append(call.callback_id)
    return taken


def callback_states(stack: LocalAws, resources: Resources, job: str) -> dict[str, str]:
    record = record_of(stack, resources, job)
    assert record is not None
    return {name: value["state"] for name, value in record.items() if name.startswith(records.CALLBACK_PREFIX)}


def test_several_submissions_of_one_job_with_different_callbacks_resume_each_once(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock
) -> None:
    job = stack.simulator.add(arn("manycallbk01"))
    ids = [stack.durable.open() for _ in range(3)]
    response = invoke(sqs_event(*(waiting(job, callback_id) for callback_id in ids), waiting(job, ids[0])))
    assert response == {"batchItemFailures": []}
    assert resumed(stack) == {}  # nothing ended yet

    stack.simulator.end(job)
    clock.advance(PAST_THE_FLOOR)
    assert invoke({})["outcomes"] == {"notified": 1}

    (notification,) = stack.notifications()
    assert sorted(resumed(stack)[SUCCESS]) == sorted(ids)  # each once: the resubmission kept one
    for call in stack.durable.received:
        assert json.loads(call.result or b"") == notification["message"]
    assert set(callback_states(stack, resources, job).values()) == {PUBLISHED}
    record = record_of(stack, resources, job)
    assert record is not None
    assert "work" not in record  # every channel done, in one write
    clock.advance(600)
    invoke({})
    assert len(stack.durable.received) == 3
    assert stack.notifications() == []


def test_a_job_that_ended_and_was_notified_resumes_a_late_workflow_at_once_and_notifies_nobody_again(
    stack: LocalAws, resources: Resources, invoke: Invoke
) -> None:
    job = stack.simulator.add(arn("latecallbk01"))
    stack.simulator.end(job, failed=True, message="The video was blocked by a filter.")
    invoke(sqs_event(job))
    assert len(stack.notifications()) == 1
    assert "work" not in (record_of(stack, resources, job) or {})

    late = stack.durable.open()
    assert invoke(sqs_event(waiting(job, late))) == {"batchItemFailures": []}

    (call,) = stack.durable.received  # in that same run: no sweep, no timer
    assert (call.operation, call.callback_id) == ("SendDurableExecutionCallbackFailure", late)
    assert call.error is not None
    assert (call.error["ErrorType"], call.error["ErrorMessage"]) == (FAILED_ERROR, "The video was blocked by a filter.")
    assert stack.notifications() == []  # the topic and the bus are not sent again
    assert len(stack.events()) == 1
    record = record_of(stack, resources, job)
    assert record is not None
    assert "work" not in record  # done again,
    assert "expiresAt" in record  # its retention running
    assert callback_states(stack, resources, job) == {callback_key(Callback(CALLBACK_ID, late)): PUBLISHED}
    invoke(sqs_event(waiting(job, late)))  # the same callback again: harmless
    assert len(stack.durable.received) == 1


def test_a_transient_refusal_is_retried_by_the_next_sweep_and_no_other_channel_is_sent_again(
    stack: LocalAws, resources: Resources, invoke: Invoke, clock: Clock
) -> None:
    job = stack.simulator.add(arn("busycallbk01"))
    stack.simulator.end(job)
    callback_id = stack.durable.open()
    stack.durable.inject("TooManyRequestsException", status=429, times=2)  # both attempts the client makes

    assert invoke(sqs_event(waiting(job, callback_id))) == {"batchItemFailures": []}  # tracked all the same
    assert stack.durable.received == []
    record = record_of(stack, resources, job)
    assert record is not None
    assert (record["notification"], record["work"]) == ("published", "notify")
    assert list(callback_states(stack, resources, job).values()) == ["pending"]

    clock.advance(60)
    assert invoke({})["outcomes"] == {"notified": 1}
    assert resumed(stack) == {SUCCESS: [callback_id]}
    assert len(stack.notifications()) == 1
    assert len(stack.events()) == 1


def test_a_callback_that_can_never_be_resumed_is_recorded_gone_counted_and_never_retried(
    stack: LocalAws,
    resources: Resources,
    invoke: Invoke,
    clock: Clock,
    logs: LogLines,
    capsys: pytest.CaptureFixture[str],
) -> None:
    job = stack.simulator.add(arn("gonecallbk01"))
    stack.simulator.end(job)
    never_opened = base64.b64encode(b"an execution long gone").decode()  # Lambda knows no such id
    capsys.readouterr()

    assert invoke(sqs_event(waiting(job, never_opened))) == {"batchItemFailures": []}

    assert [code for code, _ in stack.durable.refused] == ["ResourceNotFoundException"]
    assert logs.where(message="callback can never be resumed; recorded as gone, not retried")
    assert CALLBACKS_GONE in emitted(capsys.readouterr().out)
    assert list(callback_states(stack, resources, job).values()) == [GONE]
    record = record_of(stack, resources, job)
    assert record is not None
    assert "work" not in record  # not a failure of the ending: done
    for _ in range(3):
        clock.advance(600)
        invoke({})
    assert len(stack.durable.refused) == 1
    assert len(stack.notifications()) == 1


def test_a_submission_past_the_bound_fails_alone_with_its_reason(
    stack: LocalAws, resources: Resources, invoke: Invoke, logs: LogLines, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(records, "MAX_CALLBACKS", 2)
    running, ended = stack.simulator.add(arn("boundcallb01")), stack.simulator.add(arn("boundcallb02"))
    stack.simulator.end(ended)
    for job in (running, ended):
        assert invoke(sqs_event(waiting(job, stack.durable.open()), waiting(job, stack.durable.open()))) == {
            "batchItemFailures": []
        }
        response = invoke(sqs_event(waiting(job, stack.durable.open()), job, ids=f"{job[-2:]}-"))
        assert response == {"batchItemFailures": [{"itemIdentifier": f"{job[-2:]}-0"}]}  # the other goes through
        (line,) = logs.where(message="submission not tracked", messageId=f"{job[-2:]}-0")
        assert line["kind"] == "too_many_callbacks"
        assert len(callback_states(stack, resources, job)) == 2
    # The ended job's two: one resumed at once; the other at once too, or, where the two messages of one batch raced
    # (one run held the ending's lease while the other added its callback), by the claim of the ending left due.
    invoke({})
    assert len(stack.durable.received) == 2


def test_the_bound_is_what_a_dynamodb_item_holds_with_the_longest_tokens_and_context(
    stack: LocalAws, resources: Resources
) -> None:
    """MAX_CALLBACKS task tokens of 2,048 characters, beside a 4 KiB context and a 2,048-character failure message,
    fit in one item (moto refuses items over 400 KB, as DynamoDB does); one more is refused as too many."""
    store = RecordStore(resources.table_name, stack.client("dynamodb"), retention=timedelta(days=14))
    job = arn("boundsizes01")
    invocation = Invocation.from_answer(
        job, answer(job, outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://" + "b" * 1000}})
    )
    now = datetime.now(UTC)
    context = {"note": "x" * 4000}
    for number in range(MAX_CALLBACKS):
        token = f"{number:04d}" + "t" * 2044
        store.observe(
            invocation,
            now=now,
            context=context,
            next_check_at=now,
            lease_until=now,
            callback=Callback(TASK_TOKEN, token),
        )
    with pytest.raises(TooManyCallbacks):
        store.observe(
            invocation, now=now, next_check_at=now, lease_until=now, callback=Callback(TASK_TOKEN, "t" * 2048)
        )
    failed = Invocation.from_answer(
        job,
        answer(
            job, status="Failed", failureMessage="f" * 2048, endTime=now, outputDataConfig=invocation.output_data_config
        ),
    )
    observation = store.observe(failed, now=now, next_check_at=now, lease_until=now)
    assert observation.ended_now
    assert observation.record is not None
    assert len(observation.record.callbacks) == MAX_CALLBACKS
    assert len(store.get(job)[CALLBACKS]) == MAX_CALLBACKS  # type: ignore[index]


def test_a_callback_added_while_another_run_sends_the_ending_is_sent_by_the_next_claim(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """Run A recorded the ending and holds its lease; a late callback comes (run B): B cannot take the lease, so it
    leaves the callback pending. A's finishing write counts the callbacks, sees one it did not send, and leaves the
    ending due at once (its timer asks for it); whoever claims it next sends that one, and nothing else again."""
    tracker = app.runtime.tracker
    job = stack.simulator.add(arn("racecallbk01"))
    stack.simulator.end(job)
    deadline = clock() + timedelta(seconds=60)
    invocation = tracker.bedrock.get(tracker_arn(job))
    observation = tracker.records.observe(
        invocation, now=clock(), next_check_at=clock(), lease_until=deadline + timedelta(seconds=30)
    )
    assert observation.ended_now  # run A holds the lease
    late = stack.durable.open()
    assert tracker.records.add_callback(job, Callback(CALLBACK_ID, late), now=clock(), lease_until=deadline) is None

    assert tracker._publish(observation.record, deadline).value == "notified"  # run A, with the record it read
    record = record_of(stack, resources, job)
    assert record is not None
    assert (record["notification"], record["work"], int(record["dueAt"])) == (
        "published",
        "notify",
        int(clock().timestamp()),
    )
    assert stack.durable.received == []

    assert tracker.retry_notification(job, deadline=deadline).value == "notified"  # the timer, or the next sweep
    assert resumed(stack) == {SUCCESS: [late]}
    assert len(stack.notifications()) == 1
    assert "work" not in (record_of(stack, resources, job) or {})


def tracker_arn(job: str) -> Any:
    from tracking.invocations import InvocationArn

    return InvocationArn.parse(job)
