"""The fit advisor: must-hold recommendations, the flip across a crossover, bad answers, CLI, page."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from core.errors import UserError
from core.advice.fit import AnswerError, Answers, advise, answers_to_scenario, crossover_of, tco

PAGE = Path(__file__).resolve().parents[1] / "pages" / "7_Fit.py"

#: A sales-led B2B company: long cycles, weekly campaigns, little tracking, no data team.
SALES_LED = dict(business_model="sales-led-b2b", sales_cycle_days=120, cadence="weekly", tracking_maturity="none",
                 login_share=0.1, data_people=0, employees=80, monthly_active_customers=3000, monthly_events=40000,
                 order_value=25000, cdp_ship_days=45, crm_seats=15, crm_ship_days=2)
#: A high-volume B2C retailer with good tracking and a data team.
RETAILER = dict(business_model="b2c-ecommerce", monthly_active_customers=500000, monthly_events=8000000,
                login_share=0.35, tracking_maturity="good", data_people=4, employees=400, cadence="continuous",
                cdp_ship_days=3, order_value=85)
#: A B2B company with a product-led motion and a data team.
PRODUCT_LED = dict(business_model="product-led", monthly_active_customers=20000, monthly_events=1000000,
                   login_share=0.6, tracking_maturity="good", data_people=2, employees=150, cadence="continuous",
                   cdp_ship_days=5, order_value=1200, sales_cycle_days=14)


PROGRESS: list[tuple[float, str]] = []


@pytest.fixture(scope="module")
def sales_led():
    t = time.perf_counter()
    adv = advise(Answers.from_dict(SALES_LED), progress=lambda f, msg: PROGRESS.append((f, msg)))
    return adv, time.perf_counter() - t


@pytest.fixture(scope="module")
def retailer():
    return advise(Answers.from_dict(RETAILER))


@pytest.fixture(scope="module")
def product_led():
    return advise(Answers.from_dict(PRODUCT_LED))


def _check_reasons(adv):
    assert 3 <= len(adv.reasons) <= 4
    for r in adv.reasons:
        assert any(ch.isdigit() for ch in r), f"reason without a figure: {r}"
    assert adv.risks


def test_sales_led_b2b_without_data_team_gets_crm(sales_led):
    adv, seconds = sales_led
    assert adv.recommendation == "crm"
    assert adv.net_value["crm"] > max(adv.net_value["cdp"], adv.net_value["hybrid"])
    _check_reasons(adv)
    assert any("cannot operate" in r for r in adv.risks)
    assert any("bottleneck" in r for r in adv.risks)


def test_b2c_retailer_with_good_tracking_and_data_team_gets_cdp(retailer):
    assert retailer.recommendation == "cdp"
    _check_reasons(retailer)


def test_product_led_b2b_with_data_team_gets_hybrid_or_cdp(product_led):
    assert product_led.recommendation in ("cdp", "hybrid")
    _check_reasons(product_led)


def test_sweep_shape_and_tornado(sales_led):
    adv, _ = sales_led
    sw = adv.sweep
    assert list(sw.columns) == ["knob", "value", "model", "net_value"]
    assert set(sw["knob"]) == {"coverage_web", "identified_share", "cdp_sync_minutes", "cdp_build_days", "cdp_cost_factor"}
    assert set(sw["model"]) == {"crm", "cdp", "hybrid"}
    assert set(adv.crossovers) == set(sw["knob"])
    assert list(adv.tornado["span"]) == sorted(adv.tornado["span"], reverse=True)
    # The user's own point of each sweep is the base run.
    own = sw[(sw["knob"] == "cdp_cost_factor") & (sw["value"] == 1.0)].set_index("model")["net_value"]
    for m in ("crm", "cdp", "hybrid"):
        assert own[m] == pytest.approx(adv.net_value[m])


def test_moving_a_decisive_knob_across_its_crossover_flips_the_answer(sales_led):
    adv, _ = sales_led
    d = adv.crossover_detail["cdp_build_days"]
    x = d["value"]
    assert x is not None, "team iteration speed should decide this business"
    grid = sorted(adv.sweep.loc[adv.sweep["knob"] == "cdp_build_days", "value"].unique())
    lo = max(v for v in grid if v < x)
    hi = min(v for v in grid if v > x)
    assert lo < x < hi
    fast = advise(replace(adv.answers, cdp_ship_days=lo), sweep=False)
    slow = advise(replace(adv.answers, cdp_ship_days=hi), sweep=False)
    assert fast.recommendation == d["below"]
    assert slow.recommendation == d["above"] == "crm"  # the user's side of the crossover is the CRM
    assert fast.recommendation != slow.recommendation


def test_crossover_interpolates_between_the_flip_points():
    import pandas as pd

    rows = []
    for v, crm, cdp in ((0.1, 10.0, 0.0), (0.5, 10.0, 5.0), (0.9, 10.0, 20.0)):
        rows += [{"knob": "k", "value": v, "model": "crm", "net_value": crm},
                 {"knob": "k", "value": v, "model": "cdp", "net_value": cdp},
                 {"knob": "k", "value": v, "model": "hybrid", "net_value": cdp - 1}]
    x, below, above = crossover_of(pd.DataFrame(rows))
    assert (below, above) == ("crm", "cdp")
    assert x == pytest.approx(0.5 + 0.4 * 5 / 15)
    flat = [r for r in rows if r["value"] < 0.9]
    assert crossover_of(pd.DataFrame(flat))[0] is None
    # Two changes (crm → cdp → hybrid): the one next to the user's value is reported.
    rows2 = rows + [{"knob": "k", "value": 1.3, "model": "crm", "net_value": 10.0},
                    {"knob": "k", "value": 1.3, "model": "cdp", "net_value": 20.0},
                    {"knob": "k", "value": 1.3, "model": "hybrid", "net_value": 40.0}]
    x_low, b_low, a_low = crossover_of(pd.DataFrame(rows2), current=0.1)
    assert (b_low, a_low) == ("crm", "cdp") and 0.5 < x_low < 0.9
    x_high, b_high, a_high = crossover_of(pd.DataFrame(rows2), current=1.3)
    assert (b_high, a_high) == ("cdp", "hybrid") and 0.9 < x_high < 1.3


def test_progress_is_reported(sales_led):
    fractions = [f for f, _ in PROGRESS]
    assert len(fractions) > 10
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0 < fractions[0] < 0.1
    assert all(isinstance(m, str) and m for _, m in PROGRESS)


def test_speed_default_size(sales_led):
    _, seconds = sales_led
    # 10 s on an idle machine; CI machines run tests in parallel, so allow headroom.
    assert seconds < 30


def test_tco_accounting_is_explicit():
    a = Answers(crm_seats=10, crm_seat_cost_month=100, cdp_licence_year=60000, cdp_implementation=50000,
                cdp_upkeep_year=20000, connector_year=12000, data_people=3, person_cost_year=100000)
    t = tco(a).groupby("model")["cost"].sum()
    assert t["crm"] == 12000
    assert t["cdp"] == 60000 + 50000 + 20000 + 100000
    assert t["hybrid"] == t["crm"] + t["cdp"] + 12000


def test_answers_map_to_scenario():
    sc = answers_to_scenario(Answers.from_dict(SALES_LED))
    s = dict(sc.settings)
    assert sc.preset == "b2b-saas"
    assert s["cdp_mode"] == "batch" and s["merge_on_email"] is False  # no data team: poorly run
    assert s["crm_send_every_days"] == 7 and s["cdp_build_days"] == 45
    assert s["identified_share"] == 0.1 and s["coverage_web"] < 0.5
    well = dict(answers_to_scenario(Answers.from_dict(RETAILER)).settings)
    assert well["cdp_mode"] == "realtime" and well["cdp_sync_minutes"] <= 15


# ------------------------------------------------------------------ bad answers
@pytest.mark.parametrize("data, field", [
    ({"data_people": 50, "employees": 10}, "data_people"),
    ({"monthly_active_customers": 0}, "monthly_active_customers"),
    ({"cdp_licence_year": -1}, "cdp_licence_year"),
    ({"crm_seat_cost_month": -5}, "crm_seat_cost_month"),
    ({"login_share": 1.5}, "login_share"),
    ({"business_model": "space-tourism"}, "business_model"),
    ({"cadence": 7}, "cadence"),
    ({"channels": 2.5}, "channels"),
    ({"order_value": "lots"}, "order_value"),
    ({"crm_seats": 500, "employees": 20}, "crm_seats"),
    ({"monthly_events": 10, "monthly_active_customers": 1000}, "monthly_events"),
    ({"favourite_colour": "blue"}, "favourite_colour"),
])
def test_bad_answers_name_the_field(data, field):
    with pytest.raises(AnswerError) as exc:
        Answers.from_dict(data)
    assert exc.value.field == field
    assert f"'{field}'" in str(exc.value)
    assert isinstance(exc.value, UserError)


@pytest.mark.parametrize("text", ["[1, 2]", "\"hello\"", "{not json", "42"])
def test_wrong_shape_json(text):
    with pytest.raises(AnswerError) as exc:
        Answers.from_json(text)
    assert exc.value.field == "$"


def test_json_and_url_round_trip():
    a = Answers.from_dict(PRODUCT_LED)
    assert Answers.from_json(a.to_json()) == a
    assert Answers.from_dict(json.loads(json.dumps(a.to_dict()))) == a
    q = a.to_query()
    assert all(isinstance(v, str) for v in q.values())
    assert "seed" not in q  # defaults stay out of the URL
    assert Answers.from_query(q) == a
    assert Answers.from_query({}) == Answers()


# ------------------------------------------------------------------ CLI
def test_cli_bad_answers_exit_2_with_one_line(tmp_path, capsys):
    from core.cli import main

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"data_people": 9, "employees": 3}))
    assert main(["advise", "--answers", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "data_people" in err
    shape = tmp_path / "shape.json"
    shape.write_text("[]")
    assert main(["advise", "--answers", str(shape)]) == 2
    assert main(["advise", "--answers", str(tmp_path / "missing.json")]) == 2


def test_cli_json(tmp_path, capsys):
    from core.cli import main

    f = tmp_path / "a.json"
    f.write_text(json.dumps({**PRODUCT_LED, "sim_people": 800}))
    assert main(["advise", "--answers", str(f), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["recommendation"] in ("crm", "cdp", "hybrid")
    assert set(out["net_value"]) == {"crm", "cdp", "hybrid"}
    assert len(out["reasons"]) >= 3
    assert set(out["crossovers"]) == {"coverage_web", "identified_share", "cdp_sync_minutes", "cdp_build_days",
                                      "cdp_cost_factor"}
    assert main(["advise", "--answers", str(f), "--no-sweep"]) == 0
    assert "Recommendation:" in capsys.readouterr().out


# ------------------------------------------------------------------ page
def test_fit_page_shows_a_recommendation():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGE), default_timeout=180)
    at.query_params["business_model"] = "product-led"
    at.query_params["sim_people"] = "500"
    at.run()
    assert not at.exception, at.exception
    heads = [h.value for h in at.header]
    assert any(h.startswith("Recommendation: ") for h in heads), heads
    assert len(at.warning) >= 1  # risks
    assert at.query_params["business_model"] in ("product-led", ["product-led"])
    assert len(at.get("plotly_chart")) >= 7  # net value, 5 sweeps, tornado, side-by-side
    # Answer the form differently and submit: a new recommendation, and the URL follows.
    at.selectbox(key="fit_business_model").select("sales-led-b2b")
    at.number_input(key="fit_data_people").set_value(0.0)
    next(b for b in at.button if b.label == "Advise me").click()
    at.run()
    assert not at.exception, at.exception
    assert at.query_params["business_model"] in ("sales-led-b2b", ["sales-led-b2b"])
    assert any(h.value.startswith("Recommendation: ") for h in at.header)
    assert any("cannot operate" in w.value for w in at.warning)


def test_fit_page_bad_url_answer_shows_error():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGE), default_timeout=180)
    at.query_params["login_share"] = "2"
    at.query_params["sim_people"] = "500"
    at.run()
    assert not at.exception
    assert any("login_share" in e.value for e in at.error)
    assert at.query_params["sim_people"] in ("500", ["500"])  # the rest of the link is kept
