"""The router: registers the pages with ``st.navigation``, sets up the shared frame, runs the page.

``app.py`` calls :func:`route` (so the sidebar reads Scenario, Journeys, … and never "app"); a page
file calls :func:`frame` (or :func:`ensure_routed`) first and then draws."""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

from core.advice.scenario import Scenario
from core.engine.plays import Play
from pages._pagelist import PAGES, ROOT, RUN, page_run_as_app
from pages._sidebar import sidebar
from pages._state import current_play, current_scenario, init_state, sync_url
from pages._worlds import forget_worlds
from pages.extras.glossary import glossary_sidebar


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
    RUN.spec = spec
    RUN.page_globals = None
    glossary_sidebar()  # first, so a page that stops early still has it — and on a server's very first run too
    if spec.scenario:
        init_state(spec)
        sync_url()
        sidebar()
    try:
        current.run()
    finally:
        RUN.spec = None
        if RUN.page_globals is not None:
            forget_worlds(RUN.page_globals)
        RUN.page_globals = None


def _note_page_globals() -> None:
    """Remember the globals of the page file now running (found on the call stack), so that
    :func:`route` can let go of its worlds when the run ends."""
    files = {str((ROOT / p.file).resolve()) for p in PAGES}
    frame_ = sys._getframe(1)
    while frame_ is not None:
        name = frame_.f_globals.get("__file__")
        if name and str(Path(name).resolve()) in files:
            RUN.page_globals = frame_.f_globals
            return
        frame_ = frame_.f_back


def ensure_routed() -> None:
    """Make sure the shared frame is set up before a page draws.

    Through ``app.py`` the router already did it. A page file that is itself the main script gets
    the frame without navigation. Otherwise Streamlit's legacy ``pages/`` loader ran the page
    directly (the very first run of a server): route it properly, then stop this run."""
    if getattr(RUN, "spec", None) is not None:
        _note_page_globals()
        return
    spec = page_run_as_app()
    if spec is None:
        route()
        st.stop()
    st.set_page_config(page_title=f"{spec.title} · Audience Lab", layout="wide")
    glossary_sidebar()
    if spec.scenario:
        init_state(spec)
        sync_url()
        sidebar()


def frame() -> tuple[Scenario, Play]:
    """What every scenario page calls first: the scenario and the play (with the user's edits)."""
    ensure_routed()
    return current_scenario(), current_play()
