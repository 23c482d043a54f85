"""`make mutants`: each mutation below breaks a guarantee of docs/guarantees.md. Applied to a scratch copy of the tree,
the tests named with it must fail; a mutation they survive is a guarantee no test would defend.

    make mutants                      # all of them (a few minutes)
    make mutants ARGS="scan order"    # those whose name contains one of these words
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTION = "functions/tracker/tracking"


@dataclass(frozen=True)
class Mutant:
    name: str  # what breaks, in the words of docs/development.md
    path: str
    changes: tuple[tuple[str, str], ...]  # (text as it is, text it becomes): each must be there exactly once
    tests: tuple[str, ...]


MUTANTS = [
    Mutant(
        "sweeps Scan the table instead of querying the index",
        f"{FUNCTION}/records.py",
        (
            (
                "            page = call(self.client.query, **request)\n",
                "            page = call(self.client.scan, **{k: v for k, v in request.items() if k != "
                '"KeyConditionExpression"}, FilterExpression=request["KeyConditionExpression"])\n',
            ),
        ),
        ("tests/integration/test_sweep.py::test_empty_event_sweeps",),
    ),
    Mutant(
        "due work is taken most recent first",
        f"{FUNCTION}/records.py",
        (('"Limit": page_size,', '"Limit": page_size, "ScanIndexForward": False,'),),
        ("tests/integration/test_adaptive_polling.py::test_due_work_is_taken_most_overdue_first",),
    ),
    Mutant(
        "a check starts with time for the Bedrock call only",
        f"{FUNCTION}/clients.py",
        (("TRACK = BEDROCK.worst_case + DYNAMODB.worst_case", "TRACK = BEDROCK.worst_case"),),
        (
            "tests/reliability/test_faults.py::test_a_sweep_starts_only_what_it_can_finish_before_its_deadline_and_the_next_goes_on",
        ),
    ),
    Mutant(
        "worst cases leave out x-amz-retry-after",
        f"{FUNCTION}/clients.py",
        (("_RETRY_AFTER_EXTRA = 5.0", "_RETRY_AFTER_EXTRA = 0.0"),),
        ("tests/reliability/test_faults.py::test_intake_starts_only_the_messages_it_can_finish_and_reports_the_rest",),
    ),
    Mutant(
        "intake starts messages it cannot finish",
        f"{FUNCTION}/lifecycle.py",
        (("        self._require(TRACK, deadline)\n", ""),),
        ("tests/reliability/test_faults.py::test_intake_starts_only_the_messages_it_can_finish_and_reports_the_rest",),
    ),
    Mutant(
        "the due-work index projects keys only",
        "template.yaml",
        (
            (
                "            ProjectionType: INCLUDE\n            NonKeyAttributes: [submitTime, modelArn]\n",
                "            ProjectionType: KEYS_ONLY\n",
            ),
        ),
        (
            "tests/integration/test_adaptive_polling.py::test_a_sweep_skips_without_a_call_what_cannot_have_ended_and_asks_at_each_forced_check",
        ),
    ),
    Mutant(
        "the polling bound counts from the job's age, not from the last ask",
        f"{FUNCTION}/polling.py",
        (("    return points_by(now) > points_by(since)", "    return False"),),
        ("tests/unit/test_polling_bound.py",),
    ),
    Mutant(
        "a sweep that missed due work counts as complete",
        f"{FUNCTION}/sweep.py",
        (
            (
                "complete = not report.stopped_early and sum(report.errors.values()) == errors",
                "complete = True",
            ),
        ),
        (
            "tests/integration/test_adaptive_polling.py::test_a_sweep_that_could_not_ask_about_everything_due_leaves_the_next_to_ask_again",
        ),
    ),
    Mutant(
        "a record in progress can expire",
        f"{FUNCTION}/records.py",
        (
            (
                '        assign("lastCheckedAt", iso(now))\n',
                '        assign("lastCheckedAt", iso(now))\n        assign("expiresAt", epoch(now + self.retention))\n',
            ),
            ('+ " REMOVE #expiresAt"\n', '+ ""\n'),
        ),
        (
            "tests/reliability/test_retention.py::test_an_invocation_in_progress_longer_than_the_retention_is_kept_and_notified",
        ),
    ),
    Mutant(
        "a submission after the record expired is notified again",
        f"{FUNCTION}/lifecycle.py",
        (("existing_only=invocation.ended and too_old,", "existing_only=False,"),),
        ("tests/reliability/test_retention.py::test_a_submission_after_the_record_expired_is_not_notified_again",),
    ),
    Mutant(
        "the SDK retries a publish",
        f"{FUNCTION}/clients.py",
        (("SNS = CallLimits(attempts=1,", "SNS = CallLimits(attempts=2,"),),
        (
            "tests/reliability/test_faults.py::test_a_publish_sns_took_but_did_not_answer_is_sent_once_and_left_to_its_lease",
        ),
    ),
    Mutant(
        "a publish of unknown outcome releases its lease",
        f"{FUNCTION}/lifecycle.py",
        (("                    sends.unknown = exc\n", "                    sends.failed = exc\n"),),
        (
            "tests/reliability/test_faults.py::test_a_publish_sns_took_but_did_not_answer_is_sent_once_and_left_to_its_lease",
        ),
    ),
    Mutant(
        "a failed put on the bus publishes the SNS message again",
        f"{FUNCTION}/lifecycle.py",
        (("                sent=sent,\n", "                sent=sent if finished else {},\n"),),
        (
            "tests/integration/test_event_bus.py::test_a_failed_put_is_retried_by_the_next_sweep_and_never_repeats_the_sns_message",
        ),
    ),
    Mutant(
        "an untrustworthy status is recorded",
        f"{FUNCTION}/invocations.py",
        (("        if status not in STATUSES:", "        if status is None:"),),
        ("tests/reliability/test_fuzz.py",),
    ),
    Mutant(
        "numbers in a notification's context pass through a float",
        f"{FUNCTION}/jsontext.py",
        (('        yield str(value)  # "1E+5"', '        yield repr(float(value))  # "1E+5"'),),
        ("tests/integration/test_intake.py::test_numbers_in_a_context_come_back_in_the_notification_with_every_digit",),
    ),
    Mutant(
        "a context's size counts its numbers as re-serialised, not as written",
        f"{FUNCTION}/jsontext.py",
        (("        yield value.literal", "        yield str(Decimal(value))"),),
        ("tests/unit/test_submissions.py::test_context_size_counts_the_context_as_written_without_whitespace",),
    ),
    Mutant(
        "a region that cannot exist makes a client",
        f"{FUNCTION}/invocations.py",
        (("        if not _region_exists(partition, region):", "        if False:"),),
        (
            "tests/integration/test_intake.py::test_an_arn_of_a_region_that_cannot_exist_fails_as_an_invalid_arn_without_asking_bedrock",
        ),
    ),
    Mutant(
        "a second stack in the account collides on the schedule's name",
        "template.yaml",
        (
            (
                "            Schedule: !Ref SweepSchedule\n",
                "            Name: tracker-sweep\n            Schedule: !Ref SweepSchedule\n",
            ),
        ),
        ("tests/deployment/test_template.py::test_no_physical_name_is_the_same_in_two_stacks",),
    ),
    Mutant(
        "alarms publish to a topic CloudWatch may not use",
        "template.yaml",
        (("KmsMasterKeyId: !Ref AlarmTopicKey", "KmsMasterKeyId: alias/aws/sns"),),
        ("tests/deployment/test_template.py::test_cloudwatch_alarms_of_this_account_may_use_the_alarm_topics_key",),
    ),
    Mutant(
        "a batch above 10 without a window deploys",
        "template.yaml",
        (
            (
                'RuleCondition: !Equals [!Ref MaximumBatchingWindowInSeconds, "0"]',
                'RuleCondition: !Equals [!Ref MaximumBatchingWindowInSeconds, "61"]',
            ),
        ),
        ("tests/deployment/test_template.py::test_batch_parameters_that_lambda_refuses_cannot_be_deployed",),
    ),
    Mutant(
        "a FIFO topic deploys with sweeps every 5 minutes",
        "template.yaml",
        (('"rate(3 minutes)"], !Ref SweepSchedule]', '"rate(3 minutes)", "rate(5 minutes)"], !Ref SweepSchedule]'),),
        (
            "tests/deployment/test_template.py::test_a_fifo_topic_deploys_only_with_sweeps_that_retry_inside_its_deduplication_window",
        ),
    ),
    Mutant(
        "an output that lands before its status is asked about again 5 and 10 seconds later, not 20",
        f"{FUNCTION}/timers.py",
        (
            (
                "RECHECKS = (timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20))",
                "RECHECKS = (timedelta(seconds=5), timedelta(seconds=10))",
            ),
        ),
        (
            "tests/integration/test_new_paths.py::test_an_output_whose_status_lags_25_seconds_is_notified_by_the_third_recheck",
        ),
    ),
    Mutant(
        "where many jobs end close together, timers go off more than 40 s past the first",
        f"{FUNCTION}/lifecycle.py",
        (("TIMER_WIDTH = timedelta(seconds=40)", "TIMER_WIDTH = timedelta(minutes=40)"),),
        (
            "tests/integration/test_new_paths.py::test_a_job_whose_model_ends_close_together_is_asked_by_timers_at_most_40_s_past_the_next_ending",
        ),
    ),
    Mutant(
        "a job predicted to run longer than 15 minutes never gets its timer from the sweep",
        f"{FUNCTION}/sweep.py",
        (("                self._time_long_job(item)\n", "                pass\n"),),
        (
            "tests/integration/test_new_paths.py::test_a_job_longer_than_sqs_can_delay_gets_its_timer_from_a_sweep_and_is_notified_as_it_ends",
        ),
    ),
    Mutant(
        "a job whose output lands in a watched bucket is asked by sweeps like any other",
        f"{FUNCTION}/lifecycle.py",
        (("if work == LISTEN and since is not None", "if False and since is not None"),),
        (
            "tests/integration/test_new_paths.py::test_a_heard_job_among_learned_durations_is_asked_by_sweeps_only_at_its_forced_checks",
        ),
    ),
    Mutant(
        "durations are saved only once 20 are new, never once the first has waited 30 minutes",
        f"{FUNCTION}/polling.py",
        (("return new >= SAVE_EVERY or (new > 0 and waited)", "return new >= SAVE_EVERY"),),
        (
            "tests/integration/test_new_paths.py::test_a_few_durations_are_saved_for_every_environment_once_the_first_has_waited_30_minutes",
        ),
    ),
    Mutant(
        "hand-offs go to the checks queue in messages of 1,000 ARNs, not 100",
        f"{FUNCTION}/timers.py",
        (("HANDOFF_ARNS = 100\n", "HANDOFF_ARNS = 1000\n"),),
        ("tests/reliability/test_handoff_faults.py::test_a_hand_off_of_150_arns_goes_out_in_messages_of_at_most_100",),
    ),
    Mutant(
        "a sweep whose hand-off SQS refused counts as complete",
        f"{FUNCTION}/sweep.py",
        (
            (
                "            report.stopped_early = True  # what could not be handed off stays due",
                "            pass  # what could not be handed off stays due",
            ),
        ),
        (
            "tests/reliability/test_handoff_faults.py::test_a_hand_off_sqs_refuses_leaves_the_next_sweep_to_make_the_forced_checks",
        ),
    ),
    Mutant(
        "an ending just older than the retention is notified again",
        f"{FUNCTION}/lifecycle.py",
        (("self.records.retention - CLOCK_SKEW", "self.records.retention + CLOCK_SKEW"),),
        (
            "tests/reliability/test_retention_edges.py::test_a_submission_minutes_after_the_record_expired_is_not_notified_again",
        ),
    ),
    Mutant(
        "discovery lists from its watermark, not five minutes before it",
        f"{FUNCTION}/discovery.py",
        (("since = watermark - OVERLAP if watermark", "since = watermark if watermark"),),
        (
            "tests/integration/test_new_paths.py::test_a_job_listed_after_the_watermark_with_an_earlier_submission_time_is_discovered",
        ),
    ),
    Mutant(
        "a callback that can never be resumed is retried",
        f"{FUNCTION}/channels/callback.py",
        (("            return Refusal.GONE\n", "            return Refusal.NEEDS_PERSON\n"),),
        (
            "tests/integration/test_callback_channel.py::test_a_callback_that_can_never_be_resumed_is_recorded_gone_counted_and_never_retried",
        ),
    ),
    Mutant(
        "a callback added while another run sends the ending is lost",
        f"{FUNCTION}/records.py",
        (
            (
                'counted = "size(#callbacks) = :known" if callbacks else "attribute_not_exists(#callbacks)"',
                'counted = "attribute_exists(#work)"',
            ),
        ),
        (
            "tests/integration/test_callback_channel.py::test_a_callback_added_while_another_run_sends_the_ending_is_sent_by_the_next_claim",
        ),
    ),
]


def scratch_copy(into: Path) -> Path:
    """The working tree as it is (tracked and new files), with the virtual environments linked, not copied."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for name in listed:
        source = ROOT / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    for venv in (".venv", ".venv-sam", ".venv-cli", ".venv-checkov"):
        if (ROOT / venv).exists():
            (into / venv).symlink_to(ROOT / venv)
    return into


