"""When a member can actually be reached: processing, sync and build delays per model.

Defaults follow what vendors document and what teams report:
- CRM active lists (HubSpot "active lists" re-evaluate continuously; large portals see updates
  land within minutes to an hour) → ``crm_list_refresh_minutes`` = 30.
- CDP audiences: Segment/Twilio Engage real-time audiences compute within seconds to minutes;
  batch audiences refresh on a schedule (hourly to daily) → ``cdp_mode`` realtime, 2 minutes.
- Audience → sending tool: streaming destinations (Braze, Iterable) sync in minutes; list-based
  destinations hourly or slower → ``cdp_sync_minutes`` = 15.
- Hybrid: CDP audiences synced into the CRM / marketing automation by a connector or reverse ETL
  on a schedule → ``hybrid_sync_minutes`` = 60 (assumed: Hightouch documents no default interval
  and Census offers a continuous, roughly one-minute schedule; hourly is a common choice, not a
  vendor default — docs/research/vendors.md §2.6).
- Team speed: days from "we want this audience" to a live campaign. A CRM list is built by a
  marketer in a day; a CDP audience that needs new tracking or an engineering ticket takes longer.

Cadence by what a rule uses. Vendors compute some audiences faster than others: Segment computes
user-level audiences in real time but "audiences that require time windows, funnels, dynamic
properties, or account-level membership" on a schedule, once every eight hours by default
(twilio.com/docs/segment/engage/product-limits); Dynamics 365 Customer Insights – Journeys refreshes
segments in live journeys every 30 minutes, or every 60 with an interaction filter
(learn.microsoft.com/…/journeys/auto-segment-management). :func:`rule_shape` reads what a parsed
rule uses (``core.engine.rules.iter_conditions``) and ``audience_cadence_by_rule_type`` /
``crm_list_refresh_by_rule_type`` say the cadence of each kind; empty maps keep one cadence for
every rule (``cdp_mode`` / ``crm_list_refresh_minutes``), the behaviour before these knobs existed.
A rule that uses several kinds waits for the slowest of them: one batch part makes the whole
audience batch. The stack profiles (:mod:`core.advice.stacks`) set these per product.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

import numpy as np
import pandas as pd

from core.engine.rules import AccountCond, EventCond, FieldCond, Rule, Sequence, Trait, iter_conditions
from core.errors import ConfigError

MINUTE = pd.Timedelta(minutes=1)

#: What a CDP audience rule can use, from fastest to slowest to compute at most vendors.
AUDIENCE_KINDS: tuple[str, ...] = ("simple_event", "sequence", "time_window", "account")
#: What a CRM list rule can use: recorded fields only, or also tracked behaviour (an
#: "interaction filter" in Dynamics' words).
LIST_KINDS: tuple[str, ...] = ("field", "behaviour")
REALTIME = "realtime"
#: Map knobs (text): which kinds each accepts and whether 'realtime' is a valid cadence.
_MAPS: dict[str, tuple[tuple[str, ...], bool]] = {
    "audience_cadence_by_rule_type": (AUDIENCE_KINDS, True),
    "crm_list_refresh_by_rule_type": (LIST_KINDS, False),
}


@dataclass(frozen=True)
class ActivationConfig:
    """Delays between entering a segment/audience and being reachable by the sending tool."""

    crm_list_refresh_minutes: float = 30.0
    """Minutes between CRM active-list re-evaluations (members appear at the next refresh)."""
    cdp_mode: str = "realtime"
    """'realtime' (audience computed on each event) or 'batch' (computed every cdp_batch_minutes)."""
    cdp_compute_minutes: float = 2.0
    """Minutes a real-time audience takes to reflect a new event."""
    cdp_batch_minutes: float = 1440.0
    """Minutes between batch audience computations (used when cdp_mode is 'batch')."""
    cdp_sync_minutes: float = 15.0
    """Minutes between audience syncs from the CDP to the sending tool."""
    hybrid_sync_minutes: float = 60.0
    """Minutes between syncs of CDP audiences into the CRM / marketing-automation tool."""
    crm_build_days: float = 1.0
    """Days the team needs to build and launch a new CRM segment campaign."""
    cdp_build_days: float = 3.0
    """Days the team needs to build and launch a new CDP audience campaign (incl. engineering tickets)."""
    audience_cadence_by_rule_type: str = ""
    """CDP audience cadence by what the rule uses, e.g. 'simple_event=realtime,sequence=480,time_window=480,account=480' (minutes, or 'realtime'); kinds not named, and an empty value, follow cdp_mode."""
    crm_list_refresh_by_rule_type: str = ""
    """CRM list refresh by what the rule uses, e.g. 'field=30,behaviour=60' (minutes); kinds not named, and an empty value, use crm_list_refresh_minutes."""
    cdp_initial_sync_hours: float = 0.0
    """Hours a newly built audience takes to reach the sending tool the first time (Segment documents six or more for Iterable and Mailchimp list syncs)."""
    cdp_lookback_days: float = 0.0
    """Days of events a CDP audience may look back over (0 = all history; Salesforce Data Cloud rapid segments 7, standard 90)."""

    def __post_init__(self) -> None:
        if self.cdp_mode not in ("realtime", "batch"):
            raise ConfigError(f"cdp_mode must be 'realtime' or 'batch' (got {self.cdp_mode!r})")
        for name in _MAPS:
            object.__setattr__(self, name, canonical_map(name, getattr(self, name)))
        for f in fields(self):
            if f.name == "cdp_mode" or f.name in _MAPS:
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value <= 525_600):
                raise ConfigError(f"{f.name} must be a number from 0 to 525600 (got {value!r})")

    @classmethod
    def knob_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def audience_cadence(self, kind: str) -> float | str:
        """Minutes between computations of an audience of this kind, or 'realtime'."""
        value = parse_map("audience_cadence_by_rule_type", self.audience_cadence_by_rule_type).get(kind)
        if value is not None:
            return value
        return REALTIME if self.cdp_mode == "realtime" else self.cdp_batch_minutes

    def list_refresh(self, kind: str) -> float:
        """Minutes between re-evaluations of a CRM list of this kind."""
        value = parse_map("crm_list_refresh_by_rule_type", self.crm_list_refresh_by_rule_type).get(kind)
        return self.crm_list_refresh_minutes if value is None else float(value)


def parse_map(name: str, value: str | Mapping[str, Any]) -> dict[str, float | str]:
    """``'sequence=480,simple_event=realtime'`` (or a mapping) → ``{kind: minutes or 'realtime'}``.

    A wrong kind or value is a ConfigError naming the knob and what it accepts."""
    kinds, realtime_ok = _MAPS[name]
    if isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, str):
        items = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            key, sep, raw = part.partition("=")
            if not sep:
                raise ConfigError(f"{name} expects kind=value pairs separated by commas, e.g. "
                                  f"{kinds[0]}=60 (got {part!r})")
            items.append((key.strip(), raw.strip()))
    else:
        raise ConfigError(f"{name} must be text such as '{kinds[0]}=60' (got {value!r})")
    accepted = "minutes from 0 to 525600" + (" or 'realtime'" if realtime_ok else "")
    out: dict[str, float | str] = {}
    for key, raw in items:
        if key not in kinds:
            raise ConfigError(f"{name}: unknown rule kind {key!r}; accepted: {', '.join(kinds)}")
        if realtime_ok and str(raw).strip().lower() == REALTIME:
            out[key] = REALTIME
            continue
        try:
            minutes = float(raw) if not isinstance(raw, bool) else float("nan")
        except (TypeError, ValueError):
            minutes = float("nan")
        if not (0 <= minutes <= 525_600):
            raise ConfigError(f"{name}: {key} must be {accepted} (got {raw!r})")
        out[key] = minutes
    return out


def canonical_map(name: str, value: str | Mapping[str, Any]) -> str:
    """One spelling per map (kinds in their fixed order, whole minutes without '.0'), so equal
    settings hash, cache and link the same."""
    kinds, _ = _MAPS[name]
    parsed = parse_map(name, value)

    def text(v: float | str) -> str:
        return v if isinstance(v, str) else (str(int(v)) if float(v).is_integer() else repr(float(v)))

    return ",".join(f"{k}={text(parsed[k])}" for k in kinds if k in parsed)


@dataclass(frozen=True)
class RuleShape:
    """What a rule uses, as far as computation cadence is concerned."""

    kinds: frozenset[str] = frozenset({"simple_event"})
    """The CDP audience kinds present (:data:`AUDIENCE_KINDS`); 'simple_event' when none of the others."""
    behaviour: bool = False
    """Whether the rule filters on behaviour (events) at all — a CRM list's 'interaction filter'."""

    @property
    def list_kind(self) -> str:
        return "behaviour" if self.behaviour else "field"


