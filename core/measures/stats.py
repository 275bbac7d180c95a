"""Lift statistics for a campaign with a randomised holdout, honest at small sizes.

One function, :func:`lift_report`, turns the outcomes of a treated arm and a holdout arm into what a
marketer needs to read a test: incremental revenue and conversions with intervals, absolute and
relative lift with intervals, a p-value that agrees with the interval, power at an effect that
means something, and flags that say when the figures should not be trusted (a holdout too small to
measure anything, a sample ratio mismatch). When the simulator knows the true effect it is passed
in, so a page can show *measured* next to *true* (see DESIGN.md, "Campaign lift").

Choices (the reasons and references are in docs/statistics.md):

* conversions (0/1): Newcombe's hybrid score interval for the difference (Newcombe 1998, method
  10), the p-value obtained by inverting that interval (so "CI excludes 0" <=> "p < alpha"), and
  the MOVER-R Wilson interval for the ratio (relative lift), which never goes below -100% and
  excludes 0 exactly when the absolute interval does (core/measures/proportions.py);
* continuous outcomes (revenue): Welch's t, with Fieller's interval for the ratio of means solved
  with the same t, so the relative interval agrees in sign with the absolute one — where Kohavi's
  skew rule holds for the difference of means and enough non-zero outcomes are expected in the
  holdout; otherwise a seeded permutation test (core/measures/permutation.py), named in ``test``;
* revenue in a conversion report: the conversion effect x the value per conversion (MOVER), so its
  interval excludes 0 exactly when the conversions' interval does (``revenue_method`` says so);
* power and the "underpowered" warning at the *true* effect (simulator) or a *planned minimum*
  effect (real data), never at the observed effect (Hoenig & Heisey 2001);
* a holdout below 100 units or below 5 expected conversions (non-zero outcomes, for money) is
  flagged (``holdout_too_small``);
* net ROI, (revenue - cost) / cost with its interval, whenever revenue and the platform/fixed cost
  are given — never gated on significance (that would show only inflated survivors).

Nothing here prints or plots; every failure a person can cause raises :class:`DataError`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy import special

from core.errors import DataError
from core.measures.cuped import CupedResult, cuped
from core.measures.design import (
    mde_two_proportions, mde_welch, power_two_proportions, power_welch, required_sample_size, srm_check,
)
from core.measures.permutation import PERMUTATION_DRAWS, permutation_diff
from core.measures.proportions import mover_ratio_interval, newcombe_interval, newcombe_p_value

__all__ = [
    "LiftReport", "lift_report", "holdout_split", "power_two_proportions", "power_welch",
    "MIN_HOLDOUT_UNITS", "MIN_EXPECTED_HOLDOUT_CONVERSIONS", "FEW_NONZERO_FOR_WELCH",
]

#: Fewer holdout units than this and one conversion moves the holdout rate by 1 pp or more — more
#: than most e-mail lifts — so the test is flagged. Assumed (a round number; see docs/statistics.md).
MIN_HOLDOUT_UNITS = 100
#: Cochran's (1954) rule for normal approximations to 2x2 counts: at least 5 expected per cell.
MIN_EXPECTED_HOLDOUT_CONVERSIONS = 5.0
#: Fewer non-zero outcomes than this expected in the holdout and a mean of money is left to a handful of
#: buyers: Welch's t is then anti-conservative (coverage 67-89% at 5-10 expected buyers in issue 20's null
#: simulations), so the permutation test is used instead. Assumed round number, checked by
#: bench/bench_revenue_null.py (docs/statistics.md, "Revenue with few buyers").
FEW_NONZERO_FOR_WELCH = 50.0
#: Beyond this many (draws x non-zero outcomes) the permutation test would take tens of seconds here; Welch
#: is then kept with a warning. Assumed: about 5 s on this machine's 2 cores (bench/bench_revenue_null.py).
MAX_PERMUTATION_CELLS = 500_000_000
#: Kohavi et al. (2014), rule of thumb 7: the normal approximation needs n > 355·skewness^2 per arm.
SKEW_RULE = 355.0


@dataclass(frozen=True)
class LiftReport:
    """The measured lift of one treated arm over its holdout; every number is a plain float/int.

    Money comes first because it is what a campaign is for. ``rate_*`` are conversion rates for
    binary outcomes and means for continuous ones. ``rel_*`` are None (with ``rel_lift_reason``)
    when a ratio cannot be bounded, e.g. no holdout unit converted. ``power_at_effect`` is the
    power at ``power_effect`` (``power_basis`` says whether that is the true or the planned minimum effect)
    and None when neither was given. ``roi`` is None unless the test supports it (``roi_reason``).
    Truth fields are None unless the caller (a simulator) knows the true effect.
    """

    binary: bool
    test: str
    alpha: float
    power_target: float
    n_treated: int
    n_holdout: int
    incremental_revenue: float | None
    incremental_revenue_ci_low: float | None
    incremental_revenue_ci_high: float | None
    revenue_method: str | None
    incremental_conversions: float
    incremental_conversions_ci_low: float
    incremental_conversions_ci_high: float
    cost: float
    roi: float | None
    roi_ci_low: float | None
    roi_ci_high: float | None
    roi_reason: str | None
    rate_treated: float
    rate_holdout: float
    abs_lift: float
    abs_lift_se: float
    abs_lift_ci_low: float
    abs_lift_ci_high: float
    rel_lift: float | None
    rel_lift_ci_low: float | None
    rel_lift_ci_high: float | None
    rel_lift_method: str
    rel_lift_reason: str | None
    p_value: float
    significant: bool
    mde_abs: float | None
    mde_rel: float | None
    power_at_effect: float | None
    power_effect: float | None
    power_basis: str | None
    underpowered: bool
    holdout_too_small: bool
    holdout_reason: str | None
    planned_holdout_share: float | None
    srm_p_value: float | None
    srm_mismatch: bool
    warning: str | None
    warnings: tuple[str, ...]
    true_abs_lift: float | None
    estimation_error: float | None
    ci_covers_truth: bool | None
    cuped: CupedResult | None
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists, not tuples; no numpy scalars; CUPED as a nested dict or None)."""
        out = asdict(self)
        out["notes"] = list(self.notes)
        out["warnings"] = list(self.warnings)
        return out


