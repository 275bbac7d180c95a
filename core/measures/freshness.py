"""Freshness: how long after a need opens each model can act on it — per qualifying episode.

Definitions (../shared/DESIGN.md, "The measures"):

- A **qualifying episode** is each interval in which the play's yardstick holds for a person
  (every episode counts, not only a person's first). Episodes already open when the period starts
  are left out (their qualifying time is unknown) and counted separately.
- **Time to activation** of an episode: the first moment, inside the episode or its action window
  (``[qualified, max(exit, qualified + window))``), at which the model can reach the person —
  0 when already reachable. An activation outside that span belongs to nothing: it is not
  credited to this episode (a later, unrelated episode cannot rescue an earlier miss).
- Episodes never activated count as **missed**, not as zero lag. Medians are over activated
  episodes and always travel with the number activated.
- **Stale reach**: person-days in which the model can reach someone who does not qualify (union
  of the person's reachable intervals minus the union of their episodes), and the head count of
  people with at least a day of it.
Times are exact (change-point evaluation), not read off a grid.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.engine.playrun import PlayRun

HOUR = pd.Timedelta(hours=1)
DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class FreshnessSummary:
    model: str
    n_qualified: int                # qualifying episodes scored (opened inside the period)
    n_people_qualified: int         # distinct people behind them
    n_activated: int                # episodes activated inside their episode or action window
    share_within_window: float      # episodes activated within the action window, of all scored
    share_never: float              # episodes never activated in their span
    median_hours: float | None      # over activated episodes; None when none was activated
    p90_hours: float | None
    action_window_hours: float
    n_stale_people: int             # people reachable for at least a day while not qualifying
    stale_person_days: float
    n_already_qualifying_at_start: int  # episodes open at the start: left out, qualifying time unknown

    def to_dict(self) -> dict:
        return asdict(self)


def qualifying_episodes(run: PlayRun) -> pd.DataFrame:
    """Every yardstick episode that opened inside the period: ``person_id, qualified_at, span_end``.

    ``span_end`` is where an activation stops counting for the episode: the later of its exit and
    the end of its action window (the period end when the episode is still open).
    """
    tr = run.truth
    opened = tr[tr["enter"] > run.start]
    window = pd.Timedelta(hours=run.play.action_window_hours)
    exit_ = opened["exit"].fillna(run.end)
    span = np.maximum(exit_.array.asi8, (opened["enter"] + window).array.asi8)
    return pd.DataFrame({"episode": np.arange(len(opened), dtype=np.int64),
                         "person_id": opened["person_id"].to_numpy(dtype=np.int64),
                         "qualified_at": opened["enter"].array,
                         "span_end": pd.DatetimeIndex(span.view("datetime64[ns]")).tz_localize("UTC")})


def qualifying_times(run: PlayRun) -> pd.DataFrame:
    """Kept for callers that want the episodes under their old name (one row per episode)."""
    return qualifying_episodes(run)


def lags(run: PlayRun, model: str, episodes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per qualifying episode: ``person_id, qualified_at, activated_at`` (NaT = missed), ``lag_hours``."""
    q = qualifying_episodes(run) if episodes is None else episodes
    act = run.active[model]
    m = q.merge(act[["person_id", "active_from", "active_to"]], on="person_id", how="inner")
    to = m["active_to"].fillna(run.end + pd.Timedelta(days=3650))
    covering = (m["active_from"] <= m["qualified_at"]) & (to > m["qualified_at"])
    inside = (m["active_from"] > m["qualified_at"]) & (m["active_from"] < m["span_end"])
    first = np.where(covering, m["qualified_at"].array.asi8, np.where(inside, m["active_from"].array.asi8, np.iinfo(np.int64).max))
    best = pd.Series(first, index=m["episode"].to_numpy()).groupby(level=0).min()
    at = np.full(len(q), np.iinfo(np.int64).max, dtype=np.int64)
    at[best.index.to_numpy()] = best.to_numpy()
    missed = at == np.iinfo(np.int64).max
    activated = pd.DatetimeIndex(np.where(missed, np.iinfo(np.int64).min, at).view("datetime64[ns]")).tz_localize("UTC")
    out = pd.DataFrame({"episode": q["episode"].to_numpy(), "person_id": q["person_id"].to_numpy(),
                        "qualified_at": q["qualified_at"].array, "activated_at": activated})
    out["lag_hours"] = (out["activated_at"] - out["qualified_at"]) / HOUR
    return out


