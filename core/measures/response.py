"""How the world responds: latent state at a time, organic conversion, and what a conversion is worth.

These are the campaign simulator's physics, read from the world itself so that a campaign's
effect stays consistent with the world's own flow (issue 10: a B2B campaign must not be
credited with more deals than the world closes):

- :func:`intent_at` — a person's latent intent when a message lands (only the simulator knows it).
- :func:`outcome_within` — whether the person really converted (purchase, demo request) within a
  window after a time: the untreated potential outcome is what the world shows.
- :func:`organic_rates` — the world's organic chance of converting within the window, by latent
  state (and in proportion to intent strength inside a state), estimated once per world from a
  grid of (person, time) samples. A message's effect is a multiple of it.
- :func:`conversion_value` — what a conversion is worth: an order (B2C, product-led) or, for a
  B2B demo request, what the world's own funnel realises from a demo: its won-deal revenue in the
  period over its demo requests (:func:`demo_funnel`; issue 18: every committee member's demo
  carries its share of one deal, never a deal of its own).
- :func:`message_effect` — how much a message moves a person: anchored to holdout-measured results
  and bounded in absolute terms (sources below and in docs/world.md).
- :func:`subscriber_value` — what an unsubscribe costs: the *incremental* value of the e-mails the
  subscriber would still have received (never a share of attributed revenue).

Effect sizes (issue 18; every figure in docs/world.md "Campaign effects"):

- Off-target (no open need): Hillstrom's randomised test (core/measures/data/hillstrom.csv.gz, Mens
  e-mail vs no e-mail, two weeks) lifted conversion 0.573% → 1.253%: +0.68 pp, relative ×1.19
  (:data:`OFF_TARGET_REL`). The world's bases are far higher than Hillstrom's file (b2c-retail's
  past buyers convert ~4% in two weeks, omnichannel's ~29%), so the relative figure is bounded in
  absolute terms: ``cap·(1 − exp(−rel·ρ/cap))`` with ``cap`` = 1 pp per two weeks
  (:data:`OFF_TARGET_CAP`; assumed: about Hillstrom's 95% upper bound, 0.86 pp, rounded up). It
  acts at most once per person per two weeks (:data:`OFF_TARGET_WINDOW_DAYS`; assumed diminishing
  returns: Hillstrom measured one e-mail over two weeks, so extra messages in that window add
  nothing).
- Need-matched: the play's ``uplift_rel`` on the same saturating curve, bounded by
  :data:`RELEVANT_CAP` = 3 pp per message (assumed upper bound: Klaviyo's 2024 benchmark average
  abandoned-cart revenue per recipient, 3.65, is *attributed*, an upper bound for incremental; over
  the b2c presets' mean order of ~100 that is ≤ 3.6% orders per recipient). At a cart's ~12% base
  this gives about +25% relative, beside the one published cart holdout found (EE via Cloud.IQ:
  +31.47% purchases in the exposed group, cloud-iq.com/blog/the-nightmare-scenario-the-customers-
  would-have-bought-anyway). A need-matched message never does less than an off-target one.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from core.engine.worldread import events_of, people_columns

#: Latent states, in the order of their codes.
STATES: tuple[str, ...] = ("none", "cooling", "in_market", "bought")
#: Order values spread around the preset's median with this log-sd (e-commerce baskets are
#: right-skewed; 0.6 puts the mean ~20% above the median, as in the CDNOW purchase log).
ORDER_VALUE_LOG_SD = 0.6
#: Hillstrom's Mens e-mail: relative lift of two-week conversion (1.253% / 0.573% − 1 ≈ 1.19).
OFF_TARGET_REL = 1.19
#: Absolute bound of an off-target message's effect per two weeks (assumed, see module docstring).
OFF_TARGET_CAP = 0.01
#: An off-target effect acts at most once per person in this many days (assumed, Hillstrom's window).
OFF_TARGET_WINDOW_DAYS = 14.0
#: Absolute bound of a need-matched message's effect (assumed from Klaviyo's cart RPR, see above).
RELEVANT_CAP = 0.03
#: How long a lost subscriber would have kept receiving e-mail, at most (assumed: a year, shortened
#: to the world's customer lifetime where that is shorter).
SUBSCRIBER_HORIZON_DAYS = 365.0
_SAMPLE_PEOPLE = 20_000
_SAMPLE_EVERY_DAYS = 2.0

_cache: dict[tuple[int, str, float], tuple[weakref.ref, "OrganicRates"]] = {}
_lock = threading.Lock()


def intent_at(world, person: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latent intent (strength 0..1, state code into :data:`STATES`) of each person at time t.

    'bought' wins over an overlapping episode and means strength 0; outside every row: 'none'.
    Read off the world's latent timeline (the truth view's ``intent`` fields) with one as-of join.
    """
    person = np.asarray(person, dtype=np.int64)
    n = len(person)
    strength = np.zeros(n)
    state = np.zeros(n, dtype=np.int8)
    tl = _timeline(world)
    if n == 0 or len(tl) == 0:
        return strength, state
    q = pd.DataFrame({"person_id": person, "t": np.asarray(t, dtype="datetime64[ns]"), "row": np.arange(n)})
    q = q.sort_values("t", kind="mergesort")
    m = pd.merge_asof(q, tl, on="t", by="person_id", direction="backward")
    rows = m["row"].to_numpy()
    state[rows] = m["code"].fillna(0).to_numpy(dtype=np.int8)
    strength[rows] = m["strength"].fillna(0.0).to_numpy(dtype=float)
    return strength, state


