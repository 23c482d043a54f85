"""What an ending hides: a completed Nova Multimodal Embeddings job whose result file says a part failed is notified
so (a field and a message attribute, on the topic and the bus), read with one bounded S3 read; a report that cannot
be read is logged, counted and notified as unknown (partialFailure `unknown`), never as a whole success; a Nova Reel
video the safety filter blocks ends Failed and writes nothing, and its timers catch it."""

from __future__ import annotations

import json
from types import ModuleType

import pytest

from localrun.clock import Clock
from localrun.stack import LocalAws, Resources
from tests.helpers import Invoke, LogLines, arn, sqs_event
from tests.integration.test_adaptive_polling import teach
from tests.integration.test_metrics import emitted
from tests.integration.test_output_events import RecordedTimers, timer_event

EMBEDDINGS = "amazon.nova-2-multimodal-embeddings-v1:0"
BLOCKED = "The generated video was blocked by our content filters."


def embeddings_job(stack: LocalAws, name: str, *, failed_segments: int = 0) -> str:
    job = stack.simulator.add(arn(name), model_id=EMBEDDINGS)
    stack.simulator.fail_segments(job, failed_segments)
    stack.simulator.end(job)
    return job


def reads(stack: LocalAws) -> int:
    return stack.proxy.state.operations()["s3:GetObject"]


def test_a_completed_job_whose_output_reports_failed_segments_is_notified_with_the_failed_part(
    stack: LocalAws, resources: Resources, invoke: Invoke
) -> None:
    job = embeddings_job(stack, "partialfail1", failed_segments=1)

    invoke(sqs_event(job))

    (notification,) = stack.notifications()
    message = notification["message"]
    assert message["status"] == "Completed"
    assert message["partialFailure"] == [
        {
            "embeddingType": "AUDIO_VIDEO_COMBINED",
            "status": "PARTIAL_SUCCESS",
            "failureReason": "INTERNAL_SERVER_EXCEPTION",
            "message": "Something went wrong.",
        }
    ]
    assert notification["MessageAttributes"]["partialFailure"] == {"Type": "String", "Value": "true"}
    assert notification["MessageAttributes"]["status"] == {"Type": "String", "Value": "Completed"}
    (event,) = stack.events()
    assert event["detail"]["partialFailure"] == message["partialFailure"]
    assert reads(stack) == 1  # one bounded read for the ending, whatever the channels


def test_a_completed_job_whose_every_part_succeeded_says_nothing_of_failure(
    stack: LocalAws, resources: Resources, invoke: Invoke
) -> None:
    job = embeddings_job(stack, "allsegments1")

    invoke(sqs_event(job))

    (notification,) = stack.notifications()
    assert "partialFailure" not in notification["message"]
    assert "partialFailure" not in notification["MessageAttributes"]
    assert reads(stack) == 1


def test_a_model_whose_output_reports_no_partial_failure_costs_no_read(
    stack: LocalAws, resources: Resources, invoke: Invoke
) -> None:
    job = stack.simulator.add(arn("lumaraycomp1"), model_id="luma.ray-v2:0")
    stack.simulator.end(job)

    invoke(sqs_event(job))

    (notification,) = stack.notifications()
    assert "partialFailure" not in notification["message"]
    assert reads(stack) == 0


def test_a_report_that_cannot_be_read_is_notified_as_before_with_a_log_line_and_a_metric(
    stack: LocalAws, resources: Resources, invoke: Invoke, logs: LogLines, capsys: pytest.CaptureFixture[str]
) -> None:
    job = embeddings_job(stack, "reportgone01", failed_segments=2)
    s3 = stack.client("s3")
    s3.delete_object(Bucket=resources.bucket, Key=f"videos/{job[-12:]}/segmented-embedding-result.json")
    s3.put_object(Bucket=resources.bucket, Key=f"videos/{job[-12:]}/not-the-report.json", Body=b"{}")

    invoke(sqs_event(job))

    (notification,) = stack.notifications()
    assert notification["message"]["status"] == "Completed"
    ((entry,),) = [notification["message"]["partialFailure"]]  # not told as a whole success either
    assert entry["status"] == "UNREADABLE"
    assert notification["MessageAttributes"]["partialFailure"] == {"Type": "String", "Value": "unknown"}
    (line,) = logs.where(message="could not read the invocation's output report")
    assert line["invocationArn"] == job
    assert "Errors.output_report_rejected_by_service" in emitted(capsys.readouterr().out)


def test_a_report_in_another_shape_is_not_trusted(
    stack: LocalAws, resources: Resources, invoke: Invoke, logs: LogLines
) -> None:
    job = embeddings_job(stack, "reportshape1", failed_segments=1)
    key = f"videos/{job[-12:]}/segmented-embedding-result.json"
    stack.client("s3").put_object(Bucket=resources.bucket, Key=key, Body=json.dumps({"results": "?"}).encode())

    invoke(sqs_event(job))

    (notification,) = stack.notifications()
    assert [entry["status"] for entry in notification["message"]["partialFailure"]] == ["UNREADABLE"]
    (line,) = logs.where(message="could not read the invocation's output report")
    assert "not the documented result file" in line["reason"]


def test_a_nova_reel_video_the_safety_filter_blocks_is_notified_failed_by_its_timers(
    stack: LocalAws, resources: Resources, app: ModuleType, clock: Clock
) -> None:
    """It writes nothing, so no output event will tell: the timers of a job in a watched bucket catch it."""
    timers = RecordedTimers()
    app.runtime.tracker.timers = app.runtime.checks.timers = app.runtime.sweep.timers = timers
    teach(app.runtime, 100, count=40)  # Nova Reel jobs took 100 to 139 s
    job = stack.simulator.add(arn("safetyfilt01"), model_id="amazon.nova-reel-v1:1", seconds=110)
    app.runtime.handle(sqs_event(job))
    record = app.runtime.tracker.records.get(job)
    assert record is not None
    assert record["work"] == "listen"  # its output lands in a watched bucket: heard, and timed in case it is not
    ((_, first, reason, attempt),) = timers.set
    assert (reason, attempt) == ("timer", 1)

    clock.advance(110)
    stack.simulator.end(job, failed=True, message=BLOCKED)
    clock.advance(max(0.0, first - 110))
    listed = stack.client("s3").list_objects_v2(Bucket=resources.bucket, Prefix=f"videos/{job[-12:]}/")
    assert listed.get("KeyCount", 0) == 0  # nothing written: no event on its way

    app.runtime.handle(timer_event(resources, job, attempt))

    (notification,) = stack.notifications()
    assert notification["message"]["status"] == "Failed"
    assert notification["message"]["failureMessage"] == BLOCKED
    assert notification["MessageAttributes"]["status"] == {"Type": "String", "Value": "Failed"}
    assert "outputObjects" not in notification["message"]
