"""The template: valid for SAM and cfn-lint, and holding every resource and setting the contract relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from localrun import template

ROOT = Path(__file__).resolve().parents[2]
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


def test_cfn_lint_and_aws_serverless_rules_are_clean() -> None:
    # cfn-lint-serverless: AWS Labs' Serverless Rules; what they find and we keep is suppressed in the template
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            str(ROOT / "template.yaml"),
            "--append-rules",  # takes every word after it
            "cfn_lint_serverless.rules",
        ],
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
    assert globals_["Tracing"] == {"Ref": "Tracing"}
    assert template.parameter_default("Tracing") == "Active"  # Lambda's own segments: no X-Ray SDK in the package
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


def test_sweep_is_an_eventbridge_rule_with_input_retries_and_its_own_dead_letter_queue() -> None:
    event = function()["Events"]["Sweep"]
    assert event["Type"] == "Schedule"  # an AWS::Events::Rule, which SAR publishes; not ScheduleV2 (Scheduler)
    properties = event["Properties"]
    assert properties["Schedule"] == {"Ref": "SweepSchedule"}
    assert properties["State"] == {"Ref": "SweepState"}
    assert template.parameter_default("SweepSchedule") == "rate(1 minute)"
    assert properties["Input"]
    assert properties["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert 60 <= properties["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 86400  # EventBridge's bounds
    assert properties["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["SweepDeadLetterQueue", "Arn"]}}


def test_the_translated_sweep_rule_targets_the_function_with_the_input_retries_and_dead_letter_queue() -> None:
    resources = template.translated()["Resources"]
    rule = resources["TrackerFunctionSweep"]
    assert rule["Type"] == "AWS::Events::Rule"
    assert rule["Properties"]["ScheduleExpression"] == {"Ref": "SweepSchedule"}
    assert rule["Properties"]["State"] == {"Ref": "SweepState"}
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["TrackerFunction", "Arn"]}
    assert json.loads(target["Input"]) == template.schedule()[1]
    assert target["RetryPolicy"] == function()["Events"]["Sweep"]["Properties"]["RetryPolicy"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["SweepDeadLetterQueue", "Arn"]}}
    (permission,) = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    assert permission["Properties"]["Principal"] == "events.amazonaws.com"
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": ["TrackerFunctionSweep", "Arn"]}
    assert not [r for r in resources.values() if r["Type"].startswith("AWS::Scheduler::")]


def test_the_table_is_keyed_on_the_arn_with_an_index_of_due_work_ttl_encryption_and_recovery() -> None:
    table = template.resource("InvocationTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "invocationArn", "KeyType": "HASH"}]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"DueWork", "ByInvocationId"}
    assert indexes["ByInvocationId"]["KeySchema"] == [{"AttributeName": "invocationId", "KeyType": "HASH"}]
    assert indexes["ByInvocationId"]["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]}
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_the_topic_is_encrypted_and_can_be_fifo() -> None:
    topic = template.resource("NotificationTopic")
    assert topic["KmsMasterKeyId"] == "alias/aws/sns"
    assert topic["FifoTopic"] == {"Fn::If": ["IsFifo", True, {"Ref": "AWS::NoValue"}]}
    assert template.template()["Parameters"]["FifoTopic"]["AllowedValues"] == ["true", "false"]


def test_the_role_grants_each_action_on_its_own_resource_only() -> None:
    statements = template.role_statements("TrackerRole")
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
    assert statements["Traces"]["Condition:"] == "IsTraced"  # granted only while Tracing is Active


def test_outputs_name_what_users_need() -> None:
    assert {
        "IntakeQueueUrl", "IntakeQueueArn", "IntakeDeadLetterQueueUrl", "NotificationTopicArn",
        "InvocationTableName", "TrackerFunctionName",
    } <= set(template.template()["Outputs"])  # fmt: skip


# -- what deploys, and what AWS would refuse -------------------------------------------------------------------

# The property that carries each resource type's physical name, when it has one; a name fixed in the template is the
# same in every stack, and a second stack in the account and region fails to create it.
PHYSICAL_NAMES = {
    "AWS::Scheduler::Schedule": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Events::Rule": "Name",
    "AWS::Events::EventBus": "Name",
}
# Types whose names are not account-wide (an inline policy's name is its role's), or that have none.
UNNAMED = {
    "AWS::IAM::Policy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::SNS::Subscription",
    "AWS::KMS::Key", "AWS::Lambda::EventSourceMapping", "AWS::Lambda::Permission", "AWS::S3::BucketPolicy",
}  # fmt: skip


def test_no_physical_name_is_the_same_in_two_stacks() -> None:
    resources = template.translated()["Resources"]
    for name, resource in resources.items():
        kind = resource["Type"]
        assert kind in PHYSICAL_NAMES or kind in UNNAMED, f"{name}: is {kind} named account-wide? decide here"
        value = resource.get("Properties", {}).get(PHYSICAL_NAMES.get(kind, ""))
        if value is not None:
            assert "AWS::StackName" in json.dumps(value), f"{name} ({kind}) is always named {value!r}"
    assert "Name" not in resources["TrackerFunctionSweep"]["Properties"]  # CloudFormation names the rule per stack


class Rules:
    """CloudFormation's evaluation of the template's Rules, for the functions it uses, with parameters as strings."""

    def __init__(self, parameters: dict[str, str]) -> None:
        defaults = {name: str(p.get("Default", "")) for name, p in template.template()["Parameters"].items()}
        self.parameters = {**defaults, **parameters}

    def value(self, expression: Any) -> Any:
        if isinstance(expression, dict):
            ((function, arguments),) = expression.items()
            if function == "Ref":
                return self.parameters[arguments]
            values = [self.value(argument) for argument in arguments]
            return {
                "Fn::Equals": lambda: values[0] == values[1],
                "Fn::Not": lambda: not values[0],
                "Fn::And": lambda: all(values),
                "Fn::Or": lambda: any(values),
                "Fn::Contains": lambda: values[1] in values[0],
            }[function]()
        if isinstance(expression, list):
            return [self.value(item) for item in expression]
        return str(expression)

    def refused(self) -> list[str]:
        """The AssertDescription of every assertion these parameters fail: CloudFormation creates nothing then."""
        failed = []
        for rule in template.template().get("Rules", {}).values():
            if "RuleCondition" in rule and not self.value(rule["RuleCondition"]):
                continue
            failed += [a["AssertDescription"] for a in rule["Assertions"] if not self.value(a["Assert"])]
        return failed


def allowed(name: str) -> list[str]:
    """Every value a parameter's own constraints let through."""
    parameter = template.template()["Parameters"][name]
    if "AllowedValues" in parameter:
        return [str(value) for value in parameter["AllowedValues"]]
    return [str(value) for value in range(int(parameter["MinValue"]), int(parameter["MaxValue"]) + 1)]


