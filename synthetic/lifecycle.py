"""Lifecycle milestones and the events that follow from them.

B2B funnel stages with their lags, product-led trials and usage, webinars, and the purchase
history of customers who were known before the window opened. Times are float seconds from the world's start.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic.config import WorldConfig
from synthetic.journeys import DAY, Episodes, _frame
from synthetic.presets import PRESETS

STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "customer")
#: Share of customers known before the window who had bought before it ([CDN]: most known
#: shoppers are buyers; assumed 80 %).
PAST_BUYER_SHARE = 0.8


def purchase_history(config: WorldConfig, reg_before: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """B2C: the last purchase before the window of customers who were known before it.

    [CDN] repeat gaps: most returning buyers last bought within a few months."""
    if PRESETS[config.preset].model != "b2c":
        return _frame([], [], [], "purchase", [])
    n = len(reg_before)
    known = ~np.isnan(reg_before)
    buyer = known & (rng.random(n) < PAST_BUYER_SHARE)
    last = np.maximum(-rng.exponential(75 * DAY, n) - 3600, np.nan_to_num(reg_before, nan=-np.inf))
    idx = np.flatnonzero(buyer)
    value = np.round(rng.lognormal(np.log(config.behaviour.order_value), 0.6, len(idx)), 2)
    hist = _frame(idx, last[idx], "web", "purchase", np.full(len(idx), -1), value=value)
    hist["ident"] = "email"
    return hist


def webinars(config: WorldConfig, ep: Episodes, leaves: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Webinar attendance during evaluation; webinars run Thursdays 16:00 UTC (before the person leaves)."""
    p = config.behaviour.p_webinar
    if p <= 0 or PRESETS[config.preset].model != "b2b":
        return _frame([], [], [], "webinar_attended", [])
    hit = rng.random(len(ep.person)) < p
    t = ep.start[hit] + rng.random(hit.sum()) * (ep.end - ep.start)[hit]
    start = config.start_ts
    thursday = (3 - start.dayofweek) % 7 * DAY + 16 * 3600 - (start.hour * 3600)
    slot = thursday + np.ceil((t - thursday) / (7 * DAY)) * 7 * DAY
    keep = (slot >= 0) & (slot < config.days * DAY) & (slot < leaves[ep.person[hit]])
    return _frame(ep.person[hit][keep], slot[keep], "webinar", "webinar_attended", np.full(keep.sum(), -1))


