"""What every knob is called on screen, in its unit, and on which presets it means something.

Field names such as ``p_cart`` or ``crm_send_weekday`` are for code and the CLI; a strategist reads
"Chance an in-market session adds to cart (%)". :data:`LABELS` holds one line per knob of
``synthetic.config.Knobs`` / ``Behaviour``, ``core.engine.activation.ActivationConfig``,
``core.engine.identity.IdentityConfig`` and ``core.measures.campaign.CampaignConfig``;
``tests/test_labels.py`` fails, naming the knob, when a field has no line here.

A line is ``"name": L(text, unit, presets, step, lo, hi)``:

- ``text`` may say ``{purchase}`` / ``{purchases}``: B2B worlds say *deal*, B2C worlds *purchase*.
- ``unit`` is ``"%"`` for shares stored as fractions (shown as percentages), else a plain word.
- ``presets`` lists where the knob means something (``None`` = every preset). It follows what the
  generator uses per preset (``tests/test_labels.py`` moves each scoped knob and checks the world
  changes where it is shown and not where it is hidden, except the knobs in :data:`HIDDEN_ON_PURPOSE`).
- ``step`` is what a slider snaps to, so a link carries 0.49, never 0.4902.
- ``lo``, ``hi``: the slider's range, for engine knobs (world knobs carry theirs in synthetic.config).
- A knob stored as text (a choice) also needs a line in :data:`CHOICES`: its values in words.

Keep it one line per knob, in its group, so people adding knobs at the same time merge cleanly.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, NamedTuple

from core.advice.stacks import map_choices

SALES_LED = ("b2b-saas",)
PLG = ("plg-saas",)
B2B = ("b2b-saas", "plg-saas")
B2C = ("b2c-retail", "omnichannel")
OMNI = ("omnichannel",)
PRODUCT_OR_APP = ("plg-saas", "omnichannel")


class L(NamedTuple):
    """A knob's on-screen label: text, unit, the presets it applies to (None = all), slider step,
    and for engine knobs (whose dataclasses carry no range) the slider's range ``lo``..``hi``."""

    text: str
    unit: str = ""
    presets: tuple[str, ...] | None = None
    step: float | None = None
    lo: float | None = None
    hi: float | None = None


