"""``generate(config) -> World``: one call from a frozen config to every table.

The order of draws is fixed and every draw comes from one ``numpy`` generator seeded by
``config.seed``, so the same config and seed give byte-identical tables.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic import crm, lifecycle
from synthetic.config import WorldConfig, validate
from synthetic.journeys import (DAY, IDENTS, cat, draw_episodes, to_ts, draw_sessions, expand_sessions, intent_table,
                                lapse_times, _frame)
from synthetic.population import build_population
from synthetic.presets import PRESETS
from synthetic.tracking import as_categorical, identifier_strings, identifiers_table, observe
from synthetic.world import World

EVENT_COLUMNS = ("event_id", "person_id", "ts", "channel", "event_type", "page", "value",
                 "anonymous_id", "user_id", "email", "received_at", "session_id")


def generate(config: WorldConfig) -> World:
    """Generate the world described by ``config`` (validated first)."""
    validate(config)
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 20261129]))
    pop = build_population(config, rng)
    model = PRESETS[config.preset].model
    lapse = lapse_times(config, rng)
    ep = draw_episodes(config, pop, rng, lapse)
    sessions = draw_sessions(config, pop, ep, rng, lapse)
    ev = expand_sessions(config, sessions, rng)
    from_store = np.asarray(sessions.channel[ev["session"].to_numpy()] == "store") & (ev["channel"] != "ads").to_numpy()
    ev["ident"] = pd.Categorical.from_codes(np.where(from_store, IDENTS.index("store"), IDENTS.index("session")), categories=IDENTS)
    loyalty_session = rng.random(len(sessions.person)) < config.behaviour.loyalty_share
    ev["loyalty"] = (ev["ident"] == "store") & loyalty_session[ev["session"].to_numpy()] & pop.has_account[ev["person"].to_numpy()]
    reg_before, history = lifecycle.existing_base(config, pop, rng)
    extra = [history, lifecycle.webinars(config, ep, rng).assign(ident="email")]
    ev = pd.concat([ev] + [e.assign(loyalty=False) for e in extra if len(e)], ignore_index=True)
    reg = lifecycle.registration(reg_before, ev, config.people)
    facts, more = _milestones(config, pop, ep, ev, reg, lapse, rng, model)
    ev = pd.concat([ev] + [m.assign(loyalty=False) for m in more if len(m)], ignore_index=True)
    ev["device"] = np.where(ev["session"].to_numpy() >= 0, sessions.device[np.maximum(ev["session"].to_numpy(), 0)], -1)
    ev["ident"] = cat(ev["ident"], IDENTS, len(ev))
    product = (ev["ident"] == "product").to_numpy()
    ev.loc[product, "device"] = pop.dev_offset[ev.loc[product, "person"].to_numpy()]
    logged = (sessions.t >= np.nan_to_num(reg[sessions.person], nan=np.inf)) & pop.has_account[sessions.person] & (
        np.asarray(sessions.channel == "app") | (rng.random(len(sessions.person)) < config.knobs.identified_share))
    ev = observe(config, pop, ev, reg, logged, rng)
    id_strings = identifier_strings(config, pop)  # built once: ~1 s of string work at 1M people
    identifiers = identifiers_table(config, pop, ev, id_strings)
    intent = _finalise_intent(config, ep, ev)
    holder = [ev]
    del ev, sessions  # the working frame is freed column by column while events are finalised
    events = _finalise_events(config, pop, holder, id_strings)
    people = _finalise_people(config, pop, reg, id_strings[0])
    crm_changes = crm.record(config, facts, reg, pop, rng)
    traits = _finalise_traits(config, facts)
    return World(config=config, people=people, accounts=pop.accounts, events=events,
                 identifiers=identifiers, crm_changes=crm_changes, intent=intent, traits=traits)


def _milestones(config, pop, ep, ev, reg, lapse, rng, model) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """True CRM-worthy facts (person, field, value, eff, mech) and the events milestones cause."""
    start = config.start_ts
    n = config.people
    known = np.flatnonzero(~np.isnan(reg))
    facts = [crm.change_rows(known, "email", pop.people["email"].to_numpy(dtype=object)[known], reg[known], "form")]
    more: list[pd.DataFrame] = []
    if config.preset == "b2b-saas":
        demo_first = ev[ev["event_type"] == "demo_requested"].groupby("person")["t"].min()
        demo = np.zeros(n, dtype=bool)
        demo[demo_first.index.to_numpy()] = True
        ms, sales = lifecycle.b2b_funnel(config, reg, lifecycle.strength_at(ep, n, reg), demo, rng)
        more.append(sales.assign(ident="sales"))
        stage = ms[ms["stage"] != "lost"]
        mech = np.where(stage["stage"].isin(["lead", "mql"]), "form", "rep")
        for m in ("form", "rep"):
            sel = stage[mech == m]
            facts.append(crm.change_rows(sel["person"], "lifecycle_stage", sel["stage"], sel["t"], m))
        opp = ms[ms["stage"] == "opportunity"]
        facts.append(crm.change_rows(opp["person"], "deal_stage", "qualification", opp["t"], "rep"))
        closed = ms[ms["stage"].isin(["customer", "lost"])]
        facts.append(crm.change_rows(closed["person"], "deal_stage", np.where(closed["stage"] == "customer", "closedwon", "closedlost"), closed["t"], "rep"))
        facts.append(crm.change_rows(demo_first.index, "requested_demo", "true", demo_first.to_numpy(), "form"))
    if model == "b2b":
        acc = pop.accounts
        pos = pop.account_pos[known]
        for col, field in (("industry", "industry"), ("employees", "employees"), ("employee_band", "company_size"),
                           ("region", "region"), ("name", "company")):
            facts.append(crm.change_rows(known, field, acc[col].astype(str).to_numpy(dtype=object)[pos], reg[known], "enrich"))
        web = ev[ev["event_type"] == "webinar_attended"]
        facts.append(crm.change_rows(web["person"], "attended_webinar", "true", web["t"], "import"))
    if config.preset == "plg-saas":
        signups = ev[ev["event_type"] == "signup"][["person", "t"]]
        usage, upgrades = lifecycle.plg_usage(config, signups, lapse, rng)
        more.append(usage)
        more.append(_frame(upgrades["person"], upgrades["t"], "web", "purchase",
                           np.full(len(upgrades), -1), value=upgrades["value"].to_numpy()).assign(ident="product"))
        facts.append(crm.change_rows(known, "lifecycle_stage", "lead", reg[known], "form"))
        facts.append(crm.change_rows(signups["person"], "trial_started_date", crm.iso(signups["t"].to_numpy(), start), signups["t"], "order"))
        facts.append(crm.change_rows(signups["person"], "plan", "trial", signups["t"], "order"))
        facts.append(crm.change_rows(upgrades["person"], "plan", "paid", upgrades["t"], "order"))
        facts.append(crm.change_rows(upgrades["person"], "lifecycle_stage", "customer", upgrades["t"], "order"))
    if model == "b2c":
        facts.append(_abandoned_checkouts(ev, start))
        facts.append(crm.change_rows(known, "lifecycle_stage", "subscriber", reg[known], "form"))
        facts.append(crm.change_rows(known, "country", pop.people["country"].to_numpy(dtype=object)[known], reg[known], "form"))
        if config.behaviour.loyalty_share > 0:
            loyal = known[pop.has_account[known]]
            facts.append(crm.change_rows(loyal, "loyalty_member", "true", reg[loyal], "form"))
    buys = pd.concat([ev[ev["event_type"] == "purchase"]] + [m[m["event_type"] == "purchase"] for m in more], ignore_index=True)
    buys = buys[((buys["ident"] != "store") | buys["loyalty"]).to_numpy()]
    facts += _purchase_facts(buys, start, model)
    email_ev = lifecycle.email_engagement(config, reg, lapse, rng)
    more.append(email_ev)
    clicks = email_ev[email_ev["event_type"] == "email_click"]
    facts.append(crm.change_rows(clicks["person"], "last_email_click_date", crm.iso(clicks["t"].to_numpy(), start), clicks["t"], "form"))
    return pd.concat(facts, ignore_index=True), more


def _abandoned_checkouts(ev: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """Checkouts started (email given) but not completed in the session, as the shop platform's
    integration reports them to the CRM (e.g. Shopify → HubSpot) with the order sync, an hour on."""
    in_session = ev["session"].to_numpy() >= 0
    s = ev[in_session & ev["event_type"].isin(("checkout_started", "purchase")).to_numpy()]
    bought = s.loc[(s["event_type"] == "purchase").to_numpy(), "session"].unique()
    co = s[(s["event_type"] == "checkout_started").to_numpy() & ~s["session"].isin(bought).to_numpy()]
    return crm.change_rows(co["person"], "abandoned_checkout_date", crm.iso(co["t"].to_numpy(), start), co["t"] + 3600, "order")


def _purchase_facts(buys: pd.DataFrame, start: pd.Timestamp, model: str) -> list[pd.DataFrame]:
    """Order sync: last purchase date, running order count and spend, and 'customer' on the first."""
    buys = buys.sort_values(["person", "t"], kind="mergesort")
    p, t, v = buys["person"].to_numpy(), buys["t"].to_numpy(), buys["value"].fillna(0).to_numpy()
    count = buys.groupby("person").cumcount().to_numpy() + 1
    spend = buys.groupby("person")["value"].cumsum().fillna(0).round(2).to_numpy()
    out = [crm.change_rows(p, "last_purchase_date", crm.iso(t, start), t, "order"),
           crm.change_rows(p, "orders_count", count.astype(str), t, "order"),
           crm.change_rows(p, "total_spend", np.char.mod("%.2f", spend.astype(float)).astype(object), t, "order")]
    if model == "b2c":
        first = count == 1
        out.append(crm.change_rows(p[first], "lifecycle_stage", "customer", t[first], "order"))
    return out


def _finalise_events(config: WorldConfig, pop, holder: list[pd.DataFrame],
                     id_strings: tuple[np.ndarray, np.ndarray]) -> pd.DataFrame:
    """Sort per person in time, convert times, build identifier columns, number the events.

    Takes the working frame out of ``holder`` and reads it one column at a time, so a 1M-person
    world never holds the working frame, a sorted copy and the output at once.
    """
    ev = holder.pop()
    horizon = config.days * DAY
    t_all = ev["t"].to_numpy()
    rows = np.flatnonzero(t_all < horizon)
    # np.lexsort on raw arrays: pandas' multi-key sort with a categorical key is ~20x slower.
    order = np.lexsort((ev["event_type"].cat.codes.to_numpy()[rows], t_all[rows], ev["person"].to_numpy()[rows]))
    idx = rows[order]
    del rows, order, t_all
    cols = {name: ev[name].array.take(idx) if isinstance(ev[name].dtype, pd.CategoricalDtype) else ev[name].to_numpy()[idx]
            for name in ("person", "t", "channel", "event_type", "page", "value", "session", "anon_code", "user_code",
                         "email_code", "delay")}
    del ev, idx
    start = config.start_ts
    user_ids, emails = id_strings
    session = cols["session"]
    out = pd.DataFrame({
        "event_id": np.arange(1, len(session) + 1, dtype=np.int64),
        "person_id": cols.pop("person").astype(np.int64) + 1,
        "ts": to_ts(start, cols["t"]),
        # Categoricals over fixed vocabularies: compact, fast to filter, dictionary-encoded in Parquet.
        "channel": cols.pop("channel"),
        "event_type": cols.pop("event_type"),
        "page": cols.pop("page"),
        "value": cols.pop("value").astype(float),
        "anonymous_id": as_categorical(cols.pop("anon_code"), pop.device_ids),
        "user_id": as_categorical(cols.pop("user_code"), user_ids),
        "email": as_categorical(cols.pop("email_code"), emails),
        "received_at": to_ts(start, cols.pop("t") + cols.pop("delay")),
        "session_id": pd.array(np.where(session >= 0, session + 1, 0), dtype="Int64"),
    })
    out.loc[session < 0, "session_id"] = pd.NA
    return out


def _finalise_people(config: WorldConfig, pop, reg: np.ndarray, user_ids: np.ndarray) -> pd.DataFrame:
    people = pop.people.copy()
    registered = ~np.isnan(reg)
    people["user_id"] = np.where(registered & pop.has_account, user_ids, None)
    people["registered_at"] = to_ts(config.start_ts, np.where(registered, reg, np.nan))
    people["second_email"] = pop.second_email
    return people


def _finalise_traits(config: WorldConfig, facts: pd.DataFrame) -> pd.DataFrame:
    """The true value of every CRM-worthy field and when it became true (no lag, no errors)."""
    horizon = config.days * DAY
    f = facts[facts["eff"].to_numpy() < horizon].sort_values(["person", "eff", "field"], kind="mergesort")
    return pd.DataFrame({
        "person_id": f["person"].to_numpy(dtype=np.int64) + 1,
        "field": f["field"].to_numpy(dtype=object),
        "value": f["value"].to_numpy(dtype=object),
        "effective_at": to_ts(config.start_ts, f["eff"].to_numpy()),
    })


def _finalise_intent(config: WorldConfig, ep, ev: pd.DataFrame) -> pd.DataFrame:
    buys = ev[(ev["event_type"] == "purchase")][["person", "t"]]
    it = intent_table(config, ep, buys)
    horizon = config.days * DAY
    it = it[(it["end"] > -30 * DAY) & (it["start"] < horizon)]
    return pd.DataFrame({
        "person_id": it["person"].to_numpy(dtype=np.int64) + 1,
        "start": to_ts(config.start_ts, it["start"].to_numpy()),
        "end": to_ts(config.start_ts, it["end"].to_numpy()),
        "strength": it["strength"].round(3).to_numpy(),
        "state": it["state"].to_numpy(dtype=object),
    })
