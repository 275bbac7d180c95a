"""Run one play through truth, CRM, CDP and hybrid: membership and activation intervals.

Everything the measures need comes from one :class:`PlayRun`, computed once per (world, play,
engine and activation settings) and shared by freshness, overlap and lift.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.activation import ActivationConfig, activated_intervals
from core.engine import MODELS, Engine
from core.plays import Play


@dataclass(frozen=True)
class PlayRun:
    play: Play
    engine: Engine
    activation: ActivationConfig
    truth: pd.DataFrame                 # person-level truth intervals: subject_id(=person), person_id, enter, exit
    members: dict[str, pd.DataFrame]    # model → membership intervals per subject
    active: dict[str, pd.DataFrame]     # model → reachable intervals: person_id, subject_id, active_from, active_to

    @property
    def start(self) -> pd.Timestamp:
        return self.engine.world.start

    @property
    def end(self) -> pd.Timestamp:
        return self.engine.world.end

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.members)


def run_play(engine: Engine, play: Play, activation: ActivationConfig | None = None,
             models: tuple[str, ...] = MODELS) -> PlayRun:
    """Evaluate the play's truth rule and each model's rule exactly over the whole period."""
    activation = activation or ActivationConfig()
    world = engine.world
    truth = engine.intervals(play.rule("truth"), "truth")
    members: dict[str, pd.DataFrame] = {}
    active: dict[str, pd.DataFrame] = {}
    cdp_iv = None
    addressable = engine.resolution.profiles.set_index("profile_id")["addressable"]
    for model in models:
        if model in ("cdp", "hybrid") and cdp_iv is not None and _same_rule(play):
            iv = cdp_iv
        else:
            view = "hybrid" if model == "hybrid" else model
            iv = engine.intervals(play.rule(model), view)
        if model == "cdp":
            cdp_iv = iv
        members[model] = iv
        reach = addressable if model in ("cdp", "hybrid") else None
        active[model] = activated_intervals(iv, model, activation, world.start, world.end, reach)
    return PlayRun(play=play, engine=engine, activation=activation, truth=truth, members=members, active=active)


def _same_rule(play: Play) -> bool:
    """Hybrid runs the CDP audience; only field conditions differ between cdp and hybrid views."""
    return "field" not in repr(play.cdp)
