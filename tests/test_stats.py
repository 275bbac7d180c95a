"""core.measures.stats: textbook values, frequentist calibration by simulation, invariants, bad input."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from core.errors import DataError
from core.measures.stats import holdout_split, lift_report, power_two_proportions

#: Simulated A/B tests per calibration check. Coverage of a 95% CI estimated from k tests has
#: SE sqrt(.95 * .05 / k): 1.1 pp at 400, where the 93-97% band is only +-1.8 SE and fails for about
#: one seed in ten even for an exact interval; at 1000 the band is +-2.9 SE (fails < 1 in 200).
SIMS = 1000


def _arm(successes: int, n: int) -> np.ndarray:
    """A 0/1 arm with exactly ``successes`` ones (order is irrelevant to every statistic)."""
    out = np.zeros(n)
    out[:successes] = 1
    return out


def _binary_arms(rng: np.random.Generator, p1: float, p0: float, n: int, sims: int = SIMS):
    """Vectorised draw of ``sims`` A/B tests: success counts per arm, expanded lazily."""
    k1, k0 = rng.binomial(n, p1, sims), rng.binomial(n, p0, sims)
    return [(_arm(a, n), _arm(b, n)) for a, b in zip(k1, k0)]


# --------------------------------------------------------------------------- textbook values


def test_binary_matches_hand_computation_and_chi_square():
    t, c = _arm(120, 1000), _arm(100, 1000)
    r = lift_report(t, c)
    assert r.binary and r.test == "pooled two-proportion z-test"
    assert r.rate_treated == pytest.approx(0.12) and r.rate_holdout == pytest.approx(0.10)
    se = math.sqrt(0.12 * 0.88 / 1000 + 0.10 * 0.90 / 1000)  # unpooled Wald
    assert r.abs_lift_se == pytest.approx(se)
    assert r.abs_lift_ci_low == pytest.approx(0.02 - 1.959964 * se, abs=1e-6)
    assert r.abs_lift_ci_high == pytest.approx(0.02 + 1.959964 * se, abs=1e-6)
    # pooled z^2 is Pearson's chi-square without continuity correction
    chi = sps.chi2_contingency([[120, 880], [100, 900]], correction=False)
    assert r.p_value == pytest.approx(chi.pvalue, rel=1e-9)
    assert r.p_value == pytest.approx(0.1529, abs=1e-4)
    # delta method on the ratio 1.2
    var = 0.12 * 0.88 / 1000 / 0.01 + 0.0144 * 0.09 / 1000 / 0.0001
    assert r.rel_lift == pytest.approx(0.2)
    assert r.rel_lift_ci_low == pytest.approx(0.2 - 1.959964 * math.sqrt(var), abs=1e-6)
    assert r.incremental_conversions == pytest.approx(20.0)


def test_continuous_matches_scipy_welch():
    rng = np.random.default_rng(1)
    t, c = rng.lognormal(0.1, 1.0, 300), rng.lognormal(0.0, 1.2, 450)
    r = lift_report(t, c)
    ref = sps.ttest_ind(t, c, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert not r.binary and r.test == "Welch t-test"
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.abs_lift_ci_low == pytest.approx(ci.low, rel=1e-9)
    assert r.abs_lift_ci_high == pytest.approx(ci.high, rel=1e-9)
    assert r.rate_treated == pytest.approx(t.mean())


def test_power_matches_published_sample_size():
    """Evan Miller's calculator: 10% baseline, +1 pp, 80% power, alpha 5% -> 14,751 per arm."""
    assert power_two_proportions(0.10, 0.11, 14751, 14751) == pytest.approx(0.80, abs=1e-4)
    assert power_two_proportions(0.10, 0.11, 14000, 14000) < 0.80


def test_mde_is_the_effect_with_target_power_and_near_closed_form():
    r = lift_report(_arm(210, 2000), _arm(200, 2000))
    assert power_two_proportions(0.10, 0.10 + r.mde_abs, 2000, 2000) == pytest.approx(0.8, abs=1e-6)
    # the rule of thumb uses the holdout variance in both arms; the exact MDE is a little larger
    # because a higher treated rate has a larger variance
    approx = (1.959964 + 0.841621) * math.sqrt(0.09 * 2 / 2000)
    assert approx < r.mde_abs < 1.1 * approx
    assert r.mde_rel == pytest.approx(r.mde_abs / 0.10)


# --------------------------------------------------------------------------- calibration


def test_wald_ci_covers_true_difference_about_95_percent():
    rng = np.random.default_rng(20240601)
    p1, p0 = 0.12, 0.10
    reports = [lift_report(t, c, true_abs_lift=p1 - p0) for t, c in _binary_arms(rng, p1, p0, 2000)]
    coverage = np.mean([r.ci_covers_truth for r in reports])
    assert 0.93 <= coverage <= 0.97
    errors = np.array([r.estimation_error for r in reports])
    assert abs(errors.mean()) < 0.002  # unbiased


