"""When each person becomes known, and with which e-mail address each identifying event arrives.

A person becomes known at their first *identifying* event — a form, a demo request, a sign-up, a
checkout, a webinar — or was known before the window opened. Who was known before is not a
fixed share: the rates at which active people identify themselves (in market and outside) are
measured inside the window on this unit's own events and applied to each person's time as a
customer before it, so the known share at the start is the one the behaviour itself sustains
and the flow of new contacts stays level over the window (see :mod:`synthetic.arrivals`).

E-mail addresses follow how people type them: most use their primary address; people with a
second address use it in about half of their sessions with a form or checkout; after a person's
address changes (:mod:`synthetic.decay`) they use the new one. A CRM matches contacts on e-mail
only, so every address that reaches it becomes its own contact (:mod:`synthetic.crm`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthetic.config import WorldConfig
from synthetic.journeys import DAY, Episodes
from synthetic.population import Population

IDENTIFYING: tuple[str, ...] = ("checkout_started", "purchase", "form_submit", "demo_requested", "signup", "webinar_attended")
#: Event types on which a person types (or confirms) an e-mail address.
EMAIL_EVENTS: tuple[str, ...] = IDENTIFYING
#: Where a person with a second address may type it instead of the primary one.
SECOND_EMAIL_EVENTS: tuple[str, ...] = ("form_submit", "webinar_attended", "checkout_started", "purchase", "demo_requested", "signup")
PRIMARY, SECOND, CHANGED, ALIAS = 0, 1, 2, 3
#: Prior of the identification rate (per active day) in units too small to measure it: 2 pseudo
#: identifications at one a year (assumed; only matters for worlds of a few hundred people).
PRIOR_EVENTS, PRIOR_RATE = 2.0, 1 / 365.0


def identifying_mask(ev: pd.DataFrame) -> np.ndarray:
    """Events that make a person known: identifying types off the shop floor, or a loyalty scan."""
    return ((ev["event_type"].isin(IDENTIFYING).to_numpy() & (ev["channel"] != "store").to_numpy())
            | ev["loyalty"].to_numpy(dtype=bool))


def first_identified(ev: pd.DataFrame, n: int) -> np.ndarray:
    """Per person, the time of their first identifying event in the window (NaN if none)."""
    ident = ev[identifying_mask(ev) & (ev["t"].to_numpy() >= 0)]
    out = np.full(n, np.nan)
    if len(ident):
        first = ident.groupby("person")["t"].min()
        out[first.index.to_numpy()] = first.to_numpy()
    return out


@dataclass(frozen=True)
class Rates:
    """Per person (by stratum): first identifications per day while in market (per strength-weighted
    day) and outside, the share of days in market, and identifying visits per day."""

    in_market: np.ndarray
    outside: np.ndarray
    share_in_market: np.ndarray   # share of active days spent in market (measured in the window)
    strength_days: np.ndarray     # strength-weighted in-market days per active day
    repeat: np.ndarray            # visits with an identifying event (a form, a checkout) per active day


def _in_market_days(ep: Episodes, n: int, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per person, in-market days inside [lo, hi): plain and weighted by intent strength."""
    p = ep.person
    s = np.clip(ep.start, lo[p], hi[p])
    e = np.clip(ep.end, lo[p], hi[p])
    dur = np.clip(e - s, 0, None) / DAY
    return np.bincount(p, dur, minlength=n), np.bincount(p, dur * ep.strength, minlength=n)


