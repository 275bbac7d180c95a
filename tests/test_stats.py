"""core.measures.stats and proportions: published reference values, calibration by simulation,
agreement between interval and p-value, relative intervals in range, flags, money and bad input."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from core.errors import DataError
from core.measures.proportions import (
    mover_ratio_interval, newcombe_interval, newcombe_p_value, wilson, z_for,
)
from core.measures.stats import holdout_split, lift_report, power_two_proportions

Z95 = z_for(0.05)
#: Simulated tests per calibration check (vectorised on counts). Coverage SE at 20,000 is 0.15 pp,
#: so the 93-97% band is +-13 SE: it fails only if the interval is genuinely off.
SIMS = 20_000


def _arm(successes: int, n: int) -> np.ndarray:
    """A 0/1 arm with exactly ``successes`` ones (order is irrelevant to every statistic)."""
    out = np.zeros(n)
    out[:successes] = 1
    return out


def _coverage(rng, n1, n0, p1, p0, sims=SIMS):
    x1, x0 = rng.binomial(n1, p1, sims), rng.binomial(n0, p0, sims)
    lo, hi = newcombe_interval(x1, n1, x0, n0, Z95)
    return float(np.mean((lo <= p1 - p0) & (p1 - p0 <= hi)))


# --------------------------------------------------------------------------- published values

# Newcombe (1998), "Interval estimation for the difference between independent proportions:
# comparison of eleven methods", Stat Med 17:873-890, Table II, method 10 (hybrid score).
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II)
def test_newcombe_interval_matches_newcombe_1998_table_ii(counts, expected):
    lo, hi = newcombe_interval(*counts, Z95)
    assert (round(float(lo), 4), round(float(hi), 4)) == expected


def test_perondi_example_from_fagerland_lydersen_laake():
    """Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables (2017), ch. 4, the
    Perondi et al. (2004) trial, 7/34 vs 1/34 (values as in their R package contingencytables)."""
    lo, hi = newcombe_interval(7, 34, 1, 34, Z95)
    assert (round(float(lo), 4), round(float(hi), 4)) == (0.0189, 0.3404)
    rlo, rhi = mover_ratio_interval(7, 34, 1, 34, Z95)
    assert (round(float(rlo), 4), round(float(rhi), 4)) == (1.1537, 41.9763)
    # the log (Katz) interval on the same data is 0.9096 to 53.87: it includes 1 while the difference
    # interval excludes 0 — the disagreement MOVER-R was chosen to avoid
    r = lift_report(_arm(7, 34), _arm(1, 34))
    assert r.significant and r.rel_lift_ci_low == pytest.approx(0.1537, abs=1e-4)


def test_wilson_limits():
    lo, hi = wilson(0, 10, Z95)
    assert float(lo) == 0.0 and round(float(hi), 4) == 0.2775  # the rule-of-three neighbourhood
    lo, hi = wilson(10, 10, Z95)
    assert float(hi) == 1.0 and round(float(lo), 4) == 0.7225


def test_issue_examples_relative_interval_never_below_minus_100_percent():
    # issue 13: the delta method gave -100.3% for 5/83 vs 12/99 and -828% for 1/34 vs 7/34
    for t, c in (((5, 83), (12, 99)), ((1, 34), (7, 34))):
        r = lift_report(_arm(*t), _arm(*c))
        assert -1.0 <= r.rel_lift_ci_low <= r.rel_lift <= r.rel_lift_ci_high
        assert r.significant == (r.rel_lift_ci_high < 0)  # same verdict as the absolute interval


def test_issue_example_zero_holdout_conversions():
    """0 of 89 held out converted: the interval and p-value agree, and no relative lift is claimed."""
    r = lift_report(_arm(10, 89), _arm(0, 89))
    assert r.significant and r.p_value < 0.05 and r.abs_lift_ci_low > 0
    assert r.rel_lift is None and r.rel_lift_ci_low is None and r.rel_lift_ci_high is None
    assert "0 of 89" in r.rel_lift_reason
    json.dumps(r.to_dict(), allow_nan=False)


def test_continuous_matches_scipy_welch():
    rng = np.random.default_rng(1)
    # moderately skewed: the difference of means passes Kohavi's rule, so Welch is the test used
    # (heavier tails at unequal arms go to the permutation test: tests/test_revenue_trust.py)
    t, c = rng.lognormal(0.1, 0.5, 300), rng.lognormal(0.0, 0.6, 450)
    r = lift_report(t, c)
    ref = sps.ttest_ind(t, c, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert not r.binary and r.test == "Welch t-test"
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.abs_lift_ci_low == pytest.approx(ci.low, rel=1e-9)
    assert r.abs_lift_ci_high == pytest.approx(ci.high, rel=1e-9)
    assert r.rate_treated == pytest.approx(t.mean())


def test_fieller_bounds_solve_their_defining_equation():
    """At each bound theta: (m1 - theta m0)^2 = t^2 (v1 + theta^2 v0), with Welch's t (Fieller 1954)."""
    rng = np.random.default_rng(2)
    t, c = rng.gamma(2.0, 1.2, 400), rng.gamma(2.0, 1.0, 500)
    r = lift_report(t, c)
    m1, m0 = t.mean(), c.mean()
    v1, v0 = t.var(ddof=1) / t.size, c.var(ddof=1) / c.size
    q = (r.abs_lift_ci_high - r.abs_lift) / math.sqrt(v1 + v0)  # the Welch t quantile used
    for bound in (r.rel_lift_ci_low, r.rel_lift_ci_high):
        theta = bound + 1
        assert (m1 - theta * m0) ** 2 == pytest.approx(q * q * (v1 + theta**2 * v0), rel=1e-9)


