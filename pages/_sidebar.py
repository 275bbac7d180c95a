"""The world-and-play sidebar every scenario page shares: preset, seed, people, play, workshop toggle."""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.advice.scenario import default_play
from core.engine.plays import get_play, plays_for
from core.present.urlstate import MAX_QUERY_CHARS, PEOPLE_CHOICES
from pages._state import SS, _state, edited_rules
from pages._workshop import workshop
from synthetic.presets import PRESETS

MODEL_NAMES = {"crm": "CRM segment", "cdp": "CDP audience"}


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
    """Draw the sidebar from the state (widgets follow the state, so a link or a step moves them)."""
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