def rule_shape(rule: Rule) -> RuleShape:
    """Classify a parsed rule by what it uses (segment references are not followed).

    A sequence (A then B, A then not B) is a *sequence*; an event condition with a window, a
    windowed or time-relative trait (days since last, first time, stopped, count or spend over
    days) and a "within the last N days" field test are *time_window* (membership changes as time
    passes, not only when an event arrives); an account condition is *account*; anything else
    (fields, event counts without a window) is *simple_event*."""
    kinds: set[str] = set()
    behaviour = False
    for c in iter_conditions(rule.root):
        if isinstance(c, Sequence):
            kinds.add("sequence")
        elif isinstance(c, AccountCond):
            kinds.add("account")
        elif isinstance(c, EventCond) and (c.within is not None or c.between is not None):
            kinds.add("time_window")
        elif isinstance(c, Trait) and (c.within is not None or c.days is not None or c.before is not None
                                       or c.kind == "days_since_last"):
            kinds.add("time_window")
        elif isinstance(c, FieldCond) and c.op == "within_last_days":
            kinds.add("time_window")
        behaviour = behaviour or isinstance(c, (Sequence, AccountCond, EventCond, Trait))
    return RuleShape(frozenset(kinds) or frozenset({"simple_event"}), behaviour)


def binding_kind(shape: RuleShape, cfg: ActivationConfig) -> str:
    """The kind whose cadence an audience of this shape waits for (the slowest it uses)."""

    def slowness(kind: str) -> float:
        cadence = cfg.audience_cadence(kind)
        return cfg.cdp_compute_minutes if cadence == REALTIME else float(cadence)

    return max(sorted(shape.kinds, key=AUDIENCE_KINDS.index), key=slowness)


