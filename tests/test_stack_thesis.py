"""The thesis on named stacks, both ways: which products' documented behaviour lets which side win.

Each case picks a CRM and a CDP from the catalogue (core.advice.stacks) and compares the models on
the same world: timely reach (share of qualifying episodes reached inside the play's window), true
incremental revenue and true net value (revenue minus send and unsubscribe costs).

- HubSpot active lists vs Segment real-time audiences, cart abandonment on b2c-retail: every CDP is
  timelier, HubSpot nets more since this round's sizes (see the test). Cart
  abandonment is a funnel (add to cart, then no purchase), and Segment computes funnels in batch
  every eight hours whatever the audience mode, so "Segment batch audiences" gives the same figures.
  A third row reads Segment's `within` windows as real time (the audiences page allows them; the
  product-limits page lists time-window audiences as batch) to show what that reading changes.
- The same play against Salesforce Data Cloud (12-hour publish) and PostHog cohorts (24 hours).
- A sales-led B2B world with a sales-only CRM (nightly imports, no marketing tracking) vs
  Salesforce Data Cloud standard segments (12-hour publish): the CRM cannot build a list on
  behaviour, but it wins where the need is a recorded fact (target industry and stage); on
  webinar attendance the CDP reaches people sooner and the money is now a near tie.
- The hybrid plays (a CRM fact and fresh behaviour) with HubSpot and Segment: HubSpot now sees the
  behaviour half itself; with a sales-only CRM the hybrid sends through that CRM's batches and loses
  to the CDP.

Run ``.venv/bin/python tests/test_stack_thesis.py --people 20000`` for the README table.
"""
from __future__ import annotations

import argparse
import sys
from functools import lru_cache
from pathlib import Path

import pytest

if __name__ == "__main__":  # run as a script from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.advice.scenario import Scenario, build_engine, play_results  # noqa: E402
from core.advice.stacks import stack_keys  # noqa: E402
from core.engine.plays import get_play  # noqa: E402

PEOPLE = 5000
#: Segment's `within` windows read as real time (funnels and accounts stay batch every 8 h).
WINDOWS_REALTIME = "simple_event=realtime,sequence=480,time_window=realtime,account=480"

CASES: dict[str, tuple[str, str, tuple[str, ...], dict]] = {
    "hubspot-vs-segment-realtime": ("b2c-retail", "cart-abandonment", ("hubspot-active-lists", "segment-realtime"), {}),
    "hubspot-vs-segment-batch": ("b2c-retail", "cart-abandonment", ("hubspot-active-lists", "segment-batch"), {}),
    "hubspot-vs-segment-windows-realtime": ("b2c-retail", "cart-abandonment", ("hubspot-active-lists", "segment-realtime"),
                                            {"audience_cadence_by_rule_type": WINDOWS_REALTIME}),
    "hubspot-vs-segment-realtime-browse": ("b2c-retail", "product-intent", ("hubspot-active-lists", "segment-realtime"), {}),
    "hubspot-vs-segment-windows-realtime-browse": ("b2c-retail", "product-intent",
                                                   ("hubspot-active-lists", "segment-realtime"),
                                                   {"audience_cadence_by_rule_type": WINDOWS_REALTIME}),
    "hubspot-vs-data-cloud-cart": ("b2c-retail", "cart-abandonment", ("hubspot-active-lists", "salesforce-data-cloud-standard"), {}),
    "hubspot-vs-posthog-cart": ("b2c-retail", "cart-abandonment", ("hubspot-active-lists", "posthog-cohorts"), {}),
    "hubspot-vs-segment-valued-browse": ("b2c-retail", "valued-browse-abandonment",
                                         ("hubspot-active-lists", "segment-realtime"), {}),
    "hubspot-vs-segment-open-deals": ("b2b-saas", "open-deal-pricing", ("hubspot-active-lists", "segment-realtime"), {}),
    "sales-crm-vs-data-cloud-webinar": ("b2b-saas", "webinar-follow-up",
                                        ("sales-crm-nightly-import", "salesforce-data-cloud-standard"), {}),
    "sales-crm-vs-data-cloud-nurture": ("b2b-saas", "mql-nurture",
                                        ("sales-crm-nightly-import", "salesforce-data-cloud-standard"), {}),
    "sales-crm-vs-data-cloud-pricing": ("b2b-saas", "pricing-intent",
                                        ("sales-crm-nightly-import", "salesforce-data-cloud-standard"), {}),
    "sales-crm-vs-data-cloud-open-deals": ("b2b-saas", "open-deal-pricing",
                                           ("sales-crm-nightly-import", "salesforce-data-cloud-standard"), {}),
}


@lru_cache(maxsize=None)
def _engine(preset: str, stacks: tuple[str, ...], people: int):
    return build_engine(Scenario.make(preset, 7, people, 90, stack_keys(stacks)))


def figures(case: str, people: int = PEOPLE) -> dict[str, dict[str, float]]:
    """{model: {timely, revenue, net}} for one case (the world is shared by cases with its stacks)."""
    preset, play, stacks, extra = CASES[case]
    scenario = Scenario.make(preset, 7, people, 90, {**stack_keys(stacks), **extra})
    res = play_results(_engine(preset, stacks, people), get_play(play), scenario)
    timely = res.freshness.set_index("model")["share_within_window"]
    lift = res.lift.set_index("model")
    return {m: {"timely": float(timely[m]) if m in timely.index else None,  # blast: no activation
                "revenue": float(lift.loc[m, "true_incremental_revenue"]),
                "net": float(lift.loc[m, "true_net_value"])} for m in lift.index}


