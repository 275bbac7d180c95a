"""Measures that need no ground truth, for a person's own (imported) data.

- :func:`member_source_ids` — the identifier a person recognises for each member (the profile's
  user id, else its first e-mail, else its first anonymous id; a CRM contact's e-mail, else its id
  in the export), written beside ``subject_id`` by ``members --out`` on observed worlds;
- :func:`identity_picture` — what identity resolution made of the identifiers: profiles, how many
  are reachable, devices per identified profile, identifiers a per-profile limit left on their own
  (splits the data shows) and profiles holding several e-mails or user-linked devices (merges);
- :func:`play_counts` — member counts of the library plays over time on the CDP and CRM views;
- :func:`crm_cdp_overlap` — CRM contacts and CDP profiles of one play at a time, matched by e-mail.

All work on an :class:`core.engine.views.Engine` over any world; the dashboard's "Your data" page
only draws what they return.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from core.errors import RuleError, UserError
from core.engine.plays import PLAYS, Play
from core.engine.views import Engine

_PRIORITY = {"user_id": 0, "email": 1, "anonymous_id": 2}


def member_source_ids(engine: Engine, view: str, subject_ids: Iterable[int]) -> pd.Series:
    """Per subject id, the identifier a person recognises (see the module docstring)."""
    subjects = pd.Series(list(subject_ids), dtype="int64")
    if view in ("cdp", "hybrid"):
        ids = engine.identity()  # the folder engine's comes from SQL, never from the events in pandas
        rank = ids["identifier_type"].astype(str).map(_PRIORITY)
        order = pd.DataFrame({"profile_id": ids["profile_id"].to_numpy(), "rank": rank.to_numpy(),
                              "first_seen": ids["first_seen"].to_numpy(), "identifier": ids["identifier"].astype(str).to_numpy()})
        first = order.sort_values(["profile_id", "rank", "first_seen", "identifier"]).drop_duplicates("profile_id")
        lookup = first.set_index("profile_id")["identifier"]
    elif view == "crm":
        contacts = getattr(engine.world, "contacts", None)
        if contacts is not None and len(contacts):
            label = contacts["email"].where(contacts["email"].notna(), contacts["source_id"])
            lookup = pd.Series(label.astype(str).to_numpy(), index=contacts["contact_id"].astype("int64").to_numpy())
        else:
            ch = engine.world.crm_changes
            em = ch[ch["field"] == "email"].drop_duplicates("contact_id", keep="last")
            lookup = pd.Series(em["value"].astype(str).to_numpy(), index=em["contact_id"].to_numpy())
    else:
        lookup = pd.Series(dtype=object)
    return pd.Series(subjects.map(lookup).to_numpy(dtype=object), index=subjects.index, name="user_id")


def identity_picture(engine: Engine) -> dict[str, Any]:
    """Profiles, reachability, devices per profile, limit splits and multi-e-mail profiles."""
    res = engine.resolution
    prof, ids = res.profiles, res.identifiers
    n = len(prof)
    if n == 0:
        return {"profiles": 0}
    typ = ids["identifier_type"].astype(str)
    per = pd.crosstab(ids["profile_id"], typ)
    for col in ("user_id", "email", "anonymous_id"):
        if col not in per:
            per[col] = 0
    addressable = prof.set_index("profile_id")["addressable"]
    per = per.reindex(addressable.index, fill_value=0)
    reach = per[addressable.to_numpy()]
    anon_roots = ids[(typ == "anonymous_id") & (ids["root_type"].astype(str) == "anonymous_id")]
    ev = engine.world.events
    received = ev["received_at"].notna()
    seen_with_login = ev.loc[received & (ev["user_id"].notna() | ev["email"].notna()), "anonymous_id"].dropna()
    split = anon_roots["identifier"].isin(set(seen_with_login.astype(str).unique()))
    hist = reach["anonymous_id"].clip(upper=10).value_counts().sort_index()
    return {
        "profiles": int(n),
        "addressable_profiles": int(addressable.sum()),
        "anonymous_profiles": int(n - addressable.sum()),
        "share_events_on_addressable_profiles": _share_events(res),
        "devices_per_addressable_profile": float(reach["anonymous_id"].mean()) if len(reach) else None,
        "share_addressable_multi_device": float((reach["anonymous_id"] >= 2).mean()) if len(reach) else None,
        "profiles_with_several_emails": int((per["email"] >= 2).sum()),
        "anonymous_ids_split_by_limit": int(split.sum()),
        "devices_histogram": {("10+" if int(k) == 10 else str(int(k))): int(v) for k, v in hist.items()},
    }


def _share_events(res) -> float | None:
    pid = res.events["profile_id"]
    if not len(pid):
        return None
    addr = res.profiles.set_index("profile_id")["addressable"]
    placed = pid.dropna()
    return float(placed.map(addr).fillna(False).astype(bool).sum() / len(pid))


def play_counts(engine: Engine, plays: Iterable[Play] | None = None, views: tuple[str, ...] = ("cdp", "crm"),
                freq: str = "1D") -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Members of each play's rule per view over the period: ``play, view, t, members``.

    Plays whose rule the data cannot express (an event or field the view lacks) are returned in the
    second value with the reason, instead of failing the whole chart.
    """
    frames, skipped = [], []
    for play in (plays if plays is not None else PLAYS.values()):
        for view in views:
            try:
                iv = engine.intervals(play.rule("cdp" if view in ("cdp", "hybrid") else "crm"), view)
            except (RuleError, UserError) as exc:
                skipped.append({"play": play.name, "view": view, "reason": str(exc)})
                continue
            c = engine.counts_over_time(iv, freq)
            c.insert(0, "view", view)
            c.insert(0, "play", play.name)
            frames.append(c)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["play", "view", "t", "members"])
    return out, skipped


def crm_cdp_overlap(engine: Engine, play: Play, t: pd.Timestamp | str | None = None) -> dict[str, Any]:
    """CRM segment vs CDP audience of ``play`` at ``t``, matched by e-mail (the hybrid join).

    A CRM contact and a CDP profile are the same customer when the contact's e-mail is one of the
    profile's e-mails. Regions count customers: CRM only, CDP only, both; plus members the other
    system cannot even match (a contact whose e-mail no profile holds, an anonymous profile).
    """
    t = pd.Timestamp(t if t is not None else engine.world.end)
    crm = engine.members(play.rule("crm"), "crm", t)["subject_id"].astype("int64")
    cdp = engine.members(play.rule("cdp"), "cdp", t)["subject_id"].astype("int64")
    ch = engine.world.crm_changes
    emails = ch[ch["field"] == "email"].dropna(subset=["value"])[["contact_id", "value"]].drop_duplicates()
    ids = engine.resolution.identifiers
    em = ids[ids["identifier_type"].astype(str) == "email"][["identifier", "profile_id"]]
    link = emails.merge(em, left_on="value", right_on="identifier")[["contact_id", "profile_id"]].drop_duplicates()
    crm_as_profiles = set(link[link["contact_id"].isin(set(crm))]["profile_id"].astype("int64"))
    cdp_set = set(cdp)
    crm_unmatched = int((~crm.isin(set(link["contact_id"]))).sum())
    both = crm_as_profiles & cdp_set
    union = crm_as_profiles | cdp_set
    return {"t": t, "crm_members": int(len(crm)), "cdp_members": int(len(cdp)),
            "crm_only": len(crm_as_profiles - cdp_set) + crm_unmatched, "cdp_only": len(cdp_set - crm_as_profiles),
            "both": len(both), "crm_without_cdp_profile": crm_unmatched,
            "jaccard": (len(both) / len(union)) if union else None}
