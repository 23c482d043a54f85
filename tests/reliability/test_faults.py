"""Faults, and the contract's invariants after each: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bedrock_simulator import Fault as BedrockFault
from localrun.aws_proxy import Fault
from tests.helpers import PAST_THE_FLOOR, PATIENT_READ_TIMEOUT, fail_on_the_wire, sqs_event
from tests.reliability.conftest import Waves, World, crash_once, fail_write, hook
from tracking import clients
from tracking.errors import OutcomeUnknown
from tracking.invocations import InvocationArn

ROOT = Path(__file__).resolve().parents[2]
LEASE_RUNS_OUT = 200  # seconds: past a run's deadline (60 s) and the lease margin (30 s)


# -- Bedrock ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServerException"])
def test_bedrock_errors_longer_than_the_sdks_retries_at_intake_keep_the_message(world: World, code: str) -> None:
    (job,) = world.start(1, "bdrk")
    world.stack.simulator.end(job)
    world.stack.simulator.inject(
        "GetAsyncInvoke", BedrockFault(code=code, count=clients.BEDROCK.attempts)
    )  # all of the SDK's attempts
    runtime = world.environment()
    world.send(job)

    assert world.deliver(runtime) == {"received": 1, "failed": 1}
    world.assert_invariants(world.notifications(), ended=[])  # not tracked, but still in the queue

    _redelivered(world)
    assert world.deliver(runtime)["failed"] == 0
    world.assert_invariants(world.notifications(), ended=[job])


def _redelivered(world: World) -> None:
    """The visibility timeout passes (SQS counts it in real time: the test says when, not the machine's speed)."""
    world.redeliver()


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServerException"])
def test_bedrock_errors_during_a_sweep_leave_the_invocation_due(world: World, code: str) -> None:
    jobs, runtime = world.tracked_then_ended(3, "swpb")
    world.stack.simulator.inject("GetAsyncInvoke", BedrockFault(code=code, count=12))

    report = world.sweep(runtime)
    assert sum(report["errors"].values()) == 3
    assert world.notifications() == {}

    world.sweep(runtime)
    world.assert_invariants(world.notifications(), ended=jobs)


def test_slow_bedrock_answers_past_the_read_timeout_are_transient_and_nothing_is_lost(world: World) -> None:
    """The production client: every attempt waits out its read timeout, then the message is reported."""
    (job,) = world.start(1, "slow")
    world.stack.simulator.end(job)
    runtime = world.environment()
    world.stack.simulator.inject("GetAsyncInvoke", BedrockFault(latency=clients.BEDROCK.read_timeout + 0.5))
    world.send(job)

    assert world.deliver(runtime) == {"received": 1, "failed": 1}
    assert world.stack.simulator.calls["GetAsyncInvoke"] == clients.BEDROCK.attempts

    world.stack.simulator.clear_faults()
    _redelivered(world)
    assert world.deliver(runtime)["failed"] == 0
    world.assert_invariants(world.notifications(), ended=[job])


def test_one_messages_calls_at_their_worst_take_no_longer_than_the_budget_that_starts_it(world: World) -> None:
    """Every attempt of the Bedrock call and of the record's write times out, on the wire, with the production
    clients and botocore's own retries: each call ends within its worst case, and together within TRACK, the time a
    message must have left to be started, itself within the function's timeout."""
    import time

    from localrun import template

    runtime = world.environment()
    (job,) = world.start(1, "worst")
    world.stack.simulator.inject("GetAsyncInvoke", BedrockFault(latency=clients.BEDROCK.read_timeout + 0.5))
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown):
        runtime.tracker.bedrock.get(InvocationArn.parse(job))
    bedrock = time.monotonic() - started
    world.stack.simulator.clear_faults()
    world.stack.proxy.inject(
        Fault("dynamodb", "UpdateItem", action="slow", seconds=clients.DYNAMODB.read_timeout + 0.5, times=10)
    )
    invocation = runtime.tracker.bedrock.get(InvocationArn.parse(job))
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown):
        runtime.tracker.records.observe(
            invocation, now=world.clock(), next_check_at=world.clock(), lease_until=world.clock()
        )
    dynamodb = time.monotonic() - started

    assert world.stack.simulator.calls["GetAsyncInvoke"] == clients.BEDROCK.attempts + 1
    assert world.stack.proxy.state.operations()["dynamodb:UpdateItem"] == clients.DYNAMODB.attempts
    assert bedrock <= clients.BEDROCK.worst_case.total_seconds()
    assert dynamodb <= clients.DYNAMODB.worst_case.total_seconds()
    assert bedrock + dynamodb <= clients.TRACK.total_seconds() <= template.function_settings()["timeout"]


# -- DynamoDB --------------------------------------------------------------------------------------------


