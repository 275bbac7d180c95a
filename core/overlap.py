"""Overlap and accuracy: who each model holds at a time, compared as true persons.

Members are mapped to the true person behind them, so two CRM contacts for one person are one
person (reached twice — reported as ``duplicate_reach``) and an over-merged CDP profile counts as
its majority person.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.playrun import PlayRun


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


def overlap_series(run: PlayRun, freq: str = "1D") -> pd.DataFrame:
    """Per grid time and model: members (persons), precision, recall; plus CRM–CDP Jaccard."""
    grid = pd.date_range(run.start + pd.Timedelta(freq), run.end, freq=freq)
    rows = []
    for t in grid:
        o = overlap_at(run, t)
        for m, v in o["models"].items():
            rows.append({"t": t, "model": m, "members": v["members_persons"], "precision": v["precision"],
                         "recall": v["recall"], "jaccard_crm_cdp": o["jaccard_crm_cdp"], "truth": o["truth"]})
    return pd.DataFrame(rows)


def period_accuracy(run: PlayRun, freq: str = "1D") -> pd.DataFrame:
    """Precision / recall averaged over the period's grid (None-safe), one row per model."""
    s = overlap_series(run, freq)
    if s.empty:
        return pd.DataFrame(columns=["model", "precision", "recall"])
    return s.groupby("model", as_index=False)[["precision", "recall", "members"]].mean(numeric_only=True)
