"""Streamlit glue shared by every page: the page list, the router, state, URL sync, the sidebar, caches.

``app.py`` calls :func:`route`, which registers :data:`PAGES` with ``st.navigation`` (so the
sidebar reads Scenario, Journeys, … and never "app"), sets up the shared frame (state from the
link, the world-and-play sidebar, the URL) and runs the chosen page. Page files stay thin: they
call :func:`frame` and draw. No business logic here: every number comes from ``core`` /
``synthetic``; pure helpers live in ``core/present``.
"""
from __future__ import annotations

import gc
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.errors import UserError
from core.advice.fit import PRESET_OF, advise
from core.advice.store import WorldStore, limit_malloc_arenas, max_people, world_key, world_mb
from core.engine.playrun import PlayRun
from core.engine.plays import Play, get_play, plays_for, with_rules
from core.engine.rules import parse_rule
from core.advice.scenario import POORLY_RUN, WELL_RUN, PlayResults, Scenario, build_engine, build_world, default_play, play_results
from core.present import measureview, workshop as workshop_story
from core.present.urlstate import MAX_QUERY_CHARS, PEOPLE_CHOICES, RULE_PARAMS, VIEW_PARAMS, decode_link, make_link
from synthetic.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]
SS = st.session_state


@dataclass(frozen=True)
class PageSpec:
    """One page of the dashboard: its file, sidebar name, icon and URL path ("" = the home page at /).

    ``scenario`` pages share the world-and-play sidebar and carry the scenario in the URL;
    ``view`` names the URL parameters the page owns (its own view, e.g. the Journeys person)."""

    file: str
    title: str
    icon: str
    url_path: str
    scenario: bool = True
    view: tuple[str, ...] = ()


#: The dashboard's pages in sidebar order. Adding a page is one line here; its url_path is
#: explicit so links keep working when a file is renamed (``/Freshness?preset=…`` opens Freshness).
PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/1_Scenario.py", "Scenario", ":material/science:", ""),
    PageSpec("pages/2_Journeys.py", "Journeys", ":material/route:", "Journeys", view=("case", "person")),
    PageSpec("pages/3_Segments.py", "Segments", ":material/filter_alt:", "Segments"),
    PageSpec("pages/4_Freshness.py", "Freshness", ":material/timer:", "Freshness"),
    PageSpec("pages/5_Overlap.py", "Overlap", ":material/join_inner:", "Overlap", view=("at",)),
    PageSpec("pages/6_Campaign_lift.py", "Campaign lift", ":material/trending_up:", "Campaign_lift"),
    PageSpec("pages/7_Fit.py", "Fit", ":material/balance:", "Fit", scenario=False),
    PageSpec("pages/8_Your_data.py", "Your data", ":material/upload_file:", "Your_data", scenario=False),
    PageSpec("pages/9_Compare.py", "Compare", ":material/compare_arrows:", "Compare", scenario=False),
)

#: The workshop story lives in core.present.workshop: each step sets knobs (and, where it needs one,
#: a play) and its sentence is rendered from the very figures the page shows.
WORKSHOP = workshop_story.STEPS

MODEL_NAMES = {"crm": "CRM segment", "cdp": "CDP audience"}

# --------------------------------------------------------------------------- routing
#: Per script-run thread: the page being run by :func:`route`. Streamlit's legacy ``pages/``
#: loader runs a page file directly on the very first run of a server (before any session has
#: called ``st.navigation``); :func:`ensure_routed` then hands that run to the router.
_RUN = threading.local()


def route() -> None:
    """Register the pages, set up the shared frame for the chosen page, and run it."""
    st.set_page_config(page_title="Audience Lab", page_icon=":material/science:", layout="wide")
    nav, specs = [], {}
    for i, spec in enumerate(PAGES):
        page = st.Page(ROOT / spec.file, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=(i == 0))
        nav.append(page)
        specs[page.url_path] = spec
    current = st.navigation(nav)
    spec = specs.get(current.url_path, PAGES[0])
    st.set_page_config(page_title=f"{spec.title} · Audience Lab")
    _RUN.spec = spec
    if spec.scenario:
        init_state(spec)
        sync_url()
        sidebar()
    try:
        current.run()
    finally:
        _RUN.spec = None


