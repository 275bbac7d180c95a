"""A play run with its rules in Spark and its measures on the driver (``compare --engine spark``).

:func:`core.engine.playrun.run_play` and the measures ask an engine for five things: the world
(its period, config and narrow reads), the engine config, membership intervals of a rule on a
view, the CDP's profiles (``resolution.profiles``) and the identity table. :class:`SparkPlayEngine`
answers them so that the figures are the folder engine's exactly:

- the world is a :class:`core.engine.folder.FolderWorld`: the measures read the Parquet slices
  they need (a play's outcome events, people's addresses, the CRM's e-mail records), never the log;
- intervals come from :class:`core.engine.spark.SparkEngine` (tables, identity resolution, views
  and rules all in Spark), cast to the DuckDB engine's dtypes, behind the memo of
  :meth:`core.engine.views.Engine.intervals` (inherited: a rule judged as yardstick and as need
  runs once, callers get copies);
- the profiles are :data:`core.engine.folder.PROFILES_SQL` over Spark's identity table, in the
  folder engine's column order, dtypes and row order (:class:`core.engine.folder.TableResolution`).

Only the answers cross to the driver. Nothing here builds a DuckDB view: asking this engine for
what needs one (``members``, ``subjects``: not asked by a play's run or its measures) is refused in
one line rather than loading the world into memory; ``SparkEngine`` answers members itself.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from core.engine.folder import PROFILES_SQL, FolderWorld, TableResolution
from core.engine.rules import Rule
from core.engine.schema import ViewSchema
from core.engine.spark import SparkEngine
from core.engine.views import Engine, EngineConfig
from core.errors import UserError

#: The identity table's query as the folder engine runs it (the DuckDB engine reads ``main.identity``).
_IDENTITY_SQL = "SELECT * FROM identity ORDER BY identifier_type, identifier"
_PROFILES_SQL = PROFILES_SQL.replace("main.identity", "identity")


class SparkPlayEngine(Engine):
    """A generated world folder whose rules Spark evaluates, with ``Engine``'s interface for
    :func:`core.engine.playrun.run_play` and the measures."""

    def __init__(self, path: str | os.PathLike, config: EngineConfig | None = None, spark=None) -> None:
        super().__init__(FolderWorld(path), config)
        self.path = Path(path)
        self.spark_engine = SparkEngine(path, spark, identity=self.config.identity,
                                        crm_event_types=self.config.crm_event_types)

    # ------------------------------------------------------------------ views and rules
    def schema(self, view: str) -> ViewSchema:
        return self.spark_engine.schema(view)

    def _connection(self, view: str):
        raise UserError("this question needs the DuckDB engine's views; the Spark play engine answers a play's "
                        "intervals and identity (members on Spark: 'audience-lab members --engine spark')")

    def _intervals(self, rule: Rule, view: str, registry: dict[str, Rule] | None,
                   start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Spark's intervals, already in the DuckDB engine's dtypes (int64 ids, Int64 where one is
        null, as DuckDB hands them to pandas; nanosecond UTC times) and row order (``ORDER BY
        subject_id, enter``), so the measures see the same frames (tests/test_compare_spark.py)."""
        return self.spark_engine.intervals(rule, view, registry, start, end)

    # ------------------------------------------------------------------ identity
    def identity(self) -> pd.DataFrame:
        """The identity table resolved in Spark, sorted as the folder engine sorts it."""
        out = self.spark_engine.identity_frame(_IDENTITY_SQL)
        for col in ("link_time", "first_seen"):
            if col in out:
                out[col] = _utc_us(out[col])
        return out

    @property
    def resolution(self) -> TableResolution:
        """The profiles from Spark's identity table, as :attr:`FolderEngine.resolution` has them."""
        with self._lock:
            if self._resolution is None:
                profiles = self.spark_engine.identity_frame(_PROFILES_SQL)
                profiles["n_identifiers"] = profiles["n_identifiers"].astype("int64")
                profiles["addressable"] = profiles["addressable"].astype("bool")
                profiles["first_seen"] = _utc_us(profiles["first_seen"]).dt.as_unit("ns")
                self._resolution = TableResolution(profiles=profiles, _identity=self.identity)
            return self._resolution

    def close(self) -> None:
        """Drop this engine's Spark views (the session itself belongs to whoever started it)."""
        for name in self.spark_engine.spark.catalog.listTables():
            if name.isTemporary:
                self.spark_engine.spark.catalog.dropTempView(name.name)


def _utc_us(values: pd.Series) -> pd.Series:
    """Times as DuckDB hands a TIMESTAMPTZ to pandas (microseconds, UTC)."""
    return pd.to_datetime(values, utc=True).dt.as_unit("us")


__all__ = ["SparkPlayEngine"]
