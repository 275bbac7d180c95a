"""The engine at the scale of issue 22: one world folder, the same audience on DuckDB and on Spark.

bench_engine.py generates each world inside its run and deletes it afterwards; at 10M people
(≈ 420 M events, 8 minutes to stream) that is the wrong shape: this script takes a world folder
that ``audience-lab generate --out`` already wrote and runs the commands a data team would run on
it, each as its own process, with its wall time and the peak resident memory of its whole process
tree (the JVM included for Spark):

- ``audience-lab members --world W`` on DuckDB out of core (identity in SQL, the CDP view, the
  browse-intent audience at day 45) under ``AUDLAB_DUCKDB_MEMORY``;
- the same command with ``--engine spark`` (local mode; ``AUDLAB_SPARK_MEMORY`` and
  ``AUDLAB_SPARK_PARTITIONS`` as set in the environment, printed with the figures);
- with ``--compare PLAY``: ``audience-lab compare --world W --play PLAY --sweep-people 0`` on
  DuckDB (the folder engine), when the CLI supports it;
- with ``--profile``: ``audience-lab profile --world W`` (DuckDB over the files).

An imported (observed) world — ``audience-lab import`` output, e.g. ``bench_import.py --dir`` —
is read the same way on DuckDB (Spark reads generated worlds only), the audience taken ten days
before its end.

Both engines must return the same members; the line says whether they did.

    AUDLAB_SPARK_MEMORY=6g AUDLAB_SPARK_PARTITIONS=64 \
        .venv/bin/python bench/bench_scale.py --world /work/big/w10m
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_engine import RULE, _waited  # noqa: E402  (the same audience and the same tree sampler)

CLI = [sys.executable, "-c", "import sys; from core.cli import main; sys.exit(main(sys.argv[1:]))"]


def _members(world: Path, engine: str, tmp: Path, as_of: str) -> dict:
    rule = tmp / "rule.json"
    rule.write_text(json.dumps(RULE))
    secs, peak, res = _waited(CLI + ["members", "--world", str(world), "--rule", str(rule), "--view", "cdp",
                                     "--as-of", as_of, "--engine", engine, "--out", str(tmp / f"{engine}.csv")])
    summary = json.loads(res.stderr.decode().strip().splitlines()[-1])
    return {"seconds": round(secs, 1), "peak_tree_gb": round(peak, 2), "members": summary["members"]}


def _ids(path: Path) -> set:
    """The member ids a ``members --out`` file lists (its first column)."""
    import pandas as pd

    frame = pd.read_csv(path)
    return set(frame.iloc[:, 0].tolist())


def _profile(world: Path) -> dict:
    secs, peak, _ = _waited(CLI + ["profile", "--world", str(world)])
    return {"seconds": round(secs, 1), "peak_tree_gb": round(peak, 2)}


def _period(world: Path) -> tuple[str, dict]:
    """The as-of time of the audience and what the world is, from its world.json."""
    import pandas as pd

    meta = json.loads((world / "world.json").read_text())
    if meta.get("kind") == "observed":
        end = pd.Timestamp(meta["end"])
        return (end - pd.Timedelta(days=10)).isoformat(), {"kind": "observed", "events": meta["summary"]["kept"]}
    from synthetic.io import read_config

    config = read_config(world)
    return ((config.start_ts + pd.Timedelta(days=45)).isoformat(),
            {"kind": "synthetic", "people": config.people, "preset": config.preset})


def _compare(world: Path, play: str) -> dict:
    secs, peak, res = _waited(CLI + ["compare", "--world", str(world), "--play", play, "--sweep-people", "0",
                                     "--tornado-people", "0", "--json"])
    return {"seconds": round(secs, 1), "peak_tree_gb": round(peak, 2),
            "net_value": json.loads(res.stdout.decode()).get("net_value")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, required=True, help="a folder written by audience-lab generate --out")
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"], choices=("duckdb", "spark"))
    parser.add_argument("--compare", metavar="PLAY", help="also time compare of this play on DuckDB")
    parser.add_argument("--profile", action="store_true", help="also time audience-lab profile")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    as_of, what = _period(args.world)
    if what["kind"] == "observed":
        args.engines = [e for e in args.engines if e == "duckdb"]
    out: dict = {**what,
                 "parquet_gb": round(sum(f.stat().st_size for f in args.world.rglob("*.parquet")) / 1e9, 2),
                 "env": {k: v for k, v in os.environ.items() if k.startswith("AUDLAB_")}}
    with tempfile.TemporaryDirectory(dir=os.environ.get("AUDLAB_BENCH_TMP")) as tmp:
        for engine in args.engines:
            out[engine] = _members(args.world, engine, Path(tmp), as_of)
            print(json.dumps(out), flush=True)  # figures so far, in case a later step is stopped
        if len(args.engines) == 2:
            out["same_members"] = _ids(Path(tmp) / "duckdb.csv") == _ids(Path(tmp) / "spark.csv")
    if args.profile:
        out["profile"] = _profile(args.world)
    if args.compare:
        out["compare"] = _compare(args.world, args.compare)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