def _page_run_as_app() -> PageSpec | None:
    """The page whose file is itself the app's main script (``AppTest.from_file("pages/7_Fit.py")``,
    ``streamlit run pages/4_Freshness.py``), if any."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return None
    main = Path(ctx.main_script_path).resolve()
    return next((p for p in PAGES if (ROOT / p.file).resolve() == main), None)


def ensure_routed() -> None:
    """Make sure the shared frame is set up before a page draws.

    Through ``app.py`` the router already did it. A page file that is itself the main script gets
    the frame without navigation. Otherwise Streamlit's legacy ``pages/`` loader ran the page
    directly (the very first run of a server): route it properly, then stop this run."""
    if getattr(_RUN, "spec", None) is not None:
        return
    spec = _page_run_as_app()
    if spec is None:
        route()
        st.stop()
    st.set_page_config(page_title=f"{spec.title} · Audience Lab", layout="wide")
    if spec.scenario:
        init_state(spec)
        sync_url()
        sidebar()


def current_page() -> PageSpec:
    return getattr(_RUN, "spec", None) or _page_run_as_app() or PAGES[0]


def frame() -> tuple[Scenario, Play]:
    """What every scenario page calls first: the scenario and the play (with the user's edits)."""
    ensure_routed()
    return current_scenario(), current_play()


# --------------------------------------------------------------------------- state
def _state() -> dict:
    return SS["al_state"]


def init_state(spec: PageSpec) -> None:
    """Load the state from the URL when the URL is new (first load, shared link), else keep it.

    A link decides everything it names: its play's rules come from the link (no rule parameter =
    the library rule), the page's view from its view parameters. Each parameter that cannot be
    restored is named in a warning and falls back to its default."""
    qp = st.query_params.to_dict()
    if "al_state" in SS and not (qp and qp != SS.get("_al_enc")):
        return
    link = decode_link(qp)
    warnings = list(link.warnings)
    view = {k: v for k, v in link.view.items() if k in spec.view}
    for key in sorted(set(link.view) - set(view)):
        owner = next((p.title for p in PAGES if key in p.view), "another")
        warnings.append(f"ignored {key}: only the {owner} page uses it")
    for w in warnings:
        st.warning(f"Link parameter {w}.")
    old = SS.get("al_state", {})
    rules = {name: dict(edits) for name, edits in old.get("rules", {}).items()}
    if qp:
        rules[link.play] = dict(link.rules)
    views = {k: dict(v) for k, v in old.get("views", {}).items()}
    if qp:
        views[spec.url_path] = view
    SS["al_state"] = {"preset": link.scenario.preset, "seed": link.scenario.seed, "people": link.scenario.people,
                      "days": link.scenario.days, "play": link.play, "settings": dict(link.scenario.settings),
                      "rules": rules, "views": views, "unchecked_rules": {link.play: sorted(link.rules)} if qp else {},
                      "workshop": old.get("workshop", False), "workshop_step": old.get("workshop_step")}


def current_scenario() -> Scenario:
    s = _state()
    return Scenario.make(s["preset"], s["seed"], s["people"], s["days"], s["settings"])


def current_play() -> Play:
    s = _state()
    base = get_play(s["play"])
    edits = s["rules"].get(s["play"], {})
    return with_rules(base, crm=edits.get("crm"), cdp=edits.get("cdp")) if edits else base


def edited_rules(play_name: str) -> dict[str, dict]:
    """The play's rules that differ from the library (compared in canonical form), by model."""
    library = get_play(play_name)
    out = {}
    for model, rule in _state()["rules"].get(play_name, {}).items():
        if parse_rule(dict(rule)).to_dict() != parse_rule(dict(getattr(library, model))).to_dict():
            out[model] = dict(rule)
    return out


def set_rules(play_name: str, crm: dict | None = None, cdp: dict | None = None) -> None:
    rules = _state()["rules"].setdefault(play_name, {})
    if crm is not None:
        rules["crm"] = crm
    if cdp is not None:
        rules["cdp"] = cdp
    sync_url()


def reset_rule(play_name: str, model: str) -> None:
    """Back to the library rule for one model only: the other tab's edits stay."""
    _state()["rules"].get(play_name, {}).pop(model, None)
    sync_url()


def set_settings(settings: dict[str, Any], replace: bool = False) -> None:
    s = _state()
    s["settings"] = dict(settings) if replace else {**s["settings"], **settings}


def view_param(key: str) -> str | None:
    """A view parameter of the current page as the link gave it (or as the page last set it)."""
    return _state()["views"].get(current_page().url_path, {}).get(key)


def set_view(**values: Any) -> None:
    """Put the page's own view (e.g. ``person=17``) into the state and the URL."""
    spec = current_page()
    view = _state()["views"].setdefault(spec.url_path, {})
    for key, value in values.items():
        if key in spec.view and key in VIEW_PARAMS:
            view[key] = None if value is None else str(value)
    sync_url()


def view_from_link(param: str, widget_key: str, parse: Callable[[str], Any]) -> None:
    """When a link brought a new value for view parameter ``param``, put it into the widget.

    ``parse`` turns the text into the widget's value or raises ValueError saying what is wrong
    (shown as a warning naming the parameter). A value the page itself wrote (:func:`keep_view`)
    is not applied again, so moving the widget is never undone by the stale URL of the last run."""
    asked = view_param(param)
    if asked is None or asked == SS.get(f"_view_{param}"):
        return
    SS[f"_view_{param}"] = asked
    try:
        SS[widget_key] = parse(asked)
    except ValueError as exc:
        link_warning(param, str(exc))


def keep_view(**values: Any) -> None:
    """Record the widgets' current view in the state and the URL (after the widgets are drawn)."""
    for key, value in values.items():
        SS[f"_view_{key}"] = None if value is None else str(value)
    set_view(**values)


def link_warning(param: str, message: str) -> None:
    """Say on the page that a link parameter could not be restored, and what is shown instead."""
    st.warning(f"Link parameter ignored {param}: {message}.")


def sync_url() -> None:
    s = _state()
    view = {k: v for k, v in s["views"].get(current_page().url_path, {}).items() if v is not None}
    enc = make_link(current_scenario(), s["play"], edited_rules(s["play"]), view)
    if st.query_params.to_dict() != enc.params:
        st.query_params.from_dict(enc.params)
    SS["_al_enc"] = enc.params
    SS["_al_too_large"] = enc.too_large


def check_link_rules(engine) -> None:
    """Rules that came in a link are checked against this world's fields once; one that names a
    field or event this world does not have is dropped with a warning naming its parameter."""
    s = _state()
    pending = s.get("unchecked_rules", {})
    for play_name, models in list(pending.items()):
        edits = s["rules"].get(play_name, {})
        for model in models:
            if model not in edits:
                continue
            try:
                engine.sql(parse_rule(dict(edits[model])), model)
            except UserError as exc:
                edits.pop(model)
                link_warning(RULE_PARAMS[model], f"{exc}; showing the library rule")
        pending.pop(play_name, None)
    sync_url()


# --------------------------------------------------------------------------- sidebar
def _on_change(field: str, key: str) -> None:
    s = _state()
    value = SS[key]
    s[field] = value
    if field == "preset":
        names = [p.name for p in plays_for(value)]
        if s["play"] not in names:
            s["play"] = default_play(value).name


def _widget_value(key: str, value: Any) -> None:
    SS[key] = value


def sidebar() -> None:
    s = _state()
    with st.sidebar:
        st.markdown("### World and play")
        _widget_value("w_preset", s["preset"])
        st.selectbox("Business preset", list(PRESETS), key="w_preset", on_change=_on_change, args=("preset", "w_preset"),
                     format_func=lambda k: f"{PRESETS[k].title} ({k})", help="The kind of business the simulated customers behave like.")
        _widget_value("w_seed", int(s["seed"]))
        st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="w_seed", on_change=_on_change,
                        args=("seed", "w_seed"), help="Same seed and settings give the same world and the same numbers.")
        choices = sorted(set(PEOPLE_CHOICES) | {int(s["people"])})
        _widget_value("w_people", int(s["people"]))
        st.selectbox("People", choices, key="w_people", on_change=_on_change, args=("people", "w_people"),
                     format_func=lambda n: f"{n:,}", help="Size of the simulated customer base. Larger worlds take longer to build.")
        names = [p.name for p in plays_for(s["preset"])]
        _widget_value("w_play", s["play"])
        st.selectbox("Play", names, key="w_play", on_change=_on_change, args=("play", "w_play"),
                     format_func=lambda n: get_play(n).title, help="The marketing goal compared across the models.")
        edited = edited_rules(s["play"])
        if edited:
            st.caption("This play uses the " + " and ".join(MODEL_NAMES[m] for m in sorted(edited))
                       + " edited on the Segments page.")
        for model, size in sorted(SS.get("_al_too_large", {}).items()):
            st.warning(f"The edited {MODEL_NAMES[model]} is too long for a link ({size:,} characters; a link carries "
                       f"{MAX_QUERY_CHARS:,}). A shared link opens the library rule: download the rule (JSON) on "
                       "the Segments page and send the file.")
        _widget_value("w_workshop", bool(s.get("workshop", False)))
        st.toggle("Workshop mode", key="w_workshop", on_change=_on_change, args=("workshop", "w_workshop"),
                  help="A guided four-step story with buttons that set the knobs.")
        if s.get("workshop"):
            workshop()


