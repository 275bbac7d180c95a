"""The play library: a marketing goal with its truth definition, best CRM segment and best CDP audience.

Each play's *truth* rule runs on ground truth (all events, true identity, no latency); the CRM
segment can use only what a CRM records (fields, lagging); the CDP audience uses the event stream
as the CDP received and stitched it. Where the CRM cannot see the behaviour at all (carts,
product usage), its segment is the proxy a CRM team would really use — that gap is the point.

Response parameters (used by :mod:`core.measures.campaign`) carry their sources:
- Cart recovery: Klaviyo and Omnisend report abandoned-cart flows converting ~3–10% of
  recipients, with the first email inside an hour converting best; SaleCycle finds most recovered
  carts come back within 24 h → uplift 8 pp at full intent, half-life 12 h.
- Speed to lead: Oldroyd, McElheran & Elkington (HBR, 2011): firms that contacted leads within an
  hour were ~7x more likely to qualify them than those that waited even one hour longer; response
  odds keep falling over the first day → half-life 24 h for pricing-page intent.
- Win-back: lapsed-buyer campaigns see low single-digit reactivation (Mailchimp/Klaviyo
  benchmarks ~2–3%) and are not time-critical → 3 pp, half-life 14 days.
- Trial rescue and webinar follow-up: SaaS onboarding benchmarks (OpenView, ON24) put follow-up
  effects at a few points, fading over days → 5–6 pp, half-life 2–3 days.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from core.errors import UserError
from core.engine.rules import Rule, parse_rule
from synthetic.presets import PRESETS

B2C = ("b2c-retail", "omnichannel")
B2B = ("b2b-saas", "plg-saas")


@dataclass(frozen=True)
class Response:
    """How people respond to a message of this play (see module docstring for sources)."""

    base_rate: float            # chance to convert in the follow-up window without a message, not in market
    intent_rate: float          # extra organic conversion at full intent strength
    max_uplift: float           # extra conversion a perfectly timed message adds at full intent
    half_life_hours: float      # the message's effect halves for every this many hours after qualifying
    off_target_relevance: float = 0.15  # effect on someone who does not truly qualify, relative to a qualifier
    follow_up_days: float = 7.0  # conversion window after the send


@dataclass(frozen=True)
class Play:
    name: str
    title: str
    goal: str
    presets: tuple[str, ...]
    crm: Mapping[str, Any]
    cdp: Mapping[str, Any]
    action_window_hours: float
    response: Response
    why_crm: str = ""
    why_cdp: str = ""
    truth: Mapping[str, Any] | None = None
    """The truth definition; None when it is the CDP audience's rule run on ground truth (the usual
    case: the CDP's rule is right, only its data is partial and late)."""

    def truth_rule(self) -> Mapping[str, Any]:
        if self.truth is not None:
            return self.truth
        return {**self.cdp, "name": f"{self.cdp['name']} (truth)"}

    def rule(self, model: str) -> Rule:
        """The parsed rule for 'truth', 'crm', 'cdp' or 'hybrid' (hybrid runs the CDP audience)."""
        rules = {"truth": self.truth_rule, "crm": lambda: self.crm, "cdp": lambda: self.cdp, "hybrid": lambda: self.cdp}
        if model not in rules:
            raise UserError(f"unknown model {model!r}; accepted: truth, crm, cdp, hybrid")
        return parse_rule(copy.deepcopy(dict(rules[model]())))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "goal": self.goal, "presets": list(self.presets),
                "action_window_hours": self.action_window_hours,
                "truth": dict(self.truth_rule()), "crm": dict(self.crm), "cdp": dict(self.cdp)}


def _browse_intent(page: str, views: int, block_event: str, title: str) -> dict:
    """Viewed ``page`` at least ``views`` times in 48 h and did not do ``block_event`` in 48 h."""
    return {"name": title, "all": [
        {"event": "page_view", "where": {"page": page}, "count": {"gte": views}, "within": "48h"},
        {"not": {"event": block_event, "within": "48h"}}]}