def test_delta_method_relative_ci_covers_true_ratio():
    rng = np.random.default_rng(7)
    p1, p0 = 0.12, 0.10
    true_rel = p1 / p0 - 1
    reports = [lift_report(t, c) for t, c in _binary_arms(rng, p1, p0, 2000)]
    covers = np.mean([r.rel_lift_ci_low <= true_rel <= r.rel_lift_ci_high for r in reports])
    assert 0.93 <= covers <= 0.97


def test_welch_ci_covers_true_mean_difference_on_skewed_revenue():
    rng = np.random.default_rng(3)
    t = rng.exponential(2.2, (SIMS, 800))
    c = rng.exponential(2.0, (SIMS, 800))
    covers = np.mean([lift_report(a, b, true_abs_lift=0.2).ci_covers_truth for a, b in zip(t, c)])
    assert 0.93 <= covers <= 0.97


def test_p_values_are_uniform_under_the_null():
    rng = np.random.default_rng(11)
    p = np.array([lift_report(t, c).p_value for t, c in _binary_arms(rng, 0.1, 0.1, 2000)])
    assert sps.kstest(p, "uniform").pvalue > 0.01
    # P(p <= a) = a at the levels people use; not equal-width bins over (0, 1), because a count test
    # has lattice p-values that are coarse near 1 (|k1 - k0| = 0, 1, 2 ... -> p = 1, .96, .92 ...)
    for level in (0.01, 0.05, 0.10, 0.20, 0.50):
        tolerance = 3 * math.sqrt(level * (1 - level) / p.size)
        assert abs(np.mean(p <= level) - level) <= tolerance, level


def test_simulating_at_the_mde_is_significant_about_80_percent_of_the_time():
    n, p0 = 2000, 0.10
    mde = lift_report(_arm(200, n), _arm(200, n)).mde_abs
    rng = np.random.default_rng(5)
    sig = [lift_report(t, c).significant for t, c in _binary_arms(rng, p0 + mde, p0, n, sims=1000)]
    assert 0.76 <= np.mean(sig) <= 0.84


# --------------------------------------------------------------------------- power flags


def test_underpowered_flag_and_warning_on_tiny_samples():
    r = lift_report(np.array([1, 0, 0, 1, 0]), np.array([0, 0, 1, 0, 0]))
    assert r.underpowered and r.power_at_observed < 0.8
    assert "underpowered" in r.warning and "not evidence of no effect" in r.warning
    assert not r.significant


def test_large_clear_effect_is_not_underpowered():
    r = lift_report(_arm(1800, 10000), _arm(1000, 10000))
    assert not r.underpowered and r.warning is None
    assert r.power_at_observed > 0.999 and r.p_value < 1e-30


# --------------------------------------------------------------------------- money and truth


def test_revenue_cost_and_roi():
    t, c = _arm(30, 100), _arm(20, 100)
    rev_t, rev_c = t * 50.0, c * 50.0  # mean 15 vs 10
    r = lift_report(t, c, revenue_treated=rev_t, revenue_control=rev_c, cost_per_send=0.5,
                    fixed_cost=100.0)
    assert r.incremental_revenue == pytest.approx(500.0)
    assert r.incremental_revenue_ci_low < 500 < r.incremental_revenue_ci_high
    assert r.cost == pytest.approx(150.0)
    assert r.roi == pytest.approx((500 - 150) / 150)


def test_money_absent_and_zero_cost_give_none_not_nan():
    r = lift_report(_arm(30, 100), _arm(20, 100))
    assert r.incremental_revenue is None and r.roi is None and r.cost == 0.0
    r2 = lift_report(_arm(30, 100), _arm(20, 100), revenue_treated=np.ones(100),
                     revenue_control=np.ones(100))
    assert r2.roi is None and r2.incremental_revenue == 0.0


def test_truth_fields():
    r = lift_report(_arm(120, 1000), _arm(100, 1000), true_abs_lift=0.015)
    assert r.true_abs_lift == 0.015
    assert r.estimation_error == pytest.approx(0.005)
    assert r.ci_covers_truth is True
    assert lift_report(_arm(120, 1000), _arm(100, 1000)).ci_covers_truth is None


def test_zero_holdout_rate_gives_no_relative_lift_and_a_note():
    r = lift_report(_arm(5, 100), _arm(0, 100))
    assert r.rel_lift is None and r.rel_lift_ci_low is None and r.rel_lift_ci_high is None
    assert any("relative lift is undefined" in n for n in r.notes)
    json.dumps(r.to_dict(), allow_nan=False)


def test_to_dict_is_json_without_nan():
    r = lift_report(_arm(120, 1000), _arm(100, 1000), revenue_treated=np.ones(1000),
                    revenue_control=np.zeros(1000), cost_per_send=0.1)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    for key in ("n_treated", "n_holdout", "rate_treated", "rate_holdout", "abs_lift",
                "abs_lift_ci_low", "abs_lift_ci_high", "rel_lift", "rel_lift_ci_low",
                "rel_lift_ci_high", "p_value", "significant", "mde_abs", "power_at_observed",
                "underpowered", "warning", "incremental_conversions", "incremental_revenue",
                "cost", "roi", "true_abs_lift", "estimation_error", "ci_covers_truth"):
        assert key in d
    with pytest.raises(AttributeError):
        r.abs_lift = 0  # frozen


