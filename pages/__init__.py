"""Streamlit glue shared by every page, re-exported so a page writes ``from pages import frame, pct``.

Each part lives in the module named for what it holds:

- ``_pagelist``: :data:`PAGES` (one line per page) and which page the current run draws;
- ``_router``: :func:`route` (``app.py``), :func:`frame` / :func:`ensure_routed` (every page);
- ``_state``: the session's scenario state, the link it restores and the URL kept in step;
- ``_sidebar`` / ``_workshop``: the world-and-play sidebar and the guided story in it;
- ``_worlds``: worlds and their results, built once per server and shared by every session;
- ``_format``: shares and durations as the pages write them.

No business logic here: every number comes from ``core`` / ``synthetic``; pure helpers live in
``core/present``.
"""
from __future__ import annotations

from pages._format import hours, pct
from pages._pagelist import PAGES, ROOT, PageSpec, current_page
from pages._router import ensure_routed, frame, route
from pages._sidebar import MODEL_NAMES, sidebar
from pages._state import (SS, check_link_rules, current_play, current_scenario, edited_rules, init_state, keep_view,
                          link_warning, reset_rule, set_rules, set_settings, set_view, sync_url, view_from_link,
                          view_param)
from pages._workshop import WORKSHOP, default_comparison, workshop
from pages._worlds import (ADMIT_WAIT_S, SERVER_MB, WORK_SLOTS, WORLDS_MB, engine_or_stop, get_engine, get_results, per_world,
                           results_key, results_or_stop, shared_advice)

__all__ = ["ADMIT_WAIT_S", "MODEL_NAMES", "PAGES", "ROOT", "SERVER_MB", "SS", "WORKSHOP", "WORK_SLOTS", "WORLDS_MB", "PageSpec",
           "check_link_rules", "current_page", "current_play", "current_scenario", "default_comparison", "edited_rules", "engine_or_stop",
           "ensure_routed", "frame", "get_engine", "get_results", "hours", "init_state", "keep_view", "link_warning",
           "per_world", "pct", "reset_rule", "results_key", "results_or_stop", "route", "set_rules", "set_settings",
           "set_view", "shared_advice", "sidebar", "sync_url", "view_from_link", "view_param", "workshop"]
