"""Streamlit glue shared by every page: state, URL sync, the global sidebar, caches.

Streamlit's multipage loader skips ``pages/__init__.py``, so this module is not a page. It holds
no business logic: every number comes from ``core`` / ``synthetic``.
"""
from __future__ import annotations

import json
from typing import Any

import streamlit as st

from core.errors import UserError
from core.engine.playrun import PlayRun
from core.engine.plays import Play, get_play, plays_for, with_rules
from core.advice.scenario import POORLY_RUN, WELL_RUN, PlayResults, Scenario, build_engine, build_world, default_play, play_results
from core.present.urlstate import PEOPLE_CHOICES, decode_with_warnings, encode
from synthetic.presets import PRESETS

SS = st.session_state

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


# --------------------------------------------------------------------------- state
def _state() -> dict:
    return SS["al_state"]


def init_state() -> None:
    """Load the state from the URL when the URL is new (first load, shared link), else keep it."""
    qp = st.query_params.to_dict()
    if "al_state" not in SS or (qp and qp != SS.get("_al_enc")):
        scenario, play, warnings = decode_with_warnings(qp)
        for w in warnings:
            st.warning(f"Link parameter {w}.")
        old_rules = SS["al_state"]["rules"] if "al_state" in SS else {}
        SS["al_state"] = {"preset": scenario.preset, "seed": scenario.seed, "people": scenario.people,
                          "days": scenario.days, "play": play, "settings": dict(scenario.settings),
                          "rules": old_rules}


def scenario() -> Scenario:
    s = _state()
    return Scenario.make(s["preset"], s["seed"], s["people"], s["days"], s["settings"])


def play() -> Play:
    s = _state()
    base = get_play(s["play"])
    edits = s["rules"].get(s["play"], {})
    return with_rules(base, crm=edits.get("crm"), cdp=edits.get("cdp")) if edits else base


def set_rules(play_name: str, crm: dict | None = None, cdp: dict | None = None) -> None:
    rules = _state()["rules"].setdefault(play_name, {})
    if crm is not None:
        rules["crm"] = crm
    if cdp is not None:
        rules["cdp"] = cdp


def reset_rules(play_name: str) -> None:
    _state()["rules"].pop(play_name, None)


def set_settings(settings: dict[str, Any], replace: bool = False) -> None:
    s = _state()
    s["settings"] = dict(settings) if replace else {**s["settings"], **settings}


def sync_url() -> None:
    enc = encode(scenario(), _state()["play"])
    if st.query_params.to_dict() != enc:
        st.query_params.from_dict(enc)
    SS["_al_enc"] = enc


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
        st.markdown("### Scenario")
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
        if s["rules"].get(s["play"]):
            st.caption("This play uses rules edited on the Segments page.")
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


# --------------------------------------------------------------------------- page setup
def page(title: str, icon: str = "📊"):
    """Set up a page: config, state from the URL, sidebar, URL sync. Returns (scenario, play)."""
    st.set_page_config(page_title=f"{title} · Audience Lab", page_icon=icon, layout="wide")
    init_state()
    sidebar()
    sync_url()
    return scenario(), play()


def engine_or_stop(s: Scenario):
    try:
        with st.spinner(f"Building the world ({s.people:,} people, {s.days} days) and the CRM / CDP views…"):
            return get_engine(s)
    except UserError as exc:
        st.error(str(exc))
        st.stop()


def results_or_stop(s: Scenario, p: Play) -> PlayResults:
    engine_or_stop(s)
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
