"""``generate(config) -> World``: one call from a frozen config to every table.

A world is generated unit by unit (:mod:`synthetic.units`): each unit of people draws everything
from its own generator seeded by ``(seed, unit)``, so the same config and seed give byte-identical
tables however the units are grouped into blocks or spread over worker processes. Ids that run
across the world — events, sessions, contacts — are numbered per unit and shifted into place when
units are joined, in unit order (:func:`join_units`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from synthetic import crm, decay, lifecycle
from synthetic import email as mail
from synthetic import identification as ident
from synthetic.config import WorldConfig, validate
from synthetic.journeys import (CHANNELS, DAY, IDENTS, Sessions, _frame, cat, draw_episodes, draw_sessions,
                                expand_sessions, intent_table, page_views, to_ts)
from synthetic.population import Population, build_population
from synthetic.presets import PRESETS
from synthetic.tracking import as_categorical, identifier_strings, identifiers_table, observe
from synthetic.units import STREAMS, Unit, plan_units, stream_rng
from synthetic.world import TABLES, World

EVENT_COLUMNS = ("event_id", "person_id", "ts", "channel", "event_type", "page", "value",
                 "anonymous_id", "user_id", "email", "received_at", "crm_received_at", "session_id",
                 "crm_identify_email")
#: Sales history kept from before the window (meetings and deals of the pipeline in flight).
HISTORY_DAYS = 365


@dataclass(frozen=True)
class UnitTables:
    """One unit's tables, with event, session and contact ids numbered from 1 inside the unit."""

    tables: dict[str, pd.DataFrame]
    sessions: int


def generate(config: WorldConfig) -> World:
    """Generate the world described by ``config`` (validated first), all in memory."""
    validate(config)
    return join_units(config, [generate_unit(config, unit) for unit in plan_units(config)])


