"""core/present/liftview.py: what the Campaign lift page shows, tested without Streamlit.

A small b2c world (3,000 people, 60 days) runs the cart-abandonment play once per module; the
other tests build lift reports by hand where a case (ROI allowed, a tiny holdout) needs it.
"""
from __future__ import annotations

import gzip
import io
import math
import os
import re
import stat
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.advice.scenario import Scenario, build_engine
from core.engine.playrun import run_play
from core.engine.plays import get_play
from core.errors import DataError
from core.measures import liftcsv
from core.measures.campaign import CampaignResult
from core.measures.stats import lift_report
from core.present import charts
from core.present import liftview as lv

REPEATS = 200


@pytest.fixture(scope="module")
def world_run(make_world):
    s = Scenario.make("b2c-retail", 7, 3000, 60)
    engine = build_engine(s, make_world("b2c-retail", people=3000, days=60))
    return s, engine, run_play(engine, get_play("cart-abandonment"), s.activation())


@pytest.fixture(scope="module")
def view(world_run):
    s, _engine, run = world_run
    return lv.build_view(run, s.campaign(), REPEATS)


# --------------------------------------------------------------------------- hand-made cases
def _report(n1: int, n0: int, p1: float, p0: float, *, fixed_cost: float = 0.0, value: float = 100.0, seed: int = 1):
    rng = np.random.default_rng(seed)
    y1 = (rng.random(n1) < p1).astype(float)
    y0 = (rng.random(n0) < p0).astype(float)
    return lift_report(y1, y0, binary=True, revenue_treated=y1 * value, revenue_control=y0 * value,
                       cost_per_send=0.01, fixed_cost=fixed_cost, true_abs_lift=p1 - p0, true_rate_holdout=p0,
                       planned_holdout_share=n0 / (n0 + n1))


def _run(model: str, rep, *, sends: int = 1000, net: float = 500.0) -> lv.ModelRun:
    res = CampaignResult(model=model, targets=pd.DataFrame(), report=rep, true_incremental_conversions=10.0,
                         true_incremental_revenue=net + 50, sends=sends, send_cost=10.0, fatigue_cost=40.0,
                         true_net_value=net, units=rep.n_treated + rep.n_holdout if rep else 0, people=900,
                         double_sends=3, people_in_both_arms=2, relevant_share=0.4)
    units = pd.DataFrame({"p0": [0.05] * 10, "p1": [0.07] * 10})
    return lv.ModelRun(model, res, units, 10.0, None)


def _view(**runs: lv.ModelRun) -> lv.LiftView:
    return lv.LiftView("test play", 0.1, 100.0, REPEATS, 7, dict(runs))


# --------------------------------------------------------------------------- words
@pytest.mark.parametrize("share, text", [(0.83, "8 times in 10"), (0.1, "1 time in 10"), (0.52, "5 times in 10"),
                                         (0.06, "in 6% of tests"), (0.001, "in <1% of tests"), (0.97, "almost every time (97%)"),
                                         (1.0, "every time"), (None, "–")])
def test_shares_read_as_times_in_ten(share, text):
    assert lv.times_in_ten(share) == text


# --------------------------------------------------------------------------- the simulated campaigns
def test_every_model_and_the_blast_get_a_campaign_and_repeated_tests(view):
    assert set(view.runs) == {"crm", "cdp", "hybrid", "blast"}
    for r in view.runs.values():
        assert r.repeat is not None and r.repeat.repeats == REPEATS
        # the single run is one draw of the distribution the repeats show: same estimand
        assert r.report.true_abs_lift == pytest.approx(r.repeat.true_abs_lift, abs=1e-12)
        assert r.report.true_abs_lift == pytest.approx(r.true_effect, abs=1e-12)
        # analysed per randomised unit: one row per contact/profile, with its first send time
        assert r.units["unit_id"].is_unique and len(r.units) == r.result.units
        assert r.units["send_at"].notna().all()