def identification_rates(config: WorldConfig, pop: Population, ep: Episodes, ev: pd.DataFrame, first: np.ndarray) -> Rates:
    """How fast active people identify themselves, in market and outside, measured in the window.

    People identify mostly while shopping, so the rate has two parts; a single average rate would
    leave too many in-market people unknown at the start (their episode began before the window)
    and make new contacts arrive in a burst in the first weeks. People with a login (and, in
    stores, a loyalty card) identify far more often than guests, so the rates are measured
    separately for the two groups."""
    from synthetic.email import intent_at  # late: email imports this module

    horizon = config.days * DAY
    n = pop.size
    lo = np.clip(pop.arrivals.arrived, 0, horizon)
    hi = np.clip(pop.arrivals.leaves, lo, horizon)
    stop = np.where(np.isnan(first), hi, np.clip(first, lo, hi))
    plain, weighted = _in_market_days(ep, n, lo, stop)
    outside_days = np.clip((stop - lo) / DAY - plain, 0, None)
    full_plain, full_weighted = _in_market_days(ep, n, lo, hi)
    active_days = (hi - lo) / DAY
    in_mkt = np.zeros(n, dtype=bool)
    who = np.flatnonzero(~np.isnan(first))
    in_mkt[who] = intent_at(ep, 0.0, who, first[who])[0]
    found = ~np.isnan(first)
    idents = ev[identifying_mask(ev)]
    in_session = idents["session"].to_numpy() >= 0
    sess = pd.DataFrame({"p": idents["person"].to_numpy()[in_session], "s": idents["session"].to_numpy()[in_session]}).drop_duplicates()
    visits = (np.bincount(sess["p"].to_numpy(), minlength=n)
              + np.bincount(idents["person"].to_numpy()[~in_session], minlength=n)).astype(float)
    out = {k: np.zeros(n) for k in ("in_market", "outside", "share_in_market", "strength_days", "repeat")}
    for group in (pop.has_account, ~pop.has_account):
        if not group.any():
            continue
        days = max(float(active_days[group].sum()), 1e-9)
        prior = PRIOR_EVENTS / PRIOR_RATE
        out["in_market"][group] = (float((found & in_mkt)[group].sum()) + PRIOR_EVENTS) / (float(weighted[group].sum()) + prior)
        out["outside"][group] = (float((found & ~in_mkt)[group].sum()) + PRIOR_EVENTS) / (float(outside_days[group].sum()) + prior)
        out["share_in_market"][group] = min(float(full_plain[group].sum()) / days, 1.0)
        out["strength_days"][group] = float(full_weighted[group].sum()) / days
        out["repeat"][group] = float(visits[group].sum()) / days
    return Rates(**out)


def known_before(config: WorldConfig, pop: Population, ep: Episodes, rates: Rates, rng: np.random.Generator) -> np.ndarray:
    """Registration times before the window (negative seconds) for people who were already known.

    The simulated episodes reach back ``2 × episode_days`` before the window: over that recent
    past a person's chance of having identified follows their own in-market days; further back
    it follows the average mix of in-market and other days measured in the window. A known
    person's registration falls in the old past or, if it happened recently, inside their latest
    episode before the window (else anywhere in the recent past). NaN for everyone else."""
    n = pop.size
    arrived = pop.arrivals.arrived
    lead_in = 2 * config.behaviour.episode_days * DAY
    recent_lo = np.minimum(np.maximum(arrived, -lead_in), 0.0)
    zero = np.zeros(n)
    plain, weighted = _in_market_days(ep, n, recent_lo, zero)
    recent_days = -recent_lo / DAY
    h_recent = rates.in_market * weighted + rates.outside * np.clip(recent_days - plain, 0, None)
    old_days = np.clip(-lead_in - arrived, 0, None) / DAY
    per_old_day = rates.in_market * rates.strength_days + rates.outside * (1 - rates.share_in_market)
    h_old = per_old_day * old_days
    p_known = -np.expm1(-(h_old + h_recent))
    known = (arrived < 0) & (rng.random(n) < p_known)
    p_old = np.divide(-np.expm1(-h_old), p_known, out=np.zeros(n), where=p_known > 0)
    old = rng.random(n) < p_old
    # old past: exponential from arrival, truncated to the old period
    u = rng.random(n)
    f_old = -np.expm1(-h_old)
    since = np.divide(-np.log1p(-u * f_old), h_old / np.maximum(old_days, 1e-12), out=np.zeros(n), where=h_old > 0)
    t_old = arrived + np.minimum(since, old_days) * DAY
    # recent past: inside the latest episode that began before the window, else anywhere recent
    t_recent = recent_lo + rng.random(n) * (-recent_lo)
    pre = (ep.start < 0) & (ep.end > recent_lo[ep.person])
    if pre.any():
        last = pd.DataFrame({"p": ep.person[pre], "s": np.maximum(ep.start[pre], recent_lo[ep.person[pre]]),
                             "e": np.minimum(ep.end[pre], 0.0)}).drop_duplicates("p", keep="last")
        p = last["p"].to_numpy()
        in_ep = last["s"].to_numpy() + rng.random(len(p)) * (last["e"] - last["s"]).to_numpy()
        t_recent[p] = np.where(weighted[p] > 0, in_ep, t_recent[p])
    return np.where(known, np.where(old, t_old, t_recent), np.nan)


def registration(reg_before: np.ndarray, first: np.ndarray) -> np.ndarray:
    """A person becomes known at their first identifying event, or was known already."""
    return np.fmin(reg_before, first)


