"""`make stack`: the local stack and the function, running until Ctrl-C, for trying it by hand.

Prints the endpoints and the names to use with the AWS CLI or boto3, and writes them to `.demo/stack.env` for
another terminal to `source` (with the test credentials, and the AWS CLI that `make dev` installs on PATH).
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from .stack import LocalAws, start_function

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / ".demo" / "stack.env"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make stack", description=__doc__)
    parser.add_argument("--port", type=int, default=4566, help="moto's server (DynamoDB, SQS, SNS, S3, Step Functions)")
    parser.add_argument("--bedrock-port", type=int, default=4599, help="the Bedrock Runtime simulator")
    parser.add_argument("--time-factor", type=float, default=0.05, help="multiplies job durations and the schedule")
    parser.add_argument("--failure-rate", type=float, default=0.2)
    args = parser.parse_args(argv)
    stack = LocalAws(
        time_factor=args.time_factor,
        failure_rate=args.failure_rate,
        moto_port=args.port,
        simulator_port=args.bedrock_port,
    ).start()
    log = ROOT / ".demo" / "stack-function.log"
    function = start_function(stack, log)
    r = stack.resources
    settings = f"""export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL={stack.aws_endpoint}
export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={stack.bedrock_endpoint}
export PATH="{ROOT / ".venv-cli" / "bin"}:{ROOT / ".venv" / "bin"}:$PATH"
QUEUE_URL={r.queue_url}
DLQ_URL={r.dead_letter_queue_url}
TOPIC_ARN={r.topic_arn}
TABLE_NAME={r.table_name}
SUBSCRIBER_URL={r.subscriber_queue_url}
BUCKET={r.bucket}
STATE_MACHINE_ARN={r.state_machine_arn}
"""
    ENV_FILE.write_text(settings)
    print(f"Local stack running (Ctrl-C to stop). The function's logs: {log}\n", flush=True)
    print(settings + f"\n(also in {ENV_FILE.relative_to(ROOT)}: `source` it in another terminal)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        ENV_FILE.unlink(missing_ok=True)
        function.terminate()
        stack.stop()


if __name__ == "__main__":
    main()
