"""A watched bucket is heard only where S3 sends its events to this stack: its owner's default bus, in the bucket's
Region. A job in another Region (Bedrock writes in the invocation's), or writing to a bucket another account owns, is
not heard: it is timed and polled as an unwatched one, never left to forced checks."""

from __future__ import annotations

from types import ModuleType

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import arn, sqs_event
from tests.integration.test_adaptive_polling import teach
from tests.integration.test_output_events import RecordedTimers

OTHER_ACCOUNT = "210987654321"


def recorded_work(app: ModuleType, job: str) -> str:
    record = app.runtime.tracker.records.get(job)
    assert record is not None
    return str(record["work"])


def test_only_a_job_of_this_region_writing_to_this_accounts_watched_bucket_is_heard(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    timers = RecordedTimers()
    app.runtime.tracker.timers = app.runtime.checks.timers = app.runtime.sweep.timers = timers
    teach(app.runtime, 100, count=40)  # Nova Reel jobs took 100 to 139 s
    watched = f"s3://{resources.bucket}/videos"
    here = stack.simulator.add(arn("heardhere001"), seconds=3600, output_uri=watched)
    elsewhere = stack.simulator.add(arn("heardelse001", region="eu-west-1"), seconds=3600, output_uri=watched)
    owned = stack.simulator.add(arn("heardowner01"), seconds=3600, output_uri=watched, bucket_owner=OTHER_ACCOUNT)
    mine = stack.simulator.add(arn("heardmine001"), seconds=3600, output_uri=watched, bucket_owner="123456789012")

    app.runtime.handle(sqs_event(here, elsewhere, owned, mine))

    assert {job: recorded_work(app, job) for job in (here, elsewhere, owned, mine)} == {
        here: "listen",
        elsewhere: "timed",
        owned: "timed",
        mine: "listen",
    }
    first = {job: delay for job, delay, _, _ in timers.set}
    assert 105 <= first[elsewhere] <= 115  # an unheard job's timer: where a quarter of the jobs had ended
    for heard in (here, mine):  # a heard job's: where half had ended (for a failure, or a lost event)
        assert 119 <= first[heard] <= 120


def test_a_watched_bucket_of_another_region_is_not_heard_whatever_the_jobs_region(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """A bucket named in OutputBucketArns but made in another Region (nothing in S3 or Bedrock stops that) sends its
    events to that Region's bus: a job of this Region writing there is timed and polled, not left to events. The
    bucket's Region is asked of S3 once per execution environment (GetBucketLocation)."""
    elsewhere = f"eu-{resources.table_name}".lower()[:63]
    stack.client("s3").create_bucket(Bucket=elsewhere, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    tracker = app.runtime.tracker
    tracker.watched_buckets = frozenset({*tracker.watched_buckets, elsewhere})
    timers = RecordedTimers()
    tracker.timers = app.runtime.checks.timers = app.runtime.sweep.timers = timers
    teach(app.runtime, 100, count=40)
    here = stack.simulator.add(arn("regionhere01"), seconds=3600, output_uri=f"s3://{resources.bucket}/videos")
    there = stack.simulator.add(arn("regionthere1"), seconds=3600, output_uri=f"s3://{elsewhere}/videos")
    before = stack.proxy.state.operations()["s3:GetBucketLocation"]

    app.runtime.handle(sqs_event(here, there))

    assert {job: recorded_work(app, job) for job in (here, there)} == {here: "listen", there: "timed"}
    assert stack.proxy.state.operations()["s3:GetBucketLocation"] - before <= 2  # once per bucket, then remembered
