"""Always-valid intervals for a campaign read every week (a mixture sequential probability ratio test).

A fixed-horizon interval promises 95% coverage at one pre-planned look. Read weekly and acted on at
the first week it excludes 0, it covers far less (Johari, Koomen, Pekelis & Walsh 2017, "Peeking at
A/B tests"; the repeats on Campaign lift measure how much). The mixture SPRT (mSPRT) of Johari,
Pekelis & Walsh (2015/2022, "Always valid inference: continuous monitoring of A/B tests") mixes the
likelihood ratio over a normal prior on the effect; inverting it gives a confidence *sequence*:
intervals that hold their level simultaneously at every look, so a team may peek as often as it likes.
For a difference of means with estimated variance V = se^2 over n units, the normal-mixture
boundary (Robbins 1970; Howard, Ramdas, McAuliffe & Sekhon 2021, eq. 14, the asymptotic form
GrowthBook's and Statsig's sequential tests use) has half-width

    sqrt( 2 V (n rho^2 + 1) / (n rho^2) * log( sqrt(n rho^2 + 1) / alpha ) )

with rho^2 = (-2 log alpha + log(-2 log alpha + 1)) / n_star, which makes the boundary tightest at
n_star units (Howard et al. 2021, section 3.5; GrowthBook's "sequential tuning parameter"). We tune
it to the campaign's planned final size, so the last look loses the least width.
"""
from __future__ import annotations

import numpy as np

__all__ = ["msprt_halfwidth", "tuned_rho2"]


def tuned_rho2(n_star: float, alpha: float) -> float:
    """Mixture variance (per unit) that makes the boundary narrowest at ``n_star`` units."""
    a = -2.0 * np.log(alpha)
    return float((a + np.log(a + 1.0)) / max(float(n_star), 1.0))


def msprt_halfwidth(var: np.ndarray, n: np.ndarray, alpha: float, rho2: float) -> np.ndarray:
    """Half-width of the always-valid interval for an estimate of variance ``var`` from ``n`` units."""
    var = np.asarray(var, dtype=float)
    nr = np.asarray(n, dtype=float) * rho2
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.sqrt(2.0 * var * (nr + 1.0) / nr * np.log(np.sqrt(nr + 1.0) / alpha))
    return np.where(nr > 0, h, np.inf)
