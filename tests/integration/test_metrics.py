"""The metrics the dashboard shows and the alarms watch are ones the function emits: read from the EMF lines it
prints, while it goes through every path those metrics describe."""

from __future__ import annotations

import json
import re

import pytest

from bedrock_simulator import Fault
from localrun import template
from localrun.clock import Clock
from localrun.lambda_driver import LambdaDriver
from localrun.stack import EventDelivery, LocalAws, Resources
from tests.helpers import PAST_THE_FLOOR, Invoke, arn, fail_on_the_wire, sqs_event
from tests.integration.test_adaptive_polling import teach
from tracking import clients
from tracking.runtime import Runtime


def driver_runtime(invoke: Invoke) -> Runtime:
    """The runtime behind the test's handler (the app module's)."""
    import sys

    runtime: Runtime = sys.modules["app"].runtime
    return runtime


def emitted(printed: str) -> set[str]:
    """The metric names in the EMF documents among the printed lines."""
    names = set()
    for line in printed.splitlines():
        if line.startswith('{"_aws"'):
            for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
                names |= {metric["Name"] for metric in directive["Metrics"]}
    return names


def shown_on_the_dashboard() -> set[str]:
    body, _ = template.template()["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    json.loads(re.sub(r"\$\{[^}]+\}", "x", body))  # valid JSON once CloudFormation substitutes
    names = set(re.findall(r'"BedrockAsyncTracker", "([\w.]+)"', body))
    return names | set(re.findall(r"MetricName=\W*(\w+)", body))


def watched_by_alarms() -> set[str]:
    return {
        resource["Properties"]["MetricName"]
        for resource in template.template()["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm" and resource["Properties"]["Namespace"] == "BedrockAsyncTracker"
    }


def test_every_metric_on_the_dashboard_and_under_an_alarm_is_emitted(
    stack: LocalAws,
    resources: Resources,
    invoke: Invoke,
    clock: Clock,
    driver: LambdaDriver,
    delivery: EventDelivery,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    teach(driver_runtime(invoke), 2, spread=0)  # jobs of 2 s: the next one recorded gets a timer
    done, running = stack.simulator.add(arn("metricsdone1")), stack.simulator.add(arn("metricsrun01"), seconds=3 * 3600)
    invoke(sqs_event(done, running))  # tracked
    for code in ("ThrottlingException", "InternalServerException"):  # throttled, 5xx, past the SDK's retries
        stack.simulator.inject("GetAsyncInvoke", Fault(code=code, count=clients.BEDROCK.attempts))
        invoke(sqs_event(done))
    stack.simulator.inject("GetAsyncInvoke", Fault(answer={"status": "Cancelled"}, count=1))
    invoke(sqs_event(done))  # an answer not to trust
    invoke(sqs_event(arn("unknownarn01")))  # Bedrock refuses it
    fail_on_the_wire(stack, "events", "PutEvents", code="InternalException")  # its ending: not put, retried later
    stack.simulator.end(done)  # its output lands: an output event
    stack.client("s3").put_object(Bucket=resources.bucket, Key="x/zzzzzzzzzzzz/output.json", Body=b"{}")  # untracked
    while driver.poll_once(wait_seconds=1, checks=True):
        pass
    # its retry: refused until someone acts (an alarm at once); put by a later sweep
    fail_on_the_wire(stack, "events", "PutEvents", code="AccessDeniedException", status=400)
    clock.advance(PAST_THE_FLOOR)
    invoke({})  # a sweep: pending and in-progress counted
    runtime = driver_runtime(invoke)
    runtime.sweep.pace.seconds_per_check = 100.0  # as slow as that: it hands the due work to others
    clock.advance(300)  # the running job's next forced check
    invoke({})
    runtime.sweep.pace.seconds_per_check = None
    clock.advance(61 * 60)
    invoke({})  # running longer than OverdueMinutes

    names = emitted(capsys.readouterr().out)

    assert shown_on_the_dashboard() <= names, shown_on_the_dashboard() - names
    assert watched_by_alarms() <= names, watched_by_alarms() - names
    assert {"InvocationsInProgress", "EndingsByModel", "NotificationDelay", "Errors.unexpected_answer"} <= names
    assert {"OutputEvents", "OutputEventsUntracked", "TimersSet", "ChecksHandedOff"} <= names
    assert {"NotificationsPublished", "EventsPut", "EventsNotPut", "SendsRefused"} <= names
