"""True to size (issue 18): the world's own books balance and every size sits inside its benchmark band.

What a user would notice if these broke: a campaign credited with more revenue than the whole
world made in the period; a calibration sheet row outside its band; a blast whose value does not
move when the off-target effect does; a B2B demo worth a whole deal.
"""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from core.advice.ops import ops_settings
from core.advice.scenario import Scenario, build_engine, default_play
from core.engine.playrun import run_play
from core.measures.calibration import (OFF_TARGET_BAND, calibration_sheet, hillstrom_mens, off_target_sensitivity,
                                       sheet_frame)
from core.measures.campaign import simulate
from core.measures.response import demo_funnel, message_effect, period_revenue
from core.present.calibview import OUTSIDE, calibration_table
from synthetic.presets import PRESETS

PEOPLE = 1_200
#: A sales-led world needs more people to close a handful of deals in 90 days (none → no revenue to share).
PEOPLE_BY_PRESET = {"b2b-saas": 2_500}
SEEDS = (3, 11, 21)
CORNERS = {"default": {}, "crm well · cdp poor": {"crm": "well-run", "cdp": "poorly-run"},
           "crm poor · cdp well": {"crm": "poorly-run", "cdp": "well-run"},
           "both well": {"crm": "well-run", "cdp": "well-run"}, "both poor": {"crm": "poorly-run", "cdp": "poorly-run"}}

_engines: dict = {}


def _engine(preset: str, seed: int, corner: str):
    key = (preset, seed, corner)
    if key not in _engines:
        sc = Scenario.make(preset, seed, PEOPLE_BY_PRESET.get(preset, PEOPLE), 90, ops_settings(CORNERS[corner]))
        _engines[key] = (sc, build_engine(sc))
    return _engines[key]


def _cases() -> list[tuple[int, str]]:
    """Three seeds at the defaults, and each ops corner (one seed: the corners move only each side's systems)."""
    return [(seed, "default") for seed in SEEDS] + [(SEEDS[0], c) for c in CORNERS if c != "default"]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_no_model_earns_more_than_the_world_made(preset):
    """Each model's (and the blast's) true incremental revenue ≤ the revenue the world's events
    record in the period, on the preset's default play, at the defaults and every ops corner."""
    for seed, corner in _cases():
        sc, engine = _engine(preset, seed, corner)
        revenue = period_revenue(engine.world)
        run = run_play(engine, default_play(preset), sc.activation())
        for model in (*run.models, "blast"):
            res = simulate(run, model, sc.campaign())
            assert 0 <= res.true_incremental_revenue <= revenue, (preset, corner, seed, model)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_anchor_is_inside_its_band(preset):
    """The calibration sheet of every preset: all anchors inside their bands over three seeds at the
    defaults (the ops corners move only each side's own systems, never these sizes; the money
    invariant above covers the corners)."""
    for seed in SEEDS:
        corner = "default"
        sc, engine = _engine(preset, seed, corner)
        sheet = calibration_sheet(engine, sc)
        assert len(sheet) >= 5
        outside = [(a.name, a.value, a.low, a.high) for a in sheet if a.within is not True]
        assert not outside, (preset, seed, corner, outside)


def test_the_sheet_lists_every_kind_of_anchor():
    names = {p: [a.name for a in calibration_sheet(_engine(p, SEEDS[0], "default")[1], _engine(p, SEEDS[0], "default")[0])]
             for p in ("b2c-retail", "b2b-saas", "plg-saas")}
    b2c, b2b, plg = (" | ".join(names[p]) for p in ("b2c-retail", "b2b-saas", "plg-saas"))
    for want in ("Hillstrom replay: conversion lift", "Hillstrom replay: spend lift", "Cart flow", "Cart abandonment",
                 "E-mail open rate", "E-mail click rate", "Play share of revenue: cart-abandonment"):
        assert want in b2c
    for want in ("B2B demo → won", "B2B won revenue per demo", "Lead → MQL", "Play share of revenue: pricing-intent"):
        assert want in b2b
    assert "Play share of revenue: trial-gone-quiet" in plg


def test_blast_value_rises_with_the_off_target_effect():
    """Documented direction: the more a message moves people without a need, the more the blast
    (mostly such sends) is worth; with none, its off-target sends earn nothing."""
    for preset in ("b2c-retail", "b2b-saas"):
        sc, engine = _engine(preset, SEEDS[0], "default")
        run = run_play(engine, default_play(preset), sc.activation())
        band = off_target_sensitivity(run, sc.campaign())
        assert [b["off_target"] for b in band] == [n for n, _ in OFF_TARGET_BAND]
        rev = [b["true_incremental_revenue"]["blast"] for b in band]
        assert rev[0] < rev[1] < rev[2]
        net = [b["true_net_value"]["blast"] for b in band]
        assert net[0] < net[1] < net[2]


