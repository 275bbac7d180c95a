"""The fit advisor: which model (CRM, CDP or hybrid) fits *this* business, argued with its own numbers.

The choice follows the business model and how well *each side* would be run. The advisor looks
nothing up in a rule table: it turns the answers into a :class:`~core.advice.scenario.Scenario`
(preset + knobs), runs the plays that matter for that business through CRM, CDP and hybrid on
several seeds of a world generated from the answers, and compares net value a year over a horizon
(core/advice/horizon.py; the formula below is its steady-state year):

    Σ over plays of the campaigns' true net value (true incremental revenue − send − unsubscribe cost)
      × scale (monthly active customers / simulated people × 365 / simulated days)
    − cost of ownership a year (core/advice/costs.py: the CRM, its team and the sending tool in
      every model; the CDP's licence, implementation, upkeep and data team in CDP and hybrid;
      the connector in the hybrid)

averaged over the seeds. Each side's operating knobs come from that side's team and practice
(:func:`operating_levels` → :func:`core.advice.ops.level_settings`), never from the recommendation,
and the campaign cadence applies to both sides. The hybrid runs each play on the route its team's
own holdout tests would pick (:func:`measured_route`), never on the simulator's true revenue.
Crossovers are reported as a median and range over the seeds, and "robust" is only said after
both sides' operating levels are moved together and the verdict holds. See ``docs/fit.md``.

Pure Python; never imports Streamlit.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from core.advice.answers import (BUSINESS_MODELS, CADENCES, ESTIMATE, GROUPS, HYGIENE, TRACKING_LEVELS,  # noqa: F401
                                 YES_NO, AnswerError, Answers, answers_from_profile)
from core.advice.costs import BASELINE, COST_SOURCES, FTE_NEEDED, MARKETER_FTE, tco, tco_totals  # noqa: F401
from core.advice.horizon import (MODELS, WARM_UP_DAYS, Net, best_of, measured_net, net_over_horizon, priors,  # noqa: F401
                                  steady_scale, volume)
from core.advice.ops import OPS, level_settings
from core.advice.scenario import Scenario
from core.advice.stacks import stack_keys, stack_settings
from core.advice.sweep import crossover_of, evaluate_points
from core.advice.verdict import FIRM_SHARE
from core.jsonsafe import json_safe
from synthetic.io import plain_main

NAMES = {"crm": "CRM", "cdp": "CDP", "hybrid": "hybrid", "crm+cdp": "CRM + CDP", BASELINE: "no targeted campaigns"}
best_model = best_of
Progress = Callable[[float, str], None]

#: The synthetic preset that behaves like each business model.
PRESET_OF = {"sales-led-b2b": "b2b-saas", "product-led": "plg-saas", "b2c-ecommerce": "b2c-retail",
             "omnichannel-retail": "omnichannel", "hybrid-b2b2c": "omnichannel"}
#: The plays that matter for each business model. Chosen so the CRM's home ground is in the mix
#: (nurture, win-back, webinar follow-up) next to the behavioural plays.
PLAYS_OF = {"sales-led-b2b": ("pricing-intent", "webinar-follow-up", "mql-nurture"),
            "product-led": ("trial-gone-quiet", "pricing-intent", "webinar-follow-up"),
            "b2c-ecommerce": ("cart-abandonment", "win-back"),
            "omnichannel-retail": ("cart-abandonment", "win-back"),
            "hybrid-b2b2c": ("cart-abandonment", "win-back")}
#: Typical events per monthly active customer, per preset (the activity the preset's defaults produce).
TYPICAL_EVENTS_PER_CUSTOMER = {"b2b-saas": 15.0, "plg-saas": 40.0, "b2c-retail": 12.0, "omnichannel": 15.0}

#: Tracking maturity → share of browsers/apps the site's first-party trackers reach (the CDP's tag
#: and the CRM's tracking script lose the same browsers: one ad-blocker/consent draw per browser)
#: and the CDP's collection latency. 'none': a pixel or two; 'basic': client-side tags on the main
#: site; 'good': client + server side with a tracking plan; 'advanced': server-side first-party
#: collection, consent mode, QA in CI. Client-side loss of 15–40% to blockers and consent refusals
#: is widely reported (assumed values inside that range).
TRACKING = {"none": {"coverage_web": 0.25, "coverage_app": 0.40, "cdp_latency_minutes": 240.0},
            "basic": {"coverage_web": 0.55, "coverage_app": 0.70, "cdp_latency_minutes": 30.0},
            "good": {"coverage_web": 0.85, "coverage_app": 0.95, "cdp_latency_minutes": 5.0},
            "advanced": {"coverage_web": 0.95, "coverage_app": 0.98, "cdp_latency_minutes": 1.0}}
#: Hygiene answer → the CRM data half of the CRM's operating level.
HYGIENE_LEVEL = {"managed": 1.0, "partly": 0.5, "unmanaged": 0.0}
CDP_FTE_NEEDED = CRM_FTE_NEEDED = FTE_NEEDED
#: The CDP's operating level when marketers run it with a no-code audience builder and no data team
#: (assumed: half-way between poorly run, 0, and as most teams run it, 0.5 — audiences and syncs get
#: built, but nobody owns the tracking plan or identity rules).
MARKETER_LEVEL = 0.25
#: Build days the engine uses when nothing sets them (core.engine.activation.ActivationConfig).
DEFAULT_DELAYS = (1.0, 3.0)

#: Knobs that the answers set directly; the operating levels never touch them (precedence:
#: an answer about the business or the team's practice beats a level's generic value).
ANSWERED = {"coverage_web", "coverage_app", "login_share", "cdp_latency_minutes", "crm_coverage_web",
            "crm_send_mode", "crm_workflow_delay_minutes", "crm_send_every_days",
            "cdp_send_mode", "cdp_workflow_delay_minutes", "cdp_send_every_days"}
#: The hybrid's connector is run by the data team: daily when nobody owns it, hourly by default
#: (Hightouch and Census schedules, core/engine/activation.py), every 15 minutes when run well.
HYBRID_SYNC = {"poorly-run": 1440.0, "default": 60.0, "well-run": 15.0}
#: One level = the step between named levels (poorly run 0, default 0.5, well run 1).
LEVEL_STEP = 0.5
#: z for the 95% intervals a team reads its holdout tests with.
Z95 = 1.959964


# --------------------------------------------------------------------------------------------
# Answers → operating levels → knobs
# --------------------------------------------------------------------------------------------

def operating_levels(answers: Answers) -> dict[str, float]:
    """How well each side would be run, on 0 (poorly) .. 0.5 (as most teams) .. 1 (well).

    CRM: half from its people (admins / RevOps / marketing-ops FTE against the one FTE it takes),
    half from its data hygiene (managed 1, partly 0.5, unmanaged 0). CDP: its data team's FTE
    against the one FTE it takes. Derived from the answers alone, never from the recommendation.
    """
    crm = 0.5 * min(1.0, answers.crm_admins / CRM_FTE_NEEDED) + 0.5 * HYGIENE_LEVEL[answers.crm_hygiene]
    cdp = min(1.0, answers.data_people / CDP_FTE_NEEDED)
    if answers.cdp_operator == "marketers":  # a no-code CDP run by marketers: above no data team, below one FTE
        cdp = min(1.0, MARKETER_LEVEL + answers.data_people / CDP_FTE_NEEDED)
    return {"crm": round(crm, 6), "cdp": round(cdp, 6)}


def level_words(level: float) -> str:
    """A level in words (the same words everywhere the advice speaks of it)."""
    if level < 0.25:
        return "poorly run"
    if level < 0.75:
        return "run as most teams run it"
    return "well run"


def _default_of(preset: str) -> Callable[[str], Any]:
    """The default level's value of a knob: the preset's world default or the engine config's."""
    from core.engine.activation import ActivationConfig
    from core.engine.identity import IdentityConfig
    from core.measures.campaign import CampaignConfig
    from synthetic import preset_config

    cfg = preset_config(preset, seed=0, people=500, days=30)
    sources = (cfg.knobs, cfg.behaviour, ActivationConfig(), IdentityConfig(), CampaignConfig())

    def default(knob: str) -> Any:
        for obj in sources:
            if hasattr(obj, knob):
                return getattr(obj, knob)
        raise KeyError(knob)
    return default


