"""What a members table shows: what the system itself knows about each member, and whether a
sending tool can reach it — never the simulator's ground truth dressed as the system's data.

A CRM contact is listed with the e-mail the CRM recorded; a CDP profile with its login or e-mail
when it has one, and as an anonymous profile (no name, no address, not reachable) when it has
only browser ids. Ground truth appears in clearly named columns only: the true person behind the
member, and whether that person is listed more than once (duplicate contacts, split profiles).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("member_id", "kind", "addressable", "address", "account_id", "true_person_id", "listed_times")


def members_table(engine, members: pd.DataFrame, view: str, when: pd.Timestamp) -> pd.DataFrame:
    """``members`` (subject_id, person_id from ``Engine.members``) as a table a marketer can act on.

    ``kind``: contact / profile / anonymous profile; ``addressable``: a sending tool can message it;
    ``address``: the e-mail or login the system holds (empty for anonymous profiles);
    ``listed_times``: how many members of this list are the same true person (ground truth).
    """
    if len(members) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    subject = members["subject_id"].to_numpy(np.int64)
    if view == "crm":
        address = _crm_addresses(engine, when).reindex(subject).to_numpy(dtype=object)
        addressable = pd.notna(address)
        kind = np.full(len(subject), "contact", dtype=object)
    else:
        prof = engine.resolution.profiles.set_index("profile_id")
        addressable = prof["addressable"].reindex(subject).fillna(False).to_numpy(dtype=bool)
        root = prof["root"].reindex(subject).astype(object).to_numpy()
        address = np.where(addressable, root, None)
        kind = np.where(addressable, "profile", "anonymous profile").astype(object)
    person = members["person_id"].to_numpy(np.int64)
    counts = pd.Series(person).map(pd.Series(person).value_counts()).to_numpy()
    out = pd.DataFrame({"member_id": subject, "kind": kind, "addressable": addressable, "address": address,
                        "account_id": _accounts(engine, view, subject), "true_person_id": person,
                        "listed_times": counts})
    if out["account_id"].isna().all():
        out = out.drop(columns="account_id")
    return out.sort_values(["addressable", "member_id"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def summary(table: pd.DataFrame) -> dict[str, int]:
    """Counts for the headline: members, reachable, anonymous, people listed more than once, accounts."""
    if len(table) == 0:
        return {"members": 0, "reachable": 0, "anonymous": 0, "people": 0, "people_listed_twice": 0, "accounts": 0}
    people = table.drop_duplicates("true_person_id")
    return {"members": int(len(table)), "reachable": int(table["addressable"].sum()),
            "anonymous": int((table["kind"] == "anonymous profile").sum()),
            "people": int(len(people)), "people_listed_twice": int((people["listed_times"] > 1).sum()),
            "accounts": int(table["account_id"].nunique()) if "account_id" in table else 0}


def _crm_addresses(engine, when: pd.Timestamp) -> pd.Series:
    """Each contact's e-mail as the CRM recorded it by ``when`` (the latest value)."""
    ch = engine.world.crm_changes
    em = ch[(ch["field"] == "email") & (ch["recorded_at"] <= when)]
    return em.sort_values("recorded_at", kind="mergesort").drop_duplicates("contact_id", keep="last").set_index("contact_id")["value"]


def _accounts(engine, view: str, subject: np.ndarray) -> np.ndarray:
    """The account each member belongs to as the view knows it (B2B; all missing for B2C)."""
    acc = engine.subjects(view)
    return acc.set_index("subject_id")["account_id"].reindex(subject).to_numpy(dtype=object)
