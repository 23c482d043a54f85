"""Every promise the README makes, checked for every job of a scenario; each broken one named with its job, the seed
and the events that led there.

- notified: each ending on the topic at least once (a job whose intake message the function never got to record is
  excused only if it rests in the intake dead-letter queue after failing maxReceiveCount times in the function);
- not_dead_lettered_unrun: no intake message dead-lettered by receives the function never ran (Lambda throttling
  an event source mapping's batches, which count toward maxReceiveCount: issue 19's tenth defect);
- once: a FIFO topic delivers each ending exactly once, but twice when a publish was taken without the tracker
  knowing and SNS refused every retry for the 5 minutes of its deduplication window (guarantees.md says so); a
  standard topic, and the bus, twice only in the documented window (a publish or put whose answer was lost, or
  recording it failed or died after it was sent);
- event_put: with a bus, each ending put there at least once;
- polling_bound: no job in progress (once recorded) goes longer between two questions to Bedrock than
  MaxPollIntervalSeconds plus one sweep period, plus exactly what the schedule's own outages add (no sweep run
  from the forced check on), plus the length of the run that asks (a sweep asks within its 60 s);
- one_timer_series: at no moment has a job two timers on their way (SQS duplicates included: one series per job);
- timers_continue: a timer that finds its job running sets the next, unless the job has outlived the durations
  its model's jobs have shown (a timer that could not be sent, or a run killed, excuses it);
- heard_in_seconds: an ending whose output event reached the function while Bedrock said so within the rechecks'
  35 s is notified within them (faults met by its own calls excuse it);
- heard_only_if_events_come: a job whose output lands where no event reaches this stack (a bucket of another
  Region) is not left to output events;
- checks_not_starved: no sweep spends its whole run on pending notifications while a job's forced check is due;
- calls_per_job, writes_per_job: no job costs more Bedrock calls than asking at every sweep that ran in its life
  would, plus intake, three timers' worth, and three rechecks for each delivery of its output event (the issue's
  "more than polling every minute"), nor more writes than its three, one for each timer that found it running,
  one for each series a sweep started (its claim), and those its faults made necessary. Callbacks leave the calls'
  bound as it is (resuming a workflow asks Bedrock nothing); a second submission counts as a resubmission, and a
  callback's call that ended unsettled (throttled, a 5xx, no answer) allows the two writes of sending it again;
- resumed: each workflow waiting on an ended job (a task token or a callback id its submission carried, chaos.
  workflows) is resumed exactly once with the right outcome (the notification as the success's output for
  Completed, a failure named Bedrock.AsyncInvokeFailed for Failed), unless its task timed out first: then its
  record holds it `gone` (or sent, where an attempt of a call of it lost its answer: the tracker cannot tell
  whether that attempt closed it, and counts it sent, docs/design.md's Refusals). Excused: a submission
  dead-lettered after maxReceiveCount runs of the function;
- gone_means_gone: a workflow the function did resume is not recorded `gone` (nor counted in CallbacksGone),
  unless the write that marks it failed or its run died after the send (the window of the topic and the bus);
- callback_not_resent: once the function has heard a callback's answer that closes it (taken, or refused as
  closed on a first attempt), it never calls it again (a fault met by the job's own requests, or a run killed,
  excuses one more call that finds it closed).
The once promise counts for jobs with callbacks as for every job: a callback's refusal never sends the topic or the
bus again.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tracking.callbacks import FAILED_ERROR, Callback
from tracking.lifecycle import LEARN_EVERY, LEASE_MARGIN, WINDOW_RETRY
from tracking.polling import LEARN_AFTER

from .workflows import FAILED as CALLBACK_FAILED
from .workflows import SUCCEEDED, TIMED_OUT, Waiting
from .world import Facts, Job

RECHECKS = timedelta(seconds=35)  # 5 + 10 + 20 s: how long an output's event keeps asking
ASKED_AT = tuple(timedelta(seconds=s) for s in (0, 5, 15, 35))  # when an output's event asks, from its arrival
RUN = timedelta(seconds=60)  # the function's timeout: a sweep asks somewhere within its run
FIFO_WINDOW = timedelta(minutes=5)  # SNS FIFO drops a repeat of a deduplication id within 5 minutes of the first
SLACK = timedelta(seconds=15)  # batching windows, and the calls a check makes before it publishes
# The tracker predicts from the durations it learned (its own environment's, and those shared), not all the world's:
# a timer is expected only for a job this much younger than the longest its model's jobs ran.
MARGIN = timedelta(seconds=60)


@dataclass
class Broken:
    promise: str
    arn: str
    seed: int
    what: str
    trail: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"promise": self.promise, "arn": self.arn, "seed": self.seed, "what": self.what, "trail": self.trail}


@dataclass
class Verdict:
    seed: int
    jobs: int
    promises_checked: int
    broken: list[Broken]
    longest_gap: float  # seconds between two checks of a job in progress
    latest_notification: float  # seconds from an ending to its first notification
    most_calls: int  # Bedrock calls for one job


class Judge:
    def __init__(self, facts: Facts) -> None:
        self.f = facts
        self.broken: list[Broken] = []
        self.checked = 0
        self.max_poll = timedelta(seconds=facts.settings.max_poll_interval_seconds)
        self.period = facts.settings.sweep_period
        self.longest_gap = 0.0
        self.latest = 0.0
        self.most_calls = 0

    def verdict(self) -> Verdict:
        for job in self.f.jobs.values():
            self._job(job)
        self._sweeps()
        return Verdict(
            self.f.seed, len(self.f.jobs), self.checked, self.broken, self.longest_gap, self.latest, self.most_calls
        )

    def _break(self, promise: str, job: Job | None, what: str, around: tuple[datetime, datetime] | None = None) -> None:
        arn = job.arn if job else ""
        entries = self.f.trail.of(arn) if job else []
        if around is not None:
            low, high = around[0] - timedelta(minutes=2), around[1] + timedelta(minutes=1)
            general = [e for e in self.f.trail.entries if not e.subjects and low <= e.at <= high]
            entries = sorted([e for e in entries if e.subjects] + general, key=lambda e: e.at)
        else:
            entries = [e for e in entries if e.subjects]
        self.broken.append(Broken(promise, arn, self.f.seed, what, self.f.trail.text(entries)))

    def _promise(self) -> None:
        self.checked += 1

    # -- one job --------------------------------------------------------------------------------------

    def _job(self, job: Job) -> None:
        f = self.f
        status = "Failed" if job.fails else "Completed"
        recorded = job.arn in f.records
        ended = job.flips <= f.end - timedelta(minutes=5)
        self._promise()
        dead = f.intake_dead.get(job.arn)
        for body in f.submissions.get(job.arn, [job.arn]):  # each of its submissions (two with a second callback)
            handled, receives = f.handled_bodies.get(body, 0), f.dead_bodies.get(body)
            if receives is not None and handled < receives:
                self._break(
                    "not_dead_lettered_unrun",
                    job,
                    f"its intake message was dead-lettered after {receives} receives, of which the function ran only "
                    f"{handled}: throttled receives counted toward maxReceiveCount (defect 10)",
                )
                break
        if not recorded:
            if dead is None and ended:
                self._promise()
                self._break("notified", job, "never recorded, and its intake message is not dead-lettered")
            return
        if ended:
            self._notified(job, status)
            self._callbacks(job, status)
        self._polling(job)
        self._timers(job)
        self._heard(job)
        self._costs(job)

    def _notified(self, job: Job, status: str) -> None:
        f = self.f
        key = (job.arn, status)
        delivered = f.notifications.get(key, 0)
        self._promise()
        if delivered == 0:
            self._break("notified", job, f"its ending ({status}) never reached the topic's subscriber")
        self._promise()
        if delivered > 1 and (f.fifo or job.arn not in f.faults.window) and not self._refused_through_window(job):
            where = "a FIFO topic" if f.fifo else "a standard topic, outside the documented window"
            self._break("once", job, f"delivered {delivered} times on {where} (defect 7 if FIFO)")
        record = f.records.get(job.arn, {})
        notified_at = record.get("notifiedAt")
        if notified_at:
            seconds = (datetime.fromisoformat(str(notified_at).replace("Z", "+00:00")) - job.flips).total_seconds()
            self.latest = max(self.latest, seconds)
        if f.bus:
            put = f.events.get(key, 0)
            self._promise()
            if put == 0:
                self._break("event_put", job, f"its ending ({status}) never reached the bus's rule")
            self._promise()
            if put > 1 and job.arn not in f.faults.window:
                self._break("once", job, f"put on the bus {put} times, outside the documented window")

    def _callbacks(self, job: Job, status: str) -> None:
        """Each workflow that waited on the job: resumed once, rightly, or recorded gone if its task timed out."""
        f = self.f
        record = f.records.get(job.arn, {})
        for waiting in (w for w in f.workflows.values() if w.arn == job.arn):
            dead, handled = f.dead_bodies.get(waiting.body), f.handled_bodies.get(waiting.body, 0)
            if dead is not None or not handled:
                continue  # its submission never reached the record (dead-lettered: not_dead_lettered_unrun's)
            self._promise()
            key = "callback_" + Callback(waiting.kind, waiting.token).fingerprint
            entry = record.get(key)
            state = str(entry.get("state", {}).get("S", "")) if isinstance(entry, dict) else None
            name = f"its {waiting.kind} {waiting.token[:8]} (recorded {state})"
            if waiting.state == TIMED_OUT:
                # a call with an answer lost may have resumed it, for all the tracker knows
                unsure = any(not a.answered for a in waiting.attempts)
                if state != "gone" and not (unsure and state == "published"):
                    self._break("resumed", job, f"{name}: its task timed out before it was resumed, yet not gone")
            elif not waiting.state:
                self._break("resumed", job, f"{name}: the job ended ({status}) and its workflow still waits")
            elif not _right(waiting, job.arn, status):
                self._break(
                    "resumed", job, f"{name}: resumed as {waiting.state} ({waiting.output[:80]}), the job {status}"
                )
            if waiting.state in (SUCCEEDED, CALLBACK_FAILED):
                self._promise()
                took = waiting.closed_at or f.end
                refused = [x.at for x in waiting.attempts if x.fate == "closed" and x.at > took] or [f.end]
                # the send took and was answered, but the write that marks it failed or its run died: the record never
                # learned it went (the window the topic and the bus have too), and the next send finds it closed
                unmarked = any(x.fate == "took" and x.answered for x in waiting.attempts) and (
                    self._troubled(job.arn, took, refused[0]) or any(took <= k <= refused[0] for k in f.kills)
                )
                if state == "gone" and not unmarked:
                    self._break(
                        "gone_means_gone",
                        job,
                        f"{name}: resumed by the function's own call at +{_at(f, waiting.closed_at or f.end)}, yet "
                        "recorded gone and counted in CallbacksGone (a later call found it closed by that one)",
                    )
            self._promise()
            heard = [i for i, a in enumerate(waiting.attempts) if a.answered and a.fate in ("took", "closed")]
            heard = [i for i in heard if waiting.attempts[i].fate == "took" or waiting.attempts[i].attempt == 0]
            if heard:
                at = waiting.attempts[heard[0]].at
                later = [a for a in waiting.attempts[heard[0] + 1 :] if a.at > at]
                calls = {(a.at, a.operation) for a in later if a.attempt == 0}
                excused = 1 if self._troubled(job.arn, at, f.end) or f.faults.troubled.get(job.arn) else 0
                if len(calls) > excused:
                    self._break(
                        "callback_not_resent",
                        job,
                        f"{name}: called {len(calls)} more times after the function heard it closed at +{_at(f, at)}",
                    )

    def _polling(self, job: Job) -> None:
        """Between two questions while it runs (and from the last one to the first that saw its end)."""
        recorded = self.f.faults.recorded.get(job.arn)
        if recorded is None:  # the bound holds from its record on: before, its intake message is SQS's to keep
            return
        every = sorted(self.f.asked.get(job.arn, []))
        asked = [t for t in every if t <= recorded][-1:] + [t for t in every if t > recorded]  # the ask it records
        if not asked:
            return
        until = min(job.flips, self.f.end)
        checks = [t for t in asked if t < until]
        after = [t for t in asked if t >= until]
        points = checks + (after[:1] if after else [until] if until < self.f.end else [self.f.end])
        self._promise()
        for earlier, later in itertools.pairwise(points):
            gap = later - earlier
            self.longest_gap = max(self.longest_gap, gap.total_seconds())
            allowed = self._allowed(earlier)
            if gap > allowed:
                self._break(
                    "polling_bound",
                    job,
                    f"{gap.total_seconds():.0f} s without a check (+{_at(self.f, earlier)} to +{_at(self.f, later)}) "
                    f"against {allowed.total_seconds():.0f} s allowed (MaxPollIntervalSeconds + a sweep period + "
                    f"the schedule's outage + a run)",
                    (earlier, later),
                )
                return

    def _allowed(self, earlier: datetime) -> timedelta:
        """MaxPollIntervalSeconds and a period; more only where the schedule sent no sweep from the forced check."""
        forced = earlier + self.max_poll
        ran = [s.started for s in self.f.sweeps if s.started is not None and not s.killed and s.started >= forced]
        wait = (min(ran) - forced) if ran else self.period
        return self.max_poll + max(self.period, wait) + RUN

    def _timers(self, job: Job) -> None:
        f = self.f
        timers = f.timers.get(job.arn, [])
        if not timers:
            return
        self._promise()
        # two copies of one timer number are one series: the record holds the number, and the copy that comes
        # second finds it moved on and is dropped without a call (an intake delivered twice sets timer 1 twice)
        spans = [(sent, f.timer_received.get(mid, f.end), number) for mid, sent, _, number in timers]

        def stale(sent: datetime, received: datetime, number: int) -> bool:
            """A copy whose number the series had passed when it came: the record's number drops it (a resubmission
            with another callback sets timer 1 again, and the first copy may then come after timer 2 is set). Only a
            copy already on its way when the higher number was set: one set after it is a second series."""
            return any(n > number and sent <= s < received for s, _, n in spans)

        for sent, _, _ in spans:
            flying = {number for s, r, number in spans if s <= sent < r and not stale(s, r, number)}
            if len(flying) > 1:
                self._break(
                    "one_timer_series",
                    job,
                    f"{len(flying)} timers on their way at once at +{_at(f, sent)} (a second series; defect 8)",
                )
                break
        work = f.faults.work.get(job.arn)
        if work not in ("timed", "listen"):
            return
        self._promise()
        first_seen = f.records.get(job.arn, {}).get("firstSeenAt")
        recorded = datetime.fromisoformat(str(first_seen).replace("Z", "+00:00")) if first_seen else f.end
        for message_id, sent, _, number in timers:
            got = f.timer_received.get(message_id)
            if got is None or got >= job.flips - timedelta(seconds=1) or (work == "listen" and number >= 2):
                continue  # it ended, or a heard job's second timer was its last
            if got < recorded:
                continue  # set by an intake whose write failed: no record holds the series yet (intake sets anew)
            if stale(sent, got, number):
                continue  # its series had moved past it: dropped, rightly setting nothing
            age = got - job.submitted
            horizon = self._horizon(job.model, got, heard=work == "listen")
            if horizon is None or age + MARGIN >= horizon:
                continue  # it has outlived (or nearly) the durations seen: no timer may be due
            later = [s for _, s, _, _ in timers if got < s <= got + RUN]
            if later or self._troubled(job.arn, got, got + RUN):
                continue
            self._break(
                "timers_continue",
                job,
                f"its timer {number} went off at +{_at(f, got)}, found it running (age {age.total_seconds():.0f} s, "
                f"its model's jobs seen up to {horizon.total_seconds():.0f} s) and set no next one "
                f"({'heard' if work == 'listen' else 'timed'} job; defect 6?)",
                (got, got + RUN),
            )
            return

    def _horizon(self, model: str, before: datetime, *, heard: bool) -> timedelta | None:
        """How long its model's jobs have run, as far as a timer may look: the longest, or for a heard job's second
        timer where 90% had ended; None before 10 have ended. Only what every environment surely knows counts: the
        durations saved to the shared item LEARN_EVERY before (each environment reads it that often; what one
        learned and has not saved yet, a recycled environment loses)."""
        known = [durations for at, durations in self.f.shared_durations if at + LEARN_EVERY < before]
        seen = sorted(known[-1].get(model, [])) if known else []
        if len(seen) < LEARN_AFTER:
            return None
        return timedelta(seconds=seen[int(0.9 * (len(seen) - 1))] if heard else seen[-1])

    def _refused_through_window(self, job: Job) -> bool:
        """The one double delivery a FIFO topic allows (guarantees.md): a publish taken without the tracker knowing
        (its answer lost, or its recording failed), then every retry inside SNS's 5-minute deduplication window
        refused, the tracker retrying to its end (a single retry in the window, refused, is defect 7), so that the
        retry finally accepted comes after the window and is delivered again. Only on the job's own trail, twice."""
        f = self.f
        if f.notifications.get((job.arn, "Completed"), 0) + f.notifications.get((job.arn, "Failed"), 0) > 2:
            return False
        attempts = [
            (e.at, e.kind == "sns_fault" and e.detail.startswith("Publish: error"))
            for e in f.trail.entries
            if job.arn in e.subjects
            and (
                (e.kind == "sns_fault" and e.detail.startswith("Publish:"))
                or (e.kind == "sent_ending" and e.detail.startswith("Publish"))
            )
        ]
        taken = [at for at, refused in attempts if not refused]
        if job.arn not in f.faults.window or not taken:
            return False
        closes = taken[0] + FIFO_WINDOW
        inside = sorted((at, refused) for at, refused in attempts if taken[0] < at <= closes)
        # refused to the end, the tracker retrying every WINDOW_RETRY from its first retry (at the lease's end) until
        # the window closed: sweeps' retries a minute or more apart are defect 7, not this
        times = [at for at, _ in inside]
        every = WINDOW_RETRY + SLACK
        # the first retry at the lease's end (the run's deadline and LEASE_MARGIN): one late retry is defect 7 too
        kept_trying = bool(times) and times[0] <= taken[0] + RUN + LEASE_MARGIN + every and times[-1] >= closes - every
        kept_trying = kept_trying and all(later - earlier <= every for earlier, later in itertools.pairwise(times))
        return kept_trying and all(refused for _, refused in inside)

    def _troubled(self, arn: str, low: datetime, high: datetime) -> bool:
        invocation_id = arn.rsplit("/", 1)[-1]
        for e in self.f.trail.entries:
            if low <= e.at <= high and (
                e.kind in ("killed",)
                or (
                    (arn in e.subjects or invocation_id in e.subjects)
                    and e.kind.endswith(("_fault", "_throttled", "message_failed", "entry_refused", "answer_lost"))
                )
            ):
                return True
        return bool(self.f.faults.troubled.get(arn)) and any(low <= k <= high for k in self.f.kills)

    def _heard(self, job: Job) -> None:
        f = self.f
        if job.kind == "other_region":
            self._promise()
            if f.faults.work.get(job.arn) == "listen":
                self._break(
                    "heard_only_if_events_come",
                    job,
                    "its output goes to a watched bucket of another Region, whose events go to that Region's bus, "
                    "yet it was recorded as heard (left to events that never come: defect 5)",
                )
        got = f.event_received.get(job.arn.rsplit("/", 1)[-1])
        if got is None or job.kind != "watched" or job.flips > got + RECHECKS:
            return
        # Bedrock answered it (an attempt throttled or unanswered tells the tracker nothing): Facts.asked holds attempts
        answered = [e.at for e in f.trail.entries if e.kind == "asked" and job.arn in e.subjects]
        if any(job.flips <= t < got for t in answered):
            return  # the ending was known before its event came (the notification is then `notified`'s to judge)
        self._promise()
        record = f.records.get(job.arn, {})
        notified_at = record.get("notifiedAt")
        # the tracker hears of a job from its producer: an event before that can only be noted (checks.py), and the
        # job is asked when its intake message is handed to the function (SQS may hold it back, throttled)
        first_seen = record.get("firstSeenAt")
        known = datetime.fromisoformat(str(first_seen).replace("Z", "+00:00")) if first_seen else job.submitted
        # the event's own check, then its rechecks 5, 10 and 20 s apart: the first of them after Bedrock flips tells
        start = max(got, known)
        due = next(start + step for step in ASKED_AT if start + step >= job.flips) + SLACK
        if notified_at is not None:
            when = datetime.fromisoformat(str(notified_at).replace("Z", "+00:00"))
            if when <= due:
                return
        if self._troubled(job.arn, got - timedelta(seconds=5), due):
            return
        self._break(
            "heard_in_seconds",
            job,
            f"its output event reached the function at +{_at(f, got)}, Bedrock said it ended from "
            f"+{_at(f, job.flips)}, notified only at {notified_at} (defect 4 or 6?)",
            (got, due),
        )

    def _costs(self, job: Job) -> None:
        f = self.f
        life = (min(job.flips, f.end) - job.submitted).total_seconds()
        troubles = f.faults.troubled.get(job.arn, 0) + sum(1 for k in f.kills if job.submitted <= k <= job.flips)
        calls = f.answered.get(job.arn, 0)
        self.most_calls = max(self.most_calls, calls)
        # asked at every sweep that ran in its life, at intake (and each resubmission), by a few timers (3), and
        # 3 rechecks for each delivery of its output event; each fault it met may cost a retry or two
        sweeps = sum(1 for s in f.sweeps if s.started is not None and job.submitted <= s.started <= job.flips)
        limit = 1 + sweeps + 3 + 2 * troubles + max(0, f.intake_handled.get(job.arn, 1) - 1)
        limit += 3 * f.event_deliveries.get(job.arn[-12:], 0)
        self._promise()
        if calls > limit:
            self._break(
                "calls_per_job",
                job,
                f"{calls} Bedrock calls in {life:.0f} s, more than asking at every sweep would make, with its timers "
                f"and rechecks ({limit}; defect 8?)",
            )
        writes = f.faults.writes.get(job.arn, 0)
        # a timer that finds its job running moves the series on: a write each (one series per job)
        running = sum(1 for mid, _, _, _ in f.timers.get(job.arn, []) if f.timer_received.get(mid, f.end) < job.flips)
        # and a sweep that starts a series for a job too long for one at intake claims it with a write
        started = len(f.sweep_series.get(job.arn, ()))
        allowed = 3 + running + started + 2 * troubles + 2 * max(0, f.intake_handled.get(job.arn, 1) - 1)
        # a callback's call that ended unsettled (throttled, a 5xx, unanswered) leaves it pending: a sweep claims the
        # ending and marks it again (the Bedrock calls' bound has no such allowance: resuming asks Bedrock nothing)
        allowed += 2 * sum(w.unsettled for w in f.workflows.values() if w.arn == job.arn)
        self._promise()
        if writes > allowed:
            self._break(
                "writes_per_job",
                job,
                f"{writes} DynamoDB writes against {allowed} (3, one for each running timer and each series a sweep "
                "started, 2 a fault)",
            )

    # -- sweeps -----------------------------------------------------------------------------------------

    def _sweeps(self) -> None:
        f = self.f
        for run in f.sweeps:
            if run.started is None or run.killed or not run.report:
                continue
            self._promise()
            outcomes = run.report.get("outcomes", {})
            pending = sum(outcomes.get(k, 0) for k in ("notified", "not_claimed", "notification_pending"))
            pending += sum(run.report.get("errors", {}).values())
            checked = sum(outcomes.get(k, 0) for k in ("in_progress", "waiting", "handed_off"))
            if not (run.report.get("stoppedEarly") and pending and not checked):
                continue
            starved = [job for job in f.jobs.values() if self._forced_due(job, run.started)]
            if starved:
                self._break(
                    "checks_not_starved",
                    starved[0],
                    f"the sweep at +{_at(f, run.started)} spent its run on {pending} pending notifications and asked "
                    f"about none of the jobs in progress, this one's forced check due (defect 3)",
                    (run.started, run.ended or run.started),
                )

    def _forced_due(self, job: Job, moment: datetime) -> bool:
        """Whether the job was in progress at `moment` and had gone MaxPollIntervalSeconds without a check."""
        before = [t for t in self.f.asked.get(job.arn, []) if t <= moment]
        return bool(before) and job.flips > moment and max(before) <= moment - self.max_poll


def _right(waiting: Waiting, arn: str, status: str) -> bool:
    """Whether a workflow was resumed as its job ended: the notification as a success's output, or the failure."""
    if status == "Failed":
        return waiting.state == CALLBACK_FAILED and waiting.output == FAILED_ERROR
    if waiting.state != SUCCEEDED:
        return False
    try:
        output = json.loads(waiting.output)
    except ValueError:
        return False
    return isinstance(output, dict) and output.get("invocationArn") == arn and output.get("status") == status


def _at(f: Facts, moment: datetime) -> str:
    return f"{(moment - f.trail.start).total_seconds():.0f}s"


def judge(facts: Facts) -> Verdict:
    return Judge(facts).verdict()