def _level_knobs(side: str) -> tuple[str, ...]:
    return tuple(sorted({k for s in OPS[side].values() for k in s} - ANSWERED))


def answers_to_settings(answers: Answers, crm_level: float | None = None, cdp_level: float | None = None,
                        coverage_web: float | None = None, identified_share: float | None = None) -> dict[str, Any]:
    """The knob settings of the business the answers describe (optionally with one knob moved).

    Precedence, lowest first: the preset's defaults; each side's operating level
    (:func:`core.advice.ops.level_settings`, knobs in :data:`ANSWERED` excluded); the chosen
    stack profiles (core/advice/stacks.py: a product's documented behaviour beats the team's
    level); the answers themselves (tracking, login share, cadence, marketing automation, ship
    days, order value, send cost) — except that a CRM product documented as batch-only never
    triggers, whatever the cadence.
    """
    from synthetic.presets import PRESETS

    preset = PRESET_OF[answers.business_model]
    p = PRESETS[preset]
    levels = operating_levels(answers)
    lc = levels["crm"] if crm_level is None else float(crm_level)
    ld = levels["cdp"] if cdp_level is None else float(cdp_level)
    default = _default_of(preset)
    picked = chosen_stacks(answers)
    profile = stack_settings(picked)
    level = {**level_settings("crm", lc, default, keys=_level_knobs("crm")),
             **level_settings("cdp", ld, default, keys=_level_knobs("cdp")),
             "hybrid_sync_minutes": _hybrid_sync(ld)}
    # a chosen product's documented behaviour beats the team's level (a team cannot make a product
    # faster than its vendor documents); the Scenario expands the profiles from their names
    s: dict[str, Any] = {k: v for k, v in level.items() if k not in profile}
    s.update(stack_keys(picked))
    # --- the answers (they win)
    track = dict(TRACKING[answers.tracking_maturity])
    if coverage_web is not None:
        track["coverage_web"] = float(coverage_web)
    s.update(track)
    # the answer is the business's logged-in share of visits (the world); whether each side's tracking
    # identifies those logins is its operating level (identified_share / crm_identified_share, issue 19)
    s["login_share"] = answers.login_share if identified_share is None else float(identified_share)
    if answers.marketing_automation == "no":
        # a sales CRM without marketing automation sees no visits, forms or e-mail engagement
        s["crm_coverage_web"] = 0.0
        s["crm_event_types"] = "none"
    elif "crm_coverage_web" not in profile:
        # the CRM's tracking script loses the browsers the site's tracking loses; a poorly run
        # CRM has it on few pages (core/advice/ops.py: 0.3)
        poor = min(OPS["crm"]["poorly-run"].get("crm_coverage_web", 0.3), track["coverage_web"])
        s["crm_coverage_web"] = round(poor + (track["coverage_web"] - poor) * min(1.0, lc / 0.5), 6)
    s.update(send_settings(answers, profile))
    s["order_value"] = answers.order_value
    if p.model == "b2b":
        s["sales_cycle_days"] = answers.sales_cycle_days
        base_ep = p.behaviour.get("episode_days", 30.0)
        base_cycle = p.behaviour.get("sales_cycle_days", 60.0)
        s["episode_days"] = float(np.clip(base_ep * math.sqrt(answers.sales_cycle_days / base_cycle), 3.0, 120.0))
    s["custom_field_sprawl"] = int(min(6, max(0, answers.channels - 2)))
    if answers.monthly_events > 0:
        per_customer = answers.monthly_events / answers.monthly_active_customers
        factor = float(np.clip(per_customer / TYPICAL_EVENTS_PER_CUSTOMER[preset], 0.5, 2.0))
        s["base_sessions_per_week"] = round(p.behaviour.get("base_sessions_per_week", 0.8) * factor, 4)
    if answers.crm_ship_days != ESTIMATE:
        s["crm_build_days"] = answers.crm_ship_days
    if answers.cdp_ship_days != ESTIMATE:
        s["cdp_build_days"] = answers.cdp_ship_days
    s["cost_per_send"] = answers.cost_per_send
    return s


def _hybrid_sync(level: float) -> float:
    return float(level_settings_scalar(HYBRID_SYNC, level))


def level_settings_scalar(values: Mapping[str, float], level: float) -> float:
    """One delay on the level scale, interpolated geometrically like :func:`level_settings`."""
    x = min(max(level, 0.0), 1.0)
    a, b, t = ((values["poorly-run"], values["default"], x / 0.5) if x <= 0.5
               else (values["default"], values["well-run"], (x - 0.5) / 0.5))
    return round(a * (b / a) ** t, 6)


