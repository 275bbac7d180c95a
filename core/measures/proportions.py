"""Intervals for conversion rates that keep their 95%, computed on whole arrays at once.

Why these and not the textbook Wald interval: on rates of a few percent and arms of a few hundred
people the Wald interval (p ± z·SE) covers the truth well under 95% of the time and can leave
[-1, 1]. Every function here takes counts (numpy arrays or scalars, broadcast together) so the
single report and thousands of simulated repeats use the very same arithmetic.

* :func:`wilson` — Wilson's score interval for one rate (Wilson 1927).
* :func:`newcombe_interval` — the difference p1 - p0: Newcombe's hybrid score interval, "method 10"
  of Newcombe (1998), built from the two Wilson intervals.
* :func:`newcombe_p_value` — the two-sided p-value that *inverts* that interval: the largest
  confidence level whose interval still contains 0. So "the interval excludes 0" and "p < alpha"
  are the same statement, never two tests that can disagree.
* :func:`mover_ratio_interval` — the ratio p1 / p0 by MOVER-R with Wilson limits (Donner & Zou
  2012; Fagerland, Lydersen & Laake 2015). Its limits are never negative (relative lift never
  below -100%) and, because it is the same square-root recovery as Newcombe's interval solved for
  the ratio, it excludes 1 exactly when Newcombe's interval excludes 0, on the same side.

References are in docs/statistics.md.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

__all__ = ["wilson", "newcombe_interval", "newcombe_p_value", "mover_ratio_interval", "z_for"]

#: Bisection bracket for the p-value inversion: 2·Φ(-40) is 0 in double precision.
_Z_MAX = 40.0
_BISECTIONS = 64  # 40 / 2**64 < 1e-17: agreement with the interval is exact to rounding


def z_for(alpha: float) -> float:
    """Two-sided normal quantile: P(|Z| > z_for(alpha)) = alpha."""
    return float(-special.ndtri(alpha / 2))


def _rates(x: Any, n: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    return x, n, x / n


def wilson(x: Any, n: Any, z: Any) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for x successes in n trials (n > 0), clipped to [0, 1].

    The limits are exactly 0 when x = 0 and exactly 1 when x = n (rounding would otherwise leave
    -1e-17, which a ratio interval turns into a sign error).
    """
    x, n, p = _rates(x, n)
    z = np.asarray(z, dtype=float)
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * np.sqrt(np.maximum(p * (1 - p) / n + z2 / (4 * n * n), 0.0)) / denom
    lo = np.where(x <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    hi = np.where(x >= n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return lo, hi


def newcombe_interval(x1: Any, n1: Any, x0: Any, n0: Any, z: Any) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for p1 - p0 (method 10 of Newcombe 1998).

    L = d - sqrt((p1 - l1)^2 + (u0 - p0)^2),  U = d + sqrt((u1 - p1)^2 + (p0 - l0)^2),
    with (l, u) the Wilson limits of each arm. Always inside [-1, 1] and always contains d.
    """
    _, _, p1 = _rates(x1, n1)
    _, _, p0 = _rates(x0, n0)
    l1, u1 = wilson(x1, n1, z)
    l0, u0 = wilson(x0, n0, z)
    d = p1 - p0
    lo = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    hi = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return lo, hi


def newcombe_p_value(x1: Any, n1: Any, x0: Any, n0: Any) -> np.ndarray:
    """Two-sided p-value that inverts :func:`newcombe_interval`.

    For d > 0 the interval's lower limit L(z) falls monotonically from d (z = 0) to below 0
    (z -> inf), so there is one z* with L(z*) = 0; p = 2·Φ(-z*). Then the (1 - alpha) interval
    excludes 0 exactly when z_{alpha/2} < z*, i.e. when p < alpha. Symmetric for d < 0 with the
    upper limit; p = 1 when d = 0. Solved by bisection on whole arrays (no per-element loop).
    """
    x1, n1, p1 = _rates(x1, n1)
    x0, n0, p0 = _rates(x0, n0)
    x1, n1, x0, n0 = np.broadcast_arrays(x1, n1, x0, n0)
    d = np.broadcast_to(p1 - p0, x1.shape)
    up = d > 0

    def gap(z: np.ndarray) -> np.ndarray:
        """Distance of the interval's near limit from 0 (positive while 0 is excluded)."""
        lo, hi = newcombe_interval(x1, n1, x0, n0, z)
        return np.where(up, lo, -hi)

    a = np.zeros(x1.shape)
    b = np.full(x1.shape, _Z_MAX)
    for _ in range(_BISECTIONS):
        mid = (a + b) / 2
        still = gap(mid) > 0
        a = np.where(still, mid, a)
        b = np.where(still, b, mid)
    p = 2.0 * special.ndtr(-a)
    p = np.where(d == 0, 1.0, p)
    return np.clip(p, 0.0, 1.0)


def mover_ratio_interval(x1: Any, n1: Any, x0: Any, n0: Any, z: Any) -> tuple[np.ndarray, np.ndarray]:
    """MOVER-R Wilson interval for the ratio p1 / p0 (Donner & Zou 2012).

    The lower limit is the theta at which the Newcombe-style lower limit of p1 - theta·p0 reaches
    0; that limit falls as theta grows, so theta_L > 1 exactly when Newcombe's L > 0 (same for the
    upper limit). Closed form (Fagerland et al. 2015, eq. for MOVER-R):

        theta_L = [p1 p0 - sqrt((p1 p0)^2 - l1 (2 p1 - l1) u0 (2 p0 - u0))] / [u0 (2 p0 - u0)]
        theta_U = [p1 p0 + sqrt((p1 p0)^2 - u1 (2 p1 - u1) l0 (2 p0 - l0))] / [l0 (2 p0 - l0)]

    computed as C / (B + sqrt(B^2 - AC)) for the lower limit, which is the same number without the
    0/0 when u0 = 2 p0. The upper limit is +inf when no control converted (l0 = 0). Callers decide
    what to show when p0 = 0 (the ratio itself is undefined there).
    """
    _, _, p1 = _rates(x1, n1)
    _, _, p0 = _rates(x0, n0)
    l1, u1 = wilson(x1, n1, z)
    l0, u0 = wilson(x0, n0, z)
    b = p1 * p0
    a_lo, c_lo = u0 * (2 * p0 - u0), l1 * (2 * p1 - l1)
    root = np.sqrt(np.maximum(b * b - a_lo * c_lo, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(c_lo <= 0, 0.0, c_lo / (b + root))
        a_hi, c_hi = l0 * (2 * p0 - l0), u1 * (2 * p1 - u1)
        upper = np.where(a_hi > 0, (b + np.sqrt(np.maximum(b * b - a_hi * c_hi, 0.0))) / a_hi, np.inf)
    return np.maximum(lower, 0.0), upper
