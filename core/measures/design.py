"""Designing a holdout test before it runs: power, sample size, holdout share, and the split check.

Power is a property of a *design* (sizes, baseline, an effect worth detecting), never of an observed
result: "power at the observed effect" is a one-to-one function of the p-value and says nothing new
(Hoenig & Heisey 2001). So every function here takes the effect as an input — the simulator's true
effect, or the smallest effect a marketer would act on (the planned minimum effect).

The power of the two-proportion test uses the normal approximation with the pooled (null) SE for
the rejection threshold and the unpooled SE for the spread (Fleiss, Levin & Paik 2003, §4.2). The
test actually reported is the inverted Newcombe interval (core/measures/proportions.py); the tests
check by simulation that its rejection rate at the planned size is the promised 80%.

The sample-ratio-mismatch check (:func:`srm_check`) is the chi-square goodness-of-fit test of the
arm sizes against the planned split, flagged at p < 0.001 as GrowthBook and Kohavi, Tang & Xu
(2020, ch. 21) do: a mismatch that unlikely means the assignment or the logging is broken, and the
lift cannot be trusted however small its p-value.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special

from core.errors import DataError

__all__ = [
    "power_two_proportions", "power_welch", "mde_two_proportions", "mde_welch",
    "required_sample_size", "required_holdout_share", "power_curve", "plan_experiment",
    "DesignPlan", "SrmResult", "srm_check", "SRM_THRESHOLD",
]

#: p-value below which arm sizes are called a sample ratio mismatch (GrowthBook's default; Kohavi et al. 2020).
SRM_THRESHOLD = 0.001
#: Largest holdout share the planner proposes: beyond 50% the holdout costs more sends than it saves power.
MAX_HOLDOUT_SHARE = 0.5
#: Planner answers longer than this are said as "not detectable within a year" (365.25 / 7 weeks).
WEEKS_IN_A_YEAR = 365.25 / 7
#: A quarter (13 weeks): the horizon of the smallest detectable lift offered instead.
WEEKS_IN_A_QUARTER = 13.0


def quarter_mde(baseline_rate: float, holdout_share: float, arrivals_per_week: float | None,
                alpha: float = 0.05, power: float = 0.8) -> float | None:
    """The smallest absolute lift a quarter's arrivals could detect with ``power`` (None if none can)."""
    if not arrivals_per_week:
        return None
    n = WEEKS_IN_A_QUARTER * float(arrivals_per_week)
    return mde_two_proportions(baseline_rate, (1 - holdout_share) * n, holdout_share * n, alpha, power)


def _z(q: float) -> float:
    """Upper-tail normal quantile: P(Z > _z(q)) = q."""
    return float(-special.ndtri(q))


def _check_rate(name: str, value: float) -> float:
    value = float(value)
    if not (0.0 <= value <= 1.0) or not math.isfinite(value):
        raise DataError(f"{name} must be a rate between 0 and 1 (got {value})")
    return value


def _check_share(name: str, value: float) -> float:
    ok = isinstance(value, (int, float, np.floating)) and 0.0 < float(value) < 1.0
    if not ok:
        raise DataError(f"{name} must be between 0 and 1 exclusive (got {value})")
    return float(value)


# --------------------------------------------------------------------------- power


def power_two_proportions(
    p_holdout: float, p_treated: float, n_treated: float, n_holdout: float, alpha: float = 0.05
) -> float:
    """Power of the two-sided two-proportion test when the true rates are ``p_treated``/``p_holdout``.

    Rejection threshold from the pooled (null) SE, spread of the statistic from the unpooled
    (alternative) SE — the exact-normal formula of Fleiss et al. Sizes may be fractional (planning).
    """
    delta = p_treated - p_holdout
    pbar = (n_treated * p_treated + n_holdout * p_holdout) / (n_treated + n_holdout)
    inv = 1.0 / n_treated + 1.0 / n_holdout
    se0 = math.sqrt(max(pbar * (1 - pbar), 0.0) * inv)
    se1 = math.sqrt(
        max(p_treated * (1 - p_treated), 0.0) / n_treated + max(p_holdout * (1 - p_holdout), 0.0) / n_holdout
    )
    z = _z(alpha / 2)
    if se1 == 0.0:
        return float(abs(delta) > z * se0)  # a degenerate test: it always or never rejects
    return float(special.ndtr(-(z * se0 - delta) / se1) + special.ndtr((-z * se0 - delta) / se1))


