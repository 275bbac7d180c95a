"""Business presets: what a practitioner in each business would recognise as normal.

Every rate carries its source. Where a source gives a range we take a value inside it; tests in
``tests/test_realism.py`` check the generated worlds land inside the documented ranges.

Sources (abbreviations used below):
- [BAY] Baymard Institute, "Cart Abandonment Rate Statistics" (2024): documented average online
  cart abandonment 70.19% (range of 49 studies ~55–85%).
- [IRP] IRP Commerce / Littledata e-commerce benchmarks: session add-to-cart rate ~6–10%,
  session conversion ~2–3%.
- [MC] Mailchimp "Email Marketing Benchmarks" (all industries: open 21.3%, click 2.6%;
  e-commerce: open ~29.8%, click ~1.7%; software/SaaS: open ~21.3%, click ~2.5%).
- [FPS] First Page Sage, "B2B SaaS Funnel Conversion Benchmarks" (2024): lead→MQL ~39%,
  MQL→SQL ~38%, SQL→opportunity ~42%, opportunity→close ~37%.
- [OLI] Olist marketing funnel (../shared/data/olist_marketing_funnel): MQL→closed deal 10.5%
  over ~12 months; [MAV] Maven CRM pipeline: 63% of closed opportunities won, median engage→close
  ~ 45 days.
- [GAR] Gartner, "The B2B Buying Journey": 6–10 decision makers in a typical buying group.
- [EBS] Ebsta / Pavilion B2B Sales Benchmarks: average B2B SaaS sales cycle ~ 2–4 months.
- [OV]  OpenView Product Benchmarks (PLG): free-trial → paid 15–25% (opt-in trial),
  visitor → sign-up 2–5%.
- [ON24] ON24 Webinar Benchmarks: ~ 40–55% of registrants attend.
- [CRT] Criteo / Google cross-device studies: shoppers use 2–3 devices on the path to purchase.
- [SEG] Segment / Twilio "State of Personalization" and retailer reports: 10–30% of e-commerce
  sessions are logged in; most browsing is anonymous until login or checkout.
- [CDN] CDNOW purchase log (../shared/data/cdnow): most first-time buyers never return; repeat
  buyers return within ~ 2–4 months.
- [SAL] Salesforce Shopping Index / Dynamic Yield benchmarks: e-commerce AOV ~ $100–150.
- [HST] HubSpot tracks page views with a first-party JavaScript tracking code and cookie
  (knowledge.hubspot.com/account/how-does-hubspot-track-visitors); "an adblocker ... prevents HubSpot
  from tracking page views" (knowledge.hubspot.com, "Analyzing sessions, visitors, and page views").
  The CDP's tag is the same kind of tracker, so both lose the same browsers: crm_coverage_web
  defaults to the preset's coverage_web.
- [LOG] Logins (issue 19): who *can* log in is the business, not an ops level. A shop account
  exists from registration (guests never); a product-led trial from the sign-up; a sales-led
  B2B buyer gets a product login with the won deal — before a demo or trial a prospect has none
  (assumed: vendors' marketing sites gate nothing but the product; ``prospect_login_share`` 2 %
  stands for community/resources portals, assumed, no published figure). Customers' logged-in
  share of web visits: b2b-saas 45 % and plg-saas 80 % assumed (paying users reach the site from
  the product), B2C from [SEG]. Whether each system *identifies* a login is an ops knob on each
  side (``identified_share`` for the CDP, ``crm_identified_share`` for the CRM's tracking script).
- [DEC] Contact data decay 2.1 %/month (22.5 %/year): HubSpot's database-decay figure from
  MarketingSherpa research (vendor-published survey figure, widely repeated; no study design
  published). Job changes: BLS "Employee Tenure in 2024" (median tenure 3.9 years → ~16 %/year)
  and vendor claims of 27–33 %/year; default 20 %. Details in docs/world.md.

Defaults in synthetic/config.py that are not overridden here carry their source there or in
docs/world.md (growth 0 = steady state; CRM tracking latency and enrichment cadence: assumed).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from synthetic.config import Behaviour, Knobs, WorldConfig, apply_overrides


@dataclass(frozen=True)
class Preset:
    """A named business with its model, its description and its knob/behaviour defaults."""

    name: str
    model: str  # 'b2b' | 'b2c'
    title: str
    description: str
    knobs: Mapping[str, Any]
    behaviour: Mapping[str, Any]


PRESETS: dict[str, Preset] = {
    "b2b-saas": Preset(
        name="b2b-saas",
        model="b2b",
        title="Sales-led B2B SaaS",
        description="Accounts with buying committees; leads become MQLs, SQLs, opportunities and customers over weeks to months.",
        knobs={
            "coverage_web": 0.80,           # B2B audiences block trackers less than consumers; ~15–25% loss
            "crm_coverage_web": 0.80,       # same first-party JS tracking, same blockers as the CDP ([HST])
            "devices_per_person": 1.6,      # work laptop + phone
            "shared_device_rate": 0.01,
            "rep_update_lag_days": 4.0,     # reps update stages in weekly pipeline reviews
        },
        behaviour={
            "base_sessions_per_week": 0.25,
            "in_market_sessions_per_day": 0.6,
            "episodes_per_year": 1.5,       # accounts research a purchase once or twice a year
            "episode_days": 30.0,           # [EBS] evaluation phases of weeks
            "pages_per_session": 3.5,
            "lifetime_days": 1200.0,
            "p_cart": 0.0,
            "order_value": 18_000.0,        # mid-market ACV
            "email_sends_per_week": 1.0,
            "email_open_rate": 0.213,       # [MC] software/SaaS
            "email_click_rate": 0.025,      # [MC]
            "ad_click_share": 0.10,
            "p_form": 0.08,
            "p_demo": 0.03,
            "p_webinar": 0.20,              # [ON24] of in-market episodes with a registration, ~half attend
            "lead_to_mql": 0.39,            # [FPS]
            "mql_to_sql": 0.38,             # [FPS]
            "sql_to_opp": 0.42,             # [FPS]
            "opp_to_won": 0.37,             # [FPS]; [MAV] shows 63% of *closed* deals won
            "sales_cycle_days": 60.0,       # [EBS] opportunity→close; lead→close ~ 3 months
            "committee_size": 4.0,          # [GAR] buying groups of 6–10 at large firms; smaller at SMB
            # [LOG] a sales-led prospect has no product login before the deal; customers' visits
            "login_share": 0.45,
            "prospect_login_share": 0.02,
        },
    ),
    "plg-saas": Preset(
        name="plg-saas",
        model="b2b",
        title="Product-led SaaS",
        description="Anonymous visits, sign-up, a 14-day trial, feature usage and upgrade; most signal is in the product.",
        knobs={
            "coverage_web": 0.75,           # developer audiences run ad blockers more often
            "crm_coverage_web": 0.75,       # [HST]
            "coverage_app": 0.97,           # server-side product events
            "devices_per_person": 1.8,
            "shared_device_rate": 0.01,
            "rep_update_lag_days": 5.0,
        },
        behaviour={
            "base_sessions_per_week": 0.3,
            "in_market_sessions_per_day": 0.9,
            "episodes_per_year": 2.0,
            "episode_days": 14.0,           # trial length
            "pages_per_session": 3.0,
            "lifetime_days": 400.0,
            "p_cart": 0.0,
            "order_value": 1_200.0,         # self-serve annual plan
            "email_open_rate": 0.213,       # [MC]
            "email_click_rate": 0.025,      # [MC]
            "p_form": 0.02,
            "p_demo": 0.01,
            "p_webinar": 0.05,
            "p_signup": 0.009,              # per in-market session → ~4% of visitors sign up in 90 days ([OV] 2–5%)
            "trial_to_paid": 0.18,          # [OV] opt-in trial 15–25%
            "feature_events_per_day": 3.0,
            "committee_size": 2.0,
            "login_share": 0.80,            # [LOG] trial and paying users: product usage is logged in
            "prospect_login_share": 0.02,   # [LOG] before the sign-up
        },
    ),
    "b2c-retail": Preset(
        name="b2c-retail",
        model="b2c",
        title="B2C e-commerce",
        description="Sessions, product and category views, carts, checkouts and repeat purchases across several devices; mostly anonymous until login or checkout.",
        knobs={
            "coverage_web": 0.85,           # ~15% of browsers block or refuse tracking
            "crm_coverage_web": 0.85,       # [HST]
            "devices_per_person": 2.3,      # [CRT]
            "shared_device_rate": 0.04,     # household tablets and laptops
        },
        behaviour={
            "base_sessions_per_week": 0.45,  # a typical shopper visits a store's site ~2x a month
            "in_market_sessions_per_day": 1.1,
            "episodes_per_year": 5.0,       # [CDN] repeat buyers return every 2–4 months
            "episode_days": 5.0,
            "pages_per_session": 4.0,       # e-commerce pages/session ~4–5 (Contentsquare benchmarks)
            "lifetime_days": 200.0,         # [CDN] most buyers lapse within months
            "p_cart": 0.14,                 # in-market sessions; all-session add-to-cart lands ~6–10% [IRP]
            "p_checkout": 0.45,             # [BAY] cart→checkout
            "p_purchase": 0.65,             # [BAY] checkout completion → ~70% cart abandonment
            "order_value": 85.0,            # [SAL] median; lognormal mean ~ $100
            "email_sends_per_week": 2.0,
            "email_open_rate": 0.298,       # [MC] e-commerce
            "email_click_rate": 0.017,      # [MC] e-commerce
            "ad_click_share": 0.20,
            "login_share": 0.25,            # [SEG] 10–30% of sessions logged in
        },
    ),
    "omnichannel": Preset(
        name="omnichannel",
        model="b2c",
        title="Omnichannel retail",
        description="Web, app, email, ads and stores; store purchases are known only through a loyalty id scanned at the till.",
        knobs={
            "coverage_web": 0.85,
            "crm_coverage_web": 0.85,       # [HST]
            "coverage_app": 0.95,
            "coverage_store": 0.90,
            "devices_per_person": 2.3,      # [CRT]
            "shared_device_rate": 0.04,
        },
        behaviour={
            "base_sessions_per_week": 0.35,
            "in_market_sessions_per_day": 0.9,
            "episodes_per_year": 6.0,
            "episode_days": 6.0,
            "pages_per_session": 4.0,
            "lifetime_days": 300.0,
            "p_cart": 0.12,                 # [IRP]
            "p_checkout": 0.45,             # [BAY]
            "p_purchase": 0.65,             # [BAY]
            "order_value": 70.0,
            "email_sends_per_week": 2.0,
            "email_open_rate": 0.298,       # [MC]
            "email_click_rate": 0.017,      # [MC]
            "ad_click_share": 0.18,
            "store_visits_per_month": 1.2,  # grocery/fashion: roughly monthly store trips outside market episodes
            "loyalty_share": 0.55,          # loyalty scan rates of ~50–70% are typical for large retailers
            "app_share": 0.35,
            "login_share": 0.30,            # [SEG] upper half: app and loyalty members log in more
        },
    ),
}


def preset_config(name: str, seed: int = 7, people: int = 20_000, days: int = 90,
                  overrides: Mapping[str, Any] | None = None) -> WorldConfig:
    """The config of a preset, with optional ``--set`` style overrides applied and validated."""
    from synthetic.config import validate

    if name not in PRESETS:
        from synthetic.errors import ConfigError

        raise ConfigError(f"unknown preset {name!r}; accepted: {', '.join(PRESETS)}")
    preset = PRESETS[name]
    base = WorldConfig(preset=name, seed=seed, people=people, days=days,
                       knobs=replace(Knobs(), **preset.knobs),
                       behaviour=replace(Behaviour(), **preset.behaviour))
    config = apply_overrides(base, dict(overrides or {}))
    return validate(config)
