"""A scenario: everything a user can set, in one frozen, hashable value — and its results.

Pages, the CLI and the fit advisor all go through here, so a URL, a cache key and a JSON file
describe the same thing. ``Scenario`` is hashable (knob overrides are a sorted tuple), which makes
it a natural Streamlit cache key.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Mapping

import pandas as pd

from core.engine.activation import ActivationConfig
from core.measures.campaign import CampaignConfig, lift_table, simulate
from core.engine.views import Engine, EngineConfig
from core.errors import ConfigError
from core.measures.freshness import cumulative_curve, freshness_table, lags, qualifying_episodes
from core.engine.identity import IdentityConfig
from core.measures.overlap import overlap_at, overlap_series
from core.engine.playrun import PlayRun, run_play
from core.engine.plays import YARDSTICKS, Play, get_play, plays_for, with_yardstick
from core.advice.ops import GOOD_CRM, POOR_CRM, POORLY_RUN, WELL_RUN  # noqa: F401  (re-exported for pages)
from core.advice.stacks import ENGINE_KNOBS, STACK_KEYS, engine_knobs, stack_settings, stacks_in
from synthetic import generate, preset_config
from synthetic.world import World

#: Settings that are neither world, identity, activation nor campaign knobs (the chosen stack
#: profiles travel by name and expand into their knobs under the explicit settings).
SPECIAL = {"yardstick", *STACK_KEYS.values()}

_ACTIVATION = set(ActivationConfig.knob_names())
_IDENTITY = {f.name for f in fields(IdentityConfig)}
_CAMPAIGN = {f.name for f in fields(CampaignConfig)} - {"seed"}


@dataclass(frozen=True)
class Scenario:
    """Preset, seed, size and every knob (world, identity, activation, campaign) by name."""

    preset: str = "b2c-retail"
    seed: int = 7
    people: int = 20_000
    days: int = 90
    settings: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def make(cls, preset: str = "b2c-retail", seed: int = 7, people: int = 20_000, days: int = 90,
             settings: Mapping[str, Any] | None = None) -> "Scenario":
        return cls(preset, int(seed), int(people), int(days), tuple(sorted((settings or {}).items())))

    def with_settings(self, **changes: Any) -> "Scenario":
        merged = dict(self.settings)
        merged.update(changes)
        return replace(self, settings=tuple(sorted(merged.items())))

    @property
    def stacks(self) -> dict[str, str]:
        """The chosen stack profile of each role, ``{role: name}`` (core.advice.stacks)."""
        return stacks_in(dict(self.settings))

    def effective_settings(self) -> dict[str, Any]:
        """Every knob this scenario sets: its stack profiles' settings, then its own on top."""
        return {**stack_settings(self.stacks), **dict(self.settings)}

    def split(self) -> tuple[dict, dict, dict, dict]:
        """Settings by destination: world knobs, identity, activation, campaign."""
        world, identity, activation, campaign = {}, {}, {}, {}
        for key, value in self.effective_settings().items():
            if key in SPECIAL or key in ENGINE_KNOBS:
                continue
            if key in _IDENTITY:
                identity[key] = value
            elif key in _ACTIVATION:
                activation[key] = value
            elif key in _CAMPAIGN:
                campaign[key] = value
            else:
                world[key] = value
        return world, identity, activation, campaign

    def world_config(self):
        world, *_ = self.split()
        return preset_config(self.preset, seed=self.seed, people=self.people, days=self.days, overrides=world)

    def engine_config(self) -> EngineConfig:
        _, identity, _, _ = self.split()
        return EngineConfig(identity=_build(IdentityConfig, identity), **engine_knobs(self.effective_settings()))

    def activation(self) -> ActivationConfig:
        _, _, activation, _ = self.split()
        return _build(ActivationConfig, activation)

    def campaign(self) -> CampaignConfig:
        _, _, _, campaign = self.split()
        return _build(CampaignConfig, {"seed": self.seed, **campaign})

    @property
    def yardstick(self) -> str:
        """Which yardstick plays are judged on ('latent' unless a user picks another)."""
        value = dict(self.settings).get("yardstick", "latent")
        if value not in YARDSTICKS:
            raise ConfigError(f"unknown yardstick {value!r}; accepted: {', '.join(YARDSTICKS)}")
        return value

    def to_dict(self) -> dict[str, Any]:
        return {"preset": self.preset, "seed": self.seed, "people": self.people, "days": self.days,
                "settings": dict(self.settings)}


def _build(cls, values: Mapping[str, Any]):
    """A settings dataclass from its knobs; a wrongly typed value is a ConfigError, not a crash."""
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(str(exc)) from None


def build_world(scenario: Scenario) -> World:
    return generate(scenario.world_config())


def build_engine(scenario: Scenario, world: World | None = None) -> Engine:
    return Engine(world or build_world(scenario), scenario.engine_config())


@dataclass(frozen=True)
class PlayResults:
    """Every number the pages show for one play, computed once."""

    run: PlayRun
    freshness: pd.DataFrame
    curves: pd.DataFrame
    lift: pd.DataFrame
    overlap_mid: dict
    overlap_series: pd.DataFrame


def play_results(engine: Engine, play: Play, scenario: Scenario) -> PlayResults:
    if scenario.yardstick != play.yardstick and play.yardstick == "latent" and scenario.yardstick != "latent":
        play = with_yardstick(play, scenario.yardstick)
    run = run_play(engine, play, scenario.activation())
    episodes = qualifying_episodes(run)
    lg = {m: lags(run, m, episodes) for m in run.models}  # shared by the table and the curves
    curves = pd.concat([cumulative_curve(run, m, lg=lg[m]) for m in run.models], ignore_index=True)
    mid = run.start + (run.end - run.start) / 2
    return PlayResults(run=run, freshness=freshness_table(run, lg), curves=curves,
                       lift=lift_table(run, scenario.campaign()), overlap_mid=overlap_at(run, mid),
                       overlap_series=overlap_series(run))


def default_play(preset: str) -> Play:
    return plays_for(preset)[0] if preset not in ("b2c-retail", "omnichannel") else get_play("cart-abandonment")
