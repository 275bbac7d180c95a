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
  the audience, the 500 times), with the JVM's peak memory;
- with ``--folder``: the same world streamed to Parquet (``audience-lab generate``), then the
  DuckDB engine on the folder, out of core (``FolderEngine``: identity in SQL, the four views,
  the audience at one time, one play's four timelines), ``audience-lab members`` end to end and
  ``audience-lab compare`` of one play end to end (``--sweep-people 0``; the sweep, tornado and
  login-stitching panels, which build 4,000-person worlds of their own, timed apart), each with
  its time and peak resident memory; the parent samples the whole process tree's RSS
  (``--max-rss-gb`` stops the run if the tree grows past it, on a shared machine).

    .venv/bin/python bench/bench_engine.py                    # 20k (workshop) and 1M people
    .venv/bin/python bench/bench_engine.py --sizes 100000     # other sizes
    .venv/bin/python bench/bench_engine.py --sizes 20000 --spark
    .venv/bin/python bench/bench_engine.py --sizes 1000000 --folder --only-folder --max-rss-gb 6
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
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
    t, cpu = time.perf_counter(), time.process_time()
    play_results(engine, play, scenario)
    out["all_measures_one_play_s"] = round(time.perf_counter() - t, 2)
    # CPU seconds of this process (DuckDB's threads included): steadier than wall time on a shared machine
    out["all_measures_one_play_cpu_s"] = round(time.process_time() - cpu, 2)
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


def _waited(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``cmd``; its wall time and the peak RSS of its process tree in GB: the sum of each
    process's high-water mark (``VmHWM``, which starts afresh at exec — ``ru_maxrss`` would count
    this process's memory copied at fork), sampled every 0.1 s."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    hwm: dict[int, int] = {}

    def sample() -> None:
        while proc.poll() is None:
            for pid, value in _tree_status(proc.pid, "VmHWM:").items():
                hwm[pid] = max(hwm.get(pid, 0), value)
            time.sleep(0.1)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[3]} failed: {err.decode()[-400:]}")
    return time.perf_counter() - t, sum(hwm.values()) / 1024 ** 3, subprocess.CompletedProcess(cmd, 0, out, err)


#: Largest world the folder mode also runs through the in-memory engine, for a paired comparison
#: on the same files at the same moment (it holds the world as frames: 0.8 GB at 20k, ~4 GB at
#: 200k, 21 GB at 1M).
IN_MEMORY_MAX = 50_000


def _in_memory_pair(path: Path, at, play) -> dict:
    """The same steps on the in-memory engine (read_world into pandas), for a paired comparison."""
    from core.engine.views import Engine
    from synthetic.io import read_world

    out = {}
    t = time.perf_counter()
    engine = Engine(read_world(path))
    out["mem_read_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    engine.resolution
    out["mem_identity_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    for view in ("truth", "crm", "cdp", "hybrid"):
        engine.schema(view)
    out["mem_views_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    out["mem_members"] = len(engine.members(RULE, "cdp", at))
    out["mem_members_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    out["mem_play_intervals"] = {m: len(engine.intervals(play.rule(m), m)) for m in ("truth", "crm", "cdp", "hybrid")}
    out["mem_play_timelines_s"] = round(time.perf_counter() - t, 1)
    return out


def folder_child(people: int, workers: int) -> None:
    """Generate (streamed) → the DuckDB engine on the Parquet folder, out of core → members CLI."""
    import resource
    import tempfile

    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from core.advice.scenario import default_play
    from core.engine.folder import FolderEngine
    from synthetic.io import read_config

    out: dict = {"people": people, "engine": "duckdb-folder", "gen_workers": workers}
    cli = [sys.executable, "-c", "import sys; from core.cli import main; sys.exit(main(sys.argv[1:]))"]
    with tempfile.TemporaryDirectory(dir=os.environ.get("AUDLAB_BENCH_TMP")) as tmp:
        path = Path(tmp) / "world"
        secs, peak, _ = _waited(cli + ["generate", "--preset", "b2c-retail", "--seed", "7", "--people", str(people),
                                       "--workers", str(workers), "--out", str(path)])
        out["generate_s"], out["generate_peak_gb"] = round(secs, 1), round(peak, 2)
        print(json.dumps(out), flush=True)  # figures so far, in case the run is stopped later
        out["parquet_gb"] = round(sum(f.stat().st_size for f in path.rglob("*.parquet")) / 1e9, 2)
        # the command first, while this process is small: the tree's peak is then the command's
        start = read_config(path).start_ts
        rule = Path(tmp) / "rule.json"
        rule.write_text(json.dumps(RULE))
        secs, peak, res = _waited(cli + ["members", "--world", str(path), "--rule", str(rule), "--view", "cdp",
                                         "--as-of", (start + pd.Timedelta(days=45)).isoformat(), "--out", str(Path(tmp) / "members.csv")])
        out["members_cli_s"], out["members_cli_peak_gb"] = round(secs, 1), round(peak, 2)
        print(json.dumps(out), flush=True)
        cli_members = json.loads(res.stderr.decode().strip().splitlines()[-1])["members"]
        out.update(_compare_cli(cli, path, Path(tmp)))
        print(json.dumps(out), flush=True)
        engine = FolderEngine(path)
        out["memory_limit"] = engine.limits.memory_limit
        t = time.perf_counter()
        db = engine._database()
        out["events"] = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        engine._identity(db)
        out["identity_sql_s"] = round(time.perf_counter() - t, 1)
        for view in ("truth", "crm", "cdp", "hybrid"):
            t = time.perf_counter()
            engine.schema(view)
            out[f"view_{view}_s"] = round(time.perf_counter() - t, 1)
            print(json.dumps(out), flush=True)
        at = engine.world.start + pd.Timedelta(days=45)
        t = time.perf_counter()
        out["members"] = len(engine.members(RULE, "cdp", at))
        out["members_s"] = round(time.perf_counter() - t, 2)
        out["members_cli_same"] = cli_members == out["members"]
        play = default_play("b2c-retail")
        t = time.perf_counter()
        sizes = {m: len(engine.intervals(play.rule(m), m)) for m in ("truth", "crm", "cdp", "hybrid")}
        out["play"], out["play_intervals"] = play.name, sizes
        out["play_timelines_s"] = round(time.perf_counter() - t, 1)
        out["spilled_gb_at_end"] = round(db.execute(
            "SELECT SUM(temporary_storage_bytes) FROM duckdb_memory()").fetchone()[0] / 1e9, 2)
        out["engine_peak_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2, 2)
        engine.close()
        if people <= IN_MEMORY_MAX:
            out.update(_in_memory_pair(path, at, play))
        out.update(_small_world_parts(path, play))
    print(json.dumps(out))


#: The play ``compare`` runs end to end on the big world.
COMPARE_PLAY = "cart-abandonment"


def _compare_cli(cli: list[str], path: Path, tmp: Path) -> dict:
    """``audience-lab compare --world`` end to end on the big world, one play, with its crossover
    sweep, tornado and login-stitching panels off (``--sweep-people 0``: those build worlds of their
    own, timed apart by :func:`_small_world_parts`): time and the process tree's peak, and the
    figures it printed (kept beside the bench's output, so a later run can be compared)."""
    secs, peak, res = _waited(cli + ["compare", "--world", str(path), "--play", COMPARE_PLAY,
                                     "--sweep-people", "0", "--json"])
    printed = json.loads(res.stdout.decode())
    (tmp / "compare.json").write_text(json.dumps(printed))
    net = {r["model"]: round(r["true_net_value"]) for r in printed["lift"]}
    return {"compare_cli_s": round(secs, 1), "compare_cli_peak_gb": round(peak, 2), "compare_net_value": net}


def _small_world_parts(path: Path, play) -> dict:
    """What ``compare`` adds with its default ``--sweep-people 4000``: the two crossover sweeps, the
    ops tornado and the login-stitching panel, each on worlds of 4,000 people it generates in memory
    (never the big world), so their time does not grow with it. Timed here in this process."""
    from dataclasses import asdict

    from core.advice.scenario import Scenario
    from core.advice.stitching import login_stitching
    from core.advice.sweep import DEFAULT_SWEEPS, crossover, sweep
    from core.advice.tornado import ops_tornado
    from synthetic.io import read_config

    config, people, out = read_config(path), 4000, {}
    scenario = Scenario.make(config.preset, config.seed, config.people, config.days,
                             {**asdict(config.knobs), **asdict(config.behaviour)})
    small = Scenario.make(config.preset, config.seed, people, config.days, dict(scenario.settings))
    t = time.perf_counter()
    for knob in ("coverage_web", "cdp_build_days"):
        crossover(sweep(small, play, knob, DEFAULT_SWEEPS[knob]))
    out["sweep_4000_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    ops_tornado(scenario, play.name, people)
    out["tornado_4000_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    login_stitching(scenario, play, people)
    out["login_stitching_4000_s"] = round(time.perf_counter() - t, 1)
    return out


def _tree_status(pid: int, key: str) -> dict[int, int]:
    """One /proc status line (``VmRSS:``, ``VmHWM:``) in bytes for a process and its descendants."""
    found, stack = {}, [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(key):
                    found[p] = int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
            continue
    return found


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants now (Linux /proc)."""
    return sum(_tree_status(pid, "VmRSS:").values())


def run_watched(cmd: list[str], max_rss_gb: float | None) -> tuple[subprocess.CompletedProcess, float, bool]:
    """Run a child, sampling its process tree's RSS every 0.2 s: (result, peak GB, stopped for memory).
    Past ``max_rss_gb`` the child's process group is killed (it is the bench's own)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    peak, stopped = [0], [False]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            if max_rss_gb and peak[0] > max_rss_gb * 1024 ** 3 and not stopped[0]:
                stopped[0] = True
                os.killpg(proc.pid, signal.SIGKILL)
            time.sleep(0.2)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    watcher.join()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), peak[0] / 1024 ** 3, stopped[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--spark", action="store_true", help="also run each size on local Spark")
    parser.add_argument("--folder", action="store_true",
                        help="also run each size on the DuckDB engine over the Parquet folder (out of core)")
    parser.add_argument("--only-folder", action="store_true", help="run the folder engine only")
    parser.add_argument("--gen-workers", type=int, default=1, help="generator processes for --folder (default 1)")
    parser.add_argument("--max-rss-gb", type=float, help="stop a run whose process tree grows past this (GB)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--spark-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.points)
        return
    if args.spark_child:
        spark_child(args.spark_child, args.points)
        return
    if args.folder_child:
        folder_child(args.folder_child, args.gen_workers)
        return
    runs = [] if args.only_folder else [("--child", size) for size in args.sizes]
    runs += [("--spark-child", size) for size in args.sizes] if args.spark and not args.only_folder else []
    runs += [("--folder-child", size) for size in args.sizes] if args.folder or args.only_folder else []
    for flag, size in runs:
        res, peak, stopped = run_watched([sys.executable, __file__, flag, str(size), "--points", str(args.points),
                                          "--gen-workers", str(args.gen_workers)], args.max_rss_gb)
        if res.returncode != 0:
            why = f"stopped: process tree over {args.max_rss_gb} GB" if stopped else res.stderr.strip().splitlines()[-1:]
            lines = res.stdout.strip().splitlines()
            print(json.dumps({"people": size, "run": flag, "error": why, "peak_tree_gb": round(peak, 2),
                              "so_far": json.loads(lines[-1]) if lines else None}))
            continue
        line = json.loads(res.stdout.strip().splitlines()[-1])
        line["peak_tree_gb"] = round(peak, 2)  # the whole process tree, sampled every 0.2 s
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
