"""Lift statistics for a campaign with a randomised holdout.

One function, :func:`lift_report`, turns the outcomes of a treated arm and a holdout arm into
everything a marketer needs to read a test honestly: absolute and relative lift with confidence
intervals, a p-value, the minimum detectable effect, power, and money (incremental revenue, cost,
ROI). When the simulator knows the true effect it is passed in too, so a page can show *measured*
next to *true* (see DESIGN.md, "Campaign lift").

Choices, each the textbook one so numbers match what Braze/Iterable/GrowthBook style tools show:

* binary outcomes: unpooled Wald CI for the difference (it does not assume the null), pooled
  two-proportion z-test for the p-value (it does);
* continuous outcomes: Welch's t (no equal-variance assumption; campaign arms rarely have it);
* relative lift: delta method on the ratio of means, CI on the ratio shifted by -1;
* MDE and power: the exact normal power of the test actually run (pooled z / Welch t), solved for
  the effect, rather than a rule of thumb.

Nothing here prints or plots; every failure a person can cause raises :class:`DataError`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize
from scipy import special

from core.errors import DataError

__all__ = ["LiftReport", "lift_report", "holdout_split", "power_two_proportions", "power_welch"]


@dataclass(frozen=True)
class LiftReport:
    """The measured lift of one treated arm over its holdout; every number is a plain float/int.

    ``rate_*`` are conversion rates for binary outcomes and means for continuous ones.
    ``rel_*`` fields are ``None`` when the holdout mean is 0 (a ratio to nothing is not a result).
    ``mde_abs`` is ``None`` when no effect inside the possible range reaches the target power.
    Money fields are ``None`` when no revenue was given; ``roi`` is ``None`` when cost is 0.
    Truth fields are ``None`` unless the caller (a simulator) knows the true effect.
    """

    binary: bool
    test: str
    alpha: float
    power_target: float
    n_treated: int
    n_holdout: int
    rate_treated: float
    rate_holdout: float
    abs_lift: float
    abs_lift_se: float
    abs_lift_ci_low: float
    abs_lift_ci_high: float
    rel_lift: float | None
    rel_lift_ci_low: float | None
    rel_lift_ci_high: float | None
    p_value: float
    significant: bool
    mde_abs: float | None
    mde_rel: float | None
    power_at_observed: float
    underpowered: bool
    warning: str | None
    incremental_conversions: float
    incremental_revenue: float | None
    incremental_revenue_ci_low: float | None
    incremental_revenue_ci_high: float | None
    cost: float
    roi: float | None
    true_abs_lift: float | None
    estimation_error: float | None
    ci_covers_truth: bool | None
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists, not tuples; no numpy scalars)."""
        out = asdict(self)
        out["notes"] = list(self.notes)
        return out


# --------------------------------------------------------------------------- distributions
# scipy.special rather than scipy.stats: the same functions without the per-call overhead, which
# matters inside root finding and in the simulation tests that call the report hundreds of times.


def _norm_sf(x: float) -> float:
    return float(special.ndtr(-x))


def _norm_cdf(x: float) -> float:
    return float(special.ndtr(x))


def _z(q: float) -> float:
    """Upper-tail normal quantile: P(Z > _z(q)) = q."""
    return float(-special.ndtri(q))


def _t_sf(x: float, df: float) -> float:
    return float(special.stdtr(df, -x))


def _t(q: float, df: float) -> float:
    """Upper-tail t quantile."""
    return float(-special.stdtrit(df, q)) if math.isfinite(df) else _z(q)


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


# --------------------------------------------------------------------------- power / MDE


def power_two_proportions(
    p_holdout: float, p_treated: float, n_treated: int, n_holdout: int, alpha: float = 0.05
) -> float:
    """Power of the two-sided pooled z-test when the true rates are ``p_treated``/``p_holdout``.

    The rejection threshold uses the pooled (null) SE, the spread of the statistic the unpooled
    (alternative) SE — the standard exact-normal formula (Fleiss), so it matches the test we run.
    """
    delta = p_treated - p_holdout
    pbar = (n_treated * p_treated + n_holdout * p_holdout) / (n_treated + n_holdout)
    inv = 1.0 / n_treated + 1.0 / n_holdout
    se0 = math.sqrt(max(pbar * (1 - pbar), 0.0) * inv)
    se1 = math.sqrt(
        p_treated * (1 - p_treated) / n_treated + p_holdout * (1 - p_holdout) / n_holdout
    )
    z = _z(alpha / 2)
    if se1 == 0.0:
        return float(abs(delta) > z * se0)  # a degenerate test: it always or never rejects
    return float(
        _norm_sf((z * se0 - delta) / se1) + _norm_cdf((-z * se0 - delta) / se1)
    )


