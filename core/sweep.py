"""Where the winner flips: sweep one knob, rerun the play, find the crossover.

The winner of a play is the model with the highest *true* net value (incremental revenue the
simulator knows minus send costs). A crossover is read off by linear interpolation of the
CDP-minus-CRM difference between the two sweep points where its sign changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from core.campaign import CampaignConfig, simulate
from core.playrun import run_play
from core.plays import Play

#: Knobs swept by default, with the values tried (low → high).
DEFAULT_SWEEPS: dict[str, tuple[float, ...]] = {
    "coverage_web": (0.1, 0.3, 0.5, 0.7, 0.95),
    "identified_share": (0.02, 0.1, 0.25, 0.5, 0.8),
    "cdp_sync_minutes": (5.0, 60.0, 360.0, 1440.0, 4320.0),
    "cdp_build_days": (1.0, 7.0, 14.0, 30.0, 60.0),
}


def net_values(scenario, play: Play) -> dict[str, float]:
    """True net value per model for one scenario (incremental revenue − send cost)."""
    from core.scenario import build_engine

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


def crossover(table: pd.DataFrame, a: str = "cdp", b: str = "crm") -> Crossover:
    """Where ``a`` − ``b`` changes sign along the sweep (linear interpolation)."""
    wide = table.pivot(index="value", columns="model", values="net_value").sort_index()
    diff = (wide[a] - wide[b]).to_numpy()
    xs = wide.index.to_numpy(dtype=float)
    knob = str(table["knob"].iloc[0])
    win = lambda d: a if d > 0 else b  # noqa: E731
    for i in range(len(diff) - 1):
        if np.sign(diff[i]) != np.sign(diff[i + 1]) and diff[i] != diff[i + 1]:
            x = xs[i] + (xs[i + 1] - xs[i]) * (0 - diff[i]) / (diff[i + 1] - diff[i])
            return Crossover(knob, float(x), win(diff[i]), win(diff[i + 1]))
    return Crossover(knob, None, win(diff[0]), win(diff[-1]))
