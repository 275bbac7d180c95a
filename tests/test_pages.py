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
    at.button[1].click().run()  # "Poorly run CDP"
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
    assert any("not valid JSON" in e.value for e in at.error)


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