PLAYS: dict[str, Play] = {p.name: p for p in (
    Play(
        name="pricing-intent", title="Pricing-page intent",
        goal="Reach prospects who viewed pricing at least twice in 48 hours and have not asked for a demo.",
        presets=B2B,
        cdp=_browse_intent("pricing", 2, "demo_requested", "Pricing intent"),
        crm={"name": "MQLs (pricing proxy)", "all": [{"field": "lifecycle_stage", "op": "in", "value": ["mql"]}]},
        action_window_hours=48, response=Response(0.01, 0.06, 0.07, 24),
        why_crm="The CRM never sees page views; lead scoring that promotes to MQL is its closest proxy.",
        why_cdp="The CDP sees pricing views as they happen, for every identified browser."),
    Play(
        name="product-intent", title="Product-browsing intent",
        goal="Reach shoppers who viewed products at least three times in 48 hours without adding to cart.",
        presets=B2C,
        cdp=_browse_intent("product", 3, "add_to_cart", "Browse intent"),
        crm={"name": "Recent email clickers", "all": [
            {"field": "last_email_click_date", "op": "within_last_days", "value": 7}]},
        action_window_hours=48, response=Response(0.01, 0.05, 0.05, 24),
        why_crm="Browsing is invisible to the CRM; recent email clicks are the engagement it records.",
        why_cdp="Product views reach the CDP within minutes, for logged-in and stitched browsers."),
    Play(
        name="cart-abandonment", title="Cart abandonment recovery",
        goal="Message people who added to cart and did not buy within an hour.",
        presets=B2C,
        cdp={"name": "Cart abandoners", "first": {"event": "add_to_cart"}, "then_not": {"event": "purchase"},
             "within": "1h", "lookback": "3d"},
        crm={"name": "Abandoned checkouts (shop sync)", "all": [
            {"field": "abandoned_checkout_date", "op": "within_last_days", "value": 3}]},
        action_window_hours=24, response=Response(0.01, 0.10, 0.08, 12),
        why_crm="The shop integration reports checkouts abandoned after the email was typed, with the nightly order sync; plain carts never reach the CRM.",
        why_cdp="Add-to-cart and purchase events arrive in minutes, so the audience fires an hour after abandonment."),
    Play(
        name="trial-gone-quiet", title="Trial users gone quiet",
        goal="Rescue trialists who started in the last 14 days and have not used the product for 3 days.",
        presets=("plg-saas",),
        cdp={"name": "Quiet trialists", "all": [
            {"trait": "first_time", "event": "trial_started", "within": "14d"},
            {"not": {"event": "feature_used", "within": "3d"}},
            {"not": {"event": "purchase"}}]},
        crm={"name": "Trialists (all)", "all": [
            {"field": "plan", "op": "eq", "value": "trial"},
            {"field": "trial_started_date", "op": "within_last_days", "value": 14}]},
        action_window_hours=72, response=Response(0.02, 0.10, 0.06, 72),
        why_crm="The CRM knows who is on a trial (nightly sync) but not who stopped using the product.",
        why_cdp="Product events show who went quiet, three days after the last use."),
    Play(
        name="mql-nurture", title="MQL nurture by industry",
        goal="Nurture marketing-qualified leads in Software and Financial Services.",
        presets=B2B,
        truth={"name": "MQLs in target industries (truth)", "all": [
            {"field": "lifecycle_stage", "op": "eq", "value": "mql"},
            {"field": "industry", "op": "in", "value": ["Software", "Financial Services"]}]},
        crm={"name": "MQLs in target industries", "all": [
            {"field": "lifecycle_stage", "op": "eq", "value": "mql"},
            {"field": "industry", "op": "in", "value": ["Software", "Financial Services"]}]},
        cdp={"name": "Engaged evaluators", "all": [
            {"event": "form_submit", "within": "30d"},
            {"event": "page_view", "where": {"page": ["docs", "case_study", "pricing"]}, "count": {"gte": 2}, "within": "14d"}]},
        action_window_hours=24 * 7, response=Response(0.01, 0.04, 0.03, 24 * 7),
        why_crm="Stage and industry are CRM fields: this is the CRM's home ground.",
        why_cdp="Without CRM fields the CDP can only approximate qualification from behaviour."),
    Play(
        name="webinar-follow-up", title="Webinar follow-up",
        goal="Follow up with webinar attendees within a week of the webinar.",
        presets=B2B,
        cdp={"name": "Webinar attendees", "all": [{"event": "webinar_attended", "within": "7d"}]},
        crm={"name": "Tagged webinar attendees", "all": [{"field": "attended_webinar", "op": "eq", "value": "true"}]},
        action_window_hours=72, response=Response(0.01, 0.05, 0.05, 48),
        why_crm="Attendee lists arrive with the weekly import and the tag never expires.",
        why_cdp="The webinar platform streams attendance to the CDP the same day."),
    Play(
        name="account-intent", title="Account-level intent",
        goal="Reach buying committees: accounts where at least three people read pricing, docs or case studies in a week.",
        presets=("b2b-saas",),
        cdp={"name": "Active buying committees", "all": [
            {"account": {"event": "page_view", "where": {"page": ["pricing", "docs", "case_study"]}},
             "within": "7d", "min_people": 3}]},
        crm={"name": "Sales-ready contacts at larger companies", "all": [
            {"field": "lifecycle_stage", "op": "in", "value": ["mql", "sql", "opportunity"]},
            {"field": "company_size", "op": "in", "value": ["51-200", "201-1000", "1001-5000", "5000+"]}]},
        action_window_hours=72, response=Response(0.01, 0.05, 0.05, 72),
        why_crm="The CRM sees each contact's stage, not the committee reading together; ABM lists approximate it.",
        why_cdp="Profiles matched to accounts by email domain show several people researching in the same week."),
    Play(
        name="win-back", title="Win-back of lapsed buyers",
        goal="Re-engage buyers whose last purchase was 60 to 180 days ago.",
        presets=B2C,
        cdp={"name": "Lapsed buyers", "all": [
            {"trait": "days_since_last", "event": "purchase", "op": "gte", "value": 60},
            {"trait": "days_since_last", "event": "purchase", "op": "lte", "value": 180}]},
        crm={"name": "Lapsed buyers (order sync)", "all": [
            {"field": "last_purchase_date", "op": "is_set"},
            {"not": {"field": "last_purchase_date", "op": "within_last_days", "value": 60}},
            {"field": "last_purchase_date", "op": "within_last_days", "value": 180}]},
        action_window_hours=24 * 14, response=Response(0.01, 0.03, 0.03, 24 * 14),
        why_crm="Last purchase date arrives with the nightly order sync: slow, but lapsing is slow too.",
        why_cdp="Purchases in every channel the CDP tracks; store purchases without a loyalty id are missed by both."),
)}


def plays_for(preset: str) -> list[Play]:
    """The plays that make sense for a preset, in library order."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; accepted: {', '.join(PRESETS)}")
    return [p for p in PLAYS.values() if preset in p.presets]


def get_play(name: str, preset: str | None = None) -> Play:
    if name not in PLAYS:
        raise UserError(f"unknown play {name!r}; accepted: {', '.join(PLAYS)}")
    play = PLAYS[name]
    if preset is not None and preset not in play.presets:
        names = ", ".join(p.name for p in plays_for(preset))
        raise UserError(f"play {name!r} does not apply to preset {preset!r}; plays for {preset}: {names}")
    return play


def with_rules(play: Play, crm: Mapping[str, Any] | None = None, cdp: Mapping[str, Any] | None = None) -> Play:
    """A copy of ``play`` with edited CRM / CDP rules (validated when parsed)."""
    from dataclasses import replace

    if crm is not None:
        parse_rule(dict(crm))
    if cdp is not None:
        parse_rule(dict(cdp))
    # Editing the CDP audience must never move the yardstick: pin the truth rule first.
    return replace(play, truth=dict(play.truth_rule()), crm=dict(crm) if crm is not None else play.crm,
                   cdp=dict(cdp) if cdp is not None else play.cdp)
