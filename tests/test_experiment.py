"""Repeated experiments, model comparison, the design planner, SRM and CUPED (core.measures).

Target frames are built here the way campaign.py builds them (one row per unit: person_id, p0, p1,
value, optionally key), with realistic rates: a few thousand units, base rates of 1-5%, and a
heterogeneous effect per unit.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from core.errors import DataError
from core.measures.cuped import cuped, pre_period_covariates
from core.measures.design import (
    plan_experiment, power_curve, power_two_proportions, required_holdout_share, required_sample_size, srm_check,
)
from core.measures.proportions import newcombe_interval, z_for
from core.measures.repeats import compare_models, repeat_experiment

REPEAT_KEYS = {"repeats", "coverage", "bias", "rmse", "power", "type_s", "type_m", "draws"}
DRAW_KEYS = {"abs_lift", "abs_lift_ci_low", "abs_lift_ci_high", "true_abs_lift", "p_value"}


def frame(n: int, base: tuple[float, float], effect: float, seed: int, *, duplicates: float = 0.0) -> pd.DataFrame:
    """A campaign's targets: heterogeneous base rates and effects (gamma-distributed, mean ``effect``)."""
    rng = np.random.default_rng(seed)
    p0 = rng.uniform(*base, n)
    p1 = np.clip(p0 + rng.gamma(2.0, effect / 2.0, n), 0, 1) if effect else p0.copy()
    person = np.arange(n)
    if duplicates:  # some people reachable through a second contact
        k = int(n * duplicates)
        person[-k:] = rng.choice(n - k, k, replace=False)
    return pd.DataFrame({"unit_id": np.arange(n), "person_id": person, "p0": p0, "p1": p1,
                         "value": rng.lognormal(4.4, 0.6, n), "holdout": False, "y": 0})


# --------------------------------------------------------------------------- coverage (issue 13 item 7)


def test_coverage_with_a_10_percent_holdout():
    r = repeat_experiment(frame(3000, (0.01, 0.05), 0.01, seed=1), 0.10, 1000, seed=3)
    assert r.repeats == 1000 and r.measurable == 1000
    assert 0.93 <= r.coverage <= 0.97, r.coverage
    assert abs(r.bias) < 0.1 * r.true_abs_lift  # the difference of rates is unbiased


def test_coverage_with_a_50_percent_holdout_on_a_low_rate_frame():
    r = repeat_experiment(frame(4000, (0.005, 0.015), 0.005, seed=2), 0.50, 1000, seed=4)
    assert 0.93 <= r.coverage <= 0.97, r.coverage
    assert r.holdout_too_small_share == 0.0


def test_coverage_holds_with_a_tiny_holdout_where_wald_fell_to_71_percent():
    # about 100 units held out, ~2 expected holdout conversions: every draw is flagged as too small
    r = repeat_experiment(frame(1000, (0.01, 0.03), 0.01, seed=5), 0.10, 1000, seed=6)
    assert r.coverage >= 0.93 and r.holdout_too_small_share > 0.9


def test_summary_keys_json_and_draws():
    r = repeat_experiment(frame(2000, (0.01, 0.05), 0.01, seed=1), 0.2, 400, seed=1)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert REPEAT_KEYS <= set(d) and len(d["draws"]) == 400
    assert DRAW_KEYS <= set(d["draws"][0])
    draws = r.draws
    assert (draws["true_abs_lift"] == r.true_abs_lift).all()
    covered = (draws["abs_lift_ci_low"] <= r.true_abs_lift) & (r.true_abs_lift <= draws["abs_lift_ci_high"])
    assert r.coverage == pytest.approx(covered.mean())
    assert r.rmse == pytest.approx(np.sqrt(((draws["abs_lift"] - r.true_abs_lift) ** 2).mean()))
    assert r.power == pytest.approx(draws["significant"].mean())
    assert r.coverage_mcse == pytest.approx(math.sqrt(r.coverage * (1 - r.coverage) / 400))


def test_draws_use_the_reported_interval_and_p_value():
    r = repeat_experiment(frame(1500, (0.01, 0.05), 0.02, seed=8), 0.3, 50, seed=2)
    row = r.draws.iloc[7]
    n1, n0 = int(row["n_treated"]), int(row["n_holdout"])
    # recover the counts from the estimate: x1/n1 - x0/n0 with integer counts
    lo, hi = row["abs_lift_ci_low"], row["abs_lift_ci_high"]
    found = [(x1, x0) for x0 in range(n0 + 1) for x1 in range(n1 + 1)
             if abs(x1 / n1 - x0 / n0 - row["abs_lift"]) < 1e-12
             and np.allclose(newcombe_interval(x1, n1, x0, n0, z_for(0.05)), (lo, hi))]
    assert found  # the same Newcombe interval lift_report would print for those counts
    assert (row["p_value"] < 0.05) == (lo > 0 or hi < 0)


