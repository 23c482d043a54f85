"""Invoke the handler once with an event file, in this process, as `sam local invoke -e` would without Docker.

    python -m localrun.invoke events/schedule.json     # the function's environment must be set

Prints the handler's response as JSON. The reliability tests start several of these at once.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3

from .lambda_driver import LambdaContext, load_handler


def _wait_on_the_wire(seconds: float) -> None:
    """LOCALRUN_READ_TIMEOUT: every client of this process waits that long for an answer (botocore's per-request
    read timeout), for tests whose subject is not a timeout on a busy machine. The clients' configuration, from which
    the deadline guard reads each call's worst case, stays the function's."""
    original = boto3.session.Session.__init__

    def patient(context: dict[str, Any], **_: Any) -> None:
        context["read_timeout"] = seconds

    def init(self: boto3.session.Session, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.events.register("before-call", patient)

    boto3.session.Session.__init__ = init  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if os.environ.get("LOCALRUN_READ_TIMEOUT"):
        _wait_on_the_wire(float(os.environ["LOCALRUN_READ_TIMEOUT"]))
    if len(args) != 1:
        raise SystemExit("usage: python -m localrun.invoke EVENT_FILE   (- for standard input)")
    event = json.loads(sys.stdin.read() if args[0] == "-" else Path(args[0]).read_text())
    response = load_handler()(event, LambdaContext(timeout=60))
    print(json.dumps({"response": response}), flush=True)


if __name__ == "__main__":
    main()
