"""Whatever the parameters accept deploys: at the longest values they let through, SAM's translation of the template
stays within the limits AWS would refuse it at (issue 19, defect 12: many watched buckets).

- EventBridge: an event pattern of at most 2,048 characters (EventBridge quotas, "Event pattern size", the default;
  it can be raised to 4,096 on request). The output events rule lists every watched bucket's ARN.
- Lambda: 4 KB of environment variables, measured as Lambda measures them: the variables as compact JSON (its error
  says "exceeded the 4KB limit. String measured: {...}"). OUTPUT_BUCKETS lists every watched bucket's ARN.
- IAM: 10,240 characters of inline policies on one role (whitespace not counted). The listing policy names each.

Values that only exist once deployed stand in at their longest: names CloudFormation makes (stack name of 128
characters, logical id, 13 random characters, cut to the service's limit), ARNs in the longest partition and
Region; a Number parameter without MaxValue at 20 digits (a 64-bit integer)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from localrun import template

PATTERN_LIMIT = 2048
ENVIRONMENT_LIMIT = 4096
INLINE_POLICIES_LIMIT = 10240

PARTITION, REGION, ACCOUNT = "aws-us-gov", "ap-southeast-5", "123456789012"
STACK = "s" * 128


def generated(logical_id: str, limit: int) -> str:
    """A name CloudFormation makes: stack name, logical id, random suffix, cut to the service's limit."""
    return f"{STACK}-{logical_id}-{'R' * 13}"[:limit]


# What each resource's Ref and Fn::GetAtt give once deployed, at their longest.
PHYSICAL = {
    ("InvocationTable", "Ref"): generated("InvocationTable", 255),
    (
        "InvocationTable",
        "Arn",
    ): f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{generated('InvocationTable', 255)}",
    ("NotificationTopic", "Ref"): f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{generated('NotificationTopic', 256)}",
    ("ChecksQueue", "Ref"): f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{generated('ChecksQueue', 80)}",
    ("OutputBucket", "Arn"): f"arn:{PARTITION}:s3:::{'b' * 63}",
}
PSEUDO = {
    "AWS::Partition": PARTITION, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::StackName": STACK,
    "AWS::URLSuffix": "amazonaws.com",
}  # fmt: skip
NO_VALUE = object()


def physical(logical_id: str, attribute: str) -> str:
    """Any other resource's name or ARN: 256 characters, more than any of those the policies name."""
    return PHYSICAL.get((logical_id, attribute), "p" * 256)


