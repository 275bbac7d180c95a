"""Would the test have told the truth? The same campaign measured many times over.

The simulator knows each targeted unit's two conversion probabilities (``p0`` without the message,
``p1`` with it), so it can rerun a campaign's holdout test as often as it likes: draw a new random
holdout, draw new outcomes, measure, compare with the truth. :func:`repeat_experiment` does that N
times for one campaign; :func:`compare_models` does it for two campaigns (e.g. CRM vs CDP) that
share their random numbers per person, and asks how often the measured comparison names the model
that truly adds more.

**The estimand** (what "the true lift" of a draw is): the average treatment effect over the
campaign's targeted units, tau = mean_i (p1_i - p0_i) — the expected change in a unit's conversion
probability from sending instead of holding out, for this fixed audience. The audience is the same
in every draw, so tau is too; what changes from draw to draw is who is held out and which outcomes
the coin flips produce. The difference of the arms' conversion rates is unbiased for tau under
random assignment, and its Newcombe interval is the one :func:`core.measures.stats.lift_report`
reports, computed here with the same functions (core/measures/proportions.py).

**Each draw**, like a sending tool and like ``campaign.py``: every unit (contact or profile) is
held out with probability ``holdout_share`` (an independent coin per unit, as Braze or Iterable
assign by hashing the id). Units respond in *groups*: the frame's ``key`` column when present
(``campaign.py``: one person's one need), otherwise the person. Every group gets one uniform number
u per draw (common random numbers), and the group's effect is the largest effect (p1 - p0) among
its units that were sent the message — several messages for one need do not add up, and a
held-out contact of a person who was messaged through another contact sees that message too. A
unit converts when u < p0 + (the group's effect, or 0 if none of its units was sent). With one
unit per group this is simply u < p1 when sent and u < p0 when held out. Duplicate units thus
have correlated outcomes and can contaminate the holdout, as in a real CRM with duplicate contacts;
the repeats show what that does to coverage.

**Summaries** (Morris, White & Crowther 2019 for the definitions; Gelman & Carlin 2014 for type S
and type M): coverage = share of intervals containing tau, with its Monte Carlo SE; bias = mean
(estimate - tau); rmse; power = share significant when tau != 0 (the false-positive rate when tau =
0); type_s = share of significant results with the wrong sign; type_m = mean |estimate| / |tau|
over significant results (the exaggeration ratio).

Vectorised: draws are made as (repeats x units) matrices in chunks of about two million cells; the
only Python loop is over chunks. Deterministic: the same inputs and seed give the same numbers, and
the first k of N repeats equal a k-repeat run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import pandas as pd
from scipy import sparse, special

from core.errors import DataError
from core.measures.proportions import newcombe_interval, newcombe_p_value
from core.measures.sequential import msprt_halfwidth, tuned_rho2
from core.measures.stats import MIN_EXPECTED_HOLDOUT_CONVERSIONS, MIN_HOLDOUT_UNITS

__all__ = ["RepeatSummary", "repeat_experiment", "CompareSummary", "compare_models", "MAX_REPEATS"]

#: Upper bound on repeats per call: 100,000 already pins coverage to +-0.14 pp.
MAX_REPEATS = 100_000
#: Cells per chunk (repeats x units); about 2 M keeps each chunk's arrays near 20 MB.
CHUNK_CELLS = 2_000_000


# --------------------------------------------------------------------------- inputs


def _check_args(holdout_share: float, n_repeats: int, seed: int, alpha: float) -> None:
    if not (isinstance(holdout_share, (int, float, np.floating)) and 0.0 < float(holdout_share) < 1.0):
        raise DataError(f"holdout share must be between 0 and 1 exclusive (got {holdout_share})")
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)) or not 1 <= n_repeats <= MAX_REPEATS:
        raise DataError(f"repeats must be a whole number from 1 to {MAX_REPEATS:,} (got {n_repeats!r})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a whole number >= 0 (got {seed!r})")
    if not (0.0 < float(alpha) < 1.0):
        raise DataError(f"alpha must be between 0 and 1 exclusive (got {alpha})")


def _frame(targets: Any, name: str, need_value: bool = False, covariate: str | None = None) -> pd.DataFrame:
    """The campaign's targets with the columns the draws need, checked."""
    if not isinstance(targets, pd.DataFrame):
        raise DataError(f"{name}: targets must be a DataFrame (CampaignResult.targets)")
    need = ["person_id", "p0", "p1"] + (["value"] if need_value else []) + ([covariate] if covariate else [])
    missing = [c for c in need if c not in targets.columns]
    if missing:
        raise DataError(f"{name}: targets lack column(s) {', '.join(missing)}; columns found: "
                        f"{', '.join(map(str, targets.columns))}")
    if len(targets) < 2:
        raise DataError(f"{name}: a holdout test needs at least 2 targeted units (got {len(targets)})")
    for col in ("p0", "p1"):
        v = targets[col].to_numpy(dtype=float)
        if not np.isfinite(v).all() or (v < 0).any() or (v > 1).any():
            raise DataError(f"{name}: column {col!r} must hold probabilities between 0 and 1")
    for col in ([covariate] if covariate else []) + (["value"] if need_value else []):
        v = pd.to_numeric(targets[col], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(v).all():
            raise DataError(f"{name}: column {col!r} must be finite numbers for every unit")
    return targets


def _streams(seed: int, n: int) -> list[np.random.Generator]:
    """Independent generators from one seed: one per random quantity, so chunking cannot change them."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence([int(seed), 0x1E57]).spawn(n)]


def _chunks(n_repeats: int, width: int) -> Iterator[int]:
    step = max(1, CHUNK_CELLS // max(width, 1))
    for start in range(0, n_repeats, step):
        yield min(step, n_repeats - start)


def _z(alpha: float) -> float:
    return float(-special.ndtri(alpha / 2))


# --------------------------------------------------------------------------- one campaign


@dataclass(frozen=True)
class RepeatSummary:
    """How a campaign's holdout test behaves over many independent repeats."""

    repeats: int
    measurable: int                  # draws with at least one unit in each arm
    holdout_share: float
    alpha: float
    true_abs_lift: float             # tau, the estimand (see module docstring)
    coverage: float | None
    coverage_mcse: float | None      # Monte Carlo standard error of the coverage
    bias: float | None
    rmse: float | None
    power: float | None              # share significant when tau != 0
    false_positive_rate: float | None  # share significant when tau == 0
    type_s: float | None
    type_m: float | None
    mean_ci_width: float | None
    holdout_too_small_share: float | None
    cuped_summary: dict[str, Any] | None  # CUPED over the same draws, when a covariate was named
    draws: pd.DataFrame              # one row per repeat
    significant_right_share: float | None = None  # significant with the true sign (or, tau = 0: never)
    significant_wrong_share: float | None = None  # significant with the wrong sign (tau = 0: any significant)
    inconclusive_share: float | None = None       # interval includes 0
    sign_right_share: float | None = None         # the estimate's sign alone is right (secondary)
    peeking: dict[str, Any] | None = None         # weekly looks: fixed-horizon vs always-valid (mSPRT)

    def to_dict(self, *, include_draws: bool = True) -> dict[str, Any]:
        """JSON-ready: ``draws`` as a list of records (None where a draw was not measurable)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "draws"}
        if include_draws:
            d = self.draws.astype(object).where(self.draws.notna(), None)
            out["draws"] = d.to_dict("records")
        return out


@dataclass(frozen=True)
class _Units:
    """One campaign's units, sorted by response group, ready for vectorised draws."""

    p0: np.ndarray
    effect: np.ndarray        # p1 - p0
    value: np.ndarray         # order value (revenue metric) or 1 (conversions)
    x: np.ndarray | None      # pre-period covariate, if asked for
    group: np.ndarray         # index of each unit's group in the shared group space
    starts: np.ndarray | None  # first unit of each local group (None: one unit per group)
    local: np.ndarray | None  # each unit's local group index
    week: np.ndarray | None = None  # each unit's week of arrival (0 = first), for weekly looks


def _group_ids(t: pd.DataFrame) -> np.ndarray:
    return t["key"].to_numpy() if "key" in t.columns else t["person_id"].to_numpy()


def _units(t: pd.DataFrame, groups: np.ndarray, metric: str = "conversions", covariate: str | None = None,
           peek: str | None = None) -> _Units:
    gid = _group_ids(t)
    order = np.argsort(gid, kind="stable")
    gid = gid[order]
    p0 = t["p0"].to_numpy(dtype=np.float64)[order]
    p1 = t["p1"].to_numpy(dtype=np.float64)[order]
    value = t["value"].to_numpy(dtype=np.float64)[order] if metric == "revenue" else np.ones(p0.size)
    x = t[covariate].to_numpy(dtype=np.float64)[order] if covariate else None
    group = np.searchsorted(groups, gid)
    new = np.r_[True, gid[1:] != gid[:-1]]
    starts = local = None
    if not new.all():
        starts = np.flatnonzero(new)
        local = np.cumsum(new) - 1
    week = None
    if peek is not None:
        at = pd.to_datetime(t[peek], utc=True)
        if at.isna().any():
            raise DataError(f"campaign: column {peek!r} needs a time for every unit to look weekly")
        week = ((at - at.min()) // pd.Timedelta(days=7)).to_numpy(dtype=np.int64)[order]
    return _Units(p0, p1 - p0, value, x, group, starts, local, week)


def _outcomes(c: _Units, u: np.ndarray, hold: np.ndarray) -> np.ndarray:
    """0/1 outcomes (k x units): u < p0 + the largest effect among the group's sent units."""
    uu = u[:, c.group]
    if c.starts is None:  # one unit per group: u < p1 when sent, u < p0 when held out
        return np.where(hold, uu < c.p0, uu < c.p0 + c.effect)
    eff = np.where(hold, -np.inf, c.effect)
    if c.starts is not None:
        eff = np.maximum.reduceat(eff, c.starts, axis=1)[:, c.local]
    eff = np.where(np.isneginf(eff), 0.0, eff)
    return uu < np.clip(c.p0 + eff, 0.0, 1.0)


def _draw_counts(c: _Units, n_groups: int, share: float, k: int, hold_rng: np.random.Generator,
                 out_rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Arm sizes and conversion counts (and covariate sums) for k draws of one campaign."""
    hold = hold_rng.random((k, c.p0.size), dtype=np.float32) < share
    u = out_rng.random((k, n_groups), dtype=np.float32)
    y = _outcomes(c, u, hold)
    out = {"n0": hold.sum(axis=1), "x_all": y.sum(axis=1), "x0": (y & hold).sum(axis=1)}
    if c.week is not None:  # cumulative counts at each weekly look (k x weeks)
        onehot = sparse.csr_matrix((np.ones(c.week.size), (np.arange(c.week.size), c.week)),
                                   shape=(c.week.size, int(c.week.max()) + 1))
        for name, m in (("w_n0", hold), ("w_x_all", y), ("w_x0", y & hold)):
            out[name] = np.cumsum(np.asarray((onehot.T @ m.T.astype(np.float64)).T), axis=1)
    if c.x is not None:
        x = c.x
        h = hold.astype(np.float64)
        yf = y.astype(np.float64)
        out.update(sx0=h @ x, sxx0=h @ (x * x), sxy0=(yf * h) @ x, sx=np.full(k, x.sum()),
                   sxx=np.full(k, (x * x).sum()), sxy=yf @ x)
    return out


def _cuped_draws(c: dict[str, np.ndarray], n: int, tau: float, est: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray) -> dict[str, np.ndarray]:
    """CUPED on every draw from the arm sums (same construction as :func:`core.measures.cuped.cuped`).

    theta minimises the variance of the adjusted difference; the draw's Newcombe half-widths are
    scaled by r = SE_adjusted / SE_unadjusted around the adjusted difference.
    """
    n0 = c["n0"].astype(float)
    n1 = n - n0
    ok = (n0 >= 2) & (n1 >= 2)
    n0, n1 = np.where(ok, n0, 2.0), np.where(ok, n1, 2.0)
    y0, y1 = c["x0"].astype(float), (c["x_all"] - c["x0"]).astype(float)
    sx0, sx1 = c["sx0"], c["sx"] - c["sx0"]
    sxx0, sxx1 = c["sxx0"], c["sxx"] - c["sxx0"]
    sxy0, sxy1 = c["sxy0"], c["sxy"] - c["sxy0"]
    vx1, cxy1 = (sxx1 - sx1 * sx1 / n1) / (n1 - 1), (sxy1 - sx1 * y1 / n1) / (n1 - 1)
    vx0, cxy0 = (sxx0 - sx0 * sx0 / n0) / (n0 - 1), (sxy0 - sx0 * y0 / n0) / (n0 - 1)
    vy = (y1 - y1 * y1 / n1) / (n1 - 1) / n1 + (y0 - y0 * y0 / n0) / (n0 - 1) / n0  # y is 0/1: sum y^2 = sum y
    num, den = cxy1 / n1 + cxy0 / n0, vx1 / n1 + vx0 / n0
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(den > 0, num / den, 0.0)
        v_adj = np.maximum(np.where(den > 0, vy - num * num / den, vy), 0.0)
        # theta's own noise, as core.measures.cuped.theta_noise: dx^2 var(theta)
        vy1, vy0 = (y1 - y1 * y1 / n1) / (n1 - 1), (y0 - y0 * y0 / n0) / (n0 - 1)
        ve1 = np.maximum(vy1 - 2 * theta * cxy1 + theta * theta * vx1, 0.0)
        ve0 = np.maximum(vy0 - 2 * theta * cxy0 + theta * theta * vx0, 0.0)
        dx = sx1 / n1 - sx0 / n0
        v_adj = v_adj + np.where(den > 0, dx * dx * (vx1 * ve1 / n1**3 + vx0 * ve0 / n0**3) / (den * den), 0.0)
        worse = v_adj > vy  # the noise outweighs the gain: no adjustment, as cuped() does
        theta, v_adj = np.where(worse, 0.0, theta), np.where(worse, vy, v_adj)
        r = np.where(vy > 0, np.sqrt(v_adj / vy), 1.0)
    d = (y1 / n1 - theta * sx1 / n1) - (y0 / n0 - theta * sx0 / n0)
    lo_a, hi_a = d - (est - lo) * r, d + (hi - est) * r
    return {"ok": ok, "covers": (lo_a <= tau) & (tau <= hi_a), "change": r - 1,
            "sig": (lo_a > 0) | (hi_a < 0), "theta": theta}


def repeat_experiment(
    targets: pd.DataFrame,
    holdout_share: float,
    n_repeats: int,
    seed: int,
    *,
    alpha: float = 0.05,
    covariate: str | None = None,
    peek: str | None = None,
) -> RepeatSummary:
    """Draw ``n_repeats`` independent holdouts and outcomes of one campaign and score each test.

    ``targets`` is a campaign's target frame (``CampaignResult.targets``): one row per targeted
    unit with ``person_id``, ``p0``, ``p1`` and optionally ``key`` (the response group; see the
    module docstring). ``holdout`` and ``y`` are ignored: the draws make their own. ``covariate`` names a pre-period column (e.g. ``pre_visits``) to also
    report CUPED's coverage and interval-width change over the same draws. ``peek`` names a time
    column (each unit's first send): the test is then also read every week, fixed-horizon and
    always-valid side by side (``peeking``; see :func:`_peeking`).
    """
    _check_args(holdout_share, n_repeats, seed, alpha)
    t = _frame(targets, "campaign", covariate=covariate)
    if peek is not None and peek not in t.columns:
        raise DataError(f"campaign: targets lack the time column {peek!r} needed to look weekly")
    groups = np.unique(_group_ids(t))
    cu = _units(t, groups, covariate=covariate, peek=peek)
    n = cu.p0.size
    tau = float(cu.effect.mean())
    z = _z(alpha)
    hold_rng, out_rng = _streams(seed, 2)
    parts: list[dict[str, np.ndarray]] = []
    for k in _chunks(n_repeats, 2 * n + groups.size):
        parts.append(_draw_counts(cu, groups.size, float(holdout_share), k, hold_rng, out_rng))
    c = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    n0 = c["n0"].astype(np.int64)
    n1 = n - n0
    x0 = c["x0"].astype(np.int64)
    x1 = c["x_all"].astype(np.int64) - x0
    ok = (n0 > 0) & (n1 > 0)
    s0, s1 = np.where(ok, n0, 1), np.where(ok, n1, 1)  # placeholders where an arm is empty
    lo, hi = newcombe_interval(x1, s1, x0, s0, z)
    pval = newcombe_p_value(x1, s1, x0, s0)
    est = x1 / s1 - x0 / s0
    sig = (lo > 0) | (hi < 0)
    small = (n0 < MIN_HOLDOUT_UNITS) | (n0 * (x0 + x1) / n < MIN_EXPECTED_HOLDOUT_CONVERSIONS)
    draws = pd.DataFrame({
        "abs_lift": np.where(ok, est, np.nan), "abs_lift_ci_low": np.where(ok, lo, np.nan),
        "abs_lift_ci_high": np.where(ok, hi, np.nan), "true_abs_lift": tau,
        "p_value": np.where(ok, pval, np.nan), "significant": np.where(ok, sig, False),
        "n_treated": n1, "n_holdout": n0, "holdout_too_small": small,
    })
    m = int(ok.sum())
    if m == 0:
        return RepeatSummary(int(n_repeats), 0, float(holdout_share), float(alpha), tau, *([None] * 10), None, draws)
    e, l_, h_, s_ = est[ok], lo[ok], hi[ok], sig[ok]
    cov = float(np.mean((l_ <= tau) & (tau <= h_)))
    n_sig = int(s_.sum())
    type_s = type_m = None
    if tau != 0 and n_sig:
        type_s = float(np.mean(np.sign(e[s_]) != np.sign(tau)))
        type_m = float(np.mean(np.abs(e[s_]) / abs(tau)))
    cup = None
    if cu.x is not None:
        cd = _cuped_draws(c, n, tau, est, lo, hi)
        good = cd["ok"]
        if good.any():
            cup = {"covariate": covariate, "coverage": float(cd["covers"][good].mean()),
                   "mean_width_change": float(cd["change"][good].mean()),
                   "power": float(cd["sig"][good].mean()) if tau != 0 else None,
                   "mean_theta": float(cd["theta"][good].mean())}
    right = np.sign(e) == np.sign(tau)
    if tau != 0:
        sig_right, sig_wrong = float((s_ & right).mean()), float((s_ & ~right).mean())
    else:
        sig_right, sig_wrong = 0.0, float(s_.mean())
    return RepeatSummary(
        significant_right_share=sig_right, significant_wrong_share=sig_wrong,
        inconclusive_share=float((~s_).mean()), sign_right_share=float(right.mean()) if tau != 0 else None,
        peeking=_peeking(cu, c, alpha) if cu.week is not None else None,
        repeats=int(n_repeats), measurable=m, holdout_share=float(holdout_share), alpha=float(alpha),
        true_abs_lift=tau, coverage=cov, coverage_mcse=math.sqrt(cov * (1 - cov) / m),
        bias=float(np.mean(e - tau)), rmse=float(np.sqrt(np.mean((e - tau) ** 2))),
        power=float(s_.mean()) if tau != 0 else None,
        false_positive_rate=float(s_.mean()) if tau == 0 else None,
        type_s=type_s, type_m=type_m, mean_ci_width=float(np.mean(h_ - l_)),
        holdout_too_small_share=float(small[ok].mean()), cuped_summary=cup, draws=draws,
    )


def _peeking(cu: _Units, c: dict[str, np.ndarray], alpha: float) -> dict[str, Any] | None:
    """The same draws read at every weekly look: fixed-horizon Newcombe vs the always-valid mSPRT.

    At look w the estimand is tau_w, the mean effect over the units that have arrived by then. A
    draw's intervals "cover under peeking" when every look's interval contains its tau_w — the
    promise a team reading weekly needs, since it acts on whichever look first excludes 0. The
    sequential interval is the normal-mixture boundary (core/measures/sequential.py) around the
    difference, with Agresti-Caffo rates in the variance so a look with no conversions keeps a width,
    tuned to the final number of units.
    """
    n_w = np.bincount(cu.week).cumsum().astype(float)
    tau_w = np.bincount(cu.week, weights=cu.effect).cumsum() / np.maximum(n_w, 1)
    n0 = c["w_n0"]
    n1 = n_w[None, :] - n0
    x0 = c["w_x0"]
    x1 = c["w_x_all"] - x0
    ok = (n0 > 0) & (n1 > 0)
    s0, s1 = np.where(ok, n0, 1), np.where(ok, n1, 1)
    lo, hi = newcombe_interval(x1, s1, x0, s0, _z(alpha))
    est = x1 / s1 - x0 / s0
    q1, q0 = (x1 + 1) / (s1 + 2), (x0 + 1) / (s0 + 2)
    var = q1 * (1 - q1) / s1 + q0 * (1 - q0) / s0
    half = msprt_halfwidth(var, n_w[None, :], alpha, tuned_rho2(n_w[-1], alpha))
    slo, shi = est - half, est + half
    draws_ok = ok[:, -1]
    if not draws_ok.any():
        return None
    looks = ok & draws_ok[:, None]

    def summary(l_: np.ndarray, h_: np.ndarray) -> dict[str, float]:
        covers = np.where(looks, (l_ <= tau_w) & (tau_w <= h_), True)
        sig = looks & ((l_ > 0) | (h_ < 0))
        wrong_side = sig & ((l_ > 0) != (tau_w > 0)) if tau_w[-1] != 0 else sig
        return {"coverage_every_look": float(covers.all(axis=1)[draws_ok].mean()),
                "coverage_final_look": float(covers[:, -1][draws_ok].mean()),
                "ever_significant": float(sig.any(axis=1)[draws_ok].mean()),
                "ever_significant_wrong": float(wrong_side.any(axis=1)[draws_ok].mean()),
                "final_width": float(np.mean((h_ - l_)[draws_ok, -1]))}

    return {"looks": int(n_w.size), "fixed_horizon": summary(lo, hi), "sequential": summary(slo, shi),
            "method": "mixture SPRT (normal mixture, tuned to the final size; Johari et al. 2017, Howard et al. 2021)"}


# --------------------------------------------------------------------------- two campaigns


@dataclass(frozen=True)
class CompareSummary:
    """How often two campaigns' holdout tests pick the model that truly adds more."""

    labels: tuple[str, str]
    metric: str                      # "revenue" or "conversions"
    repeats: int
    measurable: int
    holdout_share: float
    alpha: float
    true_value: tuple[float, float]  # expected incremental metric over each campaign's treated units
    true_diff: float                 # first minus second
    true_winner: str | None          # None when exactly tied
    right_winner_share: float | None  # measured difference has the true sign
    significant_right_share: float | None
    significant_wrong_share: float | None
    inconclusive_share: float | None  # the paired interval includes 0
    coverage_paired: float | None
    coverage_independent: float | None
    mean_width_paired: float | None
    mean_width_independent: float | None
    draws: pd.DataFrame

    def to_dict(self, *, include_draws: bool = True) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "draws"}
        out["labels"], out["true_value"] = list(self.labels), list(self.true_value)
        if include_draws:
            d = self.draws.astype(object).where(self.draws.notna(), None)
            out["draws"] = d.to_dict("records")
        return out


def _measure(c: _Units, u: np.ndarray, hold: np.ndarray, scale: float,
             members: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per draw: measured incremental value, per-group influence (k x groups), measurable flag."""
    y = _outcomes(c, u, hold) * c.value
    n0 = hold.sum(axis=1)
    n1 = hold.shape[1] - n0
    ok = (n0 >= 2) & (n1 >= 2)
    s0, s1 = np.maximum(n0, 1), np.maximum(n1, 1)
    m0 = (y * hold).sum(axis=1) / s0
    m1 = (y * ~hold).sum(axis=1) / s1
    est = scale * (m1 - m0)
    infl = np.where(hold, -(y - m0[:, None]) / s0[:, None], (y - m1[:, None]) / s1[:, None]) * scale
    per_group = np.asarray(members.T @ infl.T).T  # influence summed over each group's units
    return est, per_group, ok


def compare_models(
    targets_a: pd.DataFrame,
    targets_b: pd.DataFrame,
    holdout_share: float,
    n_repeats: int,
    seed: int,
    *,
    labels: tuple[str, str] = ("a", "b"),
    metric: str = "revenue",
    alpha: float = 0.05,
) -> CompareSummary:
    """Repeat two campaigns' holdout tests with common random numbers per person and compare them.

    Each draw gives every response group (``key``, else person) one uniform number shared by both
    campaigns (the same people respond the same way to the same treatment, as in ``campaign.py``)
    and draws each campaign's holdout independently (each tool assigns its own). Measured incremental value of a campaign =
    expected treated units x (treated mean - holdout mean) of the metric (conversions, or revenue
    = conversion x order value); its truth is the same with p1 - p0 in place of the observed means.

    The interval of the difference is a normal interval with an influence-function variance summed
    *per response group* across both campaigns: a person in both audiences contributes once, with
    both campaigns' residuals, so the covariance the shared random numbers create is counted (the
    "paired" interval). The "independent" interval ignores it, as two separate real tests would.
    """
    _check_args(holdout_share, n_repeats, seed, alpha)
    if metric not in ("revenue", "conversions"):
        raise DataError(f"metric must be 'revenue' or 'conversions' (got {metric!r})")
    if len(labels) != 2 or labels[0] == labels[1]:
        raise DataError(f"labels must be two different names (got {labels!r})")
    ta = _frame(targets_a, str(labels[0]), need_value=metric == "revenue")
    tb = _frame(targets_b, str(labels[1]), need_value=metric == "revenue")
    if ("key" in ta.columns) != ("key" in tb.columns):
        raise DataError("both target frames need a 'key' column, or neither: the shared random numbers "
                        "are drawn per key (person x need) or per person")
    share = float(holdout_share)
    groups = np.union1d(_group_ids(ta), _group_ids(tb))
    a, b = _units(ta, groups, metric), _units(tb, groups, metric)
    scale_a, scale_b = (1 - share) * a.p0.size, (1 - share) * b.p0.size
    truth_a = float(scale_a * np.mean(a.effect * a.value))
    truth_b = float(scale_b * np.mean(b.effect * b.value))

    def members(c: _Units) -> sparse.csr_matrix:
        return sparse.csr_matrix((np.ones(c.p0.size), (np.arange(c.p0.size), c.group)),
                                 shape=(c.p0.size, groups.size))

    ma, mb = members(a), members(b)
    z = _z(alpha)
    out_rng, hold_a_rng, hold_b_rng = _streams(seed, 3)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("est_a", "est_b", "var_p", "var_i", "ok")}
    for k in _chunks(n_repeats, 2 * groups.size + 3 * (a.p0.size + b.p0.size)):
        u = out_rng.random((k, groups.size), dtype=np.float32)
        ea, ia, oka = _measure(a, u, hold_a_rng.random((k, a.p0.size), dtype=np.float32) < share, scale_a, ma)
        eb, ib, okb = _measure(b, u, hold_b_rng.random((k, b.p0.size), dtype=np.float32) < share, scale_b, mb)
        cols["est_a"].append(ea)
        cols["est_b"].append(eb)
        cols["var_p"].append(((ia - ib) ** 2).sum(axis=1))
        cols["var_i"].append((ia**2).sum(axis=1) + (ib**2).sum(axis=1))
        cols["ok"].append(oka & okb)
    ea, eb, vp, vi, ok = (np.concatenate(cols[k]) for k in ("est_a", "est_b", "var_p", "var_i", "ok"))
    diff = ea - eb
    hp, hi_ = z * np.sqrt(vp), z * np.sqrt(vi)
    true_diff = truth_a - truth_b
    draws = pd.DataFrame({
        f"est_{labels[0]}": np.where(ok, ea, np.nan), f"est_{labels[1]}": np.where(ok, eb, np.nan),
        "diff": np.where(ok, diff, np.nan), "diff_ci_low": np.where(ok, diff - hp, np.nan),
        "diff_ci_high": np.where(ok, diff + hp, np.nan),
        "diff_ci_low_independent": np.where(ok, diff - hi_, np.nan),
        "diff_ci_high_independent": np.where(ok, diff + hi_, np.nan), "true_diff": true_diff,
    })
    m = int(ok.sum())
    winner = None if true_diff == 0 else (labels[0] if true_diff > 0 else labels[1])
    if m == 0:
        return CompareSummary(tuple(labels), metric, int(n_repeats), 0, share, float(alpha), (truth_a, truth_b),
                              true_diff, winner, *([None] * 8), draws)
    d, wp, wi = diff[ok], hp[ok], hi_[ok]
    sig_p = (d - wp > 0) | (d + wp < 0)
    right = np.sign(d) == np.sign(true_diff)
    return CompareSummary(
        labels=tuple(labels), metric=metric, repeats=int(n_repeats), measurable=m, holdout_share=share,
        alpha=float(alpha), true_value=(truth_a, truth_b), true_diff=true_diff, true_winner=winner,
        right_winner_share=float(right.mean()) if winner else None,
        significant_right_share=float((sig_p & right).mean()) if winner else None,
        significant_wrong_share=float((sig_p & ~right).mean()) if winner else float(sig_p.mean()),
        inconclusive_share=float((~sig_p).mean()),
        coverage_paired=float(np.mean((d - wp <= true_diff) & (true_diff <= d + wp))),
        coverage_independent=float(np.mean((d - wi <= true_diff) & (true_diff <= d + wi))),
        mean_width_paired=float(np.mean(2 * wp)), mean_width_independent=float(np.mean(2 * wi)),
        draws=draws,
    )
