"""Money over a horizon: what the fit advisor compares, independent of how many days were simulated.

The simulated campaigns run after a warm-up shared by both sides (build time zero after it), so
the simulated window measures *steady state*; scaled by the business's monthly active customers
over the world's own monthly actives in that window (:func:`simulated_actives`) and 365 /
simulated days it is a steady yearly value per play and route. Over a horizon of H years (the answers' ``horizon_years``):

    value a year = steady × (1 − min(build days / 365, H) / H)   — build time is a one-off delay
    − recurring costs − one-off costs / H                         — one-off costs spread over H

so neither the build time nor a one-off cost is charged against a short window scaled up, and
the recommendation does not move with ``sim_days``. Year one (the delay and one-off cost in
full) and the steady-state year are reported beside it.

Models: the CRM (its segments), the CDP (its audiences, even for the CRM's home plays), the
hybrid (CDP audiences synced into the CRM's tool, routed per play on the team's holdout tests,
core.advice.fit.measured_route), and **CRM + CDP** — both systems priced in full, each play run
on the better of the CRM segment and the CDP audience, the route decided from a prior (what the
simulated worlds like the business say, leaving the world at hand out) updated by the team's own
holdout test (normal–normal). The value of that test is reported: the true yearly value of the
routes with the test minus the routes the prior alone would pick. And a do-nothing baseline (no
targeted campaigns: only the CRM seats sales keeps) beside them all.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from core.advice.costs import BASELINE, tco_split

MODELS = ("crm", "cdp", "hybrid", "crm+cdp")
#: z for the 95% intervals a team reads its holdout tests with.
Z95 = 1.959964


class Net(NamedTuple):
    """One point of one seed, money a year over the horizon."""

    net: dict[str, float]                  # model (and 'none') → value a year over the horizon, after costs
    per_play: dict[str, dict[str, float]]  # play → model → value a year over the horizon (before fixed costs)
    routes: dict[str, str]                 # the hybrid's route per play ('crm' | 'hybrid')
    both_routes: dict[str, str]            # CRM + CDP: route per play ('crm' | 'cdp')
    steady: dict[str, float]               # model → a steady-state year after recurring costs
    year_one: dict[str, float]             # model → year one: build delay and one-off costs in full
    test_value: float                      # CRM + CDP: true value a year of testing vs the prior alone


#: Days simulated before the measured window opens, for both sides alike: a generated world's first
#: weeks still hold the people who were in market when it starts (a burst of open needs that a
#: steady business does not have), so campaigns launch after this warm-up and only ``sim_days``
#: after it are scaled to a year (assumed: about one in-market episode, 30 days in the presets).
WARM_UP_DAYS = 30


@lru_cache(maxsize=256)
def _simulated_actives(business_model: str, people: int, sim_days: int) -> float:
    from core.advice.fit import PRESET_OF  # the business model → preset map lives with the questionnaire
    from synthetic import preset_config
    from synthetic.arrivals import monthly_actives

    # no answer moves a preset's lifetime, job changes or growth, so the preset's own law holds
    cfg = preset_config(PRESET_OF[business_model], people=int(people), days=int(sim_days) + WARM_UP_DAYS)
    return monthly_actives(cfg, from_day=WARM_UP_DAYS)


def simulated_actives(answers: Any) -> float:
    """Monthly active customers of one simulated world in its measured window (not its people:
    a world of D days holds everyone active at some time in it, more than any month's actives)."""
    return _simulated_actives(answers.business_model, int(answers.sim_people), int(answers.sim_days))


def volume(answers: Any) -> float:
    """The business's monthly active customers per simulated one: how many simulated worlds' worth
    of customers the business has (a team's test runs on this many times the simulated volume)."""
    return answers.monthly_active_customers / simulated_actives(answers)


def steady_scale(answers: Any) -> float:
    """Simulated window → a steady year of the business's monthly active customers.

    Scaled by the world's monthly actives, not its people (issue 19): with people, a 180-day
    window's money was understated by (1 + 210/S)/(1 + 90/S) against a 60-day one (S the mean
    stay: 200 days in b2c-retail, 400 in plg-saas), which moved the product-led advice with
    ``sim_days``."""
    return volume(answers) * (365.0 / answers.sim_days)


def delay_share(build_days: float, horizon_years: float) -> tuple[float, float]:
    """(share of the horizon lost to the build, share of year one lost)."""
    years = max(float(build_days), 0.0) / 365.0
    return min(years, horizon_years) / horizon_years, min(years, 1.0)


def measured_net(x: Mapping[str, Any]) -> tuple[float, float] | None:
    """A route's measured net (measured incremental revenue − sends − unsubscribes) and its standard
    error, in simulated units; None when the test could not be read."""
    if x["sends"] == 0:
        return 0.0, 0.0
    if x["measured_revenue"] is None or x["measured_revenue_low"] is None or x["measured_revenue_high"] is None:
        return None
    se = (x["measured_revenue_high"] - x["measured_revenue_low"]) / (2 * Z95)
    return x["measured_revenue"] - x["send_cost"] - x["fatigue_cost"], se


def bayes_route(prior: tuple[float, float] | None, test: tuple[float, float] | None) -> str:
    """'cdp' when the posterior mean of the CDP-minus-CRM gap is above zero, else 'crm'.

    ``prior`` and ``test`` are (mean, standard deviation); either may be None (then the other
    decides; with neither, the CRM segment the business already runs stays)."""
    if test is None and prior is None:
        return "crm"
    if test is None:
        return "cdp" if prior[0] > 0 else "crm"
    if prior is None or prior[1] <= 0:
        post = test[0]
    elif test[1] <= 0:
        post = test[0]
    else:
        w0, w1 = 1 / prior[1] ** 2, 1 / test[1] ** 2
        post = (prior[0] * w0 + test[0] * w1) / (w0 + w1)
    return "cdp" if post > 0 else "crm"


def test_of(answers: Any, play_money: Mapping[str, Mapping[str, Any]], k: float) -> tuple[float, float] | None:
    """The team's holdout test of CDP vs CRM on one play, a year's worth in currency: (gap, se).

    The team tests on its own volume, V = customers / simulated people times the simulated one, so
    both its error and its standard error are the simulated ones over √V: the simulated test's miss
    (measured minus true net) shrinks by √V around the true gap — a draw of what a test that size
    would read. Narrowing only the standard error would keep the small world's miss and trust it
    V-fold (that made the tests worth less than the prior alone)."""
    crm, cdp = measured_net(play_money["crm"]), measured_net(play_money["cdp"])
    if crm is None or cdp is None:
        return None
    root = math.sqrt(max(volume(answers), 1.0))

    def at_volume(x: Mapping[str, Any], measured: float) -> float:
        truth = x["true_net_value"]
        return truth + (measured - truth) / root

    gap = at_volume(play_money["cdp"], cdp[0]) - at_volume(play_money["crm"], crm[0])
    return k * gap, k * math.hypot(crm[1], cdp[1]) / root


def priors(answers: Any, money_by_seed: Mapping[int, Mapping[str, Mapping[str, Any]]]) -> dict[int, dict[str, tuple[float, float] | None]]:
    """Per seed and play, the prior on the CDP-minus-CRM yearly gap: mean and spread of the true
    gaps in the *other* simulated worlds like this business (the world at hand left out)."""
    k = steady_scale(answers)
    gaps = {s: {p: k * (pm["cdp"]["true_net_value"] - pm["crm"]["true_net_value"]) for p, pm in m.items()}
            for s, m in money_by_seed.items()}
    out: dict[int, dict[str, tuple[float, float] | None]] = {}
    for s, per in gaps.items():
        out[s] = {}
        for p in per:
            others = [gaps[o][p] for o in gaps if o != s]
            if not others:
                out[s][p] = None
            elif len(others) == 1:
                out[s][p] = (others[0], abs(others[0]) or 1.0)
            else:
                out[s][p] = (float(np.mean(others)), float(np.std(others, ddof=1)) or 1.0)
    return out


def net_over_horizon(answers: Any, money: Mapping[str, Mapping[str, Mapping[str, Any]]],
                     hybrid_routes: Mapping[str, str], delays: tuple[float, float],
                     prior: Mapping[str, tuple[float, float] | None] | None = None,
                     cdp_cost_factor: float = 1.0, data_fte: float | None = None) -> Net:
    """Value a year over the horizon per model at one point of one seed (see the module docstring).

    ``delays`` = (CRM build days, CDP build days) of this point; ``hybrid_routes`` the hybrid's
    measured route per play; ``prior`` the CRM + CDP prior per play (None: the test alone)."""
    horizon = float(answers.horizon_years)
    k = steady_scale(answers)
    both = {p: bayes_route((prior or {}).get(p), test_of(answers, pm, k)) for p, pm in money.items()}
    by_prior = {p: bayes_route((prior or {}).get(p), None) if (prior or {}).get(p) else "crm" for p in money}
    build = {"crm": delays[0], "cdp": delays[1], "hybrid": delays[1]}
    per_play, steady_play, one_play = {}, {}, {}
    for p, pm in money.items():
        route = {"crm": "crm", "cdp": "cdp", "hybrid": hybrid_routes[p], "crm+cdp": both[p]}
        per_play[p], steady_play[p], one_play[p] = {}, {}, {}
        for m in MODELS:
            steady = k * pm[route[m]]["true_net_value"]
            lost_h, lost_1 = delay_share(build[route[m]], horizon)
            per_play[p][m] = steady * (1 - lost_h)
            steady_play[p][m] = steady
            one_play[p][m] = steady * (1 - lost_1)
    costs = tco_split(answers, cdp_cost_factor, data_fte)
    net, steady, year_one = {}, {}, {}
    for m in (*MODELS, BASELINE):
        c = costs[m]
        plays = sum(pp.get(m, 0.0) for pp in per_play.values())
        net[m] = plays - c["recurring"] - c["one_off"] / horizon
        steady[m] = sum(pp.get(m, 0.0) for pp in steady_play.values()) - c["recurring"]
        year_one[m] = sum(pp.get(m, 0.0) for pp in one_play.values()) - c["recurring"] - c["one_off"]
    test_value = sum(k * (pm[both[p]]["true_net_value"] - pm[by_prior[p]]["true_net_value"]) for p, pm in money.items())
    return Net(net, per_play, dict(hybrid_routes), both, steady, year_one, float(test_value))


def best_of(net: Mapping[str, float], models: Sequence[str] = MODELS) -> str:
    """The model with the highest value; ties to the simpler one (the order of ``models``)."""
    return max(models, key=lambda m: (round(net[m], 6), -models.index(m)))

