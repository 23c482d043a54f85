"""Hand-offs on the wire: a sweep with more due than it can reach hands the rest to the checks queue in messages of
100 ARNs, and a hand-off SQS refuses leaves that work due and the sweep incomplete, so the next sweep makes the
forced checks the refused one could not."""

from __future__ import annotations

import json

from tests.helpers import PAST_THE_FLOOR, fail_on_the_wire
from tests.integration.test_adaptive_polling import teach
from tests.reliability.conftest import World
from tracking import clients

# A sweep given only the time one check needs before it must stop starting checks reaches none: it hands off all.
NO_TIME_TO_CHECK = clients.TRACK.total_seconds()


def handed_off(world: World) -> list[list[str]]:
    """The ARNs of each hand-off message on the checks queue (read and deleted)."""
    sqs = world.stack.client("sqs")
    messages: list[list[str]] = []
    while received := sqs.receive_message(
        QueueUrl=world.resources.checks_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30
    ).get("Messages", []):
        for message in received:
            body = json.loads(message["Body"])
            if body.get("reason") == "handoff":
                messages.append(list(body["check"]))
            sqs.delete_message(QueueUrl=world.resources.checks_queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def test_a_hand_off_of_150_arns_goes_out_in_messages_of_at_most_100(world: World) -> None:
    jobs = world.start(150, "many")
    runtime = world.environment()
    world.send(*jobs)
    # until all are tracked (a message intake could not finish in time comes back a second later)
    while world.deliver(runtime, batch=100)["received"] or any(world.record(job) is None for job in jobs):
        pass
    world.clock.advance(PAST_THE_FLOOR)

    report = world.sweep(runtime, budget=NO_TIME_TO_CHECK)

    assert report["outcomes"] == {"handed_off": 150}
    messages = handed_off(world)
    assert sorted(len(arns) for arns in messages) == [50, 100]
    assert sorted(arn for arns in messages for arn in arns) == sorted(jobs)


def test_a_hand_off_sqs_refuses_leaves_the_next_sweep_to_make_the_forced_checks(world: World) -> None:
    """The model's jobs take 30 minutes: between forced checks, sweeps leave these alone. The sweep at their first
    forced check (300 s) has no time to check them and SQS refuses the hand-off: the next sweep asks about all three,
    rather than leaving them 300 s more without a check."""
    jobs = world.start(3, "refused")
    runtime = world.environment()
    teach(runtime, 1800)
    world.send(*jobs)
    world.deliver(runtime)
    world.clock.advance(300)
    refused = fail_on_the_wire(world.stack, "sqs", "SendMessageBatch", code="InternalError", calls=clients.SQS.attempts)

    report = world.sweep(runtime, budget=NO_TIME_TO_CHECK)

    assert refused.hits == clients.SQS.attempts
    assert report["outcomes"].get("handed_off", 0) == 0
    world.clock.advance(60)
    asked = world.stack.simulator.calls["GetAsyncInvoke"]
    assert world.sweep(runtime)["outcomes"] == {"in_progress": 3}
    assert world.stack.simulator.calls["GetAsyncInvoke"] == asked + 3
    assert report["stoppedEarly"] is True  # and the refused sweep said so
