"""The workshop's guided story in the sidebar: one expander per step, its "Set the knobs" button,
and the current step's sentence from the live figures (the story itself is core.present.workshop)."""
from __future__ import annotations

import streamlit as st

from core.advice.scenario import Scenario
from core.engine.plays import Play, get_play, plays_for
from core.errors import UserError
from core.present import workshop as workshop_story
from pages._state import SS, _state, current_play, current_scenario, set_settings
from pages._worlds import get_results, prepare_job

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


def step_scenarios() -> list[tuple[str, Scenario, Play]]:
    """Each step's scenario and play as "Set the knobs" would make them from the current state."""
    s, out = _state(), []
    names = [p.name for p in plays_for(s["preset"])]
    for step in WORKSHOP:
        name = step.play_for(s["preset"])
        play = get_play(name) if name and name in names else current_play()
        out.append((step.title, Scenario.make(s["preset"], s["seed"], s["people"], s["days"], dict(step.settings)), play))
    return out


def _start_preparing() -> None:
    SS["_ws_prepare"] = prepare_job(step_scenarios())


def _preparing() -> None:
    """The preparation's progress while it runs, then what it did."""
    job = SS.get("_ws_prepare")
    if job is None:
        return
    if not job.done:
        _progress()
        return
    try:
        done = job.result()
    except Exception as exc:  # noqa: BLE001 - shown in place, the steps still work one by one
        st.error(f"Preparing the steps stopped: {exc}")
        return
    st.success("All steps ready: each opens from memory. "
               + "; ".join(f"{title.split(' · ')[0]}: {secs:g} s" for title, secs in done))


@st.fragment(run_every=1.0)
def _progress() -> None:
    """Redrawn every second only while the preparation runs; when it is done the whole page
    reruns once (and the timer stops with it)."""
    job = SS.get("_ws_prepare")
    if job is None or job.done:
        st.rerun()
    st.progress(job.fraction, text=f"Preparing the steps: {job.message}…")


def workshop() -> None:
    """The guided story: every step's intro, the current one narrated with the live figures."""
    st.markdown("#### Guided story")
    st.button("Prepare all steps", key="prepare_steps", on_click=_start_preparing, width="stretch",
              help="Builds every step's world and results in the background before the room arrives, so each "
                   "step then opens in a few seconds.")
    _preparing()
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
    notes = workshop_story.notes(step, results, s.activation())
    (st.write if notes.holds else st.info)(notes.say)
    st.caption(f"See it on {step.page.replace('_', ' ')}.")
    st.markdown("**Facilitator notes**\n\n" + "\n".join(f"- {line}" for line in notes.lines()[1:]))


def default_comparison(pairs: tuple[tuple[str, str], ...], key: str) -> None:
    """Open a comparison widget on the pair the current workshop step is about (CDP vs hybrid on
    the hybrid step), once per step, so the room sees the step's point without a click; a pair
    the user picks afterwards stays."""
    s = _state()
    step = s.get("workshop_step")
    step_key = WORKSHOP[step].key if s.get("workshop") and step is not None else None
    if SS.get(f"_{key}_step", "unset") == step_key and key in SS:
        return
    SS[f"_{key}_step"] = step_key
    pair = workshop_story.comparison_for(step_key)
    if pair in pairs:
        SS[key] = pairs.index(pair)
