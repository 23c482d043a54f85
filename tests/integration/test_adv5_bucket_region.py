"""adv5: the watched bucket's Region, asked of S3 (GetBucketLocation, outputs.OutputLister.region_of), refused.

S3 answers GetBucketLocation only to the bucket's owner ("To use this API operation against a bucket, you must be the
bucket owner": the S3 API reference, GetBucketLocation), and answers NoSuchBucket for a bucket deleted since it was
named. A refusal is not an answer: the job is taken as not heard (timed and polled, never left to forced checks),
and the Region is asked again by the next job, not remembered, so that a refusal lifted later (the policy fixed)
makes the next jobs heard. A Region S3 did give is remembered for the execution environment.

(Until this change the local stack's proxy named GET /bucket?location "s3:GetObject", so test_heard_where's "asked
once per bucket, then remembered" compared a count that was always 0: it could not fail.)
"""

from __future__ import annotations

from types import ModuleType

import pytest

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import arn, fail_on_the_wire, sqs_event
from tests.integration.test_adaptive_polling import teach
from tests.integration.test_heard_where import recorded_work
from tests.integration.test_output_events import RecordedTimers
from tracking.clients import S3


def asked(stack: LocalAws) -> int:
    return stack.proxy.state.operations()["s3:GetBucketLocation"]


@pytest.mark.parametrize(("code", "status"), [("AccessDenied", 403), ("NoSuchBucket", 404)])
def test_a_refused_region_lookup_leaves_the_job_timed_and_is_asked_again_by_the_next_job(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock, code: str, status: int
) -> None:
    timers = RecordedTimers()
    app.runtime.tracker.timers = app.runtime.checks.timers = app.runtime.sweep.timers = timers
    teach(app.runtime, 100, count=40)
    watched = f"s3://{resources.bucket}/videos"
    refused = fail_on_the_wire(stack, "s3", "GetBucketLocation", code=code, status=status, calls=S3.attempts)
    first = stack.simulator.add(arn(f"refused{status}01"), seconds=3600, output_uri=watched)
    before = asked(stack)

    app.runtime.handle(sqs_event(first))

    assert refused.hits >= 1  # S3 refused it: not heard, not left to events that may not come
    assert recorded_work(app, first) == "timed"
    second = stack.simulator.add(arn(f"refused{status}02"), seconds=3600, output_uri=watched)
    third = stack.simulator.add(arn(f"refused{status}03"), seconds=3600, output_uri=watched)
    app.runtime.handle(sqs_event(second))
    lifted = asked(stack)
    app.runtime.handle(sqs_event(third))

    assert (recorded_work(app, second), recorded_work(app, third)) == ("listen", "listen")  # asked again, answered
    assert lifted > before + refused.hits  # the second job asked again
    assert asked(stack) == lifted  # and then remembered: the third did not ask
