"""Who may send to the intake queue: its policy, evaluated as IAM evaluates a resource policy, for each kind of sender
and the parameters that admit them (accounts, an organization, named principals, EventBridge rules)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

import pytest

from localrun import template

ACCOUNT = "111111111111"
QUEUE = "arn:aws:sqs:us-east-1:111111111111:intake"


@dataclass
class Request:
    """A SendMessage's request context, as IAM sees it (a key missing from it is absent, not empty)."""

    keys: dict[str, str] = field(default_factory=dict)
    principal: dict[str, str] = field(default_factory=dict)  # {"AWS": account} or {"Service": name}
    action: str = "sqs:SendMessage"


def role(account: str, name: str = "producer", org: str | None = None, tls: bool = True) -> Request:
    keys = {
        "aws:PrincipalAccount": account,
        "aws:PrincipalArn": f"arn:aws:iam::{account}:role/{name}",
        "aws:PrincipalIsAWSService": "false",
        "aws:SecureTransport": str(tls).lower(),
    }
    if org:
        keys["aws:PrincipalOrgID"] = org
    return Request(keys, {"AWS": account})


def rule(arn: str) -> Request:
    keys = {"aws:SourceArn": arn, "aws:PrincipalIsAWSService": "true", "aws:SecureTransport": "true"}
    return Request(keys, {"Service": "events.amazonaws.com"})


class Policy:
    """The queue policy as CloudFormation resolves it for these parameters."""

    def __init__(self, **parameters: str) -> None:
        given = {name: str(p.get("Default", "")) for name, p in template.template()["Parameters"].items()}
        self.parameters = {**given, **parameters, "AWS::AccountId": ACCOUNT}
        raw = template.resource("IntakeQueuePolicy")["PolicyDocument"]["Statement"]
        self.statements = [s for s in (self.value(s) for s in raw) if s is not None]

    def value(self, expression: Any) -> Any:
        if isinstance(expression, list):
            return [v for v in (self.value(item) for item in expression) if v is not None]
        if not isinstance(expression, dict):
            return expression
        if len(expression) == 1 and (function := next(iter(expression))) in self.FUNCTIONS:
            return getattr(self, self.FUNCTIONS[function])(expression[function])
        return {key: self.value(value) for key, value in expression.items()}

    FUNCTIONS = {"Ref": "_ref", "Fn::If": "_if", "Fn::GetAtt": "_get_att", "Fn::Join": "_join", "Fn::Split": "_split"}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return None
        value = self.parameters[name]
        kind = template.template()["Parameters"].get(name, {}).get("Type")
        return value.split(",") if kind == "CommaDelimitedList" else value

    def _if(self, argument: list[Any]) -> Any:
        condition, then, otherwise = argument
        return self.value(then if self.holds(condition) else otherwise)

    def _get_att(self, _argument: Any) -> str:
        return QUEUE

    def _join(self, argument: list[Any]) -> str:
        separator, items = argument
        return str(separator).join(str(v) for v in self.flat(self.value(items)))

    def _split(self, argument: list[Any]) -> list[str]:
        separator, text = argument
        return str(self.value(text)).split(separator)

    def flat(self, values: list[Any]) -> list[Any]:
        return [x for v in values for x in (v if isinstance(v, list) else [v])]

    def holds(self, condition: str) -> bool:
        return bool(self.condition(template.template()["Conditions"][condition]))

    def condition(self, expression: Any) -> Any:
        if isinstance(expression, dict):
            ((function, arguments),) = expression.items()
            if function == "Condition":
                return self.holds(arguments)
            if function in ("Ref", "Fn::Join"):
                return self.value(expression)
            values = [self.condition(a) for a in arguments]
            return {
                "Fn::Equals": lambda: values[0] == values[1],
                "Fn::Not": lambda: not values[0],
                "Fn::And": lambda: all(values),
                "Fn::Or": lambda: any(values),
            }[function]()
        return expression

    def allows(self, request: Request) -> bool:
        matching = [s for s in self.statements if self._matches(s, request)]
        if any(s["Effect"] == "Deny" for s in matching):
            return False
        same_account = request.principal.get("AWS") == ACCOUNT  # its own identity policy may allow it
        return same_account or any(s["Effect"] == "Allow" for s in matching)

    def _matches(self, statement: dict[str, Any], request: Request) -> bool:
        principal = statement["Principal"]
        if principal != "*":
            ((kind, names),) = principal.items()
            names = names if isinstance(names, list) else [names]
            if request.principal.get(kind) not in [str(n).split(":")[-2] if ":" in str(n) else n for n in names]:
                return False
        action = statement["Action"]
        if not fnmatch.fnmatchcase(request.action, action):
            return False
        return all(
            self._test(operator, key, values, request)
            for operator, keys in statement.get("Condition", {}).items()
            for key, values in keys.items()
        )

    @staticmethod
    def _test(operator: str, key: str, values: Any, request: Request) -> bool:
        wanted = [str(v) for v in (values if isinstance(values, list) else [values])]
        if key not in request.keys:  # a negated operator matches a missing key; every other one does not
            return operator.startswith(("StringNot", "ArnNot"))
        have = request.keys[key]
        if operator in ("StringEquals", "Bool", "ArnEquals"):
            return have in wanted
        if operator == "StringNotEquals":
            return have not in wanted
        if operator == "ArnNotLike":
            return not any(fnmatch.fnmatchcase(have, w) for w in wanted)
        raise AssertionError(f"operator {operator} not modelled")


