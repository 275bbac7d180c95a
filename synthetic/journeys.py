"""Latent intent, sessions and the behavioural events they produce.

Times are float seconds from the world's start until :mod:`synthetic.generator` converts them.
Everything is drawn on whole arrays: one row per episode, session or event, never a loop per
person. An in-market episode raises a person's session rate and the depth they reach in the
funnel; that latent state is what later measures are scored against.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthetic.config import WorldConfig
from synthetic.population import Population
from synthetic.presets import PRESETS

DAY = 86_400.0

# Fixed category lists: events are built as pandas Categoricals over these, so concatenating
# and comparing millions of rows never touches Python string objects.
CHANNELS: tuple[str, ...] = ("web", "app", "email", "ads", "sales", "store", "webinar")
EVENT_TYPES: tuple[str, ...] = ("page_view", "form_submit", "demo_requested", "webinar_attended", "signup", "login",
                                "trial_started", "feature_used", "add_to_cart", "checkout_started", "purchase",
                                "email_open", "email_click", "ad_click", "sales_meeting", "store_visit")
PAGES: tuple[str, ...] = ("home", "product", "category", "pricing", "docs", "blog", "case_study", "cart", "checkout", "signup")
IDENTS: tuple[str, ...] = ("session", "store", "email", "sales", "product", "click")


def cat(values, categories: tuple[str, ...], n: int) -> pd.Categorical:
    """A Categorical over fixed categories from None, a constant string, codes' Categorical or labels."""
    if values is None:
        return pd.Categorical.from_codes(np.full(n, -1), categories=categories)
    if isinstance(values, str):
        return pd.Categorical.from_codes(np.full(n, categories.index(values)), categories=categories)
    if isinstance(values, pd.Categorical) and tuple(values.categories) == categories:
        return values
    return pd.Categorical(np.asarray(values, dtype=object), categories=categories)

# Page mixes: (page, weight) out of market and in market. B2B buyers read more pricing,
# docs and case studies while evaluating; shoppers look at products and carts.
PAGE_MIX: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "b2b-saas": ({"home": .30, "blog": .38, "docs": .08, "case_study": .06, "product": .12, "pricing": .06},
                 {"home": .14, "blog": .10, "docs": .14, "case_study": .16, "product": .20, "pricing": .26}),
    "plg-saas": ({"home": .30, "blog": .28, "docs": .26, "pricing": .06, "product": .10},
                 {"home": .10, "docs": .30, "pricing": .24, "product": .20, "signup": .10, "blog": .06}),
    "b2c-retail": ({"home": .28, "category": .32, "product": .32, "blog": .05, "cart": .03},
                   {"home": .10, "category": .26, "product": .50, "cart": .10, "blog": .04}),
    "omnichannel": ({"home": .28, "category": .32, "product": .32, "blog": .05, "cart": .03},
                    {"home": .10, "category": .26, "product": .50, "cart": .10, "blog": .04}),
}


@dataclass(frozen=True)
class Episodes:
    person: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strength: np.ndarray


@dataclass(frozen=True)
class Sessions:
    person: np.ndarray
    t: np.ndarray
    strength: np.ndarray      # intent strength during the session (0 = not in market)
    device: np.ndarray        # global device index, -1 = no device (store)
    channel: np.ndarray       # 'web' | 'app' | 'store'


def to_ts(start: pd.Timestamp, seconds: np.ndarray) -> pd.DatetimeIndex:
    """Float seconds from the world start → UTC timestamps at millisecond precision (NaN → NaT)."""
    ms = np.round(np.asarray(seconds, dtype=float) * 1000)
    missing = np.isnan(ms)
    ns = np.where(missing, np.iinfo(np.int64).min, start.value + np.where(missing, 0, ms).astype(np.int64) * 1_000_000)
    return pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")


