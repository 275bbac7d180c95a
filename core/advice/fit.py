"""The fit advisor: which model (CRM, CDP or hybrid) fits *this* business, argued with its own numbers.

The choice follows the business model and operational maturity, not a feature list, and execution
beats precision. So the advisor does not look anything up in a rule table: it turns the answers
into a :class:`~core.advice.scenario.Scenario` (preset + knobs), generates a world, runs the plays that
matter for that business through CRM, CDP and hybrid, and compares 12-month net value:

    incremental revenue (true, from the simulator's potential outcomes, summed over the plays)
      x scale (monthly active customers / simulated people  x  365 / simulated days)
    - send cost (same scale)
    - total cost of ownership over 12 months (line items in :func:`tco`)

The recommendation is the model with the highest net value. A sweep over the knobs that decide
the outcome (tracking coverage, identity match, sync interval, team iteration speed, CDP cost)
shows where it flips; the crossover is the linear interpolation between the two sweep points
where the best model changes. Sweeping is cheap because worlds use common random numbers: a
world knob (coverage, identified share) changes only what the CDP observes, so the CRM results
are reused, and activation knobs (sync, build days) reuse the membership intervals and only
recompute activation and the campaign. Money knobs (CDP cost) need no simulation at all.

Pure Python; never imports Streamlit. See ``docs/fit.md``.
"""
from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from core.engine.activation import activated_intervals
from core.measures.campaign import CampaignConfig, lift_table, simulate
from core.engine.views import Engine
from core.errors import UserError
from core.jsonsafe import json_safe
from core.measures.freshness import freshness_table
from core.measures.overlap import overlap_at
from core.engine.playrun import PlayRun, run_play, with_activation
from core.engine.plays import Play, get_play
from core.advice.scenario import POORLY_RUN, WELL_RUN, Scenario, build_world
from core.advice.sweep import best_model, crossover_of

MODELS = ("crm", "cdp", "hybrid")
Progress = Callable[[float, str], None]


class AnswerError(UserError):
    """An answer that is missing, of the wrong type, out of range or contradicting another one.

    ``field`` names the answer to fix (the key in the JSON file / the question on the page).
    """

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        super().__init__(f"answer '{field_name}': {message}")


# --------------------------------------------------------------------------------------------
# The questionnaire
# --------------------------------------------------------------------------------------------

BUSINESS_MODELS: dict[str, str] = {
    "sales-led-b2b": "Sales-led B2B (reps, demos, buying committees)",
    "product-led": "Product-led B2B (free trial or freemium, self-serve upgrades)",
    "b2c-ecommerce": "B2C e-commerce",
    "omnichannel-retail": "Omnichannel retail (web, app and stores)",
    "hybrid-b2b2c": "Hybrid B2B2C (sell through partners, serve their end customers)",
}
#: The synthetic preset that behaves like each business model.
PRESET_OF = {"sales-led-b2b": "b2b-saas", "product-led": "plg-saas", "b2c-ecommerce": "b2c-retail",
             "omnichannel-retail": "omnichannel", "hybrid-b2b2c": "omnichannel"}
#: The plays that matter for each business model (the first is the headline play). Chosen so the
#: CRM's home ground is in the mix (nurture, win-back) next to the behavioural plays.
PLAYS_OF = {"sales-led-b2b": ("pricing-intent", "webinar-follow-up", "mql-nurture"),
            "product-led": ("trial-gone-quiet", "pricing-intent", "webinar-follow-up"),
            "b2c-ecommerce": ("cart-abandonment", "win-back"),
            "omnichannel-retail": ("cart-abandonment", "win-back"),
            "hybrid-b2b2c": ("cart-abandonment", "win-back")}
#: Typical events per monthly active customer, per preset (the activity the preset's defaults produce).
TYPICAL_EVENTS_PER_CUSTOMER = {"b2b-saas": 15.0, "plg-saas": 40.0, "b2c-retail": 12.0, "omnichannel": 15.0}

#: Tracking maturity → share of browsers/apps whose events reach the CDP and median CDP latency.
#: 'none': a tag manager pixel and little else (ad blockers and consent refusals lose most events);
#: 'basic': client-side tracking on the main site; 'good': client + server-side events and a
#: tracking plan; 'advanced': server-side first-party collection, consent mode, QA in CI.
#: Ad-blocker and consent loss of 15–40% for client-side tracking is widely reported.
TRACKING = {"none": {"coverage_web": 0.25, "coverage_app": 0.40, "cdp_latency_minutes": 240.0},
            "basic": {"coverage_web": 0.55, "coverage_app": 0.70, "cdp_latency_minutes": 30.0},
            "good": {"coverage_web": 0.85, "coverage_app": 0.95, "cdp_latency_minutes": 5.0},
            "advanced": {"coverage_web": 0.95, "coverage_app": 0.98, "cdp_latency_minutes": 1.0}}
CADENCES = {"weekly": "Weekly batch campaigns", "daily": "Daily sends", "continuous": "Continuous, triggered journeys"}

#: Full-time equivalents of data/engineering time a CDP needs to be run well (tracking plan,
#: identity rules, audience QA, destinations). Vendor onboarding guides and practitioner reports
#: put it at roughly one person; below it the CDP is run the way :data:`POORLY_RUN` describes.
CDP_FTE_NEEDED = 1.0


