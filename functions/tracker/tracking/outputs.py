"""What a completed invocation wrote: the objects under its output folder, for buckets the user named."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import TrackerError, call
from .telemetry import count_error, logger

if TYPE_CHECKING:  # the stubs are a development dependency only
    from types_boto3_s3.client import S3Client

    from .records import Record

MAX_OBJECTS = 100  # a notification stays far below SNS's 256 KiB


class OutputLister:
    def __init__(self, client: S3Client, buckets: frozenset[str]) -> None:
        self.client = client
        self.buckets = buckets

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
