"""Bad input, generated: SQS bodies and Bedrock answers. A bad message fails alone with a clear reason; a bad
answer never becomes a notification."""

from __future__ import annotations

import json
import string
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localrun.stack import LocalAws, Resources
from tests.helpers import sqs_event
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
    stack: LocalAws, resources: Resources, world: World, batch: list[str]
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


MODEL_ARN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1"
times = st.datetimes(timezones=st.just(UTC), min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1))


@st.composite
def valid_answers(draw: st.DrawFn) -> dict[str, Any]:
    """A GetAsyncInvoke answer as Bedrock gives one: every field there, of its type, consistent with the status."""
    status = draw(st.sampled_from(sorted(STATUSES)))
    submitted = draw(times)
    answer: dict[str, Any] = {
        "invocationArn": GOOD_ARN,
        "modelArn": MODEL_ARN,
        "clientRequestToken": draw(st.uuids()).hex,
        "status": status,
        "submitTime": submitted,
        "lastModifiedTime": submitted,
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://bucket/videos/fuzzfuzzfuzz"}},
    }
    if status != "InProgress":
        answer["endTime"] = answer["lastModifiedTime"] = submitted + timedelta(seconds=draw(st.integers(1, 10_000)))
    if status == "Failed":
        answer["failureMessage"] = draw(st.text(min_size=1, max_size=200))
    return answer


# One field spoiled: each makes the answer one the tracker must not act upon.
SPOILERS: dict[str, list[Any]] = {
    "invocationArn": [GOOD_ARN.replace("fuzz", "zzuf"), "", None, 7],
    "status": ["Cancelled", "completed", "", None, 1],
    "modelArn": ["", None, 3],
    "submitTime": ["yesterday", 12, None],
    "lastModifiedTime": ["soon", 12],
    "endTime": ["later", 12],
    "outputDataConfig": ["s3://bucket", 3],
}
MISSING = object()


@st.composite
def spoiled_answers(draw: st.DrawFn) -> dict[str, Any]:
    answer = draw(valid_answers())
    field = draw(st.sampled_from(sorted(SPOILERS)))
    value = draw(
        st.sampled_from(
            [*SPOILERS[field], MISSING]
            if field in ("invocationArn", "status", "modelArn", "submitTime")
            else SPOILERS[field]
        )
    )
    if value is MISSING:
        answer.pop(field, None)
    else:
        answer[field] = value
    return answer


@settings(max_examples=300, deadline=None)
@given(valid_answers())
def test_a_valid_answer_is_trusted(answer: dict[str, Any]) -> None:
    invocation = Invocation.from_answer(GOOD_ARN, answer)
    assert invocation.status == answer["status"]
    assert invocation.submit_time == answer["submitTime"]
    assert json.loads(json.dumps(invocation.fields()))["status"] == answer["status"]


@settings(max_examples=300, deadline=None)
@given(spoiled_answers())
def test_an_answer_with_one_field_spoiled_is_refused_with_a_reason(answer: dict[str, Any]) -> None:
    with pytest.raises(UnexpectedAnswer) as refused:
        Invocation.from_answer(GOOD_ARN, answer)
    assert refused.value.reason


class FakeBedrock:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer

    def get_async_invoke(self, invocationArn: str) -> dict[str, Any]:
        return self.answer


@pytest.mark.parametrize("answers", [valid_answers(), spoiled_answers()], ids=["valid", "spoiled"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_trustworthy_answer_is_recorded_and_notified_once_and_any_other_changes_nothing(
    world: World, answers: st.SearchStrategy[dict[str, Any]], data: st.DataObject
) -> None:
    answer = data.draw(answers)
    from tracking.invocations import InvocationArn
    from tracking.runtime import Runtime

    world.resources = world.stack.new_resources()  # a fresh table and topic for each example
    world.settings = replace(world.settings, table_name=world.resources.table_name, topic_arn=world.resources.topic_arn)
    tracked = Runtime.build(
        world.settings, clock=world.clock, bedrock_client=FakeBedrock(_running()), session=world.patient_clients
    )
    deadline = world.clock() + timedelta(seconds=60)
    tracked.tracker.check(InvocationArn.parse(GOOD_ARN), deadline=deadline)
    before = world.record(GOOD_ARN)
    try:
        Invocation.from_answer(GOOD_ARN, answer)
        trusted = True
    except UnexpectedAnswer:
        trusted = False
    runtime = Runtime.build(
        world.settings, clock=world.clock, bedrock_client=FakeBedrock(answer), session=world.patient_clients
    )

    for _ in range(2):  # asked twice: an ending is notified once
        try:
            runtime.tracker.check(InvocationArn.parse(GOOD_ARN), deadline=deadline)
            raised = None
        except TrackerError as error:
            raised = error

    notified = world.notifications()
    after = world.record(GOOD_ARN)
    assert after is not None
    if not trusted:
        assert isinstance(raised, UnexpectedAnswer)
        assert after == before  # the record exactly as it was
        assert notified == {}
    elif answer["status"] == "InProgress":
        assert notified == {}
        assert after["status"] == "InProgress"
    else:
        assert raised is None
        assert notified == {GOOD_ARN: 1}
        assert after["status"] == answer["status"]
        assert after["notification"] == "published"


def _running() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"invocationArn": GOOD_ARN, "modelArn": MODEL_ARN, "status": "InProgress", "submitTime": now}
