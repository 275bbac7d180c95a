"""CDP identity resolution: stitch received events into profiles, Segment-Unify style.

A CDP never sees the true person. It sees events carrying identifiers (``anonymous_id`` from a
browser/app install, ``user_id`` once logged in, ``email`` from forms, checkout and email clicks)
and builds *profiles* with deterministic rules. This module reproduces those rules on whole
columns so that the dashboard can show what identity resolution gets right (stitching anonymous
browsing to the customer who later logs in) and what it gets wrong:

* **splits** - one person, several profiles: a device never logged in, a second email never seen
  next to the user id, identifiers over a per-profile limit;
* **over-merges** - one profile, several people: a shared browser whose anonymous id was first
  seen with person A's login, so person B's anonymous browsing lands in A's profile.

The rules (``resolve``), all vectorised (group/sort/merge over whole columns, no loop per event or
identifier):

1. *Edges*: distinct identifier pairs observed on one event - anonymous_id->user_id,
   email->user_id, anonymous_id->email - each with the first time the pair was received.
2. *Priority* user_id > email > anonymous_id (Segment's default order, see below). Each lower
   priority identifier gets at most one parent: an anonymous id's parent is the user_id it was
   first seen with, else the first email it was seen with; an email's parent is the first user_id
   seen with it (when ``merge_on_email``). "First seen wins" is how a CDP refuses a merge that
   would put a second user_id on a profile whose user_id limit is 1.
3. *Limits*: a profile keeps only its first ``max_emails_per_profile`` emails and first
   ``max_anonymous_ids_per_profile`` anonymous ids by link time; the rest do not merge and become
   profiles of their own.
4. *Roots*: parent pointers (at most anon->email->user) lead to the root identifier, which names
   the profile. ``profile_id`` is a keyed SipHash of (type, root) - the same root gives the same id
   in every run, for every ``as_of`` and whatever the row order. An identifier's ``link_time`` is
   when it became attached to its profile: the earliest, over its paths to the root, of the latest
   first-seen time of the edges on the path (a root's link time is its own first-seen time).
5. *Events*: an event goes to the profile of its highest-priority identifier; it becomes visible
   to audiences at ``attached_at = max(received_at, link_time of that identifier)``. Events with no
   identifier (a store purchase without a loyalty id) get no profile.

Simplification, stated plainly: a real CDP applies the rules event by event in arrival order, so
an early merge can block a later one that these rules would make (e.g. an email first merged into
a profile through a shared anonymous id). The first-seen rules give the same answer on the common
paths (anonymous browsing then login, forms then login, shared devices, limits) and can be computed
for a million events in a second or two.

Ground truth (``person_id``) is never read by the resolution; it only feeds the profiles'
``person_id``/``n_persons`` columns and :meth:`Resolution.quality`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ConfigError, DataError

__all__ = ["IdentityConfig", "Resolution", "resolve", "IDENTIFIER_TYPES"]

#: Identifier types in priority order (highest first). Segment documents user_id as rank 1 and
#: email as rank 2 by default, other identifiers after them.
IDENTIFIER_TYPES: tuple[str, ...] = ("user_id", "email", "anonymous_id")
_U, _E, _A = 0, 1, 2
_NO_TIME = np.iinfo(np.int64).max  # "never" for int64-nanosecond times (NaT is int64 min)

# SipHash keys (16 bytes each), one per identifier type, so that the string "x" used as an email
# and as an anonymous id gives two different profile ids. Changing them changes every profile id.
_HASH_KEYS: tuple[str, ...] = ("audlab/user_id..", "audlab/email....", "audlab/anon_id..")

_REQUIRED = ("received_at", "anonymous_id", "user_id", "email")


@dataclass(frozen=True)
class IdentityConfig:
    """The identity-resolution settings a CDP admin chooses.

    The defaults follow Segment Unify's documented Identity Resolution settings
    (segment.com/docs/unify/identity-resolution/identity-resolution-onboarding/, "Limit" and
    "Priority"): priority user_id (1) > email (2) > other identifiers; limit ``user_id`` 1 ("an
    immutable ID ... should have 1 ever per user profile"), every other identifier 5 by default,
    with a sliding window recommended for anonymous ids ("5 weekly or 5 monthly") and a long one
    for emails ("5 annually"). mParticle IDSync and RudderStack's identity graph use the same
    idea of one customer id per profile with lower-priority ids attached to it.
    """

    max_anonymous_ids_per_profile: int = 10
    """How many anonymous ids (browsers, app installs) one profile may hold; later ones stay
    separate profiles. Models the anonymous_id limit. Segment's default is 5 with a weekly or
    monthly window; this simulator counts over the whole history without a window, so 10 is a
    sensible lifetime equivalent of "5 monthly" over a few months. Lower it to see more splits
    from people with many devices; raise it to see more over-merges through shared devices."""

    max_emails_per_profile: int = 5
    """How many emails one profile may hold; a further email seen with the user id becomes its own
    profile. Models the email limit (Segment's default: 5, recommended window "annually")."""

    max_user_ids_per_profile: int = 1
    """How many user ids one profile may hold. Models the user_id limit, which every CDP sets to 1
    by default (Segment: "1 ever"). Only 1 is supported: with it a profile is a tree under at most
    one user id, and "first seen wins" is exactly the refusal of a merge over the limit."""

    merge_on_email: bool = True
    """Whether an email seen with a user id merges into that user's profile. Off models a CDP that
    does not trust email as a join key (e.g. shared family or work mailboxes): emails then stay
    their own profiles and only anonymous ids attach to them."""

    def __post_init__(self) -> None:
        for name in ("max_anonymous_ids_per_profile", "max_emails_per_profile"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"identity {name} must be a whole number >= 1, got {value!r}")
        value = self.max_user_ids_per_profile
        if isinstance(value, bool) or value != 1:
            raise ConfigError(
                f"identity max_user_ids_per_profile must be 1 (the CDP default; other values are "
                f"not modelled), got {value!r}"
            )
        if not isinstance(self.merge_on_email, (bool, np.bool_)):
            raise ConfigError(f"identity merge_on_email must be true or false, got {self.merge_on_email!r}")


@dataclass(frozen=True, eq=False)
class Resolution:
    """The profiles a CDP built from the events it had received by ``as_of``.

    ``identifiers``: one row per identifier seen - identifier_type, identifier, profile_id (int64),
    link_time (when it became part of that profile), root_type, first_seen.

    ``events``: indexed like the received input rows (``received_at <= as_of``), columns
    profile_id (Int64, <NA> for events without any identifier), attached_at (when the event became
    visible in the profile, >= received_at; NaT without profile), via (the identifier type that
    placed it).

    ``profiles``: one row per profile - profile_id, root_type, root, addressable (holds an email or
    user id, so a sending tool can reach it), n_identifiers, n_events, first_seen (earliest
    first-seen of its identifiers), person_id (ground truth: majority true person of its events,
    ties to the smallest id; a profile without events uses the events carrying its identifiers),
    n_persons (distinct true persons among those events). The last two are <NA> when the input had
    no ``person_id``.
    """

    identifiers: pd.DataFrame
    events: pd.DataFrame
    profiles: pd.DataFrame
    as_of: pd.Timestamp | None
    config: IdentityConfig
    _event_person: np.ndarray | None = field(default=None, repr=False)

    def quality(self) -> dict[str, Any]:
        """How far the profiles are from the true people (needs ``person_id`` in the input).

        Over received events that carry an identifier (the only ones a CDP can place):

        * ``profiles_per_person`` - mean number of profiles a person's events landed in (1 = never
          split); ``share_persons_split`` - share of persons in more than one profile;
        * ``persons_per_profile`` - mean number of true persons in a profile's events (1 = clean);
          ``share_profiles_overmerged`` - share of profiles holding more than one person;
        * ``share_events_identified`` - share of *all* received events attached to an addressable
          profile (one with an email or user id);
        * ``n_profiles`` (all profiles), ``n_profiles_with_events``, ``n_persons``,
          ``n_events_received``.

        Means and shares are NaN when there is nothing to average over.
        """
        if self._event_person is None:
            raise DataError("identity quality needs a person_id column (ground truth) in the events")
        pid = self.events["profile_id"]
        placed = pid.notna().to_numpy()
        pairs = pd.DataFrame(
            {"person": self._event_person[placed], "profile": pid.to_numpy(dtype=np.int64, na_value=0)[placed]}
        ).drop_duplicates()
        per_person = pairs.groupby("person", sort=False).size()
        per_profile = pairs.groupby("profile", sort=False).size()
        addressable = self.profiles.set_index("profile_id")["addressable"]
        n_received = len(pid)
        if n_received:
            ev_addr = pid[placed].map(addressable).to_numpy(dtype=bool)
            share_identified = float(ev_addr.sum()) / n_received
        else:
            share_identified = float("nan")

        def _mean(s: pd.Series) -> float:
            return float(s.mean()) if len(s) else float("nan")

        def _share(s: pd.Series) -> float:
            return float((s > 1).mean()) if len(s) else float("nan")

        return {
            "profiles_per_person": _mean(per_person),
            "share_persons_split": _share(per_person),
            "persons_per_profile": _mean(per_profile),
            "share_profiles_overmerged": _share(per_profile),
            "share_events_identified": share_identified,
            "n_profiles": int(len(self.profiles)),
            "n_profiles_with_events": int(len(per_profile)),
            "n_persons": int(len(per_person)),
            "n_events_received": int(n_received),
        }


# --------------------------------------------------------------------------- helpers on columns


def _codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 = missing) and the distinct identifier values they index.

    Code order follows row order, so nothing downstream may *order* by code: every tie-break uses
    the identifier's stable hash instead. Empty strings count as missing (a blocked value, as CDPs
    advise for placeholder ids).
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        raw = col.cat.codes.to_numpy(dtype=np.int64)
        cats = np.asarray(col.cat.categories, dtype=object)
        used = np.bincount(raw[raw >= 0], minlength=len(cats)) > 0
        remap = np.full(len(cats) + 1, -1, dtype=np.int64)  # last slot serves raw == -1
        remap[:-1][used] = np.arange(int(used.sum()))
        codes, uniques = remap[raw], cats[used]
    else:
        codes, uniques = pd.factorize(col, sort=False, use_na_sentinel=True)
        codes = codes.astype(np.int64, copy=False)
        uniques = np.asarray(uniques, dtype=object)
    blank = np.flatnonzero(uniques == "")
    if len(blank):
        b = int(blank[0])
        codes = np.where(codes == b, -1, np.where(codes > b, codes - 1, codes))
        uniques = np.delete(uniques, b)
    return codes, uniques


