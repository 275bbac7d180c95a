"""Spark as an engine: the whole path from a world's Parquet files to members runs in Spark.

The tables are read by Spark itself (never collected to the driver); identity resolution runs as
the window-function SQL of :mod:`core.engine.identity_sql` (profile ids from the same SipHash,
through a vectorised pandas UDF on the executors); the view relations are the SQL of
:mod:`core.engine.viewsql`; rules compile to the grouped set queries of
:mod:`core.engine.setcompile`. Everything is written once in DuckDB's dialect and transpiled by
sqlglot (:func:`core.engine.portable.dialect_sql`); user values stay bound parameters (Spark's
named parameter markers). Only the answer — members or intervals — comes back to Python.

Local mode by default (``local[2]``); point ``AUDLAB_SPARK_MASTER`` at a cluster to scale out.
Spark needs Java 17 (Debian's ``openjdk-17-jre-headless``, installed by scripts/ensure_system.sh).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import UserError
from core.engine.identity import IdentityConfig
from core.engine.identity_sql import UDF_NAME, hash_ids, resolution_ctes
from core.engine.portable import dialect_sql
from core.engine.rules import Rule, parse_rule
from core.engine.schema import ViewSchema
from core.engine.setcompile import compile_at, compile_pairs
from core.engine.sqlcompile import compile_change_points
from core.engine.viewsql import RELATIONS, VIEWS, Layout, materialised, relation_ctes

TABLES: tuple[str, ...] = ("people", "accounts", "events", "traits", "intent", "crm_changes")
_LOGS = ("traits", "crm_changes")  # tables whose row order is part of the data (seq)


def spark_available() -> str | None:
    """None when Spark can start here, else the reason (no pyspark, no Java)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[test]' installs it)"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "Java is missing: run scripts/ensure_system.sh (installs Debian's openjdk-17-jre-headless)"
    return None