LABELS: dict[str, L] = {
    # --- tracking (synthetic.config.Knobs) -----------------------------------------------------
    "coverage_web": L("Web browsers whose events reach the CDP", "%"),
    "coverage_app": L("App installs whose events reach the CDP", "%", PRODUCT_OR_APP),
    "coverage_email": L("Email opens and clicks forwarded to the CDP", "%"),
    "coverage_ads": L("Ad clicks the CDP receives", "%"),
    "coverage_store": L("Store purchases sent to the CDP", "%", OMNI),
    "coverage_sales": L("Sales meetings and deals synced to the CDP", "%", SALES_LED),
    "identified_share": L("Logged-in web visits the CDP's tag identifies (identify on login)", "%"),
    "crm_identified_share": L("Logged-in web visits the CRM's tracking script identifies (identify on login)", "%"),
    "devices_per_person": L("Browsers and devices per person", "devices", None, 0.1),
    "shared_device_rate": L("People who browse on a shared device", "%", None, 0.005),
    "second_email_rate": L("People who also use a second email address", "%"),
    "cdp_latency_minutes": L("Median delay before an event reaches the CDP", "minutes", None, 1),
    "crm_coverage_web": L("Web browsers the CRM's own tracking script records", "%"),
    "crm_tracking_latency_minutes": L("Median delay before a tracked visit or e-mail event is on the CRM contact", "minutes", None, 1),
    # --- identity (core.engine.identity.IdentityConfig) ----------------------------------------
    "max_anonymous_ids_per_profile": L("Browsers and app installs one CDP profile may hold", "ids", None, 1, 1, 50),
    "max_emails_per_profile": L("Email addresses one CDP profile may hold", "emails", None, 1, 1, 20),
    "max_user_ids_per_profile": L("User ids one CDP profile may hold (fixed at 1)", "ids", None, 1),
    "merge_on_email": L("CDP merges profiles that share an email address"),
    # --- CRM hygiene and sync (synthetic.config.Knobs) -----------------------------------------
    "crm_form_sync_minutes": L("Delay before a form fill is written to the CRM", "minutes", None, 1),
    "crm_import_days": L("Days between list imports into the CRM", "days", None, 0.5),
    "crm_order_sync_hours": L("Hours between {purchase} syncs into the CRM", "hours", None, 0.05),
    "rep_update_lag_days": L("Days before a sales rep records a stage change", "days", SALES_LED, 0.5),
    "crm_error_rate": L("CRM values that are wrong", "%"),
    "crm_missing_rate": L("CRM updates that are never recorded", "%"),
    "duplicate_rate": L("Known people a list import adds again under another address", "%"),
    "custom_field_sprawl": L("Extra custom fields the same concept is split over", "fields", None, 1),
    "crm_enrichment_days": L("Days between enrichment refreshes that catch job changes", "days", B2B, 1),
    "crm_decay_monthly": L("Contact records going stale per month (e-mail address changes)", "%", None, 0.001),
    "job_change_yearly": L("Contacts who change employer per year", "%", B2B),
    # --- activation and team speed (core.engine.activation.ActivationConfig) -------------------
    "crm_list_refresh_minutes": L("Minutes between CRM active-list refreshes", "minutes", None, 1),
    "cdp_mode": L("How the CDP computes audiences"),
    "cdp_compute_minutes": L("Minutes a real-time audience takes to update", "minutes", None, 1),
    "cdp_batch_minutes": L("Minutes between batch audience runs", "minutes", None, 1),
    "cdp_sync_minutes": L("Minutes between CDP → sending-tool syncs", "minutes", None, 1),
    "hybrid_sync_minutes": L("Minutes between CDP → CRM syncs (hybrid)", "minutes", None, 1),
    "crm_build_days": L("Days to launch a new CRM segment campaign", "days", None, 0.5),
    "cdp_build_days": L("Days to launch a new CDP audience campaign", "days", None, 0.5),
    "audience_cadence_by_rule_type": L("How often the CDP computes an audience, by what its rule uses"),
    "crm_list_refresh_by_rule_type": L("How often the CRM re-evaluates a list, by what its rule uses"),
    "cdp_initial_sync_hours": L("Hours before a new audience first reaches the sending tool", "hours", None, 1, 0, 48),
    "cdp_lookback_days": L("Days of events a CDP audience reads (0 = all history)", "days", None, 1, 0, 730),
    # --- campaign (core.measures.campaign.CampaignConfig) --------------------------------------
    "holdout_share": L("Share held out (no message) to measure lift", "%", None, 0.01, 0.01, 0.5),
    "crm_send_mode": L("How the CRM's marketing tool sends"),
    "crm_workflow_delay_minutes": L("Minutes a triggered CRM workflow waits before sending", "minutes", None, 5, 0, 2880),
    "crm_send_weekday": L("Weekday of the CRM batch send", "", None, 1, 0, 6),
    "crm_send_hour": L("Hour of the CRM batch send (UTC)", "hour", None, 1, 0, 23),
    "crm_send_every_days": L("Days between CRM batch sends", "days", None, 1, 1, 90),
    "cdp_send_mode": L("How the CDP's sending tool sends"),
    "cdp_workflow_delay_minutes": L("Minutes a triggered CDP journey waits before sending", "minutes", None, 5, 0, 2880),
    "cdp_send_weekday": L("Weekday of the CDP batch send", "", None, 1, 0, 6),
    "cdp_send_hour": L("Hour of the CDP batch send (UTC)", "hour", None, 1, 0, 23),
    "cdp_send_every_days": L("Days between CDP batch sends", "days", None, 1, 1, 90),
    "frequency_cap_days": L("At most one message of a play per contact/profile every", "days", None, 1, 0, 90),
    "unsubscribe_rate": L("Chance a message makes its recipient unsubscribe", "%", None, 0.0001, 0, 0.02),
    "subscriber_value": L("Value lost per unsubscribe (−1 = from the world)", "currency units", None, 1, -1, 100_000),
    "cost_per_send": L("Cost per message sent", "currency units", None, 0.001, 0, 10),
    "off_target_scale": L("Effect of a message on someone without an open need (× Hillstrom's)", "×", None, 0.5, 0, 5),
    "fixed_cost": L("Fixed cost of running the campaign", "currency units", None, 100, 0, 1_000_000),
    "seed": L("Random seed of the holdout and outcome draws", "", None, 1),
    # --- customer behaviour (synthetic.config.Behaviour) ---------------------------------------
    "base_sessions_per_week": L("Visits per week outside a buying phase", "visits/week", None, 0.05),
    "in_market_sessions_per_day": L("Extra visits per day while in market", "visits/day", None, 0.1),
    "episodes_per_year": L("Buying phases started per year", "per year", None, 0.5),
    "episode_days": L("Typical length of a buying phase", "days", None, 0.5),
    "pages_per_session": L("Pages viewed per visit", "pages", None, 0.1),
    "lifetime_days": L("Days before a customer lapses (churn)", "days", None, 1),
    "login_share": L("Web visits of customers with a login in which they are logged in", "%"),
    "prospect_login_share": L("Web visits of known prospects, before a trial or deal, that are logged in", "%", B2B),
    "p_cart": L("Chance an in-market session adds to cart", "%", B2C, 0.005),
    "p_checkout": L("Chance a cart is taken to checkout", "%", B2C),
    "p_purchase": L("Chance a started checkout is completed", "%", B2C),
    "order_value": L("Median {purchase} value", "currency units", None, 1),
    "email_sends_per_week": L("Marketing emails per contact per week", "emails/week", None, 0.5),
    "email_open_rate": L("Emails opened", "%", None, 0.001),
    "email_click_rate": L("Emails clicked", "%", None, 0.001),
    "ad_click_share": L("Visits that start from a paid ad click", "%"),
    "p_form": L("Chance an in-market visit fills in a form", "%", B2B, 0.005),
    "p_demo": L("Chance an in-market visit requests a demo", "%", B2B, 0.005),
    "p_webinar": L("Chance a buying phase includes a webinar", "%", B2B),
    "lead_to_mql": L("Leads that become marketing-qualified (lead → MQL)", "%", SALES_LED),
    "mql_to_sql": L("MQLs that sales accepts (MQL → SQL)", "%", SALES_LED),
    "sql_to_opp": L("SQLs that become opportunities", "%", SALES_LED),
    "opp_to_won": L("Opportunities won", "%", SALES_LED),
    "sales_cycle_days": L("Days from opportunity to close", "days", SALES_LED, 1),
    "committee_size": L("Contacts in an account's buying committee", "people", B2B, 0.5),
    "p_signup": L("Chance an in-market visit signs up for a trial", "%", PLG, 0.001),
    "trial_to_paid": L("Trials that upgrade to paid", "%", PLG),
    "feature_events_per_day": L("Feature uses per active trial day", "events/day", PLG, 0.5),
    "store_visits_per_month": L("Store visits per person per month", "visits/month", OMNI, 0.1),
    "loyalty_share": L("Store shoppers who scan a loyalty card", "%", OMNI),
    "app_share": L("People with the mobile app installed", "%", OMNI),
    "growth_rate_monthly": L("Growth of the active customer base per month (0 = steady)", "%", None, 0.01),
}

