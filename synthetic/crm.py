"""The CRM change log: what the CRM recorded, when, and how wrong it was.

Each true fact (a stage reached, a purchase, a webinar attended) becomes a change row with the
time it became true (``effective_at``) and the time the CRM recorded it (``recorded_at``), which
depends on how the fact travels: a form sync (minutes), a sales rep (days), a weekly list import,
a nightly order sync, an enrichment vendor. Then the messy reality: missing updates, wrong values,
duplicate contacts and the same concept split over custom fields.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.config import WorldConfig
from synthetic.journeys import DAY, to_ts
from synthetic.names import Domains
from synthetic.population import Population

MECHANISMS = ("form", "rep", "import", "order", "enrich")
#: Custom fields that end up holding the same concept as the canonical field (sprawl).
SPRAWL_ALIASES: dict[str, tuple[str, ...]] = {
    "lifecycle_stage": ("lifecycle_stage_c", "Lifecycle Stage (old)", "lead_status", "stage__c", "lifecycle_2", "LCS"),
    "industry": ("industry_c", "Industry (enriched)", "vertical", "sector", "industry_2", "IND"),
}
DOMAINS: dict[str, tuple[str, ...]] = {
    "lifecycle_stage": ("subscriber", "lead", "mql", "sql", "opportunity", "customer"),
    "industry": Domains.INDUSTRIES,
    "region": Domains.REGIONS,
}


def change_rows(person, field: str, value, eff, mech: str) -> pd.DataFrame:
    """A batch of facts that travel to the CRM through one mechanism."""
    person = np.asarray(person, dtype=np.int64)
    return pd.DataFrame({"person": person, "field": field,
                         "value": np.asarray(value, dtype=object) if not np.isscalar(value) else np.full(len(person), value, dtype=object),
                         "eff": np.asarray(eff, dtype=float), "mech": mech})


def iso(seconds: np.ndarray, start: pd.Timestamp) -> np.ndarray:
    """Float seconds from start → ISO strings (the CRM stores dates as text)."""
    ts = to_ts(start, np.asarray(seconds, dtype=float))
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(dtype=object)


def record(config: WorldConfig, facts: pd.DataFrame, reg: np.ndarray, pop: Population,
           rng: np.random.Generator) -> pd.DataFrame:
    """Apply contacts, lags, errors, missing values, sprawl and duplicates to true facts."""
    k = config.knobs
    horizon = config.days * DAY
    facts = facts[~np.isnan(reg[facts["person"].to_numpy()])].reset_index(drop=True)
    facts["eff"] = np.maximum(facts["eff"].to_numpy(), reg[facts["person"].to_numpy()])
    rec = _recorded(config, facts, rng)
    facts["rec"] = rec
    facts = facts[facts["eff"] < horizon]
    facts = _corrupt(config, facts, rng)
    known = np.flatnonzero(~np.isnan(reg))
    order = known[np.lexsort((known, reg[known]))]
    contact_of = np.zeros(config.people, dtype=np.int64)
    contact_of[order] = np.arange(1, len(order) + 1)
    facts["contact_id"] = contact_of[facts["person"].to_numpy()]
    dups = _duplicates(config, facts, reg, order, pop, rng)
    out = pd.concat([facts, dups], ignore_index=True)
    out = out[out["rec"] < horizon]
    frame = pd.DataFrame({
        "contact_id": out["contact_id"].to_numpy(dtype=np.int64),
        "person_id": out["person"].to_numpy(dtype=np.int64) + 1,
        "field": out["field"].to_numpy(dtype=object),
        "value": out["value"].to_numpy(dtype=object),
        "effective_at": to_ts(config.start_ts, out["eff"].to_numpy()),
        "recorded_at": to_ts(config.start_ts, out["rec"].to_numpy()),
        "source": out["mech"].to_numpy(dtype=object),
    })
    frame = frame.sort_values(["contact_id", "recorded_at", "field"], kind="mergesort", ignore_index=True)
    return frame


def _recorded(config: WorldConfig, facts: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    k = config.knobs
    eff = facts["eff"].to_numpy()
    mech = facts["mech"].to_numpy()
    n = len(eff)
    imp = k.crm_import_days * DAY
    order = k.crm_order_sync_hours * 3600
    rec = np.select(
        [mech == "form", mech == "rep", mech == "import", mech == "order", mech == "enrich"],
        [eff + rng.exponential(max(k.crm_form_sync_minutes, 1e-3) * 60, n),
         eff + rng.exponential(max(k.rep_update_lag_days, 1e-6) * DAY, n),
         9 * 3600 + np.ceil((eff - 9 * 3600) / imp) * imp + rng.uniform(0, 3600, n),   # Monday-morning import
         2 * 3600 + np.ceil((eff - 2 * 3600) / order) * order + rng.uniform(0, 600, n),  # batch order sync at 02:00
         eff + rng.exponential(0.5 * DAY, n)],
        eff)
    return np.maximum(rec, eff)


def _corrupt(config: WorldConfig, facts: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Missing updates, wrong picklist values and the same concept split over custom fields."""
    k = config.knobs
    n = len(facts)
    mech = facts["mech"].to_numpy()
    miss_rate = np.where(np.isin(mech, ("form", "order")), k.crm_missing_rate * 0.3, k.crm_missing_rate)
    keep = (rng.random(n) >= miss_rate) | (facts["field"].to_numpy() == "email")
    facts = facts[keep].reset_index(drop=True)
    field = facts["field"].to_numpy(dtype=object).copy()
    value = facts["value"].to_numpy(dtype=object).copy()
    for name, domain in DOMAINS.items():
        wrong = (field == name) & (rng.random(len(field)) < k.crm_error_rate)
        value[wrong] = np.array(domain, dtype=object)[rng.integers(0, len(domain), wrong.sum())]
    if k.custom_field_sprawl > 0:
        for name, aliases in SPRAWL_ALIASES.items():
            alias = np.array(aliases[: k.custom_field_sprawl], dtype=object)
            share = k.custom_field_sprawl / (k.custom_field_sprawl + 3)
            hit = (field == name) & (facts["mech"].to_numpy() != "form") & (rng.random(len(field)) < share)
            field[hit] = alias[rng.integers(0, len(alias), hit.sum())]
    facts["field"] = field
    facts["value"] = value
    return facts


