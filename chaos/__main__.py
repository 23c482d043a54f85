"""`make chaos`: seeded scenarios of a day on AWS's worst behaviour, every promise checked for every job.

    python -m chaos                      # 200 seeds (1..200), 2 worker processes, each with one local stack
    python -m chaos --seed 17            # replay one seed: its broken promises with the events that led there
    python -m chaos --seeds 1-20 --rate index_lag=10 --rate bus_deleted=1

Progress goes to stderr; the last line of stdout is JSON: seeds, jobs, promises_checked, broken, the worst figures,
and the broken promises by name (each with its first seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import Any

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bedrock-async-tracker")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Chaos")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

_WORKER: dict[str, Any] = {}


def _quiet() -> None:
    """The function logs every check and counts metrics per event: noise here, and memory over a long run."""
    import logging

    from tracking import lifecycle, telemetry

    telemetry.metrics.add_metric = lambda **_: None  # type: ignore[method-assign]
    setattr(lifecycle, "count_ending", lambda *_: None)  # noqa: B010 - imported there from telemetry
    logging.disable(logging.CRITICAL)


def _stack() -> tuple[Any, Any]:
    if "stack" not in _WORKER:
        from localrun.stack import LocalAws

        from .world import SharedClients

        _quiet()
        _WORKER["stack"] = LocalAws(seed=0).start()
        _WORKER["session"] = SharedClients()
    return _WORKER["stack"], _WORKER["session"]


def run_seed(seed: int, jobs: int, hours: float, changes: dict[str, Any], trail: bool) -> dict[str, Any]:
    """One scenario in this process's stack: the verdict, as plain data."""
    from .faults import Rates
    from .promises import judge
    from .world import Scenario

    stack, session = _stack()
    began, cpu = time.monotonic(), time.process_time()
    scenario = Scenario(stack, session, seed=seed, jobs=jobs, hours=hours, rates=Rates().with_changes(changes))
    facts = scenario.run()
    verdict = judge(facts)
    # the next seed takes a fresh set: moto slows with every set it keeps (a tenth more CPU a seed by the 100th)
    stack.delete_resources(stack.resources, buckets=(scenario.buckets["unwatched"], scenario.buckets["other_region"]))
    if os.environ.get("CHAOS_TRAIL"):  # the whole trail, to compare two runs of a seed
        with open(os.environ["CHAOS_TRAIL"], "w") as out:
            out.write("\n".join(facts.trail.text(facts.trail.entries, limit=10**9)))
    return {
        "seed": seed,
        "jobs": verdict.jobs,
        "promises_checked": verdict.promises_checked,
        "broken": [b.as_dict() if trail else {**b.as_dict(), "trail": []} for b in verdict.broken],
        "longest_gap": verdict.longest_gap,
        "latest_notification": verdict.latest_notification,
        "most_calls": verdict.most_calls,
        "seconds": time.monotonic() - began,
        "cpu": time.process_time() - cpu,
        "fifo": facts.fifo,
    }


def _seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += list(range(int(low), int(high or low) + 1))
    return seeds


def _rate(text: str) -> tuple[str, Any]:
    """name=0.5, name=true, or name=1,3 (a range of seconds)."""
    name, _, value = text.partition("=")
    if value.lower() in ("true", "false"):
        return name, value.lower() == "true"
    if "," in value:
        return name, tuple(float(part) for part in value.split(","))
    return name, float(value)


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    broken = [b for r in results for b in r["broken"]]
    by_promise: dict[str, list[int]] = {}
    for b in broken:
        seeds = by_promise.setdefault(b["promise"], [])
        if b["seed"] not in seeds:
            seeds.append(b["seed"])
    return {
        "seeds": len(results),
        "jobs": sum(r["jobs"] for r in results),
        "promises_checked": sum(r["promises_checked"] for r in results),
        "broken": len(broken),
        "longest_gap_between_checks": round(max((r["longest_gap"] for r in results), default=0.0), 1),
        "latest_notification": round(max((r["latest_notification"] for r in results), default=0.0), 1),
        "most_calls_for_one_job": max((r["most_calls"] for r in results), default=0),
        "broken_by_promise": {
            name: {"count": Counter(b["promise"] for b in broken)[name], "seeds": seeds[:10]}
            for name, seeds in sorted(by_promise.items())
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--seed", type=int, help="replay one seed and print its broken promises with their trail")
    parser.add_argument("--seeds", default="1-200", help="seeds to run: 1-200, or 3,5,9-12")
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rate", type=_rate, action="append", default=[], help="name=value: a rate of chaos.faults.Rates"
    )
    args = parser.parse_args(argv)
    if os.environ.get("PYTHONHASHSEED") != "0":  # the same seed, the same run: sets iterate in one order
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, "-m", "chaos", *(sys.argv[1:] if argv is None else argv)])  # noqa: S606
    changes = dict(args.rate)
    seeds = [args.seed] if args.seed is not None else _seeds(args.seeds)
    replay = args.seed is not None
    results: list[dict[str, Any]] = []
    began = time.monotonic()

    def done(result: dict[str, Any]) -> None:
        results.append(result)
        names = Counter(b["promise"] for b in result["broken"])
        print(
            f"chaos: seed {result['seed']:>4} ({len(results)}/{len(seeds)}, {time.monotonic() - began:5.0f} s): "
            f"{result['jobs']} jobs, {result['promises_checked']} promises, {len(result['broken'])} broken "
            f"{dict(names) if names else ''} [{result['seconds']:.1f} s, CPU {result['cpu']:.1f} s]",
            file=sys.stderr,
            flush=True,
        )

    if args.workers <= 1 or len(seeds) == 1:
        for seed in seeds:
            done(run_seed(seed, args.jobs, args.hours, changes, replay))
    else:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            futures = [pool.submit(run_seed, seed, args.jobs, args.hours, changes, replay) for seed in seeds]
            for future in futures:
                done(future.result())
    if replay:
        for broken in results[0]["broken"]:
            print(f"\nBROKEN {broken['promise']}: seed {broken['seed']}, {broken['arn']}\n  {broken['what']}")
            for line in broken["trail"]:
                print(f"    {line}")
    results.sort(key=lambda r: r["seed"])
    print(json.dumps(summary(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