def _group_min(keys: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, _NO_TIME, dtype=np.int64)
    m = keys >= 0
    np.minimum.at(out, keys[m], values[m])
    return out


def _first_per_group(sorted_groups: np.ndarray) -> np.ndarray:
    """Boolean mask of the first row of each run in an already sorted group array."""
    first = np.ones(len(sorted_groups), dtype=bool)
    first[1:] = sorted_groups[1:] != sorted_groups[:-1]
    return first


def _edges(child: np.ndarray, parent: np.ndarray, t: np.ndarray, n_parent: int):
    """Distinct (child, parent) pairs seen on one event, with the first time each was received."""
    m = (child >= 0) & (parent >= 0)
    key = child[m] * np.int64(max(n_parent, 1)) + parent[m]
    tt = t[m]
    order = np.lexsort((tt, key))
    key_s = key[order]
    first = _first_per_group(key_s)
    k = key_s[first]
    return k // max(n_parent, 1), k % max(n_parent, 1), tt[order][first]


def _first_parent(ec: np.ndarray, ep: np.ndarray, et: np.ndarray, n_child: int, parent_key: np.ndarray):
    """Per child, the parent of its earliest edge (ties: smallest parent hash, never row order)."""
    par = np.full(n_child, -1, dtype=np.int64)
    when = np.full(n_child, _NO_TIME, dtype=np.int64)
    if len(ec):
        order = np.lexsort((parent_key[ep], et, ec))
        first = order[_first_per_group(ec[order])]
        par[ec[first]] = ep[first]
        when[ec[first]] = et[first]
    return par, when


