"""Freshness: how long after a person truly qualifies each model can reach them.

Definitions (../shared/DESIGN.md, "The measures"): qualifying time = first time the play's truth
rule holds; time to activation = activation time minus qualifying time, 0 when the person was
already reachable then; people never activated count as *missed*, not as zero lag. Times are
exact (change-point evaluation), not read off a grid.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np
import pandas as pd

from core.engine.playrun import PlayRun

HOUR = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class FreshnessSummary:
    model: str
    n_qualified: int
    n_activated: int
    share_within_window: float
    share_never: float
    median_hours: float | None      # over activated people; None when nobody was activated
    p90_hours: float | None
    action_window_hours: float
    n_stale_people: int             # reachable after they stopped qualifying in truth
    stale_person_days: float
    n_already_qualifying_at_start: int  # excluded: we cannot know when they first qualified

    def to_dict(self) -> dict:
        return asdict(self)


def qualifying_times(run: PlayRun) -> pd.DataFrame:
    """First truth entry per person inside the period (``person_id, qualified_at``)."""
    tr = run.truth
    first = tr.groupby("person_id", as_index=False)["enter"].min().rename(columns={"enter": "qualified_at"})
    return first


def lags(run: PlayRun, model: str, qualified: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per truly qualifying person: ``qualified_at, activated_at`` (NaT = missed), ``lag_hours``.

    ``qualified`` is :func:`qualifying_times` when the caller already has it (it is per play, not
    per model).
    """
    q = qualifying_times(run) if qualified is None else qualified
    q = q[q["qualified_at"] > run.start]
    act = run.active[model]
    m = q.merge(act, on="person_id", how="left")
    to = m["active_to"].fillna(run.end + pd.Timedelta(days=3650))
    covering = (m["active_from"] <= m["qualified_at"]) & (to > m["qualified_at"])
    after = m["active_from"] >= m["qualified_at"]
    m["activated_at"] = m["active_from"].where(after)
    m.loc[covering, "activated_at"] = m.loc[covering, "qualified_at"]
    out = m.groupby("person_id", as_index=False).agg(qualified_at=("qualified_at", "first"), activated_at=("activated_at", "min"))
    out["lag_hours"] = (out["activated_at"] - out["qualified_at"]) / HOUR
    return out


def summary(run: PlayRun, model: str, lg: pd.DataFrame | None = None,
            qualified: pd.DataFrame | None = None) -> FreshnessSummary:
    """Headline freshness of one model; pass ``lg``/``qualified`` when already computed."""
    qualified = qualifying_times(run) if qualified is None else qualified
    lg = lags(run, model, qualified) if lg is None else lg
    window = run.play.action_window_hours
    n = len(lg)
    activated = lg["lag_hours"].dropna()
    stale_people, stale_days = _stale(run, model)
    n_start = int((qualified["qualified_at"] <= run.start).sum())
    return FreshnessSummary(
        model=model, n_qualified=n, n_activated=int(len(activated)),
        share_within_window=float((activated <= window).sum() / n) if n else 0.0,
        share_never=float(1 - len(activated) / n) if n else 0.0,
        median_hours=float(activated.median()) if len(activated) else None,
        p90_hours=float(activated.quantile(0.9)) if len(activated) else None,
        action_window_hours=window, n_stale_people=stale_people, stale_person_days=stale_days,
        n_already_qualifying_at_start=n_start)


def cumulative_curve(run: PlayRun, model: str, max_hours: float | None = None, points: int = 200,
                     lg: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of truly qualified people activated within x hours (missed people never arrive)."""
    lg = lags(run, model) if lg is None else lg
    max_hours = max_hours or max(run.play.action_window_hours * 4, 24)
    x = np.linspace(0, max_hours, points)
    lag = np.sort(lg["lag_hours"].dropna().to_numpy())
    n = max(len(lg), 1)
    y = np.searchsorted(lag, x, side="right") / n
    return pd.DataFrame({"hours": x, "share_activated": y, "model": model})


def _stale(run: PlayRun, model: str) -> tuple[int, float]:
    """People still reachable after their truth qualification ended, and the person-days of it."""
    act = run.active[model]
    tr = run.truth.dropna(subset=["exit"])
    if len(act) == 0 or len(tr) == 0:
        return 0, 0.0
    m = act.merge(tr[["person_id", "enter", "exit"]], on="person_id")
    a_to = m["active_to"].fillna(run.end)
    overlaps = (m["active_from"] < m["exit"]) & (a_to > m["enter"])
    m = m[overlaps & (a_to > m["exit"])]
    if len(m) == 0:
        return 0, 0.0
    stale = (m["active_to"].fillna(run.end) - m["exit"]) / pd.Timedelta(days=1)
    return int(m["person_id"].nunique()), float(stale.clip(lower=0).sum())


def freshness_table(run: PlayRun, lags_by_model: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per model: the headline freshness figures."""
    qualified = qualifying_times(run)
    lg = lags_by_model or {}
    return pd.DataFrame([summary(run, m, lg.get(m), qualified).to_dict() for m in run.models])
