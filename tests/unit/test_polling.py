"""When an in-progress invocation is worth asking about, the durations learned, and where timers go off."""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import SUBMIT_TIME, answer
from tracking.invocations import Invocation
from tracking.polling import LEARN_AFTER, Durations, forced, next_check_at, worth_asking

ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdefghij12"


def invocation(model: str = "amazon.nova-reel-v1:1") -> Invocation:
    return Invocation.from_answer(ARN, answer(modelArn=f"arn:aws:bedrock:us-east-1::foundation-model/{model}"))


def test_zero_interval_means_every_sweep() -> None:
    now = SUBMIT_TIME + timedelta(seconds=5)
    assert next_check_at(invocation(), now=now, max_interval=timedelta(0)) == now


def test_a_new_video_is_first_asked_about_when_it_could_have_ended() -> None:
    now = SUBMIT_TIME + timedelta(seconds=5)
    due = next_check_at(invocation(), now=now, max_interval=timedelta(minutes=5))
    assert due == SUBMIT_TIME + timedelta(seconds=75)


def test_never_later_than_the_max_interval() -> None:
    early = next_check_at(invocation(), now=SUBMIT_TIME, max_interval=timedelta(seconds=30))
    assert early == SUBMIT_TIME + timedelta(seconds=30)


def test_unknown_models_are_asked_about_at_once() -> None:
    now = SUBMIT_TIME + timedelta(seconds=1)
    assert next_check_at(invocation("some.new-model-v9:0"), now=now, max_interval=timedelta(minutes=5)) == now


def test_past_its_floor_an_invocation_is_due_every_sweep() -> None:
    now = SUBMIT_TIME + timedelta(minutes=7)
    assert next_check_at(invocation(), now=now, max_interval=timedelta(minutes=5)) == now


def completed(seconds: float, model: str = "amazon.nova-reel-v1:1") -> Invocation:
    return Invocation.from_answer(
        ARN,
        answer(
            status="Completed",
            modelArn=f"arn:aws:bedrock:us-east-1::foundation-model/{model}",
            endTime=SUBMIT_TIME + timedelta(seconds=seconds),
        ),
    )


def test_learned_durations_move_the_first_check_once_enough_jobs_have_ended() -> None:
    durations = Durations()
    for i in range(LEARN_AFTER - 1):
        durations.learn(completed(900 + i))
    now = SUBMIT_TIME + timedelta(seconds=1)
    assert next_check_at(invocation(), now=now, max_interval=timedelta(hours=1), durations=durations) == (
        SUBMIT_TIME + timedelta(seconds=75)  # not enough seen: the profile's floor
    )
    durations.learn(completed(950))
    learned = next_check_at(invocation(), now=now, max_interval=timedelta(hours=1), durations=durations)
    ended = sorted([900 + i for i in range(LEARN_AFTER - 1)] + [950])
    assert learned == SUBMIT_TIME + timedelta(seconds=ended[int(0.05 * LEARN_AFTER)])  # their 5th percentile
    capped = next_check_at(invocation(), now=now, max_interval=timedelta(minutes=5), durations=durations)
    assert capped == now + timedelta(minutes=5)


def test_failures_and_other_models_do_not_teach_durations() -> None:
    durations = Durations()
    for _ in range(LEARN_AFTER):
        durations.learn(completed(900, model="luma.ray-v2:0"))
        failed = Invocation.from_answer(ARN, answer(status="Failed", endTime=SUBMIT_TIME + timedelta(seconds=5)))
        durations.learn(failed)
    assert durations.floor("amazon.nova-reel-v1:1") is None
    assert durations.floor("luma.ray-v2:0") == timedelta(seconds=900)


def ask(
    age: float, durations: Durations, *, max_interval: float = 300, due_after: float = 90, since_ago: float | None = 60
) -> bool:
    """A sweep at `age` of an invocation first due `due_after` its submission; the last complete sweep ran
    `since_ago` before (None: this execution environment has not swept yet)."""
    now = SUBMIT_TIME + timedelta(seconds=age)
    return worth_asking(
        model_id="amazon.nova-reel-v1:1",
        submit_time=SUBMIT_TIME,
        due_at=SUBMIT_TIME + timedelta(seconds=due_after),
        now=now,
        since=None if since_ago is None else now - timedelta(seconds=since_ago),
        max_interval=timedelta(seconds=max_interval),
        period=timedelta(seconds=60),
        durations=durations,
    )


