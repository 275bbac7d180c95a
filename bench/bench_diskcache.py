"""Worlds built once: generating a world and running its play against reading both back from the
disk cache (core/advice/diskcache.py), for the dashboard's default world (b2c-retail, 10,000 people,
90 days). Each figure is the median of ``--repeats`` runs in a fresh temporary cache folder.

    .venv/bin/python bench/bench_diskcache.py [--people 10000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.advice.diskcache import DiskCache  # noqa: E402
from core.advice.prebuild import result_parts, scenario_world  # noqa: E402
from core.advice.scenario import Scenario, build_engine, build_world, default_play  # noqa: E402


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="b2c-retail")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    s = Scenario.make(args.preset, 1000, args.people, args.days)
    p = default_play(s.preset)
    times: dict[str, list[float]] = {k: [] for k in ("generate", "generate_and_write", "read_world",
                                                     "results_compute", "results_write", "results_read")}
    sizes = {}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="bench-diskcache-") as tmp:
            seconds, _ = _timed(lambda: build_world(s))
            times["generate"].append(seconds)
            cache = DiskCache(Path(tmp) / "c", 2**31)
            seconds, _ = _timed(lambda: scenario_world(cache, s))
            times["generate_and_write"].append(seconds)
            seconds, world = _timed(lambda: scenario_world(DiskCache(Path(tmp) / "c", 2**31), s))
            times["read_world"].append(seconds)
            engine = build_engine(s, world)
            engine.resolution
            seconds, parts = _timed(lambda: result_parts(engine, s, p))
            times["results_compute"].append(seconds)
            seconds, _ = _timed(lambda: cache.value("results", {"bench": 1}, lambda: parts))
            times["results_write"].append(seconds)
            later = DiskCache(Path(tmp) / "c", 2**31)  # a later server
            seconds, _ = _timed(lambda: later.value("results", {"bench": 1}, lambda: None))
            times["results_read"].append(seconds)
            sizes = {e["name"].split("-")[0]: round(e["bytes"] / 2**20, 1) for e in cache.entries()}
    report = {"preset": s.preset, "people": s.people, "days": s.days, "repeats": args.repeats,
              "median_s": {k: round(statistics.median(v), 3) for k, v in times.items()},
              "entry_mb": sizes}
    report["read_vs_generate"] = round(report["median_s"]["generate"] / report["median_s"]["read_world"], 1)
    report["results_read_vs_compute"] = round(report["median_s"]["results_compute"] / max(report["median_s"]["results_read"], 1e-6))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
