"""Issue 19 items 3–5: the need on trial, one ops knob at a time, and Fit over a horizon.

- The latent need is never one system's rule in disguise: its person-time Jaccard with the CRM's
  and the CDP's rule on ground truth stays below :data:`JACCARD_BOUND` on every library play.
- The definition of need moves the money (unlike a yardstick), and can move the verdict.
- A checkout abandoner answers a reminder more strongly than a cart-only adder.
- One knob at a time: each row moves exactly one ops knob, and a single deficit can flip a play.
- Fit: the recommendation does not depend on how many days were simulated; costs follow the
  headcount entered; a do-nothing baseline and the CRM + CDP option are in every result.
"""
from __future__ import annotations

import functools

import pandas as pd
import pytest

from core.advice.ops import OPS
from core.advice.scenario import Scenario, build_engine
from core.advice.verdict import need_sensitivity
from core.engine.playrun import need_jaccard, run_play, with_need
from core.engine.plays import NEEDS, get_play, plays_for
from core.measures.campaign import simulate
from core.measures.depth import deep_episodes
from synthetic.presets import PRESETS

#: The latent need must differ from either system's rule by at least this much person-time overlap
#: (measured on seeds 7–9 at 1,500 people: at most 0.77, webinar attendees in market vs the CDP's
#: attendee list; win-back was 1.000 before its need came from latent state).
JACCARD_BOUND = 0.85
#: Fit worlds in these tests: small, so four personas at two lengths stay quick.
SIM_PEOPLE, SIM_SEEDS = 300, 3


@pytest.fixture(scope="module")
def engines():
    return {preset: build_engine(Scenario.make(preset, seed=7, people=1200, days=60)) for preset in PRESETS}


def test_the_latent_need_is_never_a_systems_rule_on_ground_truth(engines):
    seen = set()
    for preset, engine in engines.items():
        for play in plays_for(preset):
            for other in ("crm-rule", "cdp-rule"):
                j = need_jaccard(engine, play, other)
                assert j < JACCARD_BOUND, (preset, play.name, other, j)
            seen.add(play.name)
    assert "win-back" in seen and "webinar-follow-up" in seen


def test_need_jaccard_is_one_for_a_rule_against_itself(engines):
    """The measure can fail: a need that *is* the CDP's rule scores 1."""
    from dataclasses import replace

    play = get_play("win-back")
    as_cdp = replace(play, truth={**dict(play.cdp), "name": "the CDP rule as the need"})
    assert need_jaccard(engines["b2c-retail"], as_cdp, "cdp-rule") == pytest.approx(1.0)


def test_the_definition_of_need_moves_the_money_and_can_move_the_verdict():
    # 90 days, 1,200 people. Measured since orders reach the CRM in 10 minutes (generator 3.1, HubSpot's
    # documented Shopify sync): omnichannel cart abandonment goes to the CRM on the latent need and on
    # the CRM's rule and to the CDP on the CDP's rule (CRM 274, CDP 288), and omnichannel win-back to
    # the CDP on the latent need only; b2c-retail's plays keep one winner on every need at this size
    # (with the nightly sync its cart play moved), as do b2b-saas's
    flipped = []
    for preset in ("b2c-retail", "omnichannel"):
        s = Scenario.make(preset, seed=7, people=1200, days=90)
        engine = build_engine(s)
        for play in plays_for(preset):
            run = run_play(engine, play, s.activation(), models=("crm", "cdp"))
            rows = need_sensitivity(run, s.campaign())
            assert [r["need"] for r in rows] == list(NEEDS)
            assert rows[0]["net_value"] == {m: simulate(run, m, s.campaign()).true_net_value for m in ("crm", "cdp")}
            if len({r["winner"] for r in rows}) > 1:
                flipped.append((preset, play.name))
    assert flipped, "no play's verdict moved with the definition of need"


def test_with_need_changes_only_when_a_message_helps(engines):
    engine = engines["b2c-retail"]
    s = Scenario.make("b2c-retail", seed=7, people=1200, days=60)
    run = run_play(engine, get_play("cart-abandonment"), s.activation(), models=("crm", "cdp"))
    crm_need = with_need(run, "crm-rule")
    assert crm_need.members is run.members and crm_need.truth is run.truth
    assert not crm_need.needs.equals(run.needs)
    assert with_need(run, "latent").needs.equals(run.needs)