def _ceil_to(times: pd.Series, origin: pd.Timestamp, minutes: float) -> pd.Series:
    """Next tick of a schedule that runs every ``minutes`` from ``origin`` (identity if 0)."""
    if minutes <= 0:
        return times
    step = pd.Timedelta(minutes=minutes)
    k = np.ceil((times - origin) / step)
    return origin + k * step


def _computed(enter: pd.Series, cadence: float | str, cfg: ActivationConfig, origin: pd.Timestamp) -> pd.Series:
    if cadence == REALTIME:
        return enter + pd.Timedelta(minutes=cfg.cdp_compute_minutes)
    return _ceil_to(enter, origin, float(cadence))


def activation_times(enter: pd.Series, model: str, cfg: ActivationConfig, origin: pd.Timestamp,
                     shape: RuleShape | None = None) -> pd.Series:
    """Activation time for members entering at ``enter`` under ``model`` ('truth' = no delay).

    ``shape`` (:func:`rule_shape` of the model's rule) picks the cadence by what the rule uses;
    without it a rule counts as a simple, field-only one."""
    if not isinstance(getattr(enter, "dtype", None), pd.DatetimeTZDtype):
        enter = pd.to_datetime(enter, utc=True)  # only parse what is not already a UTC time column
    if model == "truth" or len(enter) == 0:
        return enter
    shape = shape or RuleShape()
    if model == "crm":
        act = _ceil_to(enter, origin, cfg.list_refresh(shape.list_kind))
        launch = origin + pd.Timedelta(days=cfg.crm_build_days)
    else:
        computed = _computed(enter, cfg.audience_cadence(binding_kind(shape, cfg)), cfg, origin)
        act = _ceil_to(computed, origin, cfg.cdp_sync_minutes)
        if model == "hybrid":
            act = _ceil_to(act, origin, cfg.hybrid_sync_minutes)
        launch = origin + pd.Timedelta(days=cfg.cdp_build_days) + pd.Timedelta(hours=cfg.cdp_initial_sync_hours)
    return act.where(act >= launch, launch)


def activated_intervals(intervals: pd.DataFrame, model: str, cfg: ActivationConfig, origin: pd.Timestamp,
                        end: pd.Timestamp, reachable: pd.Series | None = None,
                        shape: RuleShape | None = None) -> pd.DataFrame:
    """Membership intervals → reachable intervals ``person_id, subject_id, active_from, active_to``.

    A member who leaves before the next refresh/sync is never activated for that interval.
    ``reachable`` (indexed by subject_id) drops subjects a sending tool cannot address, such as
    anonymous CDP profiles.
    """
    iv = intervals
    if reachable is not None and len(iv):
        iv = iv[iv["subject_id"].map(reachable).fillna(False).to_numpy(dtype=bool)]
    act = activation_times(iv["enter"], model, cfg, origin, shape)
    exit_ = iv["exit"].fillna(end + pd.Timedelta(seconds=1))
    ok = (act < exit_) & (act <= end)
    return pd.DataFrame({"person_id": iv["person_id"][ok].to_numpy(dtype="int64"),
                         "subject_id": iv["subject_id"][ok].to_numpy(dtype="int64"),
                         "active_from": act[ok].array,
                         "active_to": iv["exit"][ok].array})
