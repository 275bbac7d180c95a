"""The DuckDB engine on a world folder, out of core: Parquet part files in, members out.

:class:`core.engine.views.Engine` holds a world as pandas frames (zero-copy into DuckDB), so its
memory grows with the world: 21 GB at 1M people (README, bench/bench_engine.py). A
:class:`FolderEngine` never builds those frames. The world's tables are DuckDB views over the
folder's ``TABLE/part-NNNNN.parquet`` files (``read_parquet``, as the Spark engine reads them);
identity resolution is the window-function SQL of :mod:`core.engine.identity_sql` (the version
Spark runs, profile ids from the same SipHash); the view relations are the SQL of
:mod:`core.engine.viewsql`; rules compile exactly as in ``Engine`` (this class inherits its
``members`` / ``members_at`` / ``intervals``). DuckDB runs under a ``memory_limit`` and spills
what does not fit (materialised relations, hash tables, sorts) to a ``temp_directory``, so the
process is bounded by that limit and the answer, not by the world.

One DuckDB database per engine: the base tables and the ``identity`` table in ``main``, each
view's three relations in a schema of its own (``v_truth`` …), read through a cursor whose
``search_path`` puts that schema first, so the compiler's fixed names (``v_events`` …) resolve
per view while the cursors share the base tables and the identity table. The hybrid's profiles
and events are the CDP's (the same SQL), so its schema reads the cdp view's tables for them and
stores only its own fields.

The two logs whose row order is data (``traits``, ``crm_changes``) get their ``seq`` from the
file order and the row order inside each file (``file_index`` and ``file_row_number``), the same
order ``with_seq`` numbers after ``read_world`` concatenates the parts.

``compare`` runs a play's measures on this engine too: they read the world through the narrow
accessors of :mod:`core.engine.worldread` (``FolderWorld`` answers them from the Parquet files),
the profiles come from the identity table (``FolderEngine.resolution``), and DuckDB's limit drops
to a lower ``query_limit`` once a view is built (:func:`compare_limits`), so the measures' frames
fit beside it.

The in-memory ``Engine`` stays for the dashboard's small worlds (faster there: no Parquet
decoding, no spilling); ``tests/test_engine_folder.py`` holds both to the same members.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from core.errors import DataError, UserError
from core.engine.identity_sql import register_duckdb, resolution_ctes
from core.engine.views import VIEWS, Engine, EngineConfig, field_type, install_relations
from core.engine.schema import ViewSchema
from core.engine.viewsql import RELATIONS, Layout, materialised, relation_ctes, relation_sql

#: Tables the views read (``identifiers`` is ground truth no view uses).
TABLES: tuple[str, ...] = ("people", "accounts", "events", "traits", "intent", "crm_changes")
_LOGS = ("traits", "crm_changes")
#: DuckDB's memory limit unless AUDLAB_DUCKDB_MEMORY says otherwise. Assumed, not measured
#: elsewhere: half of issue 22's 4 GB target for a whole 1M-person run, leaving the rest for Python,
#: the answer frames and DuckDB's own overhead beyond its buffer pool.
DEFAULT_MEMORY = "2GB"
MEMORY_ENV, TEMP_ENV = "AUDLAB_DUCKDB_MEMORY", "AUDLAB_DUCKDB_TEMP"
_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
_GLOB = set("*?[]{}")  # read_parquet expands these in a path


@dataclass(frozen=True)
class DuckLimits:
    """How much memory DuckDB may hold before it spills, and where the spill files go.

    ``temp_directory`` None means the system's temporary folder; the engine makes a fresh folder
    inside it and deletes it when the engine closes (or is garbage-collected)."""

    memory_limit: str = DEFAULT_MEMORY
    temp_directory: str | None = None
    query_limit: str | None = None
    """The limit while the built views are only queried (None: ``memory_limit`` throughout). Lowered
    after each view is built, DuckDB writes what no longer fits to its spill files and the process
    shrinks (at 200k people: 1.96 → 0.74 GB resident at 600MB), leaving room for measures that
    work on frames in Python (``compare``); a later view build raises it again."""

    @classmethod
    def from_env(cls) -> "DuckLimits":
        """Limits from ``AUDLAB_DUCKDB_MEMORY`` (e.g. ``4GB``) and ``AUDLAB_DUCKDB_TEMP`` (a folder)."""
        return cls(memory_limit=os.environ.get(MEMORY_ENV) or DEFAULT_MEMORY,
                   temp_directory=os.environ.get(TEMP_ENV) or None)

    def checked(self) -> "DuckLimits":
        if not isinstance(self.memory_limit, str) or not _SIZE.match(self.memory_limit):
            raise UserError(f"DuckDB memory limit {self.memory_limit!r} is not a size ({MEMORY_ENV}); "
                            "accepted: a number with KB, MB, GB or TB, e.g. 2GB")
        if self.query_limit is not None and (not isinstance(self.query_limit, str) or not _SIZE.match(self.query_limit)):
            raise UserError(f"DuckDB query memory limit {self.query_limit!r} is not a size; "
                            "accepted: a number with KB, MB, GB or TB, e.g. 1GB")
        if self.temp_directory is not None and not Path(self.temp_directory).is_dir():
            raise UserError(f"DuckDB temp directory {self.temp_directory} is not a folder ({TEMP_ENV}); "
                            "accepted: an existing folder with room for spill files")
        return self


_UNIT = {"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


#: Relations that only rename and cast the columns of one of the world's files: the truth view's
#: events are every event as it happened. Stored, such a relation is a copy of the event log that
#: spills past the memory limit and is read back from the spill files by every rule; kept as a view,
#: each rule's filters reach the Parquet scan instead. At 1M people (2026-12-04, 2 cores): the truth
#: view built in 4.0 s instead of 10.0 s, the latent need, the CRM's and the CDP's rules on it in
#: 4.5 + 5.7 + 3.2 s instead of 12.1 + 10.2 + 6.7 s, 0.6 GB less peak (/tmp experiment, same intervals).
_PROJECTIONS: dict[str, tuple[str, ...]] = {"truth": ("v_events",)}


def compare_limits() -> DuckLimits:
    """The limits for ``compare``: the environment's (``AUDLAB_DUCKDB_MEMORY``, default 2GB) while a
    view is built, a quarter of that while the views are queried, so the play's measures, which hold
    frames in Python (a blast at 1M people sends ~6M messages), share the process with DuckDB within
    about the same total. A quarter is measured, not assumed: at 1M people (2026-12-04) ``compare``
    took 94.3 s and peaked at 3.49 GB with 500MB, 93.6 s and 3.89 GB with half (1GB); the truth
    view's rules read the Parquet files (:data:`_PROJECTIONS`) and the stored views are small."""
    limits = DuckLimits.from_env().checked()
    number, unit = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$", limits.memory_limit).groups()
    quarter = max(int(float(number) * _UNIT[unit.upper()] / 4 / 1e6), 64)
    return DuckLimits(memory_limit=limits.memory_limit, temp_directory=limits.temp_directory, query_limit=f"{quarter}MB")


