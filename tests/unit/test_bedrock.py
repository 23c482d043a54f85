"""The Bedrock reader: a client per region (and no more than it needs), errors classified, answers checked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.helpers import stub_client
from tracking.bedrock import BedrockReader
from tracking.errors import Rejected, ServiceUnavailable, Throttled, UnexpectedAnswer
from tracking.invocations import InvocationArn

ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12"


def test_one_client_per_region_is_created_and_reused() -> None:
    created: list[str] = []
    clients: dict[str, Any] = {}

    def factory(region: str) -> Any:
        created.append(region)
        clients[region] = stub_client("bedrock-runtime")
        return clients[region]

    reader = BedrockReader(factory)
    west = InvocationArn.parse(ARN.replace("us-east-1", "us-west-2"))
    answer = {
        "invocationArn": west.arn,
        "modelArn": "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-reel-v1:1",
        "status": "InProgress",
        "submitTime": datetime(2026, 11, 26, tzinfo=UTC),
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b"}},
    }
    reader.client("us-west-2")
    with Stubber(clients["us-west-2"]) as stub:
        stub.add_response("get_async_invoke", answer, {"invocationArn": west.arn})
        stub.add_response("get_async_invoke", answer, {"invocationArn": west.arn})
        assert reader.get(west).status == "InProgress"
        assert reader.get(west).status == "InProgress"
    assert created == ["us-west-2"]


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ValidationException", 400, Rejected),
        ("AccessDeniedException", 403, Rejected),
        ("ThrottlingException", 429, Throttled),
        ("InternalServerException", 500, ServiceUnavailable),
    ],
)
def test_bedrock_errors_become_the_projects(code: str, status: int, expected: type) -> None:
    bedrock = stub_client("bedrock-runtime")
    reader = BedrockReader(lambda _region: bedrock)
    with Stubber(bedrock) as stub:
        stub.add_client_error("get_async_invoke", code, http_status_code=status)
        with pytest.raises(expected) as raised:
            reader.get(InvocationArn.parse(ARN))
    if expected is Rejected:
        assert ARN in str(raised.value)


def test_an_answer_about_another_invocation_is_not_trusted() -> None:
    bedrock = stub_client("bedrock-runtime")
    reader = BedrockReader(lambda _region: bedrock)
    other = ARN.replace("abcdefghij12", "zzzzzzzzzzzz")
    with Stubber(bedrock) as stub:
        stub.add_response(
            "get_async_invoke",
            {"invocationArn": other, "modelArn": "m", "status": "Completed", "submitTime": datetime.now(UTC),
             "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b"}}},
        )  # fmt: skip
        with pytest.raises(UnexpectedAnswer):
            reader.get(InvocationArn.parse(ARN))


def test_clients_are_kept_for_the_regions_in_use_only_however_many_regions_arns_name() -> None:
    created: list[str] = []

    def factory(region: str) -> Any:
        created.append(region)
        return object()

    reader = BedrockReader(factory, max_clients=3)
    for region in ["us-east-1", "us-west-2", "eu-west-1", "us-east-1", "ap-south-1", "us-east-1"]:
        reader.client(region)
    assert len(reader._clients) == 3
    assert list(reader._clients) == ["eu-west-1", "ap-south-1", "us-east-1"]  # the least recently used went
    assert created == ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"]  # us-east-1, in use, was never remade