def _q(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


@dataclass(frozen=True)
class Answers:
    """What the advisor asks, in plain language, with sensible defaults (a mid-size e-commerce shop)."""

    business_model: str = _q("b2c-ecommerce", "How the business sells. Picks the synthetic preset and the plays that matter.",
                             choices=tuple(BUSINESS_MODELS))
    sales_cycle_days: float = _q(30.0, "Typical days from opportunity to signed deal (B2B business models; it sets the research phase length). Not used for B2C.",
                                 lo=1, hi=730)
    channels: int = _q(3, "Customer-facing channels you run (web, app, email, ads, stores, sales...). More channels: more CRM field sprawl.",
                       lo=1, hi=12)
    monthly_active_customers: int = _q(50_000, "People (contacts, shoppers, users) active in a typical month. The simulated people stand for them.",
                                       lo=1, hi=500_000_000)
    monthly_events: int = _q(1_000_000, "Tracked events per month (page views, clicks, purchases, product usage). Sets how active people are.",
                             lo=0, hi=1e13)
    login_share: float = _q(0.25, "Share of visits in which the person is logged in or otherwise identified (0–1). Decides how much the CDP can stitch.",
                            lo=0, hi=1)
    tracking_maturity: str = _q("basic", "How well behaviour is tracked: none, basic, good or advanced.", choices=tuple(TRACKING))
    employees: int = _q(200, "People in the company.", lo=1, hi=10_000_000)
    data_people: float = _q(2.0, "Data / engineering people who could run a CDP (FTE).", lo=0, hi=1_000_000)
    crm_ship_days: float = _q(2.0, "Days the team needs today to ship a new CRM segment campaign.", lo=0, hi=365)
    cdp_ship_days: float = _q(10.0, "Days it would take to ship a new CDP audience campaign, including engineering tickets.", lo=0, hi=365)
    cadence: str = _q("weekly", "Campaign cadence: weekly batches, daily sends or continuous triggered journeys.", choices=tuple(CADENCES))
    crm_seats: int = _q(10, "Paid CRM / marketing-automation seats.", lo=0, hi=1_000_000)
    crm_seat_cost_month: float = _q(100.0, "Cost of one CRM seat per month.", lo=0, hi=1e6)
    cdp_licence_year: float = _q(60_000.0, "CDP licence per year (vendors price on profiles or events; USD 50–150k is common for mid-market).",
                                 lo=0, hi=1e9)
    cdp_implementation: float = _q(50_000.0, "One-off CDP implementation (agency or internal project), counted in year one.", lo=0, hi=1e9)
    cdp_upkeep_year: float = _q(20_000.0, "Yearly CDP upkeep: tracking fixes, new sources, warehouse costs.", lo=0, hi=1e9)
    connector_year: float = _q(12_000.0, "Yearly cost of the CDP→CRM sync connector / reverse ETL a hybrid needs.", lo=0, hi=1e9)
    person_cost_year: float = _q(120_000.0, "Loaded yearly cost of one data/engineering person.", lo=0, hi=1e8)
    budget_year: float = _q(0.0, "Marketing-technology budget per year (0 = not set). Flagged as a risk when a model costs more.", lo=0, hi=1e10)
    order_value: float = _q(85.0, "Average order value (B2C) or deal value (B2B) in currency units.", lo=1, hi=1e7)
    cost_per_send: float = _q(0.01, "Cost per message sent (ESP fees, creative amortised).", lo=0, hi=100)
    seed: int = _q(7, "Seed of the simulated world (same answers and seed: same numbers).", lo=0, hi=2**32 - 1)
    sim_people: int = _q(2000, "People in the simulated world (more: slower but less noisy).", lo=500, hi=50_000)
    sim_days: int = _q(60, "Days simulated (scaled to 12 months).", lo=30, hi=180)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any) -> "Answers":
        """Validate a mapping of answers (from JSON, a form or URL params); missing keys take defaults."""
        if not isinstance(data, Mapping):
            raise AnswerError("$", f"the answers must be a JSON object of question → value (got {type(data).__name__}); "
                                   f"accepted keys: {', '.join(f.name for f in fields(cls))}")
        known = {f.name: f for f in fields(cls)}
        unknown = [k for k in data if k not in known]
        if unknown:
            raise AnswerError(str(unknown[0]), f"unknown question; accepted: {', '.join(known)}")
        values: dict[str, Any] = {}
        for name, f in known.items():
            if name not in data or data[name] is None or data[name] == "":
                continue
            values[name] = _coerce(name, f, data[name])
        answers = cls(**values)
        answers.check()
        return answers

    def check(self) -> "Answers":
        """Range and consistency checks; raise :class:`AnswerError` naming the answer to fix."""
        for f in fields(self):
            _coerce(f.name, f, getattr(self, f.name))
        if self.data_people > self.employees:
            raise AnswerError("data_people", f"{self.data_people:g} data/engineering people is more than the "
                                             f"{self.employees} employees; lower data_people or raise employees")
        if self.crm_seats > self.employees:
            raise AnswerError("crm_seats", f"{self.crm_seats} CRM seats is more than the {self.employees} employees")
        if self.monthly_events and self.monthly_events < self.monthly_active_customers:
            raise AnswerError("monthly_events", f"{self.monthly_events:,} events a month is fewer than the "
                                                f"{self.monthly_active_customers:,} active customers (each does at least one thing); "
                                                "raise monthly_events or set it to 0 if unknown")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Answers":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AnswerError("$", f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
        return cls.from_dict(data)

    def to_query(self) -> dict[str, str]:
        """Only the answers that differ from the defaults, as strings (for URL query parameters)."""
        default = Answers()
        return {k: _fmt_query(v) for k, v in self.to_dict().items() if v != getattr(default, k)}

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> "Answers":
        known = {f.name for f in fields(cls)}
        return cls.from_dict({k: (v[0] if isinstance(v, list) else v) for k, v in params.items() if k in known})

    @staticmethod
    def questions() -> list[dict[str, Any]]:
        """Each question: name, default, help, and its choices or range (for forms and docs)."""
        out = []
        for f in fields(Answers):
            out.append({"name": f.name, "default": f.default, "help": f.metadata["help"], "type": _kind(f).__name__,
                        "choices": f.metadata.get("choices"), "lo": f.metadata.get("lo"), "hi": f.metadata.get("hi")})
        return out


