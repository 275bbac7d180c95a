"""Write and read a world: one Parquet file per table plus ``world.json``.

Writing goes to a temporary folder beside the target and is renamed into place only when every
file is complete, so a failed or interrupted write never leaves a half-written world.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthetic.errors import UserError
from synthetic.config import GENERATOR_VERSION, Behaviour, Knobs, WorldConfig
from synthetic.world import TABLES, World


def world_json(config: WorldConfig) -> dict:
    return {"generator_version": GENERATOR_VERSION, "seed": config.seed, "preset": config.preset,
            "config": asdict(config), "tables": list(TABLES)}


def write_world(world: World, out_dir: str | os.PathLike) -> Path:
    """Write ``world`` to ``out_dir`` atomically; refuse a non-empty folder that is not a world."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"cannot write the world to {out}: it is a file, not a folder")
    if out.exists() and any(out.iterdir()) and not (out / "world.json").exists():
        raise UserError(f"cannot write the world to {out}: the folder is not empty and holds no world.json")
    parent = out.resolve().parent
    existing = next(p for p in (parent, *parent.parents) if p.exists())
    if not existing.is_dir():
        raise UserError(f"cannot write the world to {out}: {existing} is a file, not a folder")
    created = None if existing == parent else parent.relative_to(existing).parts[0]  # first folder we make
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".world-", dir=parent))
    except OSError as exc:
        if created:
            shutil.rmtree(existing / created, ignore_errors=True)
        raise UserError(f"cannot write the world to {out}: {exc.strerror or exc}") from None
    try:
        for name, frame in world.tables().items():
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pq.write_table(table, tmp / f"{name}.parquet", compression="zstd")
        (tmp / "world.json").write_text(json.dumps(world_json(world.config), indent=2, sort_keys=True))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException as exc:
        shutil.rmtree(existing / created if created else tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise UserError(f"cannot write the world to {out}: {exc.strerror or exc}") from None
        raise
    return out


def read_world(path: str | os.PathLike) -> World:
    """Read a world written by :func:`write_world`, with a clear message for anything else."""
    root = Path(path)
    meta_path = root / "world.json"
    if not meta_path.is_file():
        raise UserError(f"{root} is not a world folder: world.json is missing (write one with 'audience-lab generate')")
    try:
        meta = json.loads(meta_path.read_text())
        cfg = meta["config"]
        config = WorldConfig(preset=cfg["preset"], seed=cfg["seed"], people=cfg["people"], days=cfg["days"],
                             start=cfg["start"], knobs=Knobs(**cfg["knobs"]), behaviour=Behaviour(**cfg["behaviour"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{meta_path} is not a valid world description ({exc})") from None
    tables = {}
    for name in TABLES:
        file = root / f"{name}.parquet"
        if not file.is_file():
            raise UserError(f"{root} is not a complete world: {file.name} is missing")
        tables[name] = pd.read_parquet(file)
    return World(config=config, **tables)
