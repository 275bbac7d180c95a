"""The Compare page's logic (core/present/compare_view.py): strict links, what differs, side by side."""
from __future__ import annotations

import pytest

from core.advice.scenario import build_engine, build_world, play_results
from core.advice.ops import POORLY_RUN
from core.errors import UserError
from core.present import labels
from core.present import compare_view as cv

SMALL = "preset=b2c-retail&seed=7&people=1000&days=45"


@pytest.mark.parametrize("text", [f"http://localhost:8501/Freshness?{SMALL}", f"https://lab.example/?{SMALL}",
                                  SMALL, f"?{SMALL}", f"  {SMALL}\n"])
def test_a_whole_address_or_its_query_reads_as_the_same_scenario(text):
    link = cv.parse_scenario_link(text, "A")
    assert (link.scenario.preset, link.scenario.people, link.scenario.days) == ("b2c-retail", 1000, 45)


def test_an_address_without_a_query_is_the_default_scenario():
    assert cv.parse_scenario_link("http://localhost:8501/Overlap", "B").scenario.people == 10_000


@pytest.mark.parametrize("text, says", [
    ("", "link A is empty"),
    ("hello there", "is not a scenario link"),
    ("ftp://host/?preset=b2c-retail", "not a web address"),
    ("javascript:alert(1)", "not a web address"),
    (f"{SMALL}&preset=nowhere", "ignored preset='nowhere': accepted"),
    (f"{SMALL}&coverage_web=7", "coverage_web"),
    (f"{SMALL}&frobnicate=1", "unknown parameter 'frobnicate'"),
    (f"{SMALL}&play=lead-scoring-nope", "ignored play="),
    ("a=" + "x" * 5000, "characters long"),
])
def test_a_bad_link_is_refused_naming_the_side_and_the_problem(text, says):
    """A page falls back to a default and warns; a comparison on a silently replaced knob would
    compare the wrong thing, so here the problem is an error."""
    with pytest.raises(UserError, match=says) as err:
        cv.parse_scenario_link(text, "A")
    assert str(err.value).startswith("link A")


def test_the_example_pair_differs_only_in_the_cdps_own_knobs():
    a_text, b_text = cv.example_pair({"people": "1000", "days": "45", "stack_crm": "hubspot-active-lists"})
    a, b = cv.parse_scenario_link(a_text, "A"), cv.parse_scenario_link(b_text, "B")
    diffs = cv.setting_differences(a, b)
    cdp_words = {labels.label(k, "b2c-retail", with_unit=False) for k in POORLY_RUN}
    assert diffs and all(d.split(":")[0] in cdp_words for d in diffs), diffs  # ops change only their own system
    assert not any(d.startswith(("CRM", "Business", "People", "Seed")) for d in diffs), diffs
    assert b.scenario.stacks == {"crm": "hubspot-active-lists"}  # the chosen product stays
    assert cv.setting_differences(a, a) == []


def test_products_and_sizes_differ_in_words():
    a = cv.parse_scenario_link(f"{SMALL}&stack_cdp=segment-batch", "A")
    b = cv.parse_scenario_link(SMALL.replace("1000", "2000") + "&stack_cdp=segment-realtime&seed=8", "B")
    diffs = cv.setting_differences(a, b)
    assert "People: 1,000 → 2,000" in diffs and "Seed: 7 → 8" in diffs
    assert "CDP product: Segment batch → Segment real-time" in diffs
    assert not any("segment-batch" in d for d in diffs)


def _results(query: str):
    link = cv.parse_scenario_link(query, "A")
    s = link.scenario
    return play_results(build_engine(s, build_world(s)), cv.edited_play(link), s)


@pytest.fixture(scope="module")
def pair():
    a_text, b_text = cv.example_pair({"people": "1000", "days": "45"})
    return _results(a_text), _results(b_text)


def test_side_by_side_differences_are_b_minus_a_and_swap_sign(pair):
    ra, rb = pair
    view = cv.side_by_side(ra, rb, {"A": "Today", "B": "Poorly run CDP"})
    v = view.values.set_index(["measure", "model"])
    lift_a, lift_b = ra.lift.set_index("model"), rb.lift.set_index("model")
    assert v.loc[("net_value", "cdp"), "diff"] == pytest.approx(lift_b.loc["cdp", "true_net_value"]
                                                                 - lift_a.loc["cdp", "true_net_value"])
    swapped = cv.side_by_side(rb, ra).values.set_index(["measure", "model"])
    assert (swapped["diff"].dropna() == -v["diff"].dropna()).all()
    assert ("in_time", "blast") not in v.index  # the blast has no freshness to compare
    assert list(view.table.columns) == ["Measure", "Model", "A", "B", "B − A"]


def test_the_sentence_names_the_scenario_that_makes_more_money(pair):
    ra, rb = pair
    best = lambda r: r.lift[r.lift["model"] != "blast"]["true_net_value"].max()  # noqa: E731
    winner = "Today" if best(ra) > best(rb) else "Poorly run CDP"
    first = cv.side_by_side(ra, rb, {"A": "Today", "B": "Poorly run CDP"}).sentences[0]
    assert first.startswith(f"**{winner}** makes more money"), first
    assert f"{abs(best(ra) - best(rb)):,.0f} more" in first
    same = cv.side_by_side(ra, ra)
    assert same.sentences[0].startswith("Both make the same true net value")
    assert (same.values["diff"].dropna() == 0).all()