def power_welch(delta: float, se: float, df: float, alpha: float = 0.05) -> float:
    """Power of the two-sided Welch t-test for a true difference ``delta`` (noncentral t).

    scipy's noncentral t goes NaN for large df and noncentrality; there the t is a normal to many
    digits, so the normal formula is used instead of returning nonsense.
    """
    if se == 0.0:
        return 1.0 if delta != 0 else float(alpha)
    t = float(-special.stdtrit(df, alpha / 2)) if math.isfinite(df) else _z(alpha / 2)
    nc = delta / se
    with np.errstate(all="ignore"):
        value = float(1 - special.nctdtr(df, nc, t) + special.nctdtr(df, nc, -t)) if df < 1e4 else math.nan
    if not math.isfinite(value):
        value = float(special.ndtr(nc - t) + special.ndtr(-t - nc))
    return min(max(value, 0.0), 1.0)


def mde_two_proportions(p0: float, n1: float, n0: float, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """Smallest upward lift the test detects with ``power``; None if even p1 = 1 is not enough.

    Power is not monotone in the effect for tiny arms (a one-person arm), so the first crossing is
    bracketed on a log grid before it is solved.
    """
    top = 1.0 - p0
    if top <= 0:
        return None
    grid = np.r_[np.geomspace(min(1e-9, top), top, 60), top]
    gaps = np.array([power_two_proportions(p0, p0 + d, n1, n0, alpha) - power for d in grid])
    hit = np.flatnonzero(gaps >= 0)
    if hit.size == 0:
        return None
    i = int(hit[0])
    if i == 0:
        return float(grid[0])
    return float(optimize.brentq(
        lambda d: power_two_proportions(p0, p0 + d, n1, n0, alpha) - power, grid[i - 1], grid[i], xtol=1e-12))


def mde_welch(se: float, df: float, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """Welch MDE for a given standard error: solve the noncentral-t power for the difference."""
    if se == 0.0:
        return None
    t = float(-special.stdtrit(df, alpha / 2)) if math.isfinite(df) else _z(alpha / 2)
    hi = t + _z(1 - power) + 10  # in SE units
    nc = optimize.brentq(lambda k: power_welch(k, 1.0, df, alpha) - power, 0.0, hi, xtol=1e-10)
    return float(nc * se)


# --------------------------------------------------------------------------- sample size


def _effect_rates(baseline: float, effect: float) -> tuple[float, float]:
    p0 = _check_rate("baseline rate", baseline)
    p1 = p0 + float(effect)
    if not (0.0 <= p1 <= 1.0):
        raise DataError(
            f"baseline {p0:.4f} plus effect {effect:+.4f} is not a rate (got {p1:.4f}); "
            "give the effect as an absolute change in the conversion rate, e.g. 0.01 for +1 pp"
        )
    return p0, p1


def required_sample_size(
    baseline_rate: float, effect: float, holdout_share: float, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Units (treated + holdout) the test needs for ``power`` at ``effect`` with this holdout share.

    ``None`` when the effect is 0 (no size detects nothing) or the rates make it unreachable.
    """
    p0, p1 = _effect_rates(baseline_rate, effect)
    h = _check_share("holdout share", holdout_share)
    if p1 == p0:
        return None

    def gap(log_n: float) -> float:
        n = math.exp(log_n)
        return power_two_proportions(p0, p1, (1 - h) * n, h * n, alpha) - power

    lo, hi = math.log(2.0), math.log(1e13)
    if gap(hi) < 0:
        return None
    if gap(lo) >= 0:
        return 2
    return int(math.ceil(math.exp(optimize.brentq(gap, lo, hi, xtol=1e-9))))


def required_holdout_share(
    baseline_rate: float, effect: float, audience_size: int, alpha: float = 0.05, power: float = 0.8,
    max_share: float = MAX_HOLDOUT_SHARE,
) -> float | None:
    """Smallest holdout share that gives ``power`` at ``effect`` for an audience of this size.

    Smaller holdouts send more messages, so the planner proposes the smallest share that works;
    ``None`` when even ``max_share`` (50%) cannot reach the power: the audience is too small.
    """
    p0, p1 = _effect_rates(baseline_rate, effect)
    n = int(audience_size)
    if n < 2 or p1 == p0:
        return None

    def gap(h: float) -> float:
        return power_two_proportions(p0, p1, (1 - h) * n, h * n, alpha) - power

    lo = 1.0 / n
    if gap(max_share) < 0:
        return None
    if gap(lo) >= 0:
        return lo
    return float(optimize.brentq(gap, lo, max_share, xtol=1e-6))


def power_curve(
    baseline_rate: float,
    effects: Mapping[str, float],
    holdout_share: float,
    n_totals: Sequence[int] | None = None,
    *,
    arrivals_per_week: float | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Power against audience size, one line per named effect (e.g. "true", "planned minimum").

    Columns: ``effect_label, effect_abs, n_total, n_treated, n_holdout, power`` and ``weeks`` when an
    arrival rate is given. Default sizes: 40 points on a log grid from 100 to 4x the size the
    largest-power-demanding effect needs (at least 10,000), so each line crosses 80% on the chart.
    """
    h = _check_share("holdout share", holdout_share)
    named = {str(k): float(v) for k, v in effects.items() if v is not None}
    if not named:
        raise DataError("power_curve needs at least one effect (e.g. {'planned minimum': 0.01})")
    rates = {k: _effect_rates(baseline_rate, v) for k, v in named.items()}
    if n_totals is None:
        needed = [required_sample_size(baseline_rate, v, h, alpha) for v in named.values()]
        top = max([10_000] + [4 * n for n in needed if n is not None])
        n_totals = np.unique(np.geomspace(100, min(top, 10**9), 40).round().astype(np.int64))
    sizes = np.asarray(list(n_totals), dtype=np.int64)
    if sizes.size == 0 or (sizes < 2).any():
        raise DataError("audience sizes for the power curve must be whole numbers >= 2")
    rows = []
    for label, (p0, p1) in rates.items():
        for n in sizes:
            n1, n0 = (1 - h) * n, h * n
            rows.append({"effect_label": label, "effect_abs": p1 - p0, "n_total": int(n),
                         "n_treated": int(round(n1)), "n_holdout": int(round(n0)),
                         "power": power_two_proportions(p0, p1, n1, n0, alpha) if p1 != p0 else alpha})
    out = pd.DataFrame(rows)
    if arrivals_per_week is not None:
        rate = float(arrivals_per_week)
        if not (rate > 0 and math.isfinite(rate)):
            raise DataError(f"arrivals per week must be a positive number (got {arrivals_per_week})")
        out["weeks"] = out["n_total"] / rate
    return out


@dataclass(frozen=True)
class EffectPlan:
    """What one effect (true or planned minimum) asks of the design."""

    label: str
    effect_abs: float
    power_now: float | None          # power of the current design (audience size x holdout share)
    n_total_needed: int | None       # audience size for the target power at the current holdout share
    weeks_needed: float | None       # that size at the arrival rate, when one is known
    holdout_share_needed: float | None  # smallest holdout share reaching the target with the current audience
    sentence: str
    quarter_mde: float | None = None  # smallest lift a quarter (13 weeks) of arrivals could detect


@dataclass(frozen=True)
class DesignPlan:
    """The planner's answer for a campaign: one :class:`EffectPlan` per effect, plus the inputs."""

    baseline_rate: float
    holdout_share: float
    audience_size: int | None
    arrivals_per_week: float | None
    alpha: float
    power_target: float
    effects: tuple[EffectPlan, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["effects"] = [asdict(e) for e in self.effects]
        return out


def _sentence(label: str, e: float, h: float, power_now: float | None, weeks_now: float | None,
              n_needed: int | None, weeks_needed: float | None, share_needed: float | None, target: float,
              quarter_mde: float | None = None) -> str:
    """One plain sentence a facilitator can read out."""
    eff = f"{e * 100:+.2f} pp"
    parts = []
    if power_now is not None:
        span = f" over {weeks_now:.1f} weeks" if weeks_now is not None else ""
        parts.append(f"with a {h:.0%} holdout{span} this test would detect the {label} effect ({eff}) "
                     f"in {power_now:.0%} of tests")
    if n_needed is None:
        parts.append(f"no audience size reaches {target:.0%} power for {eff}")
    else:
        need = f"{n_needed:,} units"
        if weeks_needed is not None and weeks_needed > WEEKS_IN_A_YEAR:
            parts.append(f"not detectable within a year at this size ({target:.0%} power needs {need} at a {h:.0%} "
                         "holdout)" + (f"; the smallest lift a quarter could detect is {quarter_mde * 100:+.2f} pp"
                                       if quarter_mde is not None else "; no lift a quarter could detect"))
        else:
            if weeks_needed is not None:
                need += f" (about {weeks_needed:,.1f} weeks)"
            parts.append(f"{target:.0%} power needs {need} at a {h:.0%} holdout")
    if share_needed is not None:
        parts.append(f"or a {share_needed:.0%} holdout with the current audience")
    elif power_now is not None and power_now < target:
        parts.append(f"no holdout up to {MAX_HOLDOUT_SHARE:.0%} gets there with the current audience")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def plan_experiment(
    baseline_rate: float,
    *,
    holdout_share: float,
    true_effect: float | None = None,
    min_effect: float | None = None,
    audience_size: int | None = None,
    arrivals_per_week: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> DesignPlan:
    """Holdout share and audience size (or weeks) needed for ``power`` at the true and/or minimum effect.

    ``true_effect`` comes from the simulator; ``min_effect`` is the user's smallest lift worth
    detecting. ``audience_size`` is the current design's number of units (treated + holdout);
    ``arrivals_per_week`` turns sizes into campaign length for triggered campaigns.
    """
    h = _check_share("holdout share", holdout_share)
    _check_rate("baseline rate", baseline_rate)
    if arrivals_per_week is not None and not (float(arrivals_per_week) > 0):
        raise DataError(f"arrivals per week must be a positive number (got {arrivals_per_week})")
    named = [(k, v) for k, v in (("true", true_effect), ("planned minimum", min_effect)) if v is not None]
    if not named:
        raise DataError("plan_experiment needs a true effect or a planned minimum effect")
    plans = []
    for label, e in named:
        e = float(e)
        _effect_rates(baseline_rate, e)
        p0, p1 = baseline_rate, baseline_rate + e
        power_now = None
        if audience_size is not None and audience_size >= 2:
            n = float(audience_size)
            power_now = power_two_proportions(p0, p1, (1 - h) * n, h * n, alpha) if e != 0 else alpha
        n_needed = required_sample_size(baseline_rate, e, h, alpha, power)
        weeks = n_needed / arrivals_per_week if (n_needed is not None and arrivals_per_week) else None
        weeks_now = audience_size / arrivals_per_week if (audience_size and arrivals_per_week) else None
        share = required_holdout_share(baseline_rate, e, audience_size, alpha, power) if audience_size else None
        q = quarter_mde(baseline_rate, h, arrivals_per_week, alpha, power)
        plans.append(EffectPlan(label, e, power_now, n_needed, weeks, share,
                                _sentence(label, e, h, power_now, weeks_now, n_needed, weeks, share, power, q), q))
    return DesignPlan(float(baseline_rate), h, None if audience_size is None else int(audience_size),
                      None if arrivals_per_week is None else float(arrivals_per_week), alpha, power, tuple(plans))


# --------------------------------------------------------------------------- sample ratio mismatch


@dataclass(frozen=True)
class SrmResult:
    """Chi-square test of the arm sizes against the planned split."""

    planned_holdout_share: float
    expected_holdout: float
    observed_holdout: int
    chi2: float
    p_value: float
    mismatch: bool
    message: str | None


def srm_check(n_treated: int, n_holdout: int, planned_holdout_share: float,
              threshold: float = SRM_THRESHOLD) -> SrmResult:
    """Sample ratio mismatch: are the arm sizes plausible under the planned holdout share?

    Pearson chi-square with 1 degree of freedom on (treated, holdout) against
    (n·(1 - share), n·share); flagged when p < ``threshold`` (0.001). When fewer than 5 holdout units
    are expected (Cochran's rule, as for the lift), the chi-square approximation fails and the exact
    two-sided binomial test is used instead (scipy.stats.binomtest; ``chi2`` is then NaN).
    """
    h = _check_share("planned holdout share", planned_holdout_share)
    n1, n0 = int(n_treated), int(n_holdout)
    if n1 < 0 or n0 < 0 or n1 + n0 == 0:
        raise DataError(f"arm sizes must be >= 0 and not both 0 (got {n1} treated, {n0} holdout)")
    n = n1 + n0
    e0, e1 = n * h, n * (1 - h)
    if e0 < 5 or e1 < 5:
        from scipy.stats import binomtest

        chi2, p, test = math.nan, float(binomtest(n0, n, h).pvalue), "exact binomial"
    else:
        chi2 = (n0 - e0) ** 2 / e0 + (n1 - e1) ** 2 / e1
        p, test = float(special.chdtrc(1, chi2)), "chi-square"
    mismatch = bool(p < threshold)
    msg = None
    if mismatch:
        msg = (f"sample ratio mismatch: {n0:,} of {n:,} units are in the holdout ({n0 / n:.1%}) where the plan "
               f"was {h:.1%} ({test} p = {p:.1e}); the assignment or the logging is broken, so this lift "
               "cannot be trusted until the cause is found")
    return SrmResult(h, e0, n0, float(chi2), p, mismatch, msg)
