"""adv4: breaks of the `lost` ending (a tracked invocation Bedrock answers ValidationException for)."""

from __future__ import annotations

from types import ModuleType

from bedrock_simulator.simulator import Fault
from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import arn, sqs_event
from tests.integration.test_lost_invocations import sweep_at_forced_checks


def test_validation_answers_between_which_bedrock_knows_the_job_do_not_end_it_as_lost(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """GetAsyncInvoke's ValidationException is Bedrock Runtime's generic 400, "The input fails to satisfy the
    constraints specified by Amazon Bedrock" (botocore's BedrockRuntime.Client.exceptions.ValidationException;
    the API reference lists only AccessDenied, InternalServer, Throttling and ValidationException for it): it is not
    a code that says "this ARN is gone", and an ARN Bedrock has aged out never answers InProgress again. The lost
    rule (3 answers over 10 minutes, past OverdueMinutes) is meant as "Bedrock has kept saying so"; but the counters
    are cumulative over the job's whole life. Here Bedrock answers ValidationException once, then InProgress for an
    hour, once more, InProgress again, once more: the job, still running at Bedrock, is ended Failed/lost, and
    notified so; its real Completed later is never told."""
    job = stack.simulator.add(arn("flaky0000001"), model_id="luma.ray-v2:0", seconds=6 * 3600)
    app.runtime.handle(sqs_event(job))
    clock.advance(3600)  # overdue (OverdueMinutes, 60): a long Ray2 job at a busy time
    for _ in range(3):
        stack.simulator.inject("GetAsyncInvoke", Fault(code="ValidationException", count=1))
        sweep_at_forced_checks(app, clock, 1)  # one odd answer...
        stack.simulator.clear_faults()
        outcomes = sweep_at_forced_checks(app, clock, 12)  # ...then an hour in which Bedrock knows it
        assert all("unknown_to_bedrock" not in outcome for outcome in outcomes)

    assert stack.notifications() == []  # Bedrock has the job InProgress: nothing ended
    record = app.runtime.tracker.records.get(job)
    assert record is not None
    assert record["status"] == "InProgress"