def test_deterministic_and_prefix_stable():
    f = frame(1500, (0.01, 0.05), 0.01, seed=3)
    a = repeat_experiment(f, 0.1, 300, seed=9)
    b = repeat_experiment(f, 0.1, 300, seed=9)
    c = repeat_experiment(f, 0.1, 100, seed=9)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    pd.testing.assert_frame_equal(a.draws.iloc[:100], c.draws)
    assert not repeat_experiment(f, 0.1, 300, seed=10).draws.equals(a.draws)


def test_no_effect_gives_a_false_positive_rate_not_a_power():
    r = repeat_experiment(frame(3000, (0.01, 0.05), 0.0, seed=4), 0.5, 2000, seed=1)
    assert r.true_abs_lift == 0 and r.power is None and r.type_s is None and r.type_m is None
    assert 0.03 <= r.false_positive_rate <= 0.07


def test_type_m_matches_gelman_carlin_retrodesign_on_an_underpowered_design():
    r = repeat_experiment(frame(2000, (0.01, 0.05), 0.006, seed=6), 0.1, 4000, seed=2)
    s, d, z = r.draws["abs_lift"].std(), r.true_abs_lift, z_for(0.05)
    # Gelman & Carlin (2014) retrodesign: E(|estimate| / D | significant) for estimate ~ N(D, s)
    est = np.random.default_rng(0).normal(d, s, 1_000_000)
    expected_m = np.mean(np.abs(est[np.abs(est) > z * s])) / d
    assert r.power < 0.3 and r.type_m == pytest.approx(expected_m, rel=0.15) and r.type_m > 3
    assert 0 < r.type_s < 0.5  # at this power some significant results even have the wrong sign


def test_a_well_powered_design_has_no_type_s_and_little_exaggeration():
    r = repeat_experiment(frame(20_000, (0.01, 0.05), 0.02, seed=6), 0.5, 300, seed=2)
    assert r.power > 0.99 and r.type_s == 0.0 and r.type_m < 1.1


def test_one_unit_per_group_converts_exactly_by_p0_or_p1():
    f = pd.DataFrame({"person_id": np.arange(400), "p0": 0.0, "p1": 1.0})
    r = repeat_experiment(f, 0.25, 20, seed=1)
    assert (r.draws["abs_lift"] == 1.0).all() and r.true_abs_lift == 1.0


def test_people_in_both_arms_contaminate_the_holdout():
    """A held-out contact of a person messaged through another contact sees that message too
    (campaign.py's rule), so duplicates pull the measured lift toward 0."""
    clean = repeat_experiment(frame(3000, (0.01, 0.05), 0.03, seed=7), 0.3, 600, seed=1)
    dup = repeat_experiment(frame(3000, (0.01, 0.05), 0.03, seed=7, duplicates=0.4), 0.3, 600, seed=1)
    assert abs(clean.bias) < 0.1 * clean.true_abs_lift
    assert dup.bias < -0.1 * dup.true_abs_lift  # a visible share of the effect hides in the holdout


def test_key_column_defines_the_response_group():
    f = frame(1000, (0.01, 0.05), 0.03, seed=2, duplicates=0.3)
    by_person = repeat_experiment(f, 0.3, 200, seed=1)
    by_unit = repeat_experiment(f.assign(key=np.arange(len(f))), 0.3, 200, seed=1)
    assert by_unit.bias > by_person.bias  # no shared need, no contamination


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(holdout_share=0), "holdout share"),
    (dict(n_repeats=0), "repeats must be"),
    (dict(n_repeats=10**6), "repeats must be"),
    (dict(seed=-1), "seed"),
])
def test_repeat_bad_arguments(kwargs, message):
    args = dict(targets=frame(100, (0.01, 0.05), 0.01, seed=1), holdout_share=0.1, n_repeats=10, seed=1)
    args.update(kwargs)
    with pytest.raises(DataError, match=message):
        repeat_experiment(**args)


def test_repeat_bad_frames():
    with pytest.raises(DataError, match="lack column"):
        repeat_experiment(pd.DataFrame({"person_id": [1, 2], "p0": [0.1, 0.1]}), 0.1, 10, 1)
    with pytest.raises(DataError, match="probabilities"):
        repeat_experiment(pd.DataFrame({"person_id": [1, 2], "p0": [0.1, 0.1], "p1": [1.2, 0.1]}), 0.1, 10, 1)
    with pytest.raises(DataError, match="at least 2"):
        repeat_experiment(pd.DataFrame({"person_id": [1], "p0": [0.1], "p1": [0.2]}), 0.1, 10, 1)