def _rank_within(groups: np.ndarray, t: np.ndarray, key: np.ndarray) -> np.ndarray:
    """0-based rank of each member within its group, ordered by (time, stable key)."""
    order = np.lexsort((key, t, groups))
    g = groups[order]
    idx = np.arange(len(g))
    start = np.maximum.accumulate(np.where(_first_per_group(g), idx, 0))
    rank = np.empty(len(g), dtype=np.int64)
    rank[order] = idx - start
    return rank


def _hash_ids(uniques: np.ndarray, type_index: int) -> np.ndarray:
    """Stable non-negative int64 ids: SipHash-2-4 (pandas' hash_array, fixed key), top bit cleared."""
    if not len(uniques):
        return np.empty(0, dtype=np.int64)
    h = pd.util.hash_array(uniques, encoding="utf8", hash_key=_HASH_KEYS[type_index], categorize=False)
    return (h >> np.uint64(1)).astype(np.int64)


def _utc_ns(values: pd.Series, name: str) -> pd.Series:
    try:
        s = pd.to_datetime(values, utc=True)
    except (TypeError, ValueError) as exc:
        raise DataError(f"identity events column {name!r} must hold timestamps: {exc}") from None
    return s.dt.as_unit("ns")


def _as_of_ns(as_of: Any) -> int | None:
    if as_of is None:
        return None
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise DataError(f"identity as_of must be a timestamp, got {as_of!r}: {exc}") from None
    if ts is pd.NaT:
        raise DataError("identity as_of must be a timestamp or None, got NaT")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.as_unit("ns").value)