def test_a_checkout_abandoner_is_deeper_than_a_cart_only_adder():
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    events = pd.DataFrame({"person_id": [1, 2, 3], "event_type": ["checkout_started", "add_to_cart", "checkout_started"],
                           "ts": [t0, t0, t0 - pd.Timedelta(days=2)]})
    needs = pd.DataFrame({"person_id": [1, 2, 3], "enter": [t0 + pd.Timedelta(minutes=30)] * 3,
                          "exit": [t0 + pd.Timedelta(days=1)] * 3})
    assert deep_episodes(events, needs, "checkout_started").tolist() == [True, False, False]
    resp = get_play("cart-abandonment").response
    assert resp.deep_event == "checkout_started" and resp.deep_rel > resp.shallow_rel


def test_depth_weights_move_the_cart_play_value(engines):
    from dataclasses import replace

    engine = engines["b2c-retail"]
    s = Scenario.make("b2c-retail", seed=7, people=1200, days=60)
    play = get_play("cart-abandonment")
    flat = replace(play, response=replace(play.response, deep_rel=1.0, shallow_rel=1.0))
    deep = run_play(engine, play, s.activation(), models=("cdp",))
    same = run_play(engine, flat, s.activation(), models=("cdp",))
    assert simulate(deep, "cdp", s.campaign()).true_net_value != simulate(same, "cdp", s.campaign()).true_net_value


# ------------------------------------------------------------------ one knob at a time
def test_each_tornado_row_moves_exactly_one_ops_knob():
    from core.advice.tornado import knob_moves

    base = {"coverage_web": 0.7}
    moves = knob_moves(base)
    for key, settings in moves.items():
        if key == ("base",):
            continue
        side, knob, level = key
        assert settings[knob] == OPS[side][level][knob]
        changed = {k for k in set(settings) | set(base) if settings.get(k) != base.get(k)}
        assert changed <= {knob}, (key, changed)
    assert {k[1] for k in moves if k != ("base",)} == {k for side in OPS.values() for lv in side.values() for k in lv}


def test_a_single_crm_deficit_flips_cart_abandonment():
    """With orders reaching the CRM in 10 minutes (HubSpot's documented Shopify sync) the default CRM
    wins carts at this size (123.7 vs 110.3); a single CRM deficit hands them back to the CDP — the
    nightly order sync of a CRM fed by imports among them (104.3 vs 110.3)."""
    from core.advice.tornado import flipping_knobs, ops_tornado

    tor = ops_tornado(Scenario.make("b2c-retail", seed=7, people=800, days=60), "cart-abandonment", sides=("crm",))
    assert tor["base"]["winner"] == "crm", tor["base"]
    flips = flipping_knobs(tor)
    assert flips and all(f.startswith("crm ") and f.endswith("poorly-run") for f in flips), flips
    assert "crm crm_order_sync_hours → poorly-run" in flips, flips
    for r in tor["rows"]:
        assert r["flips"] == (r["winner"] != tor["base"]["winner"])
        assert set(r["net_value"]) == {"crm", "cdp"}


# ------------------------------------------------------------------ Fit over a horizon
def _personas():
    """The personas of docs/fit.md (their answers live in tests/test_fit.py)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("fit_cases", Path(__file__).with_name("test_fit.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return {"sales-led": mod.SALES_LED, "fifty": mod.FIFTY, "retailer": mod.RETAILER, "product-led": mod.PRODUCT_LED}


PERSONAS = _personas()


@functools.cache
def _advice_at(name: str, days: int):
    """One persona's advice on small worlds at ``days`` simulated days (shared by the tests below)."""
    from core.advice.fit import Answers, advise

    return advise(Answers.from_dict({**PERSONAS[name], "sim_people": SIM_PEOPLE, "sim_days": days}), seeds=SIM_SEEDS,
                  sweep=False, workers=0)


@pytest.mark.parametrize("name", list(PERSONAS))
def test_the_recommendation_does_not_depend_on_the_simulated_days(name):
    """Build time is a one-off delay over the horizon, the window measures steady state after a
    warm-up and is scaled by the world's own monthly actives, so 60 and 180 simulated days give
    the same advice (small worlds keep the test fast)."""
    recs = {days: _advice_at(name, days).recommendation for days in (60, 180)}
    assert recs[60] == recs[180], recs