def generate_unit(config: WorldConfig, unit: Unit) -> UnitTables:
    """Every table of one unit of people.

    Each subsystem draws from its own random stream (:func:`synthetic.units.stream_rng`): people,
    intent, behaviour, identity, pipeline and e-mail make the world; the CRM's record, the logins
    each system identifies and the tracking make what the systems see. So a CRM or CDP operating
    level (or a stack profile) changes only what that system records, never the world."""
    rng = {name: stream_rng(config.seed, unit.index, name) for name in STREAMS}
    model = PRESETS[config.preset].model
    horizon = config.days * DAY
    pop = build_population(config, unit, rng["people"])
    m = pop.size
    ep = draw_episodes(config, pop, rng["intent"])
    beh = rng["behaviour"]
    sessions = draw_sessions(config, pop, ep, beh)
    ev = expand_sessions(config, sessions, beh)
    from_store = np.asarray(sessions.channel[ev["session"].to_numpy()] == "store") & (ev["channel"] != "ads").to_numpy()
    ev["ident"] = pd.Categorical.from_codes(np.where(from_store, IDENTS.index("store"), IDENTS.index("session")), categories=IDENTS)
    loyalty_session = beh.random(len(sessions.person)) < config.behaviour.loyalty_share
    ev["loyalty"] = (ev["ident"] == "store") & loyalty_session[ev["session"].to_numpy()] & pop.has_account[ev["person"].to_numpy()]
    webinar = lifecycle.webinars(config, ep, pop.arrivals.leaves, beh).assign(ident="email", loyalty=False)
    ev = pd.concat([ev, webinar], ignore_index=True) if len(webinar) else ev
    ev = ev[ev["t"].to_numpy() < horizon].reset_index(drop=True)

    # who is known, since when, and with which addresses (the world: no CRM knob is read here)
    idr = rng["identity"]
    first = ident.first_identified(ev, m)
    rates = ident.identification_rates(config, pop, ep, ev, first)
    reg_before = ident.known_before(config, pop, ep, rates, idr)
    reg = ident.registration(reg_before, first)
    changed_at = decay.email_change_times(config, pop, reg_before, idr)
    job_at = decay.job_changes(config, pop)
    ev["addr"] = ident.event_addresses(config, pop, ev, changed_at, idr)
    first_seen = ident.first_contacts(pop, ev, reg_before, changed_at, rates, idr)
    first_addr = np.full(m, ident.PRIMARY, dtype=np.int64)
    firsts = first_seen.drop_duplicates("person")  # sorted by person, time: each person's first address
    first_addr[firsts["person"].to_numpy()] = firsts["addr"].to_numpy()

    pipe = rng["pipeline"]
    history = lifecycle.purchase_history(config, reg_before, pipe).assign(loyalty=False, addr=np.int8(ident.PRIMARY))
    facts, more, login_from = _milestones(config, pop, ep, ev, reg, reg_before, pipe, model)
    eng = mail.engagement(config, pop, first_seen.rename(columns={"t": "eff"}), decay.address_death(changed_at, job_at), ep,
                          rng["email"])
    sessions, clicks, landing = _landing_sessions(config, pop, sessions, eng, rng["email"])
    extra = [history, *more, eng.events[eng.events["event_type"] == "email_open"].assign(ident="email"), clicks, landing]
    ev = pd.concat([ev] + [e.assign(loyalty=e.get("loyalty", False)) for e in extra if len(e)], ignore_index=True)
    ev["ident"] = cat(ev["ident"], IDENTS, len(ev))
    ev["addr"] = ev["addr"].fillna(-1).astype(np.int8) if ev["addr"].dtype != np.int8 else ev["addr"]
    session = ev["session"].to_numpy()
    ev["device"] = np.where(session >= 0, sessions.device[np.maximum(session, 0)], -1)
    product = (ev["ident"] == "product").to_numpy()
    ev.loc[product, "device"] = pop.dev_offset[ev.loc[product, "person"].to_numpy()]

    # what the CRM records (its own stream: its knobs change how much it draws)
    contacts = crm.contacts_table(config, first_seen, reg, rng["crm"])
    facts += _event_facts(config, pop, ev, more, eng, contacts, model)
    facts += decay.truth_and_crm_facts(config, pop, reg, changed_at, job_at, rng["decay"])
    facts += _registration_truth(config, pop, reg, changed_at, model)
    facts += crm.creation_facts(config, pop, contacts)
    facts = pd.concat(facts, ignore_index=True)

    if model == "b2c":
        login_from = np.where(pop.has_account, reg, np.nan)
    logins = ident.session_logins(config, pop, sessions.person, sessions.t, np.asarray(sessions.channel == "app"), reg,
                                  login_from, rng["login"])
    ev = observe(config, pop, ev, logins, login_from, first_addr, rng["tracking"])
    id_strings = identifier_strings(config, pop)
    intent = _finalise_intent(config, ep, ev, pop)
    identifiers = identifiers_table(config, pop, ev, id_strings)
    events = _finalise_events(config, pop, ev, id_strings)
    people = _finalise_people(config, pop, reg, id_strings[0])
    changes = _finalise_changes(config, pop, crm.record(config, facts, contacts, rng["crm_record"]))
    traits = _finalise_traits(config, pop, facts)
    tables = {"people": people, "accounts": pop.accounts, "events": events, "identifiers": identifiers,
              "crm_changes": changes, "intent": intent, "traits": traits}
    return UnitTables(tables=tables, sessions=len(sessions.person))


# ------------------------------------------------------------------ milestones and facts

