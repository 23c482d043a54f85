"""adv6: the `unanswered` note on a callback (records.Record.unanswered), against how botocore and AWS behave.

1. The Resumer keeps, per thread, whether an attempt of "the call in progress" lost its answer, reset by botocore's
   `before-call` event. botocore emits `before-call` only once the request is built (botocore/client.py
   `_make_api_call`: `before-call.{service}.{operation}` after `_convert_to_request_dict`), so a send that fails
   before it calls the service leaves the flag of the call before it. Lifecycle._send_each raises OutOfTime
   (`_require`) before every callback after the first when the run's time is short, and asks
   `channel.may_have_sent(exc)` of that OutOfTime: after a callback whose first attempt lost its answer (the very
   call that spends the run's time: STATES' read timeout, twice), the next callback, never sent, is noted
   `unanswered`. A later refusal of it as closed then reads as sent: a workflow whose task ended without the
   tracker (Step Functions answers a closed or stopped task's token with TaskTimedOut: "The task token has either
   expired or the task associated with the token has already been closed", SendTaskSuccess, Step Functions API
   reference) is recorded `published` and counted in CallbacksResumed, not CallbacksGone.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from localrun.aws_proxy import Fault
from localrun.clock import Clock
from localrun.lambda_driver import LambdaContext
from localrun.stack import LocalAws, Resources
from tests.helpers import PAST_THE_FLOOR, arn, sqs_event
from tests.integration.test_callback_channel import SUCCESS, resumed, waiting
from tests.integration.test_intake import record_of
from tests.integration.test_local_workflows import ended, handed_over, start
from tracking.callbacks import CALLBACK_ID, TASK_TOKEN, Callback
from tracking.channels.callback import Callbacks
from tracking.clients import DYNAMODB, STATES
from tracking.records import CALLBACKS_PER_WRITE, GONE, MAX_CALLBACKS, PUBLISHED, Record, callback_key

TIMEOUT = 60.0


def _two_waiting_with_the_run_spent_by_a_lost_answer(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock, invocation_id: str
) -> tuple[str, list[str], list[dict[str, Any]], list[str], Any, list[bool]]:
    """Two workflows wait on one ended job; the first SendTaskSuccess of the next run will be taken with its answer
    lost (botocore resends it: refused as closed, read as sent). A lost answer costs STATES' read timeout per
    attempt; with the run's other work, it leaves less than the next callback needs (a Step Functions call and the
    write after it), so the next one is not started. Returns the job, the executions, the submissions' bodies, the
    callbacks' keys, a run of the function on the test's clock, and whether the time was spent."""
    job = stack.simulator.add(arn(invocation_id))
    executions, bodies = [], []
    for _ in range(2):  # two workflows wait on the one job
        executions.append(start(stack, resources, job))
        bodies.append(handed_over(stack, resources))
    keys = [callback_key(Callback(TASK_TOKEN, body[TASK_TOKEN])) for body in bodies]

    def run(event: dict[str, Any]) -> Any:
        return app.lambda_handler(event, LambdaContext(timeout=TIMEOUT, clock=clock))

    assert run(sqs_event(*(json.dumps(body) for body in bodies))) == {"batchItemFailures": []}
    stack.simulator.end(job)
    clock.advance(PAST_THE_FLOOR)
    (channel,) = [c for c in app.runtime.tracker.channels if isinstance(c, Callbacks)]
    started = clock()
    spent: list[bool] = []

    def time_passes(caught_exception: Exception | None = None, **_: Any) -> None:
        if caught_exception is not None and not spent:
            spent.append(True)
            deadline = started.timestamp() + TIMEOUT
            left = (STATES.worst_case + DYNAMODB.worst_case).total_seconds() - 1
            clock.advance(deadline - left - clock().timestamp())

    channel.resumer.states.meta.events.register("needs-retry", time_passes)
    return job, executions, bodies, keys, run, spent


def test_a_callback_never_sent_for_want_of_time_is_not_noted_unanswered(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    job, _, _, keys, run, spent = _two_waiting_with_the_run_spent_by_a_lost_answer(
        stack, resources, app, clock, "adv6oftime01"
    )
    lost = stack.proxy.inject(Fault("states", "SendTaskSuccess", action="drop", times=1))
    run({})
    assert lost.hits == 1
    assert spent

    item = record_of(stack, resources, job)
    assert item is not None
    record = Record.of(item)
    states = {key: record.channels[key] for key in keys}
    assert sorted(states.values()) == ["pending", PUBLISHED], states  # one resumed, one never sent
    (never_sent,) = [key for key in keys if states[key] == "pending"]
    assert stack.proxy.state.operations()["states:SendTaskSuccess"] == 2  # the first callback's two attempts only
    assert never_sent not in record.unanswered, "a callback never sent is noted as one whose send had no answer"


def test_a_workflow_closed_without_the_tracker_whose_callback_was_never_sent_is_recorded_gone(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    job, executions, bodies, keys, run, _ = _two_waiting_with_the_run_spent_by_a_lost_answer(
        stack, resources, app, clock, "adv6oftime02"
    )
    stack.proxy.inject(Fault("states", "SendTaskSuccess", action="drop", times=1))
    run({})
    item = record_of(stack, resources, job)
    assert item is not None
    (never_sent,) = [key for key in keys if Record.of(item).channels[key] == "pending"]
    # Its task ends without the tracker: closed by another party (as its TimeoutSeconds would, which moto runs on
    # wall time), so no send of the tracker's can resume it: Step Functions refuses the token from now on.
    execution = executions[keys.index(never_sent)]
    token = bodies[keys.index(never_sent)][TASK_TOKEN]
    stack.client("stepfunctions").send_task_failure(taskToken=token, error="Task.Closed", cause="not the tracker")
    assert ended(stack, execution)["status"] == "FAILED"

    clock.advance(600)
    run({})  # the sweep sends it: refused as closed

    after = record_of(stack, resources, job)
    assert after is not None
    assert stack.proxy.state.operations()["states:SendTaskSuccess"] == 3  # the sweep's send, refused
    assert Record.of(after).channels[never_sent] == GONE, "a workflow the tracker never resumed recorded as resumed"


def test_an_ending_sent_to_a_hundred_callbacks_is_recorded_before_the_lambdas_deadline(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """2. "Sending and recording it go together: never send without the time to mark it sent" (Tracker._publish).
    _send_each starts a further callback only with its worst case and ONE DynamoDB write's left (`_require(
    channel.worst_case + DYNAMODB.worst_case)`), but mark_delivered records more than CALLBACKS_PER_WRITE callbacks
    in 1 + ceil((n - 25) / 25) writes (DynamoDB's 4 KB expression bound): four for a job's MAX_CALLBACKS. Each write
    may take DYNAMODB's worst case (clients.CallLimits: every attempt waits out both timeouts), and Lambda ends a run
    at its timeout ("Task timed out", the function's Timeout: 60 s in template.yaml) whatever it is doing. The
    function's DynamoDB client does not start a write that could outlast the deadline (OutOfTime), so the run ends
    "published but not marked" with only the first split writes made; when the lease runs out, the callbacks the
    missing writes would have marked are sent again, refused as closed (Step Functions' TaskTimedOut, Lambda's
    CallbackTimeoutException: "already been closed") and recorded gone. Here each callback send takes 0.3 s and
    each recording write its worst case: 50 workflows resumed are recorded gone by the next sweep."""
    job = stack.simulator.add(arn("adv6budget01"))
    ids = [stack.durable.open() for _ in range(MAX_CALLBACKS)]
    for first in range(0, MAX_CALLBACKS, 10):
        bodies = (waiting(job, callback_id) for callback_id in ids[first : first + 10])
        context = LambdaContext(timeout=TIMEOUT, clock=clock)
        assert app.lambda_handler(sqs_event(*bodies, ids=f"m{first}-"), context) == {"batchItemFailures": []}
    stack.simulator.end(job)
    clock.advance(PAST_THE_FLOOR)

    (channel,) = [c for c in app.runtime.tracker.channels if isinstance(c, Callbacks)]

    def a_send_takes_time(**_: Any) -> None:
        clock.advance(0.3)

    def a_write_takes_its_worst_case(request: Any = None, **_: Any) -> None:
        if request is not None and b"resumedAt" in (request.body or b""):
            clock.advance(DYNAMODB.worst_case.total_seconds())

    channel.resumer.durable.meta.events.register("before-send.lambda", a_send_takes_time)
    app.runtime.tracker.records.client.meta.events.register(
        "before-send.dynamodb.UpdateItem", a_write_takes_its_worst_case
    )
    app.lambda_handler({}, LambdaContext(timeout=TIMEOUT, clock=clock))

    item = record_of(stack, resources, job)
    assert item is not None
    states = Record.of(item).channels
    taken = [callback_key(Callback(CALLBACK_ID, callback_id)) for callback_id in resumed(stack)[SUCCESS]]
    assert len(taken) > CALLBACKS_PER_WRITE
    not_marked = sorted(key for key in taken if states[key] != PUBLISHED)
    clock.advance(600)  # past the lease: a sweep sends what the record says is pending
    app.lambda_handler({}, LambdaContext(timeout=TIMEOUT, clock=clock))

    after = record_of(stack, resources, job)
    assert after is not None
    gone = sorted(key for key, state in Record.of(after).channels.items() if state == GONE)
    assert gone == [], f"{len(gone)} workflows resumed recorded gone ({len(not_marked)} not recorded by their run)"
    assert not_marked == []
    assert sorted(resumed(stack)[SUCCESS]) == sorted(ids)  # each workflow once


def test_a_callback_added_while_sending_near_the_deadline_leaves_the_one_resumed_recorded(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """3. mark_delivered's finishing write counts the callbacks (`size(#callbacks) = :known`); where one was added
    while sending (add_callback under the lease), DynamoDB refuses it (ConditionalCheckFailedException) and a second
    write records what went and leaves the ending due. The run kept one write's worst case (12 s) for recording
    (_send_time, _require): a first write that loses one attempt to its timeouts (connect 1 s + read 2 s,
    clients.DYNAMODB) leaves less than the second needs, the client does not start it (OutOfTime), and the run ends
    "published but not marked". The next sweep sends the first callback again: refused as closed (Lambda's
    CallbackTimeoutException, "already been closed"), it is recorded gone though this run resumed it. Fixed: with
    less than two writes' time left, the run records what went in one write and leaves the ending due."""
    job = stack.simulator.add(arn("adv6added001"))
    first, added = stack.durable.open(), stack.durable.open()

    def run(event: dict[str, Any]) -> Any:
        return app.lambda_handler(event, LambdaContext(timeout=TIMEOUT, clock=clock))

    assert run(sqs_event(waiting(job, first))) == {"batchItemFailures": []}
    stack.simulator.end(job)
    clock.advance(PAST_THE_FLOOR)
    (channel,) = [c for c in app.runtime.tracker.channels if isinstance(c, Callbacks)]
    records = app.runtime.tracker.records
    started = clock().timestamp()
    done: list[str] = []

    def another_submission_comes(**_: Any) -> None:
        if "added" not in done:
            done.append("added")
            assert records.add_callback(job, Callback(CALLBACK_ID, added), now=clock(), lease_until=clock()) is None
            # the send took what was planned for it: a write's worst case and a second are left
            clock.advance(started + TIMEOUT - DYNAMODB.worst_case.total_seconds() - 1 - clock().timestamp())

    def a_write_loses_an_attempt(request: Any = None, **_: Any) -> None:
        if request is not None and b"resumedAt" in (request.body or b"") and "write" not in done:
            done.append("write")
            clock.advance(3)

    channel.resumer.durable.meta.events.register("before-send.lambda", another_submission_comes)
    records.client.meta.events.register("before-send.dynamodb.UpdateItem", a_write_loses_an_attempt)
    run({})
    assert done == ["added", "write"]
    assert resumed(stack)[SUCCESS] == [first]

    clock.advance(600)
    run({})  # the ending is due: the added callback is sent, and what the record left pending
    after = record_of(stack, resources, job)
    assert after is not None
    states = Record.of(after).channels
    assert states[callback_key(Callback(CALLBACK_ID, added))] == PUBLISHED
    assert states[callback_key(Callback(CALLBACK_ID, first))] == PUBLISHED, "a workflow resumed recorded gone"


def test_a_run_with_one_writes_time_left_records_what_went_and_a_later_run_finishes_it(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """The fix for 3: with less left than two writes' worst case when recording, the finishing write is not tried
    (a callback added meanwhile would need a second); what went is recorded, the ending left due at once, and the
    next run finds nothing pending: it finishes the record without sending anything again."""
    job = stack.simulator.add(arn("adv6room0001"))
    callback_id = stack.durable.open()

    def run(event: dict[str, Any]) -> Any:
        return app.lambda_handler(event, LambdaContext(timeout=TIMEOUT, clock=clock))

    assert run(sqs_event(waiting(job, callback_id))) == {"batchItemFailures": []}
    stack.simulator.end(job)
    clock.advance(PAST_THE_FLOOR)
    (channel,) = [c for c in app.runtime.tracker.channels if isinstance(c, Callbacks)]
    started = clock().timestamp()

    def the_send_takes_its_time(**_: Any) -> None:  # one write's worst case and a second are left
        clock.advance(started + TIMEOUT - DYNAMODB.worst_case.total_seconds() - 1 - clock().timestamp())

    channel.resumer.durable.meta.events.register("before-send.lambda", the_send_takes_its_time)
    run({})
    item = record_of(stack, resources, job)
    assert item is not None
    key = callback_key(Callback(CALLBACK_ID, callback_id))
    assert Record.of(item).channels[key] == PUBLISHED
    assert item["work"] == "notify", "finished with no time left for the write a callback added meanwhile needs"
    assert "expiresAt" not in item

    channel.resumer.durable.meta.events.unregister("before-send.lambda", the_send_takes_its_time)
    clock.advance(600)
    run({})
    after = record_of(stack, resources, job)
    assert after is not None
    assert "work" not in after  # finished: out of the index
    assert "expiresAt" in after  # ... its retention started
    assert resumed(stack) == {SUCCESS: [callback_id]}  # resumed once, by the first run
    assert stack.proxy.state.operations()["sns:Publish"] == 1
