"""What a completed invocation wrote: the objects under its output folder, and what its output says failed in part,
for buckets the user named."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .errors import TrackerError, UnexpectedAnswer, call
from .telemetry import PARTIAL_FAILURES, count, count_error, logger

if TYPE_CHECKING:  # the stubs are a development dependency only
    from types_boto3_s3.client import S3Client

    from .records import Record

MAX_OBJECTS = 100  # a notification stays far below SNS's 256 KiB
# The one model whose async output says that part of a completed job failed (the Nova guide's async output): its
# result file gives each modality's status, SUCCESS, PARTIAL_SUCCESS or FAILURE, with a reason and a message. Nova
# Reel, Luma Ray2 and Marengo document no such report (a job fails or completes whole).
REPORTS = {"amazon.nova-2-multimodal-embeddings": "segmented-embedding-result.json"}
MAX_REPORT_BYTES = 64 * 1024  # a few modalities' entries; a larger file is not the documented one
REPORTED_FIELDS = ("embeddingType", "status", "failureReason", "message")
UNREADABLE = "UNREADABLE"  # the status of the one entry given for a report that could not be read


class OutputLister:
    def __init__(self, client: S3Client, buckets: frozenset[str]) -> None:
        self.client = client
        self.buckets = buckets
        self._regions: dict[str, str | None] = {}

    def region_of(self, bucket: str) -> str | None:
        """The Region a watched bucket is in (S3 sends its events to that Region's bus), asked once per execution
        environment; None if S3 would not say (the bucket is then taken as not heard: timed and polled)."""
        if bucket not in self._regions:
            try:
                answer = call(self.client.get_bucket_location, Bucket=bucket)
            except TrackerError as exc:
                count_error(f"bucket_location_{exc.kind}")
                logger.warning(
                    "could not learn a watched bucket's Region", extra={"bucket": bucket, "reason": exc.reason}
                )
                return None  # not cached: asked again by the next job
            # us-east-1 answers no constraint, and the oldest buckets of eu-west-1 answer "EU"
            constraint = answer.get("LocationConstraint") or "us-east-1"
            self._regions[bucket] = "eu-west-1" if constraint == "EU" else str(constraint)
        return self._regions[bucket]

    def objects(self, record: Record) -> list[dict[str, Any]] | None:
        """Key and size of each object under the invocation's `s3Uri`; None when not listed (bucket not named,
        or the listing failed, which is logged and never holds the notification back)."""
        location = record.invocation.output_location
        if location is None:
            return None
        bucket, prefix = location
        if bucket not in self.buckets:
            return None
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        try:
            answer = call(self.client.list_objects_v2, Bucket=bucket, Prefix=prefix, MaxKeys=MAX_OBJECTS)
        except TrackerError as error:
            count_error(f"output_listing_{error.kind}")
            logger.warning(
                "could not list the invocation's output",
                extra={"invocationArn": record.arn, "reason": error.reason},
            )
            return None
        return [{"key": item["Key"], "size": item["Size"]} for item in answer.get("Contents", [])]

    def partial_failure(self, record: Record) -> list[dict[str, Any]] | None:
        """The parts a completed invocation's output reports failed (each modality not SUCCESS, with its reason and
        message), read with one bounded GetObject; None when its model reports nothing or nothing failed. A report
        that could not be read is logged and counted, and given as one UNREADABLE entry: the notification cannot say
        the job succeeded whole, so it must not pass a filter on partialFailure's absence."""
        invocation = record.invocation
        report = next((name for model, name in REPORTS.items() if invocation.model_id.startswith(model)), None)
        location = invocation.output_location
        if report is None or location is None or location[0] not in self.buckets:
            return None
        bucket, prefix = location
        key = f"{prefix.rstrip('/')}/{report}" if prefix else report
        try:
            answer = call(self.client.get_object, Bucket=bucket, Key=key, Range=f"bytes=0-{MAX_REPORT_BYTES - 1}")
            results = _failed_parts(call(answer["Body"].read, MAX_REPORT_BYTES))
        except TrackerError as error:
            count_error(f"output_report_{error.kind}")
            logger.warning(
                "could not read the invocation's output report",
                extra={"invocationArn": record.arn, "key": key, "reason": error.reason},
            )
            return [{"status": UNREADABLE, "message": f"the output report could not be read: {error.reason}"}]
        if results:
            count(PARTIAL_FAILURES)
        return results or None


def _failed_parts(data: bytes) -> list[dict[str, Any]]:
    try:
        report = json.loads(data)
        results = report["embeddingResults"]
        if not isinstance(results, list) or not all(isinstance(result, dict) for result in results):
            raise TypeError("embeddingResults is not a list of objects")
    except (ValueError, KeyError, TypeError) as exc:
        raise UnexpectedAnswer(f"not the documented result file: {exc}") from exc
    return [
        {name: result[name] for name in REPORTED_FIELDS if name in result}
        for result in results
        if result.get("status") != "SUCCESS"
    ]