def _milestones(config, pop: Population, ep, ev, reg, reg_before, rng, model) -> tuple[list[pd.DataFrame], list[pd.DataFrame], np.ndarray]:
    """Funnel stages (B2B), trials and upgrades (PLG): their facts, the events they cause, and
    when each person's product login starts (NaN: none yet).

    A sales-led B2B buyer gets a login with the product, at the won deal; a product-led one at the
    trial sign-up. Before that a known prospect has no product login (issue 19: logins of
    prospects are kept apart from customers' logins, see ``prospect_login_share``)."""
    n = pop.size
    start = config.start_ts
    facts: list[pd.DataFrame] = []
    more: list[pd.DataFrame] = []
    login_from = np.full(n, np.nan)
    if config.preset == "b2b-saas":
        demo_ev = ev[ev["event_type"] == "demo_requested"]
        demo_first = demo_ev.groupby("person")["t"].min()
        demo = np.zeros(n, dtype=bool)
        demo[demo_first.index.to_numpy()] = True
        strength = lifecycle.strength_at(ep, n, reg)
        strength, demo = _pipeline_before(reg_before, reg, strength, demo, rng)
        ms, sales = lifecycle.b2b_funnel(config, reg, strength, demo, rng)
        more.append(sales[sales["t"].to_numpy() >= -HISTORY_DAYS * DAY].assign(ident="sales", addr=np.int8(-1)))
        won = ms[ms["stage"] == "customer"].groupby("person")["t"].min()
        login_from[won.index.to_numpy()] = won.to_numpy()
        stage = ms[ms["stage"] != "lost"]
        # 'lead' is the stage a CRM gives every new contact (crm.creation_facts); here it is truth only
        is_lead = (stage["stage"] == "lead").to_numpy()
        facts.append(crm.change_rows(stage["person"][is_lead], "lifecycle_stage", "lead", stage["t"][is_lead], "form", crm=False))
        rest = stage[~is_lead]
        mech = np.where(rest["stage"] == "mql", "form", "rep")
        for mname in ("form", "rep"):
            sel = rest[mech == mname]
            facts.append(crm.change_rows(sel["person"], "lifecycle_stage", sel["stage"], sel["t"], mname))
        opp = ms[ms["stage"] == "opportunity"]
        facts.append(crm.change_rows(opp["person"], "deal_stage", "qualification", opp["t"], "rep"))
        closed = ms[ms["stage"].isin(["customer", "lost"])]
        facts.append(crm.change_rows(closed["person"], "deal_stage", np.where(closed["stage"] == "customer", "closedwon", "closedlost"),
                                     closed["t"], "rep"))
        first_demo = demo_ev.sort_values("t", kind="mergesort").drop_duplicates("person")
        facts.append(crm.change_rows(first_demo["person"], "requested_demo", "true", first_demo["t"], "form", addr=first_demo["addr"]))
    if model == "b2b":
        web = ev[ev["event_type"] == "webinar_attended"]
        facts.append(crm.change_rows(web["person"], "attended_webinar", "true", web["t"], "import", addr=web["addr"]))
    if config.preset == "plg-saas":
        signups = _signups_before(ev[ev["event_type"] == "signup"][["person", "t", "addr"]], reg_before, reg, rng)
        usage, upgrades = lifecycle.plg_usage(config, signups, pop.arrivals.leaves, rng)
        trial = signups.groupby("person")["t"].min()
        login_from[trial.index.to_numpy()] = trial.to_numpy()
        more.append(usage.assign(addr=np.int8(-1)))
        addr_of = pd.Series(signups["addr"].to_numpy(), index=signups["person"].to_numpy())
        up_addr = addr_of.reindex(upgrades["person"].to_numpy()).to_numpy()
        buys = _frame(upgrades["person"], upgrades["t"], "web", "purchase", np.full(len(upgrades), -1),
                      value=upgrades["value"].to_numpy()).assign(ident="product", addr=up_addr.astype(np.int8))
        more.append(buys[buys["t"].to_numpy() >= -HISTORY_DAYS * DAY])
        facts.append(crm.change_rows(signups["person"], "trial_started_date", crm.iso(signups["t"].to_numpy(), start), signups["t"],
                                     "order", addr=signups["addr"]))
        facts.append(crm.change_rows(signups["person"], "plan", "trial", signups["t"], "order", addr=signups["addr"]))
        facts.append(crm.change_rows(upgrades["person"], "plan", "paid", upgrades["t"], "order", addr=up_addr))
        facts.append(crm.change_rows(upgrades["person"], "lifecycle_stage", "customer", upgrades["t"], "order", addr=up_addr))
    if model == "b2c":
        facts.append(_abandoned_checkouts(ev, start))
        if config.behaviour.loyalty_share > 0:
            known = np.flatnonzero(~np.isnan(reg) & pop.has_account)
            facts.append(crm.change_rows(known, "loyalty_member", "true", reg[known], "form"))
    return facts, more, np.where(pop.has_account, login_from, np.nan)


