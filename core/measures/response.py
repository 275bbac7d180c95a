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
  B2B demo request, the deal value times the chance a demo becomes a won deal, from the world's
  own funnel rates (``sql_to_opp × opp_to_won``, First Page Sage benchmarks in the presets).
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

#: Latent states, in the order of their codes.
STATES: tuple[str, ...] = ("none", "cooling", "in_market", "bought")
#: Order values spread around the preset's median with this log-sd (e-commerce baskets are
#: right-skewed; 0.6 puts the mean ~20% above the median, as in the CDNOW purchase log).
ORDER_VALUE_LOG_SD = 0.6
#: Share of a customer's value that arrives through e-mail. Assumed: e-commerce platforms
#: (Klaviyo, Omnisend customer benchmarks) commonly report e-mail driving about a fifth of store
#: revenue; used only to price an unsubscribe.
EMAIL_VALUE_SHARE = 0.2
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
    from core.engine.views import latent_fields

    f = latent_fields(world.intent)
    st = f[f["field"] == "intent"]
    sg = f[f["field"] == "intent_strength"]
    codes = {s: i for i, s in enumerate(STATES)}
    a = pd.DataFrame({"person_id": st["subject_id"].to_numpy(np.int64), "t": st["valid_from"].dt.tz_convert(None).astype("datetime64[ns]").to_numpy(),
                      "code": st["value"].map(codes).to_numpy(dtype=np.int8)})
    b = pd.DataFrame({"person_id": sg["subject_id"].to_numpy(np.int64), "t": sg["valid_from"].dt.tz_convert(None).astype("datetime64[ns]").to_numpy(),
                      "strength": sg["value"].astype(float).to_numpy()})
    tl = pd.concat([a, b], ignore_index=True).sort_values(["person_id", "t"], kind="mergesort")
    tl[["code", "strength"]] = tl.groupby("person_id")[["code", "strength"]].ffill()
    tl = tl.drop_duplicates(["person_id", "t"], keep="last").sort_values("t", kind="mergesort").reset_index(drop=True)
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
        ev = world.events
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


def _estimate(world, event: str, days: float) -> OrganicRates:
    people = world.people["person_id"].to_numpy(np.int64)
    if len(people) > _SAMPLE_PEOPLE:  # an even, deterministic subset: every k-th person
        people = people[:: int(np.ceil(len(people) / _SAMPLE_PEOPLE))]
    span = (world.end - world.start) / pd.Timedelta(days=1) - days
    grid = world.start + pd.to_timedelta(np.arange(0.5, max(span, 1.0), _SAMPLE_EVERY_DAYS), unit="D")
    g = grid.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    person = np.repeat(people, len(g))
    t = np.tile(g, len(people))
    strength, state = intent_at(world, person, t)
    y = outcome_within(world, event, person, t, days)
    k = len(STATES)
    n = np.bincount(state, minlength=k).astype(float)
    hits = np.bincount(state, weights=y.astype(float), minlength=k)
    s_sum = np.bincount(state, weights=strength, minlength=k)
    rate = np.where(n > 0, hits / np.maximum(n, 1), 0.0)
    mean_s = np.where(n > 0, s_sum / np.maximum(n, 1), 0.0)
    mean_s[[0, 3]] = 0.0  # strength does not vary inside 'none' and 'bought'
    return OrganicRates(rate=rate, mean_strength=mean_s, samples=n.astype(np.int64))


def conversion_value(world, event: str, person: np.ndarray, u: np.ndarray) -> np.ndarray:
    """What one conversion of each person is worth (one uniform per person spreads order values)."""
    b = world.config.behaviour
    spread = np.exp(ORDER_VALUE_LOG_SD * norm.ppf(np.clip(np.asarray(u, dtype=float), 1e-9, 1 - 1e-9)))
    if event == "demo_requested":
        return b.order_value * b.sql_to_opp * b.opp_to_won * spread
    return b.order_value * spread


def subscriber_value(world, event: str) -> float:
    """What losing one subscriber costs: a year of the average person's value of ``event`` in this
    world, times the share of value that comes through e-mail (:data:`EMAIL_VALUE_SHARE`)."""
    def build() -> float:
        keys, _, values = _hits(world, event)
        people = max(len(world.people), 1)
        years = max((world.end - world.start) / pd.Timedelta(days=365), 1e-9)
        if event == "purchase":
            total = float(np.nansum(values))
        else:
            total = float(len(keys)) * float(conversion_value(world, event, np.zeros(1, dtype=np.int64), np.full(1, 0.5))[0])
        return EMAIL_VALUE_SHARE * total / people / years
    return _cached(world, f"subscriber/{event}", build)
