"""The settings read from the environment the template sets."""

from __future__ import annotations

import pytest

from tracking.config import ConfigurationError, Settings

BASE = {"TABLE_NAME": "t", "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:n", "MAX_POLL_INTERVAL_SECONDS": "300"}


def test_settings_from_the_environment_the_template_sets() -> None:
    settings = Settings.from_env({**BASE, "CONCURRENCY": "8"})
    assert settings.table_name == "t"
    assert settings.max_poll_interval_seconds == 300
    assert settings.concurrency == 8
    assert settings.record_retention_days == 30


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TABLE_NAME": ""}, "TABLE_NAME is required"),
        ({"TOPIC_ARN": "  "}, "TOPIC_ARN is required"),
        ({"MAX_POLL_INTERVAL_SECONDS": ""}, "MAX_POLL_INTERVAL_SECONDS is required"),
        ({"MAX_POLL_INTERVAL_SECONDS": "soon"}, "must be an integer"),
        ({"MAX_POLL_INTERVAL_SECONDS": "-1"}, "at least 0"),
        ({"CONCURRENCY": "0"}, "at least 1"),
    ],
)
def test_bad_environment_fails_loudly_at_cold_start(change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({**BASE, **change})


def test_allowed_accounts_are_read_as_a_set_of_account_ids() -> None:
    settings = Settings.from_env({**BASE, "ALLOWED_ACCOUNTS": "123456789012, 210987654321"})
    assert settings.allowed_accounts == {"123456789012", "210987654321"}
    assert Settings.from_env(BASE).allowed_accounts == frozenset()
    with pytest.raises(ConfigurationError, match="12-digit"):
        Settings.from_env({**BASE, "ALLOWED_ACCOUNTS": "1234,123456789012"})
