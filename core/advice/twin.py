"""The twin: a synthetic world (with ground truth) whose data profile matches an imported world's.

Real data has no ground truth, so freshness, precision against truth and true lift cannot be
measured on it. A *twin* is a normal synthetic world calibrated so that what its CDP receives looks
like the user's data — same sessions per user, pages per session, cart and purchase rates, order
value, identified share, devices — and every truth-based measure then runs on the twin.

How it fits (deterministic: same profile, seed and size, same twin):

1. **Preset** — the closest of the presets: each preset's default world is profiled (small, same
   seed) and scored by the overlap of its event vocabulary with the data's (Jaccard over event types
   the simulator knows), ties broken by the distance between headline rates.
2. **Knobs** — each determined headline rate has a knob that drives it (:data:`TARGETS`); starting
   from the preset's values, every round generates a small world with the current knobs, profiles
   it and moves each knob multiplicatively towards its target, ``knob × (data / twin) ^ (1 / e)``,
   with the elasticity ``e`` measured from the previous round (secant; 1 at first) and every value
   kept inside the knob's documented range (``synthetic.config.knob_specs``). Rounds stop when
   every rate is within :data:`FIT_TOLERANCE` or after :data:`MAX_ROUNDS`.
3. **The twin** — generated once at the requested size, profiled, and up to two correction rounds
   at that size where a rate is still outside ±15% (sampling noise of the small worlds).

The fit is written against the knob API (names and ranges), not against today's generator
numbers: knobs the generator does not offer are skipped and reported.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import pandas as pd

from core.errors import UserError
from core.jsonsafe import json_safe
from core.measures.profile import DataProfile, profile_world
from synthetic import generate, preset_config
from synthetic.config import knob_specs, validate
from synthetic.presets import PRESETS

#: Relative error the fit aims for on its small worlds (the promise on the twin is ±15%).
FIT_TOLERANCE = 0.05
#: Observations a rate must rest on to be fitted: below ~100 its own sampling error (1/sqrt(n),
#: 10% at 100) is as large as the ±15% the twin promises, so it is shown but not chased.
MIN_SUPPORT = 100
ACCEPT = 0.15
MAX_ROUNDS = 10
SMALL_PEOPLE = 4000
MAX_CORRECTIONS = 2


@dataclass(frozen=True)
class Target:
    """A headline rate of the profile and the knob(s) that drive it.

    ``mode``: ``scale`` moves all knobs by the same factor; ``chain`` moves the first and passes
    what is left at its bound to the next.
    """

    key: str
    label: str
    knobs: tuple[str, ...]
    mode: str = "scale"
    unless: str | None = None
    """Fit this rate only when the data does not determine ``unless`` (two rates, one knob)."""


TARGETS: tuple[Target, ...] = (
    Target("rate:sessions_per_user_week", "sessions per user per week", ("base_sessions_per_week", "in_market_sessions_per_day")),
    Target("rate:pages_per_session", "page views per session", ("pages_per_session",)),
    Target("rate:cart_session_share", "sessions with an add-to-cart", ("p_cart",)),
    Target("rate:cart_to_purchase", "purchases per add-to-cart", ("p_purchase", "p_checkout"), "chain"),
    Target("rate:average_order_value", "average order value", ("order_value",)),
    Target("rate:purchase_rate", "users who purchased", ("episodes_per_year",)),
    Target("rate:purchases_per_buyer_week", "purchases per buyer per week", ("episodes_per_year",),
           unless="rate:purchase_rate"),
    # logged-in browsing is the business (login_share); whether a tag identifies a login is the CDP's
    # ops (identified_share): an export's identified share is mostly the first, so it moves first
    Target("rate:identified_event_share", "identified events", ("login_share", "identified_share"), "chain"),
    Target("rate:multi_device_share", "identified users on 2+ devices", ("devices_per_person",)),
    Target("rate:ad_clicks_per_session", "ad clicks per session", ("ad_click_share",)),
    Target("per_user_week:email_open", "e-mail opens per user per week", ("email_open_rate",)),
    Target("rate:email_click_to_open", "e-mail clicks per open", ("email_click_rate",)),
    Target("per_session:form_submit", "forms per session", ("p_form",)),
    Target("per_session:demo_requested", "demo requests per session", ("p_demo",)),
    Target("per_session:trial_started", "trials per session", ("p_signup",)),
    Target("per_user_week:feature_used", "feature events per user per week", ("feature_events_per_day",)),
)
#: Rates compared and reported but driven by the fitted ones (no knob of their own).
FOLLOWERS: tuple[tuple[str, str], ...] = (
    ("rate:cart_abandonment", "cart abandonment"),
    ("rate:purchase_session_share", "sessions with a purchase"),
    ("rate:purchases_per_buyer_week", "purchases per buyer per week"),
)


def support(profile: DataProfile, key: str) -> int:
    """How many observations a rate rests on (see :attr:`DataProfile.support`)."""
    kind, _, name = key.partition(":")
    if kind == "rate":
        return profile.support.get(name, 0)
    return profile.events_by_type.get(name, 0)


def value(profile: DataProfile, key: str) -> float | None:
    """A rate of a profile by target key (``rate:…``, ``per_session:TYPE``, ``per_user_week:TYPE``)."""
    kind, _, name = key.partition(":")
    if kind == "rate":
        return profile.rates.get(name)
    n = profile.events_by_type.get(name, 0)
    if not n:
        return None
    if kind == "per_session":
        s = profile.counts.get("sessions", 0)
        return n / s if s else None
    if kind == "per_user_week":
        return profile.events_per_user_day.get(name, 0.0) * 7.0
    raise ValueError(key)


@dataclass(frozen=True)
class TwinFit:
    """The fitted twin's recipe and how close it came."""

    preset: str
    seed: int
    people: int
    days: int
    start: str
    overrides: dict[str, float]
    defaults: dict[str, float]
    rows: list[dict[str, Any]]
    preset_scores: dict[str, float]
    rounds: int
    seconds: float
    skipped: list[str] = field(default_factory=list)
    out_of_reach: list[str] = field(default_factory=list)
    """Knobs the fit left at a bound of their range, each with the rate it drives and whether the twin
    still reaches it: never left silent (a wholesale buyer's weekly orders are beyond a knob's range)."""

    def config(self):
        config = preset_config(self.preset, self.seed, self.people, self.days, self.overrides)
        return validate(replace(config, start=self.start))

    @property
    def fitted(self) -> int:
        """How many rates the fit drove (rates without enough data or without a knob are only shown)."""
        return sum(1 for r in self.rows if r["fitted"])

    @property
    def within(self) -> bool:
        """True only when at least one rate was fitted and every fitted rate is within ±15% (a rate
        the twin does not produce at all is not within)."""
        fitted = [r for r in self.rows if r["fitted"]]
        return bool(fitted) and all(r["within"] for r in fitted)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"preset": self.preset, "seed": self.seed, "people": self.people, "days": self.days,
                          "start": self.start, "knobs": self.overrides, "preset_defaults": self.defaults,
                          "rates": self.rows, "preset_scores": self.preset_scores, "rounds": self.rounds,
                          "seconds": round(self.seconds, 1), "skipped": self.skipped,
                          "out_of_reach": self.out_of_reach, "all_within_15pct": self.within})

    def lines(self) -> list[str]:
        out = [f"Twin: preset {self.preset}, seed {self.seed}, {self.people:,} people, {self.days} days from "
               f"{self.start[:10]} ({self.rounds} fitting rounds, {self.seconds:.1f} s)",
               f"  {'rate':<36} {'data':>11} {'twin':>11} {'error':>8}"]
        for r in self.rows:
            if r["data"] is None:
                continue
            err = "" if r["error"] is None else f"{r['error']:+.1%}"
            flag = "" if not r["fitted"] else ("  ok" if r["within"] else "  OUTSIDE ±15%")
            note = "" if r["fitted"] else f"  ({r['note']})"
            out.append(f"  {r['label']:<36} {_num(r['data']):>11} {_num(r['twin']):>11} {err:>8}{flag}{note}")
        out.append("  fitted knobs (preset value → twin):")
        for k, v in self.overrides.items():
            out.append(f"    {k:<28} {_num(self.defaults.get(k))} → {_num(v)}")
        if self.skipped:
            out.append("  not fitted: " + "; ".join(self.skipped))
        for line in self.out_of_reach:
            out.append("  at a bound: " + line)
        if not self.fitted:
            out.append("  no rate was fitted: the twin is the preset as it is")
        return out


