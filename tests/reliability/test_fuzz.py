"""Bad input, generated: SQS bodies and Bedrock answers. A bad message fails alone with a clear reason; a bad
answer never becomes a notification."""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_stack.stack import LocalStack, Resources
from tests.conftest import sqs_event
from tests.reliability.conftest import World
from tracking.errors import GiveUp, TrackerError, UnexpectedAnswer
from tracking.invocations import ARN_PATTERN, STATUSES, Invocation
from tracking.submissions import MAX_CONTEXT_BYTES, parse_submission

GOOD_ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/fuzzfuzzfuzz"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)
arns = st.one_of(
    st.just(GOOD_ARN),
    st.builds(
        "arn:{}:{}:{}:{}:{}".format,
        st.sampled_from(["aws", "aws-cn", "aws-us-gov", "aws-iso-b", "azure", ""]),
        st.sampled_from(["bedrock", "s3", "sagemaker", "Bedrock"]),
        st.sampled_from(["us-east-1", "eu-west-3", "", "x" * 21]),
        st.sampled_from(["123456789012", "999999999999", "12345", "abcdefghijkl"]),
        st.builds(
            "{}/{}".format,
            st.sampled_from(["async-invoke", "model-invocation-job", "async-invoke/x"]),
            st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=0, max_size=14),
        ),
    ),
    st.text(max_size=80),
    st.integers(),
    st.none(),
)
contexts = st.one_of(
    st.none(),
    json_values,
    st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    st.builds(lambda n: {"blob": "é" * n}, st.integers(min_value=1000, max_value=5000)),
)
bodies = st.one_of(
    st.text(max_size=300),
    st.builds(str, arns),
    st.builds(
        lambda arn, context, extra: json.dumps({"invocationArn": arn, "context": context, **extra}),
        arns,
        contexts,
        st.dictionaries(st.text(max_size=5), json_values, max_size=2),
    ),
    json_values.map(json.dumps),
    # deeply nested contexts, built as text: as Python objects they would overflow the test's own recursion
    st.builds(
        lambda depth: '{"invocationArn": "%s", "context": {"deep": %s}}' % (GOOD_ARN, "[" * depth + "]" * depth),  # noqa: UP031
        st.integers(min_value=1, max_value=5000),
    ),
)


@settings(max_examples=200, deadline=None)
@given(bodies)
def test_any_body_parses_or_is_refused_with_a_reason(body: str) -> None:
    try:
        submission = parse_submission(body)
    except GiveUp as error:
        assert error.reason
        assert error.kind in {"malformed_body", "invalid_arn", "oversize_context"}
        return
    assert ARN_PATTERN.fullmatch(submission.arn.arn)
    if submission.context is not None:
        assert isinstance(submission.context, dict)
        assert len(json.dumps(submission.context, ensure_ascii=False, default=str).encode()) <= MAX_CONTEXT_BYTES


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(bodies, min_size=1, max_size=9))
def test_a_fuzzed_batch_never_fails_whole_and_each_bad_message_fails_alone(
    stack: LocalStack, resources: Resources, world: World, batch: list[str]
) -> None:
    if GOOD_ARN not in stack.simulator.jobs:
        stack.simulator.add(GOOD_ARN)
    good = json.dumps({"invocationArn": GOOD_ARN, "context": {"ok": True}})
    event = sqs_event(good, *batch)

    response = world.environment().handle(event)

    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    assert "message-0" not in failed
    for i, body in enumerate(batch, start=1):
        try:
            submission = parse_submission(body)
        except GiveUp:
            assert f"message-{i}" in failed
            continue
        tracked = submission.arn.arn == GOOD_ARN
        assert (f"message-{i}" in failed) is not tracked  # valid but unknown to Bedrock: rejected


timestamps = st.one_of(
    st.datetimes(timezones=st.just(UTC), min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)),  # naive
    st.text(max_size=30),
    st.integers(),
    st.none(),
)
answers = st.fixed_dictionaries(
    {},
    optional={
        "invocationArn": st.sampled_from([GOOD_ARN, GOOD_ARN.replace("fuzz", "zzuf"), "", None]),
        "modelArn": st.sampled_from(["arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1", "", None, 3]),
        "status": st.sampled_from([*STATUSES, "Cancelled", "completed", "", None, 1]),
        "failureMessage": st.one_of(st.none(), st.text(max_size=50)),
        "submitTime": timestamps,
        "lastModifiedTime": timestamps,
        "endTime": timestamps,
        "outputDataConfig": st.one_of(
            st.none(),
            st.just({"s3OutputDataConfig": {"s3Uri": "s3://b/x"}}),
            st.just({"SDK_UNKNOWN_MEMBER": {"name": "x"}}),
            st.text(max_size=5),
        ),
        "clientRequestToken": st.one_of(st.none(), st.text(max_size=10), st.integers()),
    },
)


@settings(max_examples=300, deadline=None)
@given(answers)
def test_any_answer_is_trusted_whole_or_refused(answer: dict[str, Any]) -> None:
    try:
        invocation = Invocation.from_answer(GOOD_ARN, answer)
    except UnexpectedAnswer as error:
        assert error.reason
        return
    assert answer["invocationArn"] == GOOD_ARN
    assert invocation.status in STATUSES
    assert invocation.submit_time.tzinfo is not None
    assert json.loads(json.dumps(invocation.fields()))["status"] == answer["status"]


class FakeBedrock:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def get_async_invoke(self, invocationArn: str) -> dict[str, Any]:
        return self.answer


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers)
def test_a_bad_answer_never_becomes_a_notification(world: World, answer: dict[str, Any]) -> None:
    from tracking.invocations import InvocationArn
    from tracking.runtime import Runtime

    runtime = Runtime.build(world.settings, clock=world.clock, bedrock_client=FakeBedrock(answer))
    try:
        Invocation.from_answer(GOOD_ARN, answer)
        trusted = True
    except UnexpectedAnswer:
        trusted = False

    try:
        runtime.tracker.check(InvocationArn.parse(GOOD_ARN), deadline=world.clock() + timedelta(seconds=60))
        raised = None
    except TrackerError as error:
        raised = error

    notified = world.notifications()
    if not trusted:
        assert isinstance(raised, UnexpectedAnswer)
        assert notified == {}
    elif answer["status"] == "InProgress":
        assert notified == {}
    world.resources = world.stack.new_resources()  # a fresh table and topic for the next example
    world.settings = type(world.settings)(
        table_name=world.resources.table_name,
        topic_arn=world.resources.topic_arn,
        max_poll_interval_seconds=0,
    )
