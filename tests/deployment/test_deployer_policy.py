"""docs/deployer-policy.json, the permissions a principal needs to deploy the stack: it covers every resource type SAM's
translation of the template creates, and scopes what it can to the stack's own names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from localrun import template

POLICY = Path(__file__).resolve().parents[2] / "docs" / "deployer-policy.json"
# The call CloudFormation makes to create each resource type (a new type in the template must be added here, and
# its service's actions to the policy).
CREATES = {
    "AWS::CloudWatch::Alarm": "cloudwatch:PutMetricAlarm",
    "AWS::CloudWatch::Dashboard": "cloudwatch:PutDashboard",
    "AWS::DynamoDB::Table": "dynamodb:CreateTable",
    "AWS::Events::Rule": "events:PutRule",
    "AWS::IAM::Policy": "iam:PutRolePolicy",
    "AWS::IAM::Role": "iam:CreateRole",
    "AWS::KMS::Key": "kms:CreateKey",
    "AWS::Lambda::EventSourceMapping": "lambda:CreateEventSourceMapping",
    "AWS::Lambda::Function": "lambda:CreateFunction",
    "AWS::Lambda::Permission": "lambda:AddPermission",
    "AWS::Logs::LogGroup": "logs:CreateLogGroup",
    "AWS::S3::Bucket": "s3:CreateBucket",
    "AWS::S3::BucketPolicy": "s3:PutBucketPolicy",
    "AWS::SNS::Subscription": "sns:Subscribe",
    "AWS::SNS::Topic": "sns:CreateTopic",
    "AWS::SNS::TopicPolicy": "sns:SetTopicAttributes",
    "AWS::SQS::Queue": "sqs:CreateQueue",
    "AWS::SQS::QueuePolicy": "sqs:SetQueueAttributes",
}


def statements() -> list[dict[str, Any]]:
    document = json.loads(POLICY.read_text())
    assert document["Version"] == "2012-10-17"
    return list(document["Statement"])


def test_the_deployer_may_create_every_resource_type_the_stack_has() -> None:
    granted = {action for statement in statements() for action in statement["Action"]}
    parameters = {"CreateOutputBucket": "true", "AlarmEmail": "ops@example.com", "EventBusName": "jobs"}
    types = {resource["Type"] for resource in template.translated(parameters)["Resources"].values()}
    assert types <= set(CREATES), f"add the new types to CREATES and the policy: {types - set(CREATES)}"
    for kind in types:
        assert CREATES[kind] in granted, kind
    assert "iam:PassRole" in granted


def test_the_deployer_policy_scopes_to_the_stacks_names_where_the_service_allows() -> None:
    # lambda:GetEventSourceMapping takes no resource and no condition (Lambda Developer Guide, "Resources and
    # conditions for Lambda actions"): under the lambda:FunctionArn condition it would never be granted.
    unscoped = {
        "cloudformation:ValidateTemplate",
        "logs:DescribeLogGroups",
        "kms:CreateKey",
        "lambda:GetEventSourceMapping",
    }
    for statement in statements():
        assert statement["Effect"] == "Allow"
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if resources == ["*"]:
            assert set(statement["Action"]) <= unscoped or "Condition" in statement, statement["Sid"]
            continue
        for resource in resources:
            assert ":ACCOUNT_ID:" in resource or resource.startswith(("arn:aws:s3:::", "arn:aws:cloudformation:*:aws:"))
            ours = ("bedrock-async-tracker", "aws-sam-cli-managed-default", ":key/", "transform/")  # SAM's: packaging
            assert any(name in resource for name in ours), resource
        if any(":key/" in r for r in resources):
            assert statement["Condition"] == {
                "StringEquals": {"aws:ResourceTag/aws:cloudformation:stack-name": "bedrock-async-tracker"}
            }
    (pass_role,) = [s for s in statements() if "iam:PassRole" in s["Action"]]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
