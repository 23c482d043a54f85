"""Invoke the handler once with an event file, in this process, as `sam local invoke -e` would without Docker.

    python -m localrun.invoke events/schedule.json     # the function's environment must be set

Prints the handler's response as JSON. The reliability tests start several of these at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .lambda_driver import LambdaContext, load_handler


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m localrun.invoke EVENT_FILE   (- for standard input)")
    event = json.loads(sys.stdin.read() if args[0] == "-" else Path(args[0]).read_text())
    response = load_handler()(event, LambdaContext(timeout=60))
    print(json.dumps({"response": response}), flush=True)


if __name__ == "__main__":
    main()