@pytest.fixture(scope="module")
def results():
    return {case: figures(case) for case in CASES}


def test_segment_computes_a_cart_funnel_in_batch_in_either_mode(results):
    """Segment's real-time mode does not apply to funnels: the same figures as batch audiences."""
    assert results["hubspot-vs-segment-realtime"] == results["hubspot-vs-segment-batch"]
    assert results["hubspot-vs-segment-windows-realtime"] == results["hubspot-vs-segment-batch"]


def test_the_batch_cdps_are_timelier_than_hubspot_on_carts_but_hubspot_nets_more(results):
    """HubSpot lists refresh in minutes, but see only tracked cart-page visits of identified browsers;
    a CDP sees every stitched cart, so Segment and Data Cloud reach more abandoners in time even on
    an 8-24 hour batch. Since orders reach HubSpot within 10 minutes as its Shopify sync documents
    (generator 3.1; nightly before), HubSpot stops messaging shoppers who already bought: at seed 7,
    3,000 people, it reaches 31.3% in time against Segment 32.6%, Data Cloud 32.3% and PostHog 31.2%
    (a tie: PostHog was ahead with the nightly sync) and nets 1,234 against 899, 844 and 722 (1,031
    with the nightly sync). A cart message's effect is bounded at 3 pp (Klaviyo's 3.65 per recipient
    as the ceiling), so a point or two of timely reach is worth little."""
    for case in ("hubspot-vs-segment-batch", "hubspot-vs-data-cloud-cart", "hubspot-vs-posthog-cart"):
        f = results[case]
        if case == "hubspot-vs-posthog-cart":
            assert abs(f["cdp"]["timely"] - f["crm"]["timely"]) < 0.01, case
        else:
            assert f["cdp"]["timely"] > f["crm"]["timely"], case
        assert f["crm"]["net"] > f["cdp"]["net"], case


def test_reading_windows_as_real_time_lands_browse_messages_sooner(results):
    batch, realtime = results["hubspot-vs-segment-realtime-browse"], results["hubspot-vs-segment-windows-realtime-browse"]
    assert realtime["cdp"]["revenue"] > batch["cdp"]["revenue"]  # the need decays while a batch waits
    assert realtime["crm"] == batch["crm"]  # the CRM side is untouched by the CDP's cadence


def test_a_sales_only_crm_wins_where_the_need_is_a_recorded_fact(results):
    """Target industry and stage are fields: nightly imports beat a 12-hour publish of behaviour."""
    f = results["sales-crm-vs-data-cloud-nurture"]
    assert f["crm"]["timely"] > f["cdp"]["timely"] and f["crm"]["net"] > f["cdp"]["net"]
    # webinar follow-up: sent in weekly batches. (Before generator 3.0.0 the CRM also
    # reached attendees sooner, 90% vs 89%; with prospects no longer carrying a login's user id before
    # the won deal, the CDP's profiles split less and it reaches 97% vs 88% — seeds 7-9 agree.)
    # On money the two are now within 4% (CRM 450, CDP 435 at seed 7): not asserted either way.
    web = results["sales-crm-vs-data-cloud-webinar"]
    assert web["cdp"]["timely"] > web["crm"]["timely"]


def test_a_sales_only_crm_cannot_act_on_pricing_behaviour(results):
    f = results["sales-crm-vs-data-cloud-pricing"]
    assert f["crm"]["timely"] == 0 and f["crm"]["revenue"] == 0 and f["cdp"]["net"] > 0


def test_on_hybrid_plays_hubspot_sees_the_behaviour_half_itself(results):
    """Needs with a CRM half and a behaviour half (valued customers browsing; open deals researching
    pricing). Before generator 3.0.0 the hybrid netted the most on both at seed 7. Now that HubSpot's
    tracking script identifies logged-in visitors like the CDP's tag does (issue 19), the CRM's own
    segment nets the most at seed 7 (valued browse: seeds 8, 9 agree; open deals: seed 9 agrees, on
    seed 8 the hybrid leads), and the hybrid still beats the CDP alone on open deals. On valued browse
    the CRM stays the timeliest but, with message effects bounded (issue 18), the CDP's wider
    audience nets a little more (CDP 378, hybrid 374, CRM 338 at seed 7): money is not asserted there."""
    f = results["hubspot-vs-segment-valued-browse"]
    assert f["crm"]["timely"] > max(f["cdp"]["timely"], f["hybrid"]["timely"])
    f = results["hubspot-vs-segment-open-deals"]
    assert f["crm"]["net"] > f["hybrid"]["net"] > f["cdp"]["net"]


def test_the_hybrid_loses_to_the_cdp_when_it_must_send_through_a_sales_crm(results):
    """The hybrid sends through the CRM's tool; a sales CRM without automation sends in batches."""
    for case in ("sales-crm-vs-data-cloud-webinar", "sales-crm-vs-data-cloud-pricing"):
        f = results[case]
        assert f["cdp"]["net"] > f["hybrid"]["net"], case


def _table(people: int) -> str:
    rows = ["| case | play | stack (CRM · CDP) | model | timely reach | true incremental revenue | true net value |",
            "|---|---|---|---|---|---|---|"]
    for case, (preset, play, stacks, extra) in CASES.items():
        f = figures(case, people)
        note = " (windows real time)" if extra else ""
        for m in ("crm", "cdp", "hybrid", "blast"):
            t = f[m]["timely"]
            rows.append(f"| {case} | {play} | {' · '.join(stacks)}{note} | {m} | "
                        f"{'—' if t is None else f'{t:.0%}'} | {f[m]['revenue']:,.0f} | {f[m]['net']:,.0f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    print(_table(parser.parse_args().people))