# --------------------------------------------------------------------------- input checks


def _as_outcomes(values: Any, arm: str) -> np.ndarray:
    """A clean 1-D float array, or a DataError naming the arm and the problem."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{arm} arm outcomes must be numbers ({exc})") from None
    if arr.ndim != 1:
        raise DataError(f"{arm} arm outcomes must be a 1-D array (got shape {arr.shape})")
    if arr.size == 0:
        raise DataError(f"{arm} arm is empty: a lift needs people in both arms")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise DataError(
            f"{arm} arm has {int(bad.sum())} missing or infinite outcome(s) (NaN/inf); "
            "drop or fill them before measuring lift"
        )
    return arr


def _is_binary(arr: np.ndarray) -> bool:
    return bool(np.all((arr == 0) | (arr == 1)))


def _check_binary(arr: np.ndarray, arm: str) -> None:
    """Forced-binary outcomes must be 0/1; show a few offending values so the fix is obvious."""
    if not _is_binary(arr):
        bad = np.unique(arr[(arr != 0) & (arr != 1)])[:5]
        shown = ", ".join(f"{v:g}" for v in bad)
        raise DataError(
            f"{arm} arm outcome is not binary: expected only 0/1, found {shown}; "
            "use a continuous outcome instead"
        )


def _check_probability(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and 0.0 < float(value) < 1.0):
        raise DataError(f"{name} must be between 0 and 1 exclusive (got {value})")
    return float(value)


def _check_cost(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise DataError(f"{name} must be a finite number >= 0 (got {value})")
    return value


def _check_effect(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        raise DataError(f"{name} must be a finite number (got {value})")
    return value


def _z(alpha: float) -> float:
    return float(-special.ndtri(alpha / 2))


def _t(alpha: float, df: float) -> float:
    return float(-special.stdtrit(df, alpha / 2)) if math.isfinite(df) else _z(alpha)


# --------------------------------------------------------------------------- the tests


@dataclass(frozen=True)
class _Diff:
    """Difference of means with its interval, p-value, the df used (inf for z) and the quantile."""

    m1: float
    m0: float
    var_m1: float
    var_m0: float
    se: float
    lo: float
    hi: float
    p: float
    df: float
    q: float


def _diff_proportions(y1: np.ndarray, y0: np.ndarray, alpha: float) -> _Diff:
    """Newcombe's hybrid score interval and the p-value that inverts it."""
    n1, n0 = y1.size, y0.size
    x1, x0 = float(y1.sum()), float(y0.sum())
    p1, p0 = x1 / n1, x0 / n0
    v1, v0 = p1 * (1 - p1) / n1, p0 * (1 - p0) / n0
    z = _z(alpha)
    lo, hi = newcombe_interval(x1, n1, x0, n0, z)
    p = float(newcombe_p_value(x1, n1, x0, n0))
    return _Diff(p1, p0, v1, v0, math.sqrt(v1 + v0), float(lo), float(hi), p, math.inf, z)


