"""Several tests read at once: how many would be significant by chance, and Benjamini-Hochberg p.

A page that shows four models' tests, or a comparison over plays x models x yardsticks, invites
reading the smallest p-value as a discovery. With m independent tests of true nulls at level alpha,
alpha x m are expected significant by chance alone. The Benjamini-Hochberg (1995) step-up adjusted
p-value controls the false discovery rate: call a test significant when its adjusted p < alpha and,
on average, no more than alpha of those calls are false (valid under independence and positive
dependence, Benjamini & Yekutieli 2001). Same definition as statsmodels' multipletests(method="fdr_bh").
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["bh_adjust", "Multiplicity", "multiplicity"]


def bh_adjust(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN and does not count as a test)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return out


@dataclass(frozen=True)
class Multiplicity:
    tests: int
    alpha: float
    expected_by_chance: float   # alpha x tests: significant results expected if no effect were real
    significant: int            # raw p < alpha
    significant_bh: int         # BH-adjusted p < alpha
    p_adjusted: tuple[float | None, ...]
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["p_adjusted"] = list(self.p_adjusted)
        return out


def multiplicity(p_values: Sequence[float | None], alpha: float = 0.05) -> Multiplicity:
    """The multiplicity note for tests shown together, with a BH-adjusted p beside each."""
    p = np.array([np.nan if v is None else float(v) for v in p_values], dtype=float)
    adj = bh_adjust(p)
    m = int(np.isfinite(p).sum())
    sig, sig_bh = int((p[np.isfinite(p)] < alpha).sum()), int((adj[np.isfinite(adj)] < alpha).sum())
    sentence = (f"{m} tests read together: about {alpha * m:.1f} would be significant by chance alone at "
                f"p < {alpha:g}; {sig} are, and {sig_bh} remain after the Benjamini-Hochberg adjustment "
                "(false discovery rate)")
    return Multiplicity(m, alpha, alpha * m, sig, sig_bh,
                        tuple(None if not np.isfinite(v) else float(v) for v in adj), sentence)
