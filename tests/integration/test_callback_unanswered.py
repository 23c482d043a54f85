"""A callback whose call had no answer at all (botocore's two attempts both lost: the first took effect), on the
local stack where moto runs the README's state machine for real. Found by the chaos day (chaos/FOUND.md): the
call's outcome is unknown, so the callback stays pending and a sweep sends it again; Step Functions then refuses it
(the token was closed by that first attempt), and the tracker recorded the workflow it had resumed as `gone` and
counted it in `CallbacksGone`, the metric of workflows that can never be resumed.

The same when the first attempt's answer was lost and botocore's resend was throttled (or answered 5xx): the call
fails as a throttle, yet its first attempt resumed the workflow.

A refusal that follows a send that may have gone to the same callback (an attempt's answer lost) proves nothing
gone: the callback counts as sent (recorded `published`, counted in `CallbacksResumed`), as a refusal of
botocore's own resend does."""

from __future__ import annotations

import json

import pytest

from localrun.aws_proxy import Fault
from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import PAST_THE_FLOOR, Invoke, arn, sqs_event
from tests.integration.test_callback_channel import callback_states
from tests.integration.test_local_workflows import ended, handed_over, start
from tests.integration.test_metrics import emitted
from tracking import telemetry
from tracking.records import PUBLISHED
from tracking.telemetry import CALLBACKS_GONE, CALLBACKS_RESUMED


@pytest.mark.parametrize(
    "resend",
    [
        Fault("states", "SendTaskSuccess", action="drop"),  # refused as closed, its answer lost too
        Fault("states", "SendTaskSuccess", code="ThrottlingException", status=400),
        Fault("states", "SendTaskSuccess", code="ServiceUnavailable", status=503),
    ],
    ids=["resend-unanswered", "resend-throttled", "resend-5xx"],
)
def test_a_callback_resumed_by_a_call_that_failed_after_it_took_effect_is_not_recorded_gone_when_resent(
    stack: LocalAws,
    resources: Resources,
    invoke: Invoke,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
    resend: Fault,
) -> None:
    job = stack.simulator.add(arn("unanswered01"))
    execution = start(stack, resources, job)
    submission = handed_over(stack, resources)
    assert submission["invocationArn"] == job
    stack.simulator.end(job)
    clock.advance(PAST_THE_FLOOR)
    # Step Functions takes the first SendTaskSuccess, its answer lost; botocore's resend fails as `resend` says
    lost = stack.proxy.inject(Fault("states", "SendTaskSuccess", action="drop", times=1))
    resent = stack.proxy.inject(resend)
    telemetry.metrics.clear_metrics()  # none left over from a test that counted outside a handler
    capsys.readouterr()

    assert invoke(sqs_event(json.dumps(submission))) == {"batchItemFailures": []}
    assert (lost.hits, resent.hits) == (1, 1)
    assert ended(stack, execution)["status"] == "SUCCEEDED"  # resumed, by the first attempt
    assert list(callback_states(stack, resources, job).values()) == ["pending"]  # its outcome unknown: sent again

    clock.advance(600)
    invoke({})  # a sweep sends it again: Step Functions refuses the closed token
    assert stack.proxy.state.operations()["states:SendTaskSuccess"] == 3

    assert list(callback_states(stack, resources, job).values()) == [PUBLISHED]
    metrics = emitted(capsys.readouterr().out)
    assert CALLBACKS_GONE not in metrics
    assert CALLBACKS_RESUMED in metrics
    assert len(stack.notifications()) == 1
