"""Frozen configuration of one world: preset, seed, size and every knob that shapes it.

Knobs are dataclass fields whose metadata holds the accepted range and a sentence saying what
the knob models, so the CLI (`--set key=value`), the dashboard sliders and the docs all read the
same source. The defaults here are neutral; each preset in :mod:`synthetic.presets` overrides
them with values that have a cited source.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping

import pandas as pd

from synthetic.errors import ConfigError

MONTH_DAYS = 365.25 / 12
#: Largest world a config may ask for: issue 22's 10M-person world, streamed to Parquet part by part
#: (`generate --out`); only a folder engine (DuckDB out of core, Spark) can read one that size.
MAX_PEOPLE = 10_000_000
GENERATOR_VERSION = "3.1.0"  # 3: one random stream per subsystem, logins apart from identify (issue 19); 3.1: orders reach the CRM every 10 minutes by default (a shop connector), not nightly


def knob(default: Any, lo: float | None, hi: float | None, help: str, group: str) -> Any:
    """A dataclass field that carries its accepted range, its meaning and its dashboard group."""
    return field(default=default, metadata={"range": (lo, hi), "help": help, "group": group})


@dataclass(frozen=True)
class Knobs:
    """Operational knobs: how well the company is instrumented and how its CRM is run."""

    # --- tracking and identity -------------------------------------------------------------
    coverage_web: float = knob(0.85, 0, 1, "Share of web browsers whose events reach the CDP (ad blockers, consent refusals, ITP).", "tracking")
    coverage_app: float = knob(0.95, 0, 1, "Share of app installs whose events reach the CDP (SDK present and consented).", "tracking")
    coverage_email: float = knob(0.98, 0, 1, "Share of email engagement events the ESP forwards to the CDP.", "tracking")
    coverage_ads: float = knob(0.70, 0, 1, "Share of ad clicks the CDP receives (click ids kept, pixels not blocked).", "tracking")
    coverage_store: float = knob(0.90, 0, 1, "Share of store (POS) transactions sent to the CDP.", "tracking")
    coverage_sales: float = knob(0.60, 0, 1, "Share of sales activities (meetings, deals) the CDP receives from the CRM connector.", "tracking")
    # identify-on-login, the same tool on both sides (issue 19): assumed 0.8 by default — identify
    # wired into the login and page templates, missing some (single-page routes, subdomains); no
    # published share exists. HubSpot documents the CRM side (_hsq.push(["identify", {email}]),
    # developers.hubspot.com/docs/api-reference/latest/account/settings/tracking-code/identify).
    identified_share: float = knob(0.8, 0, 1, "Share of logged-in web sessions in which the CDP's tag identifies the visitor with the user id (identify on login); app sessions always carry it.", "tracking")
    crm_identified_share: float = knob(0.8, 0, 1, "Share of logged-in web sessions in which the marketing CRM's tracking script identifies the visitor by the account's e-mail (HubSpot's identify call), tying the browser to the contact; same per-session draw as the CDP's identify.", "tracking")
    devices_per_person: float = knob(2.0, 1, 6, "Mean number of browsers/devices a person uses (each has its own anonymous id).", "tracking")
    shared_device_rate: float = knob(0.03, 0, 0.5, "Share of people who browse on a device that another person also uses (household tablet, office PC).", "tracking")
    second_email_rate: float = knob(0.15, 0, 1, "Share of people who sometimes give a second email address (work vs personal).", "tracking")
    cdp_latency_minutes: float = knob(2.0, 0, 10080, "Median delay between an event and its arrival in the CDP, in minutes.", "tracking")
    crm_coverage_web: float = knob(0.85, 0, 1, "Share of web browsers whose page views and form fills the marketing CRM's own tracking script records (HubSpot tracking code, Account Engagement tracker); same per-browser blocker/consent draw as coverage_web, so a browser that blocks one first-party tracker blocks both.", "tracking")
    crm_tracking_latency_minutes: float = knob(5.0, 0, 10080, "Median delay before a page view, form fill or e-mail open/click tracked by the CRM is on the contact, in minutes.", "tracking")
    # --- CRM hygiene and sync --------------------------------------------------------------
    crm_form_sync_minutes: float = knob(5.0, 0, 10080, "Mean delay before a form submission or automatic score change is written to the CRM, in minutes.", "crm")
    crm_import_days: float = knob(7.0, 0.5, 90, "Days between list imports (webinar attendees, events, purchased lists).", "crm")
    # as the common shop→CRM connectors document it (issue 19 item 7), not a nightly batch: HubSpot's
    # Shopify data sync — "after the initial sync, records sync within 10 minutes of a change"
    # (knowledge.hubspot.com/integrations/connect-hubspot-and-shopify-via-data-sync, read via its
    # Portuguese page knowledge.hubspot.com/pt/integrations/connect-hubspot-and-shopify-via-data-sync);
    # Klaviyo's Shopify integration: "once this historical sync is complete, new data will sync to
    # Klaviyo in real time" (help.klaviyo.com/hc/en-us/articles/115005080447); Dotdigital's Salesforce
    # Commerce Cloud connector: "new and modified orders sync every five minutes"
    # (support.dotdigital.com/en/articles/8199701). Default = HubSpot's bound, a sync every 10 minutes;
    # a CRM fed by nightly imports (no connector: stacks.py sales-crm-nightly-import, ops poorly-run)
    # stays at 24 h. Read 2026-12-04.
    crm_order_sync_hours: float = knob(10 / 60, 0.05, 720, "Hours between order syncs from the shop/billing system into the CRM (a shop connector: 10 minutes; nightly imports = 24).", "crm")
    rep_update_lag_days: float = knob(3.0, 0, 60, "Mean days before a sales rep records a stage change they already know about.", "crm")
    crm_error_rate: float = knob(0.05, 0, 0.5, "Share of recorded CRM values that are wrong (typos, stale enrichment, wrong picklist value).", "crm")
    crm_missing_rate: float = knob(0.10, 0, 0.9, "Share of CRM updates that are never recorded at all.", "crm")
    duplicate_rate: float = knob(0.08, 0, 0.5, "Share of known people a list import brings in again under another e-mail address, creating a second contact (the CRM matches on e-mail only).", "crm")
    crm_enrichment_days: float = knob(90.0, 1, 3650, "Days between enrichment refreshes that bring a contact's changed company, industry and size into the CRM (job changes go unrecorded until then).", "crm")
    custom_field_sprawl: int = knob(1, 0, 6, "Number of extra custom fields the same concept is split over (e.g. 'Lifecycle Stage (old)').", "crm")


@dataclass(frozen=True)
class Behaviour:
    """How customers behave. Preset defaults carry their sources in synthetic/presets.py."""

    base_sessions_per_week: float = knob(0.8, 0, 50, "Sessions per week of a person who is not in market.", "behaviour")
    in_market_sessions_per_day: float = knob(1.2, 0, 50, "Extra sessions per day while in market, at full intent strength.", "behaviour")
    # up to daily: a wholesale or subscription buyer orders several times a week (issue 21's line-item
    # log: purchases per buyer per week beyond what 52 a year can reach)
    episodes_per_year: float = knob(4.0, 0, 365, "In-market episodes a person (or account) starts per year.", "behaviour")
    episode_days: float = knob(6.0, 0.5, 365, "Median length of an in-market episode, in days.", "behaviour")
    pages_per_session: float = knob(4.0, 1, 30, "Mean page views per session.", "behaviour")
    lifetime_days: float = knob(240.0, 7, 3650, "Mean days before a customer lapses and stops visiting (churn).", "behaviour")
    p_cart: float = knob(0.10, 0, 1, "Chance an in-market session adds to cart.", "behaviour")
    p_checkout: float = knob(0.45, 0, 1, "Chance a cart is taken to checkout.", "behaviour")
    p_purchase: float = knob(0.65, 0, 1, "Chance a started checkout is completed.", "behaviour")
    order_value: float = knob(85.0, 1, 1e7, "Median order (or deal) value in currency units.", "behaviour")
    email_sends_per_week: float = knob(1.0, 0, 14, "Marketing emails sent per week to each known contact.", "behaviour")
    email_open_rate: float = knob(0.25, 0, 1, "Share of sent emails opened.", "behaviour")
    email_click_rate: float = knob(0.02, 0, 1, "Share of sent emails clicked.", "behaviour")
    ad_click_share: float = knob(0.15, 0, 1, "Share of sessions that start from a paid ad click.", "behaviour")
    p_form: float = knob(0.06, 0, 1, "Chance an in-market session submits a form (content download, contact).", "behaviour")
    p_demo: float = knob(0.02, 0, 1, "Chance an in-market session requests a demo.", "behaviour")
    p_webinar: float = knob(0.15, 0, 1, "Chance an in-market episode includes attending a webinar.", "behaviour")
    lead_to_mql: float = knob(0.39, 0, 1, "Share of leads that become marketing-qualified.", "behaviour")
    mql_to_sql: float = knob(0.38, 0, 1, "Share of MQLs that sales accepts (SQL).", "behaviour")
    sql_to_opp: float = knob(0.42, 0, 1, "Share of SQLs that become opportunities.", "behaviour")
    opp_to_won: float = knob(0.37, 0, 1, "Share of opportunities closed won.", "behaviour")
    sales_cycle_days: float = knob(60.0, 1, 730, "Mean days from opportunity to close.", "behaviour")
    committee_size: float = knob(4.0, 1, 10, "Mean contacts per account in the buying committee (1 to 10).", "behaviour")
    p_signup: float = knob(0.0, 0, 1, "Chance an in-market visit signs up (product-led presets).", "behaviour")
    trial_to_paid: float = knob(0.0, 0, 1, "Share of trials that upgrade to paid (product-led presets).", "behaviour")
    feature_events_per_day: float = knob(0.0, 0, 100, "Feature-usage events per active trial day (product-led presets).", "behaviour")
    store_visits_per_month: float = knob(0.0, 0, 60, "Store visits per month (omnichannel).", "behaviour")
    loyalty_share: float = knob(0.0, 0, 1, "Share of store customers who scan a loyalty id at the till (omnichannel).", "behaviour")
    login_share: float = knob(0.30, 0, 1, "Share of web sessions in which a person who has a product login (shop account, trial, paying customer) is logged in.", "behaviour")
    prospect_login_share: float = knob(0.0, 0, 1, "Share of web sessions in which a known prospect without a product login yet (before the trial or the won deal) is logged in to something the site tracks (a community or resources portal).", "behaviour")
    app_share: float = knob(0.0, 0, 1, "Share of people with the mobile app installed.", "behaviour")
    growth_rate_monthly: float = knob(0.0, -0.5, 1.0, "Monthly growth of the active customer base (0 = steady state: new customers replace those who lapse; negative = decline, at most as fast as customers lapse when nobody new arrives).", "behaviour")
    crm_decay_monthly: float = knob(0.021, 0, 0.3, "Monthly chance that a person's e-mail address changes (old address abandoned, bounces); the CRM keeps the old one.", "crm")
    job_change_yearly: float = knob(0.20, 0, 0.9, "Yearly chance that a B2B contact changes employer: company, industry and size change, the work e-mail dies and they leave the buying committee.", "crm")


@dataclass(frozen=True)
class WorldConfig:
    """Everything that determines a world. Same config, same seed: byte-identical tables."""

    preset: str = "b2c-retail"
    seed: int = 7
    people: int = 20_000
    days: int = 90
    start: str = "2026-08-31T00:00:00+00:00"
    knobs: Knobs = field(default_factory=Knobs)
    behaviour: Behaviour = field(default_factory=Behaviour)

    @property
    def start_ts(self) -> pd.Timestamp:
        return pd.Timestamp(self.start).tz_convert("UTC") if pd.Timestamp(self.start).tzinfo else pd.Timestamp(self.start, tz="UTC")

    @property
    def end_ts(self) -> pd.Timestamp:
        return self.start_ts + pd.Timedelta(days=self.days)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def knob_specs() -> dict[str, dataclasses.Field]:
    """Every settable knob by name, across :class:`Knobs` and :class:`Behaviour`."""
    specs: dict[str, dataclasses.Field] = {}
    for cls in (Knobs, Behaviour):
        for f in fields(cls):
            specs[f.name] = f
    return specs


def _coerce(name: str, spec: dataclasses.Field, raw: Any) -> Any:
    lo, hi = spec.metadata["range"]
    kind = int if spec.type in (int, "int") else float
    try:
        value = kind(raw) if not isinstance(raw, bool) else None
        if value is None:
            raise ValueError
        if kind is int and isinstance(raw, str) and not raw.strip().lstrip("-").isdigit():
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a {'whole number' if kind is int else 'number'} between {lo} and {hi} (got {raw!r})") from None
    if value != value or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"{name} must be between {lo} and {hi} (got {raw})")
    return value


def apply_overrides(config: WorldConfig, overrides: Mapping[str, Any]) -> WorldConfig:
    """Return ``config`` with knob/behaviour values replaced, each checked against its range."""
    specs = knob_specs()
    knob_names = {f.name for f in fields(Knobs)}
    k_changes: dict[str, Any] = {}
    b_changes: dict[str, Any] = {}
    for name, raw in overrides.items():
        if name not in specs:
            raise ConfigError(f"unknown setting {name!r}; accepted: {', '.join(sorted(specs))}")
        value = _coerce(name, specs[name], raw)
        (k_changes if name in knob_names else b_changes)[name] = value
    return replace(config, knobs=replace(config.knobs, **k_changes), behaviour=replace(config.behaviour, **b_changes))


def validate(config: WorldConfig) -> WorldConfig:
    """Check size, dates and every knob; raise :class:`ConfigError` naming the first problem."""
    from synthetic.presets import PRESETS

    if config.preset not in PRESETS:
        raise ConfigError(f"unknown preset {config.preset!r}; accepted: {', '.join(PRESETS)}")
    if isinstance(config.people, bool) or not isinstance(config.people, int) or not 1 <= config.people <= MAX_PEOPLE:
        raise ConfigError(f"people must be a whole number from 1 to {MAX_PEOPLE} (got {config.people!r})")
    if isinstance(config.days, bool) or not isinstance(config.days, int) or not 7 <= config.days <= 730:
        raise ConfigError(f"days must be a whole number from 7 to 730 (got {config.days!r})")
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or not 0 <= config.seed < 2**32:
        raise ConfigError(f"seed must be a whole number from 0 to 4294967295 (got {config.seed!r})")
    try:
        config.start_ts
    except (ValueError, TypeError):
        raise ConfigError(f"start must be an ISO date such as 2026-08-31 (got {config.start!r})") from None
    for part in (config.knobs, config.behaviour):
        for f in fields(part):
            _coerce(f.name, f, getattr(part, f.name))
    floor = min_growth_monthly(config)
    if config.behaviour.growth_rate_monthly < floor - 1e-12:
        raise ConfigError(f"growth_rate_monthly must be at least {floor:.4f} for this world (got {config.behaviour.growth_rate_monthly}): "
                          f"with customers leaving after {exit_days(config):.0f} days on average, the base shrinks at most that fast, "
                          "when nobody new arrives")
    return config


def exit_days(config: WorldConfig) -> float:
    """Mean days a customer stays active: lapse (``lifetime_days``) and, in B2B, a job change compete."""
    from synthetic.presets import PRESETS

    rate = 1.0 / config.behaviour.lifetime_days
    if PRESETS[config.preset].model == "b2b" and config.behaviour.job_change_yearly > 0:
        rate += -math.log(1.0 - config.behaviour.job_change_yearly) / 365.25
    return 1.0 / rate


def min_growth_monthly(config: WorldConfig) -> float:
    """The steepest monthly decline a world can show: nobody new arrives and the base lapses."""
    return math.exp(-MONTH_DAYS / exit_days(config)) - 1.0
