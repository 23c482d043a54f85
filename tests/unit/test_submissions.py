"""Parsing of intake messages and validation of ARNs."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tracking.errors import InvalidArn, MalformedMessage, OversizeContext
from tracking.invocations import InvocationArn
from tracking.submissions import MAX_CONTEXT_BYTES, parse_submission

ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12"


def test_bare_arn_is_a_submission_without_context() -> None:
    submission = parse_submission(f"  {ARN}\n")
    assert submission.arn.arn == ARN
    assert submission.context is None


def test_json_object_with_context_keeps_numbers_exact() -> None:
    submission = parse_submission(json.dumps({"invocationArn": ARN, "context": {"ratio": 0.1, "n": 3}}))
    assert submission.context == {"ratio": Decimal("0.1"), "n": 3}


def test_json_object_without_context() -> None:
    assert parse_submission(json.dumps({"invocationArn": ARN})).context is None


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    assert parse_submission(json.dumps({"invocationArn": ARN, "priority": "high"})).arn.arn == ARN


@pytest.mark.parametrize(
    ("body", "error", "reason"),
    [
        (None, MalformedMessage, "empty"),
        ("   ", MalformedMessage, "empty"),
        ("hello", MalformedMessage, "neither a JSON object nor an async-invoke ARN"),
        ("[1, 2]", MalformedMessage, "neither"),
        ('{"invocationArn": "x"', MalformedMessage, "not valid JSON"),
        ("{}", MalformedMessage, "no invocationArn"),
        ('{"invocationArn": 12}', InvalidArn, "must be a string"),
        ('{"invocationArn": "arn:aws:bedrock:us-east-1:123456789012:async-invoke/short"}', InvalidArn, "not a Bedrock"),
        (json.dumps({"invocationArn": ARN, "context": [1]}), MalformedMessage, "got an array"),
        (json.dumps({"invocationArn": ARN, "context": "s"}), MalformedMessage, "got a string"),
        (json.dumps({"invocationArn": ARN, "context": 3}), MalformedMessage, "got a number"),
        (
            json.dumps({"invocationArn": ARN, "context": {"big": 1e400}}).replace("Infinity", "1e400"),
            MalformedMessage,
            "cannot be stored",
        ),
        ("arn:aws:s3:::my-bucket", InvalidArn, "not a Bedrock"),
        ("[" * 100_000 + "]" * 100_000, MalformedMessage, "bytes"),
        (
            json.dumps({"invocationArn": ARN, "context": {}}).replace(
                "{}", '{"deep": ' + "[" * 20_000 + "]" * 20_000 + "}"
            ),
            MalformedMessage,
            "not valid JSON",
        ),
    ],
    ids=lambda value: str(value)[:40] if isinstance(value, str) else None,
)
def test_bad_bodies_raise_the_error_that_names_them(body: str | None, error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        parse_submission(body)


def test_context_of_exactly_the_limit_is_accepted_and_one_byte_more_is_not() -> None:
    overhead = len(json.dumps({"k": ""}, separators=(",", ":")))
    at_limit = {"k": "x" * (MAX_CONTEXT_BYTES - overhead)}
    assert parse_submission(json.dumps({"invocationArn": ARN, "context": at_limit})).context == at_limit
    over = {"k": "x" * (MAX_CONTEXT_BYTES - overhead + 1)}
    with pytest.raises(OversizeContext, match="4097 bytes"):
        parse_submission(json.dumps({"invocationArn": ARN, "context": over}))


def test_context_size_counts_utf8_bytes_not_characters() -> None:
    overhead = len(json.dumps({"k": ""}, separators=(",", ":")))
    with pytest.raises(OversizeContext):
        parse_submission(json.dumps({"invocationArn": ARN, "context": {"k": "é" * (MAX_CONTEXT_BYTES - overhead)}}))


@pytest.mark.parametrize(
    "value",
    [
        ARN,
        "arn:aws-cn:bedrock:cn-north-1:123456789012:async-invoke/0123456789ab",
        "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:async-invoke/abcdefghij12",
        "arn:aws:bedrock:ap-southeast-2:000000000000:async-invoke/zzzzzzzzzzzz",
    ],
)
def test_valid_arns_parse_with_their_region(value: str) -> None:
    parsed = InvocationArn.parse(value)
    assert parsed.region == value.split(":")[3]
    assert parsed.account == value.split(":")[4]


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:bedrock:us-east-1:123456789012:async-invoke/ABCDEFGHIJ12",  # upper case
        "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij1",  # 11 characters
        "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij123",  # 13 characters
        "arn:aws:bedrock:us-east-1:12345678901:async-invoke/abcdefghij12",  # 11-digit account
        "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghij12",
        "arn:aws:sagemaker:us-east-1:123456789012:async-invoke/abcdefghij12",
        "arn:aws:bedrock::123456789012:async-invoke/abcdefghij12",  # no region
        "arn:azure:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12",
        ARN + "\n",
        " " + ARN,
    ],
    ids=repr,
)
def test_invalid_arns_are_refused(value: str) -> None:
    with pytest.raises(InvalidArn):
        InvocationArn.parse(value)


def test_context_nested_deeper_than_dynamodb_stores_is_refused_and_31_levels_are_kept() -> None:
    def nested(levels: int) -> dict[str, object]:
        context: dict[str, object] = {}
        for _ in range(levels - 1):
            context = {"a": context}
        return context

    assert parse_submission(json.dumps({"invocationArn": ARN, "context": nested(31)})).context == nested(31)
    with pytest.raises(MalformedMessage, match="deeper than the 31 levels"):
        parse_submission(json.dumps({"invocationArn": ARN, "context": nested(32)}))
    deep_list = '{"invocationArn": "%s", "context": {"deep": %s}}' % (ARN, "[" * 900 + "]" * 900)  # noqa: UP031
    with pytest.raises(MalformedMessage, match="deeper"):
        parse_submission(deep_list)


def test_a_lone_surrogate_in_the_context_is_a_malformed_body_not_a_crash() -> None:
    body = '{"invocationArn": "%s", "context": {"name": "\\ud800"}}' % ARN  # noqa: UP031 - JSON escapes, as sent
    with pytest.raises(MalformedMessage, match="lone UTF-16 surrogate"):
        parse_submission(body)


def test_context_size_counts_the_context_as_written_without_whitespace() -> None:
    # 1e5 is three bytes as written (Decimal would write it back as 1E+5, four)
    overhead = len('{"k":"","n":1e5}')
    context = '{"k": "%s", "n": 1e5}' % ("x" * (MAX_CONTEXT_BYTES - overhead))
    accepted = parse_submission('{"invocationArn": "%s", "context": %s}' % (ARN, context))  # noqa: UP031
    assert accepted.context is not None
    with pytest.raises(OversizeContext, match="4097 bytes"):
        parse_submission('{"invocationArn": "%s", "context": %s}' % (ARN, context.replace('"k": "', '"k": "x')))  # noqa: UP031


def test_numbers_in_a_context_keep_every_digit_and_are_written_back_as_given() -> None:
    from tracking import jsontext

    written = '{"pi":3.14159265358979323846264,"big":12345678901234567890123,"e":1e5,"neg":-0.0}'
    submission = parse_submission('{"invocationArn": "%s", "context": %s}' % (ARN, written))  # noqa: UP031
    assert submission.context is not None
    assert submission.context["pi"] == Decimal("3.14159265358979323846264")
    assert jsontext.dumps(submission.context) == written


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:bedrock:moon-base-1:123456789012:async-invoke/abcdefghij12",  # no partition has such a region
        "arn:aws:bedrock:cn-north-1:123456789012:async-invoke/abcdefghij12",  # a region of another partition
        "arn:aws-mars:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12",  # no such partition
    ],
)
def test_an_arn_whose_region_cannot_exist_is_an_invalid_arn(value: str) -> None:
    with pytest.raises(InvalidArn, match="does not have"):
        InvocationArn.parse(value)


def test_a_region_newer_than_botocores_data_is_accepted_by_its_partitions_pattern() -> None:
    assert InvocationArn.parse("arn:aws:bedrock:ap-southeast-9:123456789012:async-invoke/abcdefghij12").region == (
        "ap-southeast-9"
    )
