"""One more execution environment for `make bench`: it takes batches from the checks queue as Lambda's event
source mapping would hand them to a concurrent instance of the function, until it is stopped."""

from __future__ import annotations

import os

import boto3

from localrun.lambda_driver import LambdaDriver
from tracking import telemetry
from tracking.config import Settings
from tracking.runtime import Runtime

# As in bench/run.py: the runtime is called without the handler's decorator that flushes metrics once per event
# (Powertools prints every 100 values of a metric even with POWERTOOLS_METRICS_DISABLED).
telemetry.metrics.add_metric = lambda **_: None  # type: ignore[method-assign]


def main() -> None:
    runtime = Runtime.build(Settings.from_env())
    url = os.environ["CHECKS_QUEUE_URL"]
    driver = LambdaDriver(
        handler=runtime.handle,
        sqs=boto3.client("sqs"),
        queue_url=url,
        queue_arn=os.environ["CHECKS_QUEUE_ARN"],
        batch_size=10,
        timeout=60,
        schedule_period=3600,
        schedule_input={},
        checks_queue_url=url,
        checks_queue_arn=os.environ["CHECKS_QUEUE_ARN"],
    )
    while True:
        driver.poll_once(wait_seconds=1, checks=True)


if __name__ == "__main__":
    main()
