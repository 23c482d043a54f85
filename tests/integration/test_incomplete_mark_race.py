"""adv3: a hand-off that fails while its handing sweep is still running loses its forced check.

A sweep counts as complete though it handed checks off: the consumer of a hand-off it cannot make marks sweeps
incomplete from the handing sweep's `since` (checks.Checks._make_up), and the sweep, once complete, removes the mark
it read when it started (records.mark_sweeps_complete, conditional on the value it read).

How AWS behaves:
- The checks queue's event source mapping polls all the time and invokes the function as soon as messages are there
  ("When messages are available, Lambda starts processing five batches at a time with five concurrent invocations",
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html): a hand-off sent early in a sweep is
  consumed, and may fail, while that sweep still runs (it runs up to its 60 s timeout).
- `SET a = if_not_exists(a, :v)` leaves an existing attribute as it is ("If the item does not contain an attribute at
  the specified path, if_not_exists evaluates to value; otherwise, it evaluates to path", DynamoDB developer guide,
  Expressions.UpdateExpressions.html#Expressions.UpdateExpressions.SET.PreventingAttributeOverwrites).

So where the shared item already says `incompleteSince = X` (an earlier sweep stopped early) the sweep that catches
up runs from X and hands checks off with `since` X; the consumer's mark writes X over X (nothing changes), and the
sweep then removes `incompleteSince = X`: the mark the consumer relied on is gone, `lastCompleteSweep` says the
handing sweep, and the next sweep does not make the forced check that failed. Had the consumer failed a moment after
the sweep's last write, its mark would have stayed and the next sweep would have made it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import arn, patient_session, sqs_event
from tests.integration.test_adaptive_polling import UNHEARD, teach
from tests.integration.test_handoffs import checks_queue
from tracking import clients
from tracking.runtime import Runtime


def environment(app: ModuleType, clock: Clock) -> Runtime:
    """An execution environment of its own (its own clients), checking one job at a time."""
    return Runtime.build(replace(app.runtime.settings, concurrency=1), clock=clock, session=patient_session())


@pytest.mark.parametrize(
    "consumed_while_sweeping",
    [
        pytest.param(True, id="while-its-sweep-runs"),
        pytest.param(False, id="after-its-sweep"),
    ],
)
def test_a_hand_off_that_fails_while_its_sweep_runs_keeps_its_forced_check_for_the_next_sweep(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock, consumed_while_sweeping: bool
) -> None:
    from bedrock_simulator import Fault

    sweeper, consumer = environment(app, clock), environment(app, clock)
    teach(sweeper, 900)
    job = stack.simulator.add(arn("racemark0001"), seconds=3600, output_uri=UNHEARD)
    sweeper.handle(sqs_event(job))  # its first forced check at 300 s of age
    checks_queue(stack, resources)
    clock.advance(240)
    assert sweeper.handle({})["outcomes"] == {}  # a complete sweep, nothing due: lastCompleteSweep at 240 s
    # Another environment's sweep at 240 s stopped early (a throttle): it marked sweeps incomplete from its start.
    consumer.tracker.records.mark_sweeps_incomplete(clock())
    clock.advance(60)

    # The sweep at 300 s has no time to check (its measured pace is slow): it hands the job's forced check off.
    sweeper.sweep.pace.seconds_per_check = 1000.0
    stack.simulator.inject("GetAsyncInvoke", Fault(code="ThrottlingException", count=2 * clients.BEDROCK.attempts))
    consumed: list[dict[str, Any]] = []

    def consume() -> None:
        """The checks queue's runs: the hand-off is throttled, handed on, throttled again."""
        for _round in range(3):
            for body in checks_queue(stack, resources):
                consumed.append(body)
                event = sqs_event(json.dumps(body))
                for message in event["Records"]:
                    message["eventSourceARN"] = resources.checks_queue_arn
                assert consumer.handle(event) == {"batchItemFailures": []}

    def consume_before_the_sweeps_last_write(params: dict[str, Any], **_: Any) -> None:
        if "lastCompleteSweep" in str(params.get("UpdateExpression", "")) and not consumed:
            consume()

    if consumed_while_sweeping:
        sweeper.tracker.records.client.meta.events.register(
            "provide-client-params.dynamodb.UpdateItem", consume_before_the_sweeps_last_write
        )
    assert sweeper.handle({})["outcomes"] == {"handed_off": 1}
    if not consumed_while_sweeping:
        consume()
    assert [body.get("again", False) for body in consumed] == [False, True]  # handed off, handed on, failed again

    # Then the next sweep makes the forced check that failed (the bound: 360 s without a check against 300 + 60)
    sweeper.sweep.pace.seconds_per_check = None  # time enough to check it itself
    clock.advance(60)
    calls = stack.simulator.calls["GetAsyncInvoke"]
    sweeper.handle({})
    assert stack.simulator.calls["GetAsyncInvoke"] == calls + 1