def _num(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.4g}" if abs(v) < 10000 else f"{v:,.0f}"


# --------------------------------------------------------------------------- preset choice


def _vocabulary(profile: DataProfile, known: frozenset[str]) -> set[str]:
    total = max(profile.counts.get("events", 0), 1)
    return {t for t, n in profile.events_by_type.items() if t in known and n / total >= 0.0005}


def choose_preset(data: DataProfile, seed: int, days: int, people: int = 2000,
                  make: Callable[..., Any] | None = None) -> tuple[str, dict[str, float], dict[str, DataProfile]]:
    """The closest preset to the data, its score per preset (higher is closer) and each preset's profile."""
    from core.engine.schema import EVENT_TYPES

    make = make or (lambda p: generate(preset_config(p, seed, people, days)))
    profiles = {p: profile_world(make(p), crm=False) for p in PRESETS}
    data_vocab = _vocabulary(data, EVENT_TYPES)
    scores: dict[str, float] = {}
    for name, prof in profiles.items():
        vocab = _vocabulary(prof, EVENT_TYPES)
        jaccard = len(data_vocab & vocab) / len(data_vocab | vocab) if data_vocab | vocab else 0.0
        dist = []
        for t in TARGETS[:7]:
            a, b = value(data, t.key), value(prof, t.key)
            if a and b:
                dist.append(abs(math.log(a / b)))
        closeness = 1.0 / (1.0 + (sum(dist) / len(dist) if dist else 0.0))
        scores[name] = round(jaccard + 0.01 * closeness, 6)
    best = max(PRESETS, key=lambda p: (scores[p], -list(PRESETS).index(p)))
    return best, scores, profiles