# --------------------------------------------------------------------------- which model wins


def test_compare_models_picks_the_clearly_better_model_most_of_the_time():
    crm = frame(4000, (0.01, 0.05), 0.005, seed=1)
    cdp = frame(4000, (0.01, 0.05), 0.04, seed=2)
    c = compare_models(crm, cdp, 0.2, 400, seed=1, labels=("crm", "cdp"))
    assert c.true_winner == "cdp" and c.true_diff < 0
    assert c.right_winner_share > 0.95 and c.significant_right_share > 0.5
    assert 0.92 <= c.coverage_paired <= 0.98
    d = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    assert {"right_winner_share", "true_diff", "draws"} <= set(d) and "est_cdp" in d["draws"][0]


def test_compare_identical_campaigns_has_no_true_winner():
    f = frame(2000, (0.01, 0.05), 0.01, seed=3)
    c = compare_models(f, f, 0.1, 300, seed=2, metric="conversions")
    assert c.true_diff == 0 and c.true_winner is None and c.right_winner_share is None
    assert c.significant_wrong_share <= 0.1


def test_paired_interval_counts_the_covariance_of_the_shared_random_numbers():
    """Same people, correlated effects: the paired interval's width matches the real spread of the
    measured difference over the repeats (so it covers ~95%); ignoring the covariance the shared
    random numbers create (two independent tests) gives a wider, over-covering interval."""
    a = frame(3000, (0.02, 0.2), 0.05, seed=4)
    b = a.assign(p1=np.clip(a["p0"] + 1.2 * (a["p1"] - a["p0"]), 0, 1))
    c = compare_models(a, b, 0.3, 1000, seed=3, metric="conversions")
    real_width = 2 * z_for(0.05) * c.draws["diff"].std()
    assert c.mean_width_paired == pytest.approx(real_width, rel=0.05)
    assert c.mean_width_paired < c.mean_width_independent
    assert 0.93 <= c.coverage_paired <= 0.97


def test_compare_rejects_bad_input():
    f = frame(100, (0.01, 0.05), 0.01, seed=1)
    with pytest.raises(DataError, match="metric"):
        compare_models(f, f, 0.1, 10, 1, metric="clicks")
    with pytest.raises(DataError, match="value"):
        compare_models(f.drop(columns="value"), f, 0.1, 10, 1)
    with pytest.raises(DataError, match="'key' column"):
        compare_models(f.assign(key=1), f, 0.1, 10, 1)


# --------------------------------------------------------------------------- design planner


def test_required_sample_size_matches_published_calculator():
    # Evan Miller: 10% -> 11%, 80% power, 5% two-sided: 14,751 per arm (29,502 in total at 50/50)
    assert required_sample_size(0.10, 0.01, 0.5) == pytest.approx(29_502, abs=2)
    assert required_sample_size(0.10, 0.0, 0.5) is None


def test_planned_size_gives_80_percent_power_with_the_test_actually_run():
    n = required_sample_size(0.03, 0.01, 0.2)
    n1, n0 = round(0.8 * n), round(0.2 * n)
    rng = np.random.default_rng(1)
    x1, x0 = rng.binomial(n1, 0.04, 20_000), rng.binomial(n0, 0.03, 20_000)
    lo, hi = newcombe_interval(x1, n1, x0, n0, z_for(0.05))
    assert 0.77 <= np.mean((lo > 0) | (hi < 0)) <= 0.83


def test_required_holdout_share_reaches_the_target_and_says_when_impossible():
    h = required_holdout_share(0.03, 0.01, 40_000)
    assert 0 < h < 0.5
    assert power_two_proportions(0.03, 0.04, (1 - h) * 40_000, h * 40_000) == pytest.approx(0.8, abs=1e-3)
    assert required_holdout_share(0.03, 0.01, 2_000) is None


def test_power_curve_rises_with_size_and_crosses_80_percent_where_planned():
    curve = power_curve(0.03, {"true": 0.01, "planned minimum": 0.005}, 0.1, arrivals_per_week=500)
    assert set(curve["effect_label"]) == {"true", "planned minimum"}
    assert {"n_total", "n_treated", "n_holdout", "power", "weeks"} <= set(curve.columns)
    for _, g in curve.groupby("effect_label"):
        assert g["power"].is_monotonic_increasing and g["power"].iloc[-1] > 0.8
    n = required_sample_size(0.03, 0.01, 0.1)
    true = curve[curve["effect_label"] == "true"]
    assert (true.loc[true["n_total"] < n, "power"] < 0.8).all()
    assert (true.loc[true["n_total"] > n, "power"] >= 0.8).all()
    assert curve["weeks"].iloc[0] == pytest.approx(curve["n_total"].iloc[0] / 500)


