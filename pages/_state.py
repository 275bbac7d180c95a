"""One session's scenario state: what the link restores, what the widgets change, and the URL kept in step.

The state lives in ``st.session_state["al_state"]``: preset, seed, people, days, play, settings,
the user's rule edits per play, each page's own view, and the workshop's position."""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from core.advice.scenario import Scenario
from core.engine.plays import Play, get_play, with_rules
from core.engine.rules import parse_rule
from core.errors import UserError
from core.present.urlstate import RULE_PARAMS, VIEW_PARAMS, decode_link, make_link
from pages._pagelist import PAGES, PageSpec, current_page

SS = st.session_state


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