def part_files(root: Path, name: str) -> list[Path]:
    """A table's Parquet files in order: ``name/part-*.parquet``, or the older ``name.parquet``."""
    folder, single = root / name, root / f"{name}.parquet"
    if folder.is_dir():
        files = sorted(folder.glob("part-*.parquet"))
        if not files:
            raise DataError(f"{folder} holds no part files: the world is incomplete (regenerate it)")
        return files
    if single.is_file():
        return [single]
    raise DataError(f"{root} is not a complete world: the {name} table ({name}/ or {name}.parquet) is missing")


def _literal(path: Path) -> str:
    """A file path as a SQL string literal: quotes doubled; wildcards refused, since read_parquet
    would expand them (the path comes from the file system, never from a rule)."""
    text = str(path.resolve())
    if _GLOB & set(text) or "\x00" in text:
        raise UserError(f"{path.parent} has a wildcard character (* ? [ ] {{ }}) in its path, which DuckDB "
                        "would expand; accepted: a folder path without them (rename or move the world)")
    return "'" + text.replace("'", "''") + "'"


def _table_sql(root: Path, name: str) -> tuple[str, list[str]]:
    """The base table as a SELECT over its part files, and its column names (from the first file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from synthetic.io import REQUIRED, _check_types

    files = part_files(root, name)
    try:
        schema = pq.read_schema(files[0])
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise DataError(f"{files[0]} is not a readable Parquet file ({first}); the world is damaged — regenerate it") from None
    missing = [c for c in REQUIRED[name] if c not in schema.names]
    if missing:
        raise DataError(f"{files[0]} lacks column(s) {', '.join(missing)} of the {name} table")
    _check_types(files[0], name, schema)
    source = f"read_parquet([{', '.join(_literal(f) for f in files)}])"
    if name in _LOGS:  # the row's place in the log: file order, then row order inside the file
        return f"SELECT *, CAST(file_index AS BIGINT) * 4294967296 + file_row_number AS seq FROM {source}", schema.names
    return f"SELECT * FROM {source}", schema.names


#: An imported (observed) world's files (docs/import.md; written by ``core.ingest``): one Parquet file
#: per table, no ground truth. The engine reads only these and the period in world.json.
OBSERVED_FILES = {"events": "events.parquet", "crm_changes": "crm_changes.parquet", "contacts": "contacts.parquet"}
_OBSERVED_EVENTS = ("ts", "channel", "event_type", "page", "value", "anonymous_id", "user_id", "email",
                    "received_at", "session_id")
_TRUTH_TABLES = ("people", "accounts", "traits", "intent")  # empty in an observed world: it has no truth


def _observed_table_sql(root: Path, name: str) -> tuple[str, list[str]]:
    """An observed world's table as the engine's contract: the SQL twin of
    ``core.ingest.observed.read_observed`` (event ids in file order, ``received_at`` defaulting to the
    event time, no ``person_id`` on events — that absence is how "no truth" reads to the views —
    and CRM changes with a null person)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = root / OBSERVED_FILES[name]
    if not file.is_file():
        raise DataError(f"{root} is not a complete observed world: {file.name} is missing (re-run 'audience-lab import')")
    try:
        names = pq.read_schema(file).names
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise DataError(f"{file} is not a readable Parquet file ({first}); re-run 'audience-lab import'") from None
    src = f"read_parquet({_literal(file)}, file_row_number = true)"
    if name == "events":
        missing = [c for c in _OBSERVED_EVENTS if c not in names]
        if missing:
            raise DataError(f"{file} lacks column(s) {', '.join(missing)}; re-run 'audience-lab import'")
        sql = ("SELECT CAST(file_row_number + 1 AS BIGINT) AS event_id, CAST(ts AS TIMESTAMPTZ) AS ts, "
               "CAST(channel AS VARCHAR) AS channel, CAST(event_type AS VARCHAR) AS event_type, "
               "CAST(page AS VARCHAR) AS page, CAST(value AS DOUBLE) AS value, "
               "CAST(anonymous_id AS VARCHAR) AS anonymous_id, CAST(user_id AS VARCHAR) AS user_id, "
               "CAST(email AS VARCHAR) AS email, "
               "COALESCE(CAST(received_at AS TIMESTAMPTZ), CAST(ts AS TIMESTAMPTZ)) AS received_at, "
               f"session_id FROM {src}")
        return sql, ["event_id", *_OBSERVED_EVENTS]
    missing = [c for c in ("contact_id", "field", "value", "effective_at", "recorded_at") if c not in names]
    if missing:
        raise DataError(f"{file} lacks column(s) {', '.join(missing)}; re-run 'audience-lab import'")
    source = "CAST(source AS VARCHAR)" if "source" in names else "'import'"
    sql = ("SELECT CAST(contact_id AS BIGINT) AS contact_id, CAST(NULL AS BIGINT) AS person_id, "
           "CAST(field AS VARCHAR) AS field, CAST(value AS VARCHAR) AS value, "
           "CAST(effective_at AS TIMESTAMPTZ) AS effective_at, CAST(recorded_at AS TIMESTAMPTZ) AS recorded_at, "
           f"{source} AS source, CAST(file_row_number AS BIGINT) AS seq FROM {src}")
    return sql, ["contact_id", "person_id", "field", "value", "effective_at", "recorded_at", "source", "seq"]