def test_record_write_failing_at_intake_keeps_the_message(world: World) -> None:
    (job,) = world.start(1, "ddbo")
    runtime = world.environment()
    failed = fail_write(world, "observe", times=1)
    world.send(job)

    assert world.deliver(runtime) == {"received": 1, "failed": 1}
    assert failed.hits == clients.DYNAMODB.attempts  # the SDK's retries ran, against the refusals
    assert world.record(job) is None

    _redelivered(world)
    assert world.deliver(runtime)["failed"] == 0
    world.stack.simulator.end(job)
    world.clock.advance(PAST_THE_FLOOR)
    world.sweep(runtime)
    world.assert_invariants(world.notifications(), ended=[job])


def test_record_write_failing_during_a_sweep_leaves_the_ending_to_the_next(world: World) -> None:
    (job,), runtime = world.tracked_then_ended(1, "ddbs")
    fail_write(world, "observe", times=1)

    assert world.sweep(runtime)["errors"] == {"throttled": 1}
    assert world.notifications() == {}
    world.sweep(runtime)
    world.assert_invariants(world.notifications(), ended=[job])


def test_claim_failing_leaves_the_notification_pending_for_the_next_sweep(world: World) -> None:
    (job,), runtime = world.tracked_then_ended(1, "ddbc")
    failed_publish = _fail_publish(world, times=1)
    world.sweep(runtime)  # ends, publish fails, released: pending and due
    assert failed_publish.hits == 1
    fail_write(world, "claim", times=1)

    assert world.sweep(runtime)["errors"] == {"throttled": 1}
    assert world.notifications() == {}
    world.sweep(runtime)
    world.assert_invariants(world.notifications(), ended=[job])


def test_release_failing_after_a_failed_publish_is_retried_once_the_lease_runs_out(world: World) -> None:
    (job,), runtime = world.tracked_then_ended(1, "ddbr")
    _fail_publish(world, times=1)
    fail_write(world, "release", times=1)

    world.sweep(runtime)
    world.sweep(runtime)  # the lease still holds: nobody publishes
    assert world.notifications() == {}
    world.clock.advance(LEASE_RUNS_OUT)
    world.sweep(runtime)
    world.assert_invariants(world.notifications(), ended=[job])


def test_publish_succeeded_but_its_bookkeeping_failed_on_a_fifo_topic_is_delivered_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one window a standard topic cannot close (see the next test); FIFO's deduplication id closes it."""
    fifo = _fifo_world(world, monkeypatch)
    (job,), runtime = fifo.tracked_then_ended(1, "fifo")
    fail_write(world, "mark_published", times=1)

    fifo.sweep(runtime)
    fifo.clock.advance(LEASE_RUNS_OUT)
    assert fifo.sweep(runtime)["outcomes"] == {"notified": 1}  # published again: its bookkeeping was lost
    fifo.assert_invariants(fifo.notifications(), ended=[job])


def test_publish_succeeded_but_its_bookkeeping_failed_on_a_standard_topic_repeats_once(world: World) -> None:
    """Documented limit: SNS has no way to ask whether a message went out, so a run that published and then
    could not record it (after the SDK's retries) leaves the lease to run out and a sweep publishes again.
    This takes a DynamoDB failure between two calls made milliseconds apart; a FIFO topic removes it."""
    (job,), runtime = world.tracked_then_ended(1, "stnd")
    fail_write(world, "mark_published", times=1)

    world.sweep(runtime)
    world.clock.advance(LEASE_RUNS_OUT)
    world.sweep(runtime)
    world.sweep(runtime)
    assert world.notifications() == {job: 2}
    record = world.record(job)
    assert record is not None
    assert record["notification"] == "published"


# -- SNS -------------------------------------------------------------------------------------------------


def _fail_publish(world: World, *, times: int) -> Fault:
    """SNS refuses the next `times` publishes (the SNS client makes one attempt: one request each)."""
    return fail_on_the_wire(world.stack, "sns", "Publish", code="InternalError", calls=times)


@pytest.mark.parametrize("times", [1, 3])
def test_publish_failures_are_retried_by_later_sweeps_and_delivered_once(world: World, times: int) -> None:
    jobs, runtime = world.tracked_then_ended(4, "snsf")
    _fail_publish(world, times=times)

    for _ in range(times + 1):
        world.sweep(runtime)
    world.assert_invariants(world.notifications(), ended=jobs)


