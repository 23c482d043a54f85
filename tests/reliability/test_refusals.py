"""A channel that refuses for good (issue 19, defect 3): a bus that answers AccessDenied until someone fixes its
policy. Alarmed at the first refusal, retried less and less often (capped), never starving the checks of the jobs
in progress, and once the refusal is lifted each ending goes out within minutes, once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from localrun.aws_proxy import Fault
from tests.helpers import LogLines
from tests.reliability.conftest import World, hook

REFUSED = "event refused until someone acts; kept pending, retried less often"


def test_a_bus_that_refuses_for_good_is_alarmed_backed_off_and_never_starves_the_checks(
    world: World, logs: LogLines
) -> None:
    # Given six jobs that ended and one still running, all tracked, and a bus that refuses every put
    runtime = world.environment()
    (running,) = world.start(1, "runner", seconds=6 * 3600.0)
    world.send(running)
    world.deliver(runtime)
    refusal = world.stack.proxy.inject(
        Fault("events", "PutEvents", code="AccessDeniedException", status=400, times=10**6)
    )
    jobs, _ = world.tracked_then_ended(6, "refused")
    asked: list[datetime] = []
    hook(runtime, "bedrock", "before-call", "GetAsyncInvoke", lambda **_: asked.append(world.clock()))
    first_sweep = world.clock()

    # When sweeps run every minute for half an hour
    for _ in range(30):
        world.sweep(runtime)
        world.clock.advance(60)

    # Then the topic has each ending once, the bus none, and each refusal was alarmed from the first
    assert world.notifications() == dict.fromkeys(jobs, 1)
    assert world.stack.events() == []
    assert len(logs.where(message=REFUSED)) == refusal.hits
    assert all(world.record(job)["event"] == "pending" for job in jobs)  # type: ignore[index]
    # retried 2, 4, 8, 10, 10 minutes after each refusal: at most 6 puts each in 30 minutes, not 30
    assert refusal.hits <= 6 * len(jobs)
    # and the running job was asked within the polling bound all along
    bound = timedelta(seconds=world.settings.max_poll_interval_seconds) + world.settings.sweep_period
    moments = [first_sweep, *asked, world.clock()]
    assert max(later - earlier for earlier, later in pairwise(moments)) <= bound

    # When the policy is fixed
    refusal.times = refusal.hits
    fixed = world.clock()
    put: Counter[str] = Counter()
    delivered: dict[str, datetime] = {}
    while len(delivered) < len(jobs) and world.clock() - fixed <= timedelta(minutes=15):
        world.sweep(runtime)
        for event in world.stack.events():
            put[event["detail"]["invocationArn"]] += 1
            delivered.setdefault(event["detail"]["invocationArn"], world.clock())
        world.clock.advance(60)
    world.clock.advance(3600)
    world.sweep(runtime)
    put.update(event["detail"]["invocationArn"] for event in world.stack.events())

    # Then every ending goes out on the bus within 10 minutes and a sweep, once
    assert put == dict.fromkeys(jobs, 1)
    assert max(delivered.values()) - fixed <= timedelta(minutes=10) + world.settings.sweep_period
    assert all("work" not in (world.record(job) or {}) for job in jobs)


def test_pending_endings_take_at_most_their_share_of_a_sweep_and_the_checks_still_go(world: World) -> None:
    # Given forty endings pending on a refusing bus, and a job in progress due for its forced check
    runtime = world.environment(concurrency=4)
    (running,) = world.start(1, "runner", seconds=6 * 3600.0)
    jobs = world.start(40, "share")
    world.send(running, *jobs)
    while world.deliver(runtime, batch=100)["received"]:
        pass
    for job in jobs:
        world.stack.simulator.end(job)
    world.stack.proxy.inject(Fault("events", "PutEvents", code="AccessDeniedException", status=400, times=10**6))
    world.clock.advance(world.settings.max_poll_interval_seconds + 10)
    world.sweep(runtime)  # each ending recorded, on the topic, refused by the bus: pending
    world.clock.advance(world.settings.max_poll_interval_seconds)

    # When each retry's claim takes a second of the sweep's time (DynamoDB slow, throttled)
    def slow_claim(params: dict[str, Any], **_: Any) -> None:
        if b"SET #dueAt = :lease" in params["body"]:
            world.clock.advance(1)

    asked: list[datetime] = []
    hook(runtime, "dynamodb", "before-call", "UpdateItem", slow_claim)
    hook(runtime, "bedrock", "before-call", "GetAsyncInvoke", lambda **_: asked.append(world.clock()))
    report = world.sweep(runtime)

    # Then the retries stop at their share of the sweep, and the job in progress is asked in the same sweep
    assert report["outcomes"].get("in_progress") == 1
    assert len(asked) == 1
    assert sum(report["outcomes"].get(outcome, 0) for outcome in ("notification_pending", "not_claimed")) < len(jobs)


def test_an_ending_still_refused_when_as_old_as_a_record_is_kept_is_given_up_on_that_channel(world: World) -> None:
    # Given an ending the topic took and the bus refuses for good
    world.stack.proxy.inject(Fault("events", "PutEvents", code="AccessDeniedException", status=400, times=10**6))
    (job,), runtime = world.tracked_then_ended(1, "givenup")
    world.sweep(runtime)
    assert world.record(job)["event"] == "pending"  # type: ignore[index]

    # When a sweep retries it once it is older than a record's retention
    world.clock.advance(timedelta(days=world.settings.record_retention_days, minutes=1).total_seconds())
    report = world.sweep(runtime)

    # Then it is given up on the bus, the topic's notification stands, and the record can expire
    assert report["outcomes"] == {"abandoned": 1}
    record = world.record(job) or {}
    assert (record["notification"], record["event"]) == ("published", "refused")
    assert "work" not in record
    assert "expiresAt" in record
    assert world.notifications() == {job: 1}
