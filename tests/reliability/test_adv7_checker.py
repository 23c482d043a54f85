"""adv7: two of the chaos checker's newest excuses (chaos/promises.py) that would hide a real break of a promise.

Each test builds a scenario's facts by hand (no stack, no function: the trail and the timers a broken tracker would
leave) and asks the checker to judge them, as `make chaos` does at the end of a day; a real break must be reported.
"""

from __future__ import annotations

import random
from datetime import timedelta

from bench.day import START
from chaos.faults import Faults, Rates
from chaos.promises import Judge
from chaos.trail import Trail
from chaos.world import Facts, Job
from tracking.config import Settings

ARN = "arn:aws:bedrock:us-east-1:111122223333:async-invoke/adv7judge001"
T0 = START + timedelta(hours=1)


def facts(job: Job, trail: Trail, *, fifo: bool, window: set[str]) -> Facts:
    """A day's facts holding one job and what the trail says of it; everything else empty."""
    faults = Faults(rates=Rates(), rng=random.Random(7), trail=trail, clock=lambda: T0, window=window)
    return Facts(
        seed=7,
        fifo=fifo,
        bus=False,
        settings=Settings(
            table_name="t", topic_arn="arn:aws:sns:us-east-1:111122223333:t", max_poll_interval_seconds=0
        ),
        end=START + timedelta(hours=2),
        jobs={job.arn: job},
        asked={},
        answered={},
        sweeps=[],
        timers={},
        timer_received={},
        sweep_series={},
        shared_durations=[],
        event_received={},
        event_deliveries={},
        intake_received={},
        intake_dead={},
        intake_handled={},
        submissions={},
        dead_bodies={},
        handled_bodies={},
        workflows={},
        notifications={},
        events={},
        records={job.arn: {"firstSeenAt": START.isoformat()}},
        faults=faults,
        kills=[],
        trail=trail,
        topic_denied=None,
        bus_deleted=None,
    )


def a_job() -> Job:
    return Job(
        arn=ARN,
        model="amazon.nova-reel-v1:1",
        kind="unwatched",
        submitted=START,
        lands=T0 - timedelta(seconds=10),
        flips=T0 - timedelta(seconds=5),
        fails=False,
    )


def test_a_fifo_ending_delivered_twice_after_one_late_retry_is_a_break() -> None:
    """SNS FIFO topics drop a repeat of a MessageDeduplicationId sent within the 5-minute deduplication interval
    ("subsequent messages within the deduplication scope and interval, with the same MessageDeduplicationId, are
    accepted successfully but aren't delivered": PublishRequest.MessageDeduplicationId, SNS API reference). The
    tracker promises to use that window (docs/guarantees.md: a retry is accepted within 5 minutes of the first
    attempt; twice only "if SNS refuses every retry for 5 minutes"): the first retry at the lease's end (a run's 60 s
    and LEASE_MARGIN, ~90 s after the send), then every WINDOW_RETRY (20 s) until the window closes.

    Here the first publish was taken with its answer lost, and the tracker did not retry for 290 s: its one retry in
    the window, 10 s before it closed, was refused (a 20 s AuthorizationError outage), and the retry after the window
    was delivered again. A retry at the lease's end would have been taken and dropped by deduplication: this is
    defect 7 (the window not used), not the documented case. The excuse (_refused_through_window, seed 21) checks the
    gaps between retries inside the window and that the last came near its end, but not when the first came: a single
    late retry passes, which its own docstring says is defect 7."""
    job = a_job()
    trail = Trail(START)
    trail.add(T0, "sns_fault", [ARN], "Publish: drop ")  # taken; its answer lost
    trail.add(T0 + timedelta(seconds=290), "sns_fault", [ARN], "Publish: error AuthorizationError")
    trail.add(T0 + timedelta(seconds=330), "sent_ending", [ARN], "Publish goes through")
    day = facts(job, trail, fifo=True, window={ARN})
    day.notifications[(ARN, "Completed")] = 2

    judge = Judge(day)
    judge._notified(job, "Completed")

    assert [b.promise for b in judge.broken] == ["once"]


def test_the_excuse_still_covers_retries_every_window_retry_refused_to_the_windows_end() -> None:
    """The documented case stays excused (seed 21): the first retry at the lease's end, then every 20 s, all refused
    until the window closed; the retry after it delivered again."""
    job = a_job()
    trail = Trail(START)
    trail.add(T0, "sns_fault", [ARN], "Publish: drop ")
    at = T0 + timedelta(seconds=91)
    while at <= T0 + timedelta(minutes=5):
        trail.add(at, "sns_fault", [ARN], "Publish: error AuthorizationError")
        at += timedelta(seconds=20)
    trail.add(at, "sent_ending", [ARN], "Publish goes through")
    day = facts(job, trail, fifo=True, window={ARN})
    day.notifications[(ARN, "Completed")] = 2

    judge = Judge(day)
    judge._notified(job, "Completed")

    assert judge.broken == []


