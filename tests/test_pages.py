"""Page tests with Streamlit's AppTest, plus the URL-state round trip.

Every page runs through the router (``app.py`` → ``st.navigation``), addressed by its file as
``AppTest.switch_page`` expects; every page runs on a small world (people=2000 via the URL) so
worlds are shared through st.cache_resource within this process and the suite stays fast.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from core.advice.scenario import POORLY_RUN, Scenario  # noqa: E402
from core.present.urlstate import DEFAULT_PEOPLE, decode, decode_with_warnings, encode  # noqa: E402
from synthetic.presets import PRESETS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "pages/1_Scenario.py"
PAGES = [SCENARIO, "pages/2_Journeys.py", "pages/3_Segments.py", "pages/4_Freshness.py",
         "pages/5_Overlap.py", "pages/6_Campaign_lift.py"]
SMALL = "2000"
TIMEOUT = 180


def run_page(path: str, **params: str) -> AppTest:
    """Open ``path`` through the router with these URL parameters (the Scenario page is the home page)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["people"] = SMALL
    for k, v in params.items():
        at.query_params[k] = v
    if path != SCENARIO:
        at.switch_page(path)
    at.run()
    return at


def specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def arr(v) -> list:
    """A trace's values: plotly encodes numpy arrays as {"dtype", "bdata"} (base64) in JSON."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).tolist()
    return list(v or [])


def ys(spec: dict) -> list:
    out = []
    for tr in spec["data"]:
        out.extend(arr(tr.get("y")))
    return out


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# ------------------------------------------------------------------ URL state (pure)
def test_ui_state_round_trip():
    s = Scenario.make("b2b-saas", 11, 3000, 60, {"coverage_web": 0.4, "cdp_mode": "batch", "merge_on_email": False,
                                                 "crm_build_days": 2.5, "custom_field_sprawl": 3})
    params = encode(s, "webinar-follow-up")
    assert all(isinstance(v, str) for v in params.values())
    s2, play = decode(params)
    assert s2 == s and play == "webinar-follow-up"


def test_ui_state_drops_defaults_and_rejects_garbage():
    s = Scenario.make("b2c-retail", 7, 2000, 90, {"coverage_web": 0.85})  # the preset default value
    assert "coverage_web" not in encode(s, "cart-abandonment")
    s2, play, warnings = decode_with_warnings({"preset": "nope", "people": "-5", "play": "x", "zzz": "1",
                                               "coverage_web": "2", "cdp_mode": "sometimes"})
    assert s2.preset == "b2c-retail" and s2.people == DEFAULT_PEOPLE and s2.settings == ()
    assert len(warnings) == 6


# ------------------------------------------------------------------ every page, every preset
@pytest.mark.parametrize("path", PAGES)
def test_page_runs_on_default_preset(path):
    at = run_page(path)
    assert_clean(at)
    assert at.title, "page shows a title"
    assert at.get("plotly_chart"), "page shows at least one chart"


@pytest.mark.parametrize("preset", [p for p in sorted(PRESETS) if p != "b2c-retail"])
@pytest.mark.parametrize("path", PAGES)
def test_page_runs_on_each_preset(path, preset):
    at = run_page(path, preset=preset)
    assert_clean(at)


def test_every_chart_has_title_axes_and_a_caption():
    at = run_page("pages/4_Freshness.py")
    for spec in specs(at):
        layout = spec["layout"]
        assert layout["title"]["text"]
        assert layout["xaxis"]["title"]["text"] and layout["yaxis"]["title"]["text"]
    assert len(at.caption) >= len(at.get("plotly_chart"))


# ------------------------------------------------------------------ controls change numbers
def test_bad_url_params_warn_not_crash():
    at = run_page("pages/4_Freshness.py", seed="abc", coverage_web="9", bogus="1")
    assert not at.exception
    assert len(at.warning) >= 3
    assert at.get("plotly_chart")


def test_poorly_run_button_changes_identity_chart():
    at = run_page(SCENARIO)
    before = ys(specs(at)[1])
    next(b for b in at.button if b.label == "Poorly run CDP").click().run()
    assert_clean(at)
    after = ys(specs(at)[1])
    assert before != after
    assert after[2] < before[2], "fewer events on addressable profiles when the CDP is poorly run"


def test_knob_in_url_changes_freshness_curve():
    good = run_page("pages/4_Freshness.py")
    bad = run_page("pages/4_Freshness.py", **{k: str(v).lower() if isinstance(v, bool) else str(v)
                                             for k, v in POORLY_RUN.items()})
    assert_clean(bad)

    def cdp_curve(at):
        spec = specs(at)[0]
        return next(arr(tr["y"]) for tr in spec["data"] if tr["name"] == "CDP audience")

    assert cdp_curve(good) != cdp_curve(bad)
    assert sum(cdp_curve(bad)) < sum(cdp_curve(good))


def test_overlap_slider_changes_regions():
    at = run_page("pages/5_Overlap.py")
    first = [m.value for m in at.metric]
    at.select_slider(key="overlap_t").set_value(pd.Timestamp("2026-09-05 06:00", tz="UTC")).run()
    assert_clean(at)
    assert [m.value for m in at.metric] != first


# ------------------------------------------------------------------ rules editing
def test_invalid_rule_json_shows_error():
    at = run_page("pages/3_Segments.py")
    assert_clean(at)
    at.text_area[0].input("{not json").run()
    at.button(key="apply_crm").click().run()
    assert not at.exception
    assert any("invalid JSON" in e.value for e in at.error)
    # hostile text pasted into the editor: one line naming the limit, never a RecursionError
    at.text_area[0].input('{"name": "x", "all": ' + "[" * 100_000 + "]" * 100_000 + "}").run()
    at.button(key="apply_crm").click().run()
    assert not at.exception
    assert any("nested more than 64 levels" in e.value for e in at.error)


def test_rule_with_unknown_field_shows_error_with_path():
    at = run_page("pages/3_Segments.py")
    at.text_area[0].input(json.dumps({"name": "x", "all": [{"field": "no_such_field", "op": "eq", "value": "a"}]})).run()
    at.button(key="apply_crm").click().run()
    assert not at.exception
    assert at.error and "no_such_field" in at.error[0].value


def test_editing_a_rule_changes_member_counts():
    at = run_page("pages/3_Segments.py")
    before = ys(specs(at)[0])
    new = {"name": "Everyone with a purchase date", "all": [{"field": "last_purchase_date", "op": "is_set"}]}
    at.text_area[0].input(json.dumps(new)).run()
    at.button(key="apply_crm").click().run()
    assert_clean(at)
    assert ys(specs(at)[0]) != before
    assert "edited" in " ".join(h.value for h in at.subheader)


# ------------------------------------------------------------------ sidebar, workshop, URL
def test_workshop_step_sets_knobs_and_url():
    at = run_page("pages/4_Freshness.py")
    before = ys(specs(at)[0])
    at.toggle(key="w_workshop").set_value(True).run()
    assert len([b for b in at.button if b.key and b.key.startswith("ws_")]) == 4
    at.button(key="ws_2").click().run()  # "a badly run CDP loses to a well run CRM"
    assert_clean(at)
    assert ys(specs(at)[0]) != before
    assert at.query_params.get("merge_on_email") in ("false", ["false"])


def test_sidebar_play_change_changes_page():
    at = run_page("pages/4_Freshness.py")
    first = at.markdown[0].value
    at.selectbox(key="w_play").set_value("win-back").run()
    assert_clean(at)
    assert at.markdown[0].value != first and "Win-back" in at.markdown[0].value
    assert at.query_params.get("play") in ("win-back", ["win-back"])


# ------------------------------------------------------------------ links carry edited rules and views (pure)
from core.engine.rules import parse_rule  # noqa: E402
from core.present.urlstate import MAX_QUERY_CHARS, decode_link, decode_rule, encode_rule, make_link  # noqa: E402

EDITED = {"name": "Bought in the last 30 days", "all": [{"field": "last_purchase_date", "op": "within_last_days",
                                                        "value": 30}]}
AUDIENCE = {"name": "Carts without a purchase", "all": [{"event": "add_to_cart", "within": "24h"},
                                                        {"not": {"event": "purchase", "within": "24h"}}]}


def test_link_round_trips_edited_rules_and_views():
    s = Scenario.make("b2c-retail", 7, 2000, 90, {"coverage_web": 0.4})
    enc = make_link(s, "cart-abandonment", {"crm": EDITED, "cdp": AUDIENCE}, {"person": 17, "at": "2026-10-15T12:00"})
    assert not enc.too_large
    assert set(enc.params) >= {"crm_rule", "cdp_rule", "person", "at"}
    assert all(isinstance(v, str) and v.isascii() for v in enc.params.values())
    link = decode_link(enc.params)
    assert link.warnings == []
    assert link.scenario == s and link.play == "cart-abandonment"
    assert link.rules == {"crm": EDITED, "cdp": AUDIENCE}
    assert link.view == {"person": "17", "at": "2026-10-15T12:00"}
    assert encode_rule(EDITED) == encode_rule(dict(reversed(list(EDITED.items())))), "canonical: key order is irrelevant"


def test_a_rule_too_large_for_a_link_is_left_out_and_named():
    import hashlib
    cities = [hashlib.sha1(str(i).encode()).hexdigest()[:12] for i in range(300)]  # incompressible values
    huge = {"name": "Shoppers in 300 towns", "all": [{"field": "city", "op": "in", "value": cities}]}
    parse_rule(huge)
    s = Scenario.make("b2c-retail", 7, 2000, 90)
    enc = make_link(s, "cart-abandonment", {"crm": EDITED, "cdp": huge})
    assert "cdp" in enc.too_large and enc.too_large["cdp"] > MAX_QUERY_CHARS
    assert "cdp_rule" not in enc.params and "crm_rule" in enc.params, "the small rule still travels"
    from urllib.parse import urlencode
    assert len(urlencode(enc.params)) <= MAX_QUERY_CHARS
    assert decode_link(enc.params).rules == {"crm": EDITED}


@pytest.mark.parametrize("blob, says", [
    ("not*base64!", "base64url"),
    (base64.urlsafe_b64encode(b"plain text, not zlib").decode().rstrip("="), "compressed"),
    (encode_rule({"name": "x", "all": [{"event": "purchase", "within": "soon"}]}), "within"),
    (base64.urlsafe_b64encode(__import__("zlib").compress(b"[1, 2]")).decode().rstrip("="), "JSON object"),
    (base64.urlsafe_b64encode(__import__("zlib").compress(b" " * 200_000)).decode().rstrip("="), "inflates"),
    ("A" * 9000, "characters long"),
])
def test_a_corrupt_rule_blob_is_named_and_the_library_rule_kept(blob, says):
    with pytest.raises(Exception) as exc:
        decode_rule(blob)
    assert says in str(exc.value)
    link = decode_link({"preset": "b2c-retail", "play": "cart-abandonment", "cdp_rule": blob})
    assert link.rules == {}
    assert len(link.warnings) == 1 and link.warnings[0].startswith("ignored cdp_rule:") and says in link.warnings[0]


def test_rules_for_an_unknown_play_are_not_applied_to_another():
    link = decode_link({"preset": "b2c-retail", "play": "no-such-play", "crm_rule": encode_rule(EDITED)})
    assert link.play == "cart-abandonment" and link.rules == {}
    assert any("crm_rule" in w for w in link.warnings) and any("play=" in w for w in link.warnings)


def test_decoded_knobs_snap_to_their_step():
    link = decode_link({"holdout_share": "0.4902", "coverage_web": "0.853"})
    settings = dict(link.scenario.settings)
    assert settings["holdout_share"] == 0.49 and settings["coverage_web"] == 0.85
    assert encode(link.scenario, link.play)["holdout_share"] == "0.49"


# ------------------------------------------------------------------ links on the pages
def test_segments_page_restores_an_edited_rule_from_the_link():
    at = run_page("pages/3_Segments.py", play="cart-abandonment", crm_rule=encode_rule(EDITED))
    assert_clean(at)
    heads = [h.value for h in at.subheader]
    assert "CRM segment (edited)" in heads and "CDP audience" in heads
    assert any("Bought in the last 30 days" in m.value for m in at.markdown)
    assert at.query_params.get("crm_rule") in (encode_rule(EDITED), [encode_rule(EDITED)]), "the URL keeps carrying it"


def test_segments_page_warns_about_a_corrupt_or_foreign_rule_and_shows_the_library():
    at = run_page("pages/3_Segments.py", play="cart-abandonment", crm_rule="garbage!",
                  cdp_rule=encode_rule({"name": "x", "all": [{"field": "no_such_field", "op": "is_set"}]}))
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "crm_rule" in warnings and "cdp_rule" in warnings and "no_such_field" in warnings
    assert not any("(edited)" in h.value for h in at.subheader)
    assert "crm_rule" not in at.query_params and "cdp_rule" not in at.query_params


def test_resetting_one_tab_keeps_the_other_tabs_edits():
    at = run_page("pages/3_Segments.py", play="cart-abandonment", crm_rule=encode_rule(EDITED),
                  cdp_rule=encode_rule(AUDIENCE))
    assert {"CRM segment (edited)", "CDP audience (edited)"} <= {h.value for h in at.subheader}
    at.button(key="reset_crm").click().run()
    assert_clean(at)
    heads = {h.value for h in at.subheader}
    assert "CRM segment" in heads and "CDP audience (edited)" in heads
    assert "crm_rule" not in at.query_params and "cdp_rule" in at.query_params


def test_an_edit_goes_into_the_url():
    at = run_page("pages/3_Segments.py")
    at.text_area[0].input(json.dumps(EDITED)).run()
    at.button(key="apply_crm").click().run()
    assert_clean(at)
    blob = at.query_params.get("crm_rule")
    blob = blob[0] if isinstance(blob, list) else blob
    assert decode_rule(blob)["name"] == EDITED["name"]


def test_a_rule_too_large_for_a_link_is_noted_on_the_page():
    import hashlib
    emails = [hashlib.sha1(str(i).encode()).hexdigest()[:12] + "@example.com" for i in range(300)]
    at = run_page("pages/3_Segments.py")
    at.text_area[0].input(json.dumps({"name": "A long list", "all": [{"field": "email", "op": "in", "value": emails}]})).run()
    at.button(key="apply_crm").click().run()
    assert_clean(at)
    assert "CRM segment (edited)" in [h.value for h in at.subheader]
    notes = [w.value for w in at.sidebar.warning]
    assert any("too long for a link" in n and "CRM segment" in n for n in notes), notes
    assert "crm_rule" not in at.query_params


def test_segments_form_offers_only_events_this_world_produces():
    retail = run_page("pages/3_Segments.py")
    options = retail.selectbox(key="e_cdp").options
    assert "add_to_cart" in options
    assert not {"trial_started", "sales_meeting", "feature_used"} & set(options)
    plg = run_page("pages/3_Segments.py", preset="plg-saas")
    assert "trial_started" in plg.selectbox(key="e_cdp").options and "add_to_cart" not in plg.selectbox(key="e_cdp").options


def test_journeys_person_and_case_come_from_and_go_to_the_link():
    first = run_page("pages/2_Journeys.py")
    assert_clean(first)
    people = first.selectbox(key="j_person").options  # as shown: "person 12"
    other = int(people[1].split()[-1])
    at = run_page("pages/2_Journeys.py", case="split", person=str(other))
    assert_clean(at)
    assert at.selectbox(key="j_case").value == "split"
    assert str(at.selectbox(key="j_person").value) == str(other)
    assert at.query_params.get("person") in (str(other), [str(other)])
    lanes = specs(at)[0]
    names = [tr.get("name", "") for tr in lanes["data"]]
    assert any("qualifies" in n for n in names) or any("can reach them" in n for n in names)


def test_journeys_warns_about_a_person_not_in_the_world():
    at = run_page("pages/2_Journeys.py", person="99999999")
    assert not at.exception
    assert any("person" in w.value and "99999999" in w.value for w in at.warning)
    assert at.get("plotly_chart")


def test_overlap_time_comes_from_and_goes_to_the_link():
    at = run_page("pages/5_Overlap.py", at="2026-09-05T06:00")
    assert_clean(at)
    assert at.select_slider(key="overlap_t").value == pd.Timestamp("2026-09-05 06:00", tz="UTC")
    at.select_slider(key="overlap_t").set_value(pd.Timestamp("2026-10-01 12:00", tz="UTC")).run()
    assert at.query_params.get("at") in ("2026-10-01T12:00", ["2026-10-01T12:00"])
    bad = run_page("pages/5_Overlap.py", at="yesterday")
    assert not bad.exception and any("at" in w.value and "yesterday" in w.value for w in bad.warning)


# ------------------------------------------------------------------ knobs in words, only where they apply
def _widget_keys(at: AppTest) -> set[str]:
    keys = set()
    for kind in ("slider", "number_input", "selectbox", "checkbox"):
        keys |= {w.key for w in at.get(kind) if w.key}
    return keys


def test_scenario_shows_only_the_knobs_that_apply():
    retail = _widget_keys(run_page(SCENARIO))
    assert "k_p_cart" in retail and "k_coverage_web" in retail
    assert not {"k_committee_size", "k_trial_to_paid", "k_lead_to_mql", "k_store_visits_per_month"} & retail
    saas = _widget_keys(run_page(SCENARIO, preset="b2b-saas"))
    assert {"k_committee_size", "k_lead_to_mql"} <= saas and "k_p_cart" not in saas
    omni = _widget_keys(run_page(SCENARIO, preset="omnichannel"))
    assert {"k_store_visits_per_month", "k_loyalty_share"} <= omni
    linked = _widget_keys(run_page(SCENARIO, committee_size="6"))
    assert "k_committee_size" in linked, "a knob a link changed is shown even where it does not apply"


def test_knobs_read_as_words_and_b2b_says_deals():
    at = run_page(SCENARIO, preset="b2b-saas")
    label = at.slider(key="k_lead_to_mql").label
    assert label.startswith("Leads that become marketing-qualified") and "_" not in label
    assert "●" not in label
    assert "Deals won" in [m.label for m in at.metric] and "Purchases" not in [m.label for m in at.metric]
    for m in at.metric:
        assert len(m.label) <= 28, f"metric label {m.label!r} is cut off in a sixth of the page"


def test_a_slider_stores_a_snapped_value_in_the_url():
    at = run_page(SCENARIO)
    at.slider(key="k_holdout_share").set_value(49.02).run()
    assert_clean(at)
    assert at.query_params.get("holdout_share") in ("0.49", ["0.49"])


def test_fit_page_runs_under_the_navigation():
    at = run_page("pages/7_Fit.py", sim_people="500", sim_days="30")
    assert_clean(at)
    assert at.title[0].value == "Which model fits your business?"
    assert any(h.value.startswith("Recommendation:") for h in at.header)
    assert at.get("plotly_chart")
    assert "preset" not in at.query_params, "the Fit page keeps its own answers in the URL, not a scenario"


def test_a_page_file_runs_on_its_own():
    """``AppTest.from_file("pages/…")`` or ``streamlit run pages/…`` gets the same frame, without navigation."""
    at = AppTest.from_file(str(ROOT / "pages/4_Freshness.py"), default_timeout=TIMEOUT)
    at.query_params["people"] = SMALL
    at.query_params["preset"] = "b2b-saas"
    at.run()
    assert_clean(at)
    assert at.title[0].value == "Freshness" and at.get("plotly_chart")
    assert at.selectbox(key="w_preset").value == "b2b-saas"
