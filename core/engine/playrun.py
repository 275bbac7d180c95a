"""Run one play through truth, CRM, CDP and hybrid: membership and activation intervals.

Everything the measures need comes from one :class:`PlayRun`, computed once per (world, play,
engine and activation settings) and shared by freshness, overlap and lift.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from core.engine.activation import ActivationConfig, activated_intervals
from core.engine.views import MODELS, Engine
from core.engine.plays import Play
from core.engine.rules import FieldCond, Rule, iter_conditions


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
    for model in models:
        if model == "hybrid" and "cdp" in members and not _uses_fields(play.rule("cdp")):
            members[model] = members["cdp"]  # same audience, same events: only the sync differs
        else:
            members[model] = engine.intervals(play.rule(model), "hybrid" if model == "hybrid" else model)
    return PlayRun(play=play, engine=engine, activation=activation, truth=truth, members=members,
                   active=_activate(engine, members, activation))


def with_activation(run: PlayRun, activation: ActivationConfig) -> PlayRun:
    """The same membership under other activation settings (sync, build days): no rule re-evaluation."""
    return replace(run, activation=activation, active=_activate(run.engine, run.members, activation))


def _activate(engine: Engine, members: dict[str, pd.DataFrame], activation: ActivationConfig) -> dict[str, pd.DataFrame]:
    """Membership → reachable intervals; anonymous CDP profiles cannot be reached by a sending tool."""
    world = engine.world
    addressable = engine.resolution.profiles.set_index("profile_id")["addressable"]
    return {m: activated_intervals(iv, m, activation, world.start, world.end, addressable if m != "crm" else None)
            for m, iv in members.items()}


def _uses_fields(rule: Rule) -> bool:
    """Hybrid runs the CDP audience on the CDP's events; only CRM field conditions can differ."""
    return any(isinstance(c, FieldCond) for c in iter_conditions(rule.root))