def test_strip_frames_hold_every_repeat_the_truth_and_this_run(view):
    draws, marks = lv.strip_frames(view)
    assert list(marks["model"]) == ["crm", "cdp", "hybrid", "blast"]
    for row in marks.itertuples():
        r = view.runs[row.model]
        assert (draws["model"] == row.model).sum() == r.repeat.measurable
        assert row.true_abs_lift == pytest.approx(r.report.true_abs_lift)
        assert row.abs_lift == pytest.approx(r.report.abs_lift)
        assert row.note == ("holdout too small" if r.greyed else f"detects it {lv.times_in_ten(r.repeat.power)}")


def test_the_right_model_share_is_the_share_of_tests_on_the_truths_side(view):
    cmp = lv.comparison(view, "crm", "cdp")
    s = cmp.summary
    assert s is not None and s.repeats == REPEATS
    d = s.draws["diff"].dropna().to_numpy()
    assert s.right_winner_share == pytest.approx(np.mean(np.sign(d) == np.sign(s.true_diff)))
    story = lv.story(view, cmp)
    # the headline counts significant-and-right tests; the sign alone is a secondary line
    assert story.headline.endswith(lv.times_in_ten(s.significant_right_share))
    assert "CRM segment vs CDP audience" in story.headline
    line = next(x for x in story.lines if "repeated tests" in x)
    for share in (s.significant_right_share, s.significant_wrong_share, s.inconclusive_share, s.right_winner_share):
        assert lv._share(share) in line
    assert "significant and wrong" in line and "inconclusive" in line and "sign alone" in line
    winner = lv.the(s.true_winner)
    assert any(line.startswith(winner[0].upper() + winner[1:] + " truly adds") for line in story.lines)


def test_comparison_of_a_model_with_itself_is_refused_in_words(view):
    cmp = lv.comparison(view, "cdp", "cdp")
    assert cmp.summary is None and "two different models" in cmp.sentence()


def test_story_ranks_every_model_by_true_net_value_blast_included(view):
    first = lv.story(view, None).lines[0]
    order = sorted(view.runs.values(), key=lambda r: -r.result.true_net_value)
    positions = [first.index(r.title) for r in order]
    assert positions == sorted(positions) and "Blast (everyone)" in first


# --------------------------------------------------------------------------- the tables
REQUIRED_VALUE_ROWS = ["True incremental revenue", "Measured incremental revenue (95% CI)",
                       "True net value", "True net value per 1,000 sends",
                       "True lift per contact/profile", "Measured lift per contact/profile (95% CI)", "p-value",
                       lv.BH_ROW, "Power at the true effect",
                       "Cost (sends + fixed)", lv.ROI_ROW, "Held out (contacts/profiles)", "Sample ratio check"]
REQUIRED_REACH_ROWS = ["Messages sent", "Contacts/profiles targeted (incl. holdout)", "People behind them",
                       "Double sends (a need messaged again)", "People in both arms",
                       "Sends that landed while the need was open", "Send cost", "Unsubscribe (fatigue) cost"]


def test_tables_have_a_column_per_model_with_the_blast_and_every_figure(view):
    value, reach = lv.model_tables(view)
    for t in (value, reach):
        assert list(t.frame.columns) == ["CRM segment", "CDP audience", "Hybrid", "Blast (everyone)"]
    assert list(value.frame.index) == REQUIRED_VALUE_ROWS
    assert list(reach.frame.index) == REQUIRED_REACH_ROWS
    for r in view.runs.values():
        res = r.result
        assert value.frame.loc["True net value per 1,000 sends", r.title] == f"{1000 * res.true_net_value / res.sends:,.0f}"
        assert reach.frame.loc["Messages sent", r.title] == f"{res.sends:,}"
        assert reach.frame.loc["People in both arms", r.title] == f"{res.people_in_both_arms:,}"
        assert value.frame.loc["Sample ratio check", r.title].startswith(("ok (p =", "mismatch"))


