"""What a producer sends on the intake queue: a JSON object or a bare ARN, parsed and checked."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from . import jsontext
from .callbacks import Callback
from .errors import InvalidArn, MalformedMessage, OversizeContext
from .invocations import InvocationArn

MAX_CONTEXT_BYTES = 4 * 1024
MAX_CONTEXT_DEPTH = 31  # DynamoDB stores 32 levels of nesting; the record's `context` attribute is the first
# A valid submission is an ARN plus at most 4 KiB of context; anything far larger is refused before parsing.
MAX_BODY_BYTES = 64 * 1024

_serializer = TypeSerializer()


@dataclass(frozen=True)
class Submission:
    arn: InvocationArn
    context: dict[str, Any] | None = None
    callback: Callback | None = None  # the waiting workflow to resume when the job ends (callbacks.py)


def parse_submission(body: str | None) -> Submission:
    """Parse one message body; raises MalformedMessage, InvalidArn or OversizeContext with a reason to act on."""
    if body is None or not body.strip():
        raise MalformedMessage("empty message body")
    size = len(body.encode("utf-8", errors="surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise MalformedMessage(f"message body is {size} bytes, more than the {MAX_BODY_BYTES} a submission can need")
    text = body.strip()
    if not text.startswith("{"):
        if text.startswith("arn:"):
            return Submission(arn=InvocationArn.parse(text))
        raise MalformedMessage("body is neither a JSON object nor an async-invoke ARN")
    try:
        # Numbers stay exact (and remember how they were written): the context is echoed unchanged.
        document = jsontext.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedMessage(f"body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MalformedMessage("body is not a JSON object")
    arn = document.get("invocationArn")
    if arn is None:
        raise MalformedMessage("body has no invocationArn")
    if not isinstance(arn, str):
        raise InvalidArn(f"invocationArn must be a string, got {type(arn).__name__}")
    return Submission(
        arn=InvocationArn.parse(arn), context=_context(document.get("context")), callback=Callback.of(document)
    )


def _context(context: Any) -> dict[str, Any] | None:
    if context is None:
        return None
    if not isinstance(context, dict):
        raise MalformedMessage(f"context must be a JSON object, got {_json_type(context)}")
    if _depth(context) > MAX_CONTEXT_DEPTH:
        raise MalformedMessage(f"context nests deeper than the {MAX_CONTEXT_DEPTH} levels DynamoDB can store")
    try:
        size = len(jsontext.dumps(context).encode("utf-8"))  # without whitespace, numbers as written
    except UnicodeEncodeError as exc:
        raise MalformedMessage(
            "context holds a lone UTF-16 surrogate (such as \\ud800), which is not a Unicode character"
        ) from exc
    if size > MAX_CONTEXT_BYTES:
        raise OversizeContext(f"context is {size} bytes serialized, more than {MAX_CONTEXT_BYTES}")
    try:
        _serializer.serialize(context)
    except (TypeError, ValueError, ArithmeticError) as exc:  # decimal signals are ArithmeticErrors
        raise MalformedMessage(f"context cannot be stored: {exc}") from exc
    return context


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion (json.loads accepts far deeper than Python recurses)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _json_type(value: Any) -> str:
    if isinstance(value, Decimal):
        return "a number"
    return {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)
