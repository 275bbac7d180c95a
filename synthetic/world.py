"""The generated world: ground truth plus the raw material each system observes."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from synthetic.config import WorldConfig

TABLES: tuple[str, ...] = ("people", "accounts", "events", "identifiers", "crm_changes", "intent", "traits")


@dataclass(frozen=True)
class World:
    """One scenario. Tables follow the contract in docs/ARCHITECTURE.md."""

    config: WorldConfig
    people: pd.DataFrame
    accounts: pd.DataFrame
    events: pd.DataFrame
    identifiers: pd.DataFrame
    crm_changes: pd.DataFrame
    intent: pd.DataFrame
    traits: pd.DataFrame  # true field values (person_id, field, value, effective_at): the CRM's yardstick

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}

    @property
    def start(self) -> pd.Timestamp:
        return self.config.start_ts

    @property
    def end(self) -> pd.Timestamp:
        return self.config.end_ts

    def summary(self) -> dict[str, float | int | str]:
        """Headline counts a person checks first: sizes, identified share, tracking loss."""
        return summary_from(self.config, summarise(self.tables(), self.start))


def summarise(tables: dict[str, pd.DataFrame], start: pd.Timestamp) -> dict[str, float]:
    """Additive counts behind :meth:`World.summary`, so a world written unit by unit sums them."""
    ev = tables["events"]
    purchases = ev["event_type"].eq("purchase") & (ev["ts"] >= start)
    ch = tables["crm_changes"]
    return {
        "people": len(tables["people"]), "accounts": len(tables["accounts"]), "events": len(ev),
        "contacts": int(ch["contact_id"].nunique()) if len(ch) else 0, "crm_changes": len(ch),
        "received": int(ev["received_at"].notna().sum()),
        "identified": int((ev["user_id"].notna() | ev["email"].notna()).sum()),
        "purchases": int(purchases.sum()), "revenue": float(ev.loc[purchases, "value"].sum()),
    }


def summary_from(config: WorldConfig, totals: dict[str, float]) -> dict[str, float | int | str]:
    n_ev = int(totals.get("events", 0))
    return {
        "preset": config.preset,
        "people": int(totals.get("people", 0)),
        "accounts": int(totals.get("accounts", 0)),
        "events": n_ev,
        "events_per_person": round(n_ev / max(int(totals.get("people", 0)), 1), 1),
        "contacts": int(totals.get("contacts", 0)),
        "crm_changes": int(totals.get("crm_changes", 0)),
        "share_events_received_by_cdp": round(totals.get("received", 0) / n_ev, 3) if n_ev else 0.0,
        "share_events_with_user_or_email": round(totals.get("identified", 0) / n_ev, 3) if n_ev else 0.0,
        "purchases": int(totals.get("purchases", 0)),
        "revenue": round(float(totals.get("revenue", 0.0)), 2),
    }