def folder_kind(path: str | os.PathLike) -> str | None:
    """'synthetic' or 'observed' for a world folder a :class:`FolderEngine` can read; None when it
    cannot (no readable world.json, an unknown kind, or a path with a wildcard character, which
    read_parquet would expand — such a folder is read into memory instead)."""
    if _GLOB & set(str(Path(path).resolve())):
        return None
    try:
        import json

        data = json.loads((Path(path) / "world.json").read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("kind", "synthetic")
    return kind if kind in ("synthetic", "observed") else None


class ObservedFolderWorld:
    """An imported world folder as the engine sees it: its period and kind from world.json, the CRM
    contacts (one row per contact, small) loaded on first use; events stay Parquet."""

    kind = "observed"
    config = None  # nothing here was generated

    def __init__(self, path: str | os.PathLike) -> None:
        import json

        self.path = Path(path)
        meta_path = self.path / "world.json"
        try:
            self.meta = json.loads(meta_path.read_text())
            self.start = _utc_ts(self.meta["start"])
            self.end = _utc_ts(self.meta["end"])
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{meta_path} is not a valid observed-world description ({exc})") from None
        self._contacts: pd.DataFrame | None = None

    @property
    def contacts(self) -> pd.DataFrame:
        if self._contacts is None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            file = self.path / OBSERVED_FILES["contacts"]
            try:
                self._contacts = pq.read_table(file).to_pandas() if file.is_file() else pd.DataFrame()
            except (pa.ArrowException, OSError) as exc:
                raise DataError(f"{file} is not a readable Parquet table ({str(exc).splitlines()[0][:160]})") from None
        return self._contacts

    @property
    def crm_changes(self) -> pd.DataFrame:
        """The imported CRM changes in pandas (callers that label contacts without a contacts file);
        one row per recorded field value, small next to the events."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        file = self.path / OBSERVED_FILES["crm_changes"]
        try:
            return pq.read_table(file).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{file} is not a readable Parquet table ({str(exc).splitlines()[0][:160]})") from None


def _utc_ts(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


class FolderWorld:
    """What the engine needs to know of a world folder without reading its rows: the config, the
    period, the kind; and the narrow reads the measures make (:mod:`core.engine.worldread`: the
    rows and columns they need, read from the Parquet files). A table read as an attribute
    (``world.intent``) is loaded whole into pandas on first use: fine for the per-person tables,
    never done with the events by a play's measures."""

    kind = "synthetic"

    def __init__(self, path: str | os.PathLike) -> None:
        from synthetic.io import read_config

        self.path = Path(path)
        self.config = read_config(self.path)  # one line for a missing, foreign or damaged world.json
        self._frames: dict[str, pd.DataFrame] = {}

    @property
    def start(self) -> pd.Timestamp:
        return self.config.start_ts

    @property
    def end(self) -> pd.Timestamp:
        return self.config.end_ts

    # ------------------------------------------------------------------ narrow reads (core.engine.worldread)
    def events_of(self, event_types: tuple[str, ...], columns: tuple[str, ...]) -> pd.DataFrame:
        """Events of these types, these columns: the filter and the projection pushed down to the
        Parquet reader, file by file, so only the matching rows of the named columns are ever held."""
        return self._filtered("events", "event_type", event_types, columns)

    def crm_changes_of(self, fields: tuple[str, ...], columns: tuple[str, ...]) -> pd.DataFrame:
        """The CRM's records of these fields, these columns only, in log order."""
        return self._filtered("crm_changes", "field", fields, columns)

    def people_columns(self, columns: tuple[str, ...]) -> pd.DataFrame:
        """The people table with these columns only (one row per person: small next to the events)."""
        frames = self.__dict__["_frames"]
        if "people" in frames:
            return frames["people"][[c for c in columns if c in frames["people"].columns]]
        return self._filtered("people", None, (), columns)

    def _filtered(self, name: str, column: str | None, values: tuple[str, ...], columns: tuple[str, ...]) -> pd.DataFrame:
        """Rows of a table whose ``column`` is one of ``values`` (all rows when ``column`` is None),
        with the columns the table has among ``columns``; read as ``read_world`` reads (file order,
        pyarrow's pandas conversion), so the rows and dtypes are those of the in-memory world's slice.
        Kept per world and shared: callers read it, never change it in place."""
        key = (name, column, values, columns)
        slices = self.__dict__.setdefault("_slices", {})
        if key not in slices:  # a campaign is simulated a dozen times per play: read each slice once
            slices[key] = self._read_filtered(name, column, values, columns)
        return slices[key]

    def _read_filtered(self, name: str, column: str | None, values: tuple[str, ...],
                       columns: tuple[str, ...]) -> pd.DataFrame:
        import pyarrow as pa
        import pyarrow.parquet as pq

        files = part_files(self.path, name)
        try:
            names = pq.read_schema(files[0]).names
            kept = [c for c in columns if c in names]
            where = [(column, "in", list(values))] if column is not None else None
            parts = [pq.read_table(f, columns=kept, filters=where) for f in files]
            table = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
        except (pa.ArrowException, OSError, ValueError) as exc:
            first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise DataError(f"{self.path}/{name} cannot be read ({first}); the world is damaged — regenerate it") from None
        return table.to_pandas()

    def __getattr__(self, name: str) -> Any:
        from synthetic.io import _read_table
        from synthetic.world import TABLES as WORLD_TABLES

        if name not in WORLD_TABLES:
            raise AttributeError(name)
        frames = self.__dict__["_frames"]
        if name not in frames:
            frames[name] = _read_table(self.path, name)
        return frames[name]


def is_world_folder(path: str | os.PathLike) -> bool:
    """True for a generated (synthetic) world folder this engine can read (see :func:`folder_kind`;
    a folder whose path has a wildcard character is read into memory instead)."""
    return folder_kind(path) == "synthetic"


class FolderEngine(Engine):
    """A world folder in one out-of-core DuckDB database; the same evaluation API as ``Engine``."""

    def __init__(self, path: str | os.PathLike, config: EngineConfig | None = None,
                 limits: DuckLimits | None = None, lazy: bool = False) -> None:
        """``lazy``: the views' relations stay SQL views over the files instead of stored tables.
        Each query then reads the Parquet files itself (the filters of its rule pushed down to the
        scan), so nothing of the size of the event log is stored or spilled: the right shape for
        one question about a big world (``audience-lab members``), while a session that asks many
        (timelines of every model, measures) gains from stored relations. At 10M people
        (418 M events) the stored CDP view spilled more than 40 GB under a 2 GB limit."""
        self.lazy = lazy
        self.kind = folder_kind(path) or "synthetic"  # an unreadable world.json fails in FolderWorld with one line
        super().__init__(ObservedFolderWorld(path) if self.kind == "observed" else FolderWorld(path), config)
        self.path = Path(path)
        self.limits = (limits or DuckLimits.from_env()).checked()
        self._state: dict[str, Any] = {"db": None, "tmp": None}
        self._layout: Layout | None = None
        self._has_identity = False
        self._db_lock = threading.RLock()
        self._finalizer = weakref.finalize(self, _release, self._state, self._cons)

    # ------------------------------------------------------------------ the database
    def _database(self) -> duckdb.DuckDBPyConnection:
        """The engine's DuckDB database, with the world's tables as views over its Parquet files."""
        with self._db_lock:
            if self._state["db"] is None:
                tables = self._tables()  # every file checked before any DuckDB
                tmp = tempfile.mkdtemp(prefix="audlab-duck-", dir=self.limits.temp_directory)
                self._state["tmp"] = tmp
                db = duckdb.connect(config={"memory_limit": self.limits.memory_limit, "temp_directory": tmp,
                                            # the relations are re-read by explicit ORDER BYs and keyed
                                            # windows, never by insertion order: let big inserts stream
                                            "preserve_insertion_order": False})
                self._state["db"] = db
                _settings(db)
                register_duckdb(db)
                for name, (sql, _) in tables.items():
                    if sql is None:  # an observed world's truth tables: empty, with the contract's columns
                        db.register(f"empty_{name}", _empty_arrow(name))  # (registered names are this cursor's own)
                        db.execute(f"CREATE TABLE main.{name} AS SELECT * FROM empty_{name}")
                        db.unregister(f"empty_{name}")
                    else:
                        db.execute(f"CREATE VIEW main.{name} AS {sql}")
                columns = tables["events"][1]
                self._layout = Layout(crm_received="crm_received_at" in columns, has_person="person_id" in columns,
                                      crm_identify="crm_identify_email" in columns)
            return self._state["db"]

    def _tables(self) -> dict[str, tuple[str | None, list[str]]]:
        """Each base table as SQL over the folder's files (None: an empty truth table)."""
        if self.kind != "observed":
            return {name: _table_sql(self.path, name) for name in TABLES}
        out: dict[str, tuple[str | None, list[str]]] = {name: (None, []) for name in _TRUTH_TABLES}
        for name in ("events", "crm_changes"):
            out[name] = _observed_table_sql(self.path, name)
        return out

    def _identity(self, db: duckdb.DuckDBPyConnection) -> None:
        """Resolve identity in SQL once (``main.identity``); the CDP and the hybrid read it."""
        with self._db_lock:
            if self._has_identity:
                return
            cur = db.cursor()
            try:
                _settings(cur)
                steps = resolution_ctes(self.config.identity)
                stored = materialised(steps) | {"ids"}  # ``ids`` calls the hashing UDF: once per identifier
                made = []
                for name, sql in steps:
                    if name == "identity":
                        cur.execute(f"CREATE TABLE main.identity AS {sql}")
                    else:
                        kind = "TABLE" if name in stored else "VIEW"
                        cur.execute(f"CREATE TEMP {kind} {name} AS {sql}")
                        made.append((kind, name))
                for kind, name in reversed(made):
                    cur.execute(f"DROP {kind} {name}")
            finally:
                cur.close()
            self._has_identity = True

    def _connection(self, view: str) -> duckdb.DuckDBPyConnection:
        if view not in VIEWS:
            raise UserError(f"unknown view {view!r}; accepted: {', '.join(VIEWS)}")
        with self._lock:
            if view not in self._cons:
                try:
                    self._cons[view] = self._build(view)
                except duckdb.OutOfMemoryException as exc:
                    raise UserError(f"DuckDB ran out of memory building the {view} view of {self.path} "
                                    f"({str(exc).splitlines()[0][:160]}); raise {MEMORY_ENV} (now "
                                    f"{self.limits.memory_limit}) or free room in the temp directory") from None
                except (duckdb.IOException, duckdb.InvalidInputException) as exc:
                    raise DataError(f"{self.path}: a Parquet file cannot be read "
                                    f"({str(exc).splitlines()[0][:160]}); the world is damaged — regenerate it") from None
            return self._cons[view]

    def _build(self, view: str) -> duckdb.DuckDBPyConnection:
        """A cursor whose names resolve to the view's relations, built now; nothing half-built is
        kept when a step fails (a later call starts the view afresh)."""
        db = self._database()
        self._set_limit(db, self.limits.memory_limit)  # a build may use the whole limit
        if view in ("cdp", "hybrid"):
            self._identity(db)
        if self._shared_with_cdp(view):
            self._connection("cdp")
            self._set_limit(db, self.limits.memory_limit)
        cur = db.cursor()
        try:
            _settings(cur)
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS v_{view}")
            cur.execute(f"SET search_path = 'v_{view},main'")
            self._install(cur, view)
            self._schemas[view] = self._make_schema(view, cur)
            self._set_limit(db, self.limits.query_limit)
        except BaseException:
            try:
                cur.execute(f"DROP SCHEMA IF EXISTS v_{view} CASCADE")
            finally:
                cur.close()
            raise
        return cur

    def _set_limit(self, db: duckdb.DuckDBPyConnection, limit: str | None) -> None:
        """DuckDB's memory limit now (a size checked by ``DuckLimits.checked``); nothing without a
        query limit, where the one limit holds throughout."""
        if self.limits.query_limit is not None and limit is not None:
            db.execute(f"SET memory_limit = '{limit}'")

    def _shared_with_cdp(self, view: str) -> tuple[str, ...]:
        """Relations the view defines exactly as the CDP view does (the hybrid's profiles and
        events): read from the cdp view's tables rather than computed and stored twice."""
        if view != "hybrid":
            return ()
        return tuple(r for r in RELATIONS
                     if relation_sql(view, r, self._layout) == relation_sql("cdp", r, self._layout))

    def _install(self, con: duckdb.DuckDBPyConnection, view: str) -> None:
        """The view's relations as tables in its schema (spilled by DuckDB when over the limit);
        helpers as temporary views, the shared ones as temporary tables, dropped afterwards."""
        shared = self._shared_with_cdp(view)
        for name in shared:
            con.execute(f"CREATE VIEW v_{view}.{name} AS SELECT * FROM v_cdp.{name}")
        ctes = relation_ctes(view, self._layout, tuple(r for r in RELATIONS if r not in shared))
        if self.lazy:  # every statement a view in the schema: each query reads the files itself
            for name, sql in ctes:
                con.execute(f"CREATE VIEW v_{view}.{name} AS {sql}")
            return
        install_relations(con, ctes, prefix=f"v_{view}.", as_views=_PROJECTIONS.get(view, ()))

    def _make_schema(self, view: str, con: duckdb.DuckDBPyConnection) -> ViewSchema:
        names = [r[0] for r in con.execute("SELECT DISTINCT field FROM v_fields WHERE field IS NOT NULL ORDER BY 1").fetchall()]
        b2b = con.execute("SELECT COUNT(*) > 0 FROM main.accounts").fetchone()[0]
        kw = {"event_types": self.config.crm_event_types} if view == "crm" else {}
        return ViewSchema(name=view, fields={n: field_type(n) for n in names}, has_events=True,
                          has_accounts=bool(b2b), **kw)

    def identity(self) -> pd.DataFrame:
        """The identity table resolved in SQL (identifier_type, identifier, profile_id, link_time,
        root_type, first_seen), sorted; small next to the events (one row per identifier)."""
        return self._identity_query("SELECT * FROM main.identity ORDER BY identifier_type, identifier")

    def _identity_query(self, sql: str) -> pd.DataFrame:
        """A query over the resolved identity table, on a cursor of its own, as a frame."""
        db = self._database()
        self._identity(db)
        with self._lock:
            cur = db.cursor()
            try:
                _settings(cur)
                return cur.execute(sql).df()
            finally:
                cur.close()

    @property
    def resolution(self) -> "TableResolution":
        """The profiles, from the SQL identity table (never the pandas resolution over every event,
        which would load the whole event log): what activation and the address owners read."""
        with self._db_lock:
            if self._resolution is None:
                profiles = self._identity_query(PROFILES_SQL)
                profiles["first_seen"] = profiles["first_seen"].dt.as_unit("ns")
                self._resolution = TableResolution(profiles=profiles, _identity=self.identity)
            return self._resolution

    def close(self) -> None:
        """Close the database and delete its spill folder (also done when the engine is collected)."""
        self._finalizer()


def _empty_arrow(name: str):
    """An empty Arrow table with the world contract's columns for ``name`` (synthetic.io.SCHEMAS)."""
    from synthetic.io import SCHEMAS

    return SCHEMAS[name].empty_table()


#: One row per profile from the identity table: its root is its one identifier whose type is the
#: root's type (a user id never hangs under another identifier, an e-mail only under a user id, an
#: anonymous id never has one under it), addressable when that root is a user id or an e-mail —
#: the columns of ``Resolution.profiles`` that do not need the events.
PROFILES_SQL = """
    SELECT profile_id, ANY_VALUE(root_type) AS root_type,
           MAX(CASE WHEN identifier_type = root_type THEN identifier END) AS root,
           ANY_VALUE(root_type) <> 'anonymous_id' AS addressable,
           COUNT(*) AS n_identifiers, MIN(first_seen) AS first_seen
    FROM main.identity GROUP BY profile_id ORDER BY profile_id"""


@dataclass(frozen=True, eq=False)
class TableResolution:
    """The folder engine's identity resolution, read from its SQL identity table.

    ``profiles``: profile_id, root_type, root, addressable, n_identifiers, first_seen — as
    :class:`core.engine.identity.Resolution` has them. The columns counted over events
    (``n_events``, the majority ``person_id``) are left out: they would need the whole event log,
    and the measures of a play do not read them. ``identifiers`` is the identity table, fetched
    when asked for (one row per identifier: large at a million people)."""

    profiles: pd.DataFrame
    _identity: Any = field(repr=False, default=None)

    @property
    def identifiers(self) -> pd.DataFrame:
        return self._identity()


def _settings(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # never draw on a CLI's stdout
    con.execute("SET merge_join_threshold = 0")  # members_at's range join as an IEJoin (see views.Engine)


def _release(state: dict[str, Any], cons: dict[str, duckdb.DuckDBPyConnection]) -> None:
    for cur in list(cons.values()):
        try:
            cur.close()
        except duckdb.Error:
            pass
    cons.clear()
    if state.get("db") is not None:
        try:
            state["db"].close()
        except duckdb.Error:
            pass
        state["db"] = None
    if state.get("tmp"):
        shutil.rmtree(state["tmp"], ignore_errors=True)
        state["tmp"] = None


__all__ = ["DEFAULT_MEMORY", "DuckLimits", "compare_limits", "FolderEngine", "FolderWorld", "ObservedFolderWorld",
           "TableResolution", "folder_kind", "is_world_folder", "part_files"]