def test_a_demo_is_worth_what_the_worlds_funnel_realises():
    sc, engine = _engine("b2b-saas", SEEDS[2], "default")
    f = demo_funnel(engine.world)
    assert f.demos > 0
    assert f.revenue_per_demo <= period_revenue(engine.world) / f.demos + 1e-9
    b = engine.world.config.behaviour
    assert f.revenue_per_demo < b.order_value * b.sql_to_opp * b.opp_to_won  # the old per-demo value, far above


def test_effects_are_bounded_in_absolute_terms_and_shrink_relatively():
    import numpy as np

    rho = np.array([0.005, 0.05, 0.125, 0.4])
    e = message_effect(rho, 1.2, 0.03)
    assert (e <= 0.03).all() and (np.diff(e) > 0).all()
    rel = e / rho
    assert (np.diff(rel) < 0).all() and rel[0] > 1.0 and rel[2] < 0.3


def test_hillstrom_published_figures_come_from_the_bundled_data():
    h = hillstrom_mens()
    assert h.conversion[0] == pytest.approx(0.0068, abs=0.0002)
    assert h.visit[0] == pytest.approx(0.0766, abs=0.0005)
    assert h.spend[0] == pytest.approx(0.77, abs=0.01)


def test_outside_band_rows_are_marked_on_the_page_table():
    sc, engine = _engine("b2c-retail", SEEDS[0], "default")
    sheet = calibration_sheet(engine, sc)
    bad = [replace(sheet[0], low=10.0, high=20.0), *sheet[1:]]
    table = calibration_table(bad)
    assert table.loc[0, "inside"] == OUTSIDE and (table.loc[1:, "inside"] == "✓").all()
    assert list(sheet_frame(sheet).columns)[:5] == ["name", "value", "low", "high", "within"]


def test_calibrate_cli_json_and_bad_preset(capsys):
    from core.cli.main import main

    assert main(["calibrate", "--preset", "plg-saas", "--people", "1200", "--seed", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["preset"] == "plg-saas" and out["anchors"]
    assert set(out["anchors"][0]) >= {"name", "source", "low", "high", "value", "within"}
    assert all(a["within"] for a in out["anchors"])
    assert main(["calibrate", "--preset", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "accepted" in err


def test_b2b_money_reads_as_expected_pipeline_value_with_the_demo_count():
    """Issue 23 item 4: a B2B play's true money is expected pipeline value of extra demo requests,
    never 'revenue' beside 'Deals won'; a B2C play keeps 'True incremental revenue'."""
    from core.present import liftview as lv
    from core.present.labels import PIPELINE_ROW

    sc, engine = _engine("b2b-saas", SEEDS[0], "default")
    run = run_play(engine, default_play("b2b-saas"), sc.activation())
    value, _ = lv.model_tables(lv.build_view(run, sc.campaign(), 20))
    assert PIPELINE_ROW in value.frame.index and "True incremental revenue" not in value.frame.index
    assert value.frame.loc[PIPELINE_ROW].str.contains("extra demo requests").all()
    sc2, engine2 = _engine("b2c-retail", SEEDS[0], "default")
    run2 = run_play(engine2, default_play("b2c-retail"), sc2.activation())
    value2, _ = lv.model_tables(lv.build_view(run2, sc2.campaign(), 20))
    assert "True incremental revenue" in value2.frame.index


def test_the_sensitivity_table_names_the_winner_at_each_off_target_size():
    from core.present.calibview import off_target_table

    sc, engine = _engine("b2c-retail", SEEDS[0], "default")
    run = run_play(engine, default_play("b2c-retail"), sc.activation())
    band = off_target_sensitivity(run, sc.campaign())
    table = off_target_table(band)
    assert len(table) == 3 and "Blast (everyone)" in table.columns
    for (_, row), b in zip(table.iterrows(), band):
        nets = {m: v for m, v in b["true_net_value"].items()}
        assert row["best"].lower().startswith(max(nets, key=nets.get)[:3])


def test_scenario_page_shows_the_sheet_and_campaign_lift_the_band():
    """The pages stay thin and show the sheet (outside rows marked) and the off-target band on demand."""
    from tests.test_pages import SCENARIO, assert_clean, run_page

    at = run_page(SCENARIO, people="1200")
    assert_clean(at)
    at.button(key="calibrate").click().run()
    assert_clean(at)
    frames = [d.value for d in at.dataframe]
    sheet = next(f for f in frames if "anchor" in f.columns)
    assert {"this world", "accepted band", "inside", "source"} <= set(sheet.columns)
    assert sheet["anchor"].str.contains("Hillstrom replay").any()
    lift = run_page("pages/6_Campaign_lift.py", people="1200")
    assert_clean(lift)
    lift.button(key="off_target_band").click().run()
    assert_clean(lift)
    tables = [t.value for t in lift.table]
    band = next(t for t in tables if "message to someone without a need" in t.columns)
    assert len(band) == 3 and "Blast (everyone)" in band.columns