def test_batch_parameters_that_lambda_refuses_cannot_be_deployed() -> None:
    """Lambda refuses an SQS event source mapping with a BatchSize above 10 and no batching window."""
    for size in allowed("BatchSize"):
        for window in allowed("MaximumBatchingWindowInSeconds"):
            lambda_accepts = int(size) <= 10 or int(window) >= 1
            deployable = not Rules({"BatchSize": size, "MaximumBatchingWindowInSeconds": window}).refused()
            assert deployable == lambda_accepts, (size, window)


def test_a_fifo_topic_deploys_only_with_sweeps_that_retry_inside_its_deduplication_window() -> None:
    """A publish whose outcome is unknown is retried by the first sweep after its lease (the run's 60 s plus 30 s):
    on a FIFO topic that must be within SNS's 5 minutes, or the repeat is delivered."""
    from tracking.config import _rate
    from tracking.lifecycle import LEASE_MARGIN

    run = timedelta(seconds=template.function_settings()["timeout"])
    for schedule in allowed("SweepSchedule"):
        period = _rate(schedule)
        fifo_deployable = not Rules({"FifoTopic": "true", "SweepSchedule": schedule}).refused()
        assert fifo_deployable == (run + LEASE_MARGIN + period < timedelta(minutes=5)), schedule
        assert not Rules({"FifoTopic": "false", "SweepSchedule": schedule}).refused()


def test_every_allowed_schedule_is_a_rate_the_function_reads() -> None:
    from tracking.config import _rate

    assert [_rate(schedule).total_seconds() for schedule in allowed("SweepSchedule")] == [
        60, 120, 180, 300, 600, 900, 1800, 3600,
    ]  # fmt: skip
    assert function()["Environment"]["Variables"]["SWEEP_SCHEDULE"] == {"Ref": "SweepSchedule"}