def send_settings(answers: Answers, profile: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The cadence answer, applied to both sides: continuous → both triggered on entry; daily or
    weekly → both batch on that schedule. A CRM that cannot trigger a workflow (no marketing
    automation, or a chosen CRM product documented as batch-only) sends continuous journeys as
    daily list exports instead."""
    can_trigger = answers.marketing_automation == "yes" and (profile or {}).get("crm_send_mode") != "batch"
    if answers.cadence == "continuous":
        crm = ({"crm_send_mode": "triggered", "crm_workflow_delay_minutes": 0.0}
               if can_trigger else {"crm_send_mode": "batch", "crm_send_every_days": 1})
        return {**crm, "cdp_send_mode": "triggered", "cdp_workflow_delay_minutes": 0.0}
    every = {"weekly": 7, "daily": 1}[answers.cadence]
    return {"crm_send_mode": "batch", "crm_send_every_days": every, "cdp_send_mode": "batch", "cdp_send_every_days": every}


def chosen_stacks(answers: Answers) -> dict[str, str]:
    """``{role: profile name}`` of the tools the answers name (core/advice/stacks.py)."""
    return {role: name for role, name in (("crm", answers.crm_tool), ("cdp", answers.cdp_tool),
                                          ("sending", answers.sending_tool)) if name}


def answers_to_scenario(answers: Answers, seed: int | None = None) -> Scenario:
    """The preset and knobs that behave like the business the answers describe (see docs/fit.md)."""
    return Scenario.make(PRESET_OF[answers.business_model], answers.seed if seed is None else seed,
                         answers.sim_people, answers.sim_days, answers_to_settings(answers))


# --------------------------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------------------------

def scale(answers: Answers) -> float:
    """Simulated period and population → a steady year of the business's monthly active customers."""
    return steady_scale(answers)


def measured_route(answers: Answers, play_money: Mapping[str, Mapping[str, Any]]) -> str:
    """How a hybrid runs one play: 'crm' (the CRM segment) or 'hybrid' (the CDP audience synced
    into the CRM's tool), decided as the team would: from its own holdout tests.

    Each route's measured net = measured incremental revenue − send − unsubscribe cost, with the
    test's 95% interval. The team's tests run on its own volume over the simulated period, so the
    interval is the simulated one narrowed by √(customers / simulated monthly actives). The hybrid route
    is taken only when the interval of the difference lies above zero; otherwise the simpler,
    existing route (the CRM segment) stays. Never uses the simulator's true revenue.
    """
    crm, hyb = measured_net(play_money["crm"]), measured_net(play_money["hybrid"])
    if crm is None or hyb is None:
        return "crm"
    diff = hyb[0] - crm[0]
    se = math.hypot(crm[1], hyb[1]) / math.sqrt(max(volume(answers), 1e-9))
    return "hybrid" if diff - Z95 * se > 0 else "crm"


def true_route(play_money: Mapping[str, Mapping[str, Any]]) -> str:
    """The route the simulator's truth would pick (only to report how often measuring gets it right)."""
    return "hybrid" if play_money["hybrid"]["true_net_value"] > play_money["crm"]["true_net_value"] else "crm"


def net_at(answers: Answers, money: Mapping[str, Mapping[str, Mapping[str, Any]]], cdp_cost_factor: float = 1.0,
           data_fte: float | None = None, delays: tuple[float, float] = DEFAULT_DELAYS,
           prior: Mapping[str, Any] | None = None) -> Net:
    """Value a year over the horizon per model at one point (core.advice.horizon), the per-play
    contributions, the hybrid's measured routes and the CRM + CDP routes (prior plus test)."""
    routes = {p: measured_route(answers, pm) for p, pm in money.items()}
    return net_over_horizon(answers, money, routes, delays, prior, cdp_cost_factor, data_fte)


# --------------------------------------------------------------------------------------------
# The sweep over knobs and seeds
# --------------------------------------------------------------------------------------------

#: Knobs swept: what they model, their unit and the values tried (low → high), plus the user's own.
SWEEP_KNOBS: dict[str, dict[str, Any]] = {
    "crm_level": {"label": "How well the CRM is run (0 poorly, 0.5 as most teams, 1 well)", "unit": "level",
                  "kind": "level", "values": (0.0, 0.5, 1.0), "answer": "crm_admins"},
    "cdp_level": {"label": "How well the CDP is run (0 poorly, 0.5 as most teams, 1 well)", "unit": "level",
                  "kind": "level", "values": (0.0, 0.5, 1.0), "answer": "data_people"},
    "coverage_web": {"label": "Tracking coverage (share of browsers both trackers reach)", "unit": "share",
                     "kind": "world", "values": (0.25, 0.55, 0.9), "answer": "tracking_maturity"},
    "identified_share": {"label": "Logged-in share of visits (either side can identify a login)", "unit": "share", "kind": "world",
                         "values": (0.05, 0.2, 0.5), "answer": "login_share"},
    "cdp_cost_factor": {"label": "CDP cost (licence, implementation, upkeep) vs your answer", "unit": "× your CDP cost",
                        "kind": "money", "values": (0.25, 0.5, 1.0, 2.0, 4.0), "answer": "cdp_licence_year"},
}
#: The main knobs: both sides' operations and the CDP's price (the CLI's default sweep).
MAIN_KNOBS = ("crm_level", "cdp_level", "cdp_cost_factor")
KNOB_ANSWER = {k: v["answer"] for k, v in SWEEP_KNOBS.items()}


def _base_value(knob: str, answers: Answers) -> float:
    if knob == "cdp_cost_factor":
        return 1.0
    if knob in ("crm_level", "cdp_level"):
        return operating_levels(answers)[knob.split("_")[0]]
    if knob == "coverage_web":
        return TRACKING[answers.tracking_maturity]["coverage_web"]
    return float(answers.login_share)


def _knob_values(knob: str, base_value: float) -> list[float]:
    vals = {float(v) for v in SWEEP_KNOBS[knob]["values"]}
    if SWEEP_KNOBS[knob]["kind"] == "world":  # each costs a world per seed: skip values next to the user's
        vals = {v for v in vals if abs(v - base_value) > 0.06}
    return sorted(vals | {float(base_value)})


def _points(answers: Answers, knobs: Sequence[str], joint: bool = True) -> tuple[dict, dict, dict]:
    """Every scenario the advice needs, as full settings (build days zeroed), an alias map for
    duplicates, and each key's (CRM, CDP) build delays.

    Keys: ``("base",)``; ``(knob, value)`` for each swept value; ``("joint", "better" | "worse")``
    with both sides one level (0.5) better or worse at once; ``("cdp_level", 0.0 | 1.0)`` always
    (the well-run vs poorly-run comparison, CRM held at the user's level).
    """
    levels = operating_levels(answers)
    wanted: dict[tuple, dict] = {("base",): answers_to_settings(answers)}
    for knob in knobs:
        if SWEEP_KNOBS[knob]["kind"] == "money":
            continue
        for v in _knob_values(knob, _base_value(knob, answers)):
            wanted[(knob, v)] = answers_to_settings(answers, **{knob: v})
    for v in (0.0, 1.0):
        wanted.setdefault(("cdp_level", v), answers_to_settings(answers, cdp_level=v))
    for name, step in (("better", LEVEL_STEP), ("worse", -LEVEL_STEP)) if joint else ():
        wanted[("joint", name)] = answers_to_settings(answers, crm_level=min(1.0, max(0.0, levels["crm"] + step)),
                                                      cdp_level=min(1.0, max(0.0, levels["cdp"] + step)))
    delays = {key: build_delays(settings) for key, settings in wanted.items()}
    # the simulated window measures steady state: both sides launch after the same warm-up, and
    # build time is applied to the horizon instead (core.advice.horizon)
    wanted = {key: {**settings, "crm_build_days": float(WARM_UP_DAYS), "cdp_build_days": float(WARM_UP_DAYS),
                    "cdp_initial_sync_hours": 0.0} for key, settings in wanted.items()}
    unique: dict[tuple, dict] = {}
    alias: dict[tuple, tuple] = {}
    seen: dict[tuple, tuple] = {}
    for key, settings in wanted.items():
        sig = tuple(sorted(settings.items()))
        if sig in seen:
            alias[key] = seen[sig]
        else:
            seen[sig] = key
            unique[key] = settings
            alias[key] = key
    return unique, alias, delays


def build_delays(settings: Mapping[str, Any]) -> tuple[float, float]:
    """(CRM, CDP) days from the start until campaigns run: the build days of each side (the CDP's
    first sync included), a one-off delay applied over the horizon (core.advice.horizon)."""
    from core.engine.activation import ActivationConfig

    d = ActivationConfig()
    crm = float(settings.get("crm_build_days", d.crm_build_days))
    cdp = float(settings.get("cdp_build_days", d.cdp_build_days)) + float(
        settings.get("cdp_initial_sync_hours", d.cdp_initial_sync_hours)) / 24.0
    return crm, cdp


def _seed_job(preset: str, seed: int, people: int, days: int, points: dict, plays: tuple[str, ...],
              detail: bool) -> dict:
    """One seed of the study (module level so a worker process can run it)."""
    return evaluate_points(preset, seed, people, days, points, plays, detail_key=("base",) if detail else None)


def _run_seeds(answers: Answers, points: dict, plays: tuple[str, ...], seeds: Sequence[int], workers: int,
               tick: Progress) -> dict[int, dict]:
    preset = PRESET_OF[answers.business_model]
    args = [(preset, s, answers.sim_people, answers.sim_days + WARM_UP_DAYS, points, plays, s == seeds[0]) for s in seeds]
    out: dict[int, dict] = {}
    pool = _start_pool(min(workers, len(seeds))) if workers > 0 and len(seeds) > 1 else None
    if pool is None:
        for i, a in enumerate(args):
            out[a[1]] = _seed_job(*a)
            tick(0.05 + 0.9 * (i + 1) / len(args), f"simulated world {i + 1} of {len(args)}")
        return out
    from concurrent.futures import as_completed

    try:
        with plain_main():  # workers start on the first submit
            futures = {pool.submit(_seed_job, *a): a for a in args}
        for i, fut in enumerate(as_completed(futures)):
            a = futures[fut]
            try:
                out[a[1]] = fut.result()
            except Exception:  # noqa: BLE001 - a broken worker: compute that seed here
                out[a[1]] = _seed_job(*a)
            tick(0.05 + 0.9 * (i + 1) / len(args), f"simulated world {i + 1} of {len(args)}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return out


def _start_pool(workers: int):
    """A small process pool (spawned, so no state leaks); None where processes are not allowed."""
    try:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
    except Exception:  # noqa: BLE001
        return None


# --------------------------------------------------------------------------------------------
# The advice
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Advice:
    """Everything the page and the CLI show. Money is a year over the horizon, averaged over the seeds."""

    answers: Answers
    scenario: Scenario                       # the first seed's scenario (the one whose per-play metrics are shown)
    levels: dict[str, float]                 # side → operating level 0..1 (from the answers)
    recommendation: str                      # 'crm' | 'cdp' | 'hybrid'
    verdict: str                             # 'robust' | 'uncertain' | 'not checked' (no sweep)
    robustness: dict[str, Any]               # seed share, joint moves, and why uncertain
    reasons: tuple[str, ...]                 # 3–4 sentences, each quoting a figure from the run
    risks: tuple[str, ...]
    net_value: dict[str, float]              # model → mean net value a year over the horizon
    net_value_range: dict[str, tuple[float, float]]  # model → (min, max) over the seeds
    incremental_revenue: dict[str, float]    # model → mean true incremental revenue, a steady year
    costs: pd.DataFrame                      # model, item, cost, shared, one_off, yearly (TCO line items)
    summary: pd.DataFrame                    # per model: revenue, send, unsubscribe, TCO, net value (means)
    plays: pd.DataFrame                      # per play and model: mean net value a year over the horizon, route shares
    metrics: pd.DataFrame                    # per play and model (first seed): reach, precision, lift
    hybrid_routes: dict[str, str]            # play → route on the first seed ('crm' | 'hybrid')
    routing: dict[str, Any]                  # how often the measured route matches the truth
    sweep: pd.DataFrame                      # knob, value, model, net_value (mean), low, high (over seeds)
    crossovers: dict[str, float | None]      # knob → median crossover over the seeds
    crossover_detail: dict[str, dict]        # knob → median, low, high, seeds_flipping, mean_curve, below, above, ...
    tornado: pd.DataFrame                    # knob, label, low_value, high_value, margin_low, margin_high, span
    well_vs_poorly: pd.DataFrame             # variant, model, net_value, recommendation (CRM held fixed)
    seeds: tuple[int, ...]
    timings: dict[str, float]
    baseline: float = 0.0                    # no targeted campaigns: value a year (only the CRM seats sales keeps)
    year_one: dict[str, float] | None = None          # model → year one (build delay and one-off costs in full)
    steady_state: dict[str, float] | None = None      # model → a steady-state year after recurring costs

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (what ``audience-lab advise --json`` prints)."""
        return json_safe({
            "recommendation": self.recommendation, "verdict": self.verdict, "robustness": self.robustness,
            "horizon_years": self.answers.horizon_years, "baseline": self.baseline, "year_one": self.year_one,
            "steady_state": self.steady_state,
            "reasons": list(self.reasons), "risks": list(self.risks), "levels": self.levels,
            "net_value": self.net_value, "net_value_range": {m: list(v) for m, v in self.net_value_range.items()},
            "incremental_revenue": self.incremental_revenue,
            "tco": self.costs.groupby("model")["yearly"].sum().to_dict(),
            "cost_items": self.costs.to_dict(orient="records"),
            "hybrid_routes": self.hybrid_routes, "routing": self.routing,
            "crossovers": self.crossovers, "crossover_detail": self.crossover_detail,
            "scenario": self.scenario.to_dict(), "answers": self.answers.to_dict(),
            "summary": self.summary.to_dict(orient="records"), "plays": self.plays.to_dict(orient="records"),
            "tornado": self.tornado.to_dict(orient="records"),
            "well_vs_poorly": self.well_vs_poorly.to_dict(orient="records"),
            "seeds": list(self.seeds), "timings": self.timings,
        })


def advise(answers: Answers, progress: Progress | None = None, sweep: bool = True, seeds: int = 10,
           knobs: Iterable[str] | None = None, workers: int = 2) -> Advice:
    """Simulate the business the answers describe on ``seeds`` worlds and recommend CRM, CDP or hybrid.

    ``knobs`` are the swept knobs (default: all of :data:`SWEEP_KNOBS`); the joint moves of both
    sides' levels are run when ``sweep`` is on, the well-vs-poorly-run points always.
    ``workers`` > 0 runs the seeds in that many spawned processes (the calling script must be
    import-safe); results are identical either way. ``progress(fraction, message)`` is called as
    seeds complete.
    """
    answers.check()
    if seeds < 1:
        raise AnswerError("seeds", f"at least one seed is needed (got {seeds})")
    knobs = tuple(SWEEP_KNOBS) if knobs is None else tuple(knobs)
    bad = [k for k in knobs if k not in SWEEP_KNOBS]
    if bad:
        raise AnswerError("knobs", f"unknown knob {bad[0]!r}; accepted: {', '.join(SWEEP_KNOBS)}")
    tick = progress or (lambda f, msg: None)
    t0 = time.perf_counter()
    tick(0.02, "generating worlds like yours")
    seed_list = tuple(answers.seed + i for i in range(seeds))
    plays = PLAYS_OF[answers.business_model]
    points, alias, delays = _points(answers, knobs if sweep else (), joint=sweep)
    results = _run_seeds(answers, points, plays, seed_list, workers, tick)
    t_sim = time.perf_counter() - t0

    def money(seed: int, key: tuple) -> dict:
        return results[seed]["money"][alias[key]]

    prior_of = priors(answers, {s: money(s, ("base",)) for s in seed_list})

    def point_net(seed: int, key: tuple, **kw: Any) -> Net:
        """One point of one seed, valued over the horizon with that point's build delays."""
        return net_at(answers, money(seed, key), delays=delays[key], prior=prior_of[seed], **kw)

    base_nets = {s: point_net(s, ("base",)) for s in seed_list}
    net = {m: float(np.mean([base_nets[s].net[m] for s in seed_list])) for m in (*MODELS, BASELINE)}
    net_range = {m: (float(min(base_nets[s].net[m] for s in seed_list)), float(max(base_nets[s].net[m] for s in seed_list)))
                 for m in MODELS}
    year_one = {m: float(np.mean([base_nets[s].year_one[m] for s in seed_list])) for m in (*MODELS, BASELINE)}
    steady = {m: float(np.mean([base_nets[s].steady[m] for s in seed_list])) for m in (*MODELS, BASELINE)}
    rec = best_of(net)
    runner = sorted((m for m in MODELS if m != rec), key=lambda m: -net[m])[0]
    levels = operating_levels(answers)

    # ---- per play and model (means over seeds), routing agreement
    k = scale(answers)
    play_rows, agree = [], []
    for p in plays:
        for m in MODELS:
            vals = [base_nets[s][1][p][m] for s in seed_list]
            row = {"play": p, "model": m, "net_value_12m": float(np.mean(vals))}
            for f in ("true_incremental_revenue", "send_cost", "fatigue_cost"):
                row[f + "_12m"] = float(np.mean([k * money(s, ("base",))[p][_route_model(base_nets[s], p, m)][f]
                                                 for s in seed_list]))
            if m == "hybrid":
                row["hybrid_route_share"] = float(np.mean([base_nets[s].routes[p] == "hybrid" for s in seed_list]))
            if m == "crm+cdp":
                row["cdp_route_share"] = float(np.mean([base_nets[s].both_routes[p] == "cdp" for s in seed_list]))
            play_rows.append(row)
        agree += [base_nets[s][2][p] == true_route(money(s, ("base",))[p]) for s in seed_list]
    plays_df = pd.DataFrame(play_rows)
    routing = {"agreement": float(np.mean(agree)) if agree else None, "decisions": len(agree),
               "rule": "hybrid route only when the 95% interval of its measured net gain over the CRM segment lies above 0",
               "crm_cdp_rule": "CRM + CDP: the CDP audience where the posterior mean of its gain over the CRM segment "
                               "(prior: the other simulated worlds; test: the team's holdout at its volume) is above 0",
               "test_value_year": float(np.mean([base_nets[s].test_value for s in seed_list])),
               "crm_cdp_routes": dict(base_nets[seed_list[0]].both_routes)}

    costs = tco(answers)
    totals = tco_totals(answers)
    summary = pd.DataFrame([{
        "model": m,
        "incremental_revenue_12m": float(plays_df.loc[plays_df["model"] == m, "true_incremental_revenue_12m"].sum()),
        "send_cost_12m": float(plays_df.loc[plays_df["model"] == m, "send_cost_12m"].sum()),
        "unsubscribe_cost_12m": float(plays_df.loc[plays_df["model"] == m, "fatigue_cost_12m"].sum()),
        "tco_12m": totals[m], "net_value_12m": net[m], "year_one": year_one[m], "steady_state_year": steady[m]}
        for m in MODELS] + [{"model": BASELINE, "incremental_revenue_12m": 0.0, "send_cost_12m": 0.0,
                             "unsubscribe_cost_12m": 0.0, "tco_12m": totals[BASELINE], "net_value_12m": net[BASELINE],
                             "year_one": year_one[BASELINE], "steady_state_year": steady[BASELINE]}])
    inc = dict(zip(summary["model"], summary["incremental_revenue_12m"]))

    # ---- sweeps, crossovers over seeds, tornado
    sweep_df, detail, tornado = _sweeps(answers, knobs if sweep else (), seed_list, point_net) if sweep else (
        pd.DataFrame(columns=["knob", "value", "model", "net_value", "low", "high"]), {}, _empty_tornado())
    crossovers = {kn: d["median"] for kn, d in detail.items()}
    robustness = _robustness(answers, rec, seed_list, base_nets, point_net) if sweep else {"checked": False}
    verdict = ("robust" if robustness.get("robust") else "uncertain") if sweep else "not checked"
    wvp = _well_vs_poorly(answers, seed_list, point_net)

    first = seed_list[0]
    metrics = pd.DataFrame(results[first]["metrics"])
    routes = dict(base_nets[first].routes)
    if len(metrics):
        metrics["hybrid_route"] = [routes[p] if m == "hybrid" else None for p, m in zip(metrics["play"], metrics["model"])]
    reasons = _reasons(answers, rec, runner, net, plays_df, metrics, levels, totals, detail, verdict, robustness, len(seed_list))
    risks = _risks(answers, rec, totals, levels)
    tick(1.0, "done")
    return Advice(answers=answers, scenario=answers_to_scenario(answers), levels=levels, recommendation=rec,
                  verdict=verdict, robustness=robustness, reasons=tuple(reasons), risks=tuple(risks), net_value=net,
                  net_value_range=net_range, incremental_revenue=inc, costs=costs, summary=summary, plays=plays_df,
                  metrics=metrics, hybrid_routes=routes, routing=routing, sweep=sweep_df, crossovers=crossovers,
                  crossover_detail=detail, tornado=tornado, well_vs_poorly=wvp, seeds=seed_list,
                  baseline=net[BASELINE], year_one=year_one, steady_state=steady,
                  timings={"simulation_seconds": round(t_sim, 2), "total_seconds": round(time.perf_counter() - t0, 2),
                           "points": len(points), "seeds": len(seed_list)})


def _route_model(n: Net, play: str, model: str) -> str:
    return {"hybrid": n.routes, "crm+cdp": n.both_routes}.get(model, {}).get(play, model)


def _empty_tornado() -> pd.DataFrame:
    return pd.DataFrame(columns=["knob", "label", "low_value", "high_value", "margin_low", "margin_high", "span"])


def _knob_net(answers: Answers, knob: str, v: float, seed: int, point_net: Callable) -> dict[str, float]:
    if SWEEP_KNOBS[knob]["kind"] == "money":
        return point_net(seed, ("base",), cdp_cost_factor=v).net
    fte = v * CDP_FTE_NEEDED if knob == "cdp_level" else None  # the data team the level stands for
    return point_net(seed, (knob, v), data_fte=fte).net


def _sweeps(answers: Answers, knobs: Sequence[str], seed_list: Sequence[int], point_net: Callable):
    rows, detail, tornado_rows = [], {}, []
    for knob in knobs:
        spec = SWEEP_KNOBS[knob]
        current = _base_value(knob, answers)
        values = _knob_values(knob, current)
        per_seed = {s: _table(answers, knob, values, s, point_net) for s in seed_list}
        stacked = pd.concat(per_seed.values(), ignore_index=True)
        agg = stacked.groupby(["value", "model"], sort=True)["net_value"].agg(["mean", "min", "max"]).reset_index()
        mean_table = agg.rename(columns={"mean": "net_value"}).assign(knob=knob)[["knob", "value", "model", "net_value"]]
        for r in agg.itertuples(index=False):
            rows.append({"knob": knob, "value": float(r.value), "model": r.model, "net_value": float(r.mean),
                         "low": float(r.min), "high": float(r.max)})
        xs = [crossover_of(t, current) for t in per_seed.values()]
        flips = [x for x, _, _ in xs if x is not None]
        mean_x, below, above = crossover_of(mean_table, current)
        detail[knob] = {"median": float(np.median(flips)) if flips else None,
                        "low": float(min(flips)) if flips else None, "high": float(max(flips)) if flips else None,
                        "seeds_flipping": len(flips), "seeds": len(seed_list), "mean_curve": mean_x,
                        "value": mean_x, "below": below, "above": above, "label": spec["label"], "unit": spec["unit"],
                        "current": current, "answer": spec["answer"]}
        wide = mean_table.pivot(index="value", columns="model", values="net_value").sort_index()
        margin = wide[["cdp", "hybrid", "crm+cdp"]].max(axis=1) - wide["crm"]
        tornado_rows.append({"knob": knob, "label": spec["label"], "low_value": float(wide.index[0]),
                             "high_value": float(wide.index[-1]), "margin_low": float(margin.iloc[0]),
                             "margin_high": float(margin.iloc[-1]), "span": float(margin.max() - margin.min())})
    order = {k: i for i, k in enumerate(SWEEP_KNOBS)}
    rows.sort(key=lambda r: (order[r["knob"]], r["value"], MODELS.index(r["model"])))
    sweep_df = pd.DataFrame(rows, columns=["knob", "value", "model", "net_value", "low", "high"])
    tornado = pd.DataFrame(tornado_rows, columns=_empty_tornado().columns)
    if len(tornado):
        tornado = tornado.sort_values("span", ascending=False, kind="mergesort", ignore_index=True)
    return sweep_df, detail, tornado


def _table(answers: Answers, knob: str, values: Sequence[float], seed: int, point_net: Callable) -> pd.DataFrame:
    rows = []
    for v in values:
        nv = _knob_net(answers, knob, v, seed, point_net)
        rows += [{"knob": knob, "value": v, "model": m, "net_value": nv[m]} for m in MODELS]
    return pd.DataFrame(rows)


def _robustness(answers: Answers, rec: str, seed_list: Sequence[int], base_nets: dict, point_net: Callable) -> dict[str, Any]:
    """Does the verdict hold across seeds and with both sides' levels moved together?"""
    wins = [best_of(base_nets[s].net) == rec for s in seed_list]
    share = float(np.mean(wins))
    joint = {}
    levels = operating_levels(answers)
    for name in ("better", "worse"):
        nets = [point_net(s, ("joint", name),
                          data_fte=min(1.0, max(0.0, levels["cdp"] + (LEVEL_STEP if name == "better" else -LEVEL_STEP))))[0]
                for s in seed_list]
        mean = {m: float(np.mean([n[m] for n in nets])) for m in MODELS}
        joint[name] = {"net_value": mean, "winner": best_of(mean),
                       "seed_share": float(np.mean([best_of(n) == rec for n in nets]))}
    failed = []
    if share < FIRM_SHARE:
        failed.append(f"{NAMES[rec]} wins in only {sum(wins)} of {len(wins)} simulated worlds")
    for name, j in joint.items():
        if j["winner"] != rec:
            failed.append(f"with both teams one level {name} {NAMES[j['winner']]} wins instead")
    return {"checked": True, "robust": not failed, "seed_share": share, "seed_wins": int(sum(wins)),
            "seeds": len(wins), "joint": joint, "failed": failed}


def _well_vs_poorly(answers: Answers, seed_list: Sequence[int], point_net: Callable) -> pd.DataFrame:
    """The same business with the CDP run well (level 1, one data FTE paid) and poorly (level 0),
    the CRM held at the user's own level, same tracking and customers."""
    rows = []
    for name, lvl in (("well-run CDP", 1.0), ("poorly run CDP", 0.0)):
        nets = [point_net(s, ("cdp_level", lvl), data_fte=lvl * CDP_FTE_NEEDED).net for s in seed_list]
        mean = {m: float(np.mean([n[m] for n in nets])) for m in MODELS}
        rec = best_of(mean)
        rows += [{"variant": name, "model": m, "net_value": mean[m], "recommendation": rec} for m in MODELS]
    return pd.DataFrame(rows)


def well_vs_poorly_run(answers: Answers, progress: Progress | None = None, seeds: int = 10, workers: int = 2) -> pd.DataFrame:
    """The well-run vs poorly run CDP comparison alone (CRM held at the user's level)."""
    return advise(answers, progress=progress, seeds=seeds, knobs=(), workers=workers).well_vs_poorly


# --------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------

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


def knob_fmt(knob: str, v: float | None) -> str:
    if v is None:
        return "n/a"
    unit = SWEEP_KNOBS[knob]["unit"]
    if unit == "share":
        return f"{v:.0%}"
    if unit == "level":
        return f"{v:.2f}"
    return f"{v:.2f}× your CDP cost"


def _level_phrase(answers: Answers, levels: Mapping[str, float]) -> str:
    s = answers_to_settings(answers)
    crm_send = "triggered workflows" if s["crm_send_mode"] == "triggered" else _batch_words(s["crm_send_every_days"])
    cdp_send = "triggered journeys" if s["cdp_send_mode"] == "triggered" else _batch_words(s["cdp_send_every_days"])
    return (f"Both sides as your team would run them: the CRM {level_words(levels['crm'])} (level {levels['crm']:.2f}: "
            f"{answers.crm_admins:g} admin FTE, {answers.crm_hygiene} hygiene, {crm_send}, lists refreshed every "
            f"{s['crm_list_refresh_minutes']:,.0f} minutes); the CDP {level_words(levels['cdp'])} (level {levels['cdp']:.2f}: "
            f"{answers.data_people:g} data FTE, {'real-time' if s['cdp_mode'] == 'realtime' else 'batch'} audiences, "
            f"synced every {s['cdp_sync_minutes']:,.0f} minutes, new audiences in {s['cdp_build_days']:.1f} days, {cdp_send}).")


def _batch_words(days: int) -> str:
    return {1: "daily batch sends", 7: "weekly batch sends"}.get(int(days), f"batch sends every {days} days")


def _reasons(answers, rec, runner, net, plays_df, metrics, levels, totals, detail, verdict, robustness, n_seeds) -> list[str]:
    h = answers.horizon_years
    base = net.get(BASELINE)
    if base is not None and base >= net[rec]:
        nothing = (f" Running no targeted campaigns at all (only the CRM seats sales keeps) nets {_money_fmt(base)} a year, "
                   f"more than any model: at this size no model pays for its tools.")
    elif base is not None:
        nothing = (f" Against no targeted campaigns ({_money_fmt(base)} a year: only the CRM seats sales keeps) "
                   f"{NAMES[rec]} adds {_money_fmt(net[rec] - base)} a year.")
    else:
        nothing = ""
    years = f"{h:g} year{'s' if h != 1 else ''}"
    head = (f"{NAMES[rec]} has the highest net value a year over {years}: {_money_fmt(net[rec])} against "
            f"{_money_fmt(net[runner])} for {NAMES[runner]}")
    out = [head + f" (mean of {n_seeds} simulated worlds; true incremental revenue minus send, unsubscribe and "
                  f"ownership costs, build time a one-off delay, one-off costs spread)." + nothing]
    # The play that contributes most to the gap *in the recommended direction* (the recommendation's
    # largest lead over the runner-up); when it leads on no play, the cost of ownership decides.
    wide = plays_df.pivot(index="play", columns="model", values="net_value_12m")
    gap = wide[rec] - wide[runner]
    cost_gap = totals[runner] - totals[rec]
    top = gap.idxmax()
    title = _title(top)
    line = (f"The play that contributes most to that gap is '{title}': {NAMES[rec]} nets {_money_fmt(wide.loc[top, rec])} "
            f"a year on it against {_money_fmt(wide.loc[top, runner])} for {NAMES[runner]} ({'+' if gap[top] >= 0 else ''}"
            f"{_money_fmt(gap[top])})")
    if len(metrics):
        fp = metrics[metrics["play"] == top].set_index("model")
        route = dict(zip(fp.index, fp["hybrid_route"])).get("hybrid") or "hybrid"
        shown = {m: (route if m == "hybrid" else m) for m in (rec, runner)}
        if all(v in fp.index for v in shown.values()):
            line += (f"; in the first world {NAMES[rec]} reaches {_pct(fp.loc[shown[rec], 'timely_reach'])} of the people "
                     f"who truly qualify within the action window, {NAMES[runner]} {_pct(fp.loc[shown[runner], 'timely_reach'])}")
            if "hybrid" in (rec, runner) and route == "crm":
                line += " (the hybrid runs this play on the CRM segment)"
    line += "."
    if gap[top] < 0:
        worst = gap.idxmin()
        line = (f"{NAMES[runner]} nets more on every play (most on '{_title(worst)}', {_money_fmt(-gap[worst])} a year), "
                f"but costs more to own: {NAMES[runner]} {_money_fmt(totals[runner])} a year, {NAMES[rec]} "
                f"{_money_fmt(totals[rec])}, so the cost of ownership decides.")
    elif abs(gap[top]) < 0.01 * abs(net[rec] - net[runner]):
        line = (f"No play separates {NAMES[rec]} and {NAMES[runner]}: each nets about the same on both (at most "
                f"{_money_fmt(abs(gap[top]))} a year apart, on '{title}'), so the gap is the cost of ownership: "
                f"{NAMES[runner]} {_money_fmt(totals[runner])} a year, {NAMES[rec]} {_money_fmt(totals[rec])}.")
    elif abs(cost_gap) > abs(gap[top]):
        line = (f"Ownership costs decide more than any play: {NAMES[runner]} costs {_money_fmt(totals[runner])} a year, "
                f"{NAMES[rec]} {_money_fmt(totals[rec])}. " + line)
    out.append(line)
    out.append(_level_phrase(answers, levels))
    if verdict == "robust":
        j = robustness["joint"]
        out.append(f"Robust: {NAMES[rec]} wins in {robustness['seed_wins']} of {robustness['seeds']} worlds and still wins "
                   f"with both teams one level better ({_money_fmt(j['better']['net_value'][rec])}) or one level worse "
                   f"({_money_fmt(j['worse']['net_value'][rec])}).")
    elif verdict == "uncertain":
        out.append("Uncertain: " + "; ".join(robustness["failed"]) + "." + _nearest_flip(detail))
    else:
        out.append(f"Not checked for robustness: the sweep was skipped ({n_seeds} worlds simulated at your answers only).")
    return out


def _nearest_flip(detail: Mapping[str, dict]) -> str:
    flips = [(k, d) for k, d in detail.items() if d["median"] is not None and d["unit"] != "× your CDP cost"]
    if not flips:
        return ""
    k, d = min(flips, key=lambda kd: abs(kd[1]["median"] - kd[1]["current"]))
    label = d["label"].split(" (")[0]
    label = label[0].lower() + label[1:]
    return (f" The nearest flip: {label}, in {d['seeds_flipping']} of {d['seeds']} worlds, at {knob_fmt(k, d['median'])} "
            f"(median; range {knob_fmt(k, d['low'])}–{knob_fmt(k, d['high'])}; yours {knob_fmt(k, d['current'])}).")


def _title(play: str) -> str:
    from core.engine.plays import PLAYS

    return PLAYS[play].title if play in PLAYS else play


def _risks(answers: Answers, rec: str, totals: Mapping[str, float], levels: Mapping[str, float]) -> list[str]:
    out = []
    if levels["cdp"] < 0.25:
        out.append(f"Over-investing in a CDP the team cannot operate: with {answers.data_people:g} data/engineering FTE "
                   f"(about {CDP_FTE_NEEDED:g} is needed) the CDP would be {level_words(levels['cdp'])} — batch audiences, "
                   f"unmaintained identity rules, slow shipping — and its {_money_fmt(totals['cdp'])} a year buys "
                   "stale audiences. Every CDP figure here already assumes that.")
    elif rec in ("cdp", "hybrid"):
        out.append(f"A CDP is only as good as its operation: the {NAMES[rec]} result assumes {min(answers.data_people, CDP_FTE_NEEDED):g} "
                   "FTE keeps tracking, identity rules and syncs healthy; the CDP sweep shows how fast value falls without it.")
    if levels["crm"] < 0.25:
        out.append(f"A CRM nobody runs: with {answers.crm_admins:g} admin FTE and {answers.crm_hygiene} data the CRM is "
                   f"{level_words(levels['crm'])} — duplicates, gaps, slow syncs and lists — in every model, since every "
                   "model keeps it as the system of record.")
    sprawl = max(0, answers.channels - 2)
    out.append(f"The CRM quietly becoming a bottleneck: {answers.channels} channels feeding contact fields means field sprawl "
               f"({sprawl} duplicate field(s) per concept in this world) and manual updates by reps and marketers.")
    if answers.marketing_automation == "no":
        out.append("No marketing automation: the CRM cannot trigger a message when someone enters a list and sees no "
                   "visits, so every behavioural play runs from list exports.")
    if answers.budget_year > 0:
        over = [NAMES[m] for m in MODELS if totals[m] > answers.budget_year]
        if over:
            out.append(f"Budget: {', '.join(over)} cost more than the {_money_fmt(answers.budget_year)} a year you set aside.")
    if answers.login_share < 0.1 and rec != "crm":
        out.append(f"Only {answers.login_share:.0%} of visits are identified: the CDP's audiences rest on a small, stitched minority.")
    return out


def text_report(advice: Advice) -> str:
    """Plain-text report for the CLI."""
    a = advice
    head = f"Recommendation: {NAMES[a.recommendation]}" + (f" ({a.verdict})" if a.verdict != "not checked" else "")
    lines = [head, "", "Why:"] + [f"  - {r}" for r in a.reasons]
    h = a.answers.horizon_years
    lines += ["", f"Net value a year over {h} years (mean of {len(a.seeds)} worlds; revenue a steady year - sends - "
                  "unsubscribes - ownership, build time a one-off delay, one-off costs spread):"]
    for _, r in a.summary.iterrows():
        lo, hi = a.net_value_range.get(r["model"], (r["net_value_12m"], r["net_value_12m"]))
        lines.append(f"  {NAMES[r['model']]:21} revenue {_money_fmt(r['incremental_revenue_12m']):>9}  sends {_money_fmt(r['send_cost_12m']):>8}"
                     f"  unsubscribes {_money_fmt(r['unsubscribe_cost_12m']):>8}  ownership {_money_fmt(r['tco_12m']):>8}"
                     f"  net {_money_fmt(r['net_value_12m']):>9}  year one {_money_fmt(r['year_one']):>9}  steady year "
                     f"{_money_fmt(r['steady_state_year']):>9}  (worlds {_money_fmt(lo)} to {_money_fmt(hi)})")
    if a.routing.get("test_value_year") is not None:
        routes = ", ".join(f"{_title(p)} → {r.upper()}" for p, r in (a.routing.get("crm_cdp_routes") or {}).items())
        lines.append(f"  CRM + CDP routes (first world): {routes}; the holdout tests behind them are worth "
                     f"{_money_fmt(a.routing['test_value_year'])} a year over the prior alone.")
    lines += ["", "Ownership costs a year (every model with campaigns keeps the CRM and a sending tool; one-off lines "
                  f"spread over {h} years):"]
    shared = a.costs[(a.costs["model"] == "crm")]
    lines += [f"  all models  {r.item:38} {_money_fmt(r.yearly):>9}" for r in shared.itertuples()]
    extra = a.costs[~a.costs["shared"] & (a.costs["model"] == "hybrid")]
    lines += [f"  CDP/hybrid  {r.item:38} {_money_fmt(r.yearly):>9}" if "connector" not in r.item else
              f"  hybrid      {r.item:38} {_money_fmt(r.yearly):>9}" for r in extra.itertuples()]
    if a.crossover_detail:
        lines += ["", f"Where the answer flips (median and range over {len(a.seeds)} worlds):"]
        for k, d in a.crossover_detail.items():
            if d["median"] is None:
                lines.append(f"  {d['label']}: {NAMES[d['below']]} throughout the swept range in every world")
            else:
                mean = ("; the mean curve never flips" if d["mean_curve"] is None else
                        f"; on the mean curve {NAMES[d['below']]} below, {NAMES[d['above']]} above {knob_fmt(k, d['mean_curve'])}")
                lines.append(f"  {d['label']}: flips in {d['seeds_flipping']} of {d['seeds']} worlds at {knob_fmt(k, d['median'])} "
                             f"(median; range {knob_fmt(k, d['low'])}–{knob_fmt(k, d['high'])}){mean}; yours {knob_fmt(k, d['current'])}")
    if len(a.well_vs_poorly):
        lines += ["", "Well-run vs poorly run CDP (same customers, tracking and CRM; only the CDP's operation and its data FTE change):"]
        for v, g in a.well_vs_poorly.groupby("variant", sort=False):
            nv = dict(zip(g["model"], g["net_value"]))
            lines.append(f"  {v:15} CRM {_money_fmt(nv['crm']):>9}  CDP {_money_fmt(nv['cdp']):>9}  hybrid "
                         f"{_money_fmt(nv['hybrid']):>9}  → {NAMES[g['recommendation'].iloc[0]]}")
    if a.routing["agreement"] is not None:
        lines.append(f"\nHybrid routing on measured holdout results matched the simulator's truth in "
                     f"{a.routing['agreement']:.0%} of {a.routing['decisions']} play decisions.")
    lines += ["", "Risks:"] + [f"  - {r}" for r in a.risks]
    lines.append(f"\n(simulated {a.answers.sim_people:,} people over {a.answers.sim_days} days on {len(a.seeds)} seeds "
                 f"({a.seeds[0]}–{a.seeds[-1]}) in {a.timings['total_seconds']:.1f} s; preset {a.scenario.preset})")
    return "\n".join(lines) + "\n"


__all__ = ["Advice", "AnswerError", "Answers", "advise", "answers_from_profile", "answers_to_scenario",
           "answers_to_settings", "crossover_of", "measured_route", "net_at", "operating_levels", "send_settings",
           "tco", "text_report", "well_vs_poorly_run"]