def _duplicates(config: WorldConfig, facts: pd.DataFrame, reg: np.ndarray, order: np.ndarray,
                pop: Population, rng: np.random.Generator) -> pd.DataFrame:
    """A second contact for some people: created by a later import with another email.

    The duplicate gets the import-borne and enrichment fields and a 'lead' stage that nobody
    updates — the classic stale twin a CRM segment double-counts.
    """
    k = config.knobs
    dup = order[rng.random(len(order)) < k.duplicate_rate]
    if len(dup) == 0:
        return facts.iloc[0:0]
    imp = k.crm_import_days * DAY
    created = np.ceil((reg[dup] + rng.uniform(1, 30, len(dup)) * DAY) / imp) * imp + 9 * 3600
    dup_contact = len(order) + 1 + np.arange(len(dup))
    alt = np.where(pop.second_email[dup] != None, pop.second_email[dup],  # noqa: E711
                   "info." + pop.people["email"].to_numpy(dtype=object)[dup])
    base = pd.DataFrame({"person": dup, "contact_id": dup_contact, "eff": created, "rec": created, "mech": "import"})
    email = base.assign(field="email", value=alt)
    stage = base.assign(field="lifecycle_stage", value="lead")
    copy = facts[facts["mech"].isin(("import", "enrich")) & facts["person"].isin(dup)]
    mapping = pd.Series(dup_contact, index=dup)
    copy = copy.assign(contact_id=mapping.reindex(copy["person"]).to_numpy(),
                       rec=np.maximum(copy["rec"].to_numpy(), pd.Series(created, index=dup).reindex(copy["person"]).to_numpy()))
    return pd.concat([email, stage, copy], ignore_index=True)