@pytest.mark.parametrize("how", ["drop", "slow"])
def test_a_publish_sns_took_but_did_not_answer_is_sent_once_and_left_to_its_lease(world: World, how: str) -> None:
    """SNS accepted the publish; the connection dropped, or the answer came after the read timeout. The SDK does not
    resend it (one attempt); the run leaves the notification leased instead of releasing it, and the sweep after the
    lease publishes again: on a standard topic that is the documented window, delivered twice."""
    (job,), runtime = world.tracked_then_ended(1, f"sns{how}")
    world.stack.proxy.inject(Fault("sns", "Publish", action=how, seconds=clients.SNS.read_timeout + 0.5))

    first = world.sweep(runtime)

    assert first["outcomes"] == {"notification_pending": 1}
    assert world.stack.proxy.state.operations()["sns:Publish"] == 1  # sent once: no retry by the SDK
    assert world.notifications() == {job: 1}  # SNS did deliver it
    record = world.record(job)
    assert record is not None
    assert record["notification"] == "pending"
    assert "publishFailures" not in record  # not released: leased still
    assert world.sweep(runtime)["outcomes"] == {}  # the lease holds
    world.clock.advance(LEASE_RUNS_OUT)
    assert world.sweep(runtime)["outcomes"] == {"notified": 1}
    assert world.notifications() == {job: 1}  # the second delivery: once more than the contract wants
    assert world.stack.proxy.state.operations()["sns:Publish"] == 2


@pytest.mark.parametrize(("schedule_minutes", "delivered"), [(3, 1), (5, 2)])
def test_a_fifo_topic_drops_the_repeat_only_inside_its_five_minute_window(
    world: World, monkeypatch: pytest.MonkeyPatch, schedule_minutes: int, delivered: int
) -> None:
    """Sweeps every 3 minutes (the longest the template allows with a FIFO topic) retry inside SNS's 5-minute
    deduplication window: one delivery. Every 5 minutes they would not: two."""
    fifo = _fifo_world(world, monkeypatch)
    (_job,), runtime = fifo.tracked_then_ended(1, f"ff{schedule_minutes}")
    fifo.stack.proxy.inject(Fault("sns", "Publish", action="drop"))

    fifo.sweep(runtime)  # published, dropped: outcome unknown
    for _ in range(2):
        fifo.clock.advance(schedule_minutes * 60)
        fifo.sweep(runtime)

    assert fifo.stack.proxy.state.operations()["sns:Publish"] == 2
    assert sum(fifo.notifications().values()) == delivered


# -- the process dying at each step ----------------------------------------------------------------------

STEPS = {
    "after reading Bedrock": ("bedrock", "after-call", "GetAsyncInvoke"),
    "before recording the ending": ("dynamodb", "before-call", "UpdateItem"),
    "after recording, before publishing": ("sns", "before-call", "Publish"),
    "after publishing, before marking it published": ("sns", "after-call", "Publish"),
}


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("trigger", ["intake", "sweep"])
def test_a_run_killed_at_each_step_is_finished_by_the_next(
    world: World, monkeypatch: pytest.MonkeyPatch, step: str, trigger: str
) -> None:
    # a FIFO topic, so that the step after publishing is covered too (on a standard topic it repeats once)
    w = _fifo_world(world, monkeypatch) if step.startswith("after publishing") else world
    (job,) = w.start(1, "kill")
    dying = w.environment()
    if trigger == "sweep":
        w.send(job)
        w.deliver(w.environment())
    w.stack.simulator.end(job)
    w.clock.advance(PAST_THE_FLOOR)
    hook(dying, *STEPS[step], crash_once())

    if trigger == "intake":
        w.send(job)
        assert w.deliver(dying)["crashed"]
    else:
        assert w.sweep(dying) == {"crashed": True}

    # a new execution environment, after the dead run's lease and the message's visibility have run out: it retries
    # a pending notification; then past the job's next forced check (its output's event is not consumed here)
    w.clock.advance(LEASE_RUNS_OUT)
    _redelivered(w)
    fresh = w.environment()
    w.deliver(fresh)
    w.sweep(fresh)
    w.clock.advance(PAST_THE_FLOOR)
    w.sweep(fresh)
    w.assert_invariants(w.notifications(), ended=[job])