def _diff_means(y1: np.ndarray, y0: np.ndarray, alpha: float) -> _Diff:
    """Welch's t: CI and p-value with Welch–Satterthwaite degrees of freedom."""
    n1, n0 = y1.size, y0.size
    if n1 < 2 or n0 < 2:
        raise DataError(
            "a continuous outcome needs at least 2 people in each arm to estimate its spread "
            f"(got {n1} treated, {n0} holdout)"
        )
    m1, m0 = float(y1.mean()), float(y0.mean())
    v1, v0 = float(y1.var(ddof=1)) / n1, float(y0.var(ddof=1)) / n0
    se = math.sqrt(v1 + v0)
    d = m1 - m0
    if se == 0.0:
        return _Diff(m1, m0, v1, v0, 0.0, d, d, 1.0 if d == 0 else 0.0, math.inf, _z(alpha))
    w1, w0 = v1 / (v1 + v0), v0 / (v1 + v0)  # shares of the variance: no under/overflow
    df = 1.0 / (w1**2 / (n1 - 1) + w0**2 / (n0 - 1))
    t = _t(alpha, df)
    p = float(2 * special.stdtr(df, -abs(d) / se))
    return _Diff(m1, m0, v1, v0, se, d - t * se, d + t * se, p, float(df), t)


WELCH = "Welch t-test"
PERMUTATION = f"permutation test ({PERMUTATION_DRAWS:,} seeded draws, or exact when small)"


def _expected_nonzero_holdout(y1: np.ndarray, y0: np.ndarray) -> float:
    """Non-zero outcomes (buyers, for revenue) expected in the holdout under no effect."""
    return y0.size * float(np.count_nonzero(y1) + np.count_nonzero(y0)) / (y1.size + y0.size)


def difference_skewness(y1: np.ndarray, y0: np.ndarray) -> float:
    """Skewness of the difference of means under no effect, from the pooled moments.

    skew(mean1 - mean0) = m3 (1/n1^2 - 1/n0^2) / (m2 (1/n1 + 1/n0))^1.5 (the third cumulant of a mean
    is m3/n^2, and cumulants of independent terms add): the arms' skews cancel when they are equal
    in size and grow as the holdout shrinks. Pooled moments, because a holdout with a few buyers
    under-states its own third moment — the very case in which Welch fails.
    """
    n1, n0 = y1.size, y0.size
    pooled = np.concatenate([y1, y0])
    scale = float(np.abs(pooled).max())
    if not np.isfinite(scale) or scale == 0:
        return 0.0
    c = pooled / scale
    c = c - c.mean()
    m2, m3 = float((c * c).mean()), float((c**3).mean())
    if m2 <= 0:
        return 0.0
    return m3 * (1 / n1**2 - 1 / n0**2) / (m2 * (1 / n1 + 1 / n0)) ** 1.5


def _welch_trusted(y1: np.ndarray, y0: np.ndarray) -> bool:
    """Kohavi et al.'s rule applied to the estimator: a mean needs n > 355 skew^2, i.e. the skewness of
    the mean below 1/sqrt(355); here the skewness of the difference of means, plus enough buyers."""
    return (_expected_nonzero_holdout(y1, y0) >= FEW_NONZERO_FOR_WELCH
            and SKEW_RULE * difference_skewness(y1, y0) ** 2 <= 1.0)


def _diff_continuous(y1: np.ndarray, y0: np.ndarray, alpha: float) -> tuple[_Diff, str]:
    """Welch's t where its normal approximation holds; otherwise the permutation test.

    The permutation test is used when few non-zero outcomes are expected in the holdout or the
    difference of means is too skewed for Kohavi's rule (:func:`_welch_trusted`) — unless the data
    are too large to permute :data:`PERMUTATION_DRAWS` times here (``MAX_PERMUTATION_CELLS``), when
    Welch is kept and the report warns. The permutation result keeps Welch's SE and df (power and MDE
    are planning figures) and takes its interval and p-value from the permutation distribution.
    """
    diff = _diff_means(y1, y0, alpha)
    if diff.se == 0.0 or _welch_trusted(y1, y0):
        return diff, WELCH
    nonzero = int(np.count_nonzero(y1) + np.count_nonzero(y0))
    if nonzero * PERMUTATION_DRAWS > MAX_PERMUTATION_CELLS and _expected_nonzero_holdout(y1, y0) > 128:
        return diff, WELCH + " (too large to permute here; see the skew warning)"
    pr = permutation_diff(y1, y0, alpha)
    return replace(diff, lo=pr.lo, hi=pr.hi, p=pr.p), PERMUTATION + (" — exact" if pr.exact else "")


