"""Records and DynamoDB's TTL: a record never expires while it has work, and an ending is never notified again after
its record expired (a late redrive, a producer's retry)."""

from __future__ import annotations

from localrun.aws_proxy import Fault
from tests.helpers import PAST_THE_FLOOR
from tests.reliability.conftest import World
from tracking.runtime import Runtime

DAY = 86_400.0


def daily(world: World, runtime: Runtime, days: int) -> None:
    """`days` days with a sweep a day, DynamoDB's TTL deleting whatever has expired after each."""
    for _ in range(days):
        world.clock.advance(DAY)
        world.sweep(runtime)
        world.stack.expire_records()


def test_an_invocation_in_progress_longer_than_the_retention_is_kept_and_notified(world: World) -> None:
    (job,) = world.start(1, "long", seconds=30 * DAY)
    runtime = world.environment(record_retention_days=14)
    world.send(job)
    world.deliver(runtime)

    daily(world, runtime, 20)  # the sweeps find it running and write nothing

    assert world.record(job) is not None
    world.stack.simulator.end(job)
    world.clock.advance(PAST_THE_FLOOR)  # to its next forced check (its output's event is not consumed here)
    world.sweep(runtime)
    world.assert_invariants(world.notifications(), ended=[job])


def test_a_notification_pending_longer_than_the_retention_is_kept_and_published(world: World) -> None:
    (job,), runtime = world.tracked_then_ended(1, "pend")
    runtime = world.environment(record_retention_days=14)
    # A failure no person need fix (a refusal that needs one is given up past the retention: test_refusals)
    world.stack.proxy.inject(Fault("sns", "Publish", code="InternalError", status=500, times=10_000))

    daily(world, runtime, 20)  # every day the publish fails and the lease is released

    record = world.record(job)
    assert record is not None
    assert record["notification"] == "pending"
    assert "expiresAt" not in record
    world.stack.proxy.clear()
    world.sweep(runtime)
    world.assert_invariants(world.notifications(), ended=[job])


def test_a_published_record_expires_its_retention_after_the_notification(world: World) -> None:
    (job,), _ = world.tracked_then_ended(1, "expi")
    runtime = world.environment(record_retention_days=14)
    world.sweep(runtime)
    world.assert_invariants(world.notifications(), ended=[job])

    daily(world, runtime, 13)
    assert world.record(job) is not None
    daily(world, runtime, 2)
    assert world.record(job) is None


def test_a_submission_after_the_record_expired_is_not_notified_again(world: World) -> None:
    """A dead-letter message redriven late (a redrive gives it a new life) or a producer's retry, once DynamoDB's
    TTL has deleted the record: the ending is older than any record is kept, so it may have been notified."""
    (job,), _ = world.tracked_then_ended(1, "late")
    runtime = world.environment(record_retention_days=14)
    world.sweep(runtime)
    notified = world.notifications()
    daily(world, runtime, 15)
    assert world.record(job) is None

    world.send(job)
    assert world.deliver(runtime)["failed"] == 0  # tracked again: the message is done

    world.sweep(runtime)
    world.assert_invariants(notified + world.notifications(), ended=[job])
    record = world.record(job)
    assert record is not None
    assert record["notification"] == "skipped"
    assert "work" not in record
    assert record["expiresAt"] > world.clock().timestamp()


def test_an_ending_within_the_retention_is_notified_on_its_first_submission(world: World) -> None:
    (job,) = world.start(1, "recent")
    world.stack.simulator.end(job)
    runtime = world.environment(record_retention_days=14)
    world.clock.advance(13 * DAY)  # ended 13 days ago, never submitted until now

    world.send(job)
    world.deliver(runtime)

    world.assert_invariants(world.notifications(), ended=[job])


def test_an_ending_older_than_the_retention_is_notified_when_its_record_is_in_progress(world: World) -> None:
    """The record exists, in progress: nobody has notified this ending, however old it is."""
    (job,) = world.start(1, "stale")
    runtime = world.environment(record_retention_days=14)
    world.send(job)
    world.deliver(runtime)
    world.stack.simulator.end(job)
    world.clock.advance(20 * DAY)  # no sweep ran meanwhile (the schedule was switched off)

    world.sweep(runtime)

    world.assert_invariants(world.notifications(), ended=[job])
