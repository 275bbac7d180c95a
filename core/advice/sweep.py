"""Where the winner flips: sweep one knob, rerun the play, find the crossover.

The winner of a play is the model with the highest *true* net value (incremental revenue the
simulator knows minus send and unsubscribe costs). A crossover is read off by linear interpolation
of the CDP-minus-CRM difference between the two sweep points where its sign changes.

:func:`evaluate_points` is the fit advisor's work-horse: it runs the plays of many scenarios that
share a preset, seed and size (a sweep's points), generating each distinct world once, building
each distinct identity configuration once per world and re-running only activation and campaigns
where nothing else changed. It is a module-level function of plain values so a worker process
can run one seed of a sweep.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from core.measures.campaign import CampaignConfig, simulate, true_value
from core.engine.views import MODELS
from core.engine.playrun import run_play
from core.engine.plays import Play

#: Knobs swept by default, with the values tried (low → high).
DEFAULT_SWEEPS: dict[str, tuple[float, ...]] = {
    "coverage_web": (0.1, 0.3, 0.5, 0.7, 0.95),
    "identified_share": (0.02, 0.1, 0.25, 0.5, 0.8),
    "cdp_sync_minutes": (5.0, 60.0, 360.0, 1440.0, 4320.0),
    "cdp_build_days": (1.0, 7.0, 14.0, 30.0, 60.0),
}


def net_values(scenario, play: Play) -> dict[str, float]:
    """True net value per model for one scenario (true incremental revenue − send, unsubscribe and fixed costs)."""
    from core.advice.scenario import build_engine

    engine = build_engine(scenario)
    run = run_play(engine, play, scenario.activation())
    cfg = scenario.campaign()
    return {model: true_value(run, model, cfg).true_net_value for model in run.models}


@dataclass(frozen=True)
class Crossover:
    knob: str
    value: float | None          # None when the winner never flips in the swept range
    winner_low: str
    winner_high: str

    def to_dict(self) -> dict[str, Any]:
        return {"knob": self.knob, "value": self.value, "winner_low": self.winner_low, "winner_high": self.winner_high}


def sweep(scenario, play: Play, knob: str, values: Sequence[float],
          progress: Callable[[float], None] | None = None) -> pd.DataFrame:
    """Net value per model at each knob value: ``knob, value, model, net_value``."""
    rows = []
    for i, v in enumerate(values):
        nv = net_values(scenario.with_settings(**{knob: v}), play)
        rows += [{"knob": knob, "value": float(v), "model": m, "net_value": x} for m, x in nv.items()]
        if progress:
            progress((i + 1) / len(values))
    return pd.DataFrame(rows)


def best_model(net: Mapping[str, float]) -> str:
    """The model with the highest net value; ties go to the simpler, cheaper one (crm, cdp, hybrid)."""
    order = (*MODELS, "crm+cdp")  # the fit advisor's CRM + CDP is the most complex of all
    return max(net, key=lambda m: (round(net[m], 6), -(order.index(m) if m in order else len(order))))


def crossover_of(table: pd.DataFrame, current: float | None = None) -> tuple[float | None, str, str]:
    """Where the best model changes along one knob's sweep: (value, best below, best above).

    Linear interpolation, between the two adjacent sweep points where the best model changes, of
    the net-value difference of the two models best on either side. When the best model changes
    more than once, the change nearest to ``current`` (the user's own value) is the one reported:
    it is the one that flips *their* answer. ``(None, best at low end, best at high end)`` when
    the best model never changes in the swept range.
    """
    wide = table.pivot(index="value", columns="model", values="net_value").sort_index()
    xs = wide.index.to_numpy(dtype=float)
    best = [best_model(wide.loc[x].to_dict()) for x in xs]
    changes = []
    for i in range(len(xs) - 1):
        a, b = best[i], best[i + 1]
        if a != b:
            d0 = wide.loc[xs[i], b] - wide.loc[xs[i], a]
            d1 = wide.loc[xs[i + 1], b] - wide.loc[xs[i + 1], a]
            x = xs[i] + (xs[i + 1] - xs[i]) * (0 - d0) / (d1 - d0) if d1 != d0 else (xs[i] + xs[i + 1]) / 2
            changes.append((float(min(max(x, xs[i]), xs[i + 1])), a, b, i))
    if not changes:
        return None, best[0], best[-1]
    if current is None:
        x, a, b, _ = changes[0]
    else:
        pos = int(np.searchsorted(xs, current))  # grid position of the user's value
        # Change i lies between grid points i and i+1: distance 0 when the user's value is one of them.
        x, a, b, _ = min(changes, key=lambda c: (max(0, c[3] - pos, pos - (c[3] + 1)), abs(c[0] - current)))
    return x, a, b


def crossover(table: pd.DataFrame, a: str = "cdp", b: str = "crm") -> Crossover:
    """Where the better of ``a`` and ``b`` changes along the sweep (the first change)."""
    value, below, above = crossover_of(table[table["model"].isin((a, b))])
    return Crossover(str(table["knob"].iloc[0]), value, below, above)


# --------------------------------------------------------------------------------------------
# Many scenarios of one world family, evaluated with shared work (the fit advisor's sweeps)
# --------------------------------------------------------------------------------------------

#: What each campaign reports back to the advisor: truth (for the verdict) and the measured
#: lift a team's own holdout test would show (for routing the hybrid).
MONEY_FIELDS = ("true_net_value", "true_incremental_revenue", "send_cost", "fatigue_cost", "sends",
                "measured_revenue", "measured_revenue_low", "measured_revenue_high")


def campaign_money(result) -> dict[str, float | None]:
    """The figures of one :class:`~core.measures.campaign.CampaignResult` the advisor keeps."""
    rep = result.report
    measured = lo = hi = None
    # A holdout too small *here* is not too small for a business many times the simulated size:
    # the advisor narrows the interval to the business's volume (core.advice.fit.measured_route).
    if rep is not None and rep.incremental_revenue is not None:
        measured, lo, hi = rep.incremental_revenue, rep.incremental_revenue_ci_low, rep.incremental_revenue_ci_high
    return {"true_net_value": float(result.true_net_value), "true_incremental_revenue": float(result.true_incremental_revenue),
            "send_cost": float(result.send_cost), "fatigue_cost": float(result.fatigue_cost), "sends": int(result.sends),
            "measured_revenue": _finite(measured), "measured_revenue_low": _finite(lo), "measured_revenue_high": _finite(hi)}


def _finite(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def evaluate_points(preset: str, seed: int, people: int, days: int, points: Mapping[Any, Mapping[str, Any]],
                    play_names: Sequence[str], models: Sequence[str] = ("crm", "cdp", "hybrid"),
                    detail_key: Any = None) -> dict[str, Any]:
    """Money of every play and model at each point (a full settings dict), sharing what is shared.

    Returns ``{"money": {key: {play: {model: campaign_money}}}, "metrics": [rows]}`` where
    ``metrics`` (timely reach, precision, measured and true lift per play and model) is filled for
    ``detail_key`` only. Deterministic: the same inputs give the same numbers in any process.
    """
    from core.advice.scenario import Scenario, build_world
    from core.engine.playrun import with_activation
    from core.engine.plays import get_play
    from core.engine.views import Engine

    scenarios = {key: Scenario.make(preset, seed, people, days, dict(settings)) for key, settings in points.items()}
    by_world: dict[tuple, list] = {}
    for key, sc in scenarios.items():
        world_part, *_ = sc.split()
        by_world.setdefault(_frozen(world_part), []).append((key, sc, repr(sc.engine_config())))
    plays = [get_play(n, preset) for n in play_names]
    money: dict[Any, dict] = {key: {} for key in scenarios}
    metrics: list[dict] = []
    for items in by_world.values():
        world = build_world(items[0][1])
        by_identity: dict[tuple, list] = {}
        for key, sc, ident in items:
            by_identity.setdefault(ident, []).append((key, sc))
        for group in by_identity.values():
            engine = Engine(world, group[0][1].engine_config())
            for play in plays:
                base_act = group[0][1].activation()
                run = run_play(engine, play, base_act, models=tuple(models))
                for key, sc in group:
                    act = sc.activation()
                    r = run if act == base_act else with_activation(run, act)
                    cfg = sc.campaign()
                    results = {m: simulate(r, m, cfg) for m in models}
                    money[key][play.name] = {m: campaign_money(res) for m, res in results.items()}
                    if key == detail_key:
                        metrics += _play_metrics(r, play, results)
    return {"money": money, "metrics": metrics}


def _frozen(d: Mapping[str, Any]) -> tuple:
    return tuple(sorted(d.items()))


def _play_metrics(run, play: Play, results: Mapping[str, Any]) -> list[dict]:
    """Timely reach and precision (what the pages show) beside each campaign's lift, per model."""
    from core.measures.freshness import freshness_table
    from core.measures.overlap import overlap_at

    try:
        fresh = freshness_table(run).set_index("model")
    except Exception:  # noqa: BLE001 - a model without any activation: reach shown as n/a
        fresh = None
    ov = overlap_at(run, run.start + (run.end - run.start) / 2)
    rows = []
    for m, res in results.items():
        rep = res.report
        reach = fresh.loc[m, "share_within_window"] if fresh is not None and m in fresh.index else None
        rows.append({"play": play.name, "play_title": play.title, "model": m,
                     "timely_reach": _finite(reach), "precision": _finite(ov["models"].get(m, {}).get("precision")),
                     "sends": int(res.sends), "relevant_share": float(res.relevant_share),
                     "measured_abs_lift": _finite(rep.abs_lift) if rep else None,
                     "true_abs_lift": _finite(rep.true_abs_lift) if rep else None,
                     "p_value": _finite(rep.p_value) if rep else None})
    return rows
