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
        ev = self.events
        received = ev["received_at"].notna()
        in_window = ev["ts"] >= self.start
        purchases = ev["event_type"].eq("purchase") & in_window
        return {
            "preset": self.config.preset,
            "people": int(len(self.people)),
            "accounts": int(len(self.accounts)),
            "events": int(len(ev)),
            "events_per_person": round(len(ev) / max(len(self.people), 1), 1),
            "contacts": int(self.crm_changes["contact_id"].nunique()) if len(self.crm_changes) else 0,
            "crm_changes": int(len(self.crm_changes)),
            "share_events_received_by_cdp": round(float(received.mean()) if len(ev) else 0.0, 3),
            "share_events_with_user_or_email": round(float((ev["user_id"].notna() | ev["email"].notna()).mean()) if len(ev) else 0.0, 3),
            "purchases": int(purchases.sum()),
            "revenue": round(float(ev.loc[purchases, "value"].sum()), 2),
        }