def learned(*seconds: float) -> Durations:
    durations = Durations()
    for value in seconds:
        durations.learn(completed(value))
    return durations


def test_without_enough_endings_seen_every_due_invocation_is_asked_about() -> None:
    few = learned(*([90.0] * (LEARN_AFTER - 1)))
    assert all(ask(age, few) for age in (100, 200, 250, 420))
    assert ask(200, learned(*[90.0] * 30), max_interval=0)  # 0: every sweep checks everything


def test_between_the_durations_seen_a_job_is_not_asked_about() -> None:
    # a workload of 6 s clips (~90 s) and 2-minute videos (~900 s); forced checks at 90, 390, 690, 990 s of age
    durations = learned(*([90.0] * 20 + [880.0, 900.0, 950.0] * 5))
    assert ask(100, durations)  # near the clips' durations
    assert not ask(200, durations)
    assert not ask(450, durations)
    assert ask(910, durations)  # near the videos'
    assert ask(1200, durations)  # older than any seen: always


def test_the_max_interval_is_kept_from_the_last_ask_even_between_durations_seen() -> None:
    durations = learned(*([90.0] * 20 + [900.0] * 20))
    asked = [age for age in range(190, 800, 60) if ask(age, durations, max_interval=300)]
    assert asked == [430, 730]  # the first sweep after each forced check (at 390 and 690 s of age)


def test_an_execution_environment_that_has_not_swept_asks_about_everything_due() -> None:
    durations = learned(*([90.0] * 20 + [900.0] * 20))
    assert not ask(450, durations)
    assert ask(450, durations, since_ago=None)


def test_a_forced_check_missed_by_an_incomplete_sweep_is_made_by_the_next() -> None:
    due = SUBMIT_TIME + timedelta(seconds=100)
    interval = timedelta(seconds=300)
    # the last complete sweep was before the forced point at 400 s: any later sweep asks, however late
    assert forced(
        due_at=due,
        since=SUBMIT_TIME + timedelta(seconds=380),
        now=SUBMIT_TIME + timedelta(seconds=500),
        max_interval=interval,
    )
    assert not forced(
        due_at=due,
        since=SUBMIT_TIME + timedelta(seconds=420),
        now=SUBMIT_TIME + timedelta(seconds=500),
        max_interval=interval,
    )
    assert forced(due_at=due, since=SUBMIT_TIME, now=due, max_interval=interval)  # the first check, at its due time


def next_end(durations: Durations, age: float, *, share: float = 0.25, width: float = 40) -> float | None:
    found = durations.next_end(
        "amazon.nova-reel-v1:1", timedelta(seconds=age), share=share, width=timedelta(seconds=width)
    )
    return None if found is None else found.total_seconds()


def test_a_timer_is_set_where_a_share_of_the_jobs_still_running_would_have_ended() -> None:
    spread = learned(*range(100, 500, 10))  # 40 jobs, one every 10 s from 100 to 490 s
    assert next_end(spread, 0, width=1000) == 190  # a quarter of 40 = the 10th duration
    assert next_end(spread, 250, width=1000) == 350  # the 10th of those that outlasted 250 s


def test_where_jobs_end_close_together_the_timers_are_no_further_apart_than_the_width() -> None:
    bimodal = learned(*([90.0, 95.0, 100.0] * 5 + [880.0, 900.0, 950.0] * 5))
    assert next_end(bimodal, 0) == 95  # share: the 8th of 30
    assert next_end(bimodal, 96) == 100  # the last of the clips: within the width of the first later ending
    assert next_end(bimodal, 100) == 900  # the next cluster: the last within 40 s of 880
    assert next_end(bimodal, 900) == 950


def test_no_timer_before_enough_endings_or_for_a_job_older_than_all_of_them() -> None:
    assert next_end(learned(*([90.0] * (LEARN_AFTER - 1))), 0) is None
    assert next_end(learned(*([90.0] * LEARN_AFTER)), 0) == 90
    assert next_end(learned(*([90.0] * LEARN_AFTER)), 90) is None
