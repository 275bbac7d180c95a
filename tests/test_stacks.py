"""Your stack: documented vendor profiles, what each CRM sees, and cadence by what a rule uses.

Every number a profile sets is traceable to a public page (the research catalogue's {url, claim}
pairs, kept one for one), every setting is a real knob, and choosing a product changes what a
user sees: a sales-only CRM has no behaviour to filter on, Segment computes funnels every eight
hours, a Data Cloud rapid segment reads only the last seven days, an Iterable list sync starts
six hours late.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from core.advice.scenario import Scenario, build_engine
from core.advice.stacks import (
    ROLES, STACKS, NOT_MODELLED, Source, StackProfile, canonical_event_types, get_stack, knob_destination,
    parse_stacks, stack_keys, stack_settings, stacks_for, validate_catalogue,
)
from core.cli.main import main
from core.engine.activation import ActivationConfig, RuleShape, activation_times, rule_shape
from core.engine.bestattempt import within_lookback, without_unseen_events
from core.engine.playrun import run_play
from core.engine.plays import PLAYS, get_play
from core.engine.rules import RuleError, parse_rule
from core.errors import ConfigError, UserError
from core.measures.campaign import simulate

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = pd.Timestamp("2026-08-31T00:00:00Z")


# --------------------------------------------------------------------------- the catalogue
def _research_pairs() -> set[tuple[str, str]]:
    """Every {url, claim} pair of the proposed catalogue in docs/research/vendors.md §5."""
    text = (ROOT / "docs/research/vendors.md").read_text()
    literal = text.split("STACK_PROFILES = ", 1)[1].split("```", 1)[0]
    literal = re.sub(r"#[^\n\"]*$", "", literal, flags=re.M)  # comments after values
    catalogue = ast.literal_eval(literal)
    return {(s["url"], s["claim"]) for p in catalogue for s in p["sources"]}, {p["name"]: p for p in catalogue}


def test_the_catalogue_is_the_research_catalogue_source_for_source():
    pairs, research = _research_pairs()
    ours = {(s.url, s.claim) for p in STACKS.values() for s in p.sources}
    assert ours == pairs  # no claim dropped, none invented
    assert list(STACKS) == list(research)
    for name, p in STACKS.items():
        assert p.role == research[name]["role"] and p.label == research[name]["label"], name
        documented = set(research[name]["settings"])
        applied = set(p.settings_dict) | {n.knob for n in p.not_modelled}
        assert applied == documented, name  # every documented setting is applied or listed as not modelled


def test_every_profile_sets_real_knobs_has_sources_and_a_date():
    validate_catalogue()
    assert [len(stacks_for(r)) for r in ROLES] == [4, 11, 6]
    for p in STACKS.values():
        assert p.sources and p.read == "2026-11-29"
        # each claim says when its page was read (issue 19 added identify-on-login claims read later)
        assert all(s.url.startswith("https://") and re.search(r"read 2026-1[12]-\d\d$", s.claim) for s in p.sources), p.name
        for knob in p.settings_dict:
            assert knob_destination(knob) is not None, (p.name, knob)
        for n in p.not_modelled:
            assert n.why and n.knob not in p.settings_dict


def test_validation_names_a_knob_that_does_not_exist_and_a_bad_value():
    bogus = StackProfile("x", "crm", "X", (("crm_list_refresh_hours", 2),), (Source("https://example.org", "c"),))
    with pytest.raises(ConfigError, match="crm_list_refresh_hours is not a knob"):
        validate_catalogue({"x": bogus})
    bad = replace(bogus, settings=(("crm_event_types", "add_to_cart"),))
    with pytest.raises(ConfigError, match="add_to_cart cannot be seen by a CRM"):
        validate_catalogue({"x": bad})
    unsourced = replace(bogus, settings=(), sources=())
    with pytest.raises(ConfigError, match="no source"):
        validate_catalogue({"x": unsourced})


def test_not_modelled_settings_say_why_and_are_not_applied():
    hubspot = get_stack("hubspot-active-lists")
    assert {n.knob for n in hubspot.not_modelled} == {"crm_merge_on_email", "crm_identify_on_email_click"}
    segment = get_stack("segment-realtime")
    skipped = {n.knob: n for n in segment.not_modelled}
    assert set(skipped) == {"crm_to_cdp_sync_minutes", "max_anonymous_ids_per_profile"}
    assert "sliding window" in skipped["max_anonymous_ids_per_profile"].why
    assert "max_anonymous_ids_per_profile" not in stack_settings(["segment-realtime"])
    assert all(why for why in NOT_MODELLED.values())


# --------------------------------------------------------------------------- choosing
def test_one_profile_per_role_applied_crm_then_cdp_then_sending():
    assert parse_stacks(["segment-realtime", "hubspot-active-lists"]) == {"cdp": "segment-realtime",
                                                                         "crm": "hubspot-active-lists"}
    s = stack_settings(["segment-realtime", "iterable-lists"])
    assert s["cdp_sync_minutes"] == 150 and s["cdp_initial_sync_hours"] == 6  # the sending tool's own sync wins
    assert stack_settings(["segment-realtime"])["cdp_sync_minutes"] == 60
    with pytest.raises(UserError, match="one profile per role"):
        parse_stacks(["hubspot-active-lists", "dynamics-365-journeys"])
    with pytest.raises(UserError, match="unknown stack 'hubspot'; accepted: hubspot-active-lists"):
        parse_stacks(["hubspot"])
    with pytest.raises(UserError, match="is a CDP profile, not a CRM one"):
        stack_keys({"crm": "segment-realtime"})


def test_a_scenario_carries_names_and_explicit_settings_win():
    s = Scenario.make("b2c-retail", 7, 1000, 30, {**stack_keys(["salesforce-account-engagement"]),
                                                  "crm_form_sync_minutes": 9})
    assert s.stacks == {"crm": "salesforce-account-engagement"}
    assert s.activation().crm_list_refresh_minutes == 180
    assert s.world_config().knobs.crm_form_sync_minutes == 9  # the profile says 2; --set wins
    assert hash(s) == hash(Scenario.make("b2c-retail", 7, 1000, 30, dict(s.settings)))


# --------------------------------------------------------------------------- what a CRM sees
def test_a_sales_only_crm_sees_no_behaviour():
    s = Scenario.make("b2b-saas", 7, 2000, 30, stack_keys(["sales-crm-nightly-import"]))
    assert s.world_config().knobs.crm_coverage_web == 0.0
    engine = build_engine(s)
    assert engine.schema("crm").event_types == frozenset()
    with pytest.raises(RuleError, match="page_view"):
        engine.members({"name": "x", "all": [{"event": "page_view", "within": "7d"}]}, "crm")
    marketing = build_engine(Scenario.make("b2b-saas", 7, 2000, 30, stack_keys(["hubspot-active-lists"])))
    assert "page_view" in marketing.schema("crm").event_types


def test_the_sales_crm_builds_what_it_can_and_says_when_it_cannot():
    visible = frozenset()
    nurture = without_unseen_events(get_play("mql-nurture").rule("crm"), visible)
    assert "page_view" not in json.dumps(nurture.to_dict()) and "industry" in json.dumps(nurture.to_dict())
    assert without_unseen_events(get_play("pricing-intent").rule("crm"), visible) is None
    cart = without_unseen_events(get_play("cart-abandonment").rule("crm"), visible)
    assert cart.to_dict()["any"] == [{"field": "abandoned_checkout_date", "op": "within_last_days", "value": 3}]
    same = get_play("win-back").rule("crm")
    assert without_unseen_events(same, visible) is same  # fields only: untouched

    s = Scenario.make("b2b-saas", 7, 2000, 30, stack_keys(["sales-crm-nightly-import"]))
    run = run_play(build_engine(s), get_play("pricing-intent"), s.activation(), models=("crm",))
    assert len(run.members["crm"]) == 0 and simulate(run, "crm", s.campaign()).sends == 0


# --------------------------------------------------------------------------- cadence by rule kind
@pytest.mark.parametrize("play, model, kinds, list_kind", [
    ("cart-abandonment", "cdp", {"sequence"}, "behaviour"),
    ("product-intent", "cdp", {"time_window"}, "behaviour"),
    ("account-intent", "cdp", {"account"}, "behaviour"),
    ("win-back", "cdp", {"time_window"}, "behaviour"),
    ("win-back", "crm", {"time_window"}, "field"),
    ("webinar-follow-up", "crm", {"simple_event"}, "field"),
])
def test_rules_are_classified_by_what_they_use(play, model, kinds, list_kind):
    shape = rule_shape(get_play(play).rule(model))
    assert shape.kinds == frozenset(kinds) and shape.list_kind == list_kind


def test_segment_computes_simple_audiences_in_real_time_and_funnels_every_eight_hours():
    cfg = Scenario.make(settings=stack_keys(["segment-realtime"])).activation()
    enter = pd.Series(pd.to_datetime(["2026-09-01T09:10:00Z"]))
    simple = activation_times(enter, "cdp", cfg, ORIGIN, RuleShape(frozenset({"simple_event"})))
    funnel = activation_times(enter, "cdp", cfg, ORIGIN, RuleShape(frozenset({"sequence"}), True))
    launch = ORIGIN + pd.Timedelta(days=3)  # nobody is reached before the campaign launches
    late = pd.Timestamp("2026-09-05T09:10:00Z")
    simple_late = activation_times(pd.Series([late]), "cdp", cfg, ORIGIN, RuleShape(frozenset({"simple_event"})))
    funnel_late = activation_times(pd.Series([late]), "cdp", cfg, ORIGIN, RuleShape(frozenset({"sequence"}), True))
    assert simple.iloc[0] == funnel.iloc[0] == launch
    assert simple_late.iloc[0] == pd.Timestamp("2026-09-05T10:00:00Z")  # 2.5 min compute, then the hourly list sync
    assert funnel_late.iloc[0] == pd.Timestamp("2026-09-05T16:00:00Z")  # the 16:00 batch run (every 8 h from midnight)
    # a rule with a funnel and a simple condition waits for the slowest
    both = activation_times(pd.Series([late]), "cdp", cfg, ORIGIN, RuleShape(frozenset({"sequence", "simple_event"}), True))
    assert both.iloc[0] == funnel_late.iloc[0]


def test_dynamics_refreshes_interaction_segments_hourly_and_field_segments_half_hourly():
    cfg = Scenario.make(settings=stack_keys(["dynamics-365-journeys"])).activation()
    t = pd.Series([pd.Timestamp("2026-09-05T09:10:00Z")])
    field = activation_times(t, "crm", cfg, ORIGIN, RuleShape(frozenset({"simple_event"}), False))
    behaviour = activation_times(t, "crm", cfg, ORIGIN, RuleShape(frozenset({"time_window"}), True))
    assert field.iloc[0] == pd.Timestamp("2026-09-05T09:30:00Z") and behaviour.iloc[0] == pd.Timestamp("2026-09-05T10:00:00Z")


def test_an_iterable_list_sync_starts_six_hours_after_launch():
    base = ActivationConfig(cdp_build_days=3)
    late = replace(base, cdp_initial_sync_hours=6)
    t = pd.Series([ORIGIN + pd.Timedelta(hours=1)])
    gap = activation_times(t, "cdp", late, ORIGIN) - activation_times(t, "cdp", base, ORIGIN)
    assert gap.iloc[0] == pd.Timedelta(hours=6)


def test_cadence_maps_are_checked_and_spelled_one_way():
    a = ActivationConfig(audience_cadence_by_rule_type={"sequence": 480, "simple_event": "realtime"})
    b = ActivationConfig(audience_cadence_by_rule_type="simple_event=realtime, sequence=480.0")
    assert a == b and a.audience_cadence_by_rule_type == "simple_event=realtime,sequence=480"
    with pytest.raises(ConfigError, match="unknown rule kind 'funnel'; accepted: simple_event, sequence"):
        ActivationConfig(audience_cadence_by_rule_type="funnel=480")
    with pytest.raises(ConfigError, match="behaviour must be minutes"):
        ActivationConfig(crm_list_refresh_by_rule_type="behaviour=realtime")
    assert canonical_event_types([]) == "none" and canonical_event_types("page_view,email_open") == "email_open,page_view"


def test_without_maps_every_rule_keeps_the_old_cadence():
    cfg = ActivationConfig()
    t = pd.Series([pd.Timestamp("2026-09-05T09:10:00Z")])
    for shape in (RuleShape(frozenset({k}), True) for k in ("simple_event", "sequence", "time_window", "account")):
        assert activation_times(t, "cdp", cfg, ORIGIN, shape).equals(activation_times(t, "cdp", cfg, ORIGIN))
        assert activation_times(t, "crm", cfg, ORIGIN, shape).equals(activation_times(t, "crm", cfg, ORIGIN))


# --------------------------------------------------------------------------- lookback
def test_a_seven_day_lookback_cannot_find_lapsed_buyers_but_finds_carts(make_world):
    from core.engine.views import Engine

    engine = Engine(make_world("b2c-retail", people=2000, days=60))
    play = get_play("win-back")
    rapid = within_lookback(play.rule("cdp"), 7)
    assert len(engine.intervals(play.rule("cdp"), "cdp")) > 0 and len(engine.intervals(rapid, "cdp")) == 0
    cart = get_play("cart-abandonment").rule("cdp")
    assert engine.intervals(within_lookback(cart, 7), "cdp").equals(engine.intervals(cart, "cdp"))
    assert within_lookback(cart, 0) is cart


# --------------------------------------------------------------------------- hybrid rules
def test_plays_without_a_hybrid_rule_run_the_cdp_audience_on_the_hybrid():
    for play in PLAYS.values():
        if play.hybrid is None:
            assert play.rule("hybrid") == play.rule("cdp"), play.name
        else:
            assert play.rule("hybrid") != play.rule("cdp") and "hybrid" in play.to_dict()


# --------------------------------------------------------------------------- the command line
def test_stacks_command_lists_profiles_with_sources(capsys):
    assert main(["stacks", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 21 and set(out[0]) >= {"name", "role", "label", "settings", "sources"}
    assert all(set(s) == {"url", "claim"} for p in out for s in p["sources"])
    sales = next(p for p in out if p["name"] == "sales-crm-nightly-import")
    assert sales["settings"]["crm_event_types"] == "none" and sales["settings"]["crm_coverage_web"] == 0.0
    assert main(["stacks", "--role", "sending"]) == 0
    assert "iterable-lists" in capsys.readouterr().out


def test_generate_records_the_stacks_and_compare_refuses_a_world_made_without_them(tmp_path, capsys):
    out = tmp_path / "w"
    args = ["generate", "--preset", "b2c-retail", "--people", "1000", "--days", "30", "--out", str(out)]
    assert main([*args, "--stack", "hubspot-active-lists", "--stack", "segment-batch"]) == 0
    meta = json.loads((out / "world.json").read_text())
    assert meta["stacks"] == {"crm": "hubspot-active-lists", "cdp": "segment-batch"}
    assert meta["config"]["knobs"]["crm_tracking_latency_minutes"] == 1.0  # the profile shaped the world
    capsys.readouterr()
    code = main(["compare", "--world", str(out), "--play", "cart-abandonment", "--sweep-people", "0",
                 "--stack", "sales-crm-nightly-import"])
    err = capsys.readouterr().err
    assert code == 2 and "crm_coverage_web=0.0" in err and err.count("\n") == 1
    assert main([*args, "--stack", "hubspot-active-lists", "--stack", "dynamics-365-journeys"]) == 2
    assert "one profile per role" in capsys.readouterr().err


# --------------------------------------------------------------------------- the page's panel
def test_the_stack_panel_shows_each_choice_in_words_with_sources_and_user_overrides():
    from core.present.stackview import SHORT_NAMES, stack_panel, titled, with_stack

    s = Scenario.make("b2c-retail", 7, 1000, 30, {**stack_keys(["sales-crm-nightly-import", "segment-realtime"]),
                                                  "crm_import_days": 3})
    crm, cdp, sending = stack_panel(s)
    assert (crm.chosen, cdp.chosen, sending.chosen) == ("sales-crm-nightly-import", "segment-realtime", "")
    assert crm.options[crm.index()][0] == "sales-crm-nightly-import" and sending.options[0][0] == ""
    lines = {line.knob: line for line in crm.settings}
    assert lines["crm_event_types"].value == "no behaviour (fields only)"
    assert lines["crm_import_days"].value == "1 day" and lines["crm_import_days"].overridden_by == "3 days"
    assert lines["crm_send_mode"].value == "In scheduled batches" and lines["crm_coverage_web"].value == "0%"
    assert {line.knob: line.value for line in cdp.settings}["audience_cadence_by_rule_type"] == (
        "simple event real time; sequence, time window, account every 8 h")
    assert cdp.sources == get_stack("segment-realtime").sources and cdp.not_modelled
    assert titled("Freshness", s) == "Freshness — Sales CRM with nightly imports · Segment real-time"
    assert titled("Freshness", Scenario()) == "Freshness"
    assert set(SHORT_NAMES) == set(STACKS) and len(set(SHORT_NAMES.values())) == len(STACKS)  # every product named, once
    assert with_stack(dict(s.settings), "crm", "") == {"crm_import_days": 3, "stack_cdp": "segment-realtime"}
    with pytest.raises(ValueError, match="not a CRM profile"):
        with_stack({}, "crm", "segment-realtime")


def test_members_evaluates_with_the_stacks_crm_event_types(tmp_path, capsys):
    world = tmp_path / "w"
    assert main(["generate", "--preset", "b2b-saas", "--people", "1000", "--days", "30", "--out", str(world)]) == 0
    rule = tmp_path / "r.json"
    rule.write_text(json.dumps({"name": "visitors", "all": [{"event": "page_view", "within": "30d"}]}))
    capsys.readouterr()
    assert main(["members", "--world", str(world), "--rule", str(rule), "--view", "crm"]) == 0
    assert len(capsys.readouterr().out.splitlines()) > 1
    code = main(["members", "--world", str(world), "--rule", str(rule), "--view", "crm", "--stack", "sales-crm-nightly-import"])
    err = capsys.readouterr().err
    assert code == 2 and "page_view" in err and err.count("\n") == 1


# --------------------------------------------------------------------------- the dashboard
def _page(path: str | None = None, **params: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["people"] = "2000"
    for k, v in params.items():
        at.query_params[k] = v
    if path:
        at.switch_page(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_picking_a_stack_on_the_scenario_page_applies_it_shows_its_sources_and_goes_into_the_link():
    pytest.importorskip("streamlit")
    at = _page()
    at.selectbox(key="stk_crm").set_value("salesforce-account-engagement").run()
    assert not at.exception and not at.error
    assert at.query_params.get("stack_crm") in ("salesforce-account-engagement", ["salesforce-account-engagement"])
    refresh = at.number_input(key="k_crm_list_refresh_minutes")
    assert refresh.value == 180 and refresh.label.endswith("◆")  # the documented figure, marked as the stack's
    text = " ".join(m.value for m in at.markdown)
    assert "within a few hours" in text and "help.salesforce.com" in text  # the claim and its page
    next(b for b in at.button if b.label == "Well-run CDP").click().run()  # the stack and its documented figure stay
    assert at.query_params.get("stack_crm") in ("salesforce-account-engagement", ["salesforce-account-engagement"])
    assert at.number_input(key="k_crm_list_refresh_minutes").value == 180


def test_freshness_overlap_and_lift_name_the_stack_in_their_titles():
    pytest.importorskip("streamlit")
    for path in ("pages/4_Freshness.py", "pages/5_Overlap.py", "pages/6_Campaign_lift.py"):
        at = _page(path, stack_crm="hubspot-active-lists", stack_cdp="segment-batch")
        # product names a room reads, never the --stack slugs
        assert at.title[0].value.endswith("— HubSpot active lists · Segment batch"), path
        assert "hubspot-active-lists" not in at.title[0].value
    at = _page("pages/4_Freshness.py", stack_crm="segment-batch")
    assert any("stack_crm" in w.value for w in at.warning) and at.title[0].value == "Freshness"
