"""The CRM change log: which contacts exist, what they recorded, when, and how wrong it was.

Contacts follow how marketing CRMs deduplicate: on the e-mail address only (HubSpot: "HubSpot
automatically deduplicates contacts using email addresses", knowledge.hubspot.com/articles/
kcs_article/contacts/deduplication-of-contacts-companies-deals-tickets; its Contacts API: "The
primary identifier for a contact in HubSpot is an email address"). So every address of a person
that reaches the CRM — a second address typed into a form, a new address after the old one died,
a list import that spells the address differently — becomes its own contact. Duplicate rates of
10–30 % are what a data-quality practitioner reports for companies without master-data management
(W. Eckerson, "Hidden Costs of Duplicate Data", eckerson.com, from D&B client files: an expert's
account, not a study); the rate here is not set directly but follows from ``second_email_rate``,
``crm_decay_monthly`` and ``duplicate_rate`` (imports).

Each true fact (a stage reached, a purchase, a webinar attended) becomes a change row with the time
it became true (``effective_at``) and the time the CRM recorded it (``recorded_at``), which depends
on how the fact travels: a form sync (minutes), a sales rep (days), a weekly list import, a nightly
order sync, an enrichment vendor (on creation, then at periodic refreshes), a bounce at the next
send. Then the messy reality: missing updates, wrong values and the same concept split over custom
fields. Order history is counted per contact, as the CRM sees it, not per person.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.config import WorldConfig
from synthetic.identification import ALIAS, SECOND
from synthetic.journeys import DAY
from synthetic.names import Domains
from synthetic.population import Population
from synthetic.presets import PRESETS

MECHANISMS = ("form", "rep", "import", "order", "enrich", "refresh", "bounce")
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
#: Fields whose updates never go missing or wrong: the key itself and the bounce the ESP writes.
EXACT_FIELDS = ("email", "email_status")
#: The lifecycle stage a CRM gives a new contact (HubSpot's defaults for a form contact).
DEFAULT_STAGE = {"b2b": "lead", "b2c": "subscriber"}


def change_rows(person, field: str, value, eff, mech: str, addr=-1, truth: bool = True, crm: bool = True,
                rec=None) -> pd.DataFrame:
    """A batch of facts that travel to the CRM through one mechanism.

    ``addr`` names the address (contact) the fact arrives with (-1: the person's first contact);
    ``truth``/``crm`` say whether the row is a true value (``traits``) and/or reaches the CRM;
    ``rec`` fixes the recorded time instead of drawing it from the mechanism's lag."""
    person = np.asarray(person, dtype=np.int64)
    n = len(person)
    return pd.DataFrame({"person": person, "field": field,
                         "value": np.asarray(value, dtype=object) if not np.isscalar(value) else np.full(n, value, dtype=object),
                         "eff": np.asarray(eff, dtype=float), "mech": mech,
                         "addr": np.broadcast_to(np.asarray(addr, dtype=np.int8), (n,)).copy(),
                         "truth": truth, "crm": crm,
                         "rec": np.full(n, np.nan) if rec is None else np.asarray(rec, dtype=float)})


def iso(seconds: np.ndarray, start: pd.Timestamp) -> np.ndarray:
    """Float seconds from start → ISO strings (the CRM stores dates as text)."""
    ms = np.round(np.asarray(seconds, dtype=float) * 1000).astype(np.int64)
    stamps = np.datetime64(start.value, "ns").astype("datetime64[ms]") + ms.astype("timedelta64[ms]")
    return np.char.add(np.datetime_as_string(stamps.astype("datetime64[s]"), unit="s"), "Z").astype(object)


def contacts_table(config: WorldConfig, first_seen: pd.DataFrame, reg: np.ndarray,
                   rng: np.random.Generator) -> pd.DataFrame:
    """Every contact: ``person, addr, eff`` (when its address reached the CRM), ``rec``, ``contact``, ``first``.

    ``first_seen`` holds the addresses people typed (:func:`identification.first_contacts`);
    imports add a contact for ``duplicate_rate`` of known people under an alias spelling."""
    k = config.knobs
    c = first_seen[["person", "addr", "t"]].rename(columns={"t": "eff"})
    c = c.assign(rec=c["eff"].to_numpy() + rng.exponential(max(k.crm_form_sync_minutes, 1e-3) * 60, len(c)))
    known = np.flatnonzero(~np.isnan(reg))
    dup = known[rng.random(len(known)) < k.duplicate_rate]
    imp = k.crm_import_days * DAY
    created = np.ceil((reg[dup] + rng.uniform(1, 30, len(dup)) * DAY) / imp) * imp + 9 * 3600
    c = pd.concat([c, pd.DataFrame({"person": dup, "addr": np.full(len(dup), ALIAS, dtype=np.int8), "eff": created, "rec": created})],
                  ignore_index=True)
    c = c.sort_values(["rec", "person", "addr"], kind="mergesort", ignore_index=True)
    c["contact"] = np.arange(1, len(c) + 1, dtype=np.int64)
    first = c.sort_values(["person", "eff", "rec"], kind="mergesort").drop_duplicates("person")
    c["first"] = c["contact"].isin(first["contact"]).to_numpy()
    return c


def creation_facts(config: WorldConfig, pop: Population, contacts: pd.DataFrame) -> list[pd.DataFrame]:
    """What a new contact record holds: its address, the default stage, and form or enrichment fields.

    Enrichment vendors match work domains, so a B2B contact created from a personal (second)
    address gets no company fields."""
    model = PRESETS[config.preset].model
    p, addr, eff = contacts["person"].to_numpy(), contacts["addr"].to_numpy(), contacts["eff"].to_numpy()
    ids = contacts["contact"].to_numpy()
    email = pop.emails[addr.astype(np.int64), p]
    out = [change_rows(p, "email", email, eff, "form", addr=addr, truth=False).assign(contact=ids),
           change_rows(p, "lifecycle_stage", DEFAULT_STAGE[model], eff, "form", addr=addr, truth=False).assign(contact=ids)]
    if model == "b2c":
        out.append(change_rows(p, "country", pop.people["country"].to_numpy(dtype=object)[p], eff, "form", addr=addr,
                               truth=False).assign(contact=ids))
        return out
    work = addr != SECOND
    acc = pop.accounts
    pos = pop.account_pos[p[work]]
    for col, field in (("industry", "industry"), ("employees", "employees"), ("employee_band", "company_size"),
                       ("region", "region"), ("name", "company")):
        out.append(change_rows(p[work], field, acc[col].astype(str).to_numpy(dtype=object)[pos], eff[work], "enrich",
                               addr=addr[work], truth=False).assign(contact=ids[work]))
    return out


def purchase_facts(purchases: pd.DataFrame, contacts: pd.DataFrame, start: pd.Timestamp, model: str) -> list[pd.DataFrame]:
    """Order sync per contact: last purchase date, running order count and spend, 'customer' on the first.

    ``purchases`` has ``person, t, value, addr`` (the address typed at checkout; -1 for deals)."""
    b = route(purchases.assign(mech="order"), contacts)
    b = b.sort_values(["contact", "t"], kind="mergesort")
    p, t, c, a = b["person"].to_numpy(), b["t"].to_numpy(), b["contact"].to_numpy(), b["addr"].to_numpy()
    count = b.groupby("contact").cumcount().to_numpy() + 1
    spend = b.groupby("contact")["value"].cumsum().fillna(0).round(2).to_numpy()
    kw = dict(addr=a, truth=False)
    out = [change_rows(p, "last_purchase_date", iso(t, start), t, "order", **kw),
           change_rows(p, "orders_count", count.astype(str), t, "order", **kw),
           change_rows(p, "total_spend", np.char.mod("%.2f", spend.astype(float)).astype(object), t, "order", **kw)]
    contact = [c, c, c]
    if model == "b2c":
        first = count == 1
        out.append(change_rows(p[first], "lifecycle_stage", "customer", t[first], "order", addr=a[first], truth=False))
        contact.append(c[first])
    for frame, ids in zip(out, contact):
        frame["contact"] = ids
    return out


def route(rows: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """Attach each row to the contact its address belongs to (``contact`` column).

    Rows with ``addr = -1`` (reps, enrichment refreshes, deals) go to the person's first contact;
    rows with an address go to that address's contact, else to the first contact — except
    bounces, which only ever concern the address that bounced. Rows of people without any contact
    are dropped."""
    keyed = contacts[["person", "addr", "contact"]]
    first = contacts.loc[contacts["first"].to_numpy(), ["person", "contact"]].rename(columns={"contact": "first_contact"})
    rows = rows.drop(columns=[c for c in ("contact",) if c in rows])
    out = rows.merge(keyed, on=["person", "addr"], how="left").merge(first, on="person", how="inner")
    strict = (out["mech"] == "bounce").to_numpy()
    own = out["contact"].to_numpy(dtype=float)
    use_first = (np.isnan(own) & ~strict) | (out["addr"].to_numpy() < 0)
    chosen = np.where(use_first, out["first_contact"].to_numpy(dtype=float), own)
    out = out.assign(contact=chosen).drop(columns="first_contact")
    out = out[~np.isnan(chosen)]
    return out.astype({"contact": np.int64})


def record(config: WorldConfig, facts: pd.DataFrame, contacts: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Route CRM-bound facts to contacts, apply lags, missing values, errors and sprawl.

    ``facts`` rows that already carry a ``contact`` (creation and order facts) keep it. Returns
    the unit's change log with unit-local contact ids (1..), times in seconds."""
    horizon = config.days * DAY
    f = facts[facts["crm"].to_numpy(dtype=bool)]
    has = f["contact"].notna().to_numpy() if "contact" in f else np.zeros(len(f), bool)
    f = pd.concat([f[has].astype({"contact": np.int64}), route(f[~has], contacts)], ignore_index=True)
    created = pd.Series(contacts["rec"].to_numpy(), index=contacts["contact"].to_numpy())
    c_eff = pd.Series(contacts["eff"].to_numpy(), index=contacts["contact"].to_numpy())
    contact = f["contact"].to_numpy()
    f["eff"] = np.maximum(f["eff"].to_numpy(), c_eff.reindex(contact).to_numpy())
    rec = _recorded(config, f, rng)
    f["rec"] = np.maximum(rec, created.reindex(contact).to_numpy())
    f = f[(f["eff"].to_numpy() < horizon) & (f["rec"].to_numpy() < horizon)]
    f = _corrupt(config, f.reset_index(drop=True), rng)
    f = f[f["rec"].to_numpy() < horizon]
    return pd.DataFrame({
        "contact_id": f["contact"].to_numpy(dtype=np.int64),
        "person": f["person"].to_numpy(dtype=np.int64),
        "field": f["field"].to_numpy(dtype=object),
        "value": f["value"].to_numpy(dtype=object),
        "eff": f["eff"].to_numpy(dtype=float),
        "rec": f["rec"].to_numpy(dtype=float),
        "source": f["mech"].to_numpy(dtype=object),
    }).sort_values(["contact_id", "rec", "field", "eff"], kind="mergesort", ignore_index=True)
    # (records a sync delivers at one moment apply in the order they happened: a contact created by a
    # form whose first order syncs before the contact exists gets both at its creation, subscriber
    # then customer — not the order's "customer" overwritten by the older form's "subscriber")


def _recorded(config: WorldConfig, facts: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    k = config.knobs
    eff = facts["eff"].to_numpy()
    mech = facts["mech"].to_numpy()
    fixed = facts["rec"].to_numpy(dtype=float)
    n = len(eff)
    imp = k.crm_import_days * DAY
    order = k.crm_order_sync_hours * 3600
    rec = np.select(
        [mech == "form", mech == "rep", mech == "import", mech == "order", mech == "enrich", mech == "refresh"],
        [eff + rng.exponential(max(k.crm_form_sync_minutes, 1e-3) * 60, n),
         eff + rng.exponential(max(k.rep_update_lag_days, 1e-6) * DAY, n),
         9 * 3600 + np.ceil((eff - 9 * 3600) / imp) * imp + rng.uniform(0, 3600, n),   # Monday-morning import
         2 * 3600 + np.ceil((eff - 2 * 3600) / order) * order + rng.uniform(0, 600, n),  # batch order sync at 02:00
         eff + rng.exponential(0.5 * DAY, n),                                              # enrichment on creation
         next_refresh(config, eff) + rng.uniform(0, 3600, n)],                            # periodic refresh
        eff)
    rec = np.where(np.isnan(fixed), rec, fixed)
    return np.maximum(rec, eff)


def _corrupt(config: WorldConfig, facts: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Missing updates, wrong picklist values and the same concept split over custom fields.

    Enrichment-borne values (company, industry, size, region) that went missing or wrong are set
    right again at the next enrichment refresh (``refresh`` rows), as a periodic enrichment run
    overwrites what it finds stale: ``crm_enrichment_days`` is how long bad firmographics last."""
    k = config.knobs
    n = len(facts)
    mech = facts["mech"].to_numpy()
    miss_rate = np.where(np.isin(mech, ("form", "order")), k.crm_missing_rate * 0.3, k.crm_missing_rate)
    keep = (rng.random(n) >= miss_rate) | np.isin(facts["field"].to_numpy(dtype=object), EXACT_FIELDS)
    original = facts
    facts = facts[keep].reset_index(drop=True)
    field = facts["field"].to_numpy(dtype=object).copy()
    value = facts["value"].to_numpy(dtype=object).copy()
    wrong_any = np.zeros(len(field), dtype=bool)
    for name, domain in DOMAINS.items():
        wrong = (field == name) & (rng.random(len(field)) < k.crm_error_rate)
        value[wrong] = np.array(domain, dtype=object)[rng.integers(0, len(domain), wrong.sum())]
        wrong_any |= wrong & (value != facts["value"].to_numpy(dtype=object))
    if k.custom_field_sprawl > 0:
        for name, aliases in SPRAWL_ALIASES.items():
            alias = np.array(aliases[: k.custom_field_sprawl], dtype=object)
            share = k.custom_field_sprawl / (k.custom_field_sprawl + 3)
            hit = (field == name) & (facts["mech"].to_numpy() != "form") & (rng.random(len(field)) < share)
            field[hit] = alias[rng.integers(0, len(alias), hit.sum())]
    repairs = pd.concat([original[~keep & (mech == "enrich")], facts[wrong_any & (facts["mech"] == "enrich").to_numpy()]],
                        ignore_index=True)
    facts["field"] = field
    facts["value"] = value
    if len(repairs):
        run = next_refresh(config, repairs["rec"].to_numpy())
        repairs = repairs.assign(rec=run + rng.uniform(0, 3600, len(repairs)), mech="refresh")
        facts = pd.concat([facts, repairs], ignore_index=True)
    return facts


def refresh_phase(config: WorldConfig) -> float:
    """Seconds after the world's start of one enrichment run; runs repeat every ``crm_enrichment_days``.

    Drawn once per world (from the seed only), so every unit refreshes at the same times."""
    u = np.random.default_rng(np.random.SeedSequence([config.seed, 20261129, 7_000_001])).random()
    return float(u * config.knobs.crm_enrichment_days * DAY)


def next_refresh(config: WorldConfig, t: np.ndarray) -> np.ndarray:
    """The first enrichment run at or after each time."""
    period = config.knobs.crm_enrichment_days * DAY
    phase = refresh_phase(config)
    return phase + np.ceil((np.asarray(t, dtype=float) - phase) / period) * period
