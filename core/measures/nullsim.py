"""Null simulations of the revenue test: both arms from one zero-inflated lognormal distribution.

Issue 20's measured target: with 5% buyers and lognormal(0, 1.5) order values, the lift report must
call "treated better" at most 3.5% of the time and its interval must cover the true difference (0)
at least 93% of the time, at 5,000/100, 2,000/200 and 1,900/100 treated/held out. :func:`revenue_null`
runs :func:`core.measures.stats.lift_report` on such draws and, beside it, Welch's t on the same
draws (the test it replaced there), so the table in docs/statistics.md shows both.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.measures.stats import _diff_means, lift_report

__all__ = ["NullSummary", "revenue_null", "zero_inflated_lognormal"]


def zero_inflated_lognormal(rng: np.random.Generator, n: int, buyer_share: float, sigma: float) -> np.ndarray:
    """Revenue per unit: 0 for non-buyers, lognormal(0, sigma) for a ``buyer_share`` of units."""
    return np.where(rng.random(n) < buyer_share, rng.lognormal(0.0, sigma, n), 0.0)


@dataclass(frozen=True)
class NullSummary:
    """Share of null draws called significant each way, and coverage of 0, for the report and Welch."""

    n_treated: int
    n_holdout: int
    repeats: int
    false_treated_better: float
    false_holdout_better: float
    coverage: float
    coverage_mcse: float
    welch_false_treated_better: float
    welch_coverage: float
    methods: dict[str, int]   # how many draws each test was used for
    warned_when_significant: float | None  # share of significant draws that carried a warning

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def revenue_null(n_treated: int, n_holdout: int, repeats: int, seed: int, *, buyer_share: float = 0.05,
                 sigma: float = 1.5, alpha: float = 0.05) -> NullSummary:
    """Run the lift report on ``repeats`` null draws (a loop over draws: each report is vectorised)."""
    rng = np.random.default_rng(seed)
    up = down = cover = w_up = w_cover = 0
    methods: dict[str, int] = {}
    warned = sig = 0
    for _ in range(repeats):
        y1 = zero_inflated_lognormal(rng, n_treated, buyer_share, sigma)
        y0 = zero_inflated_lognormal(rng, n_holdout, buyer_share, sigma)
        if not (y1.any() and y0.any()):
            y0[0] = rng.lognormal(0.0, sigma)  # an arm with no buyer has no spread: keep the draw measurable
        r = lift_report(y1, y0, binary=False, alpha=alpha)
        methods[r.test] = methods.get(r.test, 0) + 1
        up += r.abs_lift_ci_low > 0
        down += r.abs_lift_ci_high < 0
        cover += r.abs_lift_ci_low <= 0 <= r.abs_lift_ci_high
        if r.significant:
            sig += 1
            warned += bool(r.warnings)
        w = _diff_means(y1, y0, alpha)
        w_up += w.lo > 0
        w_cover += w.lo <= 0 <= w.hi
    cov = cover / repeats
    return NullSummary(n_treated, n_holdout, repeats, up / repeats, down / repeats, cov,
                       math.sqrt(cov * (1 - cov) / repeats), w_up / repeats, w_cover / repeats, methods,
                       warned / sig if sig else None)