def spark_session(app: str = "audience-lab"):
    """A Spark session for this process (local mode unless AUDLAB_SPARK_MASTER says otherwise)."""
    reason = spark_available()
    if reason:
        raise UserError(f"cannot start Spark: {reason}")
    from pyspark.sql import SparkSession

    # the executors' Python workers run the profile-id UDF: they need this interpreter's packages
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (SparkSession.builder.appName(app)
               .master(os.environ.get("AUDLAB_SPARK_MASTER", "local[2]"))
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", os.environ.get("AUDLAB_SPARK_PARTITIONS", "4"))
               .config("spark.driver.memory", os.environ.get("AUDLAB_SPARK_MEMORY", "2g"))
               .config("spark.sql.legacy.parquet.nanosAsLong", "true")  # the worlds store ns times
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkEngine:
    """One world folder in Spark; the same ``members`` / ``members_at`` / ``intervals`` as
    :class:`core.engine.views.Engine`."""

    def __init__(self, path: str | os.PathLike, spark=None, identity: IdentityConfig | None = None,
                 crm_event_types: frozenset[str] | None = None) -> None:
        """``crm_event_types``: the tracked events the CRM's lists can filter on (a stack's
        ``EngineConfig.crm_event_types``; default all of ``CRM_EVENT_TYPES``), as the DuckDB engines
        put them in the CRM view's schema, so a rule is refused or kept the same way on both."""
        from core.engine.views import CRM_EVENT_TYPES
        from synthetic.io import read_config

        self.path = Path(path)
        meta = self.path / "world.json"
        if meta.is_file() and '"observed"' in meta.read_text():
            raise UserError(f"{self.path} holds imported data; the Spark engine reads generated worlds "
                            "(use --engine duckdb for an imported world)")
        config = read_config(self.path)
        self.start, self.end = config.start_ts, config.end_ts
        self.identity = identity or IdentityConfig()
        self.crm_event_types = frozenset(CRM_EVENT_TYPES if crm_event_types is None else crm_event_types)
        # a session of its own: temporary views (identity, helpers, v_events …) are per session, so
        # two engines on one Spark context never read each other's world
        self.spark = (spark or spark_session()).newSession()
        self._prefix = f"w{abs(hash((str(self.path.resolve()), self.identity))) % 10**8}"
        self._built: dict[str, ViewSchema] = {}
        self._helpers: set[str] = set()
        self._layout: Layout | None = None
        self._register_udf()

    # ------------------------------------------------------------------ loading
    def _files(self, name: str) -> list[Path]:
        folder, single = self.path / name, self.path / f"{name}.parquet"
        files = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else [single] if single.is_file() else []
        if not files:
            raise UserError(f"{self.path} is not a complete world: the {name} table is missing")
        return files

    def _load(self, name: str):
        """A table as Spark reads it: nanosecond times as timestamps, logs with their ``seq``."""
        import pyarrow.parquet as pq
        from pyspark.sql import functions as F

        files = self._files(name)
        schema = pq.read_schema(files[0])
        df = self.spark.read.parquet(*[str(f) for f in files])
        for field in schema:
            if str(field.type).startswith("timestamp[ns"):
                # integer division: a double cannot hold a nanosecond epoch exactly (off by one microsecond)
                df = df.withColumn(field.name, F.timestamp_micros(F.expr(f"`{field.name}` div 1000")))
        if name in _LOGS:
            ranks = self.spark.createDataFrame([(f.name, i) for i, f in enumerate(files)], "file_name string, file_rank long")
            df = (df.withColumn("file_name", F.col("_metadata.file_name"))
                    .withColumn("row_index", F.col("_metadata.row_index"))
                    .join(F.broadcast(ranks), "file_name")
                    .withColumn("seq", F.col("file_rank") * F.lit(1 << 32) + F.col("row_index"))
                    .drop("file_name", "row_index", "file_rank"))
        return df, schema

    def _register_udf(self) -> None:
        from pyspark.sql.functions import pandas_udf

        @pandas_udf("long")
        def audlab_id(k: pd.Series, ident: pd.Series) -> pd.Series:
            return pd.Series(hash_ids(k.to_numpy(), ident.to_numpy(dtype=object)))

        self.spark.udf.register(UDF_NAME, audlab_id)

    def _tables(self) -> Layout:
        """Register the world's tables and the identity table (resolved in Spark, cached)."""
        if self._layout is None:
            names = {}
            for name in TABLES:
                df, schema = self._load(name)
                df.createOrReplaceTempView(name)
                names[name] = schema.names
            # the hashing UDF runs once per identifier (the ``ids`` step, cached), on the executors
            steps = resolution_ctes(self.identity)
            self._steps(steps, materialised(steps) | {"ids", "identity"})
            self._layout = Layout(crm_received="crm_received_at" in names["events"],
                                  has_person="person_id" in names["events"],
                                  crm_identify="crm_identify_email" in names["events"])
        return self._layout

    # ------------------------------------------------------------------ views
    def _use(self, view: str) -> ViewSchema:
        """Build the view's relations once (cached), then point v_subjects/v_events/v_fields at them."""
        if view not in VIEWS:
            raise UserError(f"unknown view {view!r}; accepted: {', '.join(VIEWS)}")
        if view not in self._built:
            layout = self._tables()
            steps = relation_ctes(view, layout)
            helpers = [(n, sql) for n, sql in steps if n not in RELATIONS and n not in self._helpers]
            self._steps(helpers, materialised(steps))  # the CDP and the hybrid share their helpers
            self._helpers.update(n for n, _ in helpers)
            for name, sql in steps:
                if name in RELATIONS:
                    self._checkpoint(self._to_spark(sql), f"{self._prefix}_{view}_{name}")
            self._built[view] = self._schema(view)
        for rel in RELATIONS:
            self._sql(f"CREATE OR REPLACE TEMP VIEW {rel} AS SELECT * FROM {self._prefix}_{view}_{rel}")
        return self._built[view]

    def _schema(self, view: str) -> ViewSchema:
        from core.engine.views import field_type

        rows = self._sql(f"SELECT DISTINCT field FROM {self._prefix}_{view}_v_fields WHERE field IS NOT NULL").collect()
        names = sorted(r[0] for r in rows)
        b2b = self._sql("SELECT COUNT(*) FROM accounts").collect()[0][0] > 0
        kw = {"event_types": self.crm_event_types} if view == "crm" else {}
        return ViewSchema(name=view, fields={n: field_type(n) for n in names}, has_events=True, has_accounts=b2b, **kw)

    def schema(self, view: str) -> ViewSchema:
        return self._use(view)

    def identity_frame(self, duck_sql: str) -> pd.DataFrame:
        """A query (DuckDB dialect, no parameters) over the world's ``identity`` table, resolved in
        Spark on first use, as a pandas frame: the small per-identifier or per-profile answers the
        driver needs (profiles for activation), never the events."""
        self._tables()
        sql, _ = dialect_sql(duck_sql, (), "spark")
        return self._sql(sql).toPandas()

    # ------------------------------------------------------------------ evaluation
    def members(self, rule: Rule | dict | str, view: str, as_of: Any = None,
                registry: dict[str, Rule] | None = None) -> pd.DataFrame:
        """Members at one time: ``subject_id, person_id`` (sorted by subject)."""
        from core.engine.views import _utc

        rule = rule if isinstance(rule, Rule) else parse_rule(rule)
        t = _utc(as_of) if as_of is not None else self.end
        schema = self._use(view)
        c = compile_at(rule, schema, t, registry, form="exists")
        sql = (f"SELECT m.subject_id, s.person_id FROM ({c.sql}) m "
               "JOIN v_subjects s ON s.subject_id = m.subject_id ORDER BY m.subject_id")
        return self._frame(sql, c.params, ["subject_id", "person_id"])

    def members_at(self, rule: Rule | dict | str, view: str, times, registry: dict[str, Rule] | None = None
                   ) -> pd.DataFrame:
        """Members at each of many times, in one job: ``subject_id, person_id, t``."""
        from core.engine.views import _utc

        rule = rule if isinstance(rule, Rule) else parse_rule(rule)
        schema = self._use(view)
        stamps = sorted({_utc(x) for x in times})
        self.spark.createDataFrame(pd.DataFrame({"t": [x.isoformat() for x in stamps]})) \
            .selectExpr("CAST(t AS TIMESTAMP) AS t").createOrReplaceTempView("v_times")
        c = compile_pairs(rule, schema, "v_times", registry, form="exists")
        sql = (f"SELECT m.subject_id, s.person_id, m.t FROM ({c.sql}) m "
               "JOIN v_subjects s ON s.subject_id = m.subject_id ORDER BY m.t, m.subject_id")
        out = self._frame(sql, c.params, ["subject_id", "person_id", "t"])
        out["t"] = pd.to_datetime(out["t"], utc=True).dt.as_unit("ns")
        return out

    def intervals(self, rule: Rule | dict | str, view: str, registry: dict[str, Rule] | None = None,
                  start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
        """Exact membership intervals ``subject_id, person_id, enter, exit`` (change points)."""
        from core.engine.views import intervals_sql

        rule = rule if isinstance(rule, Rule) else parse_rule(rule)
        schema = self._use(view)
        points = compile_change_points(rule, schema, start or self.start, end or self.end, registry)
        sql, args = dialect_sql(points.sql, points.params, "spark")
        # the change points are read twice (the membership test and the edges): computed once
        self.spark.sql(sql, args=args).localCheckpoint(eager=True).createOrReplaceTempView("v_at")
        member = compile_pairs(rule, schema, "v_at", registry, form="exists")
        out = self._frame(intervals_sql(member.sql), member.params, ["subject_id", "person_id", "enter", "exit"])
        for col in ("enter", "exit"):
            out[col] = pd.to_datetime(out[col], utc=True).dt.as_unit("ns")
        return out

    # ------------------------------------------------------------------ plumbing
    def _steps(self, steps: list[tuple[str, str]], cached: frozenset[str] | set[str]) -> None:
        """Named SQL steps as temporary views, the ``cached`` ones computed once and stored.

        Spark inlines a temporary view at every reference, so a step read by several later steps
        would be recomputed (and its plan copied) once per reference; those are checkpointed."""
        for name, sql in steps:
            body = self._to_spark(sql)
            if name in cached:
                self._checkpoint(body, name)
            else:
                self._sql(f"CREATE OR REPLACE TEMP VIEW {name} AS {body}")

    def _checkpoint(self, spark_sql: str, name: str) -> None:
        """Compute a step now and keep its rows as ``name`` with no lineage (a local checkpoint).

        Not ``CACHE TABLE``: a cached query keeps its whole plan, and Spark compares every new
        plan with every cached one, so each later step took seconds just to analyse (the CDP view
        of a 2,000-person world: 49 s). A checkpoint is a plain scan to whatever reads it."""
        self.spark.sql(spark_sql).localCheckpoint(eager=True).createOrReplaceTempView(name)

    @staticmethod
    def _to_spark(sql: str) -> str:
        return dialect_sql(sql, (), "spark")[0]

    def _sql(self, sql: str, args: dict | None = None):
        return self.spark.sql(sql, args=args) if args else self.spark.sql(sql)

    def _frame(self, duck_sql: str, params: tuple, columns: list[str]) -> pd.DataFrame:
        sql, args = dialect_sql(duck_sql, params, "spark")
        out = self._sql(sql, args).toPandas()
        out.columns = columns
        for col in ("subject_id", "person_id"):
            if col in out:
                out[col] = out[col].astype("int64") if out[col].notna().all() else out[col].astype("Int64")
        return out.reset_index(drop=True)


__all__ = ["SparkEngine", "spark_available", "spark_session"]
