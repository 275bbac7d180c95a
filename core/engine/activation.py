"""When a member can actually be reached: processing, sync and build delays per model.

Defaults follow what vendors document and what teams report:
- CRM active lists (HubSpot "active lists" re-evaluate continuously; large portals see updates
  land within minutes to an hour) → ``crm_list_refresh_minutes`` = 30.
- CDP audiences: Segment/Twilio Engage real-time audiences compute within seconds to minutes;
  batch audiences refresh on a schedule (hourly to daily) → ``cdp_mode`` realtime, 2 minutes.
- Audience → sending tool: streaming destinations (Braze, Iterable) sync in minutes; list-based
  destinations hourly or slower → ``cdp_sync_minutes`` = 15.
- Hybrid: CDP audiences synced into the CRM / marketing automation by a connector or reverse ETL
  (Hightouch and Census default to hourly schedules) → ``hybrid_sync_minutes`` = 60.
- Team speed: days from "we want this audience" to a live campaign. A CRM list is built by a
  marketer in a day; a CDP audience that needs new tracking or an engineering ticket takes longer.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from core.errors import ConfigError

MINUTE = pd.Timedelta(minutes=1)


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

    def __post_init__(self) -> None:
        if self.cdp_mode not in ("realtime", "batch"):
            raise ConfigError(f"cdp_mode must be 'realtime' or 'batch' (got {self.cdp_mode!r})")
        for f in fields(self):
            if f.name == "cdp_mode":
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value <= 525_600):
                raise ConfigError(f"{f.name} must be a number from 0 to 525600 (got {value!r})")

    @classmethod
    def knob_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def _ceil_to(times: pd.Series, origin: pd.Timestamp, minutes: float) -> pd.Series:
    """Next tick of a schedule that runs every ``minutes`` from ``origin`` (identity if 0)."""
    if minutes <= 0:
        return times
    step = pd.Timedelta(minutes=minutes)
    k = np.ceil((times - origin) / step)
    return origin + k * step


def activation_times(enter: pd.Series, model: str, cfg: ActivationConfig, origin: pd.Timestamp) -> pd.Series:
    """Activation time for members entering at ``enter`` under ``model`` ('truth' = no delay)."""
    if not isinstance(getattr(enter, "dtype", None), pd.DatetimeTZDtype):
        enter = pd.to_datetime(enter, utc=True)  # only parse what is not already a UTC time column
    if model == "truth" or len(enter) == 0:
        return enter
    if model == "crm":
        act = _ceil_to(enter, origin, cfg.crm_list_refresh_minutes)
        launch = origin + pd.Timedelta(days=cfg.crm_build_days)
    else:
        if cfg.cdp_mode == "realtime":
            computed = enter + pd.Timedelta(minutes=cfg.cdp_compute_minutes)
        else:
            computed = _ceil_to(enter, origin, cfg.cdp_batch_minutes)
        act = _ceil_to(computed, origin, cfg.cdp_sync_minutes)
        if model == "hybrid":
            act = _ceil_to(act, origin, cfg.hybrid_sync_minutes)
        launch = origin + pd.Timedelta(days=cfg.cdp_build_days)
    return act.where(act >= launch, launch)


def activated_intervals(intervals: pd.DataFrame, model: str, cfg: ActivationConfig, origin: pd.Timestamp,
                        end: pd.Timestamp, reachable: pd.Series | None = None) -> pd.DataFrame:
    """Membership intervals → reachable intervals ``person_id, subject_id, active_from, active_to``.

    A member who leaves before the next refresh/sync is never activated for that interval.
    ``reachable`` (indexed by subject_id) drops subjects a sending tool cannot address, such as
    anonymous CDP profiles.
    """
    iv = intervals
    if reachable is not None and len(iv):
        iv = iv[iv["subject_id"].map(reachable).fillna(False).to_numpy(dtype=bool)]
    act = activation_times(iv["enter"], model, cfg, origin)
    exit_ = iv["exit"].fillna(end + pd.Timedelta(seconds=1))
    ok = (act < exit_) & (act <= end)
    return pd.DataFrame({"person_id": iv["person_id"][ok].to_numpy(dtype="int64"),
                         "subject_id": iv["subject_id"][ok].to_numpy(dtype="int64"),
                         "active_from": act[ok].array,
                         "active_to": iv["exit"][ok].array})