def test_a_world_s_monthly_actives_follow_its_arrivals():
    """A world of D days holds everyone active at some time in it; the customers active in one month
    of it are fewer, the more so the longer D (what the yearly scale divides by)."""
    import numpy as np

    from synthetic import preset_config
    from synthetic.arrivals import draw_arrivals, monthly_actives

    month = 365.25 / 12 * 86_400
    for preset in ("plg-saas", "b2c-retail", "b2b-saas"):
        for days in (90, 210):
            cfg = preset_config(preset, seed=7, people=20_000, days=days)
            a = draw_arrivals(cfg, 20_000, np.random.default_rng(1))
            counted = np.mean([((a.arrived < t + month) & (a.leaves > t)).sum() for t in np.arange(30, days - 30, 10) * 86_400.0])
            assert monthly_actives(cfg, 30) == pytest.approx(counted, rel=0.01), (preset, days)
        assert monthly_actives(preset_config(preset, days=210), 30) < 0.9 * monthly_actives(preset_config(preset, days=90), 30)


def test_a_years_sends_do_not_depend_on_the_simulated_days():
    """The yearly scale divides by the simulated world's monthly actives, not its people. Scaled by
    its people, a 180-day window's sends a year came to 0.72 of a 60-day window's for the retailer
    (fewer of a longer world's people are active in any one month) and its money with them, which
    moved the product-led advice with ``sim_days`` (1,000 people × 4 seeds: CRM + CDP at 60 days,
    the CRM at 180)."""
    cost = {days: _advice_at("retailer", days).summary.set_index("model")["send_cost_12m"] for days in (60, 180)}
    for model in ("crm", "cdp"):
        assert cost[180][model] == pytest.approx(cost[60][model], rel=0.15), (model, cost[60][model], cost[180][model])


def test_build_time_is_a_one_off_delay_and_one_off_costs_are_spread():
    from core.advice.horizon import delay_share
    from core.advice.fit import Answers
    from core.advice.costs import tco_split, tco_totals

    assert delay_share(45, 3) == pytest.approx((45 / 365 / 3, 45 / 365))
    assert delay_share(800, 1) == (1.0, 1.0)
    a = Answers(cdp_implementation=60_000, horizon_years=3)
    split = tco_split(a)["cdp"]
    assert tco_totals(a)["cdp"] == pytest.approx(split["recurring"] + 60_000 / 3)
    assert tco_totals(Answers(cdp_implementation=60_000, horizon_years=1))["cdp"] > tco_totals(a)["cdp"]


def test_every_result_has_a_do_nothing_baseline_and_crm_plus_cdp():
    from core.advice.fit import Answers, advise, text_report

    adv = advise(Answers.from_dict({**PERSONAS["fifty"], "sim_people": SIM_PEOPLE}), seeds=2, sweep=False, workers=0)
    assert adv.baseline == adv.net_value["none"] == -adv.answers.crm_seats * adv.answers.crm_seat_cost_month * 12
    assert "crm+cdp" in adv.net_value and "none" in set(adv.summary["model"])
    # every model is negative for a 50-person firm; the reasons say doing nothing beats them all
    if max(adv.net_value[m] for m in ("crm", "cdp", "hybrid", "crm+cdp")) < adv.baseline:
        assert "no targeted campaigns at all" in adv.reasons[0]
    else:
        assert "Against no targeted campaigns" in adv.reasons[0]
    assert set(adv.routing["crm_cdp_routes"].values()) <= {"crm", "cdp"}
    assert "test_value_year" in adv.routing
    report = text_report(adv)
    assert "no targeted campaigns" in report and "CRM + CDP" in report and "year one" in report


def test_a_marketer_run_cdp_sits_between_no_data_team_and_one_fte():
    from core.advice.fit import Answers, operating_levels
    from core.advice.costs import tco

    none = operating_levels(Answers(data_people=0))["cdp"]
    marketers = operating_levels(Answers(data_people=0, cdp_operator="marketers"))["cdp"]
    one = operating_levels(Answers(data_people=1))["cdp"]
    assert none < marketers < one
    items = set(tco(Answers(data_people=0, cdp_operator="marketers")).query("model == 'cdp'")["item"])
    assert any(i.startswith("marketers running the CDP") for i in items)


def test_crm_plus_cdp_routes_follow_prior_and_test():
    from core.advice.horizon import bayes_route

    assert bayes_route(None, None) == "crm"  # nothing known: the CRM the business already runs
    assert bayes_route((1000.0, 10.0), None) == "cdp"
    assert bayes_route((1000.0, 10.0), (-50.0, 1000.0)) == "cdp"  # a noisy test barely moves a firm prior
    assert bayes_route((10.0, 1000.0), (-500.0, 10.0)) == "crm"  # a sharp test overrules a vague prior