def b2b_funnel(config: WorldConfig, reg: np.ndarray, strength_at: np.ndarray, demo: np.ndarray,
               rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lead → MQL → SQL → opportunity → customer, each with its conversion rate and lag.

    Returns (milestones: person, stage, t, outcome) and the sales events they produce.
    Conversion rises with intent strength at lead time and with a demo request, averaging the
    preset's published rates ([FPS] in synthetic/presets.py).
    """
    b = config.behaviour
    horizon = config.days * DAY
    lead = np.flatnonzero(~np.isnan(reg))
    t_lead = reg[lead]
    boost = 0.4 + 1.2 * strength_at[lead]
    mql = rng.random(len(lead)) < np.clip(b.lead_to_mql * boost, 0, 1)
    t_mql = t_lead + rng.exponential(5 * DAY, len(lead))
    sql = mql & (rng.random(len(lead)) < np.clip(b.mql_to_sql * np.where(demo[lead], 1.6, 0.85), 0, 1))
    t_sql = t_mql + rng.exponential(10 * DAY, len(lead))
    opp = sql & (rng.random(len(lead)) < b.sql_to_opp)
    t_opp = t_sql + rng.exponential(14 * DAY, len(lead))
    won = opp & (rng.random(len(lead)) < b.opp_to_won)
    t_close = t_opp + rng.exponential(b.sales_cycle_days * DAY, len(lead))
    rows = [(lead, "lead", t_lead, np.ones(len(lead), bool)), (lead, "mql", t_mql, mql), (lead, "sql", t_sql, sql),
            (lead, "opportunity", t_opp, opp), (lead, "customer", t_close, won), (lead, "lost", t_close, opp & ~won)]
    ms = pd.concat([pd.DataFrame({"person": p[m], "stage": s, "t": t[m]}) for p, s, t, m in rows], ignore_index=True)
    ms = ms[ms["t"] < horizon]
    meet = ms[ms["stage"].isin(["sql", "opportunity"])]
    meetings = _frame(meet["person"], meet["t"] + 3600, "sales", "sales_meeting", np.full(len(meet), -1))
    deals = ms[ms["stage"] == "customer"]
    value = np.round(rng.lognormal(np.log(b.order_value), 0.8, len(deals)), 0)
    purchases = _frame(deals["person"], deals["t"], "sales", "purchase", np.full(len(deals), -1), value=value)
    return ms.reset_index(drop=True), pd.concat([meetings, purchases], ignore_index=True)


def plg_usage(config: WorldConfig, signups: pd.DataFrame, leaves: np.ndarray, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A 14-day trial after sign-up: daily logins and feature use that fade for most, then upgrade.

    Returns (usage events, upgrades as milestones person/t/value). Engaged trialists upgrade far
    more often, so the average lands on the preset's trial→paid rate ([OV]).
    """
    b = config.behaviour
    horizon = config.days * DAY
    if len(signups) == 0 or b.feature_events_per_day <= 0:
        return _frame([], [], [], "feature_used", []), pd.DataFrame({"person": [], "t": [], "value": []})
    person = signups["person"].to_numpy()
    t0 = signups["t"].to_numpy()
    engage = rng.beta(2.0, 2.5, len(person))
    upgrade = rng.random(len(person)) < np.clip(b.trial_to_paid * engage / 0.444, 0, 1)
    t_up = t0 + rng.uniform(5, 15, len(person)) * DAY
    upgrade &= t_up < np.minimum(horizon, leaves[person])
    days_total = np.where(upgrade, np.ceil((np.minimum(horizon, leaves[person]) - t0) / DAY), 14).clip(0, None).astype(np.int64)
    days_total = np.minimum(days_total, np.ceil((horizon - t0) / DAY).clip(0, None).astype(np.int64))
    # sign-ups before the window (customers already on the product) only use it from the start on
    first_day = np.minimum(np.ceil(np.clip(-t0, 0, None) / DAY).astype(np.int64), days_total)
    count = days_total - first_day
    row = np.repeat(np.arange(len(person)), count)
    day = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count) + first_day[row]
    paid_phase = upgrade[row] & (day >= (t_up[row] - t0[row]) / DAY)
    p_active = np.where(paid_phase, 0.55 * engage[row] + 0.2, engage[row] * np.exp(-day / 6.0))
    active = rng.random(len(row)) < p_active
    r, d = row[active], day[active]
    t_day = t0[r] + d * DAY + rng.uniform(0, 0.6, len(r)) * DAY
    n_feat = 1 + rng.poisson(b.feature_events_per_day * engage[r])
    fr = np.repeat(np.arange(len(r)), n_feat)
    t_feat = t_day[fr] + rng.uniform(60, 3600, len(fr))  # a working session after the login
    keep_l = t_day < horizon
    keep_f = t_feat < horizon
    logins = _frame(person[r][keep_l], t_day[keep_l], "app", "login", np.full(keep_l.sum(), -1))
    feats = _frame(person[r][fr][keep_f], t_feat[keep_f], "app", "feature_used", np.full(keep_f.sum(), -1))
    trial = _frame(person, t0 + 60, "app", "trial_started", np.full(len(person), -1))
    usage = pd.concat([trial[(trial["t"] >= 0) & (trial["t"] < horizon)], logins, feats], ignore_index=True)
    usage["ident"] = "product"
    up = pd.DataFrame({"person": person[upgrade], "t": t_up[upgrade],
                       "value": np.round(rng.lognormal(np.log(b.order_value), 0.5, upgrade.sum()), 0)})
    return usage, up


def strength_at(ep: Episodes, n: int, times: np.ndarray) -> np.ndarray:
    """Intent strength of each person at a given time (max over their episodes), 0 if none."""
    valid = ~np.isnan(times)
    df = pd.DataFrame({"person": ep.person, "start": ep.start, "end": ep.end, "s": ep.strength})
    q = pd.DataFrame({"person": np.flatnonzero(valid), "t": times[valid]})
    m = q.merge(df, on="person")
    m = m[(m["start"] <= m["t"] + 7 * DAY) & (m["end"] >= m["t"] - 7 * DAY)]
    best = m.groupby("person")["s"].max()
    out = np.zeros(n)
    out[best.index.to_numpy()] = best.to_numpy()
    return out
