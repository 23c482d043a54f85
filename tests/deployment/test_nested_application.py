"""The README's nested-application examples deploy as written: each block marked `run as written by
tests/deployment/test_nested_application.py` is translated by SAM's own translator as a parent template, next to this
application's template (what SAR serves for the version it names), and every reference between them must resolve:
each parameter it sets exists and takes the value, each output it reads exists (and is not conditioned away), the
parameters pass the template's Rules, and a FIFO topic has only SQS FIFO queues subscribed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from localrun import template
from tests.deployment.test_template import Rules

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
# The README shows the example with the standard topic; docs/design.md the FIFO topic's.
EXAMPLES = README + (ROOT / "docs" / "design.md").read_text()
MARK = "<!-- run as written by tests/deployment/test_nested_application.py: {name} -->\n```yaml\n(.*?)```"
APPLICATION = template.template()["Metadata"]["AWS::ServerlessRepo::Application"]
PSEUDO = {"AWS::AccountId": "123456789012", "AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::StackName": "s"}


def block(name: str) -> dict[str, Any]:
    match = re.search(MARK.format(name=re.escape(name)), EXAMPLES, re.S)
    assert match, f"neither the README nor docs/design.md has a block marked {name!r}"
    return template.parse(match.group(1))


def references(value: Any, kind: str) -> list[Any]:
    if isinstance(value, dict):
        found = [value[kind]] if kind in value else []
        return found + [inner for item in value.values() for inner in references(item, kind)]
    if isinstance(value, list):
        return [inner for item in value for inner in references(item, kind)]
    return []


def evaluate(expression: Any, parameters: dict[str, str]) -> Any:
    """A condition of this application's template, as CloudFormation evaluates it for these parameters."""
    if isinstance(expression, list):
        return [evaluate(item, parameters) for item in expression]
    if not isinstance(expression, dict):
        return str(expression)
    ((function, argument),) = expression.items()
    if function == "Ref":
        if argument in PSEUDO:
            return PSEUDO[argument]
        value = parameters[argument]
        kind = template.template()["Parameters"][argument]["Type"]
        return value.split(",") if kind == "CommaDelimitedList" else value
    if function in ("Condition", "Fn::Condition"):
        return evaluate(template.template()["Conditions"][argument], parameters)
    values = evaluate(argument, parameters)
    return {
        "Fn::Equals": lambda: values[0] == values[1],
        "Fn::Not": lambda: not values[0],
        "Fn::And": lambda: all(values),
        "Fn::Or": lambda: any(values),
        "Fn::Join": lambda: values[0].join(values[1]),
        "Fn::Split": lambda: values[1].split(values[0]),
        "Fn::Select": lambda: values[1][int(values[0])],
    }[function]()


def accepted(name: str, value: str) -> bool:
    """Whether the parameter's own constraints let the value through, as CloudFormation checks them."""
    parameter = template.template()["Parameters"][name]
    values = value.split(",") if parameter["Type"] == "CommaDelimitedList" else [value]
    checks = [
        "AllowedValues" not in parameter or value in [str(v) for v in parameter["AllowedValues"]],
        "AllowedPattern" not in parameter or all(re.fullmatch(parameter["AllowedPattern"], v) for v in values),
        "MaxLength" not in parameter or len(value) <= int(parameter["MaxLength"]),
    ]
    if parameter["Type"] == "Number":
        checks += [
            "MinValue" not in parameter or float(value) >= float(parameter["MinValue"]),
            "MaxValue" not in parameter or float(value) <= float(parameter["MaxValue"]),
        ]
    return all(checks)