def _apply_step(i: int) -> None:
    step = WORKSHOP[i]
    s = _state()
    set_settings(dict(step.settings), replace=True)
    play_name = step.play_for(s["preset"])
    if play_name and play_name in [p.name for p in plays_for(s["preset"])]:
        s["play"] = play_name
    s["workshop_step"] = i


def workshop() -> None:
    st.markdown("#### Guided story")
    current = _state().get("workshop_step")
    for i, step in enumerate(WORKSHOP):
        with st.expander(step.title, expanded=(current == i)):
            if current == i:
                _narrate(step)
            else:
                st.write(step.intro)
            st.button("Set the knobs", key=f"ws_{i}", on_click=_apply_step, args=(i,), width="stretch",
                      help=f"Sets this step's knobs; then open {step.page.replace('_', ' ')}.")


def _narrate(step) -> None:
    """The step's sentence with the live figures of the current scenario (cached results)."""
    s = current_scenario()
    try:
        results = get_results(s, current_play())
    except UserError as exc:
        st.error(str(exc))
        return
    ok, text = workshop_story.narrate(step, results, s.activation())
    (st.write if ok else st.info)(text)
    st.caption(f"See it on {step.page.replace('_', ' ')}.")


# --------------------------------------------------------------------------- caches
# Every session of a workshop asks for the same worlds and the same results: each is computed once
# and shared (sessions asking at once wait for the first). Worlds are the memory, so the store
# (core/advice/store.py) counts every live world — cached, still used by a page, being built —
# against one budget, and a new world waits for memory when the budget is full. What is computed
# from a world (a play's results, the Scenario page's summary and charts) lives with that world
# and is freed with it.