def _timeline(world) -> pd.DataFrame:
    """``person_id, t, code, strength`` at every change of the latent state, sorted by time (cached)."""
    key = (id(world), "timeline", 0.0)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0]() is world:
            return hit[1]
    from core.engine.views import latent_timeline

    tl = latent_timeline(world.intent)
    with _lock:
        _cache[key] = (weakref.ref(world), tl)
    return tl


def _cached(world, name: str, build):
    """A per-world memo (weakly keyed, thread-safe) for arrays every campaign of a world reuses."""
    key = (id(world), name, 0.0)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0]() is world:
            return hit[1]
    value = build()
    with _lock:
        _cache[key] = (weakref.ref(world), value)
    return value


def _hits(world, event: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``event`` rows of the world as sorted keys (person × second) with their seconds and values."""
    def build():
        ev = events_of(world, (event,), ("event_type", "person_id", "ts", "value"))
        col = ev["event_type"]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = list(col.cat.categories)
            mask = col.cat.codes.to_numpy() == (cats.index(event) if event in cats else -2)
        else:
            mask = col.to_numpy() == event
        person = ev["person_id"].to_numpy(np.int64)[mask]
        sec = (ev["ts"].array.asi8[mask] - world.start.value) // 1_000_000_000
        value = ev["value"].to_numpy(dtype=float)[mask] if "value" in ev else np.zeros(mask.sum())
        key = person * _SPAN + sec
        order = np.argsort(key, kind="stable")
        return key[order], sec[order], value[order]
    return _cached(world, f"hits/{event}", build)


#: Seconds per person in the combined (person, time) key: 2^27 s ≈ 4.25 years, far beyond any period.
_SPAN = np.int64(2**27)


def outcome_within(world, event: str, person: np.ndarray, t: np.ndarray, days: float) -> np.ndarray:
    """Whether each person had ``event`` in (t, t + days] — the world's own untreated outcome.

    One sorted key per (person, second) and one binary search per query: the first hit strictly
    after t belongs to the same person and falls inside the window.
    """
    person = np.asarray(person, dtype=np.int64)
    if len(person) == 0:
        return np.zeros(0, dtype=bool)
    keys, _, _ = _hits(world, event)
    if len(keys) == 0:
        return np.zeros(len(person), dtype=bool)
    sec = (np.asarray(t, dtype="datetime64[ns]").astype(np.int64) - world.start.value) // 1_000_000_000
    q = person * _SPAN + sec
    idx = np.searchsorted(keys, q, side="right")
    ok = idx < len(keys)
    nxt = np.where(ok, keys[np.minimum(idx, len(keys) - 1)], -1)
    return ok & (nxt // _SPAN == person) & (nxt - q <= int(days * 86_400))


@dataclass(frozen=True)
class OrganicRates:
    """Organic conversion probability within the window by latent state (with mean strengths)."""

    rate: np.ndarray       # by state code
    mean_strength: np.ndarray  # by state code (0 where strength does not apply)
    samples: np.ndarray    # by state code

    def lookup(self, state: np.ndarray, strength: np.ndarray) -> np.ndarray:
        """ρ for each (state, strength): the state's rate, scaled by strength where strength varies."""
        state = np.asarray(state, dtype=np.int64)
        base = self.rate[state]
        ms = self.mean_strength[state]
        scale = np.where(ms > 0, np.asarray(strength, dtype=float) / np.where(ms > 0, ms, 1.0), 1.0)
        return np.clip(base * scale, 0.0, 1.0)

    def to_dict(self) -> dict:
        return {s: {"rate": float(self.rate[i]), "samples": int(self.samples[i])} for i, s in enumerate(STATES)}


def organic_rates(world, event: str, days: float) -> OrganicRates:
    """The world's organic conversion rates by latent state, computed once per world and window."""
    key = (id(world), event, float(days))
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0]() is world:
            return hit[1]
    rates = _estimate(world, event, days)
    with _lock:
        _cache[key] = (weakref.ref(world), rates)
    return rates


