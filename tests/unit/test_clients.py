"""Every client's timeouts and retries, and the worst case a call can take."""

from __future__ import annotations

import pytest
from botocore.config import Config

from tracking import clients


def test_retries_are_botocores_standard_mode_and_the_pool_matches_the_threads() -> None:
    config = clients.BEDROCK.config(32)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert config.max_pool_connections == 32
    assert config.user_agent_extra == "bedrock-async-tracker"


def test_a_publish_is_never_retried_by_the_sdk() -> None:
    assert clients.SNS.config(32).retries == {"mode": "standard", "total_max_attempts": 1}


def test_a_calls_worst_case_is_every_attempt_timing_out_after_the_longest_backoffs() -> None:
    # 3 attempts of (1 s to connect + 3 s to read), then sleeps of up to 1 and 2 s before retries 1 and 2, each
    # with up to 5 s more when the answer asks for it (x-amz-retry-after)
    assert clients.BEDROCK.worst_case.total_seconds() == 3 * 4 + (1 + 5) + (2 + 5)
    assert clients.SNS.worst_case.total_seconds() == 5


def test_the_deadline_guard_reads_a_clients_limits_from_the_configuration_it_was_made_with() -> None:
    for limits in (clients.BEDROCK, clients.DYNAMODB, clients.SNS, clients.EVENTS, clients.S3, clients.SQS):
        assert clients.CallLimits.of(limits.config(32)) == limits
    with pytest.raises(ValueError, match="worst case is unknown"):
        clients.CallLimits.of(Config())  # botocore's defaults: not the project's, so not guessed
