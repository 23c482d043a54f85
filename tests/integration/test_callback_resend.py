"""A resume whose answer was lost, resent by botocore (clients.STATES allows two attempts), on the local stack where
moto runs the README's state machine for real.

Step Functions closes a task token on its first SendTaskSuccess and answers every later one with `TaskTimedOut`
("The task token has either expired or the task associated with the token has already been closed": botocore's
stepfunctions 2016-11-23 model, shape TaskTimedOut). botocore's standard retry mode resends a request whose
connection closed before the answer (ConnectionClosedError is one of its retryable connection errors). So when the
first attempt's answer is lost, the resend finds the token closed by that very attempt. The README (Wait for it,
*Refusals*) promises that a callback "that can never succeed" is recorded as gone and counted in `CallbacksGone`;
this one did succeed. (moto answers the resend `InvalidToken`, Step Functions `TaskTimedOut`: both are "gone".)

The tracker reads a refusal after an attempt whose answer was lost (botocore's `needs-retry` event, told of the
ConnectionClosedError) as "closed, most likely by that attempt": counted as sent, not in CallbacksGone, never sent
again. A refusal of a first attempt, or of a retry after a throttle, is still gone (test_local_workflows.py,
test_adv5_callbacks.py).
"""

from __future__ import annotations

import json

import pytest

from localrun.aws_proxy import Fault
from localrun.stack import LocalAws, Resources
from tests.integration.test_local_workflows import NOTIFICATION, ended, handed_over, resumer, start
from tracking import callbacks
from tracking.submissions import parse_submission
from tracking.telemetry import CALLBACKS_GONE


def test_a_resume_whose_answer_was_lost_is_not_reported_gone(
    stack: LocalAws, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[str] = []
    monkeypatch.setattr(callbacks, "count", lambda name, value=1: counted.append(name))
    execution = start(stack, resources)
    callback = parse_submission(json.dumps(handed_over(stack, resources))).callback
    assert callback is not None
    # Step Functions takes the first SendTaskSuccess; its answer never arrives (the connection closes)
    lost = stack.proxy.inject(Fault("states", "SendTaskSuccess", action="drop", times=1))

    outcome: object
    try:
        outcome = resumer(stack).resume(callback, NOTIFICATION, "Completed")
    except callbacks.CallbackGone as exc:
        outcome = exc

    assert lost.hits == 1
    assert stack.proxy.state.operations()["states:SendTaskSuccess"] == 2  # botocore resent it
    assert ended(stack, execution)["status"] == "SUCCEEDED"  # the workflow was resumed, by the first attempt
    assert not isinstance(outcome, callbacks.CallbackGone), "a resumed workflow reported as gone"
    assert outcome == callback.fingerprint  # sent: the channel records it so, and never sends it again
    assert CALLBACKS_GONE not in counted
