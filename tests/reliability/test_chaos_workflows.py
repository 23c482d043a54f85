"""The chaos day's simulated Step Functions and durable-callback service (chaos/workflows.py) behaves as the
function's real clients would see AWS behave: what the checker's promises about callbacks rest on."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from chaos.faults import Rates
from chaos.trail import Trail
from chaos.workflows import SUCCEEDED, TIMED_OUT, Workflows
from localrun.clock import Clock
from tracking.callbacks import CALLBACK_ID, TASK_TOKEN, Callback, Resumer
from tracking.clients import DeadlineGuard
from tracking.errors import CallbackGone, OutcomeUnknown, OutOfTime, Throttled, classify

START = datetime(2026, 1, 1, tzinfo=UTC)
ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghijkl"


def service(**rates: float) -> tuple[Workflows, Clock]:
    clock = Clock(START)
    chosen = Rates.off().with_changes(rates)
    return Workflows(clock, random.Random(1), rates=chosen, trail=Trail(START), spend=lambda: clock.advance(0.02),
                     sleep=clock.advance), clock  # fmt: skip


def guard(clock: Clock) -> DeadlineGuard:
    return DeadlineGuard(clock)


@pytest.mark.parametrize(("kind", "code"), [(TASK_TOKEN, "TaskTimedOut"), (CALLBACK_ID, "CallbackTimeoutException")])
def test_a_callback_closes_on_its_first_success_and_refuses_every_later_call(kind: str, code: str) -> None:
    workflows, clock = service()
    waiting = workflows.wait(kind, ARN, None)
    states: Any = workflows.client(TASK_TOKEN, guard(clock))
    durable: Any = workflows.client(CALLBACK_ID, guard(clock))
    resumer = Resumer(states, durable)
    callback = Callback(kind, waiting.token)
    resumer.resume(callback, {"invocationArn": ARN, "status": "Completed"}, "Completed")
    assert waiting.state == SUCCEEDED
    with pytest.raises(CallbackGone) as refused:
        resumer.resume(callback, {"invocationArn": ARN, "status": "Completed"}, "Completed")
    cause: Any = refused.value.__cause__
    assert isinstance(cause, ClientError)
    assert cause.response["Error"]["Code"] == code
    assert cause.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_a_task_timed_out_answers_as_closed() -> None:
    workflows, clock = service()
    waiting = workflows.wait(TASK_TOKEN, ARN, START + timedelta(seconds=10))
    clock.advance(11)
    client: Any = workflows.client(TASK_TOKEN, guard(clock))
    with pytest.raises(ClientError) as refused:
        client.send_task_success(taskToken=waiting.token, output="{}")
    assert refused.value.response["Error"]["Code"] == "TaskTimedOut"
    assert waiting.state == TIMED_OUT


def test_a_lost_answer_is_resent_as_botocore_does_and_the_resend_is_refused_as_closed() -> None:
    workflows, clock = service(callback_unanswered=1.0)
    waiting = workflows.wait(TASK_TOKEN, ARN, None)
    client: Any = workflows.client(TASK_TOKEN, guard(clock))
    with pytest.raises(ReadTimeoutError) as lost:
        client.send_task_success(taskToken=waiting.token, output="{}")
    assert isinstance(classify(lost.value), OutcomeUnknown)
    assert waiting.state == SUCCEEDED  # the first attempt took effect
    assert [(a.attempt, a.fate, a.answered) for a in waiting.attempts] == [(0, "took", False), (1, "closed", False)]
    assert waiting.unsettled == 1


def test_a_throttle_is_resent_once_and_the_final_error_carries_retry_attempts() -> None:
    workflows, clock = service(callback_throttles=1.0)
    waiting = workflows.wait(CALLBACK_ID, ARN, None)
    client: Any = workflows.client(CALLBACK_ID, guard(clock))
    with pytest.raises(ClientError) as throttled:
        client.send_durable_execution_callback_success(CallbackId=waiting.token, Result=b"{}")
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert throttled.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert not waiting.state
    assert len(waiting.attempts) == 2


def test_the_deadline_guard_refuses_a_call_whose_worst_case_would_pass_the_deadline() -> None:
    workflows, clock = service()
    waiting = workflows.wait(TASK_TOKEN, ARN, None)
    watch = guard(clock)
    watch.deadline = clock() + timedelta(seconds=1)
    client: Any = workflows.client(TASK_TOKEN, watch)
    with pytest.raises(OutOfTime):
        client.send_task_success(taskToken=waiting.token, output="{}")
    assert waiting.attempts == []


def test_the_resumer_hears_of_a_lost_answer_through_the_clients_events_as_from_botocore() -> None:
    lossy, clock = service(callback_unanswered=1.0)
    states: Any = lossy.client(TASK_TOKEN, guard(clock))
    durable: Any = lossy.client(CALLBACK_ID, guard(clock))
    resumer = Resumer(states, durable)
    callback = Callback(TASK_TOKEN, lossy.wait(TASK_TOKEN, ARN, None).token)
    with pytest.raises(OutcomeUnknown):
        resumer.resume(callback, {"invocationArn": ARN, "status": "Completed"}, "Completed")
    assert resumer.may_have_resumed(Throttled("a later error of the same call"))

    throttled, clock = service(callback_throttles=1.0)
    states = throttled.client(TASK_TOKEN, guard(clock))
    durable = throttled.client(CALLBACK_ID, guard(clock))
    resumer = Resumer(states, durable)
    callback = Callback(TASK_TOKEN, throttled.wait(TASK_TOKEN, ARN, None).token)
    with pytest.raises(Throttled) as refused:
        resumer.resume(callback, {"invocationArn": ARN, "status": "Completed"}, "Completed")
    assert not resumer.may_have_resumed(refused.value)  # a throttle's resend took nothing
