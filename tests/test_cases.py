"""core/present/cases.py: the Journeys page's interesting people and the marks on their lanes."""
from __future__ import annotations

import pandas as pd
import pytest

from core.engine.playrun import run_play
from core.engine.plays import get_play
from core.engine.views import Engine
from core.measures.freshness import lags
from core.present import cases


@pytest.fixture(scope="module")
def run(make_world):
    engine = Engine(make_world("b2c-retail"))
    return run_play(engine, get_play("cart-abandonment"))


@pytest.fixture(scope="module")
def picks(run):
    return cases.interesting_cases(run, run.engine.resolution)


def test_every_case_has_people_and_a_title(run, picks):
    assert list(picks) == [c.key for c in cases.CASES]
    for key, people in picks.items():
        assert people, f"a 3,000-person retail world has someone in {key!r}"
        assert len(people) == len(set(people)), key
    assert "Cart abandonment recovery" in cases.case_title("missed_by_crm", run.play.title)


def test_missed_by_crm_qualified_in_truth_and_never_held_by_the_crm(run, picks):
    truth = set(run.truth["person_id"].astype(int))
    crm = set(run.members["crm"]["person_id"].astype(int))
    missed = set(picks["missed_by_crm"])
    assert missed <= truth and not missed & crm
    assert missed | (truth & crm) == truth, "everyone who qualified is either held by the CRM or missed"
    reached = set(run.active["cdp"]["person_id"].astype(int))
    first = [p for p in picks["missed_by_crm"] if p in reached]
    assert first and picks["missed_by_crm"][:len(first)] == sorted(first), "people the CDP reached come first"
    assert picks["missed_by_crm"][len(first):] == sorted(missed - reached)


def test_split_and_overmerged_come_from_the_identity_graph(run, picks):
    profiles = run.engine.resolution.profiles
    per_person = profiles.dropna(subset=["person_id"]).groupby("person_id").size()
    assert set(picks["split"]) == set(per_person[per_person > 1].index.astype(int))
    counts = [per_person[p] for p in picks["split"]]
    assert counts == sorted(counts, reverse=True), "most-split people first"
    owners = set(profiles.loc[profiles["n_persons"] > 1, "person_id"].dropna().astype(int))
    assert set(picks["overmerged"]) == owners


def test_late_cdp_means_after_the_window_or_never(run, picks):
    """Late = some qualifying (episode) was reached after the action window, or never."""
    lg = lags(run, "cdp")
    window = run.play.action_window_hours
    late_rows = lg["lag_hours"].isna() | (lg["lag_hours"] > window)
    late = set(picks["late_cdp"])
    assert late == set(lg.loc[late_rows, "person_id"].astype(int))
    on_time = set(lg["person_id"].astype(int)) - late
    worst = lg.groupby("person_id")["lag_hours"].max()
    assert on_time and all(worst[p] <= window for p in on_time)


def test_picks_are_deterministic(run, picks):
    assert cases.interesting_cases(run, run.engine.resolution) == picks


def test_lane_marks_for_a_person(run, picks):
    person = picks["late_cdp"][0]
    episodes = cases.qualifying_episodes(run, person)
    mine = run.truth[run.truth["person_id"] == person]
    assert len(episodes) == len(mine) and (episodes["exit"] >= episodes["enter"]).all()
    assert episodes["enter"].is_monotonic_increasing
    reached = cases.activations(run, person)
    assert set(reached["model"]) <= {"crm", "cdp", "hybrid"}
    for model, g in reached.groupby("model"):
        act = run.active[model]
        assert set(g["at"]) == set(pd.to_datetime(act.loc[act["person_id"] == person, "active_from"], utc=True))
    nobody = cases.activations(run, -1)
    assert nobody.empty and list(nobody.columns) == ["model", "at"]
    assert cases.qualifying_episodes(run, -1).empty


def test_rule_form_offers_what_the_world_produces(run, make_world):
    from core.present.ruleform import condition_text, event_choices, page_choices

    engine = run.engine
    produced = set(engine.world.events["event_type"].astype(str))
    cdp = event_choices(engine, "cdp")
    assert set(cdp) <= produced and "add_to_cart" in cdp and cdp == sorted(cdp)
    assert not {"trial_started", "sales_meeting", "feature_used"} & set(cdp)
    assert set(event_choices(engine, "crm")) <= set(engine.schema("crm").event_types)
    assert "product" in page_choices(engine, "cdp") and "docs" not in page_choices(engine, "cdp")
    plg = Engine(make_world("plg-saas"))
    assert "trial_started" in event_choices(plg, "cdp") and "add_to_cart" not in event_choices(plg, "cdp")
    assert condition_text({"event": "add_to_cart", "within": "24h"}) == "People who added to cart in the last 24 hours"
