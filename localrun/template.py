"""Reads template.yaml, so that the local stack and the tests build the same resources the deployment does."""

from __future__ import annotations

import copy
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (`!Ref X` becomes `{"Ref": "X"}`)."""


def _tag(loader: _Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{suffix}", node.start_mark)
    return {name: value}


_Loader.add_multi_constructor("!", _tag)


def parse(text: str) -> dict[str, Any]:
    """A CloudFormation template in YAML (or JSON), short tags read as CloudFormation reads them."""
    loaded: dict[str, Any] = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    return loaded


def load(path: Path) -> dict[str, Any]:
    return parse(path.read_text())


@cache
def template() -> dict[str, Any]:
    return load(TEMPLATE)


def resource(logical_id: str) -> dict[str, Any]:
    return dict(template()["Resources"][logical_id]["Properties"])


def role_statements(logical_id: str) -> dict[str, dict[str, Any]]:
    """A role's inline statements by Sid; one granted on a condition (`!If [c, statement, AWS::NoValue]`) as if
    the condition held, with the condition's name under "Condition:"."""
    found = {}
    for policy in resource(logical_id)["Policies"]:
        for written in policy["PolicyDocument"]["Statement"]:
            statement = written
            if "Fn::If" in written:
                condition, granted, _ = written["Fn::If"]
                statement = {**granted, "Condition:": condition}
            found[statement["Sid"]] = statement
    return found


def parameter_default(name: str) -> Any:
    return template()["Parameters"][name]["Default"]


def _resolve(value: Any) -> Any:
    """Parameter references resolved to their defaults; anything else left as it is."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in template()["Parameters"]:
        return parameter_default(value["Ref"])
    return value


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable arguments for the records table, exactly as the template defines it."""
    properties = resource("InvocationTable")
    return {
        "TableName": table_name,
        "BillingMode": properties["BillingMode"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "GlobalSecondaryIndexes": properties["GlobalSecondaryIndexes"],
    }


def ttl_attribute() -> str:
    return str(resource("InvocationTable")["TimeToLiveSpecification"]["AttributeName"])


def intake_settings() -> dict[str, Any]:
    """What Lambda's event source mapping and the intake queue are given by the template."""
    queue = resource("IntakeQueue")
    event = template()["Resources"]["TrackerFunction"]["Properties"]["Events"]["Intake"]["Properties"]
    return {
        "visibility_timeout": int(queue["VisibilityTimeout"]),
        "max_receive_count": int(_resolve(queue["RedrivePolicy"]["maxReceiveCount"])),
        "batch_size": int(_resolve(event["BatchSize"])),
        "batching_window": int(_resolve(event["MaximumBatchingWindowInSeconds"])),
        "report_batch_item_failures": "ReportBatchItemFailures" in event.get("FunctionResponseTypes", []),
    }


def schedule() -> tuple[float, dict[str, Any]]:
    """The sweep schedule's period in seconds and the `Input` it sends."""
    event = template()["Resources"]["TrackerFunction"]["Properties"]["Events"]["Sweep"]["Properties"]
    expression = str(_resolve(event["Schedule"]))
    match = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|second|seconds)\)", expression)
    if match is None:
        raise ValueError(f"the local stack runs rate() schedules only, not {expression!r}")
    unit = {"second": 1, "minute": 60, "hour": 3600}[match[2].rstrip("s")]
    return float(int(match[1]) * unit), json.loads(event["Input"])


def scaled_schedule(time_factor: float) -> tuple[int, str]:
    """The sweep period on a clock `time_factor` times as fast, in whole seconds, and as a rate expression."""
    period, _ = schedule()
    seconds = max(1, round(period * time_factor))
    return seconds, f"rate({seconds} second{'s' if seconds > 1 else ''})"


def function_settings() -> dict[str, Any]:
    """Code, handler, timeout, memory and the environment the template gives the function, parameters at their
    defaults."""
    globals_ = template()["Globals"]["Function"]
    function = template()["Resources"]["TrackerFunction"]["Properties"]
    env = {**globals_["Environment"]["Variables"], **function["Environment"]["Variables"]}
    plain = {name: str(_resolve(value)) for name, value in env.items() if not isinstance(_resolve(value), dict)}
    return {
        "code_uri": str(function["CodeUri"]),
        "handler": str(function.get("Handler", globals_.get("Handler"))),
        "timeout": int(function.get("Timeout", globals_["Timeout"])),
        "memory": int(function.get("MemorySize", globals_["MemorySize"])),
        "environment": plain,
    }


def output_events_pattern(bucket_arns: list[str]) -> dict[str, Any]:
    """The template's rule for objects created in the watched buckets, for these buckets."""
    pattern = dict(template()["Resources"]["OutputEventsRule"]["Properties"]["EventPattern"])
    return {**pattern, "resources": bucket_arns}


def checks_settings() -> dict[str, Any]:
    """The checks queue and its event source mapping, as the template sets them."""
    queue = resource("ChecksQueue")
    event = template()["Resources"]["TrackerFunction"]["Properties"]["Events"]["Checks"]["Properties"]
    return {
        "visibility_timeout": int(queue["VisibilityTimeout"]),
        "max_receive_count": int(_resolve(queue["RedrivePolicy"]["maxReceiveCount"])),
        "batch_size": int(_resolve(event["BatchSize"])),
        "batching_window": int(_resolve(event["MaximumBatchingWindowInSeconds"])),
    }


def translated(parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation that `sam deploy` would create from the template, translated offline by SAM's own
    translator as `sam validate` does (no managed policies are looked up: the template uses none)."""
    return translate(template(), parameters)


# Where the stand-in for the Serverless Application Repository says a nested application's template is.
NESTED_TEMPLATE_URL = "https://example-bucket.s3.amazonaws.com/{name}/{version}/template.yaml"


def translate(document: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Any SAM template translated offline: local code paths stand for what `sam package` uploads, and a nested
    application (AWS::Serverless::Application from SAR) becomes a stack whose template is at NESTED_TEMPLATE_URL
    (SAM's own plugin, given a stand-in for SAR's CreateCloudFormationTemplate instead of the service)."""
    from samtranslator.parser.parser import Parser
    from samtranslator.plugins.application.serverless_app_plugin import ServerlessAppPlugin
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    class StandInRepository:
        def create_cloud_formation_template(self, ApplicationId: str, SemanticVersion: str) -> dict[str, str]:
            url = NESTED_TEMPLATE_URL.format(name=ApplicationId.rsplit("/", 1)[-1], version=SemanticVersion)
            return {"ApplicationId": ApplicationId, "TemplateId": "stand-in", "TemplateUrl": url, "Status": "ACTIVE"}

    document = copy.deepcopy(document)
    for resource in document.get("Resources", {}).values():
        code = resource.get("Properties", {}).get("CodeUri")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(code, str) and "://" not in code:
            resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"  # what `sam package` puts there
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    values = dict(parameters or {})
    to_py27_compatible_template(document, values)  # as samtranslator's own transform() does
    plugin = ServerlessAppPlugin(sar_client=StandInRepository(), parameters=values)
    result = Translator(None, Parser(), plugins=[plugin]).translate(
        document, parameter_values=values, get_managed_policy_map=lambda: {}
    )
    translated: dict[str, Any] = undo_mark_unicode_str_in_template(result)
    return translated