def test_power_matches_published_sample_size():
    """Evan Miller's calculator: 10% baseline, +1 pp, 80% power, alpha 5% -> 14,751 per arm."""
    assert power_two_proportions(0.10, 0.11, 14751, 14751) == pytest.approx(0.80, abs=1e-4)
    assert power_two_proportions(0.10, 0.11, 14000, 14000) < 0.80


def test_mde_is_the_effect_with_target_power():
    r = lift_report(_arm(210, 2000), _arm(200, 2000))
    assert power_two_proportions(0.10, 0.10 + r.mde_abs, 2000, 2000) == pytest.approx(0.8, abs=1e-6)
    assert r.mde_rel == pytest.approx(r.mde_abs / 0.10)


# --------------------------------------------------------------------------- calibration


@pytest.mark.parametrize(("n1", "n0", "p1", "p0"), [
    (400, 20, 0.08, 0.05),     # a 20-person holdout: the old Wald interval covered 64% here
    (900, 100, 0.04, 0.03),    # 10% holdout, rates of a few percent
    (200, 200, 0.05, 0.03),
    (2000, 2000, 0.12, 0.10),
])
def test_newcombe_interval_covers_about_95_percent_where_wald_did_not(n1, n0, p1, p0):
    cov = _coverage(np.random.default_rng(n1 + n0), n1, n0, p1, p0)
    assert 0.93 <= cov <= 0.97, cov


def test_p_values_are_uniform_under_the_null():
    rng = np.random.default_rng(11)
    x1, x0 = rng.binomial(2000, 0.1, SIMS), rng.binomial(2000, 0.1, SIMS)
    p = newcombe_p_value(x1, 2000, x0, 2000)
    # P(p <= a) = a at the levels people use (a count test has lattice p-values, so no KS test)
    for level in (0.01, 0.05, 0.10, 0.20, 0.50):
        tolerance = 4 * math.sqrt(level * (1 - level) / p.size)
        assert abs(np.mean(p <= level) - level) <= tolerance, level


def test_simulating_at_the_mde_rejects_about_80_percent_of_the_time():
    n, p0 = 2000, 0.10
    mde = lift_report(_arm(200, n), _arm(200, n)).mde_abs
    rng = np.random.default_rng(5)
    x1, x0 = rng.binomial(n, p0 + mde, SIMS), rng.binomial(n, p0, SIMS)
    lo, hi = newcombe_interval(x1, n, x0, n, Z95)
    assert 0.77 <= np.mean((lo > 0) | (hi < 0)) <= 0.83