def test_no_roi_without_a_fixed_cost_and_its_reason_is_given(view):
    value, _ = lv.model_tables(view)
    assert view.fixed_cost == 0
    assert all(c.startswith("not shown") for c in value.frame.loc[lv.ROI_ROW])
    assert any("platform/fixed cost" in n for n in value.notes)
    cells = " ".join(value.frame.to_numpy().ravel())
    assert not re.search(r"\d\s*x\b", cells), "an ROI multiple was printed although the report withheld it"


def test_roi_is_shown_with_its_interval_when_the_report_allows_it():
    rep = _report(20_000, 5_000, 0.08, 0.04, fixed_cost=100.0)
    assert rep.roi is not None
    value, _ = lv.model_tables(_view(cdp=_run("cdp", rep)))
    cell = value.frame.loc[lv.ROI_ROW, "CDP audience"]
    assert cell == f"{rep.roi:+,.0%} ({rep.roi_ci_low:+,.0%} to {rep.roi_ci_high:+,.0%})"
    assert "Net ROI" in lv.ROI_ROW
    assert value.frame.loc["Cost (sends + fixed)", "CDP audience"] == lv.money(rep.cost)


def test_a_too_small_holdout_greys_its_measured_figures_and_warns():
    small = _report(2_000, 30, 0.08, 0.05)
    fine = _report(20_000, 5_000, 0.08, 0.05)
    assert small.holdout_too_small and not fine.holdout_too_small
    v = _view(crm=_run("crm", small), cdp=_run("cdp", fine))
    value, _ = lv.model_tables(v)
    assert value.greyed == {"CRM segment": lv.MEASURED_ROWS}
    assert value.frame.loc["Held out (contacts/profiles)", "CRM segment"] == "30 — too small"
    css = value.styler()._compute().ctx  # {(row, col): [(prop, value)]}
    crm, cdp = value.frame.columns.get_loc("CRM segment"), value.frame.columns.get_loc("CDP audience")
    for name in lv.MEASURED_ROWS:
        i = value.frame.index.get_loc(name)
        assert ("color", lv.GREYED_COLOR) in css[(i, crm)]
        assert ("color", lv.GREYED_COLOR) not in css.get((i, cdp), [])
    true_row = value.frame.index.get_loc("True incremental revenue")
    assert ("color", lv.GREYED_COLOR) not in css.get((true_row, crm), [])
    warnings = lv.column_warnings(v)
    assert [t for t, _ in warnings] == ["CRM segment"] and "greyed out" in warnings[0][1]


def test_a_model_that_reached_nobody_says_so_instead_of_figures():
    res = CampaignResult(model="crm", targets=pd.DataFrame(), report=None, true_incremental_conversions=0.0,
                         true_incremental_revenue=0.0, sends=0, send_cost=0.0, fatigue_cost=0.0, true_net_value=0.0,
                         message="the CRM audience reached nobody, so nothing was sent or measured")
    v = _view(crm=lv.ModelRun("crm", res, pd.DataFrame(), None, None))
    value, reach = lv.model_tables(v)
    assert value.frame.loc["Measured lift per contact/profile (95% CI)", "CRM segment"] == "–"
    assert reach.frame.loc["Sends that landed while the need was open", "CRM segment"] == "–"
    assert lv.column_warnings(v) == [("CRM segment", res.message)]
    assert lv.plan(v.runs["crm"], 0.1, 4, 0.02).reason.startswith("CRM segment reached too few")


# --------------------------------------------------------------------------- the planner
def test_the_plan_at_the_simulated_design_speaks_the_repeats_power(view):
    r = view.runs["cdp"]
    p = lv.plan(r, view.holdout_share, round(r.weeks, 1), None)
    assert p.sentences[0].startswith(f"With a {view.holdout_share:.0%} holdout over ")
    assert f"{lv.times_in_ten(r.repeat.power)} (in {r.repeat.measurable:,} repeated tests)" in p.sentences[0]
    elsewhere = lv.plan(r, 0.3, 4.0, None)
    assert "repeated tests" not in elsewhere.sentences[0]


