"""Who wins a play, and how firmly: across yardsticks, across seeds, and as recorded with a world.

The winner between the CRM and the CDP is the model with the higher *true net value* (true
incremental revenue minus send and unsubscribe costs, :mod:`core.measures.campaign`). A verdict
is only worth stating when it survives a different yardstick and different random worlds; these
helpers say so, or say that it is uncertain.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from core.engine.playrun import PlayRun, rejudge, run_play, with_need
from core.engine.plays import NEEDS, YARDSTICKS, Play
from core.measures.campaign import CampaignConfig, true_value
from synthetic.io import recorded

#: Share of seeds one side must win for a verdict to be called firm rather than uncertain.
FIRM_SHARE = 0.8


def net_values(run: PlayRun, cfg: CampaignConfig, models: Iterable[str] = ("crm", "cdp", "hybrid", "blast")) -> dict[str, float]:
    """True net value per model (and the blast baseline) for one run."""
    return {m: true_value(run, m, cfg).true_net_value for m in models if m in (*run.models, "blast")}


def winner(net: dict[str, float], between: tuple[str, str] = ("crm", "cdp")) -> str:
    """The better of two models on true net value (ties to the first, the simpler one)."""
    a, b = between
    return b if net.get(b, float("-inf")) > net.get(a, float("-inf")) else a


def yardstick_verdicts(run: PlayRun, cfg: CampaignConfig | None = None) -> list[dict[str, Any]]:
    """How timely each side looks under each yardstick (membership reused, only the truth recomputed).

    Only the timely reach (freshness) moves: money follows the need, never the yardstick, so the
    verdict on money is in :func:`need_sensitivity` instead. ``cfg`` is accepted for old callers."""
    from core.measures.freshness import freshness_table

    out = []
    for y in YARDSTICKS:
        judged = run if y == run.play.yardstick else rejudge(run, y)
        fresh = freshness_table(judged).set_index("model")["share_within_window"]
        timely = {m: float(fresh[m]) for m in ("crm", "cdp") if m in fresh.index}
        out.append({"yardstick": y, "timely_reach": timely})
    return out


def need_sensitivity(run: PlayRun, cfg: CampaignConfig, models: Iterable[str] = ("crm", "cdp"),
                     latent: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """The CRM-vs-CDP verdict on money under each definition of the need (:data:`NEEDS`).

    Unlike a yardstick, the need moves the money: a message helps only someone who has it. So this
    panel shows how much the *definition* of need decides: the latent need (the default), each
    system's own rule on ground truth, and their intersection. Membership and activation are reused;
    only the need intervals are recomputed. ``latent``: the run's own net values per model when the
    caller already simulated them (its lift table), so the latent row is not simulated twice."""
    out = []
    models = tuple(m for m in models if m in run.models)
    for need in NEEDS:
        if need == "latent" and latent is not None and all(m in latent for m in models):
            net = {m: float(latent[m]) for m in models}  # the run's own physics: its lift table has them
        else:
            net = net_values(with_need(run, need), cfg, models)
        out.append({"need": need, "winner": winner(net), "net_value": net})
    return out


def verdict_over_seeds(scenario, play: Play, seeds: Iterable[int]) -> dict[str, Any]:
    """Who wins the play on each seed of the same scenario: shares, and whether the verdict is firm."""
    from core.advice.scenario import build_engine

    wins: list[str] = []
    gaps: list[float] = []
    for seed in seeds:
        s = scenario.__class__.make(scenario.preset, seed, scenario.people, scenario.days, dict(scenario.settings))
        run = run_play(build_engine(s), play, s.activation(), models=("crm", "cdp"))
        net = net_values(run, s.campaign(), ("crm", "cdp"))
        wins.append(winner(net))
        gaps.append(net["cdp"] - net["crm"])
    share_cdp = float(np.mean([w == "cdp" for w in wins])) if wins else float("nan")
    firm = share_cdp >= FIRM_SHARE or share_cdp <= 1 - FIRM_SHARE
    return {"seeds": len(wins), "share_cdp_wins": share_cdp,
            "verdict": ("cdp" if share_cdp >= 0.5 else "crm") if firm else "uncertain",
            "gap_median": float(np.median(gaps)) if gaps else None,
            "gap_range": (float(np.min(gaps)), float(np.max(gaps))) if gaps else None}


def recorded_ops(world_dir: str | Path) -> dict[str, str]:
    """The ops levels ``generate --ops`` recorded in a world folder's world.json (empty when none)."""
    return recorded(world_dir, "ops")
