"""Test helpers: write a generated world's *observed* tables as a vendor export would hold them.

Only what the CDP received is exported (events with ``received_at``), with the identifiers each
event carried, in a Segment-like tracks layout or the REES46-like layout; the CRM becomes a
contacts snapshot at the end of the period (the latest recorded value of every field). Importing
these files must give back the world's CDP view member for member.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

# The Segment-like tracks layout (spec event names, which the importer's segment format maps back)
# is the one the Your data page's example export writes.
from core.present.datapage import SEGMENT_NAMES, crm_contacts, segment_tracks  # noqa: F401


def received(world) -> pd.DataFrame:
    ev = world.events
    return ev[ev["received_at"].notna()]


def _iso(ts: pd.Series) -> pd.Series:
    return ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"


def _text(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), None)


def segment_csv(world, path: Path) -> Path:
    segment_tracks(received(world)).to_csv(path, index=False)
    return path


def rees46_csv(world, path: Path) -> Path:
    """The REES46 layout plus the identifier and receipt columns a CDP export also holds."""
    ev = received(world)
    et = ev["event_type"].astype(str)
    product_view = (et == "page_view") & (ev["page"].astype(object) == "product")
    name = np.select([product_view, et == "add_to_cart", et == "purchase"], ["view", "cart", "purchase"], et)
    out = pd.DataFrame({
        "event_time": ev["ts"].dt.strftime("%Y-%m-%d %H:%M:%S.%f").str[:-3] + " UTC",
        "event_type": name,
        "product_id": 1000 + ev["event_id"] % 97,
        "category_id": 7,
        "category_code": _text(ev["page"]),
        "brand": "acme",
        "price": ev["value"],
        "user_id": _text(ev["user_id"]),
        "user_session": ev["session_id"].astype("string"),
        "anonymous_id": _text(ev["anonymous_id"]),
        "email": _text(ev["email"]),
        "received_at": _iso(ev["received_at"]),
    })
    out.to_csv(path, index=False)
    return path


def crm_snapshot(world, path: Path) -> Path:
    """One row per contact: the latest recorded value of each field at the end of the period."""
    crm_contacts(world).to_csv(path, index=False)
    return path


def sha(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def split_parts(world: Path) -> None:
    """Each table's one part file as three (rows in the same order), as a larger streamed world
    has: the logs' order then runs across files, and a folder engine must number it so."""
    import pyarrow.parquet as pq

    for folder in world.iterdir():
        if folder.is_dir():
            (part,) = folder.glob("part-*.parquet")
            table = pq.read_table(part)
            cut = [0, len(table) // 3, 2 * len(table) // 3, len(table)]
            for i in range(3):
                pq.write_table(table.slice(cut[i], cut[i + 1] - cut[i]), folder / f"part-{i:05d}.parquet")