def _pipeline_before(reg_before: np.ndarray, reg: np.ndarray, strength: np.ndarray, demo: np.ndarray,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Intent strength and demo request of leads created before the window.

    Their episodes lie before the simulated history, so each draws the strength and demo flag of a
    random lead created inside the window: the pipeline already in flight converts like the one
    that follows it, and deals close at a level rate across the window."""
    pre = np.flatnonzero(~np.isnan(reg_before))
    inside = np.flatnonzero(~np.isnan(reg) & np.isnan(reg_before))
    strength, demo = strength.copy(), demo.copy()
    if len(pre) == 0:
        return strength, demo
    if len(inside):
        pick = inside[rng.integers(0, len(inside), len(pre))]
        strength[pre], demo[pre] = strength[pick], demo[pick]
    else:
        strength[pre], demo[pre] = rng.beta(2.0, 2.0, len(pre)), False
    return strength, demo


def _signups_before(signups: pd.DataFrame, reg_before: np.ndarray, reg: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Add the trials of people known before the window: as many of them signed up, at their
    registration, as the share of people who became known in the window and signed up in it —
    so paying customers and trials in flight are there at the start, as in a steady state."""
    pre = np.flatnonzero(~np.isnan(reg_before))
    new = ~np.isnan(reg) & np.isnan(reg_before)
    share = np.isin(np.flatnonzero(new), signups["person"].to_numpy()).mean() if new.any() else 0.0
    took = pre[rng.random(len(pre)) < share]
    before = pd.DataFrame({"person": took, "t": reg_before[took] + 60.0, "addr": np.int8(ident.PRIMARY)})
    both = pd.concat([before, signups[~signups["person"].isin(took)]], ignore_index=True)
    return both.sort_values(["person", "t"], kind="mergesort", ignore_index=True)


def _abandoned_checkouts(ev: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """Checkouts started (email given) but not completed in the session, as the shop platform's
    integration reports them to the CRM (e.g. Shopify → HubSpot) with the order sync, an hour on."""
    in_session = ev["session"].to_numpy() >= 0
    s = ev[in_session & ev["event_type"].isin(("checkout_started", "purchase")).to_numpy()]
    bought = s.loc[(s["event_type"] == "purchase").to_numpy(), "session"].unique()
    co = s[(s["event_type"] == "checkout_started").to_numpy() & ~s["session"].isin(bought).to_numpy()]
    return crm.change_rows(co["person"], "abandoned_checkout_date", crm.iso(co["t"].to_numpy(), start), co["t"] + 3600, "order",
                           addr=co["addr"])


def _event_facts(config, pop, ev, more, eng, contacts, model) -> list[pd.DataFrame]:
    """Purchases (truth per person, CRM per contact) and the last e-mail click."""
    start = config.start_ts
    buys = ev[(ev["event_type"] == "purchase").to_numpy() & ((ev["ident"] != "store") | ev["loyalty"]).to_numpy()]
    out = _purchase_truth(buys, start, model)
    out += crm.purchase_facts(buys[["person", "t", "value", "addr"]].reset_index(drop=True), contacts, start, model)
    clicks = eng.events[eng.events["event_type"] == "email_click"]
    out.append(crm.change_rows(clicks["person"], "last_email_click_date", crm.iso(clicks["t"].to_numpy(), start), clicks["t"],
                               "form", addr=clicks["addr"]))
    return out


def _purchase_truth(buys: pd.DataFrame, start: pd.Timestamp, model: str) -> list[pd.DataFrame]:
    """The person's true order history: last purchase date, running count and spend, 'customer'."""
    buys = buys.sort_values(["person", "t"], kind="mergesort")
    p, t = buys["person"].to_numpy(), buys["t"].to_numpy()
    count = buys.groupby("person").cumcount().to_numpy() + 1
    spend = buys.groupby("person")["value"].cumsum().fillna(0).round(2).to_numpy()
    out = [crm.change_rows(p, "last_purchase_date", crm.iso(t, start), t, "order", crm=False),
           crm.change_rows(p, "orders_count", count.astype(str), t, "order", crm=False),
           crm.change_rows(p, "total_spend", np.char.mod("%.2f", spend.astype(float)).astype(object), t, "order", crm=False)]
    if model == "b2c":
        first = count == 1
        out.append(crm.change_rows(p[first], "lifecycle_stage", "customer", t[first], "order", crm=False))
    return out


def _registration_truth(config, pop: Population, reg, changed_at, model) -> list[pd.DataFrame]:
    """The true record of a person from the moment they are known: address, stage, country or company."""
    known = np.flatnonzero(~np.isnan(reg))
    t = reg[known]
    slot = np.where(changed_at[known] <= t, ident.CHANGED, ident.PRIMARY)
    out = [crm.change_rows(known, "email", pop.emails[slot, known], t, "form", crm=False)]
    if model == "b2c":
        out.append(crm.change_rows(known, "lifecycle_stage", "subscriber", t, "form", crm=False))
        out.append(crm.change_rows(known, "country", pop.people["country"].to_numpy(dtype=object)[known], t, "form", crm=False))
        return out
    if config.preset == "plg-saas":
        out.append(crm.change_rows(known, "lifecycle_stage", "lead", t, "form", crm=False))
    acc = pop.accounts
    pos = pop.account_pos[known]
    for col, field in (("industry", "industry"), ("employees", "employees"), ("employee_band", "company_size"),
                       ("region", "region"), ("name", "company")):
        out.append(crm.change_rows(known, field, acc[col].astype(str).to_numpy(dtype=object)[pos], t, "enrich", crm=False))
    return out


def _landing_sessions(config, pop: Population, sessions: Sessions, eng: mail.Engagement, rng: np.random.Generator):
    """Sessions opened by e-mail clicks: the click joins the session, then the landing page views."""
    k = len(eng.landing_person)
    first = len(sessions.person)
    idx = first + np.arange(k)
    web = CHANNELS.index("web")
    grown = Sessions(person=np.concatenate([sessions.person, eng.landing_person]),
                     t=np.concatenate([sessions.t, eng.landing_t]),
                     strength=np.concatenate([sessions.strength, np.where(eng.landing_in_market, 0.5, 0.0)]),
                     device=np.concatenate([sessions.device, eng.landing_device]),
                     channel=pd.Categorical.from_codes(np.concatenate([sessions.channel.codes, np.full(k, web)]), categories=CHANNELS))
    clicks = eng.events[eng.events["event_type"] == "email_click"].drop(columns="device")
    clicks = clicks.assign(session=idx.astype(np.int32), ident="click")
    n_pv = 1 + rng.poisson(mail.LANDING_EXTRA_PAGES, k)
    landing, _, _ = page_views(config.preset, eng.landing_person, eng.landing_t, "web", eng.landing_in_market, n_pv, idx, rng)
    landing = landing[landing["t"].to_numpy() < config.days * DAY].assign(ident="session", addr=np.int8(-1))
    return grown, clicks, landing


# ------------------------------------------------------------------ finalising one unit

def _finalise_events(config: WorldConfig, pop: Population, ev: pd.DataFrame, id_strings) -> pd.DataFrame:
    """Sort per person in time, convert times, build identifier columns, number the events from 1."""
    horizon = config.days * DAY
    t_all = ev["t"].to_numpy()
    rows = np.flatnonzero(t_all < horizon)
    # np.lexsort on raw arrays: pandas' multi-key sort with a categorical key is ~20x slower.
    order = np.lexsort((ev["event_type"].cat.codes.to_numpy()[rows], t_all[rows], ev["person"].to_numpy()[rows]))
    idx = rows[order]
    cols = {name: ev[name].array.take(idx) if isinstance(ev[name].dtype, pd.CategoricalDtype) else ev[name].to_numpy()[idx]
            for name in ("person", "t", "channel", "event_type", "page", "value", "session", "anon_code", "user_code",
                         "email_code", "crm_identify_code", "delay", "crm_delay")}
    start = config.start_ts
    user_ids, emails = id_strings
    session = cols["session"]
    t = cols["t"]
    out = pd.DataFrame({
        "event_id": np.arange(1, len(session) + 1, dtype=np.int64),
        "person_id": pop.people["person_id"].to_numpy()[cols["person"]],
        "ts": to_ts(start, t),
        # Categoricals over fixed vocabularies: compact, fast to filter, dictionary-encoded in Parquet.
        "channel": cols["channel"],
        "event_type": cols["event_type"],
        "page": cols["page"],
        "value": cols["value"].astype(float),
        "anonymous_id": as_categorical(cols["anon_code"], pop.device_ids),
        "user_id": as_categorical(cols["user_code"], user_ids),
        "email": as_categorical(cols["email_code"], emails),
        "received_at": to_ts(start, t + cols["delay"]),
        "crm_received_at": to_ts(start, t + cols["crm_delay"]),
        "session_id": pd.array(np.where(session >= 0, session.astype(np.int64) + 1, 0), dtype="Int64"),
        # the e-mail the CRM's tracking script identified a logged-in visitor with (issue 19)
        "crm_identify_email": as_categorical(cols["crm_identify_code"], emails),
    })
    out.loc[session < 0, "session_id"] = pd.NA
    return out


def _finalise_people(config: WorldConfig, pop: Population, reg: np.ndarray, user_ids: np.ndarray) -> pd.DataFrame:
    people = pop.people.copy()
    registered = ~np.isnan(reg)
    horizon = config.days * DAY
    a = pop.arrivals
    left = a.leaves < horizon
    people["user_id"] = np.where(registered & pop.has_account, user_ids, None)
    people["registered_at"] = to_ts(config.start_ts, np.where(registered, reg, np.nan))
    people["second_email"] = pop.second_email
    people["arrived_at"] = to_ts(config.start_ts, a.arrived)
    people["left_at"] = to_ts(config.start_ts, np.where(left, a.leaves, np.nan))
    people["left_reason"] = np.where(left, np.where(a.job_change, "job_change", "lapsed"), None).astype(object)
    return people


def _finalise_changes(config: WorldConfig, pop: Population, ch: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "contact_id": ch["contact_id"].to_numpy(dtype=np.int64),
        "person_id": pop.people["person_id"].to_numpy()[ch["person"].to_numpy()],
        "field": ch["field"].to_numpy(dtype=object),
        "value": ch["value"].to_numpy(dtype=object),
        "effective_at": to_ts(config.start_ts, ch["eff"].to_numpy()),
        "recorded_at": to_ts(config.start_ts, ch["rec"].to_numpy()),
        "source": ch["source"].to_numpy(dtype=object),
    })


def _finalise_traits(config: WorldConfig, pop: Population, facts: pd.DataFrame) -> pd.DataFrame:
    """The true value of every CRM-worthy field and when it became true (no lag, no errors)."""
    horizon = config.days * DAY
    f = facts[facts["truth"].to_numpy(dtype=bool) & (facts["eff"].to_numpy() < horizon)]
    f = f.sort_values(["person", "eff", "field"], kind="mergesort")
    return pd.DataFrame({
        "person_id": pop.people["person_id"].to_numpy()[f["person"].to_numpy()],
        "field": f["field"].to_numpy(dtype=object),
        "value": f["value"].to_numpy(dtype=object),
        "effective_at": to_ts(config.start_ts, f["eff"].to_numpy()),
    })


def _finalise_intent(config: WorldConfig, ep, ev: pd.DataFrame, pop: Population) -> pd.DataFrame:
    buys = ev[(ev["event_type"] == "purchase")][["person", "t"]]
    it = intent_table(config, ep, buys)
    horizon = config.days * DAY
    it = it[(it["end"] > -30 * DAY) & (it["start"] < horizon)]
    return pd.DataFrame({
        "person_id": pop.people["person_id"].to_numpy()[it["person"].to_numpy()],
        "start": to_ts(config.start_ts, it["start"].to_numpy()),
        "end": to_ts(config.start_ts, it["end"].to_numpy()),
        "strength": it["strength"].round(3).to_numpy(),
        "state": it["state"].to_numpy(dtype=object),
    })


# ------------------------------------------------------------------ joining units

@dataclass
class Offsets:
    """Running id offsets while units are joined in order."""

    events: int = 0
    sessions: int = 0
    contacts: int = 0

    def shift(self, part: UnitTables) -> dict[str, pd.DataFrame]:
        """The unit's tables with world-wide event, session and contact ids; advances the offsets."""
        t = dict(part.tables)
        ev = t["events"]
        if self.events or self.sessions:
            ev = ev.assign(event_id=ev["event_id"].to_numpy() + self.events, session_id=ev["session_id"] + self.sessions)
        ch = t["crm_changes"]
        if self.contacts:
            ch = ch.assign(contact_id=ch["contact_id"].to_numpy() + self.contacts)
        self.events += len(ev)
        self.sessions += part.sessions
        self.contacts += int(part.tables["crm_changes"]["contact_id"].max()) if len(ch) else 0
        t["events"], t["crm_changes"] = ev, ch
        return t


def join_units(config: WorldConfig, parts: list[UnitTables]) -> World:
    """One world from its units, in unit order."""
    offsets = Offsets()
    shifted = [offsets.shift(p) for p in parts]
    tables = {name: concat_tables([s[name] for s in shifted]) for name in TABLES}
    return World(config=config, **tables)


def concat_tables(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate unit frames; categorical columns keep a category dtype (categories in order of first use)."""
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    out = pd.concat(frames, ignore_index=True)
    for col in frames[0].columns:
        if isinstance(frames[0][col].dtype, pd.CategoricalDtype) and not isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = union_categoricals([f[col] for f in frames])
    return out
