"""Adversary review of the deployment changes (the sweep rule, `make publish`, the deployer policy, the intake
queue's senders, the roles' boundary): each test holds the template, the Makefile or docs/deployer-policy.json to
what AWS documents, cited in its docstring."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.validate import ParamValidator

from localrun import sar_check, template
from tests.deployment.test_deploy_limits import ACCOUNT, TRANSLATED, resolve

ROOT = Path(__file__).resolve().parents[2]


def test_make_publish_fails_when_sar_already_holds_the_version(tmp_path: Path) -> None:
    """`sam publish` without `--fail-on-same-version` does not fail on a version SAR already holds.

    SAM CLI 1.170.0, samcli/vendor/serverlessrepo/publish.py, publish_application: when CreateApplication answers
    ConflictException (the application exists) it calls UpdateApplication, then CreateApplicationVersion; a
    ConflictException from that (the version exists) is logged as "WARNING: Publishing with semantic version that
    already exists" and the publish returns normally, exit status 0. Only `--fail-on-same-version` (samcli/commands/
    publish/command.py) raises DuplicateSemanticVersionError first (aws/aws-sam-cli#1764, #6301, PR #6470).

    sar-published.txt knows only the publishes made from this clone: a version SAR already holds (published from
    another clone, or a record not committed) passes the offline check, `sam publish` then "succeeds" without
    publishing the new code, and `make publish` records the version as published.
    """
    published = tmp_path / "published.txt"
    published.write_text("")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "publish", "SOURCE_CODE_URL=https://github.com/o/r",
         "REGION=us-west-2", f"SAR_PUBLISHED={published}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    (publish,) = [line for line in result.stdout.splitlines() if re.search(r"\bsam publish\b", line)]
    assert "--fail-on-same-version" in publish, publish


# Lambda Developer Guide, "Resources and conditions for Lambda actions" (awsdocs/aws-lambda-developer-guide,
# doc_source/lambda-api-permissions-ref.md), table "Event source mappings": lambda:FunctionArn is a condition of
# CreateEventSourceMapping, UpdateEventSourceMapping and DeleteEventSourceMapping only; GetEventSourceMapping and
# ListEventSourceMappings take resource "*" and no condition, as do ListTags, TagResource and UntagResource (table
# "Functions").
FUNCTION_ARN_ACTIONS = {
    "lambda:CreateEventSourceMapping",
    "lambda:UpdateEventSourceMapping",
    "lambda:DeleteEventSourceMapping",
}


def deployer_statements() -> list[dict[str, Any]]:
    return list(json.loads((ROOT / "docs" / "deployer-policy.json").read_text())["Statement"])


def condition_keys(statement: dict[str, Any]) -> set[str]:
    return {key for operator in statement.get("Condition", {}).values() for key in operator}


def test_the_deployer_policy_conditions_no_action_on_a_key_its_requests_never_carry() -> None:
    """A condition on a key the request does not carry does not match (IAM User Guide, "Condition element": a
    condition key that is not present in the request context evaluates to false, except with ...IfExists and the
    negated operators): an action allowed only under `ArnLike lambda:FunctionArn` is never allowed unless the action
    carries that key. docs/deployer-policy.json listed lambda:GetEventSourceMapping (the read of the two queues'
    event source mappings it means to allow) and lambda:TagResource only under that condition: neither was granted.
    """
    for statement in deployer_statements():
        if "lambda:FunctionArn" in condition_keys(statement):
            assert set(statement["Action"]) <= FUNCTION_ARN_ACTIONS, statement["Sid"]
    readers = [
        s for s in deployer_statements() if "lambda:GetEventSourceMapping" in s["Action"] and "Condition" not in s
    ]
    assert readers, "lambda:GetEventSourceMapping is granted by no statement that applies to its requests"


def intake_policy(parameters: dict[str, str]) -> dict[str, Any]:
    given = {name: str(p.get("Default", "")) for name, p in template.template()["Parameters"].items()}
    document: dict[str, Any] = resolve(
        TRANSLATED["Resources"]["IntakeQueuePolicy"]["Properties"]["PolicyDocument"],
        given | parameters,
        TRANSLATED["Conditions"],
    )
    return document


def principals(document: dict[str, Any]) -> int:
    count = 0
    for statement in document["Statement"]:
        principal = statement["Principal"]
        if principal == "*":
            count += 1
            continue
        for value in principal.values():
            count += len(value) if isinstance(value, list) else 1
    return count


def longest(name: str, one: str) -> str:
    """The longest value of `name` made of copies of `one` that the parameter's AllowedPattern and MaxLength take."""
    parameter = template.template()["Parameters"][name]
    values = [one]
    while len(",".join([*values, one])) <= int(parameter["MaxLength"]) and re.fullmatch(
        parameter["AllowedPattern"], ",".join([*values, one])
    ):
        values.append(one)
    value = ",".join(values)
    assert re.fullmatch(parameter["AllowedPattern"], value)
    return value


SENDER_ACCOUNTS = longest("AllowedSenderAccounts", "210000000000")
SENDER_ROLES = longest("AllowedSenderPrincipalArns", f"arn:aws:iam::{ACCOUNT}:role/bedrock-producers/video-sender-x")
SENDER_RULES = longest("AllowedSenderRuleArns", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/forward-video-jobs-x")


@pytest.mark.parametrize(
    "parameters",
    [
        {"AllowedSenderAccounts": SENDER_ACCOUNTS},
        {"AllowedSenderPrincipalArns": SENDER_ROLES, "AllowedSenderRuleArns": SENDER_RULES},
        {
            "AllowedSenderAccounts": SENDER_ACCOUNTS,
            "AllowedSenderOrgId": "o-" + "a" * 32,
            "AllowedSenderPrincipalArns": SENDER_ROLES,
            "AllowedSenderRuleArns": SENDER_RULES,
        },
    ],
    ids=["most accounts", "most roles and rules", "all at their longest"],
)
def test_whatever_the_sender_parameters_accept_makes_a_queue_policy_sqs_takes(parameters: dict[str, str]) -> None:
    """Amazon SQS Developer Guide, "Amazon SQS policy quotas": a queue policy holds at most 8,192 bytes and 50
    principals; SetQueueAttributes (what AWS::SQS::QueuePolicy calls) refuses a larger one, and the deploy fails
    and rolls back. Each sender parameter is bounded (AllowedPattern, MaxLength): at the longest values they take,
    the policy (measured as compact JSON, less than SQS counts) stays within both quotas."""
    assert all(len(value) <= 4096 for value in parameters.values())
    document = intake_policy(parameters)
    assert len(json.dumps(document, separators=(",", ":")).encode()) <= 8192
    assert principals(document) <= 50


def test_the_permissions_boundary_may_be_an_aws_managed_policy() -> None:
    """IAM User Guide, "Permissions boundaries for IAM entities": "You can use an AWS managed policy or a customer
    managed policy to set the boundary for an IAM entity (user or role)". An AWS managed policy's ARN names the
    account `aws` (arn:aws:iam::aws:policy/PowerUserAccess); CloudFormation refuses a parameter value that does not
    match its AllowedPattern, so such a boundary cannot be given."""
    pattern = template.template()["Parameters"]["PermissionsBoundaryArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, "arn:aws:iam::aws:policy/PowerUserAccess")
    assert re.fullmatch(pattern, "arn:aws-us-gov:iam::aws:policy/job-function/SystemAdministrator")
    assert re.fullmatch(pattern, "arn:aws:iam::123456789012:policy/team-boundary")
    assert re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, "arn:aws:iam::12345:policy/x")
    assert not re.fullmatch(pattern, "team-boundary")


@pytest.mark.parametrize(("field", "written"), [("SemanticVersion", "1.0"), ("Name", "2026")])
def test_metadata_yaml_reads_as_a_number_is_refused_offline(tmp_path: Path, field: str, written: str) -> None:
    """Unquoted, `SemanticVersion: 1.0` or `Name: 2026` is a YAML number, not a string. `sam publish` hands the
    metadata's values to SAR's CreateApplication as they are (samcli/vendor/serverlessrepo/publish.py,
    _create_application_request), and botocore's parameter validation refuses a number where the API's shape
    wants a string, before anything is sent, but after `make publish` has built and packaged; the offline check
    must refuse it first, as it refuses the quoted "1.0" (tests/deployment/test_sar_check.py)."""
    text = template.TEMPLATE.read_text()
    current = template.template()["Metadata"]["AWS::ServerlessRepo::Application"][field]
    spoiled = text.replace(f"    {field}: {current}\n", f"    {field}: {written}\n", 1)
    assert spoiled != text
    path = tmp_path / "template.yaml"
    path.write_text(spoiled)
    for name in ("LICENSE", "README.md"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    value = template.load(path)["Metadata"]["AWS::ServerlessRepo::Application"][field]
    assert not isinstance(value, str)

    shape = (
        boto3.session.Session(region_name="us-east-1")
        .client("serverlessrepo")
        .meta.service_model.operation_model("CreateApplication")
        .input_shape
    )
    request = {"Author": "a", "Description": "d", "Name": "n", "SemanticVersion": "1.0.0", field: value}
    assert ParamValidator().validate(request, shape).has_errors()  # what sam publish would meet

    published = tmp_path / "published.txt"
    published.write_text("")
    found = sar_check.refusals(path, region="us-east-1", published=published)
    assert any(field in reason for reason in found), found


# semver.org's grammar, "Is there a suggested regular expression (RegEx) to check a SemVer string?" (SemVer 2.0.0).
SEMVER = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)


@pytest.mark.parametrize(
    "version", ["1.0.0-01", "1.0.0-rc..1", "1.0.0-.", "1.0.0+build..1", "1.0.0-rc.", "0.1.0-beta.007"]
)
def test_a_version_semver_forbids_is_refused_offline(version: str) -> None:
    """AWS SAM Developer Guide, "AWS SAM template Metadata section properties": SemanticVersion is "the semantic
    version of the application", per the Semantic Versioning specification (semver.org); SAR's API says the same
    ("The semantic version of the application: https://semver.org/"). SemVer 2.0.0, rule 9: pre-release identifiers
    "MUST NOT be empty" and numeric ones "MUST NOT include leading zeroes"; rule 10: build identifiers "MUST NOT be
    empty". sar_check's pattern refuses "1.0" as not a semantic version, but takes these."""
    assert re.fullmatch(SEMVER, version) is None  # not a semantic version
    assert re.fullmatch(SEMVER, "1.0.0-rc.1+build.7")  # one that is
    assert re.fullmatch(sar_check.FIELDS["SemanticVersion"][1], "1.0.0-rc.1+build.7")
    assert re.fullmatch(sar_check.FIELDS["SemanticVersion"][1], version) is None
