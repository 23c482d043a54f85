"""What the function may do to waiting workflows, read from SAM's translation of the template: end Step Functions
tasks whose token it holds (these actions name no resource in the Service Authorization Reference), and end the
callbacks of the durable executions of the functions DurableFunctionArns names, and of no other."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from localrun import template

FUNCTIONS = [
    "arn:aws:lambda:us-east-1:123456789012:function:render",
    "arn:aws:lambda:us-east-1:123456789012:function:ad",
]


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return template.translated({"DurableFunctionArns": ",".join(FUNCTIONS)})


def resolve(value: Any, parameters: dict[str, list[str]]) -> Any:
    """The few intrinsic functions these statements use, evaluated as CloudFormation would."""
    if isinstance(value, dict) and len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Ref" and argument in parameters:
            return parameters[argument]
        if name == "Fn::Join":
            delimiter, items = argument
            items = resolve(items, parameters)
            return delimiter.join(str(resolve(item, parameters)) for item in items)
        if name == "Fn::Split":
            delimiter, text = argument
            return str(resolve(text, parameters)).split(delimiter)
    if isinstance(value, list):
        return [resolve(item, parameters) for item in value]
    return value


def policy(translated: dict[str, Any], name: str) -> dict[str, Any]:
    resource: dict[str, Any] = translated["Resources"][name]
    assert resource["Type"] == "AWS::IAM::Policy"
    assert resource["Properties"]["Roles"] == [{"Ref": "TrackerRole"}]
    return resource


def test_tasks_are_resumed_on_the_only_resource_their_actions_allow(translated: dict[str, Any]) -> None:
    resource = policy(translated, "CallbacksPolicy")
    assert "Condition" not in resource  # a submission may carry a task token on any stack
    (statement,) = resource["Properties"]["PolicyDocument"]["Statement"]
    assert statement == {
        "Sid": "ResumeWaitingTasks",
        "Effect": "Allow",
        "Action": ["states:SendTaskSuccess", "states:SendTaskFailure"],
        "Resource": "*",
    }


def test_durable_callbacks_are_granted_on_the_named_functions_durable_executions_only(
    translated: dict[str, Any],
) -> None:
    resource = policy(translated, "DurableCallbacksPolicy")
    assert resource["Condition"] == "ResumesDurableFunctions"
    (statement,) = resource["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == [
        "lambda:SendDurableExecutionCallbackSuccess",
        "lambda:SendDurableExecutionCallbackFailure",
    ]
    granted = resolve(statement["Resource"], {"DurableFunctionArns": FUNCTIONS})
    assert granted == [f"{arn}:*" for arn in FUNCTIONS]

    def allowed(arn: str) -> bool:  # IAM's wildcard: * matches any run of characters, slashes too
        return any(fnmatch.fnmatchcase(arn, pattern) for pattern in granted)

    # The durable execution ARN Lambda authorizes them on (the Service Authorization Reference's "durable execution")
    render = "arn:aws:lambda:us-east-1:123456789012:function:render"
    assert allowed(f"{render}:$LATEST/durable-execution/order-42/0f5c9a3e")
    assert allowed(f"{render}:7/durable-execution/order-42/0f5c9a3e")
    assert not allowed("arn:aws:lambda:us-east-1:123456789012:function:renderer:1/durable-execution/x/y")
    assert not allowed("arn:aws:lambda:us-east-1:123456789012:function:other:1/durable-execution/x/y")
    assert not allowed("arn:aws:lambda:us-east-1:210987654321:function:render:1/durable-execution/x/y")


def test_without_durable_functions_named_none_is_granted() -> None:
    assert template.parameter_default("DurableFunctionArns") == ""
    conditions = template.template()["Conditions"]
    assert conditions["ResumesDurableFunctions"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "DurableFunctionArns"}]}, ""]}]
    }
    assert "SendDurableExecutionCallback" not in str(template.resource("TrackerRole")["Policies"])