# --------------------------------------------------------------------------- the fit


def _bounds(name: str) -> tuple[float, float]:
    lo, hi = knob_specs()[name].metadata["range"]
    return float(lo if lo is not None else 0.0), float(hi if hi is not None else 1e12)


def _set(x: dict[str, float], knobs: tuple[str, ...], factor: float, mode: str) -> None:
    if mode == "scale":
        for k in knobs:
            lo, hi = _bounds(k)
            x[k] = min(max(x[k] * factor, lo), hi)
        return
    left = factor
    for k in knobs:  # chain: move the first; what its bound stops passes to the next
        lo, hi = _bounds(k)
        new = min(max(x[k] * left, lo), hi)
        moved = new / x[k] if x[k] > 0 else 1.0
        x[k] = new
        left = left / moved if moved > 0 else 1.0
        if abs(math.log(left)) < 1e-3:
            break


def _start_value(name: str, default: float) -> float:
    """A knob at 0 cannot be scaled; start it a little inside its range."""
    lo, hi = _bounds(name)
    return default if default > 0 else lo + 0.02 * (min(hi, 1.0 if hi <= 1 else hi) - lo)


def fit_twin(data: DataProfile, people: int | None = None, seed: int = 7, small_people: int = SMALL_PEOPLE,
             max_rounds: int = MAX_ROUNDS) -> tuple[TwinFit, Any]:
    """Fit knobs to ``data`` and generate the twin at ``people``; returns the fit and the twin world."""
    t0 = time.perf_counter()
    if people is None:
        people = int(min(max(data.counts.get("identified_users") or data.counts.get("users", 0), 1000), 20_000))
    if isinstance(people, bool) or not isinstance(people, int) or not 100 <= people <= 5_000_000:
        raise UserError(f"--people must be a whole number from 100 to 5000000 (got {people!r})")
    days = int(min(max(round(data.days), 7), 730))
    start = data.start.floor("D").isoformat()
    # events grow with the period: a long period fits on fewer people (same events per small world)
    small_people = int(min(max(small_people * 90 / days, 1000), small_people))
    preset, scores, preset_profiles = choose_preset(data, seed, days, people=max(small_people // 2, 500))
    specs = knob_specs()
    base = preset_config(preset, seed, small_people, days)
    defaults = {**_as_dict(base.knobs), **_as_dict(base.behaviour)}
    skipped: list[str] = []
    active: list[Target] = []
    x: dict[str, float] = {}
    for t in TARGETS:
        target = value(data, t.key)
        if target is None or target <= 0 or (t.unless and value(data, t.unless) and support(data, t.unless) >= MIN_SUPPORT):
            continue
        if support(data, t.key) < MIN_SUPPORT:
            skipped.append(f"{t.label} (only {support(data, t.key)} observations in the data; at least {MIN_SUPPORT} to fit)")
            continue
        missing = [k for k in t.knobs if k not in specs]
        if missing:
            skipped.append(f"{t.label} (the generator has no knob {', '.join(missing)})")
            continue
        active.append(t)
        for k in t.knobs:
            x.setdefault(k, _start_value(k, float(defaults[k])))

    def world_at(n: int, knobs: dict[str, float]):
        config = validate(replace(preset_config(preset, seed, n, days, knobs), start=start))
        return generate(config)

    history: list[tuple[dict[str, float], DataProfile]] = []
    best: tuple[float, dict[str, float]] | None = None
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        prof = profile_world(world_at(small_people, x), crm=False)
        history.append((dict(x), prof))
        errors = _errors(active, data, prof)
        if best is None or _score(errors) < best[0]:
            best = (_score(errors), dict(x))
        if _worst(errors) <= FIT_TOLERANCE:
            break
        _step(active, data, x, history)
    x = dict(best[1]) if best is not None else x
    twin = world_at(people, x)
    twin_profile = profile_world(twin, crm=False)
    for _ in range(MAX_CORRECTIONS):  # the small worlds' sampling noise, corrected at full size
        worst = _worst(_errors(active, data, twin_profile))
        if worst <= ACCEPT * 0.8:
            break
        trial = dict(x)
        _step(active, data, trial, [(dict(x), twin_profile)], cap=1.5, damping=0.7)
        candidate = world_at(people, trial)
        candidate_profile = profile_world(candidate, crm=False)
        if _worst(_errors(active, data, candidate_profile)) >= worst:
            break
        x, twin, twin_profile = trial, candidate, candidate_profile
    for t in active:
        if value(twin_profile, t.key) in (None, 0):
            skipped.append(f"{t.label} (preset {preset} does not produce it)")
    rows = _rows(active, data, twin_profile)
    reach = at_bounds(active, x, rows)
    for r in rows:
        if r["fitted"] and not r["within"] and any(line.startswith(r["label"] + ":") for line in reach):
            r["note"] = "out of reach: its knob is at a bound"
    fit = TwinFit(preset=preset, seed=seed, people=people, days=days, start=start,
                  overrides={k: round(v, 6) for k, v in sorted(x.items())},
                  defaults={k: float(defaults[k]) for k in sorted(x)}, rows=rows, preset_scores=scores,
                  rounds=rounds, seconds=time.perf_counter() - t0, skipped=skipped, out_of_reach=reach)
    return fit, twin


def at_bounds(active: list[Target], knobs: dict[str, float], rows: list[dict[str, Any]]) -> list[str]:
    """One sentence per fitted rate whose knobs all sit at a bound of their documented range."""
    by_key = {r["rate"]: r for r in rows}
    out = []
    for t in active:
        edge = []
        for k in t.knobs:
            lo, hi = _bounds(k)
            v = knobs.get(k)
            if v is None:
                continue
            if abs(v - hi) <= 1e-9 * max(1.0, abs(hi)):
                edge.append((k, "upper", hi))
            elif abs(v - lo) <= 1e-9 * max(1.0, abs(lo)) :
                edge.append((k, "lower", lo))
        if not edge or len(edge) < len(t.knobs):
            continue
        r = by_key.get(t.key, {})
        knob_words = ", ".join(f"{k} at its {side} bound {_num(b)}" for k, side, b in edge)
        if r.get("within"):
            out.append(f"{t.label}: reached, with {knob_words}")
        else:
            data, twin = r.get("data"), r.get("twin")
            out.append(f"{t.label}: the data's {_num(data)} is out of reach ({knob_words}; the twin gets "
                       f"{_num(twin)}): the simulator's range stops short of this business")
    return out


def _as_dict(part) -> dict[str, float]:
    from dataclasses import asdict

    return {k: v for k, v in asdict(part).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _errors(active: list[Target], data: DataProfile, prof: DataProfile) -> dict[str, float | None]:
    out = {}
    for t in active:
        a, b = value(data, t.key), value(prof, t.key)
        out[t.key] = None if not a or b is None else b / a - 1.0
    return out


def _score(errors: dict[str, float | None]) -> float:
    """Mean squared log error over the fitted rates (a missing rate counts as a factor of 2)."""
    terms = [math.log1p(e) ** 2 if e is not None and e > -1 else math.log(2) ** 2 for e in errors.values()]
    return sum(terms) / len(terms) if terms else 0.0


def _worst(errors: dict[str, float | None]) -> float:
    """The largest relative error (a rate the twin does not produce at all counts as 100%)."""
    return max((abs(e) if e is not None else 1.0 for e in errors.values()), default=0.0)


def _step(active: list[Target], data: DataProfile, x: dict[str, float],
          history: list[tuple[dict[str, float], DataProfile]], cap: float = 4.0, damping: float = 1.0) -> None:
    """Move every knob towards its rate's target (multiplicative, secant elasticity, bounded)."""
    knobs_now, prof = history[-1]
    prev = history[-2] if len(history) >= 2 else None
    for t in active:
        target, current = value(data, t.key), value(prof, t.key)
        if not target:
            continue
        if not current:
            _set(x, t.knobs, 2.0, t.mode)  # the preset makes none yet: push the knob up
            continue
        elasticity = 1.0
        if prev is not None:
            p_val = value(prev[1], t.key)
            k0, k1 = prev[0][t.knobs[0]], knobs_now[t.knobs[0]]
            if p_val and k0 > 0 and k1 > 0 and abs(math.log(k1 / k0)) > 0.02:
                e = math.log(current / p_val) / math.log(k1 / k0)
                if e > 0:
                    elasticity = min(max(e, 0.25), 2.0)
        factor = (target / current) ** (damping / elasticity)
        _set(x, t.knobs, min(max(factor, 1.0 / cap), cap), t.mode)


def _rows(active: list[Target], data: DataProfile, twin: DataProfile) -> list[dict[str, Any]]:
    """Every rate the data shows: fitted ones, and the rest with why they were not fitted."""
    rows = []
    fitted = {t.key for t in active}
    listed = [(t.key, t.label, t.knobs) for t in TARGETS]
    listed += [(k, label, ()) for k, label in FOLLOWERS if k not in {t.key for t in TARGETS}]
    seen: set[str] = set()
    for key, label, knobs in listed:
        a, b = value(data, key), value(twin, key)
        if a is None or key in seen:
            continue
        seen.add(key)
        err = None if not a or b is None else b / a - 1.0
        n = support(data, key)
        note = "" if key in fitted else (f"too few in the data to fit (n={n})" if n < MIN_SUPPORT else "follows")
        rows.append({"rate": key, "label": label, "data": a, "twin": b, "error": err, "support": n,
                     "within": err is not None and abs(err) <= ACCEPT, "fitted": key in fitted, "note": note,
                     "knobs": list(knobs)})
    return rows


def twin_summary_frame(fit: TwinFit) -> pd.DataFrame:
    """The rate comparison as a table (for the page)."""
    return pd.DataFrame(fit.rows)
