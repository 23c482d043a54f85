"""Security of the deployment, read from the template and from SAM's translation of it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from localrun import template

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = os.environ.get("CHECKOV") or str(ROOT / ".venv-checkov" / "bin" / "checkov")

# The only statements allowed a "*" resource, and why: the service offers nothing narrower.
STAR_RESOURCE_REASONS = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "bedrock:ListAsyncInvokes": "it names no resource; granted only when Discovery is true",
    "states:SendTaskSuccess": "it names no resource; the task token is the capability",
    "states:SendTaskFailure": "it names no resource; the task token is the capability",
}


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return template.translated()


def granted(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement granted on a condition (`!If [condition, statement, AWS::NoValue]`) is checked as if granted."""
    return statement["Fn::If"][1] if "Fn::If" in statement else statement


def statements(translated: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, resource in translated["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            assert not resource["Properties"].get("ManagedPolicyArns"), f"{name} has managed policies"
            for policy in resource["Properties"].get("Policies", []):
                found += [(name, granted(statement)) for statement in policy["PolicyDocument"]["Statement"]]
        if resource["Type"] == "AWS::IAM::Policy":  # granted whatever its condition: checked all the same
            found += [(name, statement) for statement in resource["Properties"]["PolicyDocument"]["Statement"]]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_iam_has_no_wildcard_actions_and_wildcard_resources_only_where_the_service_demands(
    translated: dict[str, Any],
) -> None:
    found = statements(translated)
    assert {name for name, _ in found} == {
        "TrackerRole", "OutputListingPolicy", "DiscoveryPolicy", "EventsPolicy", "CallbacksPolicy",
        "DurableCallbacksPolicy",
    }  # fmt: skip
    for role, statement in found:
        assert statement["Effect"] == "Allow"
        actions = as_list(statement["Action"])
        assert all("*" not in action for action in actions), (role, actions)
        if "*" in as_list(statement["Resource"]):
            assert all(action in STAR_RESOURCE_REASONS for action in actions), (role, actions)


def test_output_listing_is_granted_only_on_the_watched_buckets_and_only_when_there_are_some() -> None:
    policy = template.template()["Resources"]["OutputListingPolicy"]
    assert policy["Condition"] == "WatchesOutputs"
    assert policy["Properties"]["Roles"] == [{"Ref": "TrackerRole"}]
    listing, reading = policy["Properties"]["PolicyDocument"]["Statement"]
    assert listing["Action"] == ["s3:ListBucket", "s3:GetBucketLocation"]
    assert listing["Resource"] == WATCHED_BUCKETS
    # reading: only the one file whose content a notification reports (outputs.REPORTS), in those buckets
    report = "/*/segmented-embedding-result.json"
    assert reading["Action"] == "s3:GetObject"
    assert reading["Resource"] == {
        "Fn::Split": [
            ",",
            {"Fn::Sub": [f"${{Buckets}}{report}", {"Buckets": {"Fn::Join": [f"{report},", WATCHED_BUCKETS]}}]},
        ]
    }


# The buckets the stack watches: those named, the one it creates, or both.
WATCHED_BUCKETS = {
    "Fn::If": [
        "WatchesBothKinds",
        {
            "Fn::Split": [
                ",",
                {
                    "Fn::Join": [
                        ",",
                        [{"Fn::GetAtt": ["OutputBucket", "Arn"]}, {"Ref": "OutputBucketArns"}],
                    ]
                },
            ]
        },
        {
            "Fn::If": [
                "HasOutputBuckets",
                {"Fn::Split": [",", {"Ref": "OutputBucketArns"}]},
                [{"Fn::GetAtt": ["OutputBucket", "Arn"]}],
            ]
        },
    ]
}


def test_events_of_objects_created_in_the_watched_buckets_go_to_the_checks_queue_and_nothing_else_may() -> None:
    rule = template.template()["Resources"]["OutputEventsRule"]
    assert rule["Condition"] == "WatchesOutputs"
    pattern = rule["Properties"]["EventPattern"]
    assert pattern == {"source": ["aws.s3"], "detail-type": ["Object Created"], "resources": WATCHED_BUCKETS}
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["ChecksQueue", "Arn"]}
    # what EventBridge could not deliver is kept, and only that rule may send it there
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ChecksDeadLetterQueue", "Arn"]}}
    dead_letters = template.resource("DeadLetterQueuesPolicy")["PolicyDocument"]["Statement"]
    (kept,) = [s["Fn::If"][1] for s in dead_letters if "Fn::If" in s]
    assert kept["Principal"] == {"Service": "events.amazonaws.com"}
    assert kept["Resource"] == {"Fn::GetAtt": ["ChecksDeadLetterQueue", "Arn"]}
    assert kept["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["OutputEventsRule", "Arn"]}}}
    statements = template.resource("ChecksQueuePolicy")["PolicyDocument"]["Statement"]
    allows = [s for s in statements if not (isinstance(s, dict) and s.get("Effect") == "Deny")]
    (allow,) = allows
    assert allow["Fn::If"][0] == "WatchesOutputs"
    events = allow["Fn::If"][1]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}  # no account, nobody else
    assert events["Action"] == "sqs:SendMessage"
    assert events["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["OutputEventsRule", "Arn"]}}}
    assert allow["Fn::If"][2] == {"Ref": "AWS::NoValue"}


def test_the_intake_queue_admits_eventbridge_only_for_the_rules_named() -> None:
    statements = template.resource("IntakeQueuePolicy")["PolicyDocument"]["Statement"]
    (events,) = [s for s in statements if "events.amazonaws.com" in str(s)]
    condition, allow, otherwise = events["Fn::If"]
    assert (condition, otherwise) == ("HasSenderRules", {"Ref": "AWS::NoValue"})
    assert allow["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::Split": [",", {"Ref": "AllowedSenderRuleArns"}]}}
    }