def active_window(config: WorldConfig, pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """Per person, the part of the window in which they engage: [arrival, leaving) ∩ [0, horizon)."""
    horizon = config.days * DAY
    lo = np.clip(pop.arrivals.arrived, 0, horizon)
    hi = np.clip(pop.arrivals.leaves, lo, horizon)
    return lo, hi


def draw_episodes(config: WorldConfig, pop: Population, rng: np.random.Generator) -> Episodes:
    """In-market episodes. B2B episodes belong to accounts and most of the committee joins in.

    Only the part of an episode while the person is a customer (arrived, not yet left) counts."""
    b = config.behaviour
    horizon = config.days * DAY
    n = pop.size
    lead_in = 2 * b.episode_days * DAY  # episodes already running when the window opens
    units = len(pop.accounts) if pop.account_pos.max(initial=-1) >= 0 else n
    rate = b.episodes_per_year * (horizon + lead_in) / (365 * DAY)
    count = rng.poisson(rate, units)
    unit = np.repeat(np.arange(units), count)
    start = rng.uniform(-lead_in, horizon, len(unit))
    length = rng.lognormal(np.log(b.episode_days * DAY), 0.5, len(unit))
    strength = rng.beta(2.0, 2.0, len(unit))
    if units != n:  # account episodes → member episodes
        members = pd.DataFrame({"acc": pop.account_pos, "person": np.arange(n)})
        ep = pd.DataFrame({"acc": unit, "ep": np.arange(len(unit))}).merge(members, on="acc")
        first = ~ep.duplicated(["ep"])  # the first member of the committee always joins
        joins = first.to_numpy() | (rng.random(len(ep)) < 0.65)
        ep = ep[joins]
        idx = ep["ep"].to_numpy()
        person = ep["person"].to_numpy()
        jitter = rng.uniform(0, 0.2, len(idx)) * length[idx]
        start, length, strength = start[idx] + jitter, length[idx] - jitter, np.clip(strength[idx] + rng.normal(0, 0.1, len(idx)), 0.05, 1)
    else:
        person = unit
    end = start + length
    arrived, leaves = pop.arrivals.arrived[person], pop.arrivals.leaves[person]
    keep = (start < leaves) & (end > arrived)
    start, end = np.maximum(start, arrived), np.minimum(end, leaves)
    order = np.lexsort((start[keep], person[keep]))
    return Episodes(person[keep][order], start[keep][order], end[keep][order], strength[keep][order])


def draw_sessions(config: WorldConfig, pop: Population, ep: Episodes, rng: np.random.Generator) -> Sessions:
    """Baseline sessions (Poisson over the active period) plus in-market sessions inside episodes."""
    b = config.behaviour
    n = pop.size
    horizon = config.days * DAY
    lo_p, hi_p = active_window(config, pop)
    active = hi_p - lo_p
    activity = rng.gamma(1.5, 1 / 1.5, n)  # heavy and light browsers
    base_n = rng.poisson(b.base_sessions_per_week / 7 * active / DAY * activity)
    base_p = np.repeat(np.arange(n), base_n)
    base_t = lo_p[base_p] + rng.random(len(base_p)) * active[base_p]
    lo, hi = np.clip(ep.start, 0, horizon), np.clip(ep.end, 0, horizon)
    ep_days = np.clip(hi - lo, 0, None) / DAY
    ep_n = rng.poisson(b.in_market_sessions_per_day * ep_days * ep.strength * 1.5)
    ep_idx = np.repeat(np.arange(len(ep.person)), ep_n)
    ep_t = lo[ep_idx] + rng.random(len(ep_idx)) * (hi - lo)[ep_idx]
    person = np.concatenate([base_p, ep.person[ep_idx]])
    t = np.concatenate([base_t, ep_t])
    strength = np.concatenate([np.zeros(len(base_p)), ep.strength[ep_idx]])
    store = np.zeros(len(person), dtype=bool)
    if b.store_visits_per_month > 0:
        sp, st, ss = _store_visits(config, ep, rng, lo_p, active)
        person, t, strength = np.concatenate([person, sp]), np.concatenate([t, st]), np.concatenate([strength, ss])
        store = np.concatenate([store, np.ones(len(sp), dtype=bool)])
    order = np.lexsort((t, person))
    person, t, strength, store = person[order], t[order], strength[order], store[order]
    device = _pick_devices(pop, person, store, rng)
    is_app = pop.device_kind[np.maximum(device, 0)] == "app"
    codes = np.where(store, CHANNELS.index("store"), np.where(is_app, CHANNELS.index("app"), CHANNELS.index("web")))
    return Sessions(person, t, strength, device, pd.Categorical.from_codes(codes, categories=CHANNELS))


def _store_visits(config: WorldConfig, ep: Episodes, rng: np.random.Generator, lo_p: np.ndarray, active: np.ndarray):
    b = config.behaviour
    n = len(active)
    base = rng.poisson(b.store_visits_per_month / 30 * active / DAY)
    p = np.repeat(np.arange(n), base)
    t = lo_p[p] + rng.random(len(p)) * active[p]
    horizon = config.days * DAY
    lo, hi = np.clip(ep.start, 0, horizon), np.clip(ep.end, 0, horizon)
    extra = rng.poisson(0.25 * np.clip(hi - lo, 0, None) / DAY * ep.strength)
    ei = np.repeat(np.arange(len(ep.person)), extra)
    return (np.concatenate([p, ep.person[ei]]),
            np.concatenate([t, lo[ei] + rng.random(len(ei)) * (hi - lo)[ei]]),
            np.concatenate([np.zeros(len(p)), ep.strength[ei]]))


def _pick_devices(pop: Population, person: np.ndarray, store: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each web session on one of the person's browsers (or their app); some on a shared device."""
    u = rng.random(len(person))
    web = pop.dev_offset[person] + np.minimum((u * pop.n_web_devices[person]).astype(np.int64), pop.n_web_devices[person] - 1)
    app = pop.app_device[person]
    use_app = (app >= 0) & (rng.random(len(person)) < 0.6)
    device = np.where(use_app, app, web)
    partner = pop.shared_partner[person]
    shared = (partner >= 0) & ~use_app & (rng.random(len(person)) < 0.35)
    device = np.where(shared, pop.dev_offset[np.maximum(partner, 0)], device)
    return np.where(store, -1, device)


def expand_sessions(config: WorldConfig, s: Sessions, rng: np.random.Generator) -> pd.DataFrame:
    """Turn sessions into page views and funnel events; returns an event frame (times in seconds)."""
    preset = config.preset
    b = config.behaviour
    n_s = len(s.person)
    in_market = s.strength > 0
    web = np.asarray(s.channel != "store")
    n_pv = np.where(web, 1 + rng.poisson((b.pages_per_session - 1) * np.where(in_market, 1.3, 1.0)), 0)
    pv, gaps, pv_sess = page_views(preset, s.person, s.t, s.channel, in_market, n_pv, np.arange(n_s), rng)
    parts = [pv]
    session_end = s.t + np.bincount(pv_sess, weights=gaps, minlength=n_s)
    ads = web & (rng.random(n_s) < b.ad_click_share)
    parts.append(_frame(s.person[ads], s.t[ads] - 5.0, "ads", "ad_click", np.flatnonzero(ads)))
    if PRESETS[preset].model == "b2c":
        parts += _retail_funnel(config, s, session_end, in_market, web, rng)
    else:
        parts += _b2b_session_events(config, s, session_end, in_market, web, rng)
    return pd.concat(parts, ignore_index=True)


def page_views(preset: str, person, t0, channel, in_market, n_pv, session, rng: np.random.Generator):
    """``n_pv`` page views per session from ``t0`` on, ~45 s apart, pages from the preset's mix.

    Returns (event frame, the gap after each view, the session index of each view)."""
    base_mix, im_mix = PAGE_MIX[preset]
    pages = np.array(sorted(set(base_mix) | set(im_mix)), dtype=object)
    row = np.repeat(np.arange(len(n_pv)), n_pv)
    cdf_base = np.cumsum([base_mix.get(p, 0) for p in pages]) / sum(base_mix.values())
    cdf_im = np.cumsum([im_mix.get(p, 0) for p in pages]) / sum(im_mix.values())
    u = rng.random(len(row))
    page_idx = np.where(in_market[row], np.searchsorted(cdf_im, u), np.searchsorted(cdf_base, u))
    gaps = rng.exponential(45.0, len(row))
    within = _cumsum_by_group(gaps, row)
    page_codes = np.array([PAGES.index(p) for p in pages])[np.minimum(page_idx, len(pages) - 1)]
    ch = channel[row] if not isinstance(channel, str) else channel
    frame = _frame(person[row], t0[row] + within, ch, "page_view", np.asarray(session)[row],
                   page=pd.Categorical.from_codes(page_codes, categories=PAGES))
    return frame, gaps, row


def _cumsum_by_group(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group (groups are contiguous)."""
    c = np.cumsum(values)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else np.array([], dtype=int)
    offsets = np.zeros(len(values))
    if len(group):
        first_c = c[starts] - values[starts]
        offsets = np.repeat(first_c, np.diff(np.r_[starts, len(group)]))
    return c - offsets


def _frame(person, t, channel, event_type, session, page=None, value=None) -> pd.DataFrame:
    n = len(person)
    return pd.DataFrame({
        "person": np.asarray(person, dtype=np.int32), "t": np.asarray(t, dtype=float),
        "channel": cat(channel, CHANNELS, n), "event_type": cat(event_type, EVENT_TYPES, n),
        "page": cat(page, PAGES, n),
        "value": value if value is not None else np.full(n, np.nan),
        "session": np.asarray(session, dtype=np.int32),
    })


def _retail_funnel(config, s: Sessions, end, in_market, web, rng) -> list[pd.DataFrame]:
    """Cart → checkout → purchase. In-market sessions carry intent; browsing sessions rarely buy."""
    b = config.behaviour
    n = len(s.person)
    factor = np.where(in_market, 2.0 * s.strength, 0.12)
    cart = web & (rng.random(n) < np.clip(b.p_cart * factor, 0, 1))
    checkout = cart & (rng.random(n) < b.p_checkout)
    purchase = checkout & (rng.random(n) < b.p_purchase)
    t_cart = end + rng.exponential(60, n)
    t_co = t_cart + rng.exponential(120, n)
    t_buy = t_co + rng.exponential(180, n)
    value = np.round(rng.lognormal(np.log(b.order_value), 0.6, n), 2)
    out = [
        _frame(s.person[cart], t_cart[cart], s.channel[cart], "add_to_cart", np.flatnonzero(cart)),
        _frame(s.person[checkout], t_co[checkout], s.channel[checkout], "checkout_started", np.flatnonzero(checkout), page="checkout"),
        _frame(s.person[purchase], t_buy[purchase], s.channel[purchase], "purchase", np.flatnonzero(purchase), value=value[purchase]),
    ]
    store = np.asarray(s.channel == "store")
    if store.any():
        buy = store & (rng.random(n) < np.where(in_market, 0.75, 0.45))
        out.append(_frame(s.person[store], s.t[store], s.channel[store], "store_visit", np.flatnonzero(store)))
        out.append(_frame(s.person[buy], s.t[buy] + 900, s.channel[buy], "purchase", np.flatnonzero(buy),
                          value=np.round(rng.lognormal(np.log(b.order_value * 0.8), 0.6, buy.sum()), 2)))
    return out


def _b2b_session_events(config, s: Sessions, end, in_market, web, rng) -> list[pd.DataFrame]:
    """Form fills and demo requests while evaluating; sign-ups for product-led companies."""
    b = config.behaviour
    n = len(s.person)
    factor = np.where(in_market, 1.5 * s.strength, 0.08)
    form = web & (rng.random(n) < np.clip(b.p_form * factor, 0, 1))
    demo = web & in_market & (rng.random(n) < np.clip(b.p_demo * factor, 0, 1))
    t_form = end + rng.exponential(60, n)
    out = [
        _frame(s.person[form], t_form[form], s.channel[form], "form_submit", np.flatnonzero(form)),
        _frame(s.person[demo], t_form[demo] + 30, s.channel[demo], "demo_requested", np.flatnonzero(demo)),
    ]
    if b.p_signup > 0:
        cand = web & in_market & (rng.random(n) < b.p_signup * 2 * s.strength)
        idx = np.flatnonzero(cand)
        idx = idx[~pd.Series(s.person[idx]).duplicated().to_numpy()]  # sign up once
        out.append(_frame(s.person[idx], end[idx] + 60, s.channel[idx], "signup", idx, page="signup"))
    return out


def intent_table(config: WorldConfig, ep: Episodes, purchases: pd.DataFrame) -> pd.DataFrame:
    """Latent state over time: in-market episodes, a cooling tail, and 'bought' after a purchase."""
    cool = 0.5 * config.behaviour.episode_days * DAY
    bought_len = (30 if PRESETS[config.preset].model == "b2c" else 180) * DAY
    frames = [
        pd.DataFrame({"person": ep.person, "start": ep.start, "end": ep.end, "strength": ep.strength, "state": "in_market"}),
        pd.DataFrame({"person": ep.person, "start": ep.end, "end": ep.end + cool, "strength": ep.strength * 0.3, "state": "cooling"}),
        pd.DataFrame({"person": purchases["person"].to_numpy(), "start": purchases["t"].to_numpy(),
                      "end": purchases["t"].to_numpy() + bought_len, "strength": 0.0, "state": "bought"}),
    ]
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["person", "start", "state"], kind="mergesort", ignore_index=True)
