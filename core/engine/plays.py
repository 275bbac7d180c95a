"""The play library: a marketing goal, its neutral yardstick, and each system's best attempt at it.

A play has three rules, all in the one rule model:

- **truth** — the yardstick. It is written on the *truth* view from the world's latent state (the
  ``intent`` field: in_market / cooling / bought / none, which no system can see) and from the
  trigger events that create the need (a cart left behind, a pricing visit, a webinar attended, a
  last purchase long ago). It is never either system's rule: it is what a marketer would want to
  know if they could read minds, and both systems approximate it from what they observe.
- **crm** — the best segment a marketing CRM can build: its recorded fields (lagging, messy) and
  the behaviour its own tracking attaches to known contacts (page views, forms, e-mail
  engagement; see ``core.engine.views.CRM_EVENT_TYPES``).
- **cdp** — the best audience a CDP can build on its stitched event stream. The hybrid runs the
  CDP audience, synced into the CRM's sending tool.

Other yardsticks (``YARDSTICKS``) exist only to show that the verdict does not hinge on the
choice: the CRM's or the CDP's rule evaluated on ground truth.

Response parameters (used by :mod:`core.measures.campaign`). A message's effect is *relative* to
what the world itself shows: the organic chance that a person in the same latent state converts
within the follow-up window is read off the world's own events, and a message at full relevance
multiplies it by ``1 + uplift_rel``. So a campaign can never claim more conversions than the
world's own flow allows. Sources:

- Hillstrom's randomised e-mail test (../shared/data/hillstrom, 64,000 customers, shipped with the
  Campaign lift page): the men's e-mail lifted two-week conversion from 0.57% to 1.25%
  (+119% relative), the women's to 0.88% (+54%). These anchor the relative uplifts: +120% for a
  well-timed, relevant B2C trigger (cart, product intent), +50% for a win-back (an untargeted
  e-mail to past buyers, like Hillstrom's women's arm). Assumed: a relevant trigger does at least
  as well as Hillstrom's generic e-mail; we do not claim more.
- Cart recovery: SaleCycle finds most recovered carts come back within 24 h and Klaviyo
  recommends the first reminder within an hour → half-life 12 h.
- Speed to lead: Oldroyd, McElheran & Elkington (HBR, 2011): leads contacted within an hour were
  ~7x more likely to qualify than those contacted even an hour later; response keeps falling over
  the first day → half-life 24 h for pricing-page intent, uplift +100% (assumed, well below 7x
  because a marketing message is not a sales call).
- Win-back: lapsing is slow, so is the decay → half-life 14 days.
- Trial rescue and webinar follow-up: SaaS onboarding benchmarks (OpenView, ON24) put follow-up
  effects at a few points, fading over days → half-life 2–3 days, uplift +60% / +50% (assumed).
- Off-target messages (the person has no open need) move people as Hillstrom's untargeted e-mail
  did (``off_target_rel`` = 1 unit of Hillstrom's effect, bounded in absolute terms; issue 18,
  :mod:`core.measures.response`); a need-matched message never does less. All relative effects
  are bounded in absolute terms by :func:`core.measures.response.message_effect`.
- B2B outcomes are demo requests (the conversion the world produces at volume), worth what the
  world's own funnel realises from a demo (won revenue per demo in the period); B2C and
  product-led outcomes are purchases, worth the order value.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any, Mapping

from core.errors import UserError
from core.engine.rules import Rule, parse_rule
from synthetic.presets import PRESETS

B2C = ("b2c-retail", "omnichannel")
B2B = ("b2b-saas", "plg-saas")

#: Yardsticks a play can be judged on. "latent" is the default and the only neutral one; the
#: others run one system's rule on ground truth, to show how (little) the verdict depends on it.
YARDSTICKS: dict[str, str] = {
    "latent": "the need, from the world's latent state and trigger events (default)",
    "crm-rule": "the CRM segment's rule run on ground truth (all events, true fields)",
    "cdp-rule": "the CDP audience's rule run on ground truth (all events, true fields)",
}
#: What a message answers, for the need-sensitivity panel: the latent need (the world's physics, the
#: default), either system's rule on ground truth, or both rules at once. Effects follow the need,
#: so unlike a yardstick, swapping it moves the money — the panel shows by how much.
NEEDS: dict[str, str] = {
    "latent": "the latent need (intent and trigger events; the default)",
    "crm-rule": "the CRM segment's rule on ground truth",
    "cdp-rule": "the CDP audience's rule on ground truth",
    "both-rules": "both rules at once on ground truth (their intersection)",
}
#: Events that count as a conversion of a play's message.
OUTCOME_EVENTS: tuple[str, ...] = ("purchase", "demo_requested")


@dataclass(frozen=True)
class Response:
    """How people respond to a message of this play (sources in the module docstring)."""

    outcome_event: str = "purchase"
    """The conversion the message aims at: 'purchase' or 'demo_requested' (B2B pipeline)."""
    uplift_rel: float = 1.0
    """Relative lift of the organic conversion chance at full relevance (1.0 = doubles it)."""
    half_life_hours: float = 24.0
    """The message's effect halves for every this many hours after the need opened."""
    off_target_rel: float = 1.0
    """Effect on someone without an open need, in units of Hillstrom's (1 = Hillstrom's; 0 = none)."""
    follow_up_days: float = 7.0
    """Conversion window after the send, in days."""
    deep_event: str = ""
    """A trigger event that marks a deeper need (cart abandonment: 'checkout_started'); '' = none (core.measures.depth)."""
    deep_rel: float = 1.0
    """Effect multiplier for a need whose trigger reached ``deep_event``."""
    shallow_rel: float = 1.0
    """Effect multiplier for a need whose trigger did not."""

    def __post_init__(self) -> None:
        if self.outcome_event not in OUTCOME_EVENTS:
            raise UserError(f"outcome_event must be one of {', '.join(OUTCOME_EVENTS)} (got {self.outcome_event!r})")
        if not (0 <= self.deep_rel <= 10 and 0 <= self.shallow_rel <= 10):
            raise UserError("deep_rel and shallow_rel must be 0..10")
        if not (0 <= self.off_target_rel <= 10 and 0 <= self.uplift_rel <= 10):
            raise UserError("uplift_rel must be 0..10 and off_target_rel 0..10")