# --------------------------------------------------------------------------- the resolution


def resolve(
    events: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
    config: IdentityConfig | None = None,
) -> Resolution:
    """Resolve the events received by ``as_of`` (``None``: every received event) into profiles.

    ``events`` needs ``received_at`` (null = the CDP never got the event), ``anonymous_id``,
    ``user_id`` and ``email`` (strings or Categorical, nullable); ``person_id`` is optional and used
    only for the ground-truth columns and :meth:`Resolution.quality`. A naive ``as_of`` is read as
    UTC. See the module docstring for the rules.
    """
    config = IdentityConfig() if config is None else config
    if not isinstance(events, pd.DataFrame):
        raise DataError(f"identity events must be a DataFrame, got {type(events).__name__}")
    missing = [c for c in _REQUIRED if c not in events.columns]
    if missing:
        raise DataError(
            f"identity events lack column(s) {', '.join(missing)}; need {', '.join(_REQUIRED)}"
        )
    cutoff = _as_of_ns(as_of)
    rec = _utc_ns(events["received_at"], "received_at")
    rec_i8 = rec.array.asi8
    mask = rec.notna().to_numpy()
    if cutoff is not None:
        mask &= rec_i8 <= cutoff
    rows = np.flatnonzero(mask)
    t = rec_i8[rows]

    u, u_names = _codes(events["user_id"].iloc[rows])
    e, e_names = _codes(events["email"].iloc[rows])
    a, a_names = _codes(events["anonymous_id"].iloc[rows])
    nU, nE, nA = len(u_names), len(e_names), len(a_names)
    # stable per-identifier hashes: the profile id of a root, and every tie-break
    h_u, h_e, h_a = _hash_ids(u_names, _U), _hash_ids(e_names, _E), _hash_ids(a_names, _A)

    fs_u, fs_e, fs_a = _group_min(u, t, nU), _group_min(e, t, nE), _group_min(a, t, nA)

    # --- emails: parent = first user id seen with them, within the per-user email limit
    e_par = np.full(nE, -1, dtype=np.int64)
    e_link = fs_e.copy()
    if config.merge_on_email:
        ec, ep, et = _edges(e, u, t, nU)
        e_par, e_when = _first_parent(ec, ep, et, nE, h_u)
        has = np.flatnonzero(e_par >= 0)
        over = has[_rank_within(e_par[has], e_when[has], h_e[has]) >= config.max_emails_per_profile]
        e_par[over] = -1
        linked = e_par >= 0
        e_link[linked] = e_when[linked]
    e_root_type = np.where(e_par >= 0, _U, _E).astype(np.int8)
    e_root = np.where(e_par >= 0, e_par, np.arange(nE))

    # --- anonymous ids: parent = first user id seen with them, else first email
    auc, aup, aut = _edges(a, u, t, nU)
    a_upar, a_uwhen = _first_parent(auc, aup, aut, nA, h_u)
    aec, aep, aet = _edges(a, e, t, nE)
    a_epar, a_ewhen = _first_parent(aec, aep, aet, nA, h_e)

    a_root_type = np.full(nA, _A, dtype=np.int8)
    a_root = np.arange(nA, dtype=np.int64)
    a_link = fs_a.copy()
    via_u = a_upar >= 0
    a_root_type[via_u] = _U
    a_root[via_u] = a_upar[via_u]
    a_link[via_u] = a_uwhen[via_u]
    via_e = ~via_u & (a_epar >= 0)
    pe = a_epar[via_e]
    a_root_type[via_e] = e_root_type[pe]
    a_root[via_e] = e_root[pe]
    # the path anon->email(->user) is complete once both edges have been received
    a_link[via_e] = np.maximum(a_ewhen[via_e], e_link[pe])

    # link time = earliest path to the same root: e.g. an anon id tied to an email that merged into
    # the user before the anon id itself was seen with the login.
    if len(aec):
        same = (a_root_type[aec] != _A) & (e_root_type[aep] == a_root_type[aec]) & (e_root[aep] == a_root[aec])
        np.minimum.at(a_link, aec[same], np.maximum(aet[same], e_link[aep[same]]))

    # per-profile anonymous id limit: keep the first N by link time, the rest stay on their own
    has = np.flatnonzero(a_root_type != _A)
    if len(has):
        group = a_root_type[has].astype(np.int64) * np.int64(max(nU, nE, 1)) + a_root[has]
        over = has[_rank_within(group, a_link[has], h_a[has]) >= config.max_anonymous_ids_per_profile]
        a_root_type[over] = _A
        a_root[over] = over
        a_link[over] = fs_a[over]

    # --- one global index over all identifiers: users, then emails, then anonymous ids
    n_all = nU + nE + nA
    all_type = np.concatenate([np.full(nU, _U), np.full(nE, _E), np.full(nA, _A)]).astype(np.int8)
    all_hash = np.concatenate([h_u, h_e, h_a])
    all_fs = np.concatenate([fs_u, fs_e, fs_a])
    all_link = np.concatenate([fs_u, e_link, a_link])
    base = np.array([0, nU, nU + nE], dtype=np.int64)
    all_root = np.concatenate([
        np.arange(nU, dtype=np.int64),
        base[e_root_type] + e_root,
        base[a_root_type] + a_root,
    ])
    all_pid = all_hash[all_root]  # profile id = stable hash of the root identifier

    # profiles: one per root, numbered by slot in profile_id order
    roots = np.flatnonzero(all_root == np.arange(n_all))
    roots = roots[np.argsort(all_hash[roots], kind="stable")]
    prof_pid = all_hash[roots]
    if len(prof_pid) > 1 and (np.diff(prof_pid) == 0).any():  # 63-bit SipHash: ~1e-7 odds at 1e6 roots
        raise RuntimeError("identity: profile id hash collision; change _HASH_KEYS")
    n_prof = len(roots)
    slot_of = np.full(n_all, -1, dtype=np.int64)
    slot_of[roots] = np.arange(n_prof)
    slot = slot_of[all_root]

    # --- events: the highest-priority identifier decides
    via = np.where(u >= 0, _U, np.where(e >= 0, _E, np.where(a >= 0, _A, -1))).astype(np.int8)
    placed = via >= 0
    ev_ident = np.where(via == _U, u, np.where(via == _E, nU + e, nU + nE + a))[placed]
    ev_root = all_root[ev_ident]
    ev_slot = slot_of[ev_root]
    ev_pid = np.zeros(len(rows), dtype=np.int64)
    ev_pid[placed] = all_hash[ev_root]
    attached = np.full(len(rows), np.iinfo(np.int64).min, dtype=np.int64)  # int64 min = NaT
    attached[placed] = np.maximum(t[placed], all_link[ev_ident])

    index = events.index[rows]
    ev_df = pd.DataFrame(
        {
            "profile_id": pd.arrays.IntegerArray(ev_pid, ~placed),
            "attached_at": pd.Series(attached.view("datetime64[ns]"), index=index).dt.tz_localize("UTC"),
            "via": pd.Categorical.from_codes(via, categories=list(IDENTIFIER_TYPES)),
        },
        index=index,
    )

    def _ts(i8: np.ndarray) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(i8.view("datetime64[ns]")).tz_localize("UTC")

    def _types(codes: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(codes, categories=list(IDENTIFIER_TYPES))

    # --- identifiers table, in (type priority, stable hash) order so row order never leaks in
    names = np.concatenate([u_names, e_names, a_names]).astype(object)
    o = np.lexsort((all_hash, all_type))
    ident = pd.DataFrame(
        {
            "identifier_type": _types(all_type[o]),
            "identifier": names[o],
            "profile_id": all_pid[o],
            "link_time": _ts(all_link[o]),
            "root_type": _types(all_type[all_root[o]]),
            "first_seen": _ts(all_fs[o]),
        }
    )

    # --- profiles table, sorted by profile_id
    n_ident = np.bincount(slot, minlength=n_prof)
    first_seen = np.full(n_prof, _NO_TIME, dtype=np.int64)
    np.minimum.at(first_seen, slot, all_fs)
    n_events = np.bincount(ev_slot, minlength=n_prof)
    prof_root_type = all_type[roots]
    profiles = pd.DataFrame(
        {
            "profile_id": prof_pid,
            "root_type": _types(prof_root_type),
            "root": names[roots],
            "addressable": prof_root_type != _A,  # user/email never hang under an anonymous root
            "n_identifiers": n_ident.astype(np.int64),
            "n_events": n_events.astype(np.int64),
            "first_seen": _ts(first_seen),
        }
    )

    # --- ground truth, only now
    person = None
    if "person_id" in events.columns:
        person = events["person_id"].to_numpy()[rows].astype(np.int64)
        # pairs (profile slot, person): attached events, plus for event-less profiles the events
        # that carry one of their identifiers
        slots = [ev_slot]
        persons = [person[placed]]
        empty = n_events == 0
        if empty.any():
            for codes, offset in ((u, 0), (e, nU), (a, nU + nE)):
                m = codes >= 0
                s = slot[offset + codes[m]]
                keep = empty[s]
                slots.append(s[keep])
                persons.append(person[m][keep])
        ps, pp = np.concatenate(slots), np.concatenate(persons)
        maj = np.zeros(n_prof, dtype=np.int64)
        n_pers = np.zeros(n_prof, dtype=np.int64)
        if len(ps):
            o = np.lexsort((pp, ps))
            ps, pp = ps[o], pp[o]
            run = np.ones(len(ps), dtype=bool)
            run[1:] = (ps[1:] != ps[:-1]) | (pp[1:] != pp[:-1])
            starts = np.flatnonzero(run)
            cnt = np.diff(np.append(starts, len(ps)))
            rs, rp = ps[starts], pp[starts]
            o2 = np.lexsort((rp, -cnt, rs))
            best = o2[_first_per_group(rs[o2])]
            maj[rs[best]] = rp[best]
            n_pers = np.bincount(rs, minlength=n_prof)
        has_p = n_pers > 0
        profiles["person_id"] = pd.arrays.IntegerArray(maj, ~has_p)
        profiles["n_persons"] = n_pers.astype(np.int64)
    else:
        profiles["person_id"] = pd.array([pd.NA] * n_prof, dtype="Int64")
        profiles["n_persons"] = pd.array([pd.NA] * n_prof, dtype="Int64")

    return Resolution(
        identifiers=ident,
        events=ev_df,
        profiles=profiles,
        as_of=None if cutoff is None else pd.Timestamp(cutoff, tz="UTC"),
        config=config,
        _event_person=person,
    )
