"""The retention's edge: an ending whose record expired minutes ago is not notified again when it is submitted once
more, and one that ended just inside the retention (less the hour allowed for Bedrock's clock) and was never
submitted is notified on its first submission."""

from __future__ import annotations

from tests.reliability.conftest import World

DAY = 86_400.0
HOUR = 3_600.0


def test_a_submission_minutes_after_the_record_expired_is_not_notified_again(world: World) -> None:
    (job,), _ = world.tracked_then_ended(1, "edge")
    runtime = world.environment(record_retention_days=14)
    world.sweep(runtime)  # notified now: the record expires 14 days from now
    notified = world.notifications()
    world.clock.advance(14 * DAY + 60)
    assert world.stack.expire_records() == 1

    world.send(job)  # a producer's retry: the ending is 14 days and a few minutes old
    assert world.deliver(runtime)["failed"] == 0
    world.sweep(runtime)

    world.assert_invariants(notified + world.notifications(), ended=[job])
    record = world.record(job)
    assert record is not None
    assert record["notification"] == "skipped"


def test_an_ending_just_inside_the_retention_is_notified_on_its_first_submission(world: World) -> None:
    (job,) = world.start(1, "inside")
    world.stack.simulator.end(job)
    runtime = world.environment(record_retention_days=14)
    world.clock.advance(14 * DAY - HOUR - 600)  # ended 14 days less 1 hour 10 minutes ago, never submitted

    world.send(job)
    world.deliver(runtime)

    world.assert_invariants(world.notifications(), ended=[job])