_REL_NONE = (None, None, None)


def _relative_binary(y1: np.ndarray, y0: np.ndarray, alpha: float) -> tuple[tuple, str | None]:
    """MOVER-R Wilson interval for the ratio, as ratio - 1; None with a reason when p0 = 0."""
    x1, x0, n1, n0 = float(y1.sum()), float(y0.sum()), y1.size, y0.size
    if x0 == 0:
        return _REL_NONE, (
            f"no holdout unit converted (0 of {n0:,}), so the relative lift is a ratio to zero and has no "
            "upper bound; read the absolute lift"
        )
    lo, hi = mover_ratio_interval(x1, n1, x0, n0, _z(alpha))
    ratio = (x1 / n1) / (x0 / n0)
    return (ratio - 1, float(lo) - 1, float(hi) - 1), None


def _relative_means(diff: _Diff, nonnegative: bool) -> tuple[tuple, str | None]:
    """Fieller's interval for m1/m0 with the Welch quantile, as ratio - 1.

    The set {theta : (m1 - theta m0)^2 <= t^2 (v1 + theta^2 v0)} contains 1 exactly when the Welch
    interval contains 0, so the two agree in sign. It is a bounded interval only when the holdout
    mean is itself clearly above 0 (m0^2 > t^2 v0); otherwise no finite relative interval exists.
    """
    m1, m0, v1, v0, t = diff.m1, diff.m0, diff.var_m1, diff.var_m0, diff.q
    if m0 <= 0:
        return _REL_NONE, "the holdout mean is 0 or negative, so a relative lift (a ratio to it) is undefined"
    a = m0 * m0 - t * t * v0
    if a <= 0:
        return _REL_NONE, (
            "the holdout mean is not clearly above 0 (its own interval reaches 0), so the relative lift has "
            "no finite interval (Fieller); read the absolute lift"
        )
    b, c = m1 * m0, m1 * m1 - t * t * v1
    root = math.sqrt(max(b * b - a * c, 0.0))
    lo, hi = (b - root) / a, (b + root) / a
    if nonnegative:
        lo = max(lo, 0.0)  # a ratio of non-negative means cannot be negative
    return (m1 / m0 - 1, lo - 1, hi - 1), None


# --------------------------------------------------------------------------- money