def test_a_second_series_set_after_a_higher_numbered_timer_is_a_break() -> None:
    """SQS delivers each timer (a delayed SendMessage) at least once, so the tracker keeps one series per job by the
    record's timer number (move_timer's conditional write): a copy whose number the record has passed is dropped
    without a call (SQS: "a message is delivered at least once", Amazon SQS standard queues' at-least-once delivery).
    The checker's seed-135 excuse (stale) skips every timer whose number is below one sent before it came, whether
    or not it was already on its way when the higher one was set. Here a resubmission's timer 1 moves the series to
    2, then 3; the first timer 1 comes late and is NOT dropped (the break): it sets a timer numbered 2 anew, which
    flies beside timer 3 for 200 s (two timers on their way, each asking Bedrock when it goes off: defect 8). That
    timer 2 was set after timer 3 was, so no record's number could have dropped it on its way; the checker calls it
    stale all the same and reports nothing."""
    job = a_job()
    job.flips = START + timedelta(hours=1, minutes=30)
    trail = Trail(START)
    day = facts(job, trail, fifo=False, window=set())
    s = T0
    day.timers[ARN] = [
        ("m1", s, s + timedelta(seconds=300), 1),  # timer 1, on its way 300 s
        ("m2", s + timedelta(seconds=10), s + timedelta(seconds=60), 1),  # a resubmission's timer 1: it moves to 2
        ("m3", s + timedelta(seconds=60), s + timedelta(seconds=200), 2),
        ("m4", s + timedelta(seconds=200), s + timedelta(seconds=500), 3),
        ("m5", s + timedelta(seconds=300), s + timedelta(seconds=600), 2),  # the late timer 1, not dropped, sets 2
    ]
    day.timer_received.update(
        m1=s + timedelta(seconds=300),
        m2=s + timedelta(seconds=60),
        m3=s + timedelta(seconds=200),
        m4=s + timedelta(seconds=500),
        m5=s + timedelta(seconds=600),
    )

    judge = Judge(day)
    judge._timers(job)

    assert "one_timer_series" in [b.promise for b in judge.broken]


def test_a_copy_already_on_its_way_when_its_series_moved_on_stays_excused() -> None:
    """Seed 135 stays excused: two copies of timer 1 (an intake and a resubmission), the short one moves the series to
    2, the long one (sent before timer 2 was set) comes after and is dropped."""
    job = a_job()
    job.flips = START + timedelta(hours=1, minutes=30)
    day = facts(job, Trail(START), fifo=False, window=set())
    s = T0
    day.timers[ARN] = [
        ("m1", s, s + timedelta(seconds=92), 1),
        ("m2", s + timedelta(seconds=10), s + timedelta(seconds=24), 1),
        ("m3", s + timedelta(seconds=24), s + timedelta(seconds=400), 2),
    ]
    day.timer_received.update(m1=s + timedelta(seconds=93), m2=s + timedelta(seconds=24), m3=s + timedelta(seconds=400))

    judge = Judge(day)
    judge._timers(job)

    assert [b.promise for b in judge.broken if b.promise == "one_timer_series"] == []


def test_an_ending_heard_and_notified_late_after_a_throttled_ask_is_a_break() -> None:
    """Bedrock Runtime's GetAsyncInvoke answers ThrottlingException (HTTP 429, "Your request was denied due to
    exceeding the account quotas": Bedrock Runtime API reference, GetAsyncInvoke's Errors) without saying anything
    of the job. The checker's heard_in_seconds excuse "the ending was known before its event came" looks at
    Facts.asked, which holds every ATTEMPT (world._before_call appends before the call is made, throttled or not).
    Here the one ask after Bedrock flipped was throttled, 29 s before the output's event reached the function: the
    tracker did not know the ending, its event's check and rechecks were the promise, and it notified 20 minutes
    later (the heard path broken: defect 4 or 6). The checker reports nothing."""
    job = a_job()
    job.kind = "watched"
    trail = Trail(START)
    day = facts(job, trail, fifo=False, window=set())
    flips = job.flips
    got = flips + timedelta(seconds=30)
    day.asked[ARN] = [flips + timedelta(seconds=1)]  # an attempt, throttled: no answer, no "asked" entry
    trail.add(flips + timedelta(seconds=1), "bedrock_fault", [ARN], "GetAsyncInvoke: error ThrottlingException")
    day.event_received[ARN.rsplit("/", 1)[-1]] = got
    day.records[ARN]["notifiedAt"] = (got + timedelta(minutes=20)).isoformat()

    judge = Judge(day)
    judge._heard(job)

    assert [b.promise for b in judge.broken] == ["heard_in_seconds"]


def test_an_ending_answered_before_its_event_came_stays_notifieds_to_judge() -> None:
    """The excuse stays where Bedrock did answer after the flip, before the event: the ending was known."""
    job = a_job()
    job.kind = "watched"
    trail = Trail(START)
    day = facts(job, trail, fifo=False, window=set())
    got = job.flips + timedelta(seconds=30)
    day.asked[ARN] = [job.flips + timedelta(seconds=1)]
    trail.add(job.flips + timedelta(seconds=1.2), "asked", [ARN], "Bedrock says Completed (sweep)")
    day.event_received[ARN.rsplit("/", 1)[-1]] = got
    day.records[ARN]["notifiedAt"] = (got + timedelta(minutes=20)).isoformat()

    judge = Judge(day)
    judge._heard(job)

    assert judge.broken == []
