"""Lambda entry point: an SQS batch goes to intake, any other event (the schedule) to a sweep."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tracking.config import Settings
from tracking.runtime import Runtime
from tracking.telemetry import logger, metrics

runtime = Runtime.build(Settings.from_env())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return runtime.handle(event, context)