@dataclass(frozen=True)
class Play:
    name: str
    title: str
    goal: str
    presets: tuple[str, ...]
    truth: Mapping[str, Any]
    crm: Mapping[str, Any]
    cdp: Mapping[str, Any]
    action_window_hours: float
    response: Response
    why_truth: str = ""
    why_crm: str = ""
    why_cdp: str = ""
    yardstick: str = "latent"
    pinned_yardstick: Mapping[str, Any] | None = None
    """A system's rule pinned as the yardstick before that rule was edited (see :func:`with_rules`)."""
    hybrid: Mapping[str, Any] | None = None
    """The hybrid's own rule on the hybrid view (CRM fields joined to CDP profiles); None = the CDP audience."""
    why_hybrid: str = ""

    def truth_rule(self) -> Mapping[str, Any]:
        """The yardstick rule on the truth view (see :data:`YARDSTICKS`)."""
        if self.yardstick != "latent" and self.pinned_yardstick is not None:
            return self.pinned_yardstick
        if self.yardstick == "crm-rule":
            return {**self.crm, "name": f"{self.crm['name']} (on ground truth)"}
        if self.yardstick == "cdp-rule":
            return {**self.cdp, "name": f"{self.cdp['name']} (on ground truth)"}
        return self.truth

    def rule(self, model: str) -> Rule:
        """The parsed rule for 'truth', 'crm', 'cdp' or 'hybrid' (the hybrid's own rule, else the CDP audience)."""
        rules = {"truth": self.truth_rule, "crm": lambda: self.crm, "cdp": lambda: self.cdp,
                 "hybrid": lambda: self.cdp if self.hybrid is None else self.hybrid}
        if model not in rules:
            raise UserError(f"unknown model {model!r}; accepted: truth, crm, cdp, hybrid")
        return parse_rule(copy.deepcopy(dict(rules[model]())))

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "title": self.title, "goal": self.goal, "presets": list(self.presets),
               "action_window_hours": self.action_window_hours, "yardstick": self.yardstick,
               "truth": dict(self.truth_rule()), "crm": dict(self.crm), "cdp": dict(self.cdp)}
        if self.hybrid is not None:
            out["hybrid"] = dict(self.hybrid)
        return out


def _not_bought() -> dict:
    return {"not": {"field": "intent", "op": "eq", "value": "bought"}}


def _in_market() -> dict:
    return {"field": "intent", "op": "eq", "value": "in_market"}


