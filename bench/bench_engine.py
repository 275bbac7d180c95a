"""Benchmark the engine and the measures (issues 3 and 4).

For one b2c-retail world per size, in a child process each (so peak memory is that world's):
- identity resolution and building the CDP view;
- the pricing-style intent audience (product views ≥ 3 in 48 h, no add to cart in 48 h) on the
  CDP view at one time, and a hand-written DuckDB query for the same audience on the same
  relations — their ratio is the compiler's overhead (target: within 1.5x);
- the same rule evaluated at 500 as-of times in one query (``Engine.members_at``);
- all measures for one play (freshness, overlap, lift across CRM, CDP, hybrid), and where that
  time goes (play intervals per model vs the measures' own work);
- with ``--spark``: the same world written to Parquet and run on local Spark (identity, views,
  the audience, the 500 times), with the JVM's peak memory.

    .venv/bin/python bench/bench_engine.py                    # 20k (workshop) and 1M people
    .venv/bin/python bench/bench_engine.py --sizes 100000     # other sizes
    .venv/bin/python bench/bench_engine.py --sizes 20000 --spark
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RULE = {"name": "Browse intent", "all": [
    {"event": "page_view", "where": {"page": "product"}, "count": {"gte": 3}, "within": "48h"},
    {"not": {"event": "add_to_cart", "within": "48h"}}]}

HAND_WRITTEN = """
SELECT s.subject_id FROM v_subjects s
WHERE s.subject_id IN (
        SELECT subject_id FROM v_events
        WHERE event_type = 'page_view' AND page = 'product' AND visible_at <= $1
          AND ts <= $1 AND ts > $1 - INTERVAL 48 HOUR
        GROUP BY subject_id HAVING count(*) >= 3)
  AND s.subject_id NOT IN (
        SELECT subject_id FROM v_events
        WHERE event_type = 'add_to_cart' AND visible_at <= $1
          AND ts <= $1 AND ts > $1 - INTERVAL 48 HOUR)
"""


def child(people: int, points: int) -> None:
    import resource

    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from core.advice.scenario import Scenario, build_engine, default_play, play_results
    from core.engine.rules import parse_rule
    from core.engine.setcompile import compile_at

    out: dict = {"people": people}
    t = time.perf_counter()
    scenario = Scenario.make("b2c-retail", seed=7, people=people)
    engine = build_engine(scenario)
    out["generate_s"] = round(time.perf_counter() - t, 2)
    out["events"] = len(engine.world.events)
    t = time.perf_counter()
    engine.resolution
    out["identity_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    for view in ("truth", "crm", "cdp", "hybrid"):
        engine.schema(view)
    out["build_views_s"] = round(time.perf_counter() - t, 2)
    at = engine.world.start + pd.Timedelta(days=45)
    engine.members(RULE, "cdp", at)  # warm
    t = time.perf_counter()
    members_n = len(engine.members(RULE, "cdp", at))
    out["engine_members_s"] = round(time.perf_counter() - t, 3)  # end to end: v_at, query, join to persons
    con = engine._connection("cdp")
    compiled = compile_at(parse_rule(RULE), engine.schema("cdp"), at)
    best = {"compiled": float("inf"), "hand": float("inf")}
    for _ in range(3):  # same relations, same time: the compiler's SQL against a hand-written query
        t = time.perf_counter()
        compiled_n = len(con.execute(compiled.sql, list(compiled.params)).fetchall())
        best["compiled"] = min(best["compiled"], time.perf_counter() - t)
        t = time.perf_counter()
        hand_n = len(con.execute(HAND_WRITTEN, [at]).fetchall())
        best["hand"] = min(best["hand"], time.perf_counter() - t)
    out["compiled_sql_s"] = round(best["compiled"], 3)
    out["hand_written_s"] = round(best["hand"], 3)
    out["members"] = members_n
    out["same_members"] = compiled_n == hand_n == members_n
    out["ratio_compiled_to_hand"] = round(best["compiled"] / max(best["hand"], 1e-6), 2)
    times = pd.date_range(engine.world.start + pd.Timedelta(days=2), engine.world.end, periods=points)
    t = time.perf_counter()
    at = engine.members_at(RULE, "cdp", times)
    out[f"rule_at_{points}_times_s"] = round(time.perf_counter() - t, 2)
    out["members_at_equals_members"] = list(at.loc[at["t"] == times[-1], "subject_id"]) == list(
        engine.members(RULE, "cdp", times[-1])["subject_id"])
    play = default_play("b2c-retail")
    t = time.perf_counter()
    for model, view in (("truth", "truth"), ("crm", "crm"), ("cdp", "cdp"), ("hybrid", "hybrid")):
        engine.intervals(play.rule(model), view)
    out["play_intervals_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    play_results(engine, play, scenario)
    out["all_measures_one_play_s"] = round(time.perf_counter() - t, 2)
    out["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 2)
    print(json.dumps(out))


def spark_child(people: int, points: int) -> None:
    """The same world and audience on local Spark, from Parquet files to members."""
    import resource
    import tempfile

    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from core.engine.spark import SparkEngine, spark_session
    from synthetic.io import generate_to_folder
    from synthetic.presets import preset_config

    out: dict = {"people": people, "engine": "spark"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "world"
        t = time.perf_counter()
        # the same world as the DuckDB run (the preset's own knobs, not WorldConfig's defaults)
        generate_to_folder(preset_config("b2c-retail", seed=7, people=people), path)
        out["generate_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        spark = spark_session("audience-lab-bench")
        out["session_s"] = round(time.perf_counter() - t, 2)
        engine = SparkEngine(path, spark)
        t = time.perf_counter()
        engine._tables()
        out["identity_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        for view in ("truth", "crm", "cdp", "hybrid"):
            engine.schema(view)
        out["build_views_s"] = round(time.perf_counter() - t, 2)
        at = engine.start + pd.Timedelta(days=45)
        engine.members(RULE, "cdp", at)
        t = time.perf_counter()
        out["members"] = len(engine.members(RULE, "cdp", at))
        out["engine_members_s"] = round(time.perf_counter() - t, 2)
        times = pd.date_range(engine.start + pd.Timedelta(days=2), engine.end, periods=points)
        t = time.perf_counter()
        engine.members_at(RULE, "cdp", times)
        out[f"rule_at_{points}_times_s"] = round(time.perf_counter() - t, 2)
        out["peak_rss_driver_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 2)
        out["peak_rss_jvm_and_workers_gb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 ** 2, 2)
        spark.stop()
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--spark", action="store_true", help="also run each size on local Spark")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--spark-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.points)
        return
    if args.spark_child:
        spark_child(args.spark_child, args.points)
        return
    runs = [("--child", size) for size in args.sizes]
    runs += [("--spark-child", size) for size in args.sizes] if args.spark else []
    for flag, size in runs:
        res = subprocess.run([sys.executable, __file__, flag, str(size), "--points", str(args.points)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            print(json.dumps({"people": size, "run": flag, "error": res.stderr.strip().splitlines()[-1:]}))
            continue
        print(res.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
