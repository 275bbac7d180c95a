"""The workshop's guided story in the sidebar: one expander per step, its "Set the knobs" button,
and the current step's sentence from the live figures (the story itself is core.present.workshop)."""
from __future__ import annotations

import streamlit as st

from core.engine.plays import plays_for
from core.errors import UserError
from core.present import workshop as workshop_story
from pages._state import _state, current_play, current_scenario, set_settings
from pages._worlds import get_results

#: The workshop story lives in core.present.workshop: each step sets knobs (and, where it needs one,
#: a play) and its sentence is rendered from the very figures the page shows.
WORKSHOP = workshop_story.STEPS


def _apply_step(i: int) -> None:
    step = WORKSHOP[i]
    s = _state()
    set_settings(dict(step.settings), replace=True)
    play_name = step.play_for(s["preset"])
    if play_name and play_name in [p.name for p in plays_for(s["preset"])]:
        s["play"] = play_name
    s["workshop_step"] = i


def workshop() -> None:
    """The guided story: every step's intro, the current one narrated with the live figures."""
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
