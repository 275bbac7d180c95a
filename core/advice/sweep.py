"""Where the winner flips: sweep one knob, rerun the play, find the crossover.

The winner of a play is the model with the highest *true* net value (incremental revenue the
simulator knows minus send costs). A crossover is read off by linear interpolation of the
CDP-minus-CRM difference between the two sweep points where its sign changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from core.measures.campaign import CampaignConfig, simulate
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
    """True net value per model for one scenario (incremental revenue − send cost)."""
    from core.advice.scenario import build_engine

    engine = build_engine(scenario)
    run = run_play(engine, play, scenario.activation())
    cfg = scenario.campaign()
    out = {}
    for model in run.models:
        r = simulate(run, model, cfg)
        out[model] = r.true_incremental_revenue - cfg.cost_per_send * r.sends - cfg.fixed_cost
    return out


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
    return max(net, key=lambda m: (round(net[m], 6), -MODELS.index(m)))


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
