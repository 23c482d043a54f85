"""Hand-offs keep the polling bound whatever happens to them: a check a run of the checks queue could not make fails
neither its neighbours nor the bound (handed on once, then left to the next sweep by marking sweeps incomplete from
the handing sweep's start), and each message is what one run can check at the sweep's measured pace."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from types import ModuleType
from typing import Any

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import arn, patient_session, sqs_event
from tests.integration.test_adaptive_polling import UNHEARD, teach
from tracking import clients
from tracking.runtime import Runtime


def handoff_event(resources: Resources, arns: list[str], *, since: datetime, again: bool = False) -> dict[str, Any]:
    body = {"check": arns, "reason": "handoff", "since": int(since.timestamp()), **({"again": True} if again else {})}
    event = sqs_event(json.dumps(body))
    for record in event["Records"]:
        record["eventSourceARN"] = resources.checks_queue_arn
    return event


def checks_queue(stack: LocalAws, resources: Resources) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    bodies = []
    while messages := sqs.receive_message(QueueUrl=resources.checks_queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=resources.checks_queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def one_at_a_time(app: ModuleType, clock: Clock) -> Runtime:
    return Runtime.build(replace(app.runtime.settings, concurrency=1), clock=clock, session=patient_session())


def test_a_throttled_check_in_a_hand_off_fails_neither_its_neighbours_nor_the_message_it_is_handed_on(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    from bedrock_simulator import Fault

    runtime = one_at_a_time(app, clock)
    jobs = [stack.simulator.add(arn(f"handedoff{i:03d}"), seconds=3600, output_uri=UNHEARD) for i in range(3)]
    runtime.handle(sqs_event(*jobs))
    checks_queue(stack, resources)
    stack.simulator.inject("GetAsyncInvoke", Fault(code="ThrottlingException", count=clients.BEDROCK.attempts))
    calls = stack.simulator.calls["GetAsyncInvoke"]

    assert runtime.handle(handoff_event(resources, jobs, since=clock())) == {"batchItemFailures": []}

    assert stack.simulator.calls["GetAsyncInvoke"] == calls + clients.BEDROCK.attempts + 2  # the neighbours asked
    (handed_on,) = checks_queue(stack, resources)
    assert handed_on["check"] == [jobs[0]]
    assert handed_on["again"] is True


def test_a_check_handed_on_that_fails_again_leaves_its_forced_check_to_the_next_sweep(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """The sweep at 300 s handed the job's forced check off; it failed twice. The next sweep makes it (the issue saw
    it wait for the forced check after, 600 s without a check against a 360 s bound)."""
    from bedrock_simulator import Fault

    runtime = one_at_a_time(app, clock)
    teach(runtime, 900)
    job = stack.simulator.add(arn("handedagain1"), seconds=3600, output_uri=UNHEARD)
    runtime.handle(sqs_event(job))  # its first forced check at 300 s of age
    clock.advance(240)
    assert runtime.handle({})["outcomes"] == {}  # a complete sweep, nothing due
    handing_since = clock()
    clock.advance(60)
    runtime.sweep.since = clock()  # as if the sweep at 300 s were complete, having handed the check off
    runtime.tracker.records.mark_sweep_complete_at(clock())
    stack.simulator.inject("GetAsyncInvoke", Fault(code="ThrottlingException", count=clients.BEDROCK.attempts))

    event = handoff_event(resources, [job], since=handing_since, again=True)
    assert runtime.handle(event) == {"batchItemFailures": []}
    assert checks_queue(stack, resources) == []
    clock.advance(60)
    calls = stack.simulator.calls["GetAsyncInvoke"]

    assert runtime.handle({})["outcomes"] == {"in_progress": 1}
    assert stack.simulator.calls["GetAsyncInvoke"] == calls + 1


def test_hand_off_messages_are_what_one_run_of_the_checks_queue_can_check_at_the_measured_pace(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """At 100 s a check, a run of 60 s starts checks for 23 s: not even one a message of a batch of ten. Each
    message carries one ARN (at least one), not a fixed hundred that no run could finish."""
    runtime = app.runtime
    jobs = [stack.simulator.add(arn(f"paced{i:07d}"), seconds=3600, output_uri=UNHEARD) for i in range(5)]
    runtime.handle(sqs_event(*jobs))
    checks_queue(stack, resources)
    clock.advance(310)
    runtime.sweep.pace.seconds_per_check = 100.0

    assert runtime.handle({})["outcomes"] == {"handed_off": 5}

    bodies = checks_queue(stack, resources)
    assert [len(body["check"]) for body in bodies] == [1] * 5
    assert sorted(arn for body in bodies for arn in body["check"]) == sorted(jobs)
