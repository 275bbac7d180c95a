"""Resident memory one more world adds to a server: the figures behind core.advice.store.KB_PER_PERSON.

The world store bounds the memory of live worlds with an estimate per world; this script measures
what that estimate must cover, in one process the way the dashboard holds worlds: the world, its
identity resolution, the four DuckDB views and one play's results. For each (preset, people) it
builds ``--hold`` worlds of different seeds one after another and keeps them all, so the figure is
the RSS each added world costs once the allocator's first-world growth is paid, not a peak.

    .venv/bin/python bench/bench_world_rss.py                       # every preset at 5,000 people, b2c-retail at 10k/20k
    .venv/bin/python bench/bench_world_rss.py --only b2c-retail:10000 --hold 3

Run it with ``MALLOC_ARENA_MAX=2`` (as ``make run`` does) for the dashboard's figure. Each size
runs in its own child process, so one size's freed memory never hides the next one's.
"""
from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT = ("b2b-saas:5000", "plg-saas:5000", "b2c-retail:5000", "omnichannel:5000", "b2c-retail:10000",
           "b2c-retail:20000")


def measure(preset: str, people: int, days: int, hold: int) -> dict:
    """Build ``hold`` worlds (seeds 7, 8, …) with their views and one play's results, keep them
    all, and report the RSS each one added."""
    from core.advice.scenario import Scenario, build_engine, build_world, default_play, play_results
    from core.advice.store import release_memory, rss_mb

    gc.collect()
    release_memory()
    base = rss_mb()
    held, steps = [], []
    t0 = time.perf_counter()
    for i in range(hold):
        s = Scenario.make(preset, 7 + i, people, days)
        engine = build_engine(s, build_world(s))
        engine.resolution
        results = play_results(engine, default_play(preset), s)
        held.append((engine, results))
        gc.collect()
        release_memory()
        steps.append(round(rss_mb(), 1))
    added = [round(b - a, 1) for a, b in zip([base] + steps, steps)]
    per_world = added[-1] if hold > 1 else added[0]
    events = len(held[0][0].world.events)
    return {"preset": preset, "people": people, "days": days, "base_mb": round(base, 1), "rss_after_each_mb": steps,
            "added_mb": added, "mb_per_world": per_world, "kb_per_person": round(per_world * 1024 / people, 1),
            "events": events, "seconds": round(time.perf_counter() - t0, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=list(DEFAULT), help="preset:people pairs")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--hold", type=int, default=3, help="worlds built and kept per size")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        preset, people = args.child.split(":")
        print(json.dumps(measure(preset, int(people), args.days, args.hold)))
        return
    rows = []
    for pair in args.only:
        out = subprocess.run([sys.executable, __file__, "--child", pair, "--days", str(args.days), "--hold", str(args.hold)],
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(row), flush=True)
        rows.append(row)
    print("| preset | people | events | MB each world adds (1st, 2nd, …) | KB per person |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['preset']} | {r['people']:,} | {r['events']:,} | {', '.join(f'{a:.0f}' for a in r['added_mb'])} | "
              f"{r['kb_per_person']:.1f} |")


if __name__ == "__main__":
    main()