def power_welch(delta: float, se: float, df: float, alpha: float = 0.05) -> float:
    """Power of the two-sided Welch t-test for a true difference ``delta`` (noncentral t).

    scipy's noncentral t goes NaN for large df and noncentrality; there the t is a normal to
    many digits, so the normal formula is used instead of returning nonsense.
    """
    if se == 0.0:
        return 1.0 if delta != 0 else float(alpha)
    t = _t(alpha / 2, df)
    nc = delta / se
    with np.errstate(all="ignore"):
        value = float(1 - special.nctdtr(df, nc, t) + special.nctdtr(df, nc, -t)) if df < 1e4 else math.nan
    if not math.isfinite(value):
        value = float(_norm_sf(t - nc) + _norm_cdf(-t - nc))
    return min(max(value, 0.0), 1.0)


def _mde_binary(p0: float, n1: int, n0: int, alpha: float, power: float) -> float | None:
    """Smallest upward lift the test detects with ``power``; None if even p1 = 1 is not enough."""
    top = 1.0 - p0
    if top <= 0 or power_two_proportions(p0, 1.0, n1, n0, alpha) < power:
        return None
    return float(
        optimize.brentq(
            lambda d: power_two_proportions(p0, p0 + d, n1, n0, alpha) - power,
            1e-12, top, xtol=1e-12,
        )
    )


def _mde_welch(se: float, df: float, alpha: float, power: float) -> float | None:
    """Welch MDE for the observed spread: solve the noncentral-t power for the difference."""
    if se == 0.0:
        return None
    hi = _t(alpha / 2, df) + _z(1 - power) + 10  # in SE units
    nc = optimize.brentq(lambda k: power_welch(k, 1.0, df, alpha) - power, 0.0, hi, xtol=1e-10)
    return float(nc * se)


# --------------------------------------------------------------------------- the tests


@dataclass(frozen=True)
class _Diff:
    """Difference of means with its SE, CI, p-value and the df used (inf for z)."""

    m1: float
    m0: float
    var_m1: float
    var_m0: float
    se: float
    lo: float
    hi: float
    p: float
    df: float


def _diff_proportions(y1: np.ndarray, y0: np.ndarray, alpha: float) -> _Diff:
    """Unpooled Wald CI (no null assumed) + pooled z p-value (null assumed), as textbooks pair them."""
    n1, n0 = y1.size, y0.size
    p1, p0 = float(y1.mean()), float(y0.mean())
    v1, v0 = p1 * (1 - p1) / n1, p0 * (1 - p0) / n0
    se = math.sqrt(v1 + v0)
    z = _z(alpha / 2)
    pbar = (y1.sum() + y0.sum()) / (n1 + n0)
    se_pooled = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n0))
    d = p1 - p0
    p = 1.0 if se_pooled == 0 else float(2 * _norm_sf(abs(d) / se_pooled))
    return _Diff(p1, p0, v1, v0, se, d - z * se, d + z * se, p, math.inf)


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
        return _Diff(m1, m0, v1, v0, 0.0, d, d, 1.0 if d == 0 else 0.0, math.inf)
    w1, w0 = v1 / (v1 + v0), v0 / (v1 + v0)  # shares of the variance: no under/overflow
    df = 1.0 / (w1**2 / (n1 - 1) + w0**2 / (n0 - 1))
    t = _t(alpha / 2, df)
    p = float(2 * _t_sf(abs(d) / se, df))
    return _Diff(m1, m0, v1, v0, se, d - t * se, d + t * se, p, float(df))


def _relative(diff: _Diff, alpha: float) -> tuple[float | None, float | None, float | None]:
    """Delta-method CI on m1/m0, reported as ratio - 1; None when the holdout mean is 0.

    Var(m1/m0) ~ (Var m1 + R^2 Var m0) / m0^2. Anything non-finite (a holdout mean so close to 0
    that the ratio overflows) is reported as undefined rather than as a number.
    """
    if diff.m0 == 0:
        return None, None, None
    with np.errstate(all="ignore"):
        ratio = np.float64(diff.m1) / np.float64(diff.m0)  # numpy: overflow gives inf, not raise
        se = np.sqrt(diff.var_m1 + ratio**2 * diff.var_m0) / abs(diff.m0)
    half = _z(alpha / 2) * se
    out = (ratio - 1, ratio - half - 1, ratio + half - 1)
    if not all(math.isfinite(x) for x in out):
        return None, None, None
    return float(out[0]), float(out[1]), float(out[2])


# --------------------------------------------------------------------------- money


def _revenue(
    rev_t: Any, rev_c: Any, n1: int, n0: int, alpha: float
) -> tuple[float | None, float | None, float | None]:
    """Incremental revenue over the treated arm, with a Welch CI (revenue is never binary)."""
    if rev_t is None and rev_c is None:
        return None, None, None
    if rev_t is None or rev_c is None:
        raise DataError("revenue needs both arms: pass revenue_treated and revenue_control")
    r1, r0 = _as_outcomes(rev_t, "treated revenue"), _as_outcomes(rev_c, "holdout revenue")
    if r1.size != n1 or r0.size != n0:
        raise DataError(
            f"revenue arrays must have one value per person: got {r1.size} treated / {r0.size} "
            f"holdout values for {n1} / {n0} people"
        )
    if n1 < 2 or n0 < 2:
        d = float(r1.mean() - r0.mean()) * n1
        return d, None, None
    diff = _diff_means(r1, r0, alpha)
    return (diff.m1 - diff.m0) * n1, diff.lo * n1, diff.hi * n1