@pytest.mark.parametrize("name", ["nested", "nested-fifo"])
def test_the_readmes_nested_application_translates_and_every_reference_resolves(name: str) -> None:
    parent = block(name)
    (tracker,) = [n for n, r in parent["Resources"].items() if r["Type"] == "AWS::Serverless::Application"]
    location = parent["Resources"][tracker]["Properties"]["Location"]
    assert location["ApplicationId"].endswith(f":applications/{APPLICATION['Name']}")
    assert location["SemanticVersion"] == APPLICATION["SemanticVersion"]  # the version this README describes

    translated = template.translate(parent)["Resources"]  # SAM refuses what it cannot translate

    stack = translated[tracker]
    assert stack["Type"] == "AWS::CloudFormation::Stack"
    given = stack["Properties"].get("Parameters", {})
    ours = template.template()["Parameters"]
    assert set(given) <= set(ours), f"parameters the application does not have: {set(given) - set(ours)}"
    assert all(isinstance(value, str) for value in given.values()), "a nested stack takes strings only"
    assert [n for n, value in given.items() if not accepted(n, value)] == []
    parameters = {n: str(p.get("Default", "")) for n, p in ours.items()} | given
    assert Rules(parameters).refused() == []

    outputs = template.template()["Outputs"]
    read = [ref for ref in references(translated, "Fn::GetAtt") if ref[0] == tracker]
    assert read, "the example reads none of the application's outputs"
    for _, attribute in read:
        output = attribute.removeprefix("Outputs.")
        assert attribute.startswith("Outputs."), attribute
        assert output in outputs, f"the application has no output {attribute}"
        condition = outputs[output].get("Condition")
        assert condition is None or evaluate({"Condition": condition}, parameters), f"{output} is not made"
    names = set(translated) | set(parent.get("Parameters", {})) | set(PSEUDO)
    assert {ref for ref in references(translated, "Ref") if isinstance(ref, str)} <= names
    assert {ref[0] for ref in references(translated, "Fn::GetAtt")} <= set(translated)

    topic = {"Fn::GetAtt": [tracker, "Outputs.NotificationTopicArn"]}
    subscriptions = [r["Properties"] for r in translated.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert [s for s in subscriptions if s["TopicArn"] == topic], "the example subscribes nothing to the topic"
    if parameters["FifoTopic"] == "true":  # a FIFO topic delivers to SQS queues only
        for subscription in (s for s in subscriptions if s["TopicArn"] == topic):
            assert subscription["Protocol"] == "sqs", f"a FIFO topic takes no {subscription['Protocol']} subscription"
            queue = translated[subscription["Endpoint"]["Fn::GetAtt"][0]]
            assert queue["Type"] == "AWS::SQS::Queue"
            assert queue["Properties"].get("FifoQueue") is True  # the order and the deduplication kept
        policies = [r["Properties"] for r in translated.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
        assert [p for p in policies if topic in references(p, "aws:SourceArn")]  # the topic may send, nothing else


def test_every_block_marked_for_this_test_is_one_it_runs() -> None:
    marked = re.findall(r"<!-- run as written by tests/deployment/test_nested_application.py: ([\w-]+) -->", EXAMPLES)
    assert sorted(marked) == ["nested", "nested-fifo"]


def test_where_a_fifo_topic_is_offered_it_says_it_takes_sqs_queues_only() -> None:
    description = template.template()["Parameters"]["FifoTopic"]["Description"]
    assert "SQS queues only" in description
    assert all(protocol in description for protocol in ("email", "Lambda", "HTTPS"))
    row = next(line for line in README.splitlines() if line.startswith("| `FifoTopic` |"))
    assert "SQS queues only" in row


def test_the_stacks_own_subscriptions_never_land_on_a_topic_that_can_be_fifo() -> None:
    """The alarm e-mail goes to the alarm topic, always standard; only the notification topic can be FIFO."""
    resources = template.translated()["Resources"]
    for name, resource in resources.items():
        if resource["Type"] != "AWS::SNS::Subscription":
            continue
        topic = resource["Properties"]["TopicArn"]["Ref"]
        can_be_fifo = "FifoTopic" in resources[topic]["Properties"]
        assert not can_be_fifo or resource["Properties"]["Protocol"] == "sqs", name