def event_addresses(config: WorldConfig, pop: Population, ev: pd.DataFrame, changed_at: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
    """Which of the person's addresses each event carries (PRIMARY / SECOND / CHANGED), -1 for none.

    Events that carry an e-mail: the identifying types, e-mail engagement and sales activity.
    The choice of the second address is made per session (a checkout and its purchase use the
    same address), per event outside sessions."""
    n = len(ev)
    person = ev["person"].to_numpy()
    t = ev["t"].to_numpy()
    current = np.where(t >= changed_at[person], CHANGED, PRIMARY)
    session = ev["session"].to_numpy()
    draw = rng.random(n)
    if n:
        per_session = rng.random(int(session.max()) + 2)
        draw = np.where(session >= 0, per_session[np.maximum(session, 0)], draw)
    has_second = pop.emails[SECOND][person] != None  # noqa: E711
    second = has_second & ev["event_type"].isin(SECOND_EMAIL_EVENTS).to_numpy() & (draw < 0.5)
    return np.where(second, SECOND, current).astype(np.int8)


def first_contacts(pop: Population, ev: pd.DataFrame, reg_before: np.ndarray, changed_at: np.ndarray, rates: Rates,
                   rng: np.random.Generator) -> pd.DataFrame:
    """Every address that reaches the CRM and when it first does: ``person, addr, t``.

    In the window an address arrives with the first identifying event that carries it. People
    known before the window arrive with their primary address at their registration; before the
    window they also brought their second address (half of their identifying visits use it) or
    their changed address (after the change) with the visits they made since, at the rate of such
    visits measured in the window — so duplicates have accumulated at the start as they keep
    accumulating inside it."""
    ident = ev[identifying_mask(ev) & (ev["addr"].to_numpy() >= 0) & (ev["t"].to_numpy() >= 0)]
    seen = ident.groupby(["person", "addr"], observed=True)["t"].min().reset_index()
    before = np.flatnonzero(~np.isnan(reg_before))
    rb = reg_before[before]
    frames = [pd.DataFrame({"person": before, "addr": np.int8(PRIMARY), "t": rb})]
    span = -rb / DAY
    has_second = pop.emails[SECOND][before] != None  # noqa: E711
    second = has_second & (rng.random(len(before)) < -np.expm1(-0.5 * rates.repeat[before] * span))
    frames.append(pd.DataFrame({"person": before[second], "addr": np.int8(SECOND),
                                "t": rb[second] + rng.random(int(second.sum())) * -rb[second]}))
    z = changed_at[before]
    since = np.where(z < 0, -z / DAY, 0.0)
    moved = (z < 0) & (rng.random(len(before)) < -np.expm1(-rates.repeat[before] * since))
    zm = z[moved]
    frames.append(pd.DataFrame({"person": before[moved], "addr": np.int8(CHANGED), "t": zm + rng.random(len(zm)) * -zm}))
    both = pd.concat(frames + [seen], ignore_index=True)
    both = both.sort_values(["person", "addr", "t"], kind="mergesort").drop_duplicates(["person", "addr"])
    return both.sort_values(["person", "t", "addr"], kind="mergesort", ignore_index=True)


@dataclass(frozen=True)
class Logins:
    """Per session: whether the person is logged in (the world), and whether each system's
    tracking identified that login — the CDP's tag by sending the user id, the CRM's tracking
    script by an identify call with the account's e-mail (HubSpot's ``_hsq.push(["identify",
    {email}])``, developers.hubspot.com/docs/api-reference/latest/account/settings/tracking-code/identify)."""

    logged: np.ndarray
    cdp: np.ndarray
    crm: np.ndarray


def session_logins(config: WorldConfig, pop: Population, person: np.ndarray, t: np.ndarray, app: np.ndarray,
                   reg: np.ndarray, login_from: np.ndarray, rng: np.random.Generator) -> Logins:
    """Which sessions are logged in, and which of those each system's tracking identifies.

    A person with a product login (``login_from``: a shop account from registration, a trial from
    sign-up, a sales-led customer from the won deal) logs in to ``login_share`` of web sessions and
    to every app session; a known prospect without one to ``prospect_login_share`` (a community or
    portal login). Both systems' identify calls use ONE draw per session: at the same share, the
    CDP and the CRM identify the same sessions, and a higher share for one is a superset."""
    b, k = config.behaviour, config.knobs
    n = len(person)
    u_login = rng.random(n)
    u_ident = rng.random(n)
    has_login = t >= np.nan_to_num(login_from[person], nan=np.inf)
    prospect = ~has_login & (t >= np.nan_to_num(reg[person], nan=np.inf)) & pop.has_account[person]
    logged = (has_login & (app | (u_login < b.login_share))) | (prospect & ~app & (u_login < b.prospect_login_share))
    return Logins(logged=logged, cdp=logged & (app | (u_ident < k.identified_share)),
                  crm=logged & ~app & (u_ident < k.crm_identified_share))