def states_on_grid(world, people: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`intent_at` of every person at every grid time, person by person (the order of
    ``np.repeat(people, len(grid))`` with ``np.tile(grid, len(people))``), without an as-of join.

    The rates are estimated on ~20k people × ~45 times; joining those 900k queries to the
    timeline cost 0.14 s per window at 20k people. Here each timeline row holds from the first
    grid time at or after it up to the person's next row, so it is written straight into its
    cells: the same (state, strength) as the join, in a few array operations."""
    people = np.asarray(people, dtype=np.int64)
    grid = np.asarray(grid, dtype="datetime64[ns]")
    n, k = len(people), len(grid)
    by_id = np.argsort(people, kind="stable")
    if (people[by_id][1:] == people[by_id][:-1]).any() or (k > 1 and (np.diff(grid) <= np.timedelta64(0)).any()):
        return intent_at(world, np.repeat(people, k), np.tile(grid, n))  # repeated people or times: the join
    strength = np.zeros(n * k)
    state = np.zeros(n * k, dtype=np.int8)
    tl = _timeline(world)
    if n == 0 or k == 0 or len(tl) == 0:
        return strength, state
    p, t = tl["person_id"].to_numpy(np.int64), tl["t"].to_numpy(dtype="datetime64[ns]")
    o = np.lexsort((t, p))  # each person's rows in time order
    p, t = p[o], t[o]
    code = tl["code"].fillna(0).to_numpy(dtype=np.int8)[o]
    level = tl["strength"].fillna(0.0).to_numpy(dtype=float)[o]
    at = np.minimum(np.searchsorted(people[by_id], p), n - 1)
    known = people[by_id][at] == p
    g0 = np.searchsorted(grid, t, side="left")  # the first grid time at or after the row
    g1 = np.where(np.r_[p[1:] == p[:-1], False], np.r_[g0[1:], 0], k)  # ... until the person's next row
    span = np.where(known, np.clip(g1 - g0, 0, None), 0)
    rows = np.repeat(np.arange(len(p)), span)
    cell = by_id[at][rows] * k + g0[rows] + (np.arange(len(rows)) - np.repeat(np.cumsum(span) - span, span))
    state[cell] = code[rows]
    strength[cell] = level[rows]
    return strength, state


def _estimate(world, event: str, days: float) -> OrganicRates:
    people = people_columns(world, ("person_id",))["person_id"].to_numpy(np.int64)
    if len(people) > _SAMPLE_PEOPLE:  # an even, deterministic subset: every k-th person
        people = people[:: int(np.ceil(len(people) / _SAMPLE_PEOPLE))]
    span = (world.end - world.start) / pd.Timedelta(days=1) - days
    grid = world.start + pd.to_timedelta(np.arange(0.5, max(span, 1.0), _SAMPLE_EVERY_DAYS), unit="D")
    g = grid.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    person = np.repeat(people, len(g))
    t = np.tile(g, len(people))
    strength, state = states_on_grid(world, people, g)
    y = outcome_within(world, event, person, t, days)
    k = len(STATES)
    n = np.bincount(state, minlength=k).astype(float)
    hits = np.bincount(state, weights=y.astype(float), minlength=k)
    s_sum = np.bincount(state, weights=strength, minlength=k)
    rate = np.where(n > 0, hits / np.maximum(n, 1), 0.0)
    mean_s = np.where(n > 0, s_sum / np.maximum(n, 1), 0.0)
    mean_s[[0, 3]] = 0.0  # strength does not vary inside 'none' and 'bought'
    return OrganicRates(rate=rate, mean_strength=mean_s, samples=n.astype(np.int64))


def message_effect(rho: np.ndarray, rel: float, cap: float) -> np.ndarray:
    """A message's extra chance to convert: ``rel × ρ`` on a small base, never above ``cap``.

    ``cap·(1 − exp(−rel·ρ/cap))`` keeps Hillstrom-like relative effects where the organic chance is
    low and turns them into an absolute bound as the base rises (no ×2.2 on a 12.5% base)."""
    rho = np.asarray(rho, dtype=float)
    if cap <= 0 or rel == 0:
        return np.zeros_like(rho)
    return cap * -np.expm1(-rel * rho / cap)


def off_target_effect(rho: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """The effect of a message on someone without an open need: Hillstrom's, times ``scale``
    (0 = none, 1 = Hillstrom's, 2 = twice Hillstrom's — the sensitivity band)."""
    return scale * message_effect(rho, OFF_TARGET_REL, OFF_TARGET_CAP)


def period_revenue(world, event: str = "purchase") -> float:
    """Revenue the world's events record inside the period (purchases; B2B: won deals)."""
    keys, sec, values = _hits(world, event)
    span = (world.end - world.start) / pd.Timedelta(seconds=1)
    inside = (sec >= 0) & (sec <= span)
    return float(np.nansum(values[inside]))


@dataclass(frozen=True)
class DemoFunnel:
    """What the world's own funnel realises from a demo request in the period."""

    demos: int
    deals: int
    won_revenue: float

    @property
    def won_per_demo(self) -> float:
        """Won deals per demo request (every committee member's request counts)."""
        return self.deals / self.demos if self.demos else 0.0

    @property
    def revenue_per_demo(self) -> float:
        return self.won_revenue / self.demos if self.demos else 0.0

    @property
    def mean_deal(self) -> float:
        return self.won_revenue / self.deals if self.deals else 0.0


def demo_funnel(world) -> DemoFunnel:
    """Demo requests and sales-won deals (``purchase`` events on the ``sales`` channel) in the period.

    Valuing a demo at ``won revenue / demos`` means a campaign's extra demos can only ever be worth
    their share of what the world's funnel closes (issue 18: not deal value × stage rates per demo,
    which credited every committee member's demo with its own deal)."""
    def build() -> DemoFunnel:
        # the two event types the funnel counts, never the whole log
        ev = events_of(world, ("demo_requested", "purchase"), ("person_id", "ts", "event_type", "channel", "value"))
        inside = (ev["ts"] >= world.start) & (ev["ts"] <= world.end)
        etype = ev["event_type"].astype(str)
        demos = int((inside & (etype == "demo_requested")).sum())
        won = inside & (etype == "purchase") & (ev["channel"].astype(str) == "sales")
        if not won.any():  # no sales-led funnel (product-led): purchases of accounts after their demo
            won = inside & (etype == "purchase") & _after_account_demo(world, ev, inside & (etype == "demo_requested"))
        return DemoFunnel(demos=demos, deals=int(won.sum()), won_revenue=float(ev.loc[won, "value"].sum()))
    return _cached(world, "demo_funnel", build)


def _after_account_demo(world, ev: pd.DataFrame, demo: pd.Series) -> pd.Series:
    """Rows of ``ev`` whose person's account (or the person, without one) requested a demo earlier."""
    people = people_columns(world, ("person_id", "account_id")).set_index("person_id")
    acct = people["account_id"] if "account_id" in people else pd.Series(dtype=float)
    who = ev["person_id"].map(acct).fillna(-1 - ev["person_id"])
    first = ev.loc[demo, "ts"].groupby(who[demo]).min()
    since = who.map(first)
    return (since.notna() & (ev["ts"] > since)).reindex(ev.index, fill_value=False)


def conversion_value(world, event: str, person: np.ndarray, u: np.ndarray) -> np.ndarray:
    """What one conversion of each person is worth (one uniform per person spreads order values).

    A demo request is worth the world's won revenue per demo (:func:`demo_funnel`), spread like
    deal values; an order is worth the preset's order value, spread."""
    b = world.config.behaviour
    spread = np.exp(ORDER_VALUE_LOG_SD * norm.ppf(np.clip(np.asarray(u, dtype=float), 1e-9, 1 - 1e-9)))
    mean_spread = float(np.exp(ORDER_VALUE_LOG_SD ** 2 / 2))
    if event == "demo_requested":
        return demo_funnel(world).revenue_per_demo * spread / mean_spread
    return b.order_value * spread


def mean_conversion_value(world, event: str) -> float:
    """The average of :func:`conversion_value` (the spread's mean)."""
    if event == "demo_requested":
        return demo_funnel(world).revenue_per_demo
    return float(world.config.behaviour.order_value * np.exp(ORDER_VALUE_LOG_SD ** 2 / 2))


def subscriber_value(world, event: str, scale: float = 1.0) -> float:
    """What losing one subscriber costs: the incremental value of the e-mails they would still have
    received (issue 18), not a share of all their revenue.

    An e-mail without an open need moves a person by :func:`off_target_effect` at most once per
    :data:`OFF_TARGET_WINDOW_DAYS`, so a subscriber is worth the average two-week off-target effect
    over the world's population (by latent state, the world's own organic rates) × what a
    conversion is worth × the two-week windows left in :data:`SUBSCRIBER_HORIZON_DAYS` (or the
    world's customer lifetime, if shorter). Zero when e-mail has no off-target effect."""
    def build() -> float:
        rates = organic_rates(world, event, OFF_TARGET_WINDOW_DAYS)
        n = rates.samples.astype(float)
        if n.sum() <= 0:
            return 0.0
        per_window = float((off_target_effect(rates.rate) * n).sum() / n.sum())
        horizon = min(SUBSCRIBER_HORIZON_DAYS, float(world.config.behaviour.lifetime_days))
        return per_window * mean_conversion_value(world, event) * horizon / OFF_TARGET_WINDOW_DAYS
    return scale * _cached(world, f"subscriber/{event}", build)
