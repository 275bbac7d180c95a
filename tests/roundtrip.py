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

#: Synthetic event names → Segment spec names (the importer's segment format maps them back).
SEGMENT_NAMES = {"page_view": "Page Viewed", "add_to_cart": "Product Added", "checkout_started": "Checkout Started",
                 "purchase": "Order Completed", "signup": "Signed Up", "login": "Signed In",
                 "trial_started": "Trial Started", "email_open": "Email Opened", "email_click": "Email Link Clicked"}


def received(world) -> pd.DataFrame:
    ev = world.events
    return ev[ev["received_at"].notna()]


def _iso(ts: pd.Series) -> pd.Series:
    return ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"


def _text(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), None)


def segment_csv(world, path: Path) -> Path:
    ev = received(world)
    page = _text(ev["page"])
    out = pd.DataFrame({
        "message_id": "m" + ev["event_id"].astype(str),
        "timestamp": _iso(ev["ts"]),
        "received_at": _iso(ev["received_at"]),
        "event": ev["event_type"].astype(str).map(lambda e: SEGMENT_NAMES.get(e, e)),
        "anonymous_id": _text(ev["anonymous_id"]),
        "user_id": _text(ev["user_id"]),
        "context_traits_email": _text(ev["email"]),
        "context_page_path": page.map(lambda p: None if p is None else "/" + p),
        "properties_revenue": ev["value"],
        "context_session_id": ev["session_id"].astype("string"),
        "channel": ev["channel"].astype(str),
    })
    out.to_csv(path, index=False)
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
    ch = world.crm_changes
    ch = ch[ch["recorded_at"] <= world.end].sort_values(["contact_id", "field", "recorded_at"], kind="stable")
    latest = ch.drop_duplicates(["contact_id", "field"], keep="last")
    wide = latest.pivot(index="contact_id", columns="field", values="value")
    times = ch.groupby("contact_id")["recorded_at"].agg(["min", "max"])
    wide.insert(0, "created_at", _iso(times["min"]))
    wide.insert(1, "updated_at", _iso(times["max"]))
    wide.index.name = "contact_id"
    wide.reset_index().to_csv(path, index=False)
    return path


def sha(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()
