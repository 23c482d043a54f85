"""JSON text whose numbers stay exact: parsed into Decimals that remember how they were written, and written back
without passing through a binary float (the contract echoes a context's numbers unchanged)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any


class Number(Decimal):
    """A JSON number as parsed: its exact value, and the text it was written as."""

    literal: str


def number(text: str) -> Decimal:
    parsed = Number(text)
    parsed.literal = text
    return parsed


def loads(text: str) -> Any:
    """json.loads, every number a Number (DynamoDB stores Decimals and refuses floats)."""
    return json.loads(text, parse_float=number, parse_int=number)


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII characters as themselves; a parsed number as written, any other Decimal exactly."""
    return "".join(_chunks(value))


def _chunks(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield ("," if i else "") + json.dumps(str(key), ensure_ascii=False) + ":"
            yield from _chunks(item)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ","
            yield from _chunks(item)
        yield "]"
    elif isinstance(value, Number):
        yield value.literal
    elif isinstance(value, Decimal):
        yield str(value)  # "1E+5" is a JSON number too; DynamoDB hands every number back as a Decimal
    elif value is None or isinstance(value, bool | int | float | str):
        yield json.dumps(value, ensure_ascii=False)
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")