def _fifo_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The same stack with a FIFO topic and a FIFO subscriber queue."""
    from dataclasses import replace

    from tracking.config import Settings

    resources = world.stack.new_resources(fifo=True)
    monkeypatch.setenv("TABLE_NAME", resources.table_name)
    monkeypatch.setenv("TOPIC_ARN", resources.topic_arn)
    return replace(world, resources=resources, settings=Settings.from_env(), submitted=[])


# -- duplicates and concurrency ---------------------------------------------------------------------------


def test_the_same_message_twice_and_again_after_its_ending_makes_one_record_and_one_notification(world: World) -> None:
    (job,) = world.start(1, "twice")
    runtime = world.environment()
    body = json.dumps({"invocationArn": job, "context": {"k": "v"}})
    world.send(body, body)
    world.deliver(runtime)
    world.stack.simulator.end(job)
    world.send(body)
    world.deliver(world.environment())
    world.sweep(runtime)
    world.send(job)
    world.deliver(runtime)

    world.assert_invariants(world.notifications(), ended=[job])


def test_sweeps_and_intakes_at_once_in_separate_processes_notify_each_ending_once(world: World) -> None:
    # The processes run on the real clock: these jobs were started and tracked five minutes before it.
    world.clock.advance(-300)
    jobs = world.start(24, "proc")
    runtime = world.environment()
    bodies = [json.dumps({"invocationArn": job, "context": {"i": i}}) for i, job in enumerate(jobs)]
    world.send(*bodies[:12])
    while world.deliver(runtime).get("received"):
        pass
    for job in jobs:
        world.stack.simulator.end(job)
    world.clock.advance(300)
    # the other twelve arrive twice each while two sweeps run: four processes over the same endings
    batches = [bodies[12:22], bodies[22:] + bodies[12:20]]
    events = [{}, {}, *(sqs_event(*batch, ids=f"batch{n}-") for n, batch in enumerate(batches))]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TABLE_NAME": world.settings.table_name,
        "LOCALRUN_READ_TIMEOUT": str(PATIENT_READ_TIMEOUT),  # a busy machine's moto is slow, not timing out
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "localrun.invoke", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        for _ in events
    ]
    for process, event in zip(processes, events, strict=True):
        assert process.stdin is not None
        process.stdin.write(json.dumps(event))
        process.stdin.close()
    outputs = [process.stdout.read() if process.stdout else "" for process in processes]
    assert all(process.wait(timeout=120) == 0 for process in processes), outputs
    for output in outputs[2:]:
        assert json.loads(output.strip().splitlines()[-1])["response"] == {"batchItemFailures": []}

    world.submitted = bodies
    world.assert_invariants(world.notifications(), ended=jobs)


# -- running out of Lambda time -------------------------------------------------------------------------


def test_a_sweep_starts_only_what_it_can_finish_before_its_deadline_and_the_next_goes_on(world: World) -> None:
    """Default concurrency (32), every Bedrock answer 10 s: a check starts only with TRACK (Bedrock's worst case plus
    a write's, 37 s) left, so of 100 due the sweep starts waves at 0, 10 and 20 s and none at 30 s; each ending
    publishes (PUBLISH, 29 s, fits even at 30 s; the template's default, no bus: putting the event too needs 5 s
    more). Nothing runs into the deadline, where Lambda would kill the run."""
    jobs, runtime = world.tracked_then_ended(100, "dl", event_bus_name="", patient=True)
    assert runtime.settings.concurrency == 32
    assert clients.TRACK.total_seconds() == 37
    assert clients.PUBLISH.total_seconds() == 29
    assert clients.PUT_EVENT.total_seconds() == 5
    waves = Waves(world.clock, 10.0, width=runtime.settings.concurrency, calls=100)
    waves.install(runtime.tracker.bedrock.client("us-east-1"))
    calls_before = world.stack.simulator.calls["GetAsyncInvoke"]

    first = world.sweep(runtime)

    assert first == {"outcomes": {"notified": 96}, "errors": {}, "stoppedEarly": True}
    assert waves.waves == [32, 32, 32]
    second = world.sweep(runtime)
    assert second == {"outcomes": {"notified": 4}, "errors": {}, "stoppedEarly": False}
    assert world.stack.simulator.calls["GetAsyncInvoke"] - calls_before == 100  # nobody asked twice
    world.assert_invariants(world.notifications(), ended=jobs)


def test_intake_starts_only_the_messages_it_can_finish_and_reports_the_rest(world: World) -> None:
    """A batch of 100 at the default concurrency, every Bedrock answer 11 s: messages start at 0, 11 and 22 s
    (22 + 37 <= 60) and not at 33 s; the four left are reported, never attempted. The endings recorded at 33 s are
    not published (33 + 29 > 60): they stay pending, leased, and a sweep publishes them when the lease runs out. The
    template's default: no bus."""
    jobs = world.start(100, "in")
    for job in jobs:
        world.stack.simulator.end(job)
    world.send(*jobs)
    runtime = world.environment(event_bus_name="", patient=True)
    waves = Waves(world.clock, 11.0, width=runtime.settings.concurrency, calls=96)
    waves.install(runtime.tracker.bedrock.client("us-east-1"))

    delivered = world.deliver(runtime, batch=100)

    assert delivered["received"] == 100
    assert delivered["failed"] == 4
    assert waves.waves == [32, 32, 32]
    notified = world.notifications()
    assert sum(notified.values()) == 64
    world.clock.advance(LEASE_RUNS_OUT)
    assert world.sweep(runtime)["outcomes"] == {"notified": 32}
    _redelivered(world)
    assert world.deliver(runtime)["failed"] == 0  # the four, tracked and notified now
    world.assert_invariants(notified + world.notifications(), ended=jobs)
