"""World folders: write, stream and read them, never leaving a half-written one behind.

Layout: one folder per table holding ``part-NNNNN.parquet`` files (one row group per unit of
people, :mod:`synthetic.units`) and ``world.json`` (generator version, config). ``read_world`` also
reads the older layout of one ``<table>.parquet`` per table.

Crash safety: everything is written into a hidden sibling ``.world-<pid>-<random>``, ``world.json``
last, and moved into place by renames at the end (the old folder aside, the new one in, the old
one deleted). A rename is atomic on one file system, so at every instant the target is the
complete old world, absent (between the two renames), or the complete new world. A process killed
with ``kill -9`` cannot clean up; the next write into the same parent removes staging folders
whose process no longer runs.

Damaged folders: a corrupt or truncated Parquet file, a missing table, a ``world.json`` from
another generator version or with wrong types, or a folder that is no world at all each give one
:class:`~synthetic.errors.DataError` / :class:`~synthetic.errors.UserError` line naming the file
and the problem.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthetic.config import GENERATOR_VERSION, Behaviour, Knobs, WorldConfig, validate
from synthetic.errors import ConfigError, DataError, UserError
from synthetic.world import TABLES, World, summarise

STAGE_PREFIX = ".world-"
_STAGE = re.compile(r"^\.world-(\d+)-")
#: People per part file when streaming (a run of units; any multiple of the unit gives the same world).
BLOCK_PEOPLE = 65_536
_TS = pa.timestamp("ns", tz="UTC")
_CODES = pa.dictionary(pa.int8(), pa.string())     # fixed vocabularies (channel, event type, page)
_IDS = pa.dictionary(pa.int32(), pa.string())      # identifiers: categoricals over the values used
SCHEMAS: dict[str, pa.Schema] = {
    "people": pa.schema([("person_id", pa.int64()), ("model", pa.string()), ("account_id", pa.int64()),
                         ("household_id", pa.int64()), ("email", pa.string()), ("first_name", pa.string()),
                         ("last_name", pa.string()), ("city", pa.string()), ("country", pa.string()),
                         ("has_login", pa.bool_()), ("user_id", pa.string()), ("registered_at", _TS),
                         ("second_email", pa.string()), ("arrived_at", _TS), ("left_at", _TS), ("left_reason", pa.string())]),
    "accounts": pa.schema([("account_id", pa.int64()), ("name", pa.string()), ("industry", pa.string()),
                           ("employees", pa.int64()), ("employee_band", pa.string()), ("region", pa.string()),
                           ("icp_fit", pa.float64()), ("domain", pa.string())]),
    "events": pa.schema([("event_id", pa.int64()), ("person_id", pa.int64()), ("ts", _TS), ("channel", _CODES),
                         ("event_type", _CODES), ("page", _CODES), ("value", pa.float64()), ("anonymous_id", _IDS),
                         ("user_id", _IDS), ("email", _IDS), ("received_at", _TS), ("crm_received_at", _TS),
                         ("session_id", pa.int64()), ("crm_identify_email", _IDS)]),
    "identifiers": pa.schema([("identifier_type", pa.string()), ("identifier", pa.string()), ("person_id", pa.int64()),
                              ("shared", pa.bool_())]),
    "crm_changes": pa.schema([("contact_id", pa.int64()), ("person_id", pa.int64()), ("field", pa.string()),
                              ("value", pa.string()), ("effective_at", _TS), ("recorded_at", _TS), ("source", pa.string())]),
    "intent": pa.schema([("person_id", pa.int64()), ("start", _TS), ("end", _TS), ("strength", pa.float64()),
                         ("state", pa.string())]),
    "traits": pa.schema([("person_id", pa.int64()), ("field", pa.string()), ("value", pa.string()), ("effective_at", _TS)]),
}
#: Columns every reader relies on (docs/ARCHITECTURE.md "World tables"); later columns may be absent in old worlds.
REQUIRED: dict[str, tuple[str, ...]] = {
    "people": ("person_id", "model", "account_id", "email", "first_name", "last_name", "user_id", "registered_at"),
    "accounts": ("account_id", "name", "industry", "employees", "region"),
    "events": ("event_id", "person_id", "ts", "channel", "event_type", "page", "value", "anonymous_id", "user_id",
               "email", "received_at", "session_id"),
    "identifiers": ("identifier_type", "identifier", "person_id", "shared"),
    "crm_changes": ("contact_id", "person_id", "field", "value", "effective_at", "recorded_at"),
    "intent": ("person_id", "start", "end", "strength", "state"),
    "traits": ("person_id", "field", "value", "effective_at"),
}


def world_json(config: WorldConfig) -> dict:
    return {"kind": "synthetic", "generator_version": GENERATOR_VERSION, "seed": config.seed, "preset": config.preset,
            "config": asdict(config), "tables": list(TABLES)}


# ------------------------------------------------------------------ writing

def write_world(world: World, out_dir: str | os.PathLike) -> Path:
    """Write an in-memory ``world`` to ``out_dir`` atomically (one part per table)."""
    with staged(out_dir) as tmp:
        writers = TableWriters(tmp)
        try:
            writers.write(world.tables())
        finally:
            writers.close()
        _write_meta(tmp, world.config)
    return Path(out_dir)


def generate_to_folder(config: WorldConfig, out_dir: str | os.PathLike, workers: int = 1,
                       block_people: int = BLOCK_PEOPLE) -> dict[str, Any]:
    """Generate ``config`` straight into ``out_dir`` without holding the whole world in memory.

    Units of people are made by ``workers`` processes (1 = in this process), numbered in unit order
    and streamed to one part file per block of ``block_people``. The result does not depend on
    ``workers`` or ``block_people``. Returns the world's summary (as :meth:`World.summary`)."""
    from synthetic.units import UNIT_PEOPLE, plan_units

    validate(config)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 64:
        raise ConfigError(f"workers must be a whole number from 1 to 64 (got {workers!r})")
    if isinstance(block_people, bool) or not isinstance(block_people, int) or block_people < UNIT_PEOPLE:
        raise ConfigError(f"block_people must be a whole number of at least {UNIT_PEOPLE} (got {block_people!r})")
    units = plan_units(config)
    per_block = max(block_people // UNIT_PEOPLE, 1)
    offsets = {"events": 0, "sessions": 0, "contacts": 0}
    totals: dict[str, float] = {}
    with staged(out_dir) as tmp:
        writers = TableWriters(tmp)
        try:
            for unit, part in _unit_results(config, units, workers):
                writers.block(unit.index // per_block)
                writers.write_arrow(_shift(part, offsets))
                for key, value in part.totals.items():
                    totals[key] = totals.get(key, 0) + value
        finally:
            writers.close()
        _write_meta(tmp, config)
    return _summary(config, totals)


class ArrowUnit:
    """One unit's tables as Arrow (converted in the worker, where the CPU is) with its summary counts."""

    def __init__(self, config: WorldConfig, unit) -> None:
        from synthetic.generator import generate_unit

        part = generate_unit(config, unit)
        self.tables = {name: to_arrow(name, frame) for name, frame in part.tables.items()}
        self.sessions = part.sessions
        ch = part.tables["crm_changes"]
        self.contacts = int(ch["contact_id"].max()) if len(ch) else 0
        self.totals = summarise(part.tables, config.start_ts)


def _shift(part: ArrowUnit, offsets: dict[str, int]) -> dict[str, pa.Table]:
    """Event, session and contact ids moved past the units before (same rule as ``generator.Offsets``)."""
    import pyarrow.compute as pc

    t = dict(part.tables)
    ev = t["events"]
    for col, key in (("event_id", "events"), ("session_id", "sessions")):
        if offsets[key]:
            i = ev.schema.get_field_index(col)
            ev = ev.set_column(i, ev.schema.field(i), pc.add(ev.column(i), pa.scalar(offsets[key], pa.int64())))
    ch = t["crm_changes"]
    if offsets["contacts"]:
        i = ch.schema.get_field_index("contact_id")
        ch = ch.set_column(i, ch.schema.field(i), pc.add(ch.column(i), pa.scalar(offsets["contacts"], pa.int64())))
    offsets["events"] += part.tables["events"].num_rows
    offsets["sessions"] += part.sessions
    offsets["contacts"] += part.contacts
    t["events"], t["crm_changes"] = ev, ch
    return t


def _unit_results(config: WorldConfig, units, workers: int) -> Iterator:
    """(unit, ArrowUnit) in unit order; with workers, at most two units per worker in flight."""
    if workers == 1 or len(units) == 1:
        for unit in units:
            yield unit, ArrowUnit(config, unit)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["synthetic.io", "synthetic.generator"])

    def submit(unit):
        with plain_main():  # a worker may start on this submit: it must not re-run the caller's script
            return unit, pool.submit(ArrowUnit, config, unit)

    # a worker that dies (out of memory, killed) breaks the pool: the error surfaces, nothing hangs
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending = [submit(u) for u in units[: 2 * workers]]
        upcoming = iter(units[2 * workers:])
        while pending:
            unit, future = pending.pop(0)
            try:
                part = future.result()
            except BrokenProcessPool:
                raise UserError(f"a worker process died while generating people {unit.first + 1}–{unit.first + unit.people} "
                                "(out of memory or killed); try fewer workers") from None
            nxt = next(upcoming, None)
            if nxt is not None:
                pending.append(submit(nxt))
            yield unit, part


@contextmanager
def plain_main() -> Iterator[None]:
    """Start worker processes as if from a bare interpreter.

    ``forkserver`` and ``spawn`` re-run the parent's ``__main__`` file in every new process; under
    a test runner or a Streamlit page that file is not a plain script (an AppTest leaves a page
    there), so for the moment the pool starts the main module is an empty one. Workers only run
    functions of :mod:`synthetic`, so they need nothing from it."""
    import sys
    import types

    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def _summary(config: WorldConfig, totals: dict[str, float]) -> dict[str, Any]:
    from synthetic.world import summary_from

    return summary_from(config, totals)


class TableWriters:
    """One Parquet writer per table, opening a new part file per block; one row group per write."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.part = -1
        self.open: dict[str, pq.ParquetWriter] = {}
        for name in TABLES:
            (root / name).mkdir()

    def block(self, index: int) -> None:
        if index != self.part:
            self.close()
            self.part = index

    def write(self, tables: dict[str, pd.DataFrame]) -> None:
        self.write_arrow({name: to_arrow(name, tables[name]) for name in TABLES})

    def write_arrow(self, tables: dict[str, pa.Table]) -> None:
        if self.part < 0:
            self.part = 0
        for name in TABLES:
            table = tables[name]
            writer = self.open.get(name)
            if writer is None:
                # dictionary pages only for text: ids, times and amounts are nearly unique, and trying
                # a dictionary on them first doubles the writing time for a larger file
                text = [f.name for f in table.schema if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)]
                writer = pq.ParquetWriter(self.root / name / f"part-{self.part:05d}.parquet", table.schema,
                                          compression="zstd", use_dictionary=text)
                self.open[name] = writer
            writer.write_table(table)

    def close(self) -> None:
        while self.open:
            self.open.popitem()[1].close()


def to_arrow(name: str, frame: pd.DataFrame) -> pa.Table:
    """A table frame as Arrow with the table's fixed schema (columns added later keep their own type)."""
    schema = SCHEMAS[name]
    known = [f for f in schema if f.name in frame.columns]
    extra = [c for c in frame.columns if c not in schema.names]
    table = pa.Table.from_pandas(frame[[f.name for f in known] + extra], preserve_index=False)
    cast = pa.schema(known + [table.schema.field(c) for c in extra], metadata=table.schema.metadata)
    return table.cast(cast)


def _write_meta(root: Path, config: WorldConfig) -> None:
    (root / "world.json").write_text(json.dumps(world_json(config), indent=2, sort_keys=True))


# ------------------------------------------------------------------ staging (crash safety)

def process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(parent: Path, stage: re.Pattern[str] = _STAGE) -> list[Path]:
    """Delete staging folders (and old worlds moved aside) left by writers that are gone (kill -9).

    ``stage`` matches a staging folder's name and captures its writer's process id (the importer
    passes its own prefix)."""
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = stage.match(entry.name)
        if m and entry.is_dir() and not process_alive(int(m.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _check_target(out: Path) -> tuple[Path, Path | None]:
    """Refuse a file or a non-empty non-world folder; return the parent and the first folder we'd create."""
    if out.exists() and not out.is_dir():
        raise UserError(f"cannot write the world to {out}: it is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "world.json").exists():
        raise UserError(f"cannot write the world to {out}: the folder is not empty and holds no world.json")
    parent = out.resolve().parent
    existing = next(p for p in (parent, *parent.parents) if p.exists())
    if not existing.is_dir():
        raise UserError(f"cannot write the world to {out}: {existing} is a file, not a folder")
    created = None if existing == parent else existing / parent.relative_to(existing).parts[0]
    return parent, created


@contextmanager
def staged(out_dir: str | os.PathLike) -> Iterator[Path]:
    """A hidden staging folder beside ``out_dir``, swapped into place when the block succeeds."""
    out = Path(out_dir)
    parent, created = _check_target(out)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale(parent)
        tmp = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=parent))
    except OSError as exc:
        if created:
            shutil.rmtree(created, ignore_errors=True)
        raise UserError(f"cannot write the world to {out}: {exc.strerror or exc}") from None
    try:
        yield tmp
        _swap(tmp, out)
    except BaseException as exc:
        shutil.rmtree(created if created else tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise UserError(f"cannot write the world to {out}: {exc.strerror or exc}") from None
        raise


def _swap(tmp: Path, out: Path) -> None:
    """Move the finished world in: old folder aside (same prefix: cleaned up if we die now), new in, old out."""
    if out.exists():
        aside = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-old-", dir=tmp.parent))
        os.rmdir(aside)
        os.replace(out, aside)
        os.replace(tmp, out)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(tmp, out)


# ------------------------------------------------------------------ reading

def read_world(path: str | os.PathLike) -> World:
    """Read a world folder (partitioned or one-file-per-table), with one clear line for anything damaged."""
    root = Path(path)
    config = read_config(root)
    tables = {name: _read_table(root, name) for name in TABLES}
    return World(config=config, **tables)


def recorded(root: str | os.PathLike, key: str) -> dict[str, str]:
    """A ``{name: value}`` entry a command added to a world's ``world.json`` (the stacks and the ops
    levels it was made with); empty when there is none or the file cannot be read — a world made
    without them is still a world."""
    try:
        meta = json.loads((Path(root) / "world.json").read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    entry = meta.get(key) if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in entry.items()} if isinstance(entry, dict) else {}


def read_config(root: Path) -> WorldConfig:
    """The config in ``root/world.json``, checked: JSON object, this generator's version, valid values."""
    meta_path = root / "world.json"
    if not root.is_dir():
        raise UserError(f"{root} is not a world folder: {'it does not exist' if not root.exists() else 'it is a file'}")
    if not meta_path.is_file():
        raise UserError(f"{root} is not a world folder: world.json is missing (write one with 'audience-lab generate')")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{meta_path} is not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{meta_path} is not a world description (expected a JSON object)")
    kind = meta.get("kind", "synthetic")
    if kind != "synthetic":
        raise DataError(f"{meta_path} describes a world of kind {kind!r}, not a generated one (open it with the engine's open_world)")
    version = meta.get("generator_version")
    if not isinstance(version, str) or version.split(".")[0] != GENERATOR_VERSION.split(".")[0]:
        raise DataError(f"{meta_path} was written by generator version {version!r}; this is {GENERATOR_VERSION} — "
                        "regenerate the world with 'audience-lab generate'")
    try:
        cfg = meta["config"]
        if not isinstance(cfg, dict) or not isinstance(cfg.get("knobs"), dict) or not isinstance(cfg.get("behaviour"), dict):
            raise TypeError("config, config.knobs and config.behaviour must be objects")
        known_k, known_b = {f.name for f in fields(Knobs)}, {f.name for f in fields(Behaviour)}
        unknown = sorted(set(cfg["knobs"]) - known_k | set(cfg["behaviour"]) - known_b)
        if unknown:
            raise TypeError(f"unknown setting(s) {', '.join(unknown)}")
        config = WorldConfig(preset=cfg["preset"], seed=cfg["seed"], people=cfg["people"], days=cfg["days"],
                             start=cfg["start"], knobs=Knobs(**cfg["knobs"]), behaviour=Behaviour(**cfg["behaviour"]))
        validate(config)
    except KeyError as exc:
        raise DataError(f"{meta_path} is not a valid world description (missing {exc})") from None
    except (ValueError, TypeError) as exc:
        raise DataError(f"{meta_path} is not a valid world description ({exc})") from None
    return config


def _read_table(root: Path, name: str) -> pd.DataFrame:
    folder, single = root / name, root / f"{name}.parquet"
    if folder.is_dir():
        files = sorted(folder.glob("part-*.parquet"))
        if not files:
            raise DataError(f"{folder} holds no part files: the world is incomplete (regenerate it)")
    elif single.is_file():
        files = [single]
    else:
        raise DataError(f"{root} is not a complete world: the {name} table ({name}/ or {name}.parquet) is missing")
    parts = []
    for file in files:
        try:
            parts.append(pq.read_table(file))
        except (pa.ArrowException, OSError, ValueError) as exc:
            first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise DataError(f"{file} is not a readable Parquet file ({first}); the world is damaged — regenerate it") from None
    try:
        table = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(f"{folder} has part files with different columns ({str(exc)[:120]})") from None
    missing = [c for c in REQUIRED[name] if c not in table.column_names]
    if missing:
        raise DataError(f"{files[0]} lacks column(s) {', '.join(missing)} of the {name} table")
    _check_types(files[0], name, table.schema)
    return table.to_pandas()


def _check_types(file: Path, name: str, schema: pa.Schema) -> None:
    """Columns the engine computes on must have their kind (a time is a time, an id an integer)."""
    for field in SCHEMAS[name]:
        if field.name not in schema.names:
            continue
        got = schema.field(field.name).type
        want = field.type
        ok = (pa.types.is_timestamp(got) if pa.types.is_timestamp(want) else
              pa.types.is_integer(got) if pa.types.is_integer(want) else
              pa.types.is_floating(got) or pa.types.is_integer(got) if pa.types.is_floating(want) else
              pa.types.is_boolean(got) if pa.types.is_boolean(want) else
              (pa.types.is_string(got) or pa.types.is_large_string(got) or pa.types.is_dictionary(got) or pa.types.is_null(got)))
        if not ok:
            raise DataError(f"{file} column {field.name!r} holds {got}, expected {want}")