def test_the_weeks_and_holdout_the_plan_asks_for_do_reach_80_percent(view):
    r = view.runs["cdp"]
    p = lv.plan(r, 0.1, 4.0, 0.02)
    assert [e.label for e in p.plan.effects] == ["true", "planned minimum"]
    for e in p.plan.effects:
        assert e.power_now is not None and e.power_now < 0.8
        if e.weeks_needed is not None:
            again = lv.plan(r, 0.1, e.weeks_needed * 1.001, e.effect_abs if e.label != "true" else None)
            assert again.plan.effects[0 if e.label == "true" else -1].power_now >= 0.8
    assert set(p.curve["effect_label"]) == {"true effect (" + lv.pp(r.true_effect) + ")", "smallest lift worth detecting (+2.00 pp)"}
    assert (p.curve.groupby("effect_label")["power"].apply(lambda s: s.is_monotonic_increasing)).all()


def test_a_minimum_effect_past_100_percent_is_one_clear_error(view):
    r = view.runs["crm"]
    with pytest.raises(DataError, match="is not a conversion rate"):
        lv.plan(r, 0.1, 4.0, 1.5)


def test_cuped_never_widens_the_interval(view, world_run):
    _s, engine, _run = world_run
    cv = lv.cuped_view(view, "cdp", engine.world.events)
    assert cv.repeated is not None and cv.repeated["mean_width_change"] <= 0
    assert cv.single is not None and cv.single.width_adjusted <= cv.single.width_unadjusted + 1e-15
    assert re.search(r"(narrows|leaves) the interval of the CDP audience", cv.sentence)


# --------------------------------------------------------------------------- charts
def test_repeated_lifts_chart_has_every_draw_the_truth_and_greyed_models(view):
    draws, marks = lv.strip_frames(view)
    marks = marks.assign(greyed=[m == "blast" for m in marks["model"]])
    fig = charts.repeated_lifts(draws, marks, REPEATS)
    dots = [t for t in fig.data if t.mode == "markers" and t.name.endswith("one repeated test")]
    assert [len(t.y) for t in dots] == [int((draws["model"] == m).sum()) for m in marks["model"]]
    assert dots[0].marker.color == charts.COLORS["crm"] and dots[-1].marker.color == charts.GREYED
    truths = [t for t in fig.data if t.mode == "lines"]
    assert [t.y[0] for t in truths] == pytest.approx(list(marks["true_abs_lift"] * 100))
    assert "Blast (everyone)" in " ".join(fig.layout.xaxis.ticktext)
    assert charts.repeated_lifts(draws, marks, REPEATS).to_json() == fig.to_json()  # deterministic jitter


def test_power_chart_keeps_its_axis_on_the_curve(view):
    p = lv.plan(view.runs["cdp"], 0.1, 4.0, 0.02)
    fig = charts.power_chart(p.curve, p.weeks, 0.8, {})
    ann = [a for a in fig.layout.annotations if a.text == "this design"][0]
    assert ann.x == pytest.approx(math.log10(p.weeks))  # log axes place annotations at log10(x)
    assert fig.layout.xaxis.type == "log"


def test_winner_histogram_splits_the_draws_at_zero(view):
    s = lv.comparison(view, "crm", "cdp").summary
    fig = charts.winner_histogram(s.draws["diff"].tolist(), s.true_diff, "crm", "cdp")
    counts = {t.name: sum(t.y) for t in fig.data}
    d = s.draws["diff"].dropna()
    assert counts["the test names CRM segment"] == int((d > 0).sum())
    assert counts["the test names CDP audience"] == int((d < 0).sum())
    for t in fig.data:  # every bar on one side of zero
        assert all(x > 0 for x in t.x) if t.name.endswith("CRM segment") else all(x < 0 for x in t.x)


# --------------------------------------------------------------------------- uploads and real experiments
class _NoRead(io.BytesIO):
    def read(self, *a):  # noqa: D401 - a stream that must never be read
        raise AssertionError("read before the size check")


