"""What each model costs a year over the horizon, line by line, with where each default figure comes from.

Every model keeps a CRM (the system of record: seats, the people who run it, marketing automation
where the team has it) and a tool that sends the messages: a company that picks CDP audiences
still sells from a CRM and still pays an ESP or journey tool. So those lines are in *every* model,
and the models differ only by what they add: the CDP's licence, implementation, upkeep and the
data team's time, and for the hybrid the connector that syncs CDP audiences into the CRM's tool.
Send and unsubscribe costs come from the simulated campaigns (:mod:`core.measures.campaign`) and are
shown beside these fixed costs.

Sources of the default figures (read 2026-11-29 with the project's search tool; list prices change
and large customers negotiate 15–45% off, so each is a starting point the user overrides):
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

#: Figure → (default, source URL or "assumed", the claim). Shown on the page and in docs/fit.md.
COST_SOURCES: dict[str, tuple[float, str, str]] = {
    "crm_seat_cost_month": (
        100.0, "https://redresscompliance.com/salesforce-sales-cloud-licensing.html",
        "Salesforce Sales Cloud lists 25 (Starter) to 165 (Enterprise, after the August 2025 increase from 150) per "
        "user per month; 100 is the Pro tier (salesforcenegotiations.pages.dev/blog/sales-cloud-licensing-guide). "
        "Third-party licensing guides quoting the vendor's list prices."),
    "marketing_automation_year": (
        -1.0, "https://www.hubspot.com/pricing/marketing",
        "−1 = from the published tier at your contacts: HubSpot bills Marketing Hub by marketing-contact tier "
        "(knowledge.hubspot.com/account/understand-marketing-contacts-billing); Marketing Hub Professional lists 890 a "
        "month (800 promotional) with 2,000 marketing contacts (hubspot.com/pricing/marketing, as recorded on 2026-08-13 "
        "in github.com/api-evangelist/hubspot plans/hubspot-plans-pricing.yml, with legal.hubspot.com/"
        "hubspot-product-and-services-catalog as its second source); each further 1,000 contacts 50 a month ('It's $50 "
        "USD, per additional 1,000 Contacts, for Marketing Pro', a HubSpot partner's answer in HubSpot's community, "
        "community.hubspot.com/t5/CRM/Am-I-limited-to-100-contacts-before-I-am-charged/m-p/256718, 2019). Monthly active "
        "customers are taken as marketing contacts, the same basis as the CDP's tracked users. HubSpot's pricing page "
        "quotes bands that fall with volume, so at millions of contacts this per-1,000 rate is an upper bound, as the "
        "per-MTU rate is for the CDP."),
    "sending_tool_year": (
        12_000.0, "assumed",
        "Braze and Iterable publish no list prices (Braze bills on platform, monthly active users and message "
        "volume, billed annually: Braze S-1, sec.gov/Archives/edgar/data/1676238/000119312521304909/d40379ds1.htm); "
        "1,000 a month is assumed for an ESP serving a mid-size list."),
    "person_cost_year": (
        120_000.0, "assumed",
        "Loaded cost (salary plus about 30% overhead) of a CRM admin or data engineer; the same figure for both "
        "sides so neither is made cheaper to run by assumption."),
    "cdp_licence_year": (
        -1.0, "https://getlago.com/docs/templates/hybrid/segment",
        "−1 = from the published tier at your tracked users: Segment's Team plan lists 120 a month with 10,000 MTUs, then "
        "0.010–0.012 per MTU a month (0.011 used; monthly active customers taken as MTUs); the Business plan that adds "
        "audiences (Engage) is custom-priced, so a floor of 60,000 a year is assumed and the per-MTU list price applies "
        "above it (about 455,000 MTUs)."),
    "cdp_implementation": (50_000.0, "assumed", "One-off tracking plan, sources and identity set-up by an agency or "
                                                "an internal project (a few person-months)."),
    "cdp_upkeep_year": (20_000.0, "assumed", "Tracking fixes, new sources and warehouse costs per year."),
    "connector_year": (12_000.0, "assumed", "Reverse ETL / CDP→CRM sync (Hightouch, Census) for a hybrid; both "
                                            "price on destinations and syncs, not publicly for mid-market volumes."),
}

#: Segment Team list price (see COST_SOURCES["cdp_licence_year"]) and the assumed Business floor.
SEGMENT_TEAM_MONTH, SEGMENT_TEAM_MTUS, SEGMENT_PER_MTU_MONTH, CDP_LICENCE_FLOOR = 120.0, 10_000, 0.011, 60_000.0


#: HubSpot Marketing Hub Professional list price (see COST_SOURCES["marketing_automation_year"]).
HUBSPOT_PRO_MONTH, HUBSPOT_PRO_CONTACTS, HUBSPOT_PER_1000_MONTH = 890.0, 2_000, 50.0


def marketing_tier(answers: Any) -> float:
    """The marketing-automation tier a year: the answer, or (−1) the published marketing-contact tier
    at the business's monthly active customers — priced by volume like the CDP licence, so neither
    side's licence is flat while the other's grows with the customer base. Zero without marketing
    automation."""
    if getattr(answers, "marketing_automation", "yes") != "yes":
        return 0.0
    if answers.marketing_automation_year >= 0:
        return float(answers.marketing_automation_year)
    contacts = max(0, int(answers.monthly_active_customers))
    extra = math.ceil(max(0, contacts - HUBSPOT_PRO_CONTACTS) / 1_000)
    return 12 * (HUBSPOT_PRO_MONTH + extra * HUBSPOT_PER_1000_MONTH)


def cdp_licence(answers: Any) -> float:
    """The CDP licence a year: the answer, or (−1) the published per-MTU tier at the business's
    monthly active customers, never below the assumed floor of an audiences-capable plan."""
    if answers.cdp_licence_year >= 0:
        return float(answers.cdp_licence_year)
    mtus = max(0, int(answers.monthly_active_customers))
    team = 12 * (SEGMENT_TEAM_MONTH + max(0, mtus - SEGMENT_TEAM_MTUS) * SEGMENT_PER_MTU_MONTH)
    return max(CDP_LICENCE_FLOOR, team)


#: FTE it takes to run a side well (assumed, the same for both sides: one person who owns lists,
#: workflows, syncs and data quality on the CRM; one who owns the tracking plan, identity rules,
#: audiences and syncs on the CDP). Below it that side is run worse (see core/advice/fit.py).
FTE_NEEDED = 1.0
#: A CDP operated by marketers (a no-code audience builder, no data team): the share of one
#: marketer's year it takes (assumed: a day or so a week for audiences, syncs and tracking fixes
#: raised with the web team) — charged in every model that has the CDP.
MARKETER_FTE = 0.25
#: What every model is compared against: no targeted campaigns at all. Sales still keeps the CRM
#: as its system of record (its seats are paid either way); no marketing automation, no sending
#: tool, no CRM admin time for campaigns.
BASELINE = "none"
#: The models whose costs :func:`tco` lists: the three, the CRM + CDP buyer (every line of both,
#: each play on its better route) and the do-nothing baseline.
COST_MODELS = ("crm", "cdp", "hybrid", "crm+cdp", BASELINE)


def tco(answers: Any, cdp_cost_factor: float = 1.0, data_fte: float | None = None) -> pd.DataFrame:
    """Cost of ownership, one row per (model, item): ``model, item, cost, shared, one_off, yearly``.

    ``cost`` is what the line costs in a year (one-off lines: once); ``yearly`` spreads one-off
    lines over the answers' horizon (``horizon_years``), so a model is compared on what it costs a
    year over the horizon. Team lines follow the headcount entered (3 CRM admins cost 3 people).
    ``shared`` is True for the lines every model with campaigns pays (CRM seats, CRM team time,
    marketing automation, the sending tool); ``cdp_cost_factor`` scales the CDP's licence,
    implementation and upkeep (the CDP-cost sweep); ``data_fte`` replaces the data team's size.
    """
    horizon = max(1.0, float(getattr(answers, "horizon_years", 1)))
    data = answers.data_people if data_fte is None else data_fte
    marketers = MARKETER_FTE if getattr(answers, "cdp_operator", "data-team") == "marketers" else 0.0
    seats = ("CRM seats", answers.crm_seats * answers.crm_seat_cost_month * 12, False)
    shared = [seats,
              (f"CRM team running it ({answers.crm_admins:g} FTE)", answers.crm_admins * answers.person_cost_year, False),
              ("Marketing automation tier", marketing_tier(answers), False),
              ("Sending tool", answers.sending_tool_year, False)]
    cdp = [("CDP licence", cdp_licence(answers) * cdp_cost_factor, False),
           ("CDP implementation (one-off)", answers.cdp_implementation * cdp_cost_factor, True),
           ("CDP upkeep", answers.cdp_upkeep_year * cdp_cost_factor, False),
           (f"data team running the CDP ({data:g} FTE)", data * answers.person_cost_year, False)]
    if marketers:
        cdp.append((f"marketers running the CDP ({marketers:g} FTE)", marketers * answers.person_cost_year, False))
    rows = []
    for model in COST_MODELS:
        if model == BASELINE:
            rows.append((model, seats[0], float(seats[1]), True, False))
            continue
        rows += [(model, item, float(cost), True, one) for item, cost, one in shared]
        if model != "crm":
            rows += [(model, item, float(cost), False, one) for item, cost, one in cdp]
        if model == "hybrid":
            rows.append((model, "CDP→CRM sync connector", float(answers.connector_year), False, False))
    out = pd.DataFrame(rows, columns=["model", "item", "cost", "shared", "one_off"])
    out["yearly"] = out["cost"].where(~out["one_off"], out["cost"] / horizon)
    return out


def tco_totals(answers: Any, cdp_cost_factor: float = 1.0, data_fte: float | None = None) -> dict[str, float]:
    """Cost a year per model over the horizon (one-off lines spread)."""
    t = tco(answers, cdp_cost_factor, data_fte).groupby("model")["yearly"].sum()
    return {m: float(t.get(m, 0.0)) for m in COST_MODELS}


def tco_split(answers: Any, cdp_cost_factor: float = 1.0, data_fte: float | None = None) -> dict[str, dict[str, float]]:
    """Per model: ``{"recurring": a year, "one_off": once}`` (year one pays both)."""
    t = tco(answers, cdp_cost_factor, data_fte)
    out = {}
    for m in COST_MODELS:
        tm = t[t["model"] == m]
        out[m] = {"recurring": float(tm.loc[~tm["one_off"], "cost"].sum()), "one_off": float(tm.loc[tm["one_off"], "cost"].sum())}
    return out


def sources_table() -> pd.DataFrame:
    """The default cost figures with their sources (for the page and docs)."""
    return pd.DataFrame([{"answer": k, "default": v, "source": s, "claim": c} for k, (v, s, c) in COST_SOURCES.items()])