def _kind(f) -> type:
    return {"str": str, "int": int, "float": float}[f.type if isinstance(f.type, str) else f.type.__name__]


def _fmt_query(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _coerce(name: str, f, raw: Any) -> Any:
    kind = _kind(f)
    meta = f.metadata
    if kind is str:
        if not isinstance(raw, str):
            raise AnswerError(name, f"must be one of {', '.join(meta['choices'])} (got {raw!r})")
        value = raw.strip().lower()
        if value not in meta["choices"]:
            raise AnswerError(name, f"must be one of {', '.join(meta['choices'])} (got {raw!r})")
        return value
    if isinstance(raw, bool):
        raise AnswerError(name, f"must be a number (got {raw!r})")
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise AnswerError(name, f"must be a {'whole ' if kind is int else ''}number (got {raw!r})") from None
    if not math.isfinite(number):
        raise AnswerError(name, f"must be a finite number (got {raw!r})")
    if kind is int:
        if number != int(number):
            raise AnswerError(name, f"must be a whole number (got {raw!r})")
        number = int(number)
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and number < lo:
        what = "negative" if lo == 0 else f"below {lo:g}"
        raise AnswerError(name, f"cannot be {what} (got {raw!r}); accepted {lo:g} to {hi:g}")
    if hi is not None and number > hi:
        raise AnswerError(name, f"must be at most {hi:g} (got {raw!r})")
    return number


# --------------------------------------------------------------------------------------------
# Answers → scenario
# --------------------------------------------------------------------------------------------

def operations(answers: Answers) -> dict[str, Any]:
    """How well the CDP would be operated with the team the answers describe.

    No data people: batch audiences once a day, a daily sync, no email-based identity merging
    (nobody to configure and QA identity rules) — the poorly run CDP of :data:`POORLY_RUN`.
    Less than :data:`CDP_FTE_NEEDED` → hourly batches and syncs. Enough people → real-time
    audiences and a 15-minute sync (:data:`WELL_RUN`). A weekly-batch team also sends CDP
    audiences no faster than daily: the CDP's speed only pays if the team runs journeys.
    """
    if answers.data_people <= 0:
        ops = {"cdp_mode": "batch", "cdp_batch_minutes": POORLY_RUN["cdp_batch_minutes"],
               "cdp_sync_minutes": POORLY_RUN["cdp_sync_minutes"], "hybrid_sync_minutes": 1440.0,
               "merge_on_email": False}
    elif answers.data_people < CDP_FTE_NEEDED:
        ops = {"cdp_mode": "batch", "cdp_batch_minutes": 60.0, "cdp_sync_minutes": 60.0, "hybrid_sync_minutes": 60.0}
    else:
        ops = {"cdp_mode": "realtime", "cdp_sync_minutes": WELL_RUN["cdp_sync_minutes"], "hybrid_sync_minutes": 60.0}
    if answers.cadence == "weekly":
        ops["cdp_sync_minutes"] = max(ops["cdp_sync_minutes"], 1440.0)
    return ops


def answers_to_scenario(answers: Answers) -> Scenario:
    """The preset and knobs that behave like the business the answers describe (see docs/fit.md)."""
    from synthetic.presets import PRESETS

    preset = PRESET_OF[answers.business_model]
    p = PRESETS[preset]
    s: dict[str, Any] = dict(TRACKING[answers.tracking_maturity])
    s["identified_share"] = answers.login_share
    s["order_value"] = answers.order_value
    if p.model == "b2b":
        s["sales_cycle_days"] = answers.sales_cycle_days
        # Longer cycles → longer research phases, on the preset's ratio (b2b-saas: 30-day episodes, 60-day cycle).
        base_ep = p.behaviour.get("episode_days", 30.0)
        base_cycle = p.behaviour.get("sales_cycle_days", 60.0)
        s["episode_days"] = float(np.clip(base_ep * math.sqrt(answers.sales_cycle_days / base_cycle), 3.0, 120.0))
    # Every channel beyond the first two tends to leave its own copy of a concept in CRM fields.
    s["custom_field_sprawl"] = int(min(6, max(0, answers.channels - 2)))
    if answers.monthly_events > 0:
        per_customer = answers.monthly_events / answers.monthly_active_customers
        factor = float(np.clip(per_customer / TYPICAL_EVENTS_PER_CUSTOMER[preset], 0.5, 2.0))
        base = p.behaviour.get("base_sessions_per_week", 0.8)
        s["base_sessions_per_week"] = round(base * factor, 4)
    s.update(operations(answers))
    s["crm_build_days"] = answers.crm_ship_days
    s["cdp_build_days"] = answers.cdp_ship_days
    s["crm_send_every_days"] = {"weekly": 7, "daily": 1, "continuous": 1}[answers.cadence]
    s["cost_per_send"] = answers.cost_per_send
    return Scenario.make(preset, answers.seed, answers.sim_people, answers.sim_days, s)


# --------------------------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------------------------

def scale(answers: Answers) -> float:
    """Simulated period and population → 12 months of the business's monthly active customers."""
    return (answers.monthly_active_customers / answers.sim_people) * (365.0 / answers.sim_days)


def tco(answers: Answers, cdp_cost_factor: float = 1.0) -> pd.DataFrame:
    """12-month total cost of ownership, one row per (model, item): ``model, item, cost``.

    CRM: seats. CDP: licence + implementation (one-off, all in year one) + upkeep + the data
    people's time it takes (up to :data:`CDP_FTE_NEEDED`). Hybrid: the CRM seats (the CRM stays
    the system of record) + everything the CDP costs + the sync connector.
    ``cdp_cost_factor`` scales licence, implementation and upkeep (the CDP-cost sweep).
    """
    crm_seats = answers.crm_seats * answers.crm_seat_cost_month * 12
    fte = min(answers.data_people, CDP_FTE_NEEDED)
    cdp_items = [("CDP licence", answers.cdp_licence_year * cdp_cost_factor),
                 ("CDP implementation (one-off)", answers.cdp_implementation * cdp_cost_factor),
                 ("CDP upkeep", answers.cdp_upkeep_year * cdp_cost_factor),
                 (f"data people running the CDP ({fte:g} FTE)", fte * answers.person_cost_year)]
    rows = [("crm", "CRM seats", crm_seats)]
    rows += [("cdp", item, cost) for item, cost in cdp_items]
    rows += [("hybrid", "CRM seats", crm_seats)] + [("hybrid", item, cost) for item, cost in cdp_items]
    rows += [("hybrid", "CDP→CRM sync connector", answers.connector_year)]
    return pd.DataFrame(rows, columns=["model", "item", "cost"])


def _tco_totals(answers: Answers, cdp_cost_factor: float = 1.0) -> dict[str, float]:
    t = tco(answers, cdp_cost_factor).groupby("model")["cost"].sum()
    return {m: float(t.get(m, 0.0)) for m in MODELS}


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------

@dataclass
class _Base:
    """The base run, kept so sweep points can reuse what does not change."""

    scenario: Scenario
    engine: Engine
    plays: list[Play]
    runs: dict[str, PlayRun]
    money: dict[str, dict[str, tuple[float, int]]]   # play → model → (true incremental revenue, sends)


def _money(run: PlayRun, cfg: CampaignConfig, models=MODELS) -> dict[str, tuple[float, int]]:
    out = {}
    for m in models:
        r = simulate(run, m, cfg)
        out[m] = (float(r.true_incremental_revenue), int(r.sends))
    return out


def hybrid_routes(answers: Answers, money: Mapping[str, Mapping[str, tuple[float, int]]]) -> dict[str, str]:
    """Per play, the route a hybrid runs it on: 'crm' (the CRM segment, as today) or 'hybrid'
    (the CDP audience synced into the CRM / marketing tool) — whichever nets more for that play.

    This is the hybrid's CRM part: the CRM stays the system of record and keeps the plays it
    already runs well (its home ground, e.g. nurture on lifecycle stage), the CDP takes the rest.
    """
    def play_net(p: str, m: str) -> float:
        rev, sends = money[p][m]
        return rev - answers.cost_per_send * sends

    return {p: ("crm" if play_net(p, "crm") > play_net(p, "hybrid") else "hybrid") for p in money}


def _revenue(answers: Answers, money: Mapping[str, Mapping[str, tuple[float, int]]]) -> dict[str, tuple[float, float]]:
    """Per model: (12-month incremental revenue, 12-month send cost), hybrid on its per-play routes."""
    k = scale(answers)
    routes = hybrid_routes(answers, money)
    out = {}
    for m in MODELS:
        picks = [(p, routes[p] if m == "hybrid" else m) for p in money]
        rev = sum(money[p][r][0] for p, r in picks)
        sends = sum(money[p][r][1] for p, r in picks)
        out[m] = (k * rev, k * answers.cost_per_send * sends)
    return out


def _net(answers: Answers, money: Mapping[str, Mapping[str, tuple[float, int]]],
         cdp_cost_factor: float = 1.0) -> dict[str, float]:
    costs = _tco_totals(answers, cdp_cost_factor)
    return {m: rev - send - costs[m] for m, (rev, send) in _revenue(answers, money).items()}


#: Knobs swept by default: what they model, their unit and the values tried (low → high).
SWEEP_KNOBS: dict[str, dict[str, Any]] = {
    "coverage_web": {"label": "Tracking coverage (share of browsers tracked)", "unit": "share", "kind": "world",
                     "values": (0.2, 0.5, 0.9)},
    "identified_share": {"label": "Identity match (share of visits identified)", "unit": "share", "kind": "world",
                         "values": (0.05, 0.2, 0.5)},
    "cdp_sync_minutes": {"label": "CDP sync interval", "unit": "minutes", "kind": "activation",
                         "values": (5.0, 60.0, 360.0, 1440.0, 4320.0)},
    "cdp_build_days": {"label": "Team iteration speed (days to ship a CDP audience)", "unit": "days", "kind": "activation",
                       "values": (1.0, 5.0, 10.0, 20.0, 40.0)},
    "cdp_cost_factor": {"label": "CDP cost (licence, implementation, upkeep) vs your answer", "unit": "× your CDP cost",
                        "kind": "money", "values": (0.25, 0.5, 1.0, 2.0, 4.0)},
}
#: The answer each swept knob corresponds to (for "move this answer" messages and the flip test).
KNOB_ANSWER = {"coverage_web": "tracking_maturity", "identified_share": "login_share", "cdp_sync_minutes": "data_people",
               "cdp_build_days": "cdp_ship_days", "cdp_cost_factor": "cdp_licence_year"}


def _knob_values(knob: str, base_value: float) -> list[float]:
    """The swept values plus the user's own; world knobs skip values too close to it (each costs a world)."""
    vals = [float(v) for v in SWEEP_KNOBS[knob]["values"]]
    if SWEEP_KNOBS[knob]["kind"] == "world":
        vals = [v for v in vals if abs(v - base_value) > 0.06]
    return sorted(set(vals) | {float(base_value)})


def _base_value(knob: str, scenario: Scenario) -> float:
    if knob == "cdp_cost_factor":
        return 1.0
    settings = dict(scenario.settings)
    if knob in settings:
        return float(settings[knob])
    if knob in ("coverage_web", "identified_share"):
        return float(getattr(scenario.world_config().knobs, knob))
    return float(getattr(scenario.activation(), knob))


def _simulate_base(answers: Answers, scenario: Scenario, plays: list[Play]) -> tuple[_Base, pd.DataFrame]:
    world = build_world(scenario)
    engine = Engine(world, scenario.engine_config())
    cfg = scenario.campaign()
    runs, money, rows = {}, {}, []
    k = scale(answers)
    for play in plays:
        run = run_play(engine, play, scenario.activation())
        runs[play.name] = run
        lift = lift_table(run, cfg).set_index("model")
        fresh = freshness_table(run).set_index("model")
        ov = overlap_at(run, run.start + (run.end - run.start) / 2)
        money[play.name] = {m: (float(lift.loc[m, "true_incremental_revenue"]), int(lift.loc[m, "sends"])) for m in MODELS}
        for m in MODELS:
            L = lift.loc[m]
            rows.append({"play": play.name, "play_title": play.title, "model": m,
                         "timely_reach": _num(fresh.loc[m, "share_within_window"]) if m in fresh.index else None,
                         "precision": _num(ov["models"].get(m, {}).get("precision")),
                         "sends": int(L["sends"]),
                         "measured_abs_lift": _num(L.get("abs_lift")), "true_abs_lift": _num(L.get("true_abs_lift")),
                         "p_value": _num(L.get("p_value")),
                         "true_incremental_revenue_sim": float(L["true_incremental_revenue"]),
                         "incremental_revenue_12m": k * float(L["true_incremental_revenue"]),
                         "send_cost_12m": k * answers.cost_per_send * int(L["sends"])})
    return _Base(scenario, engine, plays, runs, money), pd.DataFrame(rows)


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


@functools.lru_cache(maxsize=64)
def _world_point(scenario: Scenario, play_names: tuple[str, ...], knob: str, value: float) -> dict[str, dict[str, tuple[float, int]]]:
    """CDP and hybrid money of each play in the world with one world knob moved.

    Common random numbers keep behaviour and the CRM identical when only coverage or identified
    share moves (they change what the CDP observes, not what people do), so the CRM is not re-run.
    Module-level so a worker process can run it.
    """
    sc = scenario.with_settings(**{knob: value})
    engine = Engine(build_world(sc), sc.engine_config())
    cfg = sc.campaign()
    out = {}
    for name in play_names:
        run = run_play(engine, get_play(name, sc.preset), sc.activation(), models=("cdp", "hybrid"))
        out[name] = _money(run, cfg, ("cdp", "hybrid"))
    return out


def _sweep_point(base: _Base, answers: Answers, knob: str, value: float,
                 world_money: Mapping[str, Mapping[str, tuple[float, int]]] | None = None) -> dict[str, float]:
    """Net value per model with one knob moved, reusing whatever the knob cannot change."""
    kind = SWEEP_KNOBS[knob]["kind"]
    if kind == "money":
        return _net(answers, base.money, cdp_cost_factor=value)
    if kind == "activation":
        act = replace(base.scenario.activation(), **{knob: value})
        cfg = base.scenario.campaign()
        money = {}
        for name, run in base.runs.items():
            m = _money(with_activation(run, act), cfg, ("cdp", "hybrid"))
            money[name] = {"crm": base.money[name]["crm"], **m}
        return _net(answers, money)
    if world_money is None:
        world_money = _world_point(base.scenario, tuple(p.name for p in base.plays), knob, value)
    return _net(answers, {name: {"crm": base.money[name]["crm"], **world_money[name]} for name in base.money})


def _start_pool(workers: int):
    """A small process pool for the world-knob points (each regenerates a world); None if unavailable."""
    if workers <= 0:
        return None
    try:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
    except Exception:  # noqa: BLE001 - no processes allowed here: run serially
        return None


# --------------------------------------------------------------------------------------------
# The advice
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Advice:
    """Everything the page and the CLI show. Money is over 12 months in the answers' currency."""

    answers: Answers
    scenario: Scenario
    recommendation: str                      # 'crm' | 'cdp' | 'hybrid'
    reasons: tuple[str, ...]                 # 3–4 sentences, each quoting a figure from the run
    risks: tuple[str, ...]
    net_value: dict[str, float]              # model → 12-month net value
    incremental_revenue: dict[str, float]    # model → 12-month incremental revenue (true)
    costs: pd.DataFrame                      # model, item, cost (12-month TCO line items)
    metrics: pd.DataFrame                    # per play and model: reach, precision, lift, revenue
    summary: pd.DataFrame                    # per model: revenue, send cost, TCO, net value
    hybrid_routes: dict[str, str]            # play → 'crm' (CRM segment) or 'hybrid' (synced CDP audience)
    sweep: pd.DataFrame                      # knob, value, model, net_value
    crossovers: dict[str, float | None]      # knob → value where the best model changes
    crossover_detail: dict[str, dict]        # knob → {value, below, above, label, unit, current}
    tornado: pd.DataFrame                    # knob, label, low_value, high_value, margin_low, margin_high, span
    timings: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (what ``audience-lab advise --json`` prints)."""
        return json_safe({
            "recommendation": self.recommendation, "reasons": list(self.reasons), "risks": list(self.risks),
            "net_value": self.net_value, "incremental_revenue": self.incremental_revenue,
            "tco": self.costs.groupby("model")["cost"].sum().to_dict(), "hybrid_routes": self.hybrid_routes,
            "crossovers": self.crossovers, "crossover_detail": self.crossover_detail,
            "scenario": self.scenario.to_dict(), "answers": self.answers.to_dict(),
            "summary": self.summary.to_dict(orient="records"),
            "tornado": self.tornado.to_dict(orient="records"), "timings": self.timings,
        })


def _money_fmt(x: float) -> str:
    sign = "-" if x < 0 else ""
    x = abs(x)
    if x >= 1e6:
        return f"{sign}{x / 1e6:,.2f}M"
    if x >= 1e4:
        return f"{sign}{x / 1e3:,.0f}k"
    return f"{sign}{x:,.0f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


def advise(answers: Answers, progress: Progress | None = None, sweep: bool = True, workers: int = 0) -> Advice:
    """Simulate the business the answers describe and recommend CRM, CDP or hybrid.

    ``progress(fraction, message)`` is called as work completes (the page wires it to st.progress).
    ``workers`` > 0 generates the world-knob sweep points in that many spawned processes while
    this one runs the base and the activation sweeps; results are identical either way. The
    default (0) is faster on a busy 2-core machine, where spawning costs more than it saves; the
    calling script must be import-safe (``if __name__ == "__main__"``) when workers > 0.
    """
    answers.check()
    tick = progress or (lambda f, msg: None)
    t0 = time.perf_counter()
    scenario = answers_to_scenario(answers)
    plays = [get_play(n, scenario.preset) for n in PLAYS_OF[answers.business_model]]
    jobs = []
    if sweep:
        for knob in SWEEP_KNOBS:
            bv = _base_value(knob, scenario)
            jobs += [(knob, v, bv) for v in _knob_values(knob, bv)]
    world_jobs = [(k, v) for k, v, bv in jobs if v != bv and SWEEP_KNOBS[k]["kind"] == "world"]
    pool = _start_pool(workers) if world_jobs else None
    futures = {}
    if pool is not None:
        names = tuple(p.name for p in plays)
        try:
            futures = {(k, v): pool.submit(_world_point, scenario, names, k, v) for k, v in world_jobs}
        except Exception:  # noqa: BLE001
            futures = {}
    tick(0.02, "generating a world like yours")
    try:
        base, metrics = _simulate_base(answers, scenario, plays)
    except BaseException:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    t_base = time.perf_counter() - t0
    net = _net(answers, base.money)
    tick(0.35, "ran the plays through CRM, CDP and hybrid")

    rows: list[dict] = []
    crossovers: dict[str, float | None] = {}
    detail: dict[str, dict] = {}
    tornado_rows = []
    # Activation and money points first (this process), world points last (their futures).
    ordered = sorted(jobs, key=lambda j: SWEEP_KNOBS[j[0]]["kind"] == "world")
    try:
        for i, (knob, v, bv) in enumerate(ordered):
            wm = None
            if (knob, v) in futures:
                try:
                    wm = futures[(knob, v)].result()
                except Exception:  # noqa: BLE001 - a broken worker: compute it here instead
                    wm = None
            nv = net if v == bv else _sweep_point(base, answers, knob, v, wm)
            rows += [{"knob": knob, "value": v, "model": m, "net_value": nv[m]} for m in MODELS]
            tick(0.35 + 0.6 * (i + 1) / len(ordered), f"sweeping: {SWEEP_KNOBS[knob]['label']}")
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    rows.sort(key=lambda r: (list(SWEEP_KNOBS).index(r["knob"]), r["value"], MODELS.index(r["model"])))
    sweep_df = pd.DataFrame(rows, columns=["knob", "value", "model", "net_value"])
    for knob, spec in SWEEP_KNOBS.items():
        if sweep_df.empty:
            break
        t = sweep_df[sweep_df["knob"] == knob]
        x, below, above = crossover_of(t, _base_value(knob, scenario))
        crossovers[knob] = x
        detail[knob] = {"value": x, "below": below, "above": above, "label": spec["label"], "unit": spec["unit"],
                        "current": _base_value(knob, scenario), "answer": KNOB_ANSWER[knob]}
        wide = t.pivot(index="value", columns="model", values="net_value").sort_index()
        margin = wide[["cdp", "hybrid"]].max(axis=1) - wide["crm"]
        tornado_rows.append({"knob": knob, "label": spec["label"], "low_value": float(wide.index[0]),
                             "high_value": float(wide.index[-1]), "margin_low": float(margin.iloc[0]),
                             "margin_high": float(margin.iloc[-1]),
                             "span": float(margin.max() - margin.min())})
    tornado = pd.DataFrame(tornado_rows, columns=["knob", "label", "low_value", "high_value", "margin_low",
                                                  "margin_high", "span"])
    if len(tornado):
        tornado = tornado.sort_values("span", ascending=False, kind="mergesort", ignore_index=True)

    costs = tco(answers)
    totals = _tco_totals(answers)
    summary_rows = []
    inc = {}
    revenue = _revenue(answers, base.money)
    routes = hybrid_routes(answers, base.money)
    metrics = metrics.assign(hybrid_route=[routes[p] if m == "hybrid" else None
                                           for p, m in zip(metrics["play"], metrics["model"])])
    for m in MODELS:
        rev, send = revenue[m]
        inc[m] = rev
        summary_rows.append({"model": m, "incremental_revenue_12m": rev, "send_cost_12m": send, "tco_12m": totals[m],
                             "net_value_12m": net[m]})
    summary = pd.DataFrame(summary_rows)
    rec = best_model(net)
    reasons = _reasons(answers, scenario, rec, net, inc, totals, metrics, detail)
    risks = _risks(answers, rec, net, totals, metrics)
    tick(1.0, "done")
    elapsed = time.perf_counter() - t0
    return Advice(answers=answers, scenario=scenario, recommendation=rec, reasons=tuple(reasons), risks=tuple(risks),
                  net_value=net, incremental_revenue=inc, costs=costs, metrics=metrics, summary=summary,
                  hybrid_routes=routes,
                  sweep=sweep_df, crossovers=crossovers, crossover_detail=detail, tornado=tornado,
                  timings={"base_seconds": round(t_base, 2), "total_seconds": round(elapsed, 2)})


def _headline(metrics: pd.DataFrame, model: str) -> dict:
    """Revenue-weighted headline numbers of a model across the plays."""
    m = metrics[metrics["model"] == model]
    reach = m["timely_reach"].dropna()
    return {"timely_reach": float(reach.mean()) if len(reach) else None,
            "precision": float(m["precision"].dropna().mean()) if m["precision"].notna().any() else None,
            "revenue": float(m["incremental_revenue_12m"].sum())}


NAMES = {"crm": "CRM", "cdp": "CDP", "hybrid": "hybrid"}


def _reasons(answers, scenario, rec, net, inc, totals, metrics, detail) -> list[str]:
    runner = sorted((m for m in MODELS if m != rec), key=lambda m: -net[m])[0]
    out = [f"{NAMES[rec]} has the highest 12-month net value: {_money_fmt(net[rec])} against "
           f"{_money_fmt(net[runner])} for {NAMES[runner]} (incremental revenue minus send costs and total cost of ownership)."]
    crm, cdp = _headline(metrics, "crm"), _headline(metrics, "cdp")
    first = metrics["play"].iloc[0]
    fp = metrics[metrics["play"] == first].set_index("model")
    title = fp["play_title"].iloc[0]
    ops = operations(answers)
    out.append(f"On '{title}', the CDP reaches {_pct(fp.loc['cdp', 'timely_reach'])} of the people who truly qualify "
               f"within the action window (precision {_pct(fp.loc['cdp', 'precision'])}) and the CRM "
               f"{_pct(fp.loc['crm', 'timely_reach'])} (precision {_pct(fp.loc['crm', 'precision'])}); over all plays the CDP "
               f"adds {_money_fmt(inc['cdp'] - inc['crm'])} of incremental revenue a year over the CRM "
               f"(CDP run {'in real time' if ops['cdp_mode'] == 'realtime' else 'in batches'}, synced every "
               f"{ops['cdp_sync_minutes']:g} minutes, new audiences in {answers.cdp_ship_days:g} days).")
    extra_cost = totals["cdp"] - totals["crm"]
    out.append(f"The CDP costs {_money_fmt(totals['cdp'])} in its first 12 months against {_money_fmt(totals['crm'])} "
               f"for the CRM seats — {_money_fmt(extra_cost)} more, so it must add at least that much revenue to pay off"
               + (f"; with {answers.data_people:g} data people it would be run poorly." if answers.data_people < CDP_FTE_NEEDED else "."))
    # The most decisive crossover (closest to the current value, relative to its range).
    flips = [(k, d) for k, d in detail.items() if d["value"] is not None]
    if flips:
        k, d = min(flips, key=lambda kd: abs(math.log((kd[1]["value"] + 1e-3) / (kd[1]["current"] + 1e-3))))
        out.append(f"The answer flips on {d['label'][0].lower() + d['label'][1:]}: {NAMES[d['below']]} wins below {_knob_fmt(k, d['value'])} "
                   f"and {NAMES[d['above']]} above it (yours: {_knob_fmt(k, d['current'])}).")
    elif not detail:
        out.append("The sensitivity sweep was skipped, so where this answer flips is not known from this run.")
    else:
        out.append(f"None of the swept knobs (tracking, identity, sync, iteration speed, CDP cost) flips the answer "
                   f"within the ranges tried: {NAMES[rec]} is robust for this business.")
    return out


def _knob_fmt(knob: str, v: float) -> str:
    unit = SWEEP_KNOBS[knob]["unit"]
    if unit == "share":
        return f"{v:.0%}"
    if unit == "minutes":
        return f"{v:,.0f} minutes"
    if unit == "days":
        return f"{v:.1f} days"
    return f"{v:.2f}× your CDP cost"


def _risks(answers, rec, net, totals, metrics) -> list[str]:
    out = []
    if answers.data_people < CDP_FTE_NEEDED:
        out.append(f"Over-investing in a CDP the team cannot operate: with {answers.data_people:g} data/engineering people "
                   f"(about {CDP_FTE_NEEDED:g} FTE is needed) audiences run in batches, identity rules go unmaintained and "
                   f"the {_money_fmt(totals['cdp'])} first-year cost buys stale audiences.")
    elif rec in ("cdp", "hybrid"):
        out.append(f"A CDP is only as good as its operation: the {NAMES[rec]} result assumes {min(answers.data_people, CDP_FTE_NEEDED):g} "
                   f"FTE keeps tracking, identity rules and syncs healthy; if that time goes elsewhere, the sweep shows how fast value falls.")
    sprawl = max(0, answers.channels - 2)
    out.append(f"The CRM quietly becoming a bottleneck: {answers.channels} channels feeding contact fields means field sprawl "
               f"({sprawl} duplicate field(s) per concept in this world) and manual updates by reps and marketers, "
               f"and every new segment takes {answers.crm_ship_days:g} days.")
    if answers.budget_year > 0:
        over = [NAMES[m] for m in MODELS if totals[m] > answers.budget_year]
        if over:
            out.append(f"Budget: {', '.join(over)} cost more than the {_money_fmt(answers.budget_year)} a year you set aside.")
    if answers.login_share < 0.1 and rec != "crm":
        out.append(f"Only {answers.login_share:.0%} of visits are identified: the CDP's audiences rest on a small, stitched minority.")
    return out


def well_vs_poorly_run(answers: Answers, progress: Progress | None = None) -> pd.DataFrame:
    """The same business with a well-run and a poorly run CDP against its CRM (no sweep).

    Returns one row per (variant, model): variant, model, net_value, incremental_revenue.
    The well-run variant has enough data people and good tracking; the poorly run one has no
    data team, little tracking and slow shipping.
    """
    well = replace(answers, tracking_maturity="advanced", login_share=max(answers.login_share, WELL_RUN["identified_share"]),
                   data_people=max(answers.data_people, 2.0), cdp_ship_days=WELL_RUN["cdp_build_days"],
                   cadence="continuous", employees=max(answers.employees, 2))
    poor = replace(answers, tracking_maturity="none", login_share=min(answers.login_share, POORLY_RUN["identified_share"]),
                   data_people=0.0, cdp_ship_days=POORLY_RUN["cdp_build_days"])
    rows = []
    for i, (name, a) in enumerate((("well-run CDP", well), ("poorly run CDP", poor))):
        adv = advise(a, progress=(lambda f, m, i=i: progress((i + f) / 2, m)) if progress else None, sweep=False)
        rows += [{"variant": name, "model": m, "net_value": adv.net_value[m],
                  "incremental_revenue": adv.incremental_revenue[m], "recommendation": adv.recommendation}
                 for m in MODELS]
    return pd.DataFrame(rows)


def text_report(advice: Advice) -> str:
    """Plain-text report for the CLI."""
    a = advice
    lines = [f"Recommendation: {NAMES[a.recommendation]}", "", "Why:"]
    lines += [f"  - {r}" for r in a.reasons]
    lines += ["", "Net value over 12 months (incremental revenue - send cost - total cost of ownership):"]
    for _, r in a.summary.iterrows():
        lines.append(f"  {NAMES[r['model']]:7} revenue {_money_fmt(r['incremental_revenue_12m']):>9}  send cost {_money_fmt(r['send_cost_12m']):>8}"
                     f"  TCO {_money_fmt(r['tco_12m']):>8}  net {_money_fmt(r['net_value_12m']):>9}")
    lines += ["", "Where the answer flips:"]
    for k, d in a.crossover_detail.items():
        if d["value"] is None:
            lines.append(f"  {d['label']}: {NAMES[d['below']]} throughout the swept range")
        else:
            lines.append(f"  {d['label']}: {NAMES[d['below']]} below {_knob_fmt(k, d['value'])}, {NAMES[d['above']]} above "
                         f"(yours: {_knob_fmt(k, d['current'])})")
    lines += ["", "Risks:"] + [f"  - {r}" for r in a.risks]
    lines.append(f"\n(simulated {a.answers.sim_people:,} people over {a.answers.sim_days} days in "
                 f"{a.timings['total_seconds']:.1f} s; preset {a.scenario.preset}, seed {a.scenario.seed})")
    return "\n".join(lines) + "\n"