def test_plan_experiment_answers_in_a_sentence():
    plan = plan_experiment(0.03, holdout_share=0.2, true_effect=0.01, min_effect=0.02,
                           audience_size=4000, arrivals_per_week=1000)
    true, minimum = plan.effects
    assert true.label == "true" and minimum.label == "planned minimum"
    assert true.power_now == pytest.approx(power_two_proportions(0.03, 0.04, 3200, 800))
    assert true.weeks_needed == pytest.approx(true.n_total_needed / 1000)
    assert "with a 20% holdout over 4.0 weeks" in true.sentence.lower()
    assert minimum.power_now > true.power_now
    json.dumps(plan.to_dict(), allow_nan=False)
    with pytest.raises(DataError, match="true effect or a planned minimum"):
        plan_experiment(0.03, holdout_share=0.2)
    with pytest.raises(DataError, match="not a rate"):
        plan_experiment(0.03, holdout_share=0.2, min_effect=2.0)


# --------------------------------------------------------------------------- sample ratio mismatch


def test_srm_flags_a_52_48_split_at_20000_and_passes_a_fair_one():
    bad = srm_check(10_400, 9_600, 0.5)
    assert bad.mismatch and bad.p_value < 1e-6 and "sample ratio mismatch" in bad.message
    assert bad.p_value == pytest.approx(sps.chisquare([10_400, 9_600]).pvalue)
    fair = srm_check(10_050, 9_950, 0.5)
    assert not fair.mismatch and fair.message is None


def test_srm_against_an_unequal_plan():
    assert not srm_check(18_000, 2_000, 0.10).mismatch
    r = srm_check(18_400, 1_600, 0.10)
    assert r.mismatch and r.p_value == pytest.approx(sps.chisquare([18_400, 1_600], [18_000, 2_000]).pvalue)


# --------------------------------------------------------------------------- CUPED


def test_cuped_theta_is_the_regression_slope_and_unbiased():
    rng = np.random.default_rng(1)
    x1, x0 = rng.normal(10, 3, 5000), rng.normal(10, 3, 5000)
    y1, y0 = 2 * x1 + 1.0 + rng.normal(0, 2, 5000), 2 * x0 + rng.normal(0, 2, 5000)
    c = cuped(y1, y0, x1, x0)
    assert c.theta == pytest.approx(2.0, abs=0.05) and c.correlation > 0.9
    assert c.abs_lift_ci_low < 1.0 < c.abs_lift_ci_high and c.significant
    assert c.width_change == pytest.approx(math.sqrt(4 / 40) - 1, abs=0.03)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.2, 3.0), st.floats(0.0, 1.0), st.integers(30, 400))
def test_cuped_never_widens_the_interval_on_a_correlated_covariate(seed, slope, effect, n):
    rng = np.random.default_rng(seed)
    x1, x0 = rng.gamma(2, 5, n), rng.gamma(2, 5, n + 17)
    y1 = slope * x1 + effect + rng.normal(0, 5, n)
    y0 = slope * x0 + rng.normal(0, 5, n + 17)
    c = cuped(y1, y0, x1, x0)
    assert c.width_adjusted <= c.width_unadjusted * (1 + 1e-12)
    assert c.se_adjusted <= c.se_unadjusted * (1 + 1e-12)


def test_cuped_in_repeats_keeps_coverage_and_narrows_with_a_covariate():
    f = frame(3000, (0.0, 0.5), 0.05, seed=9)
    f["pre_visits"] = f["p0"] * 20 + np.random.default_rng(1).normal(0, 1, len(f))
    r = repeat_experiment(f, 0.2, 600, seed=5, covariate="pre_visits")
    s = r.cuped_summary
    assert s["covariate"] == "pre_visits" and s["mean_width_change"] < -0.02
    assert 0.93 <= s["coverage"] <= 0.97


def test_cuped_bad_input():
    with pytest.raises(DataError, match="one value per person"):
        cuped([1, 2, 3], [1, 2], [1, 2], [1, 2])
    with pytest.raises(DataError, match="finite"):
        cuped([1, 2], [1, 2], [1, np.nan], [1, 2])


