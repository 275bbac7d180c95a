"""Worlds and what is computed from them, shared by every session of the server (the caches).

Every session of a workshop asks for the same worlds and the same results: each is computed once
and shared (sessions asking at once wait for the first). Worlds are the memory, so the store
(core/advice/store.py) counts every live world — cached, still used by a page, being built —
against one budget, and a new world waits for memory when the budget is full. What is computed
from a world (a play's results, the Scenario page's summary and charts) lives with that world
and is freed with it. Worlds and play results are also kept on disk (core/advice/diskcache.py,
``AUDIENCE_LAB_CACHE_DIR`` / ``AUDIENCE_LAB_CACHE_MB``): a world memory let go, or one an earlier
server or ``audience-lab warm`` built, is read back instead of built again."""
from __future__ import annotations

import gc
import json
import logging
import os
import time
from typing import Any, Callable

import streamlit as st

from core.advice.fit import PRESET_OF, advise
from core.engine.views import Engine
from core.ingest.observed import ObservedWorld
from core.advice.diskcache import CacheRefused, from_env
from core.advice.prebuild import scenario_results, scenario_world
from core.advice.scenario import PlayResults, Scenario, build_engine
from core.advice.store import WorldStore, limit_malloc_arenas, max_people, world_key, world_mb
from core.engine.playrun import PlayRun
from core.engine.plays import Play
from core.errors import UserError
from pages._state import check_link_rules, current_play
from synthetic.world import World

#: Megabytes all live worlds may take together (their measured resident size). Sized with
#: bench/bench_ws_load.py so a server with 30 sessions stays under the 2 GB workshop target;
#: raise it on a bigger machine. The largest world a link may ask for is what fits in it.
WORLDS_MB = float(os.environ.get("AUDIENCE_LAB_WORLDS_MB", "900"))
#: Resident size of the whole server above which idle cached worlds are let go before a build.
SERVER_MB = float(os.environ.get("AUDIENCE_LAB_SERVER_MB", "1500"))
#: Heavy computations at once (building a world, running a play, the fit advisor): one per core.
#: More would only share the two cores, add their working memory and finish everyone later.
WORK_SLOTS = int(os.environ.get("AUDIENCE_LAB_WORK_SLOTS", "2"))
#: Seconds a page waits for memory before its world is built beyond the budget (and the page says
#: so). Worlds nobody shows are let go at once, so a wait means other sessions' pages are drawing
#: from their worlds right now; a few seconds covers that on a busy machine (issue 23: a silent
#: 600 s wait was worse than a brief overshoot, which the RSS guard still bounds).
ADMIT_WAIT_S = float(os.environ.get("AUDIENCE_LAB_ADMIT_WAIT_S", "5"))


# Streamlit runs a full garbage collection after every script run (runner.postScriptGC); with the
# libraries' ~190,000 objects that cost 0.09 CPU-s a run, most of a warm page's work. Frozen
# objects (everything imported so far) are skipped by the collector; they are module-level and
# live as long as the server anyway. Frozen here, when this module is first imported, and never
# inside a page run: a frozen object is never collected, so freezing while a page ran froze that
# run's globals (a reference cycle through the page's functions), and the world the page then
# put in them stayed alive, counted against the budget, for the life of the server (issue 23).
gc.freeze()


@st.cache_resource(show_spinner=False)
def _store() -> WorldStore:
    """One store per server process, shared by every session."""
    limit_malloc_arenas(2)  # as MALLOC_ARENA_MAX=2 (set by `make run` too): freed worlds go back to the OS
    return WorldStore(WORLDS_MB, WORK_SLOTS, admit_wait_s=ADMIT_WAIT_S, rss_mb=SERVER_MB, disk=_disk_cache())


def _disk_cache():
    """The server's disk cache from the environment, or None (turned off, or a folder that is not
    safe: the server then runs as before, and its log says why)."""
    try:
        return from_env()
    except (CacheRefused, ValueError) as exc:
        logging.getLogger(__name__).warning("disk cache off: %s", exc)
        return None


def _build(key: Scenario):
    engine = build_engine(key, scenario_world(_store().disk, key))
    engine.resolution  # identity resolution once, up front
    return engine


def get_engine(s: Scenario):
    """The world and its DuckDB engine, built once per world and shared by every session.
    Activation and campaign knobs reuse the world (:func:`core.advice.store.world_key`)."""
    mb = world_mb(s.preset, s.people, s.days)
    if mb > WORLDS_MB:
        raise UserError(f"a world of {s.people:,} people over {s.days} days needs about {mb:,.0f} MB and this "
                        f"server keeps its worlds within {WORLDS_MB:,.0f} MB (AUDIENCE_LAB_WORLDS_MB); choose "
                        f"at most {max_people(s.preset, s.days, WORLDS_MB):,} people")
    key = world_key(s)
    return _store().get(key, lambda: _build(key), mb)


def per_world(engine, key: Any, compute: Callable[[], Any], heavy: bool = False) -> Any:
    """``compute()`` once per world for every session (a summary, a chart, a table), kept while
    the world lives. The value must not hold the engine. ``heavy`` work waits for a work slot."""
    return _store().memo(engine, key, compute, slot=heavy)


