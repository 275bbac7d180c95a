"""Streamlit glue shared by every page: the page list, the router, state, URL sync, the sidebar, caches.

``app.py`` calls :func:`route`, which registers :data:`PAGES` with ``st.navigation`` (so the
sidebar reads Scenario, Journeys, … and never "app"), sets up the shared frame (state from the
link, the world-and-play sidebar, the URL) and runs the chosen page. Page files stay thin: they
call :func:`frame` and draw. No business logic here: every number comes from ``core`` /
``synthetic``; pure helpers live in ``core/present``.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.errors import UserError
from core.engine.playrun import PlayRun
from core.engine.plays import Play, get_play, plays_for, with_rules
from core.engine.rules import parse_rule
from core.advice.scenario import POORLY_RUN, WELL_RUN, PlayResults, Scenario, build_engine, build_world, default_play, play_results
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
)

#: The workshop story: title, what to look at, the knobs each step sets.
GOOD_CRM = {"crm_form_sync_minutes": 1.0, "crm_order_sync_hours": 1.0, "crm_import_days": 1.0, "crm_missing_rate": 0.02,
            "crm_error_rate": 0.01, "duplicate_rate": 0.02, "rep_update_lag_days": 0.5,
            "crm_list_refresh_minutes": 15.0, "crm_build_days": 0.5}
WORKSHOP = (
    ("1 · CRM is simple and fast to iterate",
     "A CRM segment is a filter on fields a team already has. Look at Segments: the rule reads like a sentence, "
     "and a new campaign ships in half a day.", {"crm_build_days": 0.5, "cdp_build_days": 3.0}),
    ("2 · CDP is fresh and cross-channel",
     "With good tracking and real-time sync the CDP sees behaviour minutes after it happens. "
     "Look at Freshness: the blue curve rises inside the action window.", dict(WELL_RUN)),
    ("3 · A badly run CDP loses to a well run CRM",
     "Low tracking coverage, few identified sessions, daily batches and a month to build: the CDP's "
     "advantage disappears. Compare Freshness and Campaign lift.", {**POORLY_RUN, **GOOD_CRM}),
    ("4 · Hybrid",
     "The CDP collects and resolves identity, the CRM stays the system of record and the marketing tool "
     "sends on the synced audience. Look at the green line everywhere.", {**WELL_RUN, "hybrid_sync_minutes": 15.0}),
)

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
    set_settings(WORKSHOP[i][2], replace=True)
    _state()["workshop_step"] = i


def workshop() -> None:
    st.markdown("#### Guided story")
    current = _state().get("workshop_step")
    for i, (title, text, _knobs) in enumerate(WORKSHOP):
        with st.expander(title, expanded=(current == i)):
            st.write(text)
            st.button("Set the knobs", key=f"ws_{i}", on_click=_apply_step, args=(i,), width="stretch")


# --------------------------------------------------------------------------- caches
@st.cache_resource(max_entries=4, show_spinner=False)
def get_engine(s: Scenario):
    """The world and its DuckDB engine, built once per scenario and shared by every session."""
    engine = build_engine(s, build_world(s))
    engine.resolution  # identity resolution once, up front
    return engine


@st.cache_data(max_entries=16, ttl=3600, show_spinner=False)
def _result_parts(s: Scenario, play_name: str, crm_json: str, cdp_json: str) -> dict:
    engine = get_engine(s)
    p = with_rules(get_play(play_name), crm=json.loads(crm_json), cdp=json.loads(cdp_json))
    r = play_results(engine, p, s)
    return {"truth": r.run.truth, "members": r.run.members, "active": r.run.active, "freshness": r.freshness,
            "curves": r.curves, "lift": r.lift, "overlap_mid": r.overlap_mid, "overlap_series": r.overlap_series}


def get_results(s: Scenario, p: Play) -> PlayResults:
    parts = _result_parts(s, p.name, json.dumps(dict(p.crm), sort_keys=True), json.dumps(dict(p.cdp), sort_keys=True))
    run = PlayRun(play=p, engine=get_engine(s), activation=s.activation(), truth=parts["truth"],
                  members=parts["members"], active=parts["active"])
    return PlayResults(run=run, freshness=parts["freshness"], curves=parts["curves"], lift=parts["lift"],
                       overlap_mid=parts["overlap_mid"], overlap_series=parts["overlap_series"])


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
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    return "–" if v != v else f"{v * 100:.{digits}f}%"


def hours(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    if v != v:
        return "–"
    return f"{v:.1f} h" if v < 48 else f"{v / 24:.1f} d"
