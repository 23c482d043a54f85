"""How each channel's refusals classify (tracking/channels/): transient, outcome unknown, or needing a person; with
botocore's Stubber for the services' own answers."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from tests.helpers import stub_client
from tests.unit.test_notifier import ARN, RECORD
from tracking.channels.bus import Bus
from tracking.channels.channel import Refusal
from tracking.channels.topic import Topic
from tracking.errors import TrackerError
from tracking.events import EventPublisher
from tracking.notifier import Notifier

TOPIC = "arn:aws:sns:us-east-1:123456789012:n"


def refusal_of_publish(code: str, status: int) -> Refusal:
    sns = stub_client("sns")
    topic = Topic(Notifier(TOPIC, sns))
    with Stubber(sns) as stub:
        stub.add_client_error("publish", code, http_status_code=status)
        with pytest.raises(TrackerError) as raised:
            topic.send(RECORD, {"invocationArn": ARN})
    return topic.refusal(raised.value)


@pytest.mark.parametrize(
    ("code", "status", "refusal"),
    [
        ("Throttling", 400, Refusal.TRANSIENT),
        ("KMSThrottling", 400, Refusal.TRANSIENT),
        ("InternalError", 500, Refusal.TRANSIENT),
        ("AuthorizationError", 403, Refusal.NEEDS_PERSON),
        ("NotFound", 404, Refusal.NEEDS_PERSON),
        ("KMSDisabled", 400, Refusal.NEEDS_PERSON),
        ("KMSAccessDenied", 400, Refusal.NEEDS_PERSON),
        ("InvalidParameter", 400, Refusal.NEEDS_PERSON),
    ],
)
def test_what_sns_refuses_needs_a_person_unless_it_is_a_throttle_or_a_5xx(
    code: str, status: int, refusal: Refusal
) -> None:
    assert refusal_of_publish(code, status) is refusal


def refusal_of_put(**answer: object) -> Refusal:
    events = stub_client("events")
    bus = Bus(EventPublisher("my-bus", events))
    with Stubber(events) as stub:
        if "code" in answer:
            stub.add_client_error("put_events", str(answer["code"]), http_status_code=int(str(answer["status"])))
        else:
            stub.add_response("put_events", {"FailedEntryCount": 1, "Entries": [answer]})
        with pytest.raises(TrackerError) as raised:
            bus.send(RECORD, {"invocationArn": ARN})
    return bus.refusal(raised.value)


@pytest.mark.parametrize(
    ("entry_code", "refusal"),
    [
        ("ThrottlingException", Refusal.TRANSIENT),
        ("InternalFailure", Refusal.TRANSIENT),
        ("AccessDeniedException", Refusal.NEEDS_PERSON),
        ("NotAuthorizedForSourceException", Refusal.NEEDS_PERSON),
        ("MalformedDetail", Refusal.NEEDS_PERSON),
    ],
)
def test_a_refused_entry_classifies_by_its_code_as_the_documented_retryable_ones_say(
    entry_code: str, refusal: Refusal
) -> None:
    assert refusal_of_put(ErrorCode=entry_code, ErrorMessage="no") is refusal


@pytest.mark.parametrize(
    ("code", "status", "refusal"),
    [
        ("AccessDeniedException", 400, Refusal.NEEDS_PERSON),
        ("ResourceNotFoundException", 400, Refusal.NEEDS_PERSON),
        ("InternalException", 500, Refusal.TRANSIENT),
    ],
)
def test_a_refused_put_events_call_needs_a_person_unless_it_is_a_5xx(code: str, status: int, refusal: Refusal) -> None:
    assert refusal_of_put(code=code, status=status) is refusal