def test_the_cdp_licence_scales_with_tracked_users_from_the_published_tier():
    from core.advice.costs import CDP_LICENCE_FLOOR, cdp_licence
    from core.advice.fit import Answers

    small, big = Answers(monthly_active_customers=20_000), Answers(monthly_active_customers=2_000_000, monthly_events=0)
    assert cdp_licence(small) == CDP_LICENCE_FLOOR  # below the floor of an audiences-capable plan
    assert cdp_licence(big) == pytest.approx(12 * (120 + (2_000_000 - 10_000) * 0.011))
    assert cdp_licence(Answers(cdp_licence_year=45_000)) == 45_000  # an answer wins


def test_the_marketing_tier_scales_with_contacts_from_the_published_tier():
    """The CRM's marketing-automation tier is priced by contacts like the CDP licence by tracked users:
    neither side's licence stays flat while the other's grows with the customer base."""
    from dataclasses import replace

    from core.advice.costs import (HUBSPOT_PER_1000_MONTH, HUBSPOT_PRO_CONTACTS, HUBSPOT_PRO_MONTH, cdp_licence,
                                   marketing_tier, tco)
    from core.advice.fit import Answers

    small, big = Answers(monthly_active_customers=1_500), Answers(monthly_active_customers=3_000_000, monthly_events=0)
    assert marketing_tier(small) == 12 * HUBSPOT_PRO_MONTH  # inside the tier's 2,000 contacts
    assert marketing_tier(big) == pytest.approx(12 * (HUBSPOT_PRO_MONTH + (3_000_000 - HUBSPOT_PRO_CONTACTS) / 1_000 * HUBSPOT_PER_1000_MONTH))
    assert marketing_tier(big) / marketing_tier(small) > 100 and cdp_licence(big) / cdp_licence(small) > 5
    assert marketing_tier(Answers(marketing_automation_year=9_600)) == 9_600  # an answer wins
    assert marketing_tier(replace(big, marketing_automation="no")) == 0.0
    t = tco(big)
    tier = t[t["item"] == "Marketing automation tier"].set_index("model")["cost"]
    assert set(tier.index) == {"crm", "cdp", "hybrid", "crm+cdp"} and tier.nunique() == 1  # every model with campaigns
    from core.advice.fit import AnswerError

    with pytest.raises(AnswerError) as exc:
        Answers.from_dict({"marketing_automation_year": -5})
    assert exc.value.field == "marketing_automation_year"


def test_compare_json_has_need_sensitivity_and_tornado(tmp_path, capsys):
    import json

    from core.cli.main import main

    out = tmp_path / "w"
    assert main(["generate", "--preset", "b2c-retail", "--people", "300", "--days", "30", "--out", str(out)]) == 0
    capsys.readouterr()
    args = ["compare", "--world", str(out), "--play", "cart-abandonment", "--sweep-people", "0"]
    assert main([*args, "--tornado-people", "300", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [n["need"] for n in got["need_sensitivity"]] == list(NEEDS)
    assert all(set(n) >= {"need", "winner", "net_value"} for n in got["need_sensitivity"])
    assert got["tornado"] and all(set(r) >= {"knob", "side", "level", "winner", "net_value"} for r in got["tornado"])
    assert {r["side"] for r in got["tornado"]} == {"crm", "cdp"}
    assert main([*args, "--tornado-people", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--tornado-people" in err and err.count("\n") == 1


def test_the_ops_tornado_chart_marks_the_moves_that_flip():
    from core.present import charts

    def row(knob, side, level, crm, cdp):
        return {"knob": knob, "side": side, "level": level, "value": 1, "net_value": {"crm": crm, "cdp": cdp},
                "gap": cdp - crm, "winner": "cdp" if cdp > crm else "crm", "flips": not cdp > crm}
    tor = {"base": {"winner": "cdp", "gap": 50.0, "net_value": {"crm": 100.0, "cdp": 150.0}},
           "rows": [row("coverage_web", "cdp", "poorly-run", 100, 40), row("coverage_web", "cdp", "well-run", 100, 190),
                    row("crm_build_days", "crm", "well-run", 120, 150), row("crm_build_days", "crm", "poorly-run", 90, 150)]}
    fig = charts.ops_tornado(tor, {"coverage_web": "Web browsers whose events reach the CDP"})
    assert fig.layout.title.text and fig.layout.xaxis.title.text
    texts = [t for tr in fig.data for t in tr.text]
    assert texts.count("→ CRM") == 1
    assert any("Web browsers" in str(y) for tr in fig.data for y in tr.y)
    assert {tr.name for tr in fig.data} == {"knob at its well run value", "knob at its poorly run value"}
