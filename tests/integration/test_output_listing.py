"""The outputs a notification lists, on the local stack: at most 100 of a folder that holds more, and none (but the
notification all the same) when S3 refuses the listing."""

from __future__ import annotations

from types import ModuleType

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import PAST_THE_FLOOR, fail_on_the_wire, sqs_event, start_on_bedrock
from tracking import clients


def test_a_job_that_wrote_150_files_is_notified_with_100_of_them(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    job = start_on_bedrock(stack)
    app.runtime.handle(sqs_event(job))
    folder = f"videos/{job[-12:]}"
    s3 = stack.client("s3")
    for i in range(150):
        s3.put_object(Bucket=resources.bucket, Key=f"{folder}/shot_{i:04d}.mp4", Body=b"x" * (i + 1))
    stack.simulator.end(job)  # and its own three files
    clock.advance(PAST_THE_FLOOR)

    app.runtime.handle({})

    (notification,) = stack.notifications()
    listed = notification["message"]["outputObjects"]
    assert len(listed) == 100
    assert len({entry["key"] for entry in listed}) == 100
    assert all(entry["key"].startswith(f"{folder}/") for entry in listed)


def test_a_listing_s3_refuses_leaves_the_objects_out_and_the_notification_goes_out(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    job = start_on_bedrock(stack)
    app.runtime.handle(sqs_event(job))
    stack.simulator.end(job)
    clock.advance(PAST_THE_FLOOR)
    refused = fail_on_the_wire(stack, "s3", "ListObjectsV2", code="AccessDenied", status=403, calls=clients.S3.attempts)

    app.runtime.handle({})

    assert refused.hits >= 1
    (notification,) = stack.notifications()
    assert notification["message"]["invocationArn"] == job
    assert "outputObjects" not in notification["message"]
