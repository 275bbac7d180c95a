"""``audience-lab profile``: the rates a world's data shows, the same way for imported and generated worlds."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from core.cli import main
from core.ingest import ImportOptions, import_data, open_world
from core.measures.profile import profile_folder, profile_world
from synthetic.io import write_world
from tests.roundtrip import crm_snapshot, segment_csv


def run(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def close(a, b, rel=1e-9):
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


HAND = """timestamp,event,anonymous_id,user_id,email,session_id,value
2026-09-01T10:00:00Z,page_view,a1,,,s1,
2026-09-01T10:01:00Z,page_view,a1,,,s1,
2026-09-01T10:02:00Z,add_to_cart,a1,,,s1,
2026-09-01T10:03:00Z,purchase,a1,u1,,s1,30
2026-09-02T10:00:00Z,page_view,a2,u1,,s2,
2026-09-02T10:01:00Z,add_to_cart,a2,u1,,s2,
2026-09-03T10:00:00Z,page_view,a3,,,s3,
2026-09-03T10:00:30Z,form_submit,a3,,x@y.example,s3,
2026-09-04T10:00:00Z,page_view,a4,,,s4,
2026-09-05T10:00:00Z,purchase,a4,,,s5,90
"""


def test_hand_computed_rates(tmp_path):
    """Every rate checked against a count done by hand on a ten-event file."""
    src = tmp_path / "hand.csv"
    src.write_text(HAND)
    import_data(str(src), str(tmp_path / "w"))
    p = profile_folder(tmp_path / "w")
    c, r = p.counts, p.rates
    # keys: u1 (a1 and a2 stitch to u1 through the purchase and the login), x@ (a3 through the form), a4
    assert c["users"] == 3 and c["identified_users"] == 2 and c["sessions"] == 5 and c["events"] == 10
    assert p.days == 5  # 2026-09-01 .. 2026-09-06 (whole days)
    assert close(r["identified_event_share"], 4 / 10)  # the file has anonymous ids, so the share means something
    assert close(r["sessions_per_user_week"], 5 / (3 * 5 / 7))
    assert close(r["pages_per_session"], 5 / 4)               # 5 page views over the 4 sessions with one
    assert close(r["cart_session_share"], 2 / 5)
    assert close(r["purchase_session_share"], 2 / 5)
    assert close(r["cart_to_purchase"], 2 / 2)
    assert close(r["cart_abandonment"], 1 / 2)                # s2 carted and did not buy
    assert close(r["purchase_rate"], 2 / 3)                   # u1 and a4 bought
    assert close(r["average_order_value"], 60.0)
    assert close(r["multi_device_share"], 1 / 2)              # u1 on a1+a2; x@ on a3
    assert close(r["anonymous_ids_per_identified_user"], 1.5)
    assert r["ad_clicks_per_session"] is None and r["email_click_to_open"] is None
    assert close(p.events_per_user_day["page_view"], 5 / 3 / 5)


def test_sessions_from_30_minute_gaps_when_the_data_has_none(tmp_path):
    src = tmp_path / "nos.csv"
    src.write_text("timestamp,event,user_id\n"
                   "2026-09-01T10:00:00Z,page_view,u1\n2026-09-01T10:29:00Z,page_view,u1\n"
                   "2026-09-01T11:00:00Z,page_view,u1\n2026-09-01T10:00:00Z,page_view,u2\n")
    import_data(str(src), str(tmp_path / "w"))
    p = profile_folder(tmp_path / "w")
    assert p.sessions_derived and p.counts["sessions"] == 3  # the 31-minute gap starts a new session
    assert close(p.rates["pages_per_session"], 4 / 3)


def test_a_purchase_log_does_not_pretend_to_know_visits(tmp_path):
    src = tmp_path / "buys.csv"
    src.write_text("date,customer_id,amount\n2026-09-01,c1,10\n2026-09-20,c1,30\n2026-09-03,c2,20\n")
    import_data(str(src), str(tmp_path / "w"), ImportOptions.make(constant_event="purchase"))
    p = profile_folder(tmp_path / "w")
    assert p.rates["sessions_per_user_week"] is None and p.rates["purchase_rate"] is None
    assert p.rates["identified_event_share"] is None  # a log of identified rows says nothing about logins
    assert close(p.rates["average_order_value"], 20.0)
    assert close(p.rates["purchases_per_buyer_week"], 3 / (2 * p.days / 7))


def test_profile_of_imported_data_equals_profile_of_the_world_it_came_from(make_world, tmp_path):
    """Like for like: a synthetic world's profile reads what its CDP received, which is exactly what
    an export of it holds — so the two profiles agree rate for rate."""
    world = make_world("b2c-retail")
    src = segment_csv(world, tmp_path / "tracks.csv")
    crm = crm_snapshot(world, tmp_path / "crm.csv")
    import_data(str(src), str(tmp_path / "w"), ImportOptions.make(keep_pii=True), crm=str(crm))
    imported = profile_folder(tmp_path / "w")
    # restrict the import to the world's period, as the synthetic profile is
    obs = open_world(tmp_path / "w")
    inside = obs.events[(obs.events["ts"] >= world.start) & (obs.events["ts"] < world.end)]
    from dataclasses import replace

    clipped = profile_world(replace(obs, events=inside, start=world.start, end=world.end))
    synthetic = profile_world(world)
    assert clipped.counts == synthetic.counts
    for key, value in synthetic.rates.items():
        assert close(clipped.rates[key], value), key
    assert imported.counts["events"] == len(obs.events) > clipped.counts["events"]
    assert clipped.crm["contacts"] == synthetic.crm["contacts"]
    for field, fill in synthetic.crm["fill_rates"].items():
        assert close(clipped.crm["fill_rates"][field], fill, rel=1e-9), field


def test_in_memory_and_folder_profiles_agree(make_world, tmp_path):
    world = make_world("b2b-saas")
    write_world(world, tmp_path / "w")
    a, b = profile_world(world), profile_folder(tmp_path / "w")
    assert a.counts == b.counts
    assert all(close(a.rates[k], b.rates[k]) for k in a.rates)
    assert a.crm["update_lag_hours_median"] is not None and a.crm["update_lag_hours_median"] > 0  # B2B reps lag


def test_cli_profile_text_and_json(make_world, tmp_path, capsys):
    write_world(make_world("b2c-retail"), tmp_path / "w")
    assert run(["profile", "--world", str(tmp_path / "w"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "synthetic" and 0 < out["rates"]["cart_abandonment"] < 1
    assert run(["profile", "--world", str(tmp_path / "w")]) == 0
    text = capsys.readouterr().out
    assert "cart abandonment" in text and "sessions per user per week" in text
    assert run(["profile", "--world", str(tmp_path / "nowhere")]) == 2
    assert "world.json is missing" in capsys.readouterr().err