def test_a_cadence_map_on_one_side_only_reads_in_words():
    a = cv.parse_scenario_link(SMALL, "A")
    b = cv.parse_scenario_link(f"{SMALL}&stack_cdp=segment-realtime", "B")
    line = next(d for d in cv.setting_differences(a, b) if d.startswith("How often the CDP computes an audience"))
    assert ": one cadence for every rule → simple event real time" in line, line


def test_the_pair_chart_puts_both_scenarios_beside_each_model():
    import pandas as pd

    from core.present import charts

    fig = charts.scenario_pair(pd.DataFrame({"model": ["crm", "cdp"], "a": [1787.0, 5262.0], "b": [1787.0, float("nan")]}),
                               "True net value per model", "Currency units", ("Today", "Proposed"))
    a, b = fig.data
    assert list(a.y) == [1787.0, 5262.0] and list(b.y)[1] is None  # not measured is no bar, not a zero
    assert list(a.text) == ["A 1.8k", "A 5.3k"] and list(a.marker.color) == [charts.COLORS["crm"], charts.COLORS["cdp"]]
    assert b.marker.pattern.shape == "/" and "plain = Today, hatched = Proposed" in fig.layout.xaxis.title.text


def test_a_slower_model_is_named_with_both_medians(pair):
    ra, rb = pair
    view = cv.side_by_side(ra, rb, {"A": "Today", "B": "Poorly run CDP"})
    v = view.values.set_index(["measure", "model"])
    line = next((x for x in view.sentences if x.startswith("Median time to activation")), "")
    a, b = v.loc[("median_hours", "crm"), "a"], v.loc[("median_hours", "crm"), "b"]
    assert a == b and "CRM segment" not in line  # the CDP's ops never move the CRM
    if v.loc[("median_hours", "cdp"), "diff"] == v.loc[("median_hours", "cdp"), "diff"]:
        assert "CDP audience" in line, view.sentences


def test_the_median_sentence_names_only_models_that_moved():
    import pandas as pd

    values = pd.DataFrame([{"measure": "median_hours", "model": "crm", "a": 13.7, "b": 13.7, "diff": 0.0},
                           {"measure": "median_hours", "model": "cdp", "a": 0.7, "b": 5.2, "diff": 4.5},
                           {"measure": "median_hours", "model": "hybrid", "a": 1.2, "b": 1.25, "diff": 0.05}])
    none = {"best": None, "best_net_value": None}
    lines = cv._sentences(values, none, none, {"A": "Today", "B": "With Segment"})
    assert lines == ["Median time to activation, Today → With Segment: CDP audience 0.7 h → 5.2 h."]


def test_differences_that_round_to_nothing_never_read_as_minus_zero():
    from core.present.headline import MEASURE_BY_KEY

    assert MEASURE_BY_KEY["in_time"].diff_fmt(-0.002) == "0 pts"
    assert MEASURE_BY_KEY["in_time"].diff_fmt(-0.006) == "-1 pts"
    assert MEASURE_BY_KEY["median_hours"].diff_fmt(-0.01) == "0.0 h"
    assert MEASURE_BY_KEY["median_hours"].diff_fmt(4.5) == "+4.5 h"
    assert cv._pair_pct(0.224, 0.216) == "22.4% → 21.6%" and cv._pair_pct(0.22, 0.31) == "22% → 31%"


def test_an_engine_knob_reads_in_words():
    a = cv.parse_scenario_link(f"{SMALL}&stack_crm=hubspot-active-lists", "A")
    b = cv.parse_scenario_link(f"{SMALL}&stack_crm=sales-crm-nightly-import", "B")
    diffs = cv.setting_differences(a, b)
    assert any(d.startswith("Tracked behaviour the CRM's lists can filter on: ") and d.endswith("no behaviour (fields only)")
               for d in diffs), diffs
    assert not any(d.startswith("Crm event types") for d in diffs)


@pytest.mark.parametrize("ops, side", [("Well-run CRM", "crm"), ("Poorly run CRM", "crm"), ("Well-run CDP", "cdp"),
                                       ("Poorly run CDP", "cdp")])
def test_an_ops_level_moves_only_its_own_sides_knobs(ops, side):
    from core.advice.ops import GOOD_CRM, POOR_CRM, POORLY_RUN, WELL_RUN

    own = {"crm": {**GOOD_CRM, **POOR_CRM}, "cdp": {**WELL_RUN, **POORLY_RUN}}[side]
    a = cv.parse_scenario_link(f"{SMALL}&holdout_share=0.2", "A")
    b = cv.parse_scenario_link(cv.with_ops_level(a, ops), "B")
    moved = {k for k in set(a.scenario.effective_settings()) | set(b.scenario.effective_settings())
             if a.scenario.effective_settings().get(k) != b.scenario.effective_settings().get(k)}
    assert moved and moved <= set(own), moved - set(own)
    assert dict(b.scenario.settings)["holdout_share"] == 0.2  # the user's own knob stays
    with pytest.raises(UserError, match="accepted: Well-run CRM"):
        cv.with_ops_level(a, "Heroic CDP")