#: Megabytes all live worlds may take together (their measured resident size). Sized with
#: bench/bench_ws_load.py so a server with 30 sessions stays under the 2 GB workshop target;
#: raise it on a bigger machine. The largest world a link may ask for is what fits in it.
WORLDS_MB = float(os.environ.get("AUDIENCE_LAB_WORLDS_MB", "900"))
#: Resident size of the whole server above which idle cached worlds are let go before a build.
SERVER_MB = float(os.environ.get("AUDIENCE_LAB_SERVER_MB", "1500"))
#: Heavy computations at once (building a world, running a play, the fit advisor): one per core.
#: More would only share the two cores, add their working memory and finish everyone later.
WORK_SLOTS = int(os.environ.get("AUDIENCE_LAB_WORK_SLOTS", "2"))


@st.cache_resource(show_spinner=False)
def _store() -> WorldStore:
    """One store per server process, shared by every session."""
    limit_malloc_arenas(2)  # as MALLOC_ARENA_MAX=2 (set by `make run` too): freed worlds go back to the OS
    # Streamlit runs a full garbage collection after every script run (runner.postScriptGC); with
    # the libraries' ~190,000 objects that cost 0.09 CPU-s a run, most of a warm page's work.
    # Frozen objects (everything imported so far) are skipped by the collector; they are
    # module-level and live as long as the server anyway.
    gc.freeze()
    return WorldStore(WORLDS_MB, WORK_SLOTS, rss_mb=SERVER_MB)


def _build(key: Scenario):
    engine = build_engine(key, build_world(key))
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


def _result_parts(engine, s: Scenario, p: Play) -> dict:
    r = play_results(engine, p, s)
    return {"truth": r.run.truth, "members": r.run.members, "active": r.run.active, "freshness": r.freshness,
            "curves": r.curves, "lift": r.lift, "overlap_mid": r.overlap_mid, "overlap_series": r.overlap_series,
            "need": r.run.need, "play": r.run.play}


def results_key(s: Scenario, p: Play) -> tuple:
    """What a play's results depend on besides the world: every knob, the play and its rules."""
    return ("results", s, p.name, json.dumps(dict(p.crm), sort_keys=True), json.dumps(dict(p.cdp), sort_keys=True))


def get_results(s: Scenario, p: Play) -> PlayResults:
    """The play's results, computed once per scenario, play and rules for every session (the
    frames are shared: pages read them, never change them)."""
    engine = get_engine(s)
    parts = per_world(engine, results_key(s, p), lambda: _result_parts(engine, s, p), heavy=True)
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


# --------------------------------------------------------------------------- page helpers
def engine_or_stop(s: Scenario):
    try:
        with st.spinner(f"Building the world ({s.people:,} people, {s.days} days) and the CRM / CDP views…"):
            engine = get_engine(s)
    except UserError as exc:
        st.error(str(exc))
        st.stop()
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


def pct(x: Any, digits: int = 0) -> str:
    """A share as people read it ('<1%' for a tiny non-zero share; see core.present.measureview)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    return measureview.pct(v, digits)


def hours(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    if v != v:
        return "–"
    return f"{v:.1f} h" if v < 48 else f"{v / 24:.1f} d"
