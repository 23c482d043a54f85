"""What a user installs: from the Serverless Application Repository, metadata SAR accepts, resource types it publishes
and a package without the SDKs the function does not need; with pip, the command line and the Bedrock simulator."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from localrun import template
from localrun.sar_check import SUPPORTED_TYPES

ROOT = Path(__file__).resolve().parents[2]

# AWS's list of the resource types SAR publishes (its source is given where it is kept, for `make publish` too).
SAR_SUPPORTED = SUPPORTED_TYPES

# Resource types that make SAR ask the deployer to acknowledge a capability (SAR Developer Guide, "Acknowledging
# Application Capabilities").
IAM_TYPES = {"AWS::IAM::Group", "AWS::IAM::InstanceProfile", "AWS::IAM::Policy", "AWS::IAM::Role"}
RESOURCE_POLICY_TYPES = {
    "AWS::Lambda::LayerVersionPermission", "AWS::Lambda::Permission", "AWS::Events::EventBusPolicy",
    "AWS::IAM::Policy", "AWS::ApplicationAutoScaling::ScalingPolicy", "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy",
}  # fmt: skip


def readme() -> str:
    return (ROOT / "README.md").read_text()


def test_every_resource_type_of_the_template_and_of_its_translation_can_be_published() -> None:
    for resources in (template.template()["Resources"], template.translated()["Resources"]):
        for name, resource in resources.items():
            assert resource["Type"] in SAR_SUPPORTED, f"{name}: SAR does not publish {resource['Type']}"
    section = readme()[readme().index("### From the Serverless Application Repository") :][:4000]
    assert "AWS::Scheduler::Schedule" in section  # the README says why the sweep is a rule, not a ScheduleV2


# The functions CloudFormation evaluates in each section (CloudFormation User Guide, "Rules" and "Conditions"
# sections and their intrinsic function references). SAR stores the template as published and deploys it as a
# CloudFormation change set: these sections are CloudFormation's to evaluate, with the deployer's parameters.
RULE_FUNCTIONS = {
    "Fn::And", "Fn::Contains", "Fn::EachMemberEquals", "Fn::EachMemberIn", "Fn::Equals", "Fn::Not", "Fn::Or",
    "Fn::RefAll", "Fn::ValueOf", "Fn::ValueOfAll", "Ref",
}  # fmt: skip
CONDITION_FUNCTIONS = {
    "Fn::And", "Fn::Equals", "Fn::Not", "Fn::Or", "Condition", "Ref", "Fn::Join", "Fn::Select", "Fn::Split",
    "Fn::FindInMap", "Fn::Sub",
}  # fmt: skip


def functions_in(value: Any) -> set[str]:
    """The intrinsic functions a section uses (`!Condition X`, read as YAML, is CloudFormation's `Condition`)."""
    if isinstance(value, dict):
        found = {"Condition" if key == "Fn::Condition" else key for key in value if key in ("Ref", "Condition")}
        found |= {key for key in value if key.startswith("Fn::") and key != "Fn::Condition"}
        return found.union(*(functions_in(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(functions_in(item) for item in value))
    return set()


def refs_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {str(value["Ref"])} if "Ref" in value else set()
        return found.union(*(refs_in(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(refs_in(item) for item in value))
    return set()


@pytest.mark.parametrize("document", ["template", "translation"])
def test_rules_conditions_and_metadata_are_what_cloudformation_evaluates_from_parameters_alone(document: str) -> None:
    """Rules and Conditions are evaluated before any resource exists: parameters and pseudo parameters only, and in
    Rules only the functions CloudFormation allows there. SAR reads AWS::ServerlessRepo::Application from the
    metadata, with no intrinsic function; the rest of the metadata (tool settings) it keeps as published."""
    loaded = template.template() if document == "template" else template.translated()
    parameters = set(loaded["Parameters"]) | {"AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::StackName"}
    for name, rule in loaded["Rules"].items():
        assert set(rule) <= {"RuleCondition", "Assertions"}, name
        assert rule["Assertions"], name
        for assertion in rule["Assertions"]:
            assert set(assertion) == {"Assert", "AssertDescription"}, name
            assert isinstance(assertion["AssertDescription"], str), name
        assert functions_in(rule) <= RULE_FUNCTIONS, (name, functions_in(rule) - RULE_FUNCTIONS)
        assert refs_in(rule) <= parameters, name
    for name, condition in loaded["Conditions"].items():
        assert functions_in(condition) <= CONDITION_FUNCTIONS, (name, functions_in(condition) - CONDITION_FUNCTIONS)
        assert refs_in(condition) <= parameters, name
        named = [c.get("Condition", c.get("Fn::Condition")) for c in _all(condition, ("Condition", "Fn::Condition"))]
        assert set(named) <= set(loaded["Conditions"]), name
    assert set(loaded["Metadata"]) == {"AWS::ServerlessRepo::Application"}
    assert not functions_in(loaded["Metadata"])
    for name, resource in loaded["Resources"].items():
        assert set(resource.get("Metadata", {})) <= {"checkov", "cfn-lint", "SamResourceId"}, name
    development = (ROOT / "docs" / "development.md").read_text()  # where publishing is explained
    section = development[development.index("## Publishing to the Serverless Application Repository") :][:4000]
    assert all(f"`{part}`" in section for part in ("Rules", "Conditions", "Metadata"))


def _all(value: Any, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        found = [value] if set(keys) & set(value) else []
        return found + [inner for item in value.values() for inner in _all(item, keys)]
    if isinstance(value, list):
        return [inner for item in value for inner in _all(item, keys)]
    return []


def test_the_capabilities_a_deployer_acknowledges_are_the_ones_the_readme_states() -> None:
    types = {resource["Type"] for resource in template.translated()["Resources"].values()}
    needed = {"CAPABILITY_IAM"} if types & IAM_TYPES else set()
    needed |= {"CAPABILITY_RESOURCE_POLICY"} if types & RESOURCE_POLICY_TYPES else set()
    assert needed == {"CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"}
    section = readme()[readme().index("### From the Serverless Application Repository") :]
    assert all(capability in section[:3000] for capability in needed)


def test_the_metadata_is_what_sar_requires_without_intrinsic_functions() -> None:
    application = template.template()["Metadata"]["AWS::ServerlessRepo::Application"]
    assert {"Name", "Description", "Author", "SpdxLicenseId", "LicenseUrl", "ReadmeUrl", "SemanticVersion"} <= set(
        application
    )
    assert all(isinstance(value, str | list) for value in application.values())  # SAR refuses Ref, Sub, ...
    assert re.fullmatch(r"[a-zA-Z0-9-]{1,140}", application["Name"])
    assert len(application["Description"]) <= 256
    assert all(re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label) for label in application["Labels"])
    assert len(application["Labels"]) <= 10
    assert (ROOT / application["LicenseUrl"]).is_file()
    assert (ROOT / application["ReadmeUrl"]).is_file()
    assert "Apache License" in (ROOT / application["LicenseUrl"]).read_text()
    assert application["SpdxLicenseId"] == "Apache-2.0"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert application["SemanticVersion"] == version  # one version, whichever way it is installed
    assert "HomePageUrl" not in application  # given at publish time: make publish SOURCE_CODE_URL=...
    assert "SourceCodeUrl" not in application


def test_the_function_package_carries_no_xray_sdk_and_no_pydantic() -> None:
    lines = (ROOT / "functions" / "tracker" / "requirements.txt").read_text().splitlines()
    requirements = [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]
    assert requirements == ["aws-lambda-powertools==3.37.0", "boto3==1.44.8"]  # no extras: [tracer], [parser]
    # what pip installs for them: Powertools' own dependencies, without an extra, name neither
    required = [
        dependency
        for name in ("aws-lambda-powertools", "boto3")
        for dependency in metadata.requires(name) or []
        if "extra ==" not in dependency
    ]
    assert required
    assert not [dependency for dependency in required if re.match(r"(aws-xray-sdk|pydantic)\b", dependency)]
    code = "\n".join(path.read_text() for path in (ROOT / "functions" / "tracker").rglob("*.py"))
    assert "aws_xray_sdk" not in code
    assert "Tracer" not in code
    assert "pydantic" not in code


def test_pip_install_ships_the_command_line_the_functions_package_and_the_simulator(tmp_path: Path) -> None:
    source = tmp_path / "source"  # setuptools builds in the tree it is given: a copy, not this one
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if ".dist-info/" not in name} == {
        "tracker_cli",
        "tracking",
        "bedrock_simulator",
    }
    assert "bedrock_simulator/__main__.py" in names  # python -m bedrock_simulator
    assert not [name for name in names if name.startswith(("localrun/", "tests/", "bench/"))]