def test_welch_ci_covers_true_mean_difference_on_skewed_revenue():
    rng = np.random.default_rng(3)
    t, c = rng.exponential(2.2, (1000, 800)), rng.exponential(2.0, (1000, 800))
    covers = np.mean([lift_report(a, b, true_abs_lift=0.2).ci_covers_truth for a, b in zip(t, c)])
    assert 0.93 <= covers <= 0.97


# --------------------------------------------------------------------------- agreement properties

counts = st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@settings(max_examples=400, deadline=None)
@given(counts, counts, st.sampled_from([0.01, 0.05, 0.10, 0.20]))
def test_interval_excludes_zero_exactly_when_p_below_alpha(arm1, arm0, alpha):
    (x1, n1), (x0, n0) = arm1, arm0
    lo, hi = newcombe_interval(x1, n1, x0, n0, z_for(alpha))
    p = float(newcombe_p_value(x1, n1, x0, n0))
    if abs(p - alpha) > 1e-9:  # exactly on the boundary either answer is right
        assert bool(lo > 0 or hi < 0) == (p < alpha), (lo, hi, p)
    assert lo <= x1 / n1 - x0 / n0 <= hi and -1 <= lo and hi <= 1


@settings(max_examples=400, deadline=None)
@given(counts, counts, st.sampled_from([0.01, 0.05, 0.10]))
def test_relative_interval_in_range_and_sign_consistent(arm1, arm0, alpha):
    (x1, n1), (x0, n0) = arm1, arm0
    r = lift_report(_arm(x1, n1), _arm(x0, n0), binary=True, alpha=alpha)
    assert r.significant == (r.p_value < alpha) or abs(r.p_value - alpha) < 1e-9
    if x0 == 0:
        assert r.rel_lift is None and r.rel_lift_reason
        return
    assert r.rel_lift_ci_low >= -1.0
    assert r.rel_lift_ci_low <= r.rel_lift <= r.rel_lift_ci_high
    assert (r.rel_lift_ci_low > 0) == (r.abs_lift_ci_low > 0)
    assert (r.rel_lift_ci_high < 0) == (r.abs_lift_ci_high < 0)


money_arm = st.lists(st.floats(0, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False),
                     min_size=2, max_size=40)


@settings(max_examples=200, deadline=None)
@given(money_arm, money_arm)
def test_continuous_relative_interval_agrees_with_welch(t, c):
    r = lift_report(np.array(t), np.array(c), binary=False)
    if r.rel_lift is None:
        assert r.rel_lift_reason
        return
    assert r.rel_lift_ci_low >= -1.0  # non-negative outcomes: a ratio cannot be negative
    if r.abs_lift_ci_low > 1e-9 * max(1.0, abs(r.abs_lift)):
        assert r.rel_lift_ci_low > -1e-9
    if r.abs_lift_ci_high < -1e-9 * max(1.0, abs(r.abs_lift)):
        assert r.rel_lift_ci_high < 1e-9


binary_arm = st.lists(st.integers(0, 1), min_size=1, max_size=60)
signed_money = st.lists(st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False),
                        min_size=2, max_size=40)


