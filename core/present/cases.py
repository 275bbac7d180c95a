"""The people worth looking at on the Journeys page, and the marks on their lanes.

A facilitator does not want "person 1" but someone whose story makes a point: a person the CRM
never held although they qualified, a person the CDP split over several profiles, one caught in
an over-merged household profile, one the CDP reached too late. These are set operations over a
:class:`~core.engine.playrun.PlayRun` and the identity resolution, kept here so they are tested
without Streamlit. Every list is sorted, so the same world gives the same picks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.engine.identity import Resolution
from core.engine.playrun import PlayRun
from core.measures.freshness import lags


@dataclass(frozen=True)
class Case:
    key: str        # stable id for links (?case=split)
    title: str      # what the page shows; may say {play}


CASES: tuple[Case, ...] = (
    Case("missed_by_crm", "Qualified for '{play}' but never in the CRM segment"),
    Case("split", "Split across several CDP profiles"),
    Case("overmerged", "In an over-merged CDP profile (shared device)"),
    Case("late_cdp", "Reached late or never by the CDP"),
)


def _ids(values) -> list[int]:
    return sorted({int(v) for v in values})


def missed_by_crm(run: PlayRun) -> list[int]:
    """People who truly qualified at some time but were never a CRM member (any contact).

    Those the CDP could reach come first: "the CRM missed them, the CDP did not" is the story a
    facilitator wants to open with; the rest (missed by both) follow, each group by person id."""
    truth = set(run.truth["person_id"].astype("int64"))
    crm = set(run.members["crm"]["person_id"].astype("int64")) if "crm" in run.members else set()
    reached = set(run.active["cdp"]["person_id"].astype("int64")) if "cdp" in run.active else set()
    return sorted(truth - crm, key=lambda p: (p not in reached, p))


def split_persons(resolution: Resolution) -> list[int]:
    """People whose identifiers the CDP spread over more than one profile, most profiles first."""
    profiles = resolution.profiles.dropna(subset=["person_id"])
    per_person = profiles.groupby("person_id").size()
    split = per_person[per_person > 1]
    order = pd.DataFrame({"person_id": split.index.astype("int64"), "n": split.to_numpy()})
    order = order.sort_values(["n", "person_id"], ascending=[False, True], kind="mergesort")
    return order["person_id"].astype(int).tolist()


def overmerged_persons(resolution: Resolution) -> list[int]:
    """People who are the majority owner of a profile that also holds someone else's events."""
    profiles = resolution.profiles
    return _ids(profiles.loc[profiles["n_persons"] > 1, "person_id"].dropna())


def late_by(run: PlayRun, model: str, window_hours: float) -> list[int]:
    """Qualifying people the model reached after the action window, or never."""
    lg = lags(run, model)
    late = lg["lag_hours"].isna() | (lg["lag_hours"] > window_hours)
    return _ids(lg.loc[late, "person_id"])


def interesting_cases(run: PlayRun, resolution: Resolution) -> dict[str, list[int]]:
    """Each case of :data:`CASES` by key → the person ids in it, in a stable order."""
    return {
        "missed_by_crm": missed_by_crm(run),
        "split": split_persons(resolution),
        "overmerged": overmerged_persons(resolution),
        "late_cdp": late_by(run, "cdp", run.play.action_window_hours) if "cdp" in run.active else [],
    }


def case_title(key: str, play_title: str) -> str:
    return next(c.title for c in CASES if c.key == key).format(play=play_title)


def qualifying_episodes(run: PlayRun, person: int) -> pd.DataFrame:
    """When the person truly qualified: ``enter, exit`` (exit clipped to the period end)."""
    tr = run.truth[run.truth["person_id"].astype("int64") == int(person)]
    out = pd.DataFrame({"enter": pd.to_datetime(tr["enter"], utc=True).to_numpy(),
                        "exit": pd.to_datetime(tr["exit"], utc=True).fillna(run.end).to_numpy()})
    out["exit"] = pd.to_datetime(out["exit"], utc=True)
    out["enter"] = pd.to_datetime(out["enter"], utc=True)
    return out.sort_values("enter", kind="mergesort", ignore_index=True)


def activations(run: PlayRun, person: int) -> pd.DataFrame:
    """When each model could first reach the person in each reachable stretch: ``model, at``."""
    frames = []
    for model, act in run.active.items():
        mine = act[act["person_id"].astype("int64") == int(person)]
        if len(mine):
            at = pd.to_datetime(mine["active_from"], utc=True)
            frames.append(pd.DataFrame({"model": model, "at": np.sort(at.unique())}))
    if not frames:
        return pd.DataFrame({"model": pd.Series(dtype=object), "at": pd.Series(dtype="datetime64[ns, UTC]")})
    out = pd.concat(frames, ignore_index=True)
    out["at"] = pd.to_datetime(out["at"], utc=True)
    return out.sort_values(["at", "model"], kind="mergesort", ignore_index=True)