def test_an_upload_over_the_limit_is_refused_by_its_size_before_any_read():
    with pytest.raises(DataError, match=r"CSV huge\.csv is 2,048 MB; the limit is 200 MB"):
        with lv.staged_upload(_NoRead(), "huge.csv", 2 * 1024**3):
            pass


def test_a_stream_longer_than_it_declared_is_refused(monkeypatch):
    monkeypatch.setattr(liftcsv, "MAX_FILE_BYTES", 1024)
    with pytest.raises(DataError, match="liar.csv is 2 KB"):
        with lv.staged_upload(io.BytesIO(b"a" * 2048), "liar.csv", 10):
            pass


def test_an_upload_lives_in_a_private_folder_under_its_own_name_and_is_gone_after():
    with lv.staged_upload(io.BytesIO(b"arm,y\nA,1\nB,0\n"), "../../etc/my test.csv", 15) as path:
        assert path.name == "my test.csv" and path.read_bytes().startswith(b"arm,y")
        folder = path.parent
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700 and folder.name.startswith("audience-lab-upload-")
    assert not folder.exists()


def _bomb(path: Path, text_bytes: int) -> None:
    """A gzip file of ``text_bytes`` of one repeated line, streamed so it never sits in memory."""
    line = b"1,0\n" * 262_144  # 1 MiB
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz:
        gz.write(b"arm,y\n")
        for _ in range(text_bytes // len(line) + 1):
            gz.write(line)


@pytest.mark.parametrize("name, content, message", [
    ("junk.csv", b"arm,y\n\x00\x01\x02\xff", r"junk\.csv is not a text CSV: binary data"),
    ("latin.csv", "arm,y\ncaf\xe9,1\n".encode("latin-1"), r"latin\.csv is not UTF-8"),
    ("empty.csv", b"", r"empty\.csv is empty"),
    ("one.csv", b"arm\nA\nB\n", r"one\.csv has 1 column \(arm\); an experiment needs at least two"),
    ("header.csv", b"arm,y\n", r"header\.csv has a header line but no rows"),
])
def test_hostile_or_broken_files_give_one_line_naming_the_file(tmp_path, name, content, message):
    with pytest.raises(DataError, match=message) as info:
        with lv.staged_upload(io.BytesIO(content), name, len(content)) as path:
            lv.csv_choices(path)
    assert "\n" not in str(info.value)


def test_ten_million_columns_in_a_header_are_refused(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes(b"c," * 10_000_000 + b"c\n1\n")
    with pytest.raises(DataError, match=r"wide\.csv has a header line longer than 1 MB"):
        lv.csv_choices(path)


def test_a_gzip_bomb_is_refused_after_at_most_the_text_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(liftcsv, "MAX_TEXT_BYTES", 8 * 1024**2)  # the real limit is 200 MB; same code path
    path = tmp_path / "bomb.csv"
    _bomb(path, 16 * 1024**2)
    assert path.stat().st_size < 1024**2
    with pytest.raises(DataError, match=r"bomb\.csv decompresses to more than 8 MB .* decompression bomb"):
        lv.csv_choices(path)


def test_a_non_numeric_outcome_is_one_error_naming_the_column(tmp_path):
    path = tmp_path / "words.csv"
    path.write_text("arm,y\nA,yes\nB,no\nA,no\nB,yes\n")
    with pytest.raises(DataError, match=r"column 'y' must be numeric"):
        lv.csv_lift(path, "arm", "A", "B", "y")


def test_hillstrom_reads_as_published_with_the_sample_ratio_check():
    path = liftcsv.hillstrom_path()
    d = lv.hillstrom_defaults()
    choices = lv.csv_choices(path)
    assert {"Mens E-Mail", "No E-Mail", "Womens E-Mail"} <= set(choices.arms("segment"))
    rep = lv.csv_lift(path, d["arm"], d["treatment"], d["control"], d["outcome"], revenue=d["revenue"],
                      covariate=d["covariate"], planned_control_share=d["planned_control_share"],
                      min_effect=d["min_effect"])
    # Hillstrom (2008): men's e-mail 1.25% vs 0.57% conversion, +0.68 pp
    assert rep.abs_lift == pytest.approx(0.0068, abs=0.0002) and rep.significant
    assert not rep.srm_mismatch and rep.power_basis == "planned minimum effect"
    rows = dict(lv.csv_rows(rep))
    assert rows["Absolute lift"].startswith("+0.68 pp")
    assert rows["Sample ratio check"].startswith("ok (p = ")
    assert rows["Power at the planned minimum effect"].endswith("(+0.50 pp)")
    assert rows["Relative lift"].startswith("+")  # with its interval, never a bare ratio
    assert "95% CI" in rows["Relative lift"]


# --------------------------------------------------------------------------- issue 20: decision, peeking, BH, net ROI
def test_decision_table_states_three_ways_per_model_and_sums_to_all_tests(view):
    table = lv.decision_table(view)
    assert list(table.index) == ["Significant and right", "Significant and wrong",
                                 "Inconclusive (interval includes 0)", "Sign alone right (secondary)"]
    for r in view.runs.values():
        rep = r.repeat
        assert rep.significant_right_share + rep.significant_wrong_share + rep.inconclusive_share == pytest.approx(1.0)
        assert table.loc["Inconclusive (interval includes 0)", r.title] == lv._share(rep.inconclusive_share)


def test_weekly_looks_compare_fixed_and_always_valid_per_model(view):
    table = lv.peeking_table(view)
    assert set(table.columns) == {r.title for r in view.runs.values() if r.repeat.peeking}
    for r in view.runs.values():
        pk = r.repeat.peeking
        if pk is None:
            continue
        # the always-valid interval is never the one that misses more often under weekly looks
        assert pk["sequential"]["coverage_every_look"] >= pk["fixed_horizon"]["coverage_every_look"]
        assert pk["sequential"]["final_width"] >= pk["fixed_horizon"]["final_width"]
    assert "always-valid" in lv.peeking_sentence(view)


def test_every_models_p_value_has_its_bh_adjusted_twin_and_a_chance_note(view):
    value, _ = lv.model_tables(view)
    mult = lv.multiplicity_note(view)
    assert mult.tests == sum(r.report is not None for r in view.runs.values())
    for r, adj in zip(view.runs.values(), mult.p_adjusted):
        if adj is not None:
            assert value.frame.loc[lv.BH_ROW, r.title] == lv._p(adj)
            assert adj >= r.report.p_value
    assert any("by chance" in n for n in value.notes)


def test_net_roi_is_shown_for_a_campaign_that_is_not_significant():
    rep = _report(2_000, 2_000, 0.05, 0.05, fixed_cost=100.0, seed=3)
    assert not rep.significant and rep.roi is not None
    value, _ = lv.model_tables(_view(cdp=_run("cdp", rep)))
    assert value.frame.loc[lv.ROI_ROW, "CDP audience"].endswith("%)")


def test_the_planner_says_a_year_is_not_enough_instead_of_hundreds_of_weeks(view):
    run = view.runs["crm"]
    p = lv.plan(run, view.holdout_share, run.weeks, 0.0005)
    tiny = p.sentences[-1]
    assert "Not detectable within a year at this size" in tiny
    assert "the smallest lift a quarter could detect is +" in tiny
    assert not re.search(r"\d[\d,]* weeks at a", tiny)


def test_net_value_is_defined_once_on_the_page_in_the_glossarys_words(view):
    """The story states what net value subtracts; the table uses the bare term (one definition a page)."""
    from core.present.glossary import lookup, net_value_defined

    value, _ = lv.model_tables(view)
    words = [*lv.story(view, None).lines, *value.frame.index]
    defining = [w for w in words if "net value" in w.lower() and "minus" in w]
    assert defining == [lv.story(view, None).lines[0]]
    assert net_value_defined("campaign") in defining[0]
    assert "True net value" in value.frame.index and "(after" not in " ".join(value.frame.index)
    assert net_value_defined("campaign").split(" minus ")[1] in lookup("net value").meaning