#: Knobs the generator would use outside their presets but that belong to another kind of business:
#: moving them turns the preset into a different one, so the page offers them only where they belong.
HIDDEN_ON_PURPOSE: dict[str, str] = {
    "store_visits_per_month": "stores are what the omnichannel preset adds to an online shop; pick omnichannel",
    "loyalty_share": "loyalty cards scanned at the till belong to stores; pick omnichannel",
    "app_share": "the mobile app is part of the omnichannel preset; b2c-retail models a web shop",
    "p_signup": "self-serve sign-ups are the product-led motion; pick plg-saas",
}

#: Choice knobs: what each stored value reads as.
CHOICES: dict[str, dict[Any, str]] = {
    "cdp_mode": {"realtime": "Real time (on every event)", "batch": "In scheduled batches"},
    "crm_send_weekday": dict(enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))),
    "cdp_send_weekday": dict(enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))),
    "crm_send_mode": {"triggered": "Triggered on list entry (workflow)", "batch": "In scheduled batches"},
    "cdp_send_mode": {"triggered": "Triggered on audience entry (journey)", "batch": "In scheduled batches"},
    "audience_cadence_by_rule_type": map_choices("audience_cadence_by_rule_type"),
    "crm_list_refresh_by_rule_type": map_choices("crm_list_refresh_by_rule_type"),
}

