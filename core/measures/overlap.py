"""Overlap and accuracy: who each model can act on at a time, compared as true persons.

The headline counts what a marketer can act on: a model's **reachable** members (addressable
and activated — anonymous CDP profiles and members not yet synced do not count), each credited
to the person who owns the address. Membership figures (every subject in the audience,
anonymous profiles included) are kept as a secondary line. Two CRM contacts for one person are
one person reached twice (``duplicate_reach``).

``equal_size`` compares models at the same audience size: each model's k most recently activated
reachable members (k = the smallest reachable audience), so a larger audience is not a win by
itself.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.engine.playrun import PlayRun
from core.engine.worldread import people_columns


def _at(iv: pd.DataFrame, t: pd.Timestamp, start: str = "enter", stop: str = "exit") -> pd.DataFrame:
    to = iv[stop].isna() | (iv[stop] > t)
    return iv[(iv[start] <= t) & to]


def persons_at(run: PlayRun, model: str, t: pd.Timestamp, reachable: bool = True) -> set[int]:
    """People a model holds at ``t``: reachable ones (default) or every member's true person."""
    if model == "truth":
        return set(_at(run.truth, t)["person_id"].astype("int64").tolist())
    if reachable:
        return set(_at(run.active[model], t, "active_from", "active_to")["person_id"].astype("int64").tolist())
    return set(_at(run.members[model], t)["person_id"].astype("int64").tolist())


def _prf(members: set[int], truth: set[int]) -> dict[str, float | None]:
    tp = len(members & truth)
    precision = tp / len(members) if members else None
    recall = tp / len(truth) if truth else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def overlap_at(run: PlayRun, t: pd.Timestamp) -> dict:
    """Regions, Jaccard and precision / recall / F1 against truth at ``t``, on reachable people.

    Per model: ``reachable_persons`` with ``precision``/``recall``/``f1`` (the headline), and
    ``members_persons``/``members_subjects`` with ``membership_precision``/``membership_recall``
    (every member, anonymous profiles included — the secondary line).
    """
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
        reach_units = len(_at(run.active[m], t, "active_from", "active_to"))
        member_iv = _at(run.members[m], t)
        member_persons = set(member_iv["person_id"].astype("int64").tolist())
        mem = _prf(member_persons, truth)
        per_model[m] = {"reachable_persons": len(s), "reachable_units": reach_units,
                        "duplicate_reach": reach_units - len(s), **_prf(s, truth),
                        "members_persons": len(member_persons), "members_subjects": len(member_iv),
                        "membership_precision": mem["precision"], "membership_recall": mem["recall"]}
    out = {"t": t, "truth": len(truth), "regions": regions,
           "jaccard_crm_cdp": (len(crm & cdp) / len(union)) if union else None, "models": per_model,
           "equal_size": equal_size(run, t, truth)}
    accounts = account_view(run, truth, sets)
    if accounts is not None:
        out["accounts"] = accounts
    return out


def account_view(run: PlayRun, truth: set[int], reachable: dict[str, set[int]]) -> dict | None:
    """The same comparison at account level (B2B): an account counts as reached when any of its
    people is reachable, and as qualifying when any of its people truly qualifies. ABM teams plan
    and report by account, so a page shows these beside the people counts. None for B2C worlds."""
    people = people_columns(run.engine.world, ("person_id", "account_id"))
    if "account_id" not in people or people["account_id"].isna().all():
        return None
    acc = people.dropna(subset=["account_id"]).set_index("person_id")["account_id"].astype("int64")
    def accounts(persons: set[int]) -> set[int]:
        return set(acc.reindex(list(persons)).dropna().astype("int64").tolist())
    truth_acc = accounts(truth)
    models = {}
    for m, s in reachable.items():
        a = accounts(s)
        models[m] = {"reachable_accounts": len(a), **_prf(a, truth_acc)}
    return {"truth_accounts": len(truth_acc), "models": models}


