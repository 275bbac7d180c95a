"""Overlap and accuracy: who each model holds at a time, compared as true persons.

Members are mapped to the true person behind them, so two CRM contacts for one person are one
person (reached twice — reported as ``duplicate_reach``) and an over-merged CDP profile counts as
its majority person.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.engine.playrun import PlayRun


def _at(iv: pd.DataFrame, t: pd.Timestamp, start: str = "enter", stop: str = "exit") -> pd.DataFrame:
    to = iv[stop].isna() | (iv[stop] > t)
    return iv[(iv[start] <= t) & to]


def persons_at(run: PlayRun, model: str, t: pd.Timestamp) -> set[int]:
    iv = run.truth if model == "truth" else run.members[model]
    return set(_at(iv, t)["person_id"].astype("int64").tolist())


def _prf(members: set[int], truth: set[int]) -> dict[str, float | None]:
    tp = len(members & truth)
    precision = tp / len(members) if members else None
    recall = tp / len(truth) if truth else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else (0.0 if precision is not None and recall is not None else None)
    return {"precision": precision, "recall": recall, "f1": f1}


def overlap_at(run: PlayRun, t: pd.Timestamp) -> dict:
    """Region counts, Jaccard and precision / recall / F1 of each model against truth at ``t``."""
    truth = persons_at(run, "truth", t)
    sets = {m: persons_at(run, m, t) for m in run.models}
    crm, cdp = sets.get("crm", set()), sets.get("cdp", set())
    union = crm | cdp
    regions = {
        "crm_only": len(crm - cdp), "cdp_only": len(cdp - crm), "both": len(crm & cdp),
        "neither_but_qualifying": len(truth - union),
        "crm_only_qualifying": len((crm - cdp) & truth), "cdp_only_qualifying": len((cdp - crm) & truth),
        "both_qualifying": len(crm & cdp & truth),
    }
    per_model = {}
    for m, s in sets.items():
        iv = _at(run.members[m], t)
        subjects = len(iv)
        per_model[m] = {"members_persons": len(s), "members_subjects": subjects,
                        "duplicate_reach": subjects - len(s), **_prf(s, truth)}
    return {"t": t, "truth": len(truth), "regions": regions,
            "jaccard_crm_cdp": (len(crm & cdp) / len(union)) if union else None, "models": per_model}


def _grid_keys(iv: pd.DataFrame, grid: np.ndarray, n_person: int) -> np.ndarray:
    """Unique (grid index, person) keys of every grid time at which a person is a member."""
    if len(iv) == 0:
        return np.array([], dtype=np.int64)
    enter = iv["enter"].to_numpy(dtype="datetime64[ns]")
    exit_ = iv["exit"].to_numpy(dtype="datetime64[ns]")
    i0 = np.searchsorted(grid, enter, side="left")
    i1 = np.where(np.isnat(exit_), len(grid), np.searchsorted(grid, exit_, side="left"))
    span = np.clip(i1 - i0, 0, None)
    row = np.repeat(np.arange(len(iv)), span)
    idx = i0[row] + (np.arange(len(row)) - np.repeat(np.cumsum(span) - span, span))
    return np.unique(idx.astype(np.int64) * n_person + iv["person_id"].to_numpy(dtype=np.int64)[row])


def overlap_series(run: PlayRun, freq: str = "1D") -> pd.DataFrame:
    """Per grid time and model: members (persons), precision, recall; plus CRM–CDP Jaccard.

    Vectorised: each membership interval is expanded to the grid times it covers, so the whole
    series costs a few array operations rather than one set comparison per day.
    """
    grid_ts = pd.date_range(run.start + pd.Timedelta(freq), run.end, freq=freq)
    grid = grid_ts.to_numpy(dtype="datetime64[ns]")
    n_person = int(run.engine.world.people["person_id"].max()) + 1
    g = len(grid)
    truth = _grid_keys(run.truth, grid, n_person)
    truth_n = np.bincount(truth // n_person, minlength=g)
    keys = {m: _grid_keys(run.members[m], grid, n_person) for m in run.models}
    jac = np.full(g, np.nan)
    if "crm" in keys and "cdp" in keys:
        both = np.bincount(np.intersect1d(keys["crm"], keys["cdp"]) // n_person, minlength=g)
        union = np.bincount(np.union1d(keys["crm"], keys["cdp"]) // n_person, minlength=g)
        jac = np.where(union > 0, both / np.maximum(union, 1), np.nan)
    frames = []
    for m, k in keys.items():
        members = np.bincount(k // n_person, minlength=g)
        hit = np.bincount(k[np.isin(k, truth)] // n_person, minlength=g)
        frames.append(pd.DataFrame({
            "t": grid_ts, "model": m, "members": members,
            "precision": np.where(members > 0, hit / np.maximum(members, 1), np.nan),
            "recall": np.where(truth_n > 0, hit / np.maximum(truth_n, 1), np.nan),
            "jaccard_crm_cdp": jac, "truth": truth_n}))
    return pd.concat(frames, ignore_index=True)


def period_accuracy(series: pd.DataFrame) -> pd.DataFrame:
    """Precision / recall / members averaged over an :func:`overlap_series`, one row per model."""
    if series.empty:
        return pd.DataFrame(columns=["model", "precision", "recall", "members"])
    return series.groupby("model", as_index=False)[["precision", "recall", "members"]].mean(numeric_only=True)