#: What a model calls the thing people buy: B2B teams win deals, B2C shops take purchases.
WORDS: dict[str, dict[str, str]] = {
    "b2b": {"purchase": "deal", "purchases": "deals", "Purchases": "Deals won", "revenue": "deal value"},
    "b2c": {"purchase": "order", "purchases": "purchases", "Purchases": "Purchases", "revenue": "revenue"},
}


#: What a B2B play's money is (issue 23 item 4): extra demo requests valued at what the world's
#: funnel realises from a demo — expected pipeline, not deals won.
PIPELINE_ROW = "True expected pipeline value (extra demo requests)"


def money_row(outcome_event: str) -> str:
    """The row name of a play's true incremental money: revenue, or B2B expected pipeline value."""
    return PIPELINE_ROW if outcome_event == "demo_requested" else "True incremental revenue"


def pipeline_text(value: str, demos: float) -> str:
    """"12,300 (4.2 extra demo requests)": the pipeline value with the demo count beside it."""
    return f"{value} ({demos:,.1f} extra demo requests)"


def words(model: str) -> dict[str, str]:
    """The vocabulary of a business model ('b2b' or 'b2c')."""
    return WORDS["b2b" if model == "b2b" else "b2c"]


def _model(preset: str | None) -> str:
    return "b2b" if preset in B2B else "b2c"


def label(name: str, preset: str | None = None, with_unit: bool = True) -> str:
    """The on-screen label of a knob: "Days to launch a new CDP audience campaign (days)".

    Percentages carry no unit in the text: the widget itself shows "%". Unknown names fall back to
    the field name in words, so a knob added without a line still reads (and the test fails)."""
    entry = LABELS.get(name)
    if entry is None:
        return name.replace("_", " ").capitalize()
    text = entry.text.format(**words(_model(preset)))
    if with_unit and entry.unit and entry.unit != "%":
        text += f" ({entry.unit})"
    return text


def unit(name: str) -> str:
    entry = LABELS.get(name)
    return entry.unit if entry else ""


def applies(name: str, preset: str) -> bool:
    """Whether a knob means something on this preset (the page shows only these)."""
    entry = LABELS.get(name)
    return entry is None or entry.presets is None or preset in entry.presets


def step(name: str, lo: float | None = None, hi: float | None = None, kind: str = "float") -> float:
    """The slider step of a knob: its own, else 1 percentage point for shares, 1 for counts."""
    entry = LABELS.get(name)
    if entry is not None and entry.step is not None:
        return entry.step
    if kind == "int":
        return 1
    if entry is not None and entry.unit == "%":
        return 0.01
    span = (hi - lo) if lo is not None and hi is not None else 100.0
    return 10 ** math.floor(math.log10(span / 100)) if span > 0 else 1.0


def decimals(step_: float) -> int:
    """Decimal places a step needs (0.005 → 3, 0.5 → 1, 1 → 0)."""
    text = f"{step_:.10f}".rstrip("0").rstrip(".")
    return len(text.split(".")[1]) if "." in text else 0


def snap(name: str, value: Any, lo: float | None = None, hi: float | None = None, kind: str = "float") -> Any:
    """``value`` on the knob's step grid (within lo..hi), without float noise: 0.4902 → 0.49.

    Booleans and choices are returned unchanged; whole-number knobs stay ints."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    s = step(name, lo, hi, kind)
    snapped = round(round(value / s) * s, decimals(s))
    if lo is not None:
        snapped = max(snapped, lo)
    if hi is not None:
        snapped = min(snapped, hi)
    if kind == "int":
        return int(round(snapped))
    return float(snapped)


def missing(names: Mapping[str, Any] | list[str]) -> list[str]:
    """The names in ``names`` that have no label line (for tests and a page's self-check)."""
    return sorted(n for n in names if n not in LABELS)