ORG = "o-abcdefghij"
RULE = "arn:aws:events:us-east-1:111111111111:rule/forward-jobs"


@pytest.mark.parametrize(
    ("parameters", "request_", "allowed"),
    [
        ({}, role(ACCOUNT), True),
        ({}, role(ACCOUNT, tls=False), False),
        ({}, role("222222222222"), False),
        ({"AllowedSenderAccounts": "222222222222"}, role("222222222222"), True),
        ({"AllowedSenderAccounts": "222222222222"}, role("333333333333"), False),
        ({}, role("333333333333", org=ORG), False),
        ({"AllowedSenderOrgId": ORG}, role("333333333333", org=ORG), True),
        ({"AllowedSenderOrgId": ORG}, role("444444444444", org="o-otherorgxyz"), False),
        ({"AllowedSenderOrgId": ORG}, role("444444444444"), False),
        ({"AllowedSenderOrgId": ORG}, role(ACCOUNT), True),
        ({"AllowedSenderPrincipalArns": f"arn:aws:iam::{ACCOUNT}:role/producer"}, role(ACCOUNT), True),
        ({"AllowedSenderPrincipalArns": f"arn:aws:iam::{ACCOUNT}:role/producer"}, role(ACCOUNT, "intruder"), False),
        ({"AllowedSenderPrincipalArns": "arn:aws:iam::*:role/video-*"}, role(ACCOUNT, "video-maker"), True),
        (
            {"AllowedSenderAccounts": "222222222222", "AllowedSenderPrincipalArns": f"arn:aws:iam::{ACCOUNT}:role/p"},
            role("222222222222"),
            False,
        ),
        ({}, rule(RULE), False),
        ({"AllowedSenderRuleArns": RULE}, rule(RULE), True),
        ({"AllowedSenderRuleArns": RULE}, rule(RULE.replace("forward-jobs", "another")), False),
        ({"AllowedSenderRuleArns": RULE, "AllowedSenderPrincipalArns": "arn:aws:iam::*:role/x"}, rule(RULE), True),
    ],
)
def test_the_intake_queue_admits_exactly_the_senders_its_parameters_name(
    parameters: dict[str, str], request_: Request, allowed: bool
) -> None:
    assert Policy(**parameters).allows(request_) == allowed


def test_the_organization_id_parameter_takes_only_an_organization_id() -> None:
    import re

    pattern = template.template()["Parameters"]["AllowedSenderOrgId"]["AllowedPattern"]
    assert re.fullmatch(pattern, ORG)
    assert re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, "111111111111")
