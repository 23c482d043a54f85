"""A submission's callback: a Step Functions task token or a durable function's callback id, checked against the
constraints of the API that will be called with it (botocore's stepfunctions and lambda models)."""

from __future__ import annotations

import json

import botocore.session
import pytest

from tracking.callbacks import CALLBACK_ID, MAX_CALLBACK_ID_CHARS, MAX_TASK_TOKEN_CHARS, TASK_TOKEN, Callback
from tracking.errors import MalformedMessage
from tracking.submissions import parse_submission

ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12"
# The shape of a real task token (base64 of an opaque blob, about 700 characters) and of a durable callback id.
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAW" + "Zm9vYmFy" * 80
CALLBACK = "Y2FsbGJhY2stMTIzNDU2Nzg5MA=="


def body(**fields: object) -> str:
    return json.dumps({"invocationArn": ARN, **fields})


def test_task_token_is_the_submissions_callback() -> None:
    submission = parse_submission(body(taskToken=TOKEN, context={"order": 7}))
    assert submission.callback == Callback(TASK_TOKEN, TOKEN)
    assert submission.context == {"order": 7}


def test_callback_id_is_the_submissions_callback() -> None:
    assert parse_submission(body(callbackId=CALLBACK)).callback == Callback(CALLBACK_ID, CALLBACK)


def test_a_submission_without_either_has_no_callback() -> None:
    assert parse_submission(body()).callback is None
    assert parse_submission(ARN).callback is None
    assert parse_submission(body(taskToken=None)).callback is None


def test_the_longest_token_and_id_the_apis_take_are_accepted() -> None:
    assert parse_submission(body(taskToken="t" * MAX_TASK_TOKEN_CHARS)).callback is not None
    assert parse_submission(body(callbackId="A" * (MAX_CALLBACK_ID_CHARS - 2) + "==")).callback is not None


def test_the_limits_are_the_apis_own() -> None:
    """The bounds checked here are botocore's, so that no submission is taken that the API would refuse."""
    session = botocore.session.get_session()
    states, durable = session.get_service_model("stepfunctions"), session.get_service_model("lambda")
    token = states.operation_model("SendTaskSuccess").input_shape.members["taskToken"]
    callback_id = durable.operation_model("SendDurableExecutionCallbackSuccess").input_shape.members["CallbackId"]
    assert (token.metadata["min"], token.metadata["max"]) == (1, MAX_TASK_TOKEN_CHARS)
    assert (callback_id.metadata["min"], callback_id.metadata["max"]) == (1, MAX_CALLBACK_ID_CHARS)
    assert callback_id.metadata["pattern"] == "[A-Za-z0-9+/]+={0,2}"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"taskToken": TOKEN, "callbackId": CALLBACK}, "not both"),
        ({"taskToken": ""}, "1 to 2048 characters, got 0"),
        ({"taskToken": "t" * (MAX_TASK_TOKEN_CHARS + 1)}, "1 to 2048 characters, got 2049"),
        ({"taskToken": 42}, "taskToken must be a string"),
        ({"taskToken": {"token": TOKEN}}, "taskToken must be a string"),
        ({"callbackId": ""}, "1 to 1024 characters"),
        ({"callbackId": "A" * (MAX_CALLBACK_ID_CHARS + 1)}, "1 to 1024 characters, got 1025"),
        ({"callbackId": "not base64!"}, "must be base64"),
        ({"callbackId": "abc==="}, "must be base64"),
        ({"callbackId": "=abc"}, "must be base64"),
        ({"callbackId": ["abc"]}, "callbackId must be a string"),
    ],
)
def test_a_callback_the_api_would_refuse_is_a_malformed_message(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        parse_submission(body(**fields))


def test_the_token_never_shows_in_a_repr_and_its_fingerprint_names_it() -> None:
    callback = Callback(TASK_TOKEN, TOKEN)
    assert TOKEN not in repr(callback)
    assert TOKEN not in repr(parse_submission(body(taskToken=TOKEN)))
    assert len(callback.fingerprint) == 16
    assert callback.fingerprint == Callback(TASK_TOKEN, TOKEN).fingerprint
    assert callback.fingerprint != Callback(TASK_TOKEN, TOKEN + "x").fingerprint