# --------------------------------------------------------------------------- the report


def _fmt_effect(x: float, binary: bool) -> str:
    return f"{x * 100:+.2f} pp" if binary else f"{x:+.4g}"


def _needed_scale(delta: float, se: float, alpha: float, power: float) -> float | None:
    """How many times the current sample the observed effect needs (normal approximation)."""
    if delta == 0 or se == 0:
        return None
    return ((_z(alpha / 2) + _z(1 - power)) * se / abs(delta)) ** 2


def _underpowered_warning(
    power_obs: float, delta: float, se: float, n: int, binary: bool, alpha: float, power: float,
    significant: bool,
) -> str:
    """Say plainly what a low-power result means for *this* result and what sample would fix it."""
    reading = (
        "a significant result from a test this weak likely overstates the effect"
        if significant
        else "a non-significant result here is not evidence of no effect"
    )
    msg = (
        f"underpowered: this test had only {power_obs:.0%} power to detect an effect of the "
        f"observed size ({_fmt_effect(delta, binary)}); {reading}"
    )
    scale = _needed_scale(delta, se, alpha, power)
    if scale is not None and math.isfinite(scale):
        msg += f"; about {math.ceil(scale * n):,} people in total (same split) would give {power:.0%} power"
    return msg


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
) -> LiftReport:
    """Measure the lift of ``treated`` over the holdout ``control`` (one outcome per person).

    ``binary=None`` treats all-0/1 outcomes as conversions (z-test) and anything else as a
    continuous outcome (Welch t). ``true_abs_lift`` is for simulations that know the truth.
    """
    alpha = _check_probability("alpha", alpha)
    power = _check_probability("power", power)
    cost_per_send = _check_cost("cost_per_send", cost_per_send)
    fixed_cost = _check_cost("fixed_cost", fixed_cost)
    y1, y0 = _as_outcomes(treated, "treated"), _as_outcomes(control, "holdout")
    if binary is None:
        binary = _is_binary(y1) and _is_binary(y0)
    elif binary:
        _check_binary(y1, "treated")
        _check_binary(y0, "holdout")
    n1, n0 = int(y1.size), int(y0.size)
    notes: list[str] = []

    diff = _diff_proportions(y1, y0, alpha) if binary else _diff_means(y1, y0, alpha)
    delta = diff.m1 - diff.m0
    if diff.se == 0.0:
        notes.append("both arms have no spread in the outcome; the CI collapses to a point")
    rel, rel_lo, rel_hi = _relative(diff, alpha)
    if rel is None:
        notes.append(
            "holdout rate is 0 (or too close to 0 for a ratio), so relative lift is undefined; "
            "read the absolute lift"
        )

    if binary:
        mde = _mde_binary(diff.m0, n1, n0, alpha, power)
        power_obs = power_two_proportions(diff.m0, diff.m1, n1, n0, alpha)
    else:
        mde = _mde_welch(diff.se, diff.df, alpha, power)
        power_obs = power_welch(delta, diff.se, diff.df, alpha)
    if mde is None:
        notes.append(f"no effect in the possible range reaches {power:.0%} power at these sizes")
    mde_rel = mde / diff.m0 if mde is not None and diff.m0 != 0 else None
    underpowered = power_obs < power
    warning = (
        _underpowered_warning(
            power_obs, delta, diff.se, n1 + n0, binary, alpha, power, diff.p < alpha
        )
        if underpowered
        else None
    )

    inc_rev, inc_lo, inc_hi = _revenue(revenue_treated, revenue_control, n1, n0, alpha)
    cost = cost_per_send * n1 + fixed_cost
    roi = (inc_rev - cost) / cost if inc_rev is not None and cost > 0 else None

    covers = err = None
    if true_abs_lift is not None:
        true_abs_lift = float(true_abs_lift)
        err = delta - true_abs_lift
        covers = bool(diff.lo <= true_abs_lift <= diff.hi)

    return LiftReport(
        binary=bool(binary),
        test="pooled two-proportion z-test" if binary else "Welch t-test",
        alpha=alpha,
        power_target=power,
        n_treated=n1,
        n_holdout=n0,
        rate_treated=diff.m1,
        rate_holdout=diff.m0,
        abs_lift=delta,
        abs_lift_se=diff.se,
        abs_lift_ci_low=float(diff.lo),
        abs_lift_ci_high=float(diff.hi),
        rel_lift=rel,
        rel_lift_ci_low=rel_lo,
        rel_lift_ci_high=rel_hi,
        p_value=diff.p,
        significant=bool(diff.p < alpha),
        mde_abs=mde,
        mde_rel=mde_rel,
        power_at_observed=power_obs,
        underpowered=bool(underpowered),
        warning=warning,
        incremental_conversions=delta * n1,
        incremental_revenue=inc_rev,
        incremental_revenue_ci_low=inc_lo,
        incremental_revenue_ci_high=inc_hi,
        cost=cost,
        roi=roi,
        true_abs_lift=true_abs_lift,
        estimation_error=err,
        ci_covers_truth=covers,
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