def results_key(s: Scenario, p: Play) -> tuple:
    """What a play's results depend on besides the world: every knob, the play and its rules."""
    return ("results", s, p.name, json.dumps(dict(p.crm), sort_keys=True), json.dumps(dict(p.cdp), sort_keys=True))


def get_results(s: Scenario, p: Play) -> PlayResults:
    """The play's results, computed once per scenario, play and rules for every session (the
    frames are shared: pages read them, never change them)."""
    engine = get_engine(s)
    parts = per_world(engine, results_key(s, p), lambda: scenario_results(_store().disk, engine, s, p), heavy=True)
    # the play as evaluated (the scenario's yardstick applied) and its latent need travel with the run
    run = PlayRun(play=parts.get("play", p), engine=engine, activation=s.activation(), truth=parts["truth"],
                  members=parts["members"], active=parts["active"], need=parts.get("need"))
    return PlayResults(run=run, freshness=parts["freshness"], curves=parts["curves"], lift=parts["lift"],
                       overlap_mid=parts["overlap_mid"], overlap_series=parts["overlap_series"])


def shared_advice(answers: Any, progress: Callable[[float, str], None] | None = None, **options: Any):
    """The fit advisor's answer, computed once per set of answers and options for every session,
    in a background job: each waiting session's ``progress`` shows how far it is, and a session
    that stops waiting (a rerun, a closed tab) does not stop it for the others."""
    key = ("advice", answers, tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items())))
    mb = 2 * world_mb(PRESET_OF.get(answers.business_model, ""), answers.sim_people, answers.sim_days)
    job = _store().job(key, lambda tick: advise(answers, progress=tick, **options), mb)
    while not job.wait(0.5):
        if progress is not None:
            progress(job.fraction, job.message)
    return job.result()


def prepare_job(steps: list[tuple[str, Scenario, Play]]):
    """Build every given step's world and results in a background job (the facilitator's "Prepare all
    steps"), once for every session asking; the job's progress says which step it is on. The worlds
    and results land in the shared store, so each step then opens from memory."""
    key = ("prepare", tuple((s, results_key(s, p)) for _, s, p in steps))

    def work(tick: Callable[[float, str], None]) -> list[tuple[str, float]]:
        done = []
        for i, (title, s, p) in enumerate(steps):
            tick(i / len(steps), f"preparing {title} ({i + 1} of {len(steps)})")
            t0 = time.perf_counter()
            get_results(s, p)
            done.append((title, round(time.perf_counter() - t0, 1)))
        return done

    return _store().job(key, work, background=True)


def engine_or_stop(s: Scenario):
    """The scenario's engine, or the reason it cannot be built shown in place (and the page stops)."""
    ahead = _store().slots.ahead()
    queue = f" — {ahead} piece{'s' if ahead != 1 else ''} of work ahead in the queue" if ahead else ""
    try:
        with st.spinner(f"Building the world ({s.people:,} people, {s.days} days) and the CRM / CDP views{queue}…"):
            engine = get_engine(s)
    except UserError as exc:
        st.error(str(exc))
        st.stop()
    late = _store().admitted_late(world_key(s))
    if late is not None:
        st.warning(f"The server's memory for worlds was full ({late:,.0f} MB counted of {WORLDS_MB:,.0f} MB) and "
                   f"nothing could be let go within {ADMIT_WAIT_S:g} s, so this world was built beyond the budget "
                   "rather than keep you waiting. Other sessions are using their worlds; a smaller world (People) "
                   "fits sooner.")
    check_link_rules(engine)
    return engine


def results_or_stop(s: Scenario, p: Play | None = None) -> PlayResults:
    """The play's results (``results.run.play`` is the play as evaluated, with the user's edits)."""
    engine_or_stop(s)
    p = current_play()  # after the check: a link's rule this world cannot evaluate was just dropped
    try:
        with st.spinner(f"Running the play '{p.title}' through truth, CRM, CDP and hybrid…"):
            return get_results(s, p)
    except UserError as exc:
        st.error(str(exc))
        st.stop()


#: What holds a world's memory: a page's global bound to one of these keeps the world alive.
_WORLD_TYPES = (Engine, World, ObservedWorld, PlayResults, PlayRun)


def _holds_world(value: Any, depth: int = 0) -> bool:
    if isinstance(value, _WORLD_TYPES):
        return True
    if depth < 2 and isinstance(value, (tuple, list)) and len(value) <= 16:
        return any(_holds_world(v, depth + 1) for v in value)
    if depth < 2 and isinstance(value, dict) and len(value) <= 64:
        return any(_holds_world(v, depth + 1) for v in value.values())
    return False


def forget_worlds(namespace: dict) -> list[str]:
    """Drop a finished page run's names that hold a world (its engine, world, results).

    Why: a page file runs as a module whose globals outlive the run whenever the page registers a
    widget callback (``on_click=_apply``): the session keeps the callback, the callback keeps the
    page's globals, and the globals kept the world the page last showed — one world per page per
    session counted as in use, so after a few worlds a build waited for memory nobody would free
    (issue 23). Callbacks read the scenario and the session state, never the world; a fragment
    (``st.fragment``) defined in a page must ask for its world again, as it reruns after this."""
    dropped = [name for name, value in list(namespace.items())
               if not name.startswith("__") and _holds_world(value)]
    for name in dropped:
        del namespace[name]
    return dropped