def test_auto_detect_and_forced_kinds():
    assert lift_report(np.array([0, 1, 1]), np.array([0, 0, 1])).binary
    assert not lift_report(np.array([0, 1, 2.0]), np.array([0, 0, 1])).binary
    assert not lift_report(np.array([0, 1, 1]), np.array([0, 0, 1]), binary=False).binary
    assert lift_report(np.array([True, False]), np.array([False, False])).binary


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(treated=[1, 0], control=[]), "holdout arm is empty: a lift needs people in both arms"),
        (dict(treated=[], control=[1, 0]), "treated arm is empty"),
        (dict(treated=[1, np.nan], control=[1, 0]), "missing or infinite"),
        (dict(treated=[1, 0], control=[1, np.inf]), "missing or infinite"),
        (dict(treated=[1, 2], control=[1, 0], binary=True), "not binary"),
        (dict(treated=["a", "b"], control=[1, 0]), "must be numbers"),
        (dict(treated=[[1, 0]], control=[1, 0]), "1-D"),
        (dict(treated=[1, 0], control=[1, 0], alpha=0), "alpha must be between 0 and 1"),
        (dict(treated=[1, 0], control=[1, 0], power=1.5), "power must be between 0 and 1"),
        (dict(treated=[1, 0], control=[1, 0], cost_per_send=-1), "cost_per_send"),
        (dict(treated=[1, 0], control=[1, 0], revenue_treated=[1, 2]), "revenue needs both arms"),
        (dict(treated=[1, 0], control=[1, 0], revenue_treated=[1], revenue_control=[1, 2]),
         "one value per person"),
        (dict(treated=[1.5], control=[1.0, 2.0]), "at least 2 people"),
    ],
)
def test_bad_input_raises_data_error(kwargs, message):
    treated, control = kwargs.pop("treated"), kwargs.pop("control")
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        lift_report(np.asarray(treated, dtype=object) if treated and isinstance(treated[0], str)
                    else np.asarray(treated, dtype=float), np.asarray(control, dtype=float), **kwargs)


# --------------------------------------------------------------------------- holdout_split


def test_holdout_split_exact_size_and_deterministic():
    mask = holdout_split(1000, 0.1, np.random.default_rng(0))
    assert mask.dtype == bool and mask.sum() == 100
    assert np.array_equal(mask, holdout_split(1000, 0.1, 0))
    assert holdout_split(3, 0.01, 0).sum() == 1  # both arms keep someone
    assert holdout_split(0, 0.5, 0).size == 0


@pytest.mark.parametrize("share", [0, 1, -0.2, 1.5, float("nan")])
def test_holdout_split_rejects_bad_share(share):
    with pytest.raises(DataError, match="holdout share must be between 0 and 1 exclusive"):
        holdout_split(10, share, 0)


def test_holdout_split_message_names_the_value():
    with pytest.raises(DataError, match=r"exclusive \(got 0\)"):
        holdout_split(10, 0, 0)
    with pytest.raises(DataError, match="n must be"):
        holdout_split(-1, 0.5, 0)


# --------------------------------------------------------------------------- invariants

binary_arm = st.lists(st.integers(0, 1), min_size=1, max_size=60)
money_arm = st.lists(st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False,
                               allow_subnormal=False), min_size=2, max_size=40)


@settings(max_examples=150, deadline=None)
@given(binary_arm, binary_arm)
def test_binary_ci_contains_estimate_and_swap_flips_sign(t, c):
    a, b = np.array(t, float), np.array(c, float)
    r, s = lift_report(a, b, binary=True), lift_report(b, a, binary=True)
    assert r.abs_lift_ci_low <= r.abs_lift <= r.abs_lift_ci_high
    assert s.abs_lift == pytest.approx(-r.abs_lift)
    assert s.abs_lift_ci_low == pytest.approx(-r.abs_lift_ci_high)
    assert s.p_value == pytest.approx(r.p_value)
    assert 0.0 <= r.p_value <= 1.0 and 0.0 <= r.power_at_observed <= 1.0
    if r.rel_lift is not None:
        assert r.rel_lift_ci_low <= r.rel_lift <= r.rel_lift_ci_high
    json.dumps(r.to_dict(), allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(money_arm, money_arm)
def test_continuous_ci_contains_estimate_and_swap_flips_sign(t, c):
    a, b = np.array(t), np.array(c)
    r, s = lift_report(a, b, binary=False), lift_report(b, a, binary=False)
    assert r.abs_lift_ci_low <= r.abs_lift + 1e-9 and r.abs_lift <= r.abs_lift_ci_high + 1e-9
    assert s.abs_lift == pytest.approx(-r.abs_lift, abs=1e-9)
    assert s.abs_lift_ci_high == pytest.approx(-r.abs_lift_ci_low, abs=1e-9)
    assert s.p_value == pytest.approx(r.p_value, abs=1e-9)
    json.dumps(r.to_dict(), allow_nan=False)
