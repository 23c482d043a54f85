"""The async models Bedrock serves today, as the simulator serves them and as the demo, the bench, the command line
and the README use them: what each writes, what a model without async support or past its end of life answers,
and an ARN Bedrock has forgotten."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrock_simulator.simulator import END_OF_LIFE, PROFILES
from bench.day import MODELS
from localrun.clock import Clock
from localrun.demo import WORKLOAD
from localrun.stack import LocalAws, Resources
from tests.helpers import ROOT

TODAY = datetime(2026, 12, 1, tzinfo=UTC)


def start(stack: LocalAws, model: str, model_input: dict[str, Any] | None = None, folder: str = "out") -> str:
    answer = stack.client("bedrock-runtime").start_async_invoke(
        modelId=model,
        modelInput=model_input or {"taskType": "TEXT_VIDEO"},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{stack.resources.bucket}/{folder}"}},
    )
    return str(answer["invocationArn"])


def files(stack: LocalAws, arn: str, folder: str = "out") -> dict[str, bytes]:
    s3 = stack.client("s3")
    listed = s3.list_objects_v2(Bucket=stack.resources.bucket, Prefix=f"{folder}/{arn[-12:]}/")
    return {
        item["Key"].rsplit("/", 1)[-1]: s3.get_object(Bucket=stack.resources.bucket, Key=item["Key"])["Body"].read()
        for item in listed.get("Contents", [])
    }


def test_a_model_without_async_support_is_refused_with_bedrocks_message(stack: LocalAws, resources: Resources) -> None:
    with pytest.raises(ClientError) as refused:
        start(stack, "amazon.nova-pro-v1:0", {"messages": []})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["Error"]["Message"] == "The provided model doesn't support async inference."


def test_marengo_2_7_is_refused_past_its_end_of_life_and_served_before(
    stack: LocalAws, resources: Resources, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 29, tzinfo=UTC)
    assert start(stack, "twelvelabs.marengo-embed-2-7-v1:0", {"inputType": "video"})
    clock.now = TODAY
    with pytest.raises(ClientError) as refused:
        start(stack, "twelvelabs.marengo-embed-2-7-v1:0", {"inputType": "video"})
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "reached the end of its life" in refused.value.response["Error"]["Message"]
    assert start(stack, "twelvelabs.marengo-embed-3-0-v1:0", {"inputType": "video"})


@pytest.mark.parametrize(
    ("model", "written"),
    [
        ("luma.ray-v2:0", ["output.mp4"]),
        ("twelvelabs.marengo-embed-3-0-v1:0", ["output.json"]),
        ("amazon.nova-reel-v1:1", ["generation-status.json", "manifest.json", "output.mp4"]),
        (
            "amazon.nova-2-multimodal-embeddings-v1:0",
            ["embedding-audio-video.jsonl", "manifest.json", "segmented-embedding-result.json"],
        ),
    ],
)
def test_each_model_writes_its_own_files_when_it_completes(
    stack: LocalAws, resources: Resources, model: str, written: list[str]
) -> None:
    arn = start(stack, model)
    stack.simulator.end(arn)
    assert sorted(files(stack, arn)) == written


@pytest.mark.parametrize(
    ("model", "written"),
    [
        ("luma.ray-v2:0", []),
        ("amazon.nova-reel-v1:1", []),  # the safety filter's failure: nothing written
        ("amazon.nova-2-multimodal-embeddings-v1:0", []),
        ("twelvelabs.marengo-embed-3-0-v1:0", ["error.txt"]),
    ],
)
def test_a_failed_job_writes_nothing_but_marengos_error_file(
    stack: LocalAws, resources: Resources, model: str, written: list[str]
) -> None:
    arn = start(stack, model)
    stack.simulator.end(arn, failed=True, message="The generated video was blocked by our content filters.")
    assert sorted(files(stack, arn)) == written
    answer = stack.client("bedrock-runtime").get_async_invoke(invocationArn=arn)
    assert answer["status"] == "Failed"
    assert answer["failureMessage"] == "The generated video was blocked by our content filters."


def test_nova_embeddings_failed_segments_show_in_its_result_file_while_the_job_completes(
    stack: LocalAws, resources: Resources
) -> None:
    arn = start(stack, "amazon.nova-2-multimodal-embeddings-v1:0")
    stack.simulator.fail_segments(arn, 1)
    stack.simulator.end(arn)

    written = files(stack, arn)
    result = json.loads(written["segmented-embedding-result.json"])
    [modality] = result["embeddingResults"]
    assert modality["status"] == "PARTIAL_SUCCESS"
    assert modality["failureReason"] == "INTERNAL_SERVER_EXCEPTION"
    assert modality["outputFileUri"] == f"s3://{resources.bucket}/out/{arn[-12:]}/embedding-audio-video.jsonl"
    lines = [json.loads(line) for line in written["embedding-audio-video.jsonl"].splitlines()]
    assert [line["status"] for line in lines] == ["FAILURE", "SUCCESS", "SUCCESS", "SUCCESS"]
    assert stack.client("bedrock-runtime").get_async_invoke(invocationArn=arn)["status"] == "Completed"


def test_an_aged_out_arn_answers_validation_exception(stack: LocalAws, resources: Resources) -> None:
    arn = start(stack, "luma.ray-v2:0")
    stack.simulator.age_out(arn)
    with pytest.raises(ClientError) as refused:
        stack.client("bedrock-runtime").get_async_invoke(invocationArn=arn)
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_the_demo_the_bench_the_cli_and_the_readme_use_only_models_served_today() -> None:
    used = {model for model, _ in WORKLOAD} | {model for model, *_ in MODELS}
    readme = (ROOT / "README.md").read_text()
    # every model id the README passes to Bedrock or shows in a notification's example
    shown = set(re.findall(r"(?:modelId=\"|--model-id |foundation-model/)([a-z0-9.-]+:[0-9]+)", readme))
    cli = (ROOT / "tracker_cli" / "main.py").read_text()
    shown |= set(re.findall(r"for example ([a-z0-9.-]+-v[0-9]+:[0-9]+)", cli))
    for model in used | shown:
        assert model in PROFILES, f"{model} takes no async invocations"
        assert END_OF_LIFE.get(model, datetime.max.replace(tzinfo=UTC)) > TODAY, f"{model} is past its end of life"
    assert {"luma.ray-v2:0", "twelvelabs.marengo-embed-3-0-v1:0", "amazon.nova-2-multimodal-embeddings-v1:0"} <= used
    assert "luma.ray-v2:0" in shown