def _value_interval(values: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """Mean value per conversion with its t interval (lower bound kept >= 0 for non-negative values)."""
    v = float(values.mean())
    if values.size < 2:
        return v, float(values.min()) if v > 0 else -math.inf, math.inf
    half = _t(alpha, values.size - 1) * float(values.std(ddof=1)) / math.sqrt(values.size)
    lo = v - half
    if (values > 0).all() and lo <= 0:
        # a handful of buyers: the t bound reaches 0; the smallest order seen is taken as the floor
        # (assumed: orders below the smallest seen are rare), so money keeps the conversions' sign
        lo = float(values.min())
    elif (values >= 0).all():
        lo = max(lo, 0.0)
    return v, lo, v + half


def _product_interval(d: tuple[float, float, float], v: tuple[float, float, float]) -> tuple[float, float]:
    """Interval of (effect x value) that excludes 0 exactly when the effect's interval does.

    MOVER (Zou & Donner 2008) on the sum log|effect| + log value when the effect's interval is on one
    side of 0, and on the linearised product effect*v + d_effect*v + effect*d_v when it spans 0 — the
    latter stays on both sides of 0, so money and conversions cannot disagree.
    """
    (e, el, eh), (m, ml, mh) = d, v
    if el > 0 or eh < 0:
        sign = 1.0 if el > 0 else -1.0
        a, al, ah = abs(e), min(abs(el), abs(eh)), max(abs(el), abs(eh))  # |e| lies between the bounds
        la, ll, lh = math.log(a), math.log(al), math.log(ah)
        lm = math.log(m)
        lml = math.log(ml) if ml > 0 else -math.inf
        lmh = math.log(mh) if math.isfinite(mh) else math.inf
        low = la + lm - math.sqrt((la - ll) ** 2 + (lm - lml) ** 2)
        high = la + lm + math.sqrt((lh - la) ** 2 + (lmh - lm) ** 2)
        lo_abs, hi_abs = math.exp(low), math.exp(high) if math.isfinite(high) else math.inf
        return (lo_abs, hi_abs) if sign > 0 else (-hi_abs, -lo_abs)
    p = e * m
    if e >= 0:
        dv_lo, dv_hi = e * (m - ml), e * (mh - m)
    else:
        dv_lo, dv_hi = -e * (mh - m), -e * (m - ml)
    lo = p - math.sqrt((m * (e - el)) ** 2 + dv_lo ** 2)
    hi = p + math.sqrt((m * (eh - e)) ** 2 + dv_hi ** 2)
    return lo, hi


def _revenue(rev_t: Any, rev_c: Any, n1: int, n0: int, alpha: float, conv: tuple[np.ndarray, np.ndarray, _Diff] | None
             ) -> tuple[float | None, float | None, float | None, str | None]:
    """Incremental revenue over the treated arm, its interval and how it was measured.

    In a conversion report whose revenue comes only from converters, revenue = the conversion
    effect x the mean value per conversion (rate x value), so its interval excludes 0 exactly when
    the conversions' interval does. Otherwise the revenue arrays are tested as a continuous outcome
    (Welch, or the permutation test when few buyers are expected in the holdout).
    """
    if rev_t is None and rev_c is None:
        return None, None, None, None
    if rev_t is None or rev_c is None:
        raise DataError("revenue needs both arms: pass revenue_treated and revenue_control")
    r1, r0 = _as_outcomes(rev_t, "treated revenue"), _as_outcomes(rev_c, "holdout revenue")
    if r1.size != n1 or r0.size != n0:
        raise DataError(
            f"revenue arrays must have one value per person: got {r1.size} treated / {r0.size} "
            f"holdout values for {n1} / {n0} people"
        )
    if conv is not None:
        y1, y0, diff = conv
        buyers = np.concatenate([r1[y1 == 1], r0[y0 == 1]])
        only_buyers = not (r1[y1 == 0] != 0).any() and not (r0[y0 == 0] != 0).any()
        if only_buyers and buyers.size and float(buyers.mean()) > 0:
            value = _value_interval(buyers, alpha)
            lo, hi = _product_interval((diff.m1 - diff.m0, diff.lo, diff.hi), value)
            return ((diff.m1 - diff.m0) * value[0] * n1, lo * n1, hi * n1,
                    "conversion effect x value per conversion (rate x value; MOVER interval)")
    if n1 < 2 or n0 < 2:
        return float(r1.mean() - r0.mean()) * n1, None, None, None
    diff, method = _diff_continuous(r1, r0, alpha)
    return (diff.m1 - diff.m0) * n1, diff.lo * n1, diff.hi * n1, method


def _roi(inc: float | None, lo: float | None, hi: float | None, cost: float, fixed_cost: float,
         ) -> tuple[float | None, float | None, float | None, str | None]:
    """Net ROI, (incremental revenue - cost) / cost, with its interval — whatever the p-value.

    Never gated on significance: showing ROI only when revenue is significant shows an inflated
    figure (the winner's curse, 1.3-2.6x in issue 20). The interval says how sure it is.
    """
    if inc is None:
        return None, None, None, "no revenue was given, so there is no return to compare with the cost"
    if cost <= 0:
        return None, None, None, "no cost was given, so a return on it is undefined"
    if fixed_cost <= 0:
        return None, None, None, (
            "net ROI needs the platform/fixed cost of running the campaign (fixed_cost): on send cost alone any "
            "measurable revenue looks like a thousandfold return"
        )
    if lo is None or hi is None:
        return None, None, None, "incremental revenue has no interval (fewer than 2 people in an arm)"
    return (inc - cost) / cost, (lo - cost) / cost, (hi - cost) / cost, None


# --------------------------------------------------------------------------- flags and warnings


def _fmt_effect(x: float, binary: bool) -> str:
    return f"{x * 100:+.2f} pp" if binary else f"{x:+.4g}"


def _holdout_check(n0: int, n1: int, x_all: float | None, what: str = "conversions") -> str | None:
    """Why the holdout is too small to measure anything, or None when it is fine.

    ``x_all`` counts conversions (0/1 outcomes) or non-zero outcomes (buyers, for revenue) in both arms.
    """
    reasons = []
    if n0 < MIN_HOLDOUT_UNITS:
        reasons.append(f"only {n0:,} units are held out (at least {MIN_HOLDOUT_UNITS} are needed)")
    if x_all is not None:
        expected = n0 * x_all / (n0 + n1)
        if expected < MIN_EXPECTED_HOLDOUT_CONVERSIONS:
            reasons.append(f"about {expected:.1f} {what} are expected in the holdout "
                           f"(at least {MIN_EXPECTED_HOLDOUT_CONVERSIONS:.0f} are needed)")
    if not reasons:
        return None
    return "holdout too small: " + " and ".join(reasons) + "; treat every figure from this test as indicative only"


def _power(binary: bool, diff: _Diff, effect: float | None, baseline: float | None,
           n1: int, n0: int, alpha: float) -> float | None:
    if effect is None:
        return None
    if binary:
        p0 = diff.m0 if baseline is None else baseline
        p1 = min(max(p0 + effect, 0.0), 1.0)
        return power_two_proportions(p0, p1, n1, n0, alpha)
    return power_welch(effect, diff.se, diff.df, alpha)


def _underpowered_warning(power: float, effect: float, basis: str, binary: bool, significant: bool,
                          diff: _Diff, baseline: float | None, n1: int, n0: int, alpha: float, target: float) -> str:
    """Say plainly what low power means for *this* result and what sample would fix it."""
    reading = (
        "a significant result from a test this weak likely overstates the effect"
        if significant else "a non-significant result here is not evidence of no effect"
    )
    msg = (f"underpowered: this test had only {power:.0%} power to detect the {basis} "
           f"({_fmt_effect(effect, binary)}); {reading}")
    needed = None
    if binary:
        p0 = diff.m0 if baseline is None else baseline
        if 0 <= p0 + effect <= 1:
            needed = required_sample_size(p0, effect, n0 / (n0 + n1), alpha, target)
    elif effect != 0 and diff.se > 0:
        scale = ((_z(alpha) + float(-special.ndtri(1 - target))) * diff.se / abs(effect)) ** 2
        needed = math.ceil(scale * (n1 + n0))
    if needed is not None:
        msg += f"; about {needed:,} units in total (same split) would give {target:.0%} power"
    return msg


def _skew_note(values: np.ndarray, name: str) -> str | None:
    """Kohavi et al.'s rule: a mean's normal approximation needs n > 355·skewness^2."""
    if values.size < 3:
        return None
    scale = float(np.abs(values).max())
    if not np.isfinite(scale) or scale == 0:
        return None
    c = values / scale  # skewness does not change with scale; tiny values would underflow m2**1.5
    c = c - c.mean()
    m2 = float((c * c).mean())
    if m2 == 0 or m2**1.5 == 0:
        return None
    skew = float((c**3).mean()) / m2**1.5
    need = SKEW_RULE * skew * skew
    if values.size >= need:
        return None
    return (f"{name} is highly skewed (skewness {skew:.1f}): the normal approximation behind its interval "
            f"wants about {need:,.0f} units per arm (Kohavi et al.'s 355·skewness² rule) and this arm has "
            f"{values.size:,}; treat the interval as approximate")


def _skew_flags(y1: np.ndarray, y0: np.ndarray, test: str, what: str, notes: list[str], warnings: list[str]) -> None:
    """The skew rule where it matters: a warning when Welch's interval is shown although the difference
    of means is too skewed for it; a note when an arm is skewed but the difference is not (or the
    permutation test took over)."""
    if test.startswith(WELCH) and SKEW_RULE * difference_skewness(y1, y0) ** 2 > 1.0:
        warnings.append(
            f"the difference of mean {what} is highly skewed (skewness {difference_skewness(y1, y0):+.2f}; Kohavi et "
            f"al.'s rule wants it within ±{1 / math.sqrt(SKEW_RULE):.3f}), so Welch's interval and p-value are "
            "approximate and lean towards calling the treated arm better; read them with care")
        return
    for arm, values in (("treated", y1), ("holdout", y0)):
        note = _skew_note(values, f"the {arm} {what}")
        if note:
            notes.append(note.replace(
                "treat the interval as approximate",
                "the interval and p-value come from a permutation test instead" if not test.startswith(WELCH)
                else "the difference of means is far less skewed (the arms' skews cancel), so Welch's interval holds"))
            return


# --------------------------------------------------------------------------- the report


def lift_report(
    treated: np.ndarray,
    control: np.ndarray,
    *,
    binary: bool | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    revenue_treated: np.ndarray | None = None,
    revenue_control: np.ndarray | None = None,
    cost_per_send: float = 0.0,
    fixed_cost: float = 0.0,
    true_abs_lift: float | None = None,
    true_rate_holdout: float | None = None,
    planned_abs_lift: float | None = None,
    planned_holdout_share: float | None = None,
    covariate_treated: np.ndarray | None = None,
    covariate_control: np.ndarray | None = None,
    covariate_name: str = "covariate",
) -> LiftReport:
    """Measure the lift of ``treated`` over the holdout ``control`` (one outcome per unit).

    ``binary=None`` treats all-0/1 outcomes as conversions and anything else as continuous (Welch).
    ``fixed_cost`` is the platform/team cost of running the campaign; ROI is only reported with it.
    Simulators pass ``true_abs_lift`` (and ``true_rate_holdout``, the true baseline) so power and
    coverage are judged against the truth; real data pass ``planned_abs_lift``, the smallest effect
    worth detecting. ``planned_holdout_share`` turns on the sample-ratio-mismatch check. A pre-period
    covariate per unit (``covariate_treated``/``covariate_control``) adds a CUPED-adjusted lift.
    """
    alpha = _check_probability("alpha", alpha)
    power = _check_probability("power", power)
    cost_per_send = _check_cost("cost_per_send", cost_per_send)
    fixed_cost = _check_cost("fixed_cost", fixed_cost)
    true_abs_lift = _check_effect("true_abs_lift", true_abs_lift)
    planned_abs_lift = _check_effect("planned_abs_lift", planned_abs_lift)
    if true_rate_holdout is not None and not (0.0 <= float(true_rate_holdout) <= 1.0):
        raise DataError(f"true_rate_holdout must be a rate between 0 and 1 (got {true_rate_holdout})")
    y1, y0 = _as_outcomes(treated, "treated"), _as_outcomes(control, "holdout")
    if binary is None:
        binary = _is_binary(y1) and _is_binary(y0)
    elif binary:
        _check_binary(y1, "treated")
        _check_binary(y0, "holdout")
    n1, n0 = int(y1.size), int(y0.size)
    notes: list[str] = []

    if binary:
        diff, test = _diff_proportions(y1, y0, alpha), "Newcombe hybrid score interval (p-value by inverting it)"
    else:
        diff, test = _diff_continuous(y1, y0, alpha)
    delta = diff.m1 - diff.m0
    significant = bool(diff.lo > 0 or diff.hi < 0)
    if diff.se == 0.0 and not binary:
        notes.append("both arms have no spread in the outcome; the CI collapses to a point")
    if binary:
        rel, rel_reason = _relative_binary(y1, y0, alpha)
    elif not test.startswith(WELCH):
        rel, rel_reason = _REL_NONE, ("the permutation test bounds the difference, not the ratio; read the "
                                      "absolute lift (a relative interval from Welch's t would not hold its level here)")
    else:
        rel, rel_reason = _relative_means(diff, bool((y1 >= 0).all() and (y0 >= 0).all()))
    if rel[0] is not None and not all(math.isfinite(v) for v in rel):
        rel, rel_reason = _REL_NONE, "the holdout mean is too close to 0 for a ratio to be a number; read the absolute lift"
    baseline = None if true_rate_holdout is None or not binary else float(true_rate_holdout)

    if binary:
        mde = mde_two_proportions(diff.m0 if baseline is None else baseline, n1, n0, alpha, power)
    else:
        mde = mde_welch(diff.se, diff.df, alpha, power)
    if mde is None:
        notes.append(f"no effect in the possible range reaches {power:.0%} power at these sizes")
    if binary and baseline is None and diff.m0 == 0:
        notes.append(f"the MDE assumes the holdout's observed rate of 0 (0 of {n0:,} converted) as the baseline; "
                     "a real baseline above 0 needs a larger effect to detect — give the expected rate when you know it")
    base_for_rel = diff.m0 if baseline is None else baseline
    with np.errstate(all="ignore"):
        mde_rel = float(np.float64(mde) / base_for_rel) if mde is not None and base_for_rel != 0 else None
    if mde_rel is not None and not math.isfinite(mde_rel):
        mde_rel = None  # a baseline so close to 0 that the ratio overflows is no figure

    effect, basis = ((true_abs_lift, "true effect") if true_abs_lift is not None
                     else (planned_abs_lift, "planned minimum effect") if planned_abs_lift is not None
                     else (None, None))
    pw = _power(binary, diff, effect, baseline, n1, n0, alpha)
    underpowered = pw is not None and pw < power
    if pw is None:
        notes.append("no power figure: give the planned minimum effect (the smallest lift worth acting on); "
                     "power at the observed effect would only restate the p-value")

    warnings: list[str] = []
    if binary:
        holdout_reason = _holdout_check(n0, n1, float(y1.sum() + y0.sum()))
    else:
        holdout_reason = _holdout_check(n0, n1, float(np.count_nonzero(y1) + np.count_nonzero(y0)),
                                        "non-zero outcomes (e.g. buyers)")
    if holdout_reason:
        warnings.append(holdout_reason)
    srm = None
    if planned_holdout_share is not None:
        srm = srm_check(n1, n0, planned_holdout_share)
        if srm.mismatch:
            warnings.append(srm.message)
    if underpowered:
        warnings.append(_underpowered_warning(pw, effect, basis, binary, significant, diff, baseline,
                                              n1, n0, alpha, power))
    if not binary:
        _skew_flags(y1, y0, test, "outcome", notes, warnings)

    inc_rev, inc_lo, inc_hi, revenue_method = _revenue(
        revenue_treated, revenue_control, n1, n0, alpha, (y1, y0, diff) if binary else None)
    if revenue_method is not None and revenue_method.startswith(WELCH):
        _skew_flags(np.asarray(revenue_treated, dtype=float), np.asarray(revenue_control, dtype=float),
                    revenue_method, "revenue", [], warnings)
    cost = cost_per_send * n1 + fixed_cost
    roi, roi_lo, roi_hi, roi_reason = _roi(inc_rev, inc_lo, inc_hi, cost, fixed_cost)

    covers = err = None
    if true_abs_lift is not None:
        err = delta - true_abs_lift
        covers = bool(diff.lo <= true_abs_lift <= diff.hi)

    cup = None
    if covariate_treated is not None or covariate_control is not None:
        if covariate_treated is None or covariate_control is None:
            raise DataError("CUPED needs the covariate for both arms (covariate_treated and covariate_control)")
        cup = cuped(y1, y0, covariate_treated, covariate_control, alpha=alpha, covariate=covariate_name,
                    base=(delta, diff.lo, diff.hi))

    return LiftReport(
        binary=bool(binary),
        test=test,
        alpha=alpha,
        power_target=power,
        n_treated=n1,
        n_holdout=n0,
        incremental_revenue=inc_rev,
        incremental_revenue_ci_low=inc_lo,
        incremental_revenue_ci_high=inc_hi,
        revenue_method=revenue_method,
        incremental_conversions=delta * n1,
        incremental_conversions_ci_low=diff.lo * n1,
        incremental_conversions_ci_high=diff.hi * n1,
        cost=cost,
        roi=roi,
        roi_ci_low=roi_lo,
        roi_ci_high=roi_hi,
        roi_reason=roi_reason,
        rate_treated=diff.m1,
        rate_holdout=diff.m0,
        abs_lift=delta,
        abs_lift_se=diff.se,
        abs_lift_ci_low=float(diff.lo),
        abs_lift_ci_high=float(diff.hi),
        rel_lift=None if rel[0] is None else float(rel[0]),
        rel_lift_ci_low=None if rel[1] is None else float(rel[1]),
        rel_lift_ci_high=None if rel[2] is None else float(rel[2]),
        rel_lift_method="MOVER-R Wilson" if binary else "Fieller (Welch t)" if test.startswith(WELCH) else "none (permutation test)",
        rel_lift_reason=rel_reason,
        p_value=diff.p,
        significant=significant,
        mde_abs=mde,
        mde_rel=mde_rel,
        power_at_effect=pw,
        power_effect=effect,
        power_basis=basis,
        underpowered=bool(underpowered),
        holdout_too_small=holdout_reason is not None,
        holdout_reason=holdout_reason,
        planned_holdout_share=None if srm is None else srm.planned_holdout_share,
        srm_p_value=None if srm is None else srm.p_value,
        srm_mismatch=bool(srm is not None and srm.mismatch),
        warning="; ".join(warnings) if warnings else None,
        warnings=tuple(warnings),
        true_abs_lift=true_abs_lift,
        estimation_error=err,
        ci_covers_truth=covers,
        cuped=cup,
        notes=tuple(notes),
    )


def holdout_split(n: int, holdout_share: float, rng: Any = None) -> np.ndarray:
    """Boolean mask, True = holdout, with exactly round(n * share) people held out.

    Complete randomisation (a shuffled fixed count) rather than a coin per person, so the holdout
    size a user asked for is the size they get. When n >= 2 both arms keep at least one person,
    because a lift needs both. ``rng`` is a ``numpy.random.Generator`` or a seed.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise DataError(f"n must be a whole number >= 0 (got {n!r})")
    share_ok = isinstance(holdout_share, (int, float)) and 0.0 < float(holdout_share) < 1.0
    if not share_ok:
        raise DataError(f"holdout share must be between 0 and 1 exclusive (got {holdout_share})")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    k = int(round(n * float(holdout_share)))
    if n >= 2:
        k = min(max(k, 1), n - 1)
    mask = np.zeros(int(n), dtype=bool)
    mask[gen.permutation(int(n))[:k]] = True
    return mask
