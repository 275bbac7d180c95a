"""The observed world: imported data in the shape of a synthetic :class:`~synthetic.world.World`, without ground truth.

An :class:`ObservedWorld` has the World tables the engine reads — ``events`` (with ``received_at``
and the identifiers), ``crm_changes`` (``person_id`` null), empty ``accounts`` —
plus ``start``/``end`` and ``kind = "observed"``. ``events`` has no ``person_id`` column
at all: identity resolution reads ground truth from that column whenever it exists (and would
cast an all-null one to garbage ids), so leaving it out is how "no truth" reads to the engine.
``people``, ``intent`` and ``traits`` are empty with the contract's columns: real data has no ground truth, so truth-based measures refuse it and
``audience-lab twin`` builds a synthetic world that behaves like it instead.

:func:`open_world` reads any world folder and dispatches on ``world.json``'s ``kind``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import DataError, UserError

KINDS: tuple[str, ...] = ("synthetic", "observed")
OBSERVED_TABLES: tuple[str, ...] = ("events", "crm_changes", "contacts")
_CATEGORICAL = ("event_type", "page", "channel", "anonymous_id", "user_id", "email", "session_id")


def _utc(values) -> pd.Series:
    s = pd.Series(values)
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = pd.to_datetime(s, utc=True)
    return s.dt.tz_convert("UTC").dt.as_unit("ns")


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    out = {}
    for name, dtype in columns.items():
        out[name] = pd.Series(pd.to_datetime([], utc=True)) if dtype == "ts" else pd.Series(dtype=dtype)
    return pd.DataFrame(out)


@dataclass(frozen=True, eq=False)
class ObservedWorld:
    """Imported events and CRM contacts, duck-typing :class:`synthetic.world.World` for the engine."""

    events: pd.DataFrame
    crm_changes: pd.DataFrame
    contacts: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    meta: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    kind: str = "observed"
    config: None = None  # no generator config: nothing here was generated

    @cached_property
    def people(self) -> pd.DataFrame:
        return _empty({"person_id": "int64", "model": "object", "account_id": "Int64", "email": "object",
                       "first_name": "object", "last_name": "object", "user_id": "object", "registered_at": "ts",
                       "city": "object", "country": "object"})

    @cached_property
    def accounts(self) -> pd.DataFrame:
        return _empty({"account_id": "int64", "name": "object", "industry": "object", "employees": "int64",
                       "employee_band": "object", "region": "object", "icp_fit": "float64", "domain": "object"})

    @cached_property
    def intent(self) -> pd.DataFrame:
        return _empty({"person_id": "int64", "start": "ts", "end": "ts", "strength": "float64", "state": "object"})

    @cached_property
    def traits(self) -> pd.DataFrame:
        return _empty({"person_id": "int64", "field": "object", "value": "object", "effective_at": "ts"})

    @cached_property
    def identifiers(self) -> pd.DataFrame:
        """Every identifier seen, by type (person unknown, never marked shared: no truth to say so)."""
        frames = []
        for kind in ("anonymous_id", "user_id", "email"):
            values = self.events[kind].dropna().unique()
            frames.append(pd.DataFrame({"identifier_type": kind, "identifier": np.asarray(values, dtype=object)}))
        out = pd.concat(frames, ignore_index=True)
        out["person_id"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["shared"] = False
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"people": self.people, "accounts": self.accounts, "events": self.events,
                "identifiers": self.identifiers, "crm_changes": self.crm_changes, "intent": self.intent,
                "traits": self.traits}

    def summary(self) -> dict[str, Any]:
        """The import summary stored in world.json (rows read, kept, rejected, users, time span…)."""
        return dict(self.meta.get("summary", {}))


def _read_table(file: Path, categorical: tuple[str, ...] = ()) -> pd.DataFrame:
    if not file.is_file():
        raise DataError(f"{file.parent} is not a complete observed world: {file.name} is missing")
    try:
        schema = pq.read_schema(file)
        present = [c for c in categorical if c in schema.names]
        table = pq.read_table(file, read_dictionary=present)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{file} is not a readable Parquet table ({str(exc).splitlines()[0][:200]})") from None
    return table.to_pandas()


def read_observed(path: str | os.PathLike, meta: dict[str, Any] | None = None) -> ObservedWorld:
    """Load an observed world folder written by :func:`core.ingest.import_data`."""
    root = Path(path)
    if meta is None:
        meta = _read_meta(root)
    try:
        start, end = pd.Timestamp(meta["start"]), pd.Timestamp(meta["end"])
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
    except (KeyError, ValueError, TypeError) as exc:
        raise DataError(f"{root / 'world.json'} is not a valid observed-world description ({exc})") from None
    ev = _read_table(root / "events.parquet", _CATEGORICAL)
    need = ("ts", "event_type", "page", "value", "channel", "anonymous_id", "user_id", "email", "received_at", "session_id")
    missing = [c for c in need if c not in ev.columns]
    if missing:
        raise DataError(f"{root / 'events.parquet'} lacks column(s) {', '.join(missing)}; re-run 'audience-lab import'")
    n = len(ev)
    ts = _utc(ev["ts"])
    received = _utc(ev["received_at"])
    events = pd.DataFrame({
        "event_id": np.arange(1, n + 1, dtype=np.int64),
        "ts": ts, "channel": ev["channel"], "event_type": ev["event_type"], "page": ev["page"],
        "value": ev["value"].astype("float64"), "anonymous_id": ev["anonymous_id"], "user_id": ev["user_id"],
        "email": ev["email"], "received_at": received.fillna(ts), "session_id": ev["session_id"],
    })
    ch = _read_table(root / "crm_changes.parquet")
    crm = pd.DataFrame({
        "contact_id": ch["contact_id"].astype("int64") if len(ch) else pd.Series(dtype="int64"),
        "person_id": pd.arrays.IntegerArray(np.zeros(len(ch), dtype=np.int64), np.ones(len(ch), dtype=bool)),
        "field": ch["field"].astype(object), "value": ch["value"].astype(object),
        "effective_at": _utc(ch["effective_at"]), "recorded_at": _utc(ch["recorded_at"]),
        "source": ch["source"].astype(object) if "source" in ch else "import",
    })
    contacts = _read_table(root / "contacts.parquet")
    return ObservedWorld(events=events, crm_changes=crm, contacts=contacts, start=start, end=end, meta=meta,
                         path=str(root))


def _read_meta(root: Path) -> dict[str, Any]:
    meta_path = root / "world.json"
    if not meta_path.is_file():
        raise UserError(f"{root} is not a world folder: world.json is missing "
                        "(write one with 'audience-lab generate' or 'audience-lab import')")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{meta_path} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{meta_path} is not a world description (expected a JSON object)")
    return meta


def world_kind(path: str | os.PathLike) -> str:
    """``'synthetic'`` or ``'observed'`` for a world folder (a world.json without a kind is synthetic)."""
    root = Path(path)
    kind = _read_meta(root).get("kind", "synthetic")
    if kind not in KINDS:
        raise DataError(f"{root / 'world.json'} has an unknown kind {kind!r}; accepted: {', '.join(KINDS)}")
    return kind


def open_world(path: str | os.PathLike):
    """A synthetic :class:`~synthetic.world.World` or an :class:`ObservedWorld`, by world.json's ``kind``."""
    root = Path(path)
    meta = _read_meta(root)
    kind = meta.get("kind", "synthetic")
    if kind == "observed":
        return read_observed(root, meta)
    if kind != "synthetic":
        raise DataError(f"{root / 'world.json'} has an unknown kind {kind!r}; accepted: {', '.join(KINDS)}")
    from synthetic.io import read_world

    return read_world(root)


def is_observed(world: Any) -> bool:
    return getattr(world, "kind", "synthetic") == "observed"
