"""A tracked invocation Bedrock stops knowing (an aged-out ARN answers ValidationException; there is no
ResourceNotFound) is not asked forever: past the overdue bound, after three such answers over ten minutes, the
tracker ends it Failed and `lost`, notifies that once, and asks no more."""

from __future__ import annotations

from types import ModuleType

import pytest

from localrun.clock import Clock
from localrun.lambda_driver import LambdaContext
from localrun.stack import LocalAws, Resources
from tests.helpers import arn, sqs_event
from tests.integration.test_metrics import emitted

INTERVAL = 300  # the template's MaxPollIntervalSeconds: a sweep asks at each forced check


def tracked_then_forgotten(stack: LocalAws, app: ModuleType, name: str) -> str:
    job = stack.simulator.add(arn(name), model_id="luma.ray-v2:0", seconds=6 * 3600)
    app.runtime.handle(sqs_event(job))
    stack.simulator.age_out(job)
    return job


def sweep_at_forced_checks(app: ModuleType, clock: Clock, sweeps: int) -> list[dict[str, int]]:
    """Sweeps through the handler (which prints the metrics), one at each forced check."""
    outcomes = []
    for _ in range(sweeps):
        clock.advance(INTERVAL + 1)
        outcomes.append(app.lambda_handler({}, LambdaContext(timeout=60, clock=clock))["outcomes"])
    return outcomes


def test_an_overdue_invocation_bedrock_no_longer_knows_is_ended_lost_and_notified_once(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    job = tracked_then_forgotten(stack, app, "agedout00001")
    clock.advance(3600)  # in progress for the overdue bound (OverdueMinutes, 60)

    outcomes = sweep_at_forced_checks(app, clock, 3)  # answers at 0, 5 and 10 minutes
    assert [outcome.get("unknown_to_bedrock", 0) for outcome in outcomes] == [1, 1, 0]
    assert outcomes[-1].get("notified") == 1

    (notification,) = stack.notifications()
    message = notification["message"]
    assert message["status"] == "Failed"
    assert message["lost"] is True
    assert message["failureMessage"].startswith("Bedrock no longer knows this invocation")
    assert message["modelArn"].endswith("/luma.ray-v2:0")
    assert notification["MessageAttributes"]["lost"] == {"Type": "String", "Value": "true"}
    assert notification["MessageAttributes"]["status"] == {"Type": "String", "Value": "Failed"}
    (event,) = stack.events()
    assert event["detail"]["lost"] is True
    record = app.runtime.tracker.records.get(job)
    assert record is not None
    assert (record["status"], record["lost"], record["forgottenAnswers"]) == ("Failed", True, 3)
    assert {"InvocationsLost", "InvocationsOverdue"} <= emitted(capsys.readouterr().out)

    asked = stack.simulator.asked.count(job)
    sweep_at_forced_checks(app, clock, 3)
    assert stack.simulator.asked.count(job) == asked  # asked no more
    assert stack.notifications() == []


def test_an_invocation_bedrock_does_not_know_is_not_ended_before_it_is_overdue(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    job = tracked_then_forgotten(stack, app, "agedout00002")

    outcomes = sweep_at_forced_checks(app, clock, 8)  # 40 minutes of answers, under the 60-minute bound

    assert all(outcome == {"unknown_to_bedrock": 1} for outcome in outcomes)
    assert stack.notifications() == []
    record = app.runtime.tracker.records.get(job)
    assert record is not None
    assert (record["status"], record["forgottenAnswers"]) == ("InProgress", 8)


def test_a_few_answers_in_a_moment_do_not_end_an_overdue_invocation(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """Three answers within ten minutes are not enough: Bedrock must say so over some minutes."""
    job = tracked_then_forgotten(stack, app, "agedout00003")
    clock.advance(3600)
    sweep_at_forced_checks(app, clock, 2)  # answers at 0 and 5 minutes
    clock.advance(60)
    app.runtime.handle(sqs_event(job))  # resubmitted: a new submission Bedrock does not know is refused, not counted

    assert stack.notifications() == []
    record = app.runtime.tracker.records.get(job)
    assert record is not None
    assert (record["status"], record["forgottenAnswers"]) == ("InProgress", 2)
