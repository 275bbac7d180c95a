"""A scenario's world and a play's results through the disk cache, as the dashboard asks for them,
and pre-building ("warming") a workshop's worlds before the room arrives.

The dashboard (``pages/_worlds.py``) and :func:`warm` build the same entries with the same keys
from here, so a world a facilitator warmed is the one every session's page then reads: the world's
entry is keyed by its full config (:func:`core.advice.diskcache.world_key`), a play's results by
:func:`results_key`. What is cached is exactly what the pages read (:func:`result_parts`), so a page
shows the same figures whether the results were computed now or read back.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Sequence
from typing import Any

from core.advice.diskcache import DiskCache
from core.advice.scenario import Scenario, build_engine, build_world, play_results
from core.engine.plays import Play
from synthetic.world import World


def result_parts(engine: Any, s: Scenario, p: Play) -> dict[str, Any]:
    """A play's results as plain parts (frames, dicts, the play as evaluated): what the pages read,
    without the engine, so they can be shared, kept with their world and written to disk."""
    r = play_results(engine, p, s)
    return {"truth": r.run.truth, "members": r.run.members, "active": r.run.active, "freshness": r.freshness,
            "curves": r.curves, "lift": r.lift, "overlap_mid": r.overlap_mid, "overlap_series": r.overlap_series,
            "need": r.run.need, "play": r.run.play}


def results_key(s: Scenario, p: Play) -> dict[str, Any]:
    """Everything a play's results depend on: the world's config, the engine (identity and stack
    knobs), activation and campaign settings, the yardstick, the scenario as set, and the play with
    its rules."""
    return {"world": s.world_config(), "engine": s.engine_config(), "activation": s.activation(),
            "campaign": s.campaign(), "yardstick": s.yardstick, "scenario": s.to_dict(), "play": p}


def scenario_world(cache: DiskCache | None, s: Scenario) -> World:
    """The scenario's world, read from the cache or generated (and written)."""
    if cache is None:
        return build_world(s)
    return cache.world(s.world_config(), lambda: build_world(s))


def scenario_results(cache: DiskCache | None, engine: Any, s: Scenario, p: Play) -> dict[str, Any]:
    """The play's :func:`result_parts` on ``engine`` (the scenario's world), read or computed."""
    if cache is None:
        return result_parts(engine, s, p)
    return cache.value("results", results_key(s, p), lambda: result_parts(engine, s, p))


# --------------------------------------------------------------------------- warming
def _warm_one(args: tuple[str, int, Scenario, Play]) -> tuple[str, float]:
    root, max_bytes, s, p = args
    t0 = time.perf_counter()
    cache = DiskCache(root, max_bytes)
    engine = build_engine(s, scenario_world(cache, s))
    scenario_results(cache, engine, s, p)
    changed = f" with {len(s.settings)} settings changed" if s.settings else ""
    return f"{s.preset}, seed {s.seed}, {s.people:,} people, {s.days} days{changed}", round(time.perf_counter() - t0, 2)


def warm(cache: DiskCache, items: Sequence[tuple[Scenario, Play]], workers: int = 1) -> list[tuple[str, float]]:
    """Build every scenario's world and its play's results into ``cache`` (a facilitator preparing
    a workshop), in ``workers`` processes; entries already there are only read. Returns each item's
    label and seconds. Processes, not threads: building is Python work that one interpreter lock
    would serialise, and the cache's file locks make processes safe together."""
    jobs = [(str(cache.root), cache.max_bytes, s, p) for s, p in items]
    if workers <= 1 or len(jobs) <= 1:
        return [_warm_one(job) for job in jobs]
    ctx = multiprocessing.get_context("spawn" if os.name != "posix" else "forkserver")
    with ctx.Pool(min(workers, len(jobs))) as pool:
        return pool.map(_warm_one, jobs, chunksize=1)


__all__ = ["result_parts", "results_key", "scenario_results", "scenario_world", "warm"]
