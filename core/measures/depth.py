"""How deep a need's trigger went: a checkout abandoner is not a cart-only adder.

A play's :class:`~core.engine.plays.Response` may name a *deep* trigger event (cart abandonment:
``checkout_started``). A need episode whose trigger reached it within :data:`DEPTH_WINDOW` before
the need opened answers a message ``deep_rel`` times as strongly as the play's base effect; a
shallower one ``shallow_rel`` times. Both come from the world's own events (ground truth), never
from a system's view, so either side gains from them only by reaching the deeper people.
Sources of the sizes are with the play (core/engine/plays.py).
"""
from __future__ import annotations

import threading
import weakref

import numpy as np
import pandas as pd

#: The trigger's own session: a checkout follows its cart within minutes in the world
#: (synthetic/journeys.py), and the cart-abandonment need opens 30 minutes after the cart.
DEPTH_WINDOW = pd.Timedelta(hours=2)


def episode_weights(run, episode: np.ndarray) -> np.ndarray:
    """Per send, the depth multiplier of the need episode it landed in (1.0 off-need or without depth).

    ``episode`` holds row numbers of ``run.needs`` (−1 = no need), as ``core.measures.campaign`` finds them."""
    resp = run.play.response
    out = np.ones(len(episode))
    if not getattr(resp, "deep_event", "") or len(episode) == 0:
        return out
    deep = _deep_of(run, resp.deep_event)
    hit = episode >= 0
    out[hit] = np.where(deep[episode[hit]], resp.deep_rel, resp.shallow_rel)
    return out


#: Recent (world, needs, deep event) → flags: a play's campaign is simulated a dozen times on the
#: same need episodes (models, the off-target band, need sensitivity), and each simulation asked for
#: the same flags. Keyed by the objects' identities and checked against weak references, so a new
#: run never reads old flags; a lock, since the dashboard's sessions run plays in threads.
_RECENT: list[tuple[weakref.ref, weakref.ref, str, np.ndarray]] = []
_RECENT_MAX = 8
_LOCK = threading.Lock()


def _deep_of(run, deep_event: str) -> np.ndarray:
    """:func:`deep_episodes` of the run's need episodes, once per need frame; the deep events are
    read from the world's narrow slice (:mod:`core.engine.worldread`), never its whole log."""
    from core.engine.worldread import events_of

    world, needs = run.engine.world, run.needs
    with _LOCK:
        for world_ref, needs_ref, name, flags in _RECENT:
            if world_ref() is world and needs_ref() is needs and name == deep_event:
                return flags
    flags = deep_episodes(events_of(world, (deep_event,), ("person_id", "ts", "event_type")), needs, deep_event)
    flags.setflags(write=False)
    with _LOCK:
        _RECENT.append((weakref.ref(world), weakref.ref(needs), deep_event, flags))
        del _RECENT[:-_RECENT_MAX]
    return flags


def deep_episodes(events: pd.DataFrame, needs: pd.DataFrame, deep_event: str) -> np.ndarray:
    """Per need episode (row of ``needs``), whether its person did ``deep_event`` in the
    :data:`DEPTH_WINDOW` before the episode opened."""
    needs = needs.reset_index(drop=True)
    if len(needs) == 0:
        return np.zeros(0, dtype=bool)
    ev = events.loc[events["event_type"] == deep_event, ["person_id", "ts"]].sort_values("ts", kind="mergesort")
    if len(ev) == 0:
        return np.zeros(len(needs), dtype=bool)
    q = pd.DataFrame({"person_id": needs["person_id"].to_numpy(np.int64), "enter": needs["enter"].to_numpy(),
                      "row": np.arange(len(needs))}).sort_values("enter", kind="mergesort")
    ev = ev.assign(person_id=ev["person_id"].astype(np.int64), deep_ts=ev["ts"])
    m = pd.merge_asof(q, ev[["person_id", "ts", "deep_ts"]].rename(columns={"ts": "enter"}), on="enter",
                      by="person_id", direction="backward", tolerance=DEPTH_WINDOW)
    out = np.zeros(len(needs), dtype=bool)
    out[m["row"].to_numpy()] = m["deep_ts"].notna().to_numpy()
    return out