def test_cloudwatch_alarms_of_this_account_may_use_the_alarm_topics_key() -> None:
    """CloudWatch cannot publish to a topic encrypted with alias/aws/sns, whose policy nobody may change."""
    assert template.resource("AlarmTopic")["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    statements = template.resource("AlarmTopicKey")["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch["Effect"] == "Allow"
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"
    }
    (publish,) = [
        s for s in template.resource("AlarmTopicPolicy")["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}


def test_records_outlive_any_message_that_spent_its_whole_life_in_the_queues() -> None:
    """A message's life in a standard queue and its dead-letter queue counts from when it was first sent; the
    records must be kept at least that long, or a message redriven late finds its ending too old to notify."""
    days = max(int(template.resource(q)["MessageRetentionPeriod"]) for q in ("IntakeQueue", "IntakeDeadLetterQueue"))
    assert days / 86400 == 14
    assert template.template()["Parameters"]["RecordRetentionDays"]["MinValue"] >= days / 86400


def test_no_parameter_promises_cross_account_reads_bedrock_cannot_grant() -> None:
    assert "AllowedInvocationAccounts" not in template.template()["Parameters"]
    assert function()["Environment"]["Variables"]["ALLOWED_ACCOUNTS"] == {"Ref": "AWS::AccountId"}


def test_the_due_work_index_carries_what_a_sweep_judges_by() -> None:
    """A sweep decides from the index alone whether an invocation may have ended (submitTime, modelArn): with fewer
    attributes projected, adaptive polling would ask about everything, every sweep."""
    from tracking.records import DueItem

    (index,) = [
        i for i in template.resource("InvocationTable")["GlobalSecondaryIndexes"] if i["IndexName"] == "DueWork"
    ]
    projected = {"invocationArn", "work", "dueAt", *index["Projection"].get("NonKeyAttributes", [])}
    stored = {
        "invocationArn": {"S": "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12"},
        "work": {"S": "poll"},
        "dueAt": {"N": "1795000000"},
        "submitTime": {"S": "2026-11-26T12:00:00.000Z"},
        "modelArn": {"S": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1"},
        "status": {"S": "InProgress"},
    }
    item = DueItem.of({name: value for name, value in stored.items() if name in projected})
    assert item.submit_time is not None
    assert item.model_id == "amazon.nova-reel-v1:1"


def _resolved(expression: Any, rules: Rules) -> Any:
    """A property as CloudFormation resolves it for these parameters: Fn::If on the template's Conditions."""
    if isinstance(expression, dict) and "Fn::If" in expression:
        condition, then, otherwise = expression["Fn::If"]
        chosen = then if rules.value(template.template()["Conditions"][condition]) else otherwise
        return _resolved(chosen, rules)
    return expression


@pytest.mark.parametrize("alarm", ["NotificationsPendingAlarm", "EventsNotPutAlarm"])
def test_alarms_that_count_sweeps_mean_three_sweeps_at_every_schedule(alarm: str) -> None:
    """A data point comes from each sweep: a period shorter than the sweep's has none in most periods (missing data is
    not breaching), so "three in a row" would never happen at slower rates; one longer would need fewer sweeps."""
    from tracking.config import _rate

    properties = template.resource(alarm)
    assert properties["TreatMissingData"] == "notBreaching"
    for schedule in allowed("SweepSchedule"):
        rules = Rules({"SweepSchedule": schedule})
        period = int(_resolved(properties["Period"], rules))
        assert period == _rate(schedule).total_seconds(), schedule
        assert int(properties["EvaluationPeriods"]) == 3
        assert "DatapointsToAlarm" not in properties  # every one of the three


def test_only_the_records_and_the_output_bucket_outlive_the_stack() -> None:
    """Tear-down keeps, on purpose, the data a user may still want (the records, Bedrock's outputs) and nothing else:
    a key is kept only with what it encrypts."""
    kept = {
        name
        for name, resource in template.template()["Resources"].items()
        if resource.get("DeletionPolicy") == "Retain" or resource.get("UpdateReplacePolicy") == "Retain"
    }
    assert kept == {"InvocationTable", "OutputBucket"}


def test_the_log_group_is_named_in_an_output() -> None:
    assert template.template()["Outputs"]["TrackerLogGroupName"]["Value"] == {"Ref": "TrackerLogGroup"}
