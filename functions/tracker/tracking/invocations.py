"""An async invocation as Bedrock describes it, and the ARN that names it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from botocore.loaders import create_loader

from .errors import InvalidArn, UnexpectedAnswer

ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>aws(-[a-z]+)*):bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>[0-9]{12}):async-invoke/(?P<id>[a-z0-9]{12})$"
)
IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
FAILED = "Failed"
ENDED = frozenset({COMPLETED, FAILED})
STATUSES = frozenset({IN_PROGRESS, COMPLETED, FAILED})


@dataclass(frozen=True)
class InvocationArn:
    arn: str
    region: str
    account: str
    id: str

    @classmethod
    def parse(cls, value: str) -> InvocationArn:
        match = ARN_PATTERN.fullmatch(value)  # not match(): "$" would let a trailing newline through
        if match is None:
            shown = value if len(value) <= 200 else value[:200] + "..."
            raise InvalidArn(f"not a Bedrock async-invoke ARN: {shown!r}")
        region, partition = match["region"], match["partition"]
        if not _region_exists(partition, region):
            raise InvalidArn(f"{value!r} names region {region!r}, which partition {partition!r} does not have")
        return cls(arn=value, region=region, account=match["account"], id=match["id"])


@cache
def _partitions() -> dict[str, tuple[re.Pattern[str], frozenset[str]]]:
    """Each partition's region pattern and known regions, from botocore's own data: a region newer than this botocore
    still matches its partition's pattern (us-east-9 would), a made-up one does not (moon-base-1)."""
    data = create_loader().load_data("partitions")
    return {
        partition["id"]: (re.compile(partition["regionRegex"]), frozenset(partition.get("regions", {})))
        for partition in data["partitions"]
    }


def partition_of(region: str) -> str | None:
    """The partition whose regions include `region` (aws for us-east-1), from botocore's data; None if none does."""
    for partition, (pattern, regions) in _partitions().items():
        if region in regions or pattern.match(region) is not None:
            return partition
    return None


def _region_exists(partition: str, region: str) -> bool:
    known = _partitions().get(partition)
    return known is not None and (region in known[1] or known[0].match(region) is not None)


def model_id_of(model_arn: str) -> str:
    """`amazon.nova-reel-v1:1` from `arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1`."""
    return model_arn.rsplit("/", 1)[-1]


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, the one form of time at the edges."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time inside the tracker is timezone-aware UTC")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class Invocation:
    """The fields of GetAsyncInvoke, validated; times are aware UTC datetimes."""

    invocation_arn: str
    model_arn: str
    status: str
    submit_time: datetime
    client_request_token: str | None = None
    failure_message: str | None = None
    last_modified_time: datetime | None = None
    end_time: datetime | None = None
    output_data_config: dict[str, Any] | None = None

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def model_id(self) -> str:
        return model_id_of(self.model_arn)

    @property
    def output_location(self) -> tuple[str, str] | None:
        """(bucket, key prefix) of the `s3Uri` its output goes to; None without one."""
        uri = (self.output_data_config or {}).get("s3OutputDataConfig", {}).get("s3Uri", "")
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            return None
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        return bucket, prefix

    @classmethod
    def from_answer(cls, requested_arn: str, answer: Mapping[str, Any]) -> Invocation:
        """Build from a GetAsyncInvoke answer; anything we could not trust raises UnexpectedAnswer."""
        arn = answer.get("invocationArn")
        if arn != requested_arn:
            raise UnexpectedAnswer(f"asked for {requested_arn} and was answered about {arn!r}")
        status = answer.get("status")
        if status not in STATUSES:
            raise UnexpectedAnswer(f"unknown status {status!r} for {requested_arn}")
        model_arn = answer.get("modelArn")
        if not isinstance(model_arn, str) or not model_arn:
            raise UnexpectedAnswer(f"no modelArn for {requested_arn}")
        submit_time = _time(answer, "submitTime", required=True)
        assert submit_time is not None
        failure = answer.get("failureMessage")
        output = answer.get("outputDataConfig")
        if output is not None and not isinstance(output, dict):
            raise UnexpectedAnswer(f"outputDataConfig is not an object for {requested_arn}")
        token = answer.get("clientRequestToken")
        return cls(
            invocation_arn=arn,
            model_arn=model_arn,
            status=status,
            submit_time=submit_time,
            client_request_token=token if isinstance(token, str) else None,
            failure_message=str(failure) if status == FAILED and failure is not None else None,
            last_modified_time=_time(answer, "lastModifiedTime"),
            end_time=_time(answer, "endTime"),
            output_data_config=_plain(output) if output else None,
        )

    def fields(self) -> dict[str, Any]:
        """The GetAsyncInvoke fields under their own names, times as ISO strings, absent ones left out."""
        fields: dict[str, Any] = {
            "invocationArn": self.invocation_arn,
            "modelArn": self.model_arn,
            "status": self.status,
            "submitTime": iso(self.submit_time),
        }
        optional = {
            "clientRequestToken": self.client_request_token,
            "failureMessage": self.failure_message,
            "lastModifiedTime": iso(self.last_modified_time) if self.last_modified_time else None,
            "endTime": iso(self.end_time) if self.end_time else None,
            "outputDataConfig": self.output_data_config,
        }
        fields.update({name: value for name, value in optional.items() if value is not None})
        return fields


def _time(answer: Mapping[str, Any], name: str, *, required: bool = False) -> datetime | None:
    value = answer.get(name)
    if value is None:
        if required:
            raise UnexpectedAnswer(f"no {name} in the answer about {answer.get('invocationArn')}")
        return None
    if isinstance(value, str):
        try:
            value = parse_iso(value)
        except ValueError as exc:
            raise UnexpectedAnswer(f"{name} is not a time: {value!r}") from exc
    if not isinstance(value, datetime):
        raise UnexpectedAnswer(f"{name} is not a time: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _plain(value: Any) -> Any:
    """A JSON-plain copy of a botocore structure (datetimes would not survive DynamoDB or JSON)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return iso(value)
    return value
