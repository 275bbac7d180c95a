"""What a system can build of a rule with what it sees: a play's rule, cut to one product's limits.

A play's CRM segment and CDP audience are each side's best attempt with a full-featured product.
Real products see less, and a team builds the rule it *can* build:

- :func:`without_unseen_events` — a CRM whose lists cannot filter on some behaviour (a sales-only
  CRM sees none: HubSpot states "Only Marketing Hub accounts can use marketing email activity,
  page views, and CTAs as enrollment triggers") gets the rule without the conditions on events it
  cannot see, as a marketer building the list in that CRM would leave them out. A condition that
  cannot be evaluated is removed where it stands: from an ``all`` (the list is built without that
  filter), from an ``any`` (that branch is gone), with its ``not`` (the exclusion cannot be made).
  An ``all`` left with exclusions only is removed too: "everyone who has not bought lately" is not
  what "viewed the cart and has not bought" meant. When nothing is left the product cannot build a
  list for the play at all: ``None``.
- :func:`within_lookback` — a CDP whose audiences read only the last N days of events
  (Salesforce Data Cloud rapid segments: "Each segment filters only the past 7 days of engagement
  data"; standard segments default to 90 days; mParticle real-time audiences "draw on the most
  recent 30 days of data") gets every window cut to N days, a condition without a window given one,
  and "days since last" satisfied only when that last event is inside the lookback.
  Two approximations, stated: "first time in the last W" keeps testing "never before" over all
  history (a real lookback would forget an older first event, so this is stricter), and event
  conditions between fixed dates are left as written.

Both are pure functions of the parsed rule (``core.engine.rules``); nothing is evaluated here.
"""
from __future__ import annotations

from dataclasses import replace

from core.engine.rules import (
    AccountCond, All, Any_, Condition, Duration, EventCond, EventSpec, Not, Rule, Sequence, Trait,
)

_EVENT_CONDS = (EventCond, Sequence, Trait, AccountCond)


def event_types_of(c: Condition) -> frozenset[str]:
    """The event types one (leaf) condition reads."""
    if isinstance(c, Sequence):
        return frozenset({c.first.event, c.then.event})
    if isinstance(c, (EventCond, Trait, AccountCond)):
        return frozenset({c.spec.event})
    return frozenset()


def without_unseen_events(rule: Rule, visible: frozenset[str]) -> Rule | None:
    """``rule`` without its conditions on events outside ``visible``; None when nothing is left."""
    root = _strip(rule.root, frozenset(visible))
    if root is None:
        return None
    return rule if root is rule.root else replace(rule, root=root)


def _strip(c: Condition, visible: frozenset[str]) -> Condition | None:
    if isinstance(c, (All, Any_)):
        items = [_strip(i, visible) for i in c.items]
        kept = tuple(i for i in items if i is not None)
        if not kept or (isinstance(c, All) and all(isinstance(i, Not) for i in kept)):
            return None  # only exclusions left: "everyone except …" is not the segment any more
        if len(kept) == len(c.items) and all(a is b for a, b in zip(kept, c.items)):
            return c
        return type(c)(kept)
    if isinstance(c, Not):
        inner = _strip(c.item, visible)
        if inner is None:
            return None
        return c if inner is c.item else Not(inner)
    if isinstance(c, _EVENT_CONDS):
        return c if event_types_of(c) <= visible else None
    return c  # fields and segment references need no behaviour


def within_lookback(rule: Rule, days: float) -> Rule:
    """``rule`` as a CDP that reads only the last ``days`` days of events evaluates it (0 = all)."""
    if days <= 0:
        return rule
    limit = Duration(max(1, int(round(days * 1440))), "m")
    root = _clip(rule.root, limit)
    return rule if root == rule.root else replace(rule, root=root)


def _shorter(d: Duration | None, limit: Duration) -> Duration:
    return limit if d is None or d.seconds > limit.seconds else d


def _clip(c: Condition, limit: Duration) -> Condition:
    whole_days = max(1, limit.seconds // 86_400)
    if isinstance(c, (All, Any_)):
        return type(c)(tuple(_clip(i, limit) for i in c.items))
    if isinstance(c, Not):
        return Not(_clip(c.item, limit))
    if isinstance(c, EventCond):
        if c.between is not None:
            return c  # fixed dates: the caller chose them; documented as not clipped
        return replace(c, within=_shorter(c.within, limit))
    if isinstance(c, Sequence):
        return replace(c, within=_shorter(c.within, limit), lookback=_shorter(c.lookback, limit))
    if isinstance(c, AccountCond):
        return replace(c, within=_shorter(c.within, limit))
    if isinstance(c, Trait):
        return _clip_trait(c, limit, whole_days)
    return c  # FieldCond (profile traits are not engagement data), InSegment


def _clip_trait(c: Trait, limit: Duration, whole_days: int) -> Condition:
    if c.kind == "days_since_last":
        # the last event counts only if the CDP still reads it
        return All((EventCond(EventSpec(c.spec.event, c.spec.where), within=limit), c))
    if c.kind in ("count", "total_value"):
        return replace(c, days=whole_days if c.days is None else min(c.days, whole_days))
    if c.kind == "first_time":
        return replace(c, within=_shorter(c.within, limit))  # "never before" stays (module docstring)
    if c.kind == "stopped":
        within = _shorter(c.within, limit)
        room = limit.seconds - within.seconds
        if room <= 0:  # nothing before the recent window is readable: "stopped" cannot hold
            return All((EventCond(EventSpec(c.spec.event, c.spec.where), within=within),
                        Not(EventCond(EventSpec(c.spec.event, c.spec.where), within=within))))
        before = c.before if c.before is not None and c.before.seconds <= room else Duration(room // 60, "m")
        return replace(c, within=within, before=before)
    return c


__all__ = ["event_types_of", "within_lookback", "without_unseen_events"]
