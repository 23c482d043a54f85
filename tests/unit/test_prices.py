"""bench/prices.py: counts to dollars, each price applied to its own count."""

from __future__ import annotations

import pytest

from bench import prices


def test_lambda_bills_requests_and_gb_seconds_rounded_up_to_the_millisecond() -> None:
    usage = prices.Usage()
    prices.lambda_usage(usage, invocations=2, seconds=[0.0101, 0.2], memory_mb=512)
    assert usage.counts["lambda_request"] == 2
    assert usage.counts["lambda_gb_second_arm64"] == pytest.approx((0.011 + 0.2) * 0.5)
    expected = 2 * 0.20 / 1e6 + 0.211 * 0.5 * 0.0000133334 + 2 * 1024 / 1024**3 * 0.50
    assert usage.dollars() == pytest.approx(expected)


def test_each_call_the_function_made_is_priced_by_its_service() -> None:
    usage = prices.Usage()
    operations = {
        "dynamodb:UpdateItem": 3,  # charged by the units the stack counted, not per call
        "dynamodb:Query": 4,
        "dynamodb:GetItem": 1,
        "sns:Publish": 1,
        "events:PutEvents": 1,
        "s3:ListObjectsV2": 1,
        "s3:GetObject": 1,
        "sqs:SendMessage": 7,  # counted as messages, with their receive and delete
    }
    prices.aws_usage(usage, operations, sqs_messages=2, dynamodb_units={"write": 10, "read": 2.5})
    assert usage.counts == {
        "dynamodb_write_request_unit": 10,
        "dynamodb_read_request_unit": 2.5,
        "sns_publish": 1,
        "eventbridge_event": 1,
        "s3_list": 1,
        "s3_get": 1,
        "sqs_request": 6,
    }
    expected = 10 * 0.625e-6 + 2.5 * 0.125e-6 + 0.5e-6 + 1e-6 + 0.005e-3 + 0.0004e-3 + 6 * 0.4e-6
    assert usage.dollars() == pytest.approx(expected)


def test_a_count_without_a_price_is_refused() -> None:
    with pytest.raises(KeyError):
        prices.Usage().add("lambda_free_lunch", 1)


def test_a_month_is_thirty_days_of_jobs_and_sweeps_plus_the_fixed_costs() -> None:
    month = prices.monthly_dollars(per_1000_jobs=0.05, fixed_per_day=0.01, fixed_per_month=8.0, jobs_per_day=10_000)
    assert month == pytest.approx(30 * (0.5 + 0.01) + 8.0)
    idle_polls = 2 * 5 * 3 * 60 * 24 * 30 * 0.40 / 1e6
    assert prices.fixed_monthly_dollars(metrics=10) == pytest.approx(3.0 + idle_polls)
