"""Benchmark the world generator: events per second and peak memory per world size.

Each size runs in its own child process so that peak memory (``ru_maxrss`` of the child) is
the cost of that one world, not of the largest world generated so far.

    .venv/bin/python bench/bench_generate.py                       # 10k, 100k, 1M people + workshop world
    .venv/bin/python bench/bench_generate.py --sizes 10000 50000   # other sizes
    .venv/bin/python bench/bench_generate.py --profile 1000000     # cProfile one size, top 25 by cumtime

Targets (issue): the default workshop world (20k people) under 3 s; 1M people under 2 minutes
and under 8 GB; cost linear in people.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKSHOP_PEOPLE = 20_000
TARGETS = {"workshop_s": 3.0, "1m_s": 120.0, "1m_gb": 8.0}


def child(preset: str, people: int, days: int, seed: int, profile: bool) -> None:
    """Generate one world and print one JSON line with its size, time and peak memory."""
    import resource

    sys.path.insert(0, str(ROOT))
    from synthetic import generate, preset_config

    config = preset_config(preset, seed=seed, people=people, days=days)
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        t0 = time.perf_counter()
        world = prof.runcall(generate, config)
        seconds = time.perf_counter() - t0
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(15)
    else:
        t0 = time.perf_counter()
        world = generate(config)
        seconds = time.perf_counter() - t0
    frame_bytes = sum(int(t.memory_usage(deep=True).sum()) for t in world.tables().values())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"preset": preset, "people": people, "days": days, "events": int(len(world.events)),
                      "seconds": seconds, "peak_gb": peak_kb / 1024**2, "tables_gb": frame_bytes / 1024**3}))


def run_child(preset: str, people: int, days: int, seed: int, profile: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", "--preset", preset, "--days", str(days), "--seed", str(seed),
           "--sizes", str(people)] + (["--profile"] if profile else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0"})
    if profile:
        sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child for {people} people failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="people per world")
    parser.add_argument("--preset", default="b2c-retail")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile each size (output on stderr)")
    parser.add_argument("--no-workshop", action="store_true", help="skip the default 20k workshop world")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.preset, args.sizes[0], args.days, args.seed, args.profile)
        return 0

    rows = []
    print(f"{'world':<28}{'people':>10}{'events':>13}{'seconds':>9}{'events/s':>12}{'us/person':>11}{'peak GB':>9}{'tables GB':>10}")
    jobs = [] if args.no_workshop else [("workshop (default)", WORKSHOP_PEOPLE)]
    jobs += [(args.preset, n) for n in args.sizes]
    for label, people in jobs:
        r = run_child(args.preset, people, args.days, args.seed, args.profile)
        r["label"] = label
        rows.append(r)
        print(f"{label:<28}{people:>10,}{r['events']:>13,}{r['seconds']:>9.2f}{r['events'] / r['seconds']:>12,.0f}"
              f"{r['seconds'] / people * 1e6:>11.1f}{r['peak_gb']:>9.2f}{r['tables_gb']:>10.2f}", flush=True)

    sized = [r for r in rows if r["label"] != "workshop (default)"]
    verdicts = []
    workshop = [r for r in rows if r["label"] == "workshop (default)"]
    if workshop:
        s = workshop[0]["seconds"]
        verdicts.append(f"workshop world {s:.2f} s (target < {TARGETS['workshop_s']:.0f} s): {'OK' if s < TARGETS['workshop_s'] else 'MISSED'}")
    for r in sized:
        if r["people"] == 1_000_000:
            ok_t, ok_m = r["seconds"] < TARGETS["1m_s"], r["peak_gb"] < TARGETS["1m_gb"]
            verdicts.append(f"1M people {r['seconds']:.1f} s (target < {TARGETS['1m_s']:.0f} s): {'OK' if ok_t else 'MISSED'}; "
                            f"peak {r['peak_gb']:.2f} GB (target < {TARGETS['1m_gb']:.0f} GB): {'OK' if ok_m else 'MISSED'}")
    # Linearity: cost per person between consecutive sizes (1.0 = linear). The smallest world
    # carries fixed costs (imports warm-up, the Faker name pool), so the larger steps matter most.
    sized.sort(key=lambda r: r["people"])
    for a, b in zip(sized, sized[1:]):
        for what, unit in (("seconds", "time"), ("peak_gb", "peak memory")):
            ratio = (b[what] / b["people"]) / (a[what] / a["people"])
            verdicts.append(f"{unit} per person, {b['people']:,} vs {a['people']:,} people: x{ratio:.2f} (1.0 = linear)")
    for v in verdicts:
        print(v)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