def _browse_intent(page: str, views: int, block_event: str, title: str) -> dict:
    """Viewed ``page`` at least ``views`` times in 48 h and did not do ``block_event`` in 48 h."""
    return {"name": title, "all": [
        {"event": "page_view", "where": {"page": page}, "count": {"gte": views}, "within": "48h"},
        {"not": {"event": block_event, "within": "48h"}}]}


PLAYS: dict[str, Play] = {p.name: p for p in (
    Play(
        name="pricing-intent", title="Pricing-page intent",
        goal="Reach prospects who are researching pricing and have not yet asked for a demo.",
        presets=B2B,
        truth={"name": "In-market prospects researching pricing", "all": [
            _in_market(),
            {"event": "page_view", "where": {"page": "pricing"}, "within": "7d"},
            {"not": {"event": "demo_requested", "within": "30d"}}]},
        cdp=_browse_intent("pricing", 2, "demo_requested", "Pricing intent"),
        crm={**_browse_intent("pricing", 2, "demo_requested", "Pricing-page visitors (tracked contacts)")},
        action_window_hours=48,
        response=Response(outcome_event="demo_requested", uplift_rel=1.0, half_life_hours=24),
        why_truth="In market (latent) and looked at pricing this week, no demo yet: the need a sales-ready nudge serves.",
        why_crm="A marketing CRM's tracking sees pricing visits of known contacts whose browser it has identified.",
        why_cdp="The CDP sees pricing views for every stitched browser, but can only message identified profiles."),
    Play(
        name="product-intent", title="Product-browsing intent",
        goal="Reach shoppers who are browsing products and have not added anything to their cart.",
        presets=B2C,
        truth={"name": "In-market shoppers browsing without a cart", "all": [
            _in_market(),
            {"event": "page_view", "where": {"page": "product"}, "within": "48h"},
            {"not": {"event": "add_to_cart", "within": "48h"}}]},
        cdp=_browse_intent("product", 3, "add_to_cart", "Browse intent"),
        crm={"name": "Product browsers (tracked contacts)", "all": [
            {"event": "page_view", "where": {"page": "product"}, "count": {"gte": 3}, "within": "48h"},
            {"not": {"event": "page_view", "where": {"page": "cart"}, "within": "48h"}}]},
        action_window_hours=48,
        response=Response(outcome_event="purchase", uplift_rel=1.2, half_life_hours=24),
        why_truth="In market (latent), browsing products in the last two days, no cart.",
        why_crm="The CRM sees product and cart page views of identified contacts' browsers; carts themselves it cannot see.",
        why_cdp="Product views and carts reach the CDP within minutes, for logged-in and stitched browsers."),
    Play(
        name="cart-abandonment", title="Cart abandonment recovery",
        goal="Message people who left a cart behind and have not bought.",
        presets=B2C,
        truth={"name": "Left a cart and still has not bought", "all": [
            {"first": {"event": "add_to_cart"}, "then_not": {"event": "purchase"}, "within": "30m", "lookback": "3d"},
            _not_bought()]},
        cdp={"name": "Cart abandoners", "first": {"event": "add_to_cart"}, "then_not": {"event": "purchase"},
             "within": "1h", "lookback": "3d"},
        crm={"name": "Cart or checkout left behind (shop sync and tracked visits)", "any": [
            {"field": "abandoned_checkout_date", "op": "within_last_days", "value": 3},
            {"all": [{"event": "page_view", "where": {"page": "cart"}, "within": "3d"},
                     {"not": {"field": "last_purchase_date", "op": "within_last_days", "value": 3}}]}]},
        action_window_hours=24,
        # Trigger depth (assumed sizes): a checkout abandoner answers a reminder 1.5× as strongly as the play's
        # base effect, a cart-only adder 0.75× — a 2:1 ratio, inside the 2:1 to 3.5:1 revenue ratio of
        # Klaviyo's "Checkout Started" over its "Added to Cart" flow that a store reported at about the same
        # number of recipients (community.klaviyo.com/campaigns-and-flows-30/abandoned-cart-flow-vs-abandoned-
        # checkout-flow-performance-comparison-4178); attributed revenue also holds organic purchases, so less.
        response=Response(outcome_event="purchase", uplift_rel=1.2, half_life_hours=12,
                          deep_event="checkout_started", deep_rel=1.5, shallow_rel=0.75),
        why_truth="A cart not bought within 30 minutes (a web session's end, GA's default timeout) by someone who has not bought since.",
        why_crm="The shop integration reports abandoned checkouts with the order sync; tracked cart-page visits of known contacts fill the gap.",
        why_cdp="Add-to-cart and purchase events arrive in minutes, so the audience fires an hour after abandonment."),
    Play(
        name="trial-gone-quiet", title="Trial users gone quiet",
        goal="Rescue trialists who started in the last 14 days and whose interest is fading.",
        presets=("plg-saas",),
        truth={"name": "Fading trialists", "all": [
            {"trait": "first_time", "event": "trial_started", "within": "14d"},
            {"field": "intent", "op": "in", "value": ["cooling", "none"]},
            {"not": {"event": "purchase"}}]},
        cdp={"name": "Quiet trialists", "all": [
            {"trait": "first_time", "event": "trial_started", "within": "14d"},
            {"not": {"event": "feature_used", "within": "3d"}},
            {"not": {"event": "purchase"}}]},
        crm={"name": "Trialists without a recent visit", "all": [
            {"field": "plan", "op": "eq", "value": "trial"},
            {"field": "trial_started_date", "op": "within_last_days", "value": 14},
            {"not": {"event": "page_view", "within": "3d"}}]},
        action_window_hours=72,
        response=Response(outcome_event="purchase", uplift_rel=0.6, half_life_hours=72),
        why_truth="Started a trial in the last two weeks, interest cooling or gone (latent), not converted.",
        why_crm="The CRM knows who is on a trial (nightly sync) and sees web visits, not product usage.",
        why_cdp="Product events show who stopped using the product, three days after the last use."),
    Play(
        name="mql-nurture", title="Nurture in target industries",
        goal="Nurture in-market prospects in Software and Financial Services that sales has not taken on yet.",
        presets=B2B,
        truth={"name": "In-market prospects in target industries, not with sales", "all": [
            _in_market(),
            {"field": "industry", "op": "in", "value": ["Software", "Financial Services"]},
            {"not": {"field": "lifecycle_stage", "op": "in", "value": ["sql", "opportunity", "customer"]}}]},
        crm={"name": "Engaged leads in target industries", "all": [
            {"field": "industry", "op": "in", "value": ["Software", "Financial Services"]},
            {"not": {"field": "lifecycle_stage", "op": "in", "value": ["sql", "opportunity", "customer"]}},
            {"event": "page_view", "within": "14d"}]},
        cdp={"name": "Engaged evaluators", "all": [
            {"event": "form_submit", "within": "30d"},
            {"event": "page_view", "where": {"page": ["docs", "case_study", "pricing"]}, "count": {"gte": 2}, "within": "14d"}]},
        action_window_hours=24 * 7,
        response=Response(outcome_event="demo_requested", uplift_rel=0.5, half_life_hours=24 * 7, follow_up_days=14),
        why_truth="In market (latent), in a target industry (true company data), not yet with sales.",
        why_crm="Industry and stage are CRM fields — its home ground — plus recent tracked visits.",
        why_cdp="Without CRM fields the CDP can only approximate qualification from behaviour."),
    Play(
        name="webinar-follow-up", title="Webinar follow-up",
        goal="Follow up with webinar attendees within a week of the webinar.",
        presets=B2B,
        truth={"name": "Attended a webinar this week while in market", "all": [
            {"event": "webinar_attended", "within": "7d"}, _in_market()]},
        cdp={"name": "Webinar attendees", "all": [{"event": "webinar_attended", "within": "7d"}]},
        crm={"name": "Tagged webinar attendees", "all": [{"field": "attended_webinar", "op": "eq", "value": "true"}]},
        action_window_hours=72,
        response=Response(outcome_event="demo_requested", uplift_rel=0.5, half_life_hours=48),
        why_truth="Attending creates the occasion; the need is live only while the person is in market (latent), for a week.",
        why_crm="Attendee lists arrive with the list import and the tag never expires.",
        why_cdp="The webinar platform streams attendance to the CDP the same day."),
    Play(
        name="account-intent", title="Account-level intent",
        goal="Reach buying committees: every known contact at accounts where two or more people read pricing, docs or case studies this week.",
        presets=("b2b-saas",),
        truth={"name": "In-market members of researching committees", "all": [
            _in_market(),
            {"account": {"event": "page_view"}, "within": "7d", "min_people": 3}]},
        cdp={"name": "Active buying committees", "all": [
            {"account": {"event": "page_view", "where": {"page": ["pricing", "docs", "case_study"]}},
             "within": "7d", "min_people": 2}]},
        crm={"name": "Active buying committees (tracked contacts)", "all": [
            {"account": {"event": "page_view", "where": {"page": ["pricing", "docs", "case_study"]}},
             "within": "7d", "min_people": 2}]},
        action_window_hours=72,
        response=Response(outcome_event="demo_requested", uplift_rel=1.0, half_life_hours=72),
        why_truth="The account is in a buying episode (latent) and at least three of its people visited this week.",
        why_crm="The CRM knows each contact's company and sees tracked visits of known contacts: ABM lists.",
        why_cdp="Profiles matched to accounts by e-mail domain show several people researching in the same week."),
    Play(
        name="win-back", title="Win-back of lapsed buyers",
        goal="Re-engage buyers whose last purchase was 60 to 180 days ago.",
        presets=B2C,
        truth={"name": "Lapsed buyers shopping again (all channels)", "all": [
            {"trait": "days_since_last", "event": "purchase", "op": "gte", "value": 60},
            {"trait": "days_since_last", "event": "purchase", "op": "lte", "value": 180},
            {"field": "intent", "op": "in", "value": ["in_market", "cooling"]}]},
        cdp={"name": "Lapsed buyers", "all": [
            {"trait": "days_since_last", "event": "purchase", "op": "gte", "value": 60},
            {"trait": "days_since_last", "event": "purchase", "op": "lte", "value": 180}]},
        crm={"name": "Lapsed buyers (order sync)", "all": [
            {"field": "last_purchase_date", "op": "is_set"},
            {"not": {"field": "last_purchase_date", "op": "within_last_days", "value": 60}},
            {"field": "last_purchase_date", "op": "within_last_days", "value": 180}]},
        action_window_hours=24 * 14,
        response=Response(outcome_event="purchase", uplift_rel=0.5, half_life_hours=24 * 14, follow_up_days=14),
        why_truth="Last purchase in any channel 60–180 days ago and in market again or just cooling (latent): a lapse "
                  "alone is both systems' rule; the need is a lapsed buyer a message can still win back.",
        why_crm="Last purchase date arrives with the nightly order sync: slow, but lapsing is slow too.",
        why_cdp="Purchases in every channel the CDP tracks; store purchases without a loyalty id are missed by both."),
    # ---- hybrid plays: the need is defined by a CRM fact *and* fresh behaviour, so each pure model
    # has only half of it; the hybrid joins the CRM field to the CDP's stitched events.
    Play(
        name="open-deal-pricing", title="Open deals researching pricing",
        goal="Nudge contacts with an open opportunity who are looking at pricing again.",
        presets=("b2b-saas",),
        truth={"name": "In-market contacts with an open opportunity researching pricing", "all": [
            _in_market(),
            {"field": "lifecycle_stage", "op": "eq", "value": "opportunity"},
            {"event": "page_view", "where": {"page": "pricing"}, "within": "7d"}]},
        crm={"name": "Open opportunities on the pricing page (tracked contacts)", "all": [
            {"field": "lifecycle_stage", "op": "eq", "value": "opportunity"},
            {"event": "page_view", "where": {"page": "pricing"}, "within": "48h"}]},
        cdp={"name": "Pricing visitors in a sales conversation", "all": [
            {"event": "page_view", "where": {"page": "pricing"}, "within": "48h"},
            {"event": "sales_meeting", "within": "60d"}]},
        hybrid={"name": "Open opportunities (CRM) on the pricing page (CDP)", "all": [
            {"field": "lifecycle_stage", "op": "eq", "value": "opportunity"},
            {"event": "page_view", "where": {"page": "pricing"}, "within": "48h"}]},
        action_window_hours=48,
        response=Response(outcome_event="demo_requested", uplift_rel=1.0, half_life_hours=24),
        why_truth="In market (latent), an open opportunity (true stage) and a pricing visit this week: a deal in its decision.",
        why_crm="The CRM knows the opportunity; its tracking sees pricing visits only of browsers it has identified.",
        why_cdp="Without the deal stage the CDP can only guess it from a synced sales meeting beside the pricing visit.",
        why_hybrid="The CRM's stage joined to the CDP's stitched pricing visits: both halves of the need."),
    Play(
        name="valued-browse-abandonment", title="Valued customers browsing without a cart",
        goal="Reach customers with a lifetime spend of 150 or more who browsed products today and added nothing to their cart.",
        presets=B2C,
        truth={"name": "In-market valued customers browsing today without a cart", "all": [
            _in_market(),
            {"field": "total_spend", "op": "gte", "value": 150},
            {"event": "page_view", "where": {"page": "product"}, "within": "24h"},
            {"not": {"event": "add_to_cart", "within": "24h"}}]},
        crm={"name": "Valued customers browsing today (order sync and tracked visits)", "all": [
            {"field": "total_spend", "op": "gte", "value": 150},
            {"event": "page_view", "where": {"page": "product"}, "count": {"gte": 2}, "within": "24h"},
            {"not": {"event": "page_view", "where": {"page": "cart"}, "within": "24h"}}]},
        cdp={"name": "Big spenders browsing today", "all": [
            {"trait": "total_value", "event": "purchase", "op": "gte", "value": 150},
            {"event": "page_view", "where": {"page": "product"}, "count": {"gte": 2}, "within": "24h"},
            {"not": {"event": "add_to_cart", "within": "24h"}}]},
        hybrid={"name": "Valued customers (CRM spend) browsing today (CDP)", "all": [
            {"field": "total_spend", "op": "gte", "value": 150},
            {"event": "page_view", "where": {"page": "product"}, "count": {"gte": 2}, "within": "24h"},
            {"not": {"event": "add_to_cart", "within": "24h"}}]},
        action_window_hours=24,
        response=Response(outcome_event="purchase", uplift_rel=1.2, half_life_hours=24),
        why_truth="In market (latent), a lifetime spend of 150 or more (true, all years) and product views today without a cart.",
        why_crm="Lifetime spend comes with the order sync; tracked product and cart-page visits of identified browsers; carts it cannot see.",
        why_cdp="The CDP sums the purchases it has received — only since it was installed — and sees every stitched browse and cart.",
        why_hybrid="The CRM's lifetime spend joined to the CDP's real-time browsing and carts."),
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


def with_yardstick(play: Play, yardstick: str) -> Play:
    """The same play judged on another yardstick (see :data:`YARDSTICKS`)."""
    if yardstick not in YARDSTICKS:
        raise UserError(f"unknown yardstick {yardstick!r}; accepted: {', '.join(YARDSTICKS)}")
    return replace(play, yardstick=yardstick, pinned_yardstick=None)


def need_rule(play: Play, need: str) -> Rule:
    """The rule on the truth view that defines when a message can help under ``need`` (:data:`NEEDS`).

    'latent' is the play's own truth rule (whatever yardstick it is judged on); the others run
    the library's CRM / CDP rule, or both at once, on ground truth."""
    if need not in NEEDS:
        raise UserError(f"unknown need {need!r}; accepted: {', '.join(NEEDS)}")
    crm = {**dict(play.crm), "name": f"{play.crm['name']} (on ground truth)"}
    cdp = {**dict(play.cdp), "name": f"{play.cdp['name']} (on ground truth)"}
    rule = {"latent": dict(play.truth), "crm-rule": crm, "cdp-rule": cdp,
            "both-rules": {"name": "CRM and CDP rules (on ground truth)", "all": [_condition(play.crm),
                                                                                   _condition(play.cdp)]}}[need]
    return parse_rule(copy.deepcopy(rule))


def _condition(rule: Mapping[str, Any]) -> dict:
    """A rule's condition without its name and description, to nest inside another rule."""
    return {k: copy.deepcopy(v) for k, v in rule.items() if k not in ("name", "description", "list", "frozen_at")}


def with_rules(play: Play, crm: Mapping[str, Any] | None = None, cdp: Mapping[str, Any] | None = None) -> Play:
    """A copy of ``play`` with edited CRM / CDP rules (validated when parsed).

    The yardstick never moves with an edit: the latent need is not a system's rule, and a play
    judged on one system's rule is pinned to the library version of that rule, so editing an
    audience cannot make it its own judge.
    """
    if crm is not None:
        parse_rule(dict(crm))
    if cdp is not None:
        parse_rule(dict(cdp))
    pinned = dict(play.truth_rule()) if play.yardstick != "latent" else None
    return replace(play, pinned_yardstick=pinned, crm=dict(crm) if crm is not None else play.crm,
                   cdp=dict(cdp) if cdp is not None else play.cdp)