def test_the_function_may_send_to_the_checks_queue_and_read_the_id_index_only() -> None:
    statements = template.role_statements("TrackerRole")
    assert statements["Timers"]["Action"] == "sqs:SendMessage"
    assert statements["Timers"]["Resource"] == {"Fn::GetAtt": ["ChecksQueue", "Arn"]}
    assert {"Fn::Sub": "${InvocationTable.Arn}/index/ByInvocationId"} in statements["Records"]["Resource"]


def test_discovery_can_list_only_when_it_is_on() -> None:
    policy = template.template()["Resources"]["DiscoveryPolicy"]
    assert policy["Condition"] == "IsDiscovery"
    assert template.parameter_default("Discovery") == "false"
    actions = {s["Action"] for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert actions == {"bedrock:ListAsyncInvokes", "dynamodb:BatchGetItem"}
    role_actions = str(template.resource("TrackerRole")["Policies"])
    assert "ListAsyncInvokes" not in role_actions


def test_the_schedule_can_only_invoke_the_function_and_dead_letter_to_its_queue(translated: dict[str, Any]) -> None:
    """The sweep's rule has no role: Lambda's resource policy lets this rule invoke the function, and the sweep
    dead-letter queue's policy lets this rule, and no other, send its dead letters."""
    resources = translated["Resources"]
    assert "RoleArn" not in resources["TrackerFunctionSweep"]["Properties"]["Targets"][0]
    (permission,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    assert permission == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Ref": "TrackerFunction"},
        "Principal": "events.amazonaws.com",
        "SourceArn": {"Fn::GetAtt": ["TrackerFunctionSweep", "Arn"]},
    }
    document = resources["DeadLetterQueuesPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allowed = [granted(s) for s in document if granted(s)["Effect"] == "Allow"]
    sweep = [s for s in allowed if s["Resource"] == {"Fn::GetAtt": ["SweepDeadLetterQueue", "Arn"]}]
    assert sweep == [
        {
            "Sid": "SweepDeadLetters",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["SweepDeadLetterQueue", "Arn"]},
            "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["TrackerFunctionSweep", "Arn"]}}},
        }
    ]
    assert all(s["Principal"] == {"Service": "events.amazonaws.com"} and "aws:SourceArn" in str(s) for s in allowed)


def test_queues_and_topics_refuse_requests_without_tls() -> None:
    policies = {
        "IntakeQueuePolicy": "sqs:*",
        "ChecksQueuePolicy": "sqs:*",
        "DeadLetterQueuesPolicy": "sqs:*",
        "NotificationTopicPolicy": "sns:Publish",
        "AlarmTopicPolicy": "sns:Publish",
    }
    for name, action in policies.items():
        document = template.resource(name)["PolicyDocument"]["Statement"]
        deny = [s for s in document if isinstance(s, dict) and s.get("Sid") == "DenyWithoutTLS"]
        assert deny, name
        assert deny[0]["Effect"] == "Deny"
        assert deny[0]["Action"] == action
        assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    queues = {
        str(q["Ref"])
        for name in ("IntakeQueuePolicy", "ChecksQueuePolicy", "DeadLetterQueuesPolicy")
        for q in template.resource(name)["Queues"]
    }
    assert queues == {r for r, v in template.template()["Resources"].items() if v["Type"] == "AWS::SQS::Queue"}
    bucket = template.resource("OutputBucketPolicy")["PolicyDocument"]["Statement"][0]
    assert bucket["Effect"] == "Deny"
    assert bucket["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_everything_is_encrypted_at_rest() -> None:
    for queue in ("IntakeQueue", "IntakeDeadLetterQueue", "SweepDeadLetterQueue"):
        assert template.resource(queue)["SqsManagedSseEnabled"] is True
    assert template.resource("NotificationTopic")["KmsMasterKeyId"] == "alias/aws/sns"
    assert template.resource("AlarmTopic")["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    assert template.resource("AlarmTopicKey")["EnableKeyRotation"] is True
    assert template.resource("InvocationTable")["SSESpecification"] == {"SSEEnabled": True}
    assert template.resource("TrackerLogGroup")["KmsKeyId"] == {"Fn::GetAtt": ["LogsKey", "Arn"]}
    assert template.resource("LogsKey")["EnableKeyRotation"] is True


def test_the_table_is_protected_and_recoverable_and_the_function_can_be_bounded() -> None:
    table = template.template()["Resources"]["InvocationTable"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] == {"Ref": "TableDeletionProtection"}
    assert template.parameter_default("TableDeletionProtection") == "true"
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    function = template.template()["Resources"]["TrackerFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"]["Fn::If"][1] == {"Ref": "ReservedConcurrency"}


@pytest.mark.parametrize(
    ("alarm", "namespace", "metric"),
    [
        ("IntakeDeadLetterAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("SweepDeadLetterAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("FunctionErrorsAlarm", "AWS/Lambda", "Errors"),
        ("FunctionThrottlesAlarm", "AWS/Lambda", "Throttles"),
        ("NotificationsPendingAlarm", "BedrockAsyncTracker", "NotificationsPending"),
        ("InvocationsOverdueAlarm", "BedrockAsyncTracker", "InvocationsOverdue"),
        ("SendsRefusedAlarm", "BedrockAsyncTracker", "SendsRefused"),
    ],
)
def test_alarms_watch_what_goes_wrong_and_tell_the_alarm_topic(alarm: str, namespace: str, metric: str) -> None:
    properties = template.resource(alarm)
    assert (properties["Namespace"], properties["MetricName"]) == (namespace, metric)
    assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert properties["AlarmDescription"]
    if namespace == "BedrockAsyncTracker":  # the function's own EMF metrics, under the template's names
        globals_ = template.template()["Globals"]["Function"]["Environment"]["Variables"]
        assert globals_["POWERTOOLS_METRICS_NAMESPACE"] == namespace
        assert properties["Dimensions"] == [{"Name": "service", "Value": globals_["POWERTOOLS_SERVICE_NAME"]}]


def test_the_alarm_email_is_subscribed_only_when_given() -> None:
    subscription = template.template()["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_checkov_passes_with_every_suppression_explained() -> None:
    command = [CHECKOV, "-f", str(ROOT / "template.yaml"), "--framework", "cloudformation"]
    result = subprocess.run(
        [*command, "--skip-download", "--compact", "--quiet"], capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout
    for name, resource in template.template()["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 40, f"{name} skips {skip['id']} without a reason"


def test_events_may_be_put_on_the_named_bus_only_and_only_when_one_is_named() -> None:
    policy = template.template()["Resources"]["EventsPolicy"]
    assert policy["Condition"] == "PutsEvents"  # no bus named: no policy, no permission
    assert template.template()["Conditions"]["PutsEvents"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "EventBusName"}, ""]}]
    }
    assert template.parameter_default("EventBusName") == ""
    assert policy["Properties"]["Roles"] == [{"Ref": "TrackerRole"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == {
        "Fn::If": [
            "NamesBusByArn",
            {"Ref": "EventBusName"},
            {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"},
        ]
    }
    assert "events:" not in str(template.resource("TrackerRole")["Policies"])
    assert template.resource("TrackerFunction")["Environment"]["Variables"]["EVENT_BUS_NAME"] == {"Ref": "EventBusName"}


@pytest.mark.parametrize("boundary", ["", "arn:aws:iam::123456789012:policy/team-boundary"])
def test_every_role_the_stack_makes_takes_the_permissions_boundary_and_path(boundary: str) -> None:
    """SCPs often refuse iam:CreateRole without a boundary: every role, SAM's generated ones included, gets it."""
    parameters = {"PermissionsBoundaryArn": boundary, "RolePath": "/tracker/"}
    roles = {
        name: resource["Properties"]
        for name, resource in template.translated(parameters)["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    assert roles
    for name, properties in roles.items():
        assert properties.get("Path") == {"Ref": "RolePath"}, name
        assert properties.get("PermissionsBoundary") == {
            "Fn::If": ["HasPermissionsBoundary", {"Ref": "PermissionsBoundaryArn"}, {"Ref": "AWS::NoValue"}]
        }, name
