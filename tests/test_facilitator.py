"""Facilitator mode on the page: "Prepare all steps" readies every step, notes come with each step,
and the hybrid step opens Campaign lift on CDP vs hybrid."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

import pages._worlds as worlds  # noqa: E402
from core.advice.store import WorldStore  # noqa: E402
from core.present.workshop import STEPS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_prepare_all_steps_then_each_step_opens_from_memory(monkeypatch):
    store = WorldStore(2000, slots=2, admit_wait_s=20)
    monkeypatch.setattr(worlds, "_store", lambda: store)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["people"], at.query_params["days"] = "500", "30"
    at.run()
    at.toggle(key="w_workshop").set_value(True).run()
    builds_before = store.builds
    at.button(key="prepare_steps").click().run()
    job = at.session_state["_ws_prepare"]
    assert job.wait(240), "the preparation did not finish"
    assert [title for title, _ in job.result()] == [s.title for s in STEPS]
    prepared = store.builds
    assert prepared > builds_before, "preparing built nothing"
    at.run()
    assert any("All steps ready" in s.value for s in at.success)
    for i, step in enumerate(STEPS):
        at.button(key=f"ws_{i}").click().run()
        assert not at.exception, at.exception
        notes = [m.value for m in at.sidebar.markdown if "Facilitator notes" in m.value]
        assert notes and "Ask:" in notes[0] and f"about {step.minutes} minutes" in notes[0]
    assert store.builds == prepared, "a step built its world again after it was prepared"
    # the last step is the hybrid one: Campaign lift opens on CDP vs hybrid
    at.switch_page("pages/6_Campaign_lift.py").run()
    assert not at.exception
    pair = at.selectbox(key="lift_pair")
    shown = pair.format_func(pair.value).lower()
    assert shown.startswith("cdp") and shown.endswith("vs hybrid"), shown
