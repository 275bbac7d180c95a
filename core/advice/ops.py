"""How well each side is run: named operating levels that expand into that side's knobs only.

The verdict must move only when operations move (DESIGN.md, "Principles"). These levels are the
operational knobs a team controls, grouped by side, so ``--ops crm=well-run --ops cdp=poorly-run``
says in a few words what a workshop or a sweep varies. Each level touches only its own side's
knobs (world tracking and hygiene, activation delays, sending); the business itself (behaviour
knobs, presets) never changes with the ops level, and neither does the other side.

Values and why (each a plausible "good team" / "struggling team" setting, not a vendor claim):

- CRM well run: forms within a minute, orders every 5 minutes (Dotdigital's Salesforce Commerce
  Cloud connector: "new and modified orders sync every five minutes",
  support.dotdigital.com/en/articles/8199701; Klaviyo's Shopify sync is real time,
  help.klaviyo.com/hc/en-us/articles/115005080447 — the default is HubSpot's "within 10 minutes",
  synthetic/config.py), daily imports, clean data (2%
  missing, 1% wrong, 2% duplicates, enrichment monthly), active lists refreshed in minutes
  (HubSpot documents active lists as updating automatically as records change), identify on every
  logged-in page, triggered
  workflows, a campaign shipped in half a day.
- CRM poorly run: nightly order sync (no shop connector: orders arrive with the nightly load
  Salesforce's Trailhead gives as the Data Loader example, docs/research/vendors.md §1.4), fortnightly imports, a quarter of updates missing, 15%
  wrong, 25% duplicates (the top of the 10–30% range reported where nobody manages master data,
  docs/research/crm_data_quality.md), the tracking script on few pages and 5% of logins
  identified, lists refreshed daily,
  weekly batch sends, two weeks to build a campaign.
- CDP well run: 98% of app installs tracked, identify on every logged-in page, real-time
  audiences with a 15-minute sync, three days to ship an audience, triggered journeys.
- CDP poorly run: 30% / 50% tracked, 5% of logins identified, ten-hour collection latency, daily
  batch audiences and syncs, no e-mail merging, 45 days to ship, weekly batch sends.

One toolbox for both sides (issue 19): identify-on-login is a knob on each side at the same
values (well run 100% of logged-in sessions, default 80%, poorly run 5%), and both web trackers
share one ceiling — the preset's share of browsers that do not block first-party scripts — so
neither well-run level raises it (the CDP's well-run level used to track 95% of browsers against
the CRM's 80–85%; no profile in core/advice/stacks.py documents server-side page collection that
would lift it). A poorly run side puts its script on few templates: 30% of browsers on both
sides (assumed, no published figure).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from core.errors import UserError

SIDES: tuple[str, ...] = ("crm", "cdp")
LEVELS: tuple[str, ...] = ("well-run", "default", "poorly-run")

OPS: dict[str, dict[str, dict[str, Any]]] = {
    "crm": {
        "well-run": {
            "crm_form_sync_minutes": 1.0, "crm_order_sync_hours": 5 / 60, "crm_import_days": 1.0,
            "crm_missing_rate": 0.02, "crm_error_rate": 0.01, "duplicate_rate": 0.02, "rep_update_lag_days": 0.5,
            "crm_enrichment_days": 30.0, "crm_identified_share": 1.0,
            "crm_list_refresh_minutes": 5.0, "crm_build_days": 0.5,
            "crm_send_mode": "triggered", "crm_workflow_delay_minutes": 0.0,
        },
        "default": {},
        "poorly-run": {
            "crm_form_sync_minutes": 240.0, "crm_order_sync_hours": 24.0, "crm_import_days": 14.0,
            "crm_missing_rate": 0.25, "crm_error_rate": 0.15, "duplicate_rate": 0.25, "rep_update_lag_days": 10.0,
            "crm_enrichment_days": 365.0, "crm_coverage_web": 0.3, "crm_identified_share": 0.05,
            "crm_list_refresh_minutes": 1440.0, "crm_build_days": 14.0,
            "crm_send_mode": "batch", "crm_send_every_days": 7,
        },
    },
    "cdp": {
        "well-run": {
            "coverage_app": 0.98, "identified_share": 1.0,
            "cdp_mode": "realtime", "cdp_sync_minutes": 15.0, "cdp_build_days": 3.0,
            "cdp_send_mode": "triggered", "cdp_workflow_delay_minutes": 0.0,
        },
        "default": {},
        "poorly-run": {
            "coverage_web": 0.3, "coverage_app": 0.5, "identified_share": 0.05, "cdp_latency_minutes": 600.0,
            "cdp_mode": "batch", "cdp_batch_minutes": 1440.0, "cdp_sync_minutes": 1440.0, "cdp_build_days": 45.0,
            "merge_on_email": False, "cdp_send_mode": "batch", "cdp_send_every_days": 7,
        },
    },
}


def ops_settings(levels: Mapping[str, str]) -> dict[str, Any]:
    """The knob settings of ``{"crm": level, "cdp": level}`` (missing sides stay at defaults)."""
    out: dict[str, Any] = {}
    for side, level in levels.items():
        if side not in OPS:
            raise UserError(f"unknown side {side!r} in --ops; accepted: {', '.join(SIDES)}")
        if level not in OPS[side]:
            raise UserError(f"unknown ops level {level!r} for {side}; accepted: {', '.join(LEVELS)}")
        out.update(OPS[side][level])
    return out


def parse_ops(pairs: Iterable[str] | None) -> dict[str, str]:
    """``["crm=well-run", "cdp=poorly-run"]`` → ``{"crm": "well-run", "cdp": "poorly-run"}``."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        side, sep, level = pair.partition("=")
        side, level = side.strip().lower(), level.strip().lower()
        if not sep or side not in SIDES or level not in LEVELS:
            raise UserError(f"--ops expects side=level with side in {', '.join(SIDES)} and level in "
                            f"{', '.join(LEVELS)} (got {pair!r})")
        out[side] = level
    return out