def equal_size(run: PlayRun, t: pd.Timestamp, truth: set[int] | None = None) -> dict:
    """Precision of each model's k most recently activated reachable people, k = the smallest audience."""
    truth = persons_at(run, "truth", t) if truth is None else truth
    ranked = {}
    for m in run.models:
        live = _at(run.active[m], t, "active_from", "active_to")
        order = live.sort_values(["active_from", "person_id"], ascending=[False, True], kind="mergesort")
        ranked[m] = order["person_id"].drop_duplicates().astype("int64").tolist()
    k = min((len(v) for v in ranked.values()), default=0)
    if k == 0:
        return {"k": 0, "precision_at_k": {m: None for m in ranked}}
    return {"k": k, "precision_at_k": {m: len(set(v[:k]) & truth) / k for m, v in ranked.items()}}


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of an integer array by sorting: numpy 2.4's ``np.unique`` hashes first, which on
    300k grid keys took 0.08-0.11 s against 0.002 s for a sort and a mask (same sorted values)."""
    s = np.sort(values)
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def _grid_keys(iv: pd.DataFrame, grid: np.ndarray, n_person: int, start: str = "enter", stop: str = "exit") -> np.ndarray:
    """Unique (grid index, person) keys of every grid time at which a person is inside an interval."""
    if len(iv) == 0:
        return np.array([], dtype=np.int64)
    enter = iv[start].to_numpy(dtype="datetime64[ns]")
    exit_ = iv[stop].to_numpy(dtype="datetime64[ns]")
    i0 = np.searchsorted(grid, enter, side="left")
    i1 = np.where(np.isnat(exit_), len(grid), np.searchsorted(grid, exit_, side="left"))
    span = np.clip(i1 - i0, 0, None)
    row = np.repeat(np.arange(len(iv)), span)
    idx = i0[row] + (np.arange(len(row)) - np.repeat(np.cumsum(span) - span, span))
    return sorted_unique(idx.astype(np.int64) * n_person + iv["person_id"].to_numpy(dtype=np.int64)[row])


def _in_sorted(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """``np.isin(keys, sorted_keys)`` for a sorted ``sorted_keys`` (as :func:`_grid_keys` returns):
    one binary search per key instead of sorting both arrays together (0.4 ms vs 13 ms for the
    82k truth keys of a 20k-person B2B world)."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def overlap_series(run: PlayRun, freq: str = "1D") -> pd.DataFrame:
    """Per grid time and model: reachable people, precision, recall (and the membership versions);
    plus the CRM–CDP Jaccard on reachable people.

    Vectorised: each interval is expanded to the grid times it covers, so the whole series costs a
    few array operations rather than one set comparison per day.
    """
    grid_ts = pd.date_range(run.start + pd.Timedelta(freq), run.end, freq=freq)
    grid = grid_ts.to_numpy(dtype="datetime64[ns]")
    people = people_columns(run.engine.world, ("person_id",))
    n_person = int(max(people["person_id"].max() if len(people) else 0,
                       *(int(a["person_id"].max()) for a in run.active.values() if len(a)), 0)) + 1
    g = len(grid)
    truth = _grid_keys(run.truth, grid, n_person)
    truth_n = np.bincount(truth // n_person, minlength=g)
    keys = {m: _grid_keys(run.active[m], grid, n_person, "active_from", "active_to") for m in run.models}
    mkeys = {m: _grid_keys(run.members[m], grid, n_person) for m in run.models}
    jac = np.full(g, np.nan)
    if "crm" in keys and "cdp" in keys:
        crm, cdp = keys["crm"], keys["cdp"]
        both = np.bincount(crm[_in_sorted(crm, cdp)] // n_person, minlength=g)
        union = np.bincount(crm // n_person, minlength=g) + np.bincount(cdp // n_person, minlength=g) - both
        jac = np.where(union > 0, both / np.maximum(union, 1), np.nan)
    frames = []
    for m, k in keys.items():
        reach = np.bincount(k // n_person, minlength=g)
        hit = np.bincount(k[_in_sorted(k, truth)] // n_person, minlength=g)
        mk = mkeys[m]
        members = np.bincount(mk // n_person, minlength=g)
        mhit = np.bincount(mk[_in_sorted(mk, truth)] // n_person, minlength=g)
        frames.append(pd.DataFrame({
            "t": grid_ts, "model": m, "reachable": reach, "members": members,
            "precision": np.where(reach > 0, hit / np.maximum(reach, 1), np.nan),
            "recall": np.where(truth_n > 0, hit / np.maximum(truth_n, 1), np.nan),
            "membership_precision": np.where(members > 0, mhit / np.maximum(members, 1), np.nan),
            "membership_recall": np.where(truth_n > 0, mhit / np.maximum(truth_n, 1), np.nan),
            "jaccard_crm_cdp": jac, "truth": truth_n}))
    return pd.concat(frames, ignore_index=True)


def period_accuracy(series: pd.DataFrame) -> pd.DataFrame:
    """Reachable precision / recall / size averaged over an :func:`overlap_series`, one row per model."""
    cols = ["precision", "recall", "reachable", "membership_precision", "membership_recall", "members"]
    if series.empty:
        return pd.DataFrame(columns=["model", *cols])
    return series.groupby("model", as_index=False)[cols].mean(numeric_only=True)