def _events() -> pd.DataFrame:
    ts = pd.to_datetime(["2026-01-01 09:00", "2026-01-02 09:00", "2026-01-05 09:00", "2026-01-03 09:00",
                         "2026-01-03 10:00", "2026-02-01 09:00"], utc=True)
    return pd.DataFrame({"person_id": [1, 1, 1, 2, 2, 3], "ts": ts,
                         "event_type": ["page_view", "purchase", "purchase", "page_view", "page_view", "purchase"],
                         "value": [None, 10.0, 5.0, None, None, 7.0], "session_id": [1, 2, 3, 4, 4, None]})


def test_pre_period_covariates_before_one_time():
    pre = pre_period_covariates(_events(), pd.Timestamp("2026-01-04", tz="UTC"))
    assert pre.to_dict("list") == {"person_id": [1, 2, 3], "pre_visits": [2.0, 1.0, 0.0],
                                   "pre_spend": [10.0, 0.0, 0.0]}


def test_pre_period_covariates_before_each_units_send():
    sends = pd.to_datetime(["2026-01-03", "2026-01-06", "2026-01-04", "2026-03-01"], utc=True)
    pre = pre_period_covariates(_events(), sends, person_ids=[1, 1, 2, 9], lookback_days=2)
    assert pre["pre_visits"].tolist() == [2.0, 1.0, 1.0, 0.0]   # sessions 1, 2 | 3 | 4 | nobody
    assert pre["pre_spend"].tolist() == [10.0, 5.0, 0.0, 0.0]
    with pytest.raises(DataError, match="lack column"):
        pre_period_covariates(_events().drop(columns="session_id"), sends[0])


# --------------------------------------------------------------------------- the CLI


@pytest.mark.slow
def test_simulate_lift_repeats_json(capsys):
    """`simulate-lift --repeats N --json` returns the single run's keys and the repeat keys."""
    from core.cli import main

    args = ["simulate-lift", "--preset", "b2c-retail", "--people", "2000", "--play", "cart-abandonment",
            "--model", "cdp", "--repeats", "120", "--versus", "crm", "--min-effect", "0.01", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert REPEAT_KEYS <= set(out) and {"abs_lift", "p_value", "true_abs_lift", "model"} <= set(out)
    assert out["repeats"] == 120 and len(out["draws"]) == 120 and DRAW_KEYS <= set(out["draws"][0])
    assert [e["label"] for e in out["design"]["effects"]] == ["true", "planned minimum"]
    assert out["comparison"]["labels"] == ["cdp", "crm"] and "right_winner_share" in out["comparison"]
    # one estimand: the repeats draw the single report's units (contacts/profiles), with its true lift
    assert out["power_effect"] == pytest.approx(out["true_abs_lift"], rel=1e-12, abs=1e-15)
    assert out["n_treated"] + out["n_holdout"] == out["units"]
    assert all(d["n_treated"] + d["n_holdout"] == out["units"] for d in out["draws"])
    c = out["comparison"]
    assert c["significant_right_share"] + c["significant_wrong_share"] + c["inconclusive_share"] == pytest.approx(1.0)
    assert out["significant_right_share"] + out["significant_wrong_share"] + out["inconclusive_share"] == pytest.approx(1.0)


@pytest.mark.slow
def test_simulate_lift_peek_weekly_json(capsys):
    """`--peek weekly`: fixed-horizon and always-valid coverage side by side; the sequential one holds."""
    from core.cli import main

    args = ["simulate-lift", "--preset", "b2c-retail", "--people", "2000", "--play", "cart-abandonment",
            "--model", "cdp", "--repeats", "300", "--peek", "weekly", "--json"]
    assert main(args) == 0
    pk = json.loads(capsys.readouterr().out)["peeking"]
    assert pk["looks"] >= 4
    fixed, seq = pk["fixed_horizon"], pk["sequential"]
    assert seq["coverage_every_look"] >= fixed["coverage_every_look"]
    assert seq["coverage_every_look"] >= 0.9  # always valid: 95% nominal, 300 repeats
    assert seq["final_width"] > fixed["final_width"]  # the price of peeking safely


@pytest.mark.parametrize(("extra", "message"), [
    (["--versus", "crm"], "need --repeats"),
    (["--peek", "weekly"], "need --repeats"),
    (["--repeats", "0"], "must be 1 to 100000"),
    (["--repeats", "10", "--versus", "cdp"], "another model"),
])
def test_simulate_lift_bad_flags_exit_2(extra, message, capsys):
    from core.cli import main

    try:
        code = main(["simulate-lift", "--preset", "b2c-retail", "--people", "2000", "--play", "cart-abandonment",
                     "--model", "cdp", *extra])
    except SystemExit as exc:  # argparse rejects a bad flag value itself, also with code 2
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and message in err, err