@settings(max_examples=150, deadline=None)
@given(binary_arm, binary_arm)
def test_binary_swap_flips_sign(t, c):
    a, b = np.array(t, float), np.array(c, float)
    r, s = lift_report(a, b, binary=True), lift_report(b, a, binary=True)
    assert r.abs_lift_ci_low <= r.abs_lift <= r.abs_lift_ci_high
    assert s.abs_lift == pytest.approx(-r.abs_lift)
    assert s.abs_lift_ci_low == pytest.approx(-r.abs_lift_ci_high)
    assert s.p_value == pytest.approx(r.p_value)
    json.dumps(r.to_dict(), allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(signed_money, signed_money)
@example(t=[0.0, 0.0], c=[0.0, 0.0, 9.552501344731457e-133])  # found by CI: the skew note underflowed
def test_continuous_swap_flips_sign(t, c):
    a, b = np.array(t), np.array(c)
    r, s = lift_report(a, b, binary=False), lift_report(b, a, binary=False)
    assert r.abs_lift_ci_low <= r.abs_lift + 1e-9 and r.abs_lift <= r.abs_lift_ci_high + 1e-9
    assert s.abs_lift_ci_high == pytest.approx(-r.abs_lift_ci_low, abs=1e-9)
    assert s.p_value == pytest.approx(r.p_value, abs=1e-9)
    json.dumps(r.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------- power and flags


def test_power_is_at_the_true_effect_not_the_observed_one():
    # two different outcomes with the same sizes and true effect: the same power
    a = lift_report(_arm(30, 900), _arm(2, 100), true_abs_lift=0.01, true_rate_holdout=0.03)
    b = lift_report(_arm(80, 900), _arm(6, 100), true_abs_lift=0.01, true_rate_holdout=0.03)
    assert a.power_at_effect == b.power_at_effect == pytest.approx(power_two_proportions(0.03, 0.04, 900, 100))
    assert a.power_basis == "true effect" and a.underpowered
    assert "true effect (+1.00 pp)" in a.warning and "units in total" in a.warning


def test_power_at_the_planned_minimum_effect_and_none_without_one():
    r = lift_report(_arm(1250, 10000), _arm(1000, 10000), planned_abs_lift=0.02)
    assert r.power_basis == "planned minimum effect" and r.power_at_effect > 0.99 and not r.underpowered
    r = lift_report(_arm(1250, 10000), _arm(1000, 10000))
    assert r.power_at_effect is None and not r.underpowered
    assert any("planned minimum effect" in n for n in r.notes)


def test_underpowered_warning_says_what_a_null_result_means():
    r = lift_report(_arm(22, 1000), _arm(20, 1000), planned_abs_lift=0.005)
    assert r.underpowered and not r.significant
    assert "not evidence of no effect" in r.warning


@pytest.mark.parametrize(("t", "c", "why"), [
    ((3, 500), (1, 30), "only 30 units are held out"),
    ((10, 2000), (1, 200), "conversions are expected in the holdout"),
])
def test_holdout_too_small_is_flagged(t, c, why):
    r = lift_report(_arm(*t), _arm(*c))
    assert r.holdout_too_small and why in r.holdout_reason and why in r.warning


def test_adequate_holdout_is_not_flagged():
    r = lift_report(_arm(60, 1800), _arm(6, 200))
    assert not r.holdout_too_small and r.holdout_reason is None


def test_sample_ratio_mismatch_is_flagged_on_the_report():
    bad = lift_report(_arm(1000, 10400), _arm(900, 9600), planned_holdout_share=0.5)
    assert bad.srm_mismatch and bad.srm_p_value < 1e-6 and "sample ratio mismatch" in bad.warning
    fair = lift_report(_arm(1000, 10000), _arm(900, 10000), planned_holdout_share=0.5)
    assert not fair.srm_mismatch and fair.srm_p_value == pytest.approx(1.0)
    assert lift_report(_arm(1, 10), _arm(1, 10)).srm_p_value is None  # no plan, no check


# --------------------------------------------------------------------------- money


def _money_arms(k1, k0, n=2000, value=50.0):
    t, c = _arm(k1, n), _arm(k0, n)
    return t, c, t * value, c * value


def test_roi_with_interval_when_revenue_is_clearly_positive_and_fixed_cost_given():
    t, c, rt, rc = _money_arms(300, 200)
    r = lift_report(t, c, revenue_treated=rt, revenue_control=rc, cost_per_send=0.5, fixed_cost=500.0)
    assert r.incremental_revenue == pytest.approx(5000.0)
    assert 0 < r.incremental_revenue_ci_low < 5000 < r.incremental_revenue_ci_high
    assert r.cost == pytest.approx(1500.0)
    assert r.roi == pytest.approx((5000 - 1500) / 1500)
    assert r.roi_ci_low == pytest.approx((r.incremental_revenue_ci_low - 1500) / 1500)
    assert r.roi_reason is None


def test_net_roi_is_shown_with_its_interval_even_when_revenue_is_not_significant():
    """No winner's curse: a noise estimate still gets its net ROI, and the interval shows the noise."""
    t, c, rt, rc = _money_arms(210, 200)
    r = lift_report(t, c, revenue_treated=rt, revenue_control=rc, cost_per_send=0.01, fixed_cost=100.0)
    assert r.incremental_revenue_ci_low < 0 < r.incremental_revenue_ci_high
    assert r.roi == pytest.approx((r.incremental_revenue - r.cost) / r.cost)
    assert r.roi_ci_low < -1 < r.roi_ci_high  # below -100%: the campaign may have lost its whole cost and more
    assert r.roi_reason is None


def test_no_roi_without_the_platform_cost():
    t, c, rt, rc = _money_arms(300, 200)
    r = lift_report(t, c, revenue_treated=rt, revenue_control=rc, cost_per_send=0.01)
    assert r.roi is None and "fixed_cost" in r.roi_reason


def test_tiny_holdout_still_shows_net_roi_but_flags_the_test():
    t, c = _arm(300, 2000), _arm(1, 30)
    r = lift_report(t, c, revenue_treated=t * 50, revenue_control=c * 50, cost_per_send=0.01, fixed_cost=10)
    assert r.holdout_too_small and r.roi is not None and r.roi_ci_low < r.roi < r.roi_ci_high


def test_incremental_conversions_carry_the_lift_interval():
    r = lift_report(_arm(120, 1000), _arm(100, 1000))
    assert r.incremental_conversions == pytest.approx(20.0)
    assert r.incremental_conversions_ci_low == pytest.approx(r.abs_lift_ci_low * 1000)


def test_truth_fields():
    r = lift_report(_arm(120, 1000), _arm(100, 1000), true_abs_lift=0.015)
    assert r.true_abs_lift == 0.015
    assert r.estimation_error == pytest.approx(0.005)
    assert r.ci_covers_truth is True
    assert lift_report(_arm(120, 1000), _arm(100, 1000)).ci_covers_truth is None


def test_cuped_on_the_report_narrows_the_interval():
    rng = np.random.default_rng(4)
    x1, x0 = rng.gamma(2, 50, 3000), rng.gamma(2, 50, 3000)
    y1, y0 = 0.5 * x1 + rng.normal(10, 20, 3000), 0.5 * x0 + rng.normal(0, 20, 3000)
    r = lift_report(y1, y0, covariate_treated=x1, covariate_control=x0, covariate_name="pre_spend")
    c = r.to_dict()["cuped"]
    assert c["covariate"] == "pre_spend" and c["theta"] == pytest.approx(0.5, abs=0.05)
    # the noise left is 20^2 of 0.25 * var(x) + 20^2 = 1650: width falls by 1 - sqrt(400/1650), about 51%
    assert c["width_change"] == pytest.approx(math.sqrt(400 / 1650) - 1, abs=0.03)
    assert c["width_adjusted"] == pytest.approx(c["width_unadjusted"] * (1 + c["width_change"]))
    assert c["abs_lift_ci_low"] < 10 < c["abs_lift_ci_high"]


def test_to_dict_is_json_without_nan():
    r = lift_report(_arm(120, 1000), _arm(100, 1000), revenue_treated=np.ones(1000),
                    revenue_control=np.zeros(1000), cost_per_send=0.1, fixed_cost=5)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    for key in ("incremental_revenue", "incremental_revenue_ci_low", "roi", "roi_reason", "abs_lift",
                "abs_lift_ci_low", "rel_lift_ci_low", "p_value", "significant", "mde_abs", "power_at_effect",
                "power_basis", "underpowered", "holdout_too_small", "holdout_reason", "srm_p_value",
                "srm_mismatch", "warning", "warnings", "true_abs_lift", "ci_covers_truth", "cuped", "notes"):
        assert key in d
    assert list(d)[:7] == ["binary", "test", "alpha", "power_target", "n_treated", "n_holdout",
                           "incremental_revenue"]  # money leads
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
        (dict(treated=[1, 0], control=[1, 0], planned_abs_lift=float("nan")), "planned_abs_lift"),
        (dict(treated=[1, 0], control=[1, 0], planned_holdout_share=1.2), "planned holdout share"),
        (dict(treated=[1, 0], control=[1, 0], covariate_treated=[1, 2]), "covariate for both arms"),
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