def resolve(value: Any, parameters: dict[str, str], conditions: dict[str, Any]) -> Any:  # noqa: PLR0911 - a return per function
    """The value CloudFormation gives an expression of the translated template, for these parameters."""
    if isinstance(value, list):
        items = [resolve(item, parameters, conditions) for item in value]
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) != 1 or not next(iter(value)).startswith(("Fn::", "Ref", "Condition")):
        items = {key: resolve(item, parameters, conditions) for key, item in value.items()}
        return {key: item for key, item in items.items() if item is not NO_VALUE}
    ((function, argument),) = value.items()
    if function == "Ref":
        if argument == "AWS::NoValue":
            return NO_VALUE
        if argument in PSEUDO:
            return PSEUDO[argument]
        if argument in parameters:
            kind = template.template()["Parameters"][argument]["Type"]
            return parameters[argument].split(",") if kind == "CommaDelimitedList" else parameters[argument]
        return physical(argument, "Ref")
    if function == "Fn::GetAtt":
        return physical(argument[0], argument[1])
    if function in ("Condition", "Fn::Condition"):
        return resolve(conditions[argument], parameters, conditions)
    if function == "Fn::If":
        chosen = argument[1] if resolve({"Condition": argument[0]}, parameters, conditions) else argument[2]
        return resolve(chosen, parameters, conditions)
    if function == "Fn::Sub":
        text, names = (argument, {}) if isinstance(argument, str) else argument
        names = {k: resolve(v, parameters, conditions) for k, v in names.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in names:
                return str(names[name])
            if "." in name:
                return physical(*name.split(".", 1))
            return str(resolve({"Ref": name}, parameters, conditions))

        return re.sub(r"\$\{([^!}][^}]*)\}", substitute, text)
    values = resolve(argument, parameters, conditions)
    return {
        "Fn::Equals": lambda: values[0] == values[1],
        "Fn::Not": lambda: not values[0],
        "Fn::And": lambda: all(values),
        "Fn::Or": lambda: any(values),
        "Fn::Join": lambda: values[0].join(str(v) for v in values[1]),
        "Fn::Split": lambda: values[1].split(values[0]),
        "Fn::Select": lambda: values[1][int(values[0])],
    }[function]()


def arns(length: int, name_length: int, prefix: str) -> str:
    """Bucket ARNs with names of `name_length`, comma-separated, `length` characters in all (the last name longer
    or a bucket fewer to fill it exactly, names 3 to 63 characters)."""
    items: list[str] = []
    while True:
        used = len(",".join(items))
        step = len(prefix) + name_length + (1 if items else 0)
        if used + step > length:
            break
        items.append(prefix + f"{len(items):0{name_length}d}"[-name_length:].rjust(name_length, "0"))
    room = length - len(",".join(items))
    if room and items:
        last = items[-1][len(prefix) :]
        grown = last + "0" * min(room, 63 - len(last))
        items[-1] = prefix + grown
    return ",".join(items)


def longest(name: str) -> str:
    """The longest value a parameter's own constraints let through (bounded parameters only)."""
    parameter = template.template()["Parameters"][name]
    if "AllowedValues" in parameter:
        return max((str(v) for v in parameter["AllowedValues"]), key=len)
    if parameter["Type"] == "Number":
        return str(parameter["MaxValue"]) if "MaxValue" in parameter else "9" * 20
    return "x" * int(parameter["MaxLength"])


def bounded(name: str) -> bool:
    parameter = template.template()["Parameters"][name]
    return "AllowedValues" in parameter or parameter["Type"] == "Number" or "MaxLength" in parameter


def parameter_refs(value: Any) -> set[str]:
    text = json.dumps(value)
    names = set(re.findall(r'"Ref": "([^"]+)"', text)) | set(re.findall(r"\$\{([A-Za-z0-9]+)\}", text))
    return names & set(template.template()["Parameters"])


TRANSLATED = template.translated()
FUNCTION = TRANSLATED["Resources"]["TrackerFunction"]["Properties"]["Environment"]["Variables"]
RULE = TRANSLATED["Resources"]["OutputEventsRule"]["Properties"]["EventPattern"]


def test_every_parameter_the_environment_or_the_rules_pattern_holds_is_bounded() -> None:
    reaching = parameter_refs(FUNCTION) | parameter_refs(RULE)
    assert "OutputBucketArns" in reaching
    assert sorted(name for name in reaching if not bounded(name)) == []


# The watched buckets at their longest: many short names (the most ARNs, so the most quotes and commas), or the
# longest names in the longest partition.
BUCKETS = {"many short names": (3, "arn:aws:s3:::"), "long names": (63, f"arn:{PARTITION}:s3:::")}


@pytest.mark.parametrize("buckets", list(BUCKETS))
@pytest.mark.parametrize("create", ["true", "false"])
def test_at_the_longest_values_the_pattern_the_environment_and_the_policies_stay_within_aws_limits(
    buckets: str, create: str
) -> None:
    parameters = {name: longest(name) for name in template.template()["Parameters"] if bounded(name)}
    name_length, prefix = BUCKETS[buckets]
    watched = arns(int(template.template()["Parameters"]["OutputBucketArns"]["MaxLength"]), name_length, prefix)
    pattern = template.template()["Parameters"]["OutputBucketArns"]["AllowedPattern"]
    assert re.fullmatch(pattern, watched), "the stand-in ARNs must be ones the parameter takes"
    parameters |= {
        "OutputBucketArns": watched,
        "CreateOutputBucket": create,
        "Discovery": "true",
        "AlarmEmail": "a@b.c",
        "AllowedSenderAccounts": ACCOUNT,
    }
    conditions = TRANSLATED["Conditions"]

    event_pattern = resolve(RULE, parameters, conditions)
    assert len(event_pattern["resources"]) == watched.count(",") + 1 + (create == "true")
    assert len(json.dumps(event_pattern)) <= PATTERN_LIMIT  # spaced JSON: more than EventBridge counts

    environment = resolve(FUNCTION, parameters, conditions)
    assert environment["OUTPUT_BUCKETS"].endswith(watched)
    assert len(json.dumps(environment, separators=(",", ":")).encode()) <= ENVIRONMENT_LIMIT

    documents = [
        resolve(policy["PolicyDocument"], parameters, conditions)
        for resource in TRANSLATED["Resources"].values()
        if resource["Type"] == "AWS::IAM::Role"
        for policy in resource["Properties"].get("Policies", [])
    ] + [
        resolve(resource["Properties"]["PolicyDocument"], parameters, conditions)
        for resource in TRANSLATED["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": "TrackerRole"} in resource["Properties"]["Roles"]
    ]
    assert sum(len(json.dumps(document, separators=(",", ":"))) for document in documents) <= INLINE_POLICIES_LIMIT


def test_the_parameters_refuse_what_would_not_deploy() -> None:
    parameters = template.template()["Parameters"]
    too_many = arns(int(parameters["OutputBucketArns"]["MaxLength"]) + 1, 3, "arn:aws:s3:::")
    assert len(too_many) > int(parameters["OutputBucketArns"]["MaxLength"])  # CloudFormation refuses it
    pattern = parameters["OutputBucketArns"]["AllowedPattern"]
    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, "arn:aws:s3:::my-bedrock-outputs,arn:aws:s3:::other.bucket")
    assert not re.fullmatch(pattern, "arn:aws:s3:::my-bedrock-outputs, arn:aws:s3:::other")  # a space is no ARN
    assert not re.fullmatch(pattern, "my-bedrock-outputs")
    assert not re.fullmatch(pattern, "arn:aws:s3:::my-bucket/videos")  # a bucket, not a prefix
