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
  DuckDB (the folder engine), when the CLI supports it.

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
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import pandas as pd

    from synthetic.io import read_config

    config = read_config(args.world)
    as_of = (config.start_ts + pd.Timedelta(days=45)).isoformat()
    out: dict = {"people": config.people, "preset": config.preset,
                 "parquet_gb": round(sum(f.stat().st_size for f in args.world.rglob("*.parquet")) / 1e9, 2),
                 "env": {k: v for k, v in os.environ.items() if k.startswith("AUDLAB_")}}
    with tempfile.TemporaryDirectory(dir=os.environ.get("AUDLAB_BENCH_TMP")) as tmp:
        for engine in args.engines:
            out[engine] = _members(args.world, engine, Path(tmp), as_of)
            print(json.dumps(out), flush=True)  # figures so far, in case a later step is stopped
        if len(args.engines) == 2:
            out["same_members"] = _ids(Path(tmp) / "duckdb.csv") == _ids(Path(tmp) / "spark.csv")
    if args.compare:
        out["compare"] = _compare(args.world, args.compare)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