def side_of(knob: str) -> str | None:
    """Which side's operations a knob belongs to ('crm', 'cdp'), or None for the business itself."""
    for side, levels in OPS.items():
        if any(knob in settings for settings in levels.values()):
            return side
    return None


WELL_RUN: dict[str, Any] = dict(OPS["cdp"]["well-run"])
"""A well-run CDP programme (the Scenario page's button; the CRM untouched)."""
POORLY_RUN: dict[str, Any] = dict(OPS["cdp"]["poorly-run"])
"""A poorly run CDP programme (the Scenario page's button; the CRM untouched)."""
GOOD_CRM: dict[str, Any] = dict(OPS["crm"]["well-run"])
"""A well-run CRM programme."""
POOR_CRM: dict[str, Any] = dict(OPS["crm"]["poorly-run"])
"""A poorly run CRM programme."""


#: Where each named level sits on the continuous operating scale used by the fit advisor.
LEVEL_POSITION: dict[str, float] = {"poorly-run": 0.0, "default": 0.5, "well-run": 1.0}
_DELAY_SUFFIXES = ("_minutes", "_hours", "_days")


def level_settings(side: str, level: float, default_of: Callable[[str], Any],
                   keys: Iterable[str] | None = None) -> dict[str, Any]:
    """A side's knobs at a continuous operating level: 0 = poorly run, 0.5 = default, 1 = well run.

    Between two named levels a number is interpolated — geometrically for delays (minutes, hours,
    days: going from 1 to 240 minutes, half-way is about 15, not 120) and linearly for rates — and
    a choice (a mode, a switch) takes the value of the nearer level. ``default_of(knob)`` gives the
    default level's value of a knob the "default" level does not set (the preset's or the config's
    default). ``keys`` limits the knobs returned (e.g. to leave out knobs the caller sets itself).
    """
    if side not in OPS:
        raise UserError(f"unknown side {side!r}; accepted: {', '.join(SIDES)}")
    x = min(max(float(level), 0.0), 1.0)
    lo, hi = ("poorly-run", "default") if x <= 0.5 else ("default", "well-run")
    t = (x - LEVEL_POSITION[lo]) / 0.5
    names = sorted({k for settings in OPS[side].values() for k in settings})
    wanted = set(keys) if keys is not None else None
    out: dict[str, Any] = {}
    for knob in names:
        if wanted is not None and knob not in wanted:
            continue
        a = OPS[side][lo].get(knob, default_of(knob))
        b = OPS[side][hi].get(knob, default_of(knob))
        out[knob] = _between(knob, a, b, t)
    return out


def _between(knob: str, a: Any, b: Any, t: float) -> Any:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return b if t >= 0.5 else a
    if knob.endswith(_DELAY_SUFFIXES) and a > 0 and b > 0:
        value = float(a) * (float(b) / float(a)) ** t
    else:
        value = float(a) + (float(b) - float(a)) * t
    if isinstance(a, int) and isinstance(b, int):
        return int(round(value))
    return round(value, 6)
