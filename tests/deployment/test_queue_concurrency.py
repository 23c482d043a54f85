"""Both SQS event source mappings are bounded (ScalingConfig.MaximumConcurrency), and a reserved concurrency that
cannot hold both and a sweep is refused before anything is created: Lambda's pollers do not know the function's
reserved concurrency, and their throttled receives count toward maxReceiveCount."""

from __future__ import annotations

from typing import Any

from localrun import template
from tests.deployment.test_template import Rules, allowed


def mappings() -> dict[str, dict[str, Any]]:
    """The event source mappings SAM makes of the function's SQS events, by the queue each reads."""
    resources = template.translated()["Resources"]
    return {
        r["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    }


def test_both_queues_event_source_mappings_run_at_most_the_maximum_concurrency() -> None:
    found = mappings()
    assert set(found) == {"IntakeQueue", "ChecksQueue"}
    for queue, properties in found.items():
        assert properties["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "QueueMaximumConcurrency"}}, queue


def test_every_allowed_maximum_is_one_lambda_accepts() -> None:
    """Lambda's MaximumConcurrency for SQS: 2 to 1,000."""
    assert all(2 <= int(value) <= 1000 for value in allowed("QueueMaximumConcurrency"))


def test_a_reserved_concurrency_that_cannot_hold_both_queues_and_a_sweep_is_refused() -> None:
    for maximum in allowed("QueueMaximumConcurrency"):
        for reserved in range(-1, 2 * int(maximum) + 10):
            holds = reserved == -1 or reserved >= 2 * int(maximum) + 1
            deployable = not Rules({"QueueMaximumConcurrency": maximum, "ReservedConcurrency": str(reserved)}).refused()
            assert deployable == holds, (maximum, reserved)