def summary(run: PlayRun, model: str, lg: pd.DataFrame | None = None,
            episodes: pd.DataFrame | None = None) -> FreshnessSummary:
    """Headline freshness of one model; pass ``lg``/``episodes`` when already computed."""
    episodes = qualifying_episodes(run) if episodes is None else episodes
    lg = lags(run, model, episodes) if lg is None else lg
    window = run.play.action_window_hours
    n = len(lg)
    activated = lg["lag_hours"].dropna()
    stale_people, stale_days = stale_reach(run, model)
    return FreshnessSummary(
        model=model, n_qualified=n, n_people_qualified=int(lg["person_id"].nunique()),
        n_activated=int(len(activated)),
        share_within_window=float((activated <= window).sum() / n) if n else 0.0,
        share_never=float(1 - len(activated) / n) if n else 0.0,
        median_hours=float(activated.median()) if len(activated) else None,
        p90_hours=float(activated.quantile(0.9)) if len(activated) else None,
        action_window_hours=window, n_stale_people=stale_people, stale_person_days=stale_days,
        n_already_qualifying_at_start=int((run.truth["enter"] <= run.start).sum()))


def cumulative_curve(run: PlayRun, model: str, max_hours: float | None = None, points: int = 200,
                     lg: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of qualifying episodes activated within x hours (missed episodes never arrive)."""
    lg = lags(run, model) if lg is None else lg
    max_hours = max_hours or max(run.play.action_window_hours * 4, 24)
    x = np.linspace(0, max_hours, points)
    lag = np.sort(lg["lag_hours"].dropna().to_numpy())
    n = max(len(lg), 1)
    y = np.searchsorted(lag, x, side="right") / n
    return pd.DataFrame({"hours": x, "share_activated": y, "model": model})


def _union(person: np.ndarray, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge each person's overlapping [start, stop) intervals (int64 ns), vectorised."""
    if len(person) == 0:
        return person, start, stop
    o = np.lexsort((start, person))
    p, s, e = person[o], start[o], stop[o]
    new_person = np.r_[True, p[1:] != p[:-1]]
    run_max = pd.Series(e).groupby(p).cummax().to_numpy()
    prev_max = np.r_[np.iinfo(np.int64).min, run_max[:-1]]
    opens = new_person | (s > prev_max)
    group = np.cumsum(opens) - 1
    g_stop = pd.Series(e).groupby(group).max().to_numpy()
    return p[opens], s[opens], g_stop


def stale_reach(run: PlayRun, model: str) -> tuple[int, float]:
    """People reachable for at least a day while not qualifying, and the person-days of it."""
    act = run.active[model]
    if len(act) == 0:
        return 0, 0.0
    end = run.end.value
    ap, a0, a1 = _union(act["person_id"].to_numpy(np.int64), act["active_from"].array.asi8,
                        act["active_to"].fillna(run.end).array.asi8.clip(max=end))
    tr = run.truth
    tp, t0, t1 = _union(tr["person_id"].to_numpy(np.int64), tr["enter"].array.asi8,
                        tr["exit"].fillna(run.end).array.asi8.clip(max=end))
    reach = pd.Series(a1 - a0, index=ap).groupby(level=0).sum()
    a = pd.DataFrame({"person_id": ap, "a0": a0, "a1": a1})
    t = pd.DataFrame({"person_id": tp, "t0": t0, "t1": t1})
    m = a.merge(t, on="person_id")
    ov = (np.minimum(m["a1"], m["t1"]) - np.maximum(m["a0"], m["t0"])).clip(lower=0)
    covered = ov.groupby(m["person_id"]).sum().reindex(reach.index, fill_value=0)
    stale_days = (reach - covered).clip(lower=0) / DAY.value
    return int((stale_days >= 1).sum()), float(stale_days.sum())


def freshness_table(run: PlayRun, lags_by_model: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per model: the headline freshness figures."""
    episodes = qualifying_episodes(run)
    lg = lags_by_model or {}
    return pd.DataFrame([summary(run, m, lg.get(m), episodes).to_dict() for m in run.models])
