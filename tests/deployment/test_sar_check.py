"""`make publish` refuses, offline and before it builds or sends anything, what the Serverless Application Repository
would refuse: localrun/sar_check.py on this template and on copies of it spoiled one way each."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from localrun import sar_check, template

ROOT = Path(__file__).resolve().parents[2]
VERSION = template.template()["Metadata"]["AWS::ServerlessRepo::Application"]["SemanticVersion"]


def spoiled(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the template, changed, with LICENSE and README.md beside it as `make publish` puts them."""
    document = template.load(template.TEMPLATE)
    change(document)
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    for name in ("LICENSE", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    return path


def metadata(document: dict[str, Any]) -> dict[str, Any]:
    application: dict[str, Any] = document["Metadata"]["AWS::ServerlessRepo::Application"]
    return application


def refusals(path: Path, tmp_path: Path, *, record: str = "", region: str = "us-east-1") -> list[str]:
    published = tmp_path / "published.txt"
    published.write_text(record)
    return sar_check.refusals(path, region=region, published=published)


def test_this_template_is_one_sar_would_take(tmp_path: Path) -> None:
    assert refusals(spoiled(tmp_path, lambda document: None), tmp_path) == []
    assert sar_check.refusals(template.TEMPLATE, region="us-east-1", source_code_url="https://github.com/o/r") == []


def test_a_resource_type_sar_does_not_publish_is_refused(tmp_path: Path) -> None:
    def add_a_pipe(document: dict[str, Any]) -> None:
        document["Resources"]["Pipe"] = {"Type": "AWS::Pipes::Pipe", "Properties": {}}

    (reason,) = refusals(spoiled(tmp_path, add_a_pipe), tmp_path)
    assert reason == "Pipe: SAR does not publish AWS::Pipes::Pipe"


def test_a_type_that_only_sams_translation_makes_is_refused(tmp_path: Path) -> None:
    """A ScheduleV2 event is a function's property; SAM makes an AWS::Scheduler::Schedule of it."""

    def schedule_v2(document: dict[str, Any]) -> None:
        sweep = document["Resources"]["TrackerFunction"]["Properties"]["Events"]["Sweep"]
        sweep["Type"] = "ScheduleV2"
        properties = sweep["Properties"]
        properties["ScheduleExpression"] = properties.pop("Schedule")
        properties["OmitName"] = True

    (reason,) = refusals(spoiled(tmp_path, schedule_v2), tmp_path)
    assert reason == "TrackerFunctionSweep (SAM's translation): SAR does not publish AWS::Scheduler::Schedule"


@pytest.mark.parametrize("field", ["LicenseUrl", "ReadmeUrl"])
def test_metadata_without_its_license_or_readme_is_refused(tmp_path: Path, field: str) -> None:
    def drop(document: dict[str, Any]) -> None:
        del metadata(document)[field]

    assert refusals(spoiled(tmp_path, drop), tmp_path) == [f"AWS::ServerlessRepo::Application.{field} is missing"]


@pytest.mark.parametrize(("field", "file"), [("LicenseUrl", "LICENSE"), ("ReadmeUrl", "README.md")])
def test_a_license_or_readme_file_that_is_not_beside_the_template_is_refused(
    tmp_path: Path, field: str, file: str
) -> None:
    path = spoiled(tmp_path, lambda document: None)
    (tmp_path / file).unlink()
    (reason,) = refusals(path, tmp_path)
    assert (
        reason
        == f"AWS::ServerlessRepo::Application.{field} names {file}, and there is no such file beside the template"
    )


def test_a_version_already_published_in_the_region_is_refused_and_elsewhere_is_not(tmp_path: Path) -> None:
    path = spoiled(tmp_path, lambda document: None)
    record = f"# comment\n{VERSION} eu-west-1 2026-11-30T00:00:00Z\n"
    assert refusals(path, tmp_path, record=record) == []  # published in another Region only
    (reason,) = refusals(path, tmp_path, record=record, region="eu-west-1")
    assert reason == f"SemanticVersion {VERSION} is already published in eu-west-1 (published.txt): raise it"


def test_recording_a_publish_makes_the_same_version_refused_next_time(tmp_path: Path) -> None:
    path = spoiled(tmp_path, lambda document: None)
    published = tmp_path / "published.txt"
    line = sar_check.record(path, region="us-east-1", published=published, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert line == f"{VERSION} us-east-1 2026-12-01T00:00:00Z\n"
    assert sar_check.refusals(path, region="us-east-1", published=published) != []
    assert sar_check.published_versions(published) == {(VERSION, "us-east-1")}


def test_the_repository_keeps_its_record_of_published_versions() -> None:
    assert sar_check.PUBLISHED == ROOT / "sar-published.txt"
    lines = [line for line in sar_check.PUBLISHED.read_text().splitlines() if not line.startswith("#")]
    assert len(sar_check.published_versions()) == len(lines)  # every line a version and a Region


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"Name": {"Fn::Sub": "${AWS::StackName}"}}, "Name is an intrinsic function (Fn::Sub); SAR takes none"),
        ({"Author": "Bedrock Async Tracker"}, "Author 'Bedrock Async Tracker' is not what SAR takes"),
        ({"SemanticVersion": "1.0"}, "SemanticVersion '1.0' is not what SAR takes"),
        ({"Description": "x" * 257}, "Description"),
        ({"Labels": ["a label"]}, "Labels: 'a label' is not a label SAR takes"),
        ({"Name": None}, "Name is missing"),
    ],
)
def test_metadata_sar_refuses_is_refused(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    def apply(document: dict[str, Any]) -> None:
        application = metadata(document)
        for name, value in change.items():
            if value is None:
                del application[name]
            else:
                application[name] = value

    found = refusals(spoiled(tmp_path, apply), tmp_path)
    assert len(found) >= 1
    assert any(expected in reason for reason in found), found


def test_a_source_code_url_that_is_not_an_address_is_refused() -> None:
    found = sar_check.refusals(template.TEMPLATE, region="us-east-1", source_code_url="github.com/o/r")
    assert [reason.split(" ")[0] for reason in found] == [
        "AWS::ServerlessRepo::Application.HomePageUrl",  # make publish gives both the same address
        "AWS::ServerlessRepo::Application.SourceCodeUrl",
    ]


def test_make_publish_refuses_a_used_version_before_it_builds_or_sends_anything(tmp_path: Path) -> None:
    published = tmp_path / "published.txt"
    published.write_text(f"{VERSION} us-west-2 2026-11-30T00:00:00Z\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_DEFAULT_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
    }
    built = ROOT / ".aws-sam" / "packaged.yaml"
    before = built.stat().st_mtime if built.exists() else None
    result = subprocess.run(
        ["make", "--no-print-directory", "publish", "SOURCE_CODE_URL=https://github.com/o/r", "REGION=us-west-2",
         f"SAR_PUBLISHED={published}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"SAR would refuse: SemanticVersion {VERSION} is already published in us-west-2" in result.stderr
    assert "nothing was sent" in result.stderr
    assert "sam build" not in result.stdout + result.stderr  # refused first: nothing built, packaged or published
    assert "sam package" not in result.stdout
    assert (built.stat().st_mtime if built.exists() else None) == before
