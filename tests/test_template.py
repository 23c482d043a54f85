"""The template: valid for SAM and cfn-lint, and holding every resource and setting the contract relies on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local_stack import template

ROOT = Path(__file__).resolve().parent.parent
SAM = os.environ.get("SAM") or str(ROOT / ".venv-sam" / "bin" / "sam")
SAM_ENV = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template.template()["Resources"].items() if r["Type"] == kind}


def function() -> dict[str, Any]:
    return template.template()["Resources"]["TrackerFunction"]["Properties"]


@pytest.mark.parametrize("args", [["validate"], ["validate", "--lint"]], ids=["validate", "validate-lint"])
def test_sam_validates_the_template(args: list[str]) -> None:
    result = subprocess.run(
        [SAM, *args, "--template", str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        env=SAM_ENV,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_cfn_lint_is_clean() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_function_is_where_the_contract_says() -> None:
    properties, globals_ = function(), template.template()["Globals"]["Function"]
    assert properties["CodeUri"] == "functions/tracker/"
    assert properties["Handler"] == "app.lambda_handler"
    assert (ROOT / "functions" / "tracker" / "app.py").is_file()
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    assert globals_["Tracing"] == "Active"
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"} <= set(globals_["Environment"]["Variables"])
    assert len(resources("AWS::Serverless::Function")) == 1


def test_the_contracts_environment_variables_are_set() -> None:
    variables = function()["Environment"]["Variables"]
    assert variables["TABLE_NAME"] == {"Ref": "InvocationTable"}
    assert variables["TOPIC_ARN"] == {"Ref": "NotificationTopic"}
    assert variables["MAX_POLL_INTERVAL_SECONDS"] == {"Ref": "MaxPollIntervalSeconds"}
    assert not [name for name in variables if name.startswith("AWS_ENDPOINT") or "ENDPOINT" in name]


def test_intake_is_an_sqs_queue_with_partial_batch_failures_and_a_dead_letter_queue() -> None:
    event = function()["Events"]["Intake"]
    assert event["Type"] == "SQS"
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["BatchSize"] == {"Ref": "BatchSize"}
    queue = template.resource("IntakeQueue")
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["IntakeDeadLetterQueue", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
    timeout = template.function_settings()["timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout


def test_sweep_is_a_schedule_v2_with_input_retries_and_its_own_dead_letter_queue() -> None:
    event = function()["Events"]["Sweep"]
    assert event["Type"] == "ScheduleV2"
    properties = event["Properties"]
    assert properties["ScheduleExpression"] == {"Ref": "SweepSchedule"}
    assert template.parameter_default("SweepSchedule") == "rate(1 minute)"
    assert properties["Input"]
    assert properties["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert properties["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["SweepDeadLetterQueue", "Arn"]}


def test_the_table_is_keyed_on_the_arn_with_an_index_of_due_work_ttl_encryption_and_recovery() -> None:
    table = template.resource("InvocationTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "invocationArn", "KeyType": "HASH"}]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "DueWork"
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_the_topic_is_encrypted_and_can_be_fifo() -> None:
    topic = template.resource("NotificationTopic")
    assert topic["KmsMasterKeyId"] == "alias/aws/sns"
    assert topic["FifoTopic"] == {"Fn::If": ["IsFifo", True, {"Ref": "AWS::NoValue"}]}
    assert template.template()["Parameters"]["FifoTopic"]["AllowedValues"] == ["true", "false"]


def test_the_role_grants_each_action_on_its_own_resource_only() -> None:
    (statement_list,) = [p["PolicyDocument"]["Statement"] for p in template.resource("TrackerRole")["Policies"]]
    statements = {s["Sid"]: s for s in statement_list}
    assert statements["ReadAsyncInvocations"]["Action"] == "bedrock:GetAsyncInvoke"
    assert statements["ReadAsyncInvocations"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:bedrock:*:${AWS::AccountId}:async-invoke/*"
    }
    assert statements["Notifications"] == {
        "Sid": "Notifications", "Effect": "Allow", "Action": "sns:Publish", "Resource": {"Ref": "NotificationTopic"},
    }  # fmt: skip
    assert set(statements["Records"]["Action"]) == {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"}
    for sid, statement in statements.items():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), sid
        if statement["Resource"] == "*":
            assert sid == "Traces"  # X-Ray's Put actions have no resource-level permissions


def test_outputs_name_what_users_need() -> None:
    assert {
        "IntakeQueueUrl", "IntakeQueueArn", "IntakeDeadLetterQueueUrl", "NotificationTopicArn",
        "InvocationTableName", "TrackerFunctionName",
    } <= set(template.template()["Outputs"])  # fmt: skip


@pytest.mark.skipif(sys.version_info[:2] != (3, 13), reason="sam build needs the runtime's Python, 3.13, on PATH")
def test_sam_build_packages_the_function_and_only_its_code_uri(tmp_path: Path) -> None:
    # the project's virtual environment is made with Python 3.13 wherever the machine has it (Makefile)
    env = {**SAM_ENV, "PATH": f"{Path(sys.executable).parent}:{SAM_ENV['PATH']}"}
    result = subprocess.run(
        [SAM, "build", "--template", str(ROOT / "template.yaml"), "--build-dir", str(tmp_path / "build")],
        capture_output=True, text=True, env=env, check=False, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    built = tmp_path / "build" / "TrackerFunction"
    assert (built / "app.py").is_file()
    assert (built / "tracking" / "records.py").is_file()
    assert (built / "aws_lambda_powertools").is_dir()
    assert not (built / "tests").exists()
    assert not (built / "local_stack").exists()


def test_the_dashboard_is_valid_json_and_shows_only_metrics_the_function_emits() -> None:
    import json
    import re

    from tracking import errors, telemetry

    body, variables = template.template()["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert variables == {
        "Service": template.template()["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    }
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    titles = [widget["properties"]["title"] for widget in dashboard["widgets"]]
    assert len(titles) == 6
    emitted = {value for name, value in vars(telemetry).items() if name.isupper() and isinstance(value, str)}
    kinds = {f"Errors.{cls.kind}" for cls in vars(errors).values() if isinstance(cls, type) and hasattr(cls, "kind")}
    shown = set(re.findall(r'"BedrockAsyncTracker", "([\w.]+)"', body))
    shown |= set(re.findall(r"MetricName=\W*(\w+)", body))
    assert {"InvocationsInProgress", "EndingsByModel", "NotificationDelay", "Errors.service_error"} <= shown
    assert shown <= emitted | kinds, shown - emitted - kinds