def run(mutant: Mutant) -> tuple[bool, float, str]:
    """Whether the mutant's tests failed (killed), how long they took, and their last words."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as scratch:
        tree = scratch_copy(Path(scratch))
        path = tree / mutant.path
        text = path.read_text()
        for before, after in mutant.changes:
            if text.count(before) != 1:
                raise SystemExit(f"{mutant.name}: {before!r} is not in {mutant.path} exactly once; update the list")
            text = text.replace(before, after)
        path.write_text(text)
        started = time.monotonic()
        result = subprocess.run(
            [str(tree / ".venv" / "bin" / "pytest"), "-q", "-x", "-p", "no:cacheprovider", *mutant.tests],
            cwd=tree,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )
        last = (result.stdout.strip().splitlines() or [""])[-1]
        return result.returncode != 0, time.monotonic() - started, last


def main(argv: list[str]) -> int:
    chosen = [m for m in MUTANTS if not argv or any(word in m.name for word in argv)]
    survived = []
    for mutant in chosen:
        killed, seconds, last = run(mutant)
        print(f"{'killed ' if killed else 'SURVIVED'}  {seconds:5.1f} s  {mutant.name}  ({last})", flush=True)
        if not killed:
            survived.append(mutant.name)
    print(f"\n{len(chosen) - len(survived)} of {len(chosen)} mutants killed")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
