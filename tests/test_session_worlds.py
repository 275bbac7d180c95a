"""One session through 30 different worlds never waits on the world store's memory deadline.

Issue 23: on a busy server, after about eight worlds in one browser session, a page sat for the
store's whole admission wait (600 s) because worlds nobody showed were still counted as in use:
the first page run's globals were frozen out of the garbage collector, and every page's widget
callbacks kept that page's last world alive through its globals. This drives one AppTest session
(presets, seeds, ops buttons, stacks, workshop steps, Fit) against a budget of about two worlds:
if any world stayed alive after its page moved on, a build would wait the whole deadline.
"""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

import pages._worlds as worlds  # noqa: E402
from core.advice.store import WorldStore, world_mb  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 500
#: Two b2c-retail worlds of 500 people over 30 days fit, a third does not: every new world must free one.
DAYS = 30
BUDGET_MB = 2 * world_mb("b2c-retail", PEOPLE, DAYS) + 3
#: Generous for a loaded machine: a build that waits this long found nothing to let go.
DEADLINE_S = 20.0


@pytest.fixture()
def small_store(monkeypatch):
    store = WorldStore(BUDGET_MB, slots=2, admit_wait_s=DEADLINE_S)
    asked: list = []
    get = store.get

    def counting_get(key, build, mb):
        asked.append(key)
        return get(key, build, mb)

    monkeypatch.setattr(store, "get", counting_get)
    monkeypatch.setattr(worlds, "_store", lambda: store)
    return store, asked


def _click(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()


def _steps():
    """(what a person does, how) — each gives the session a world it has not seen."""
    out = [(f"seed {s}", lambda at, s=s: at.sidebar.number_input(key="w_seed").set_value(s).run()) for s in range(1, 9)]
    out += [(f"preset {p}", lambda at, p=p: at.selectbox(key="w_preset").set_value(p).run())
            for p in ("b2b-saas", "plg-saas", "omnichannel", "b2c-retail")]
    out += [(label, lambda at, l=label: _click(at, l))
            for label in ("Well-run CRM", "Poorly run CRM", "Well-run CDP", "Poorly run CDP", "Preset defaults")]
    out += [(f"stack {role} {name}", lambda at, r=role, n=name: at.selectbox(key=f"stk_{r}").set_value(n).run())
            for role, name in (("crm", "hubspot-active-lists"), ("cdp", "segment-realtime"), ("cdp", "segment-batch"),
                               ("crm", "sales-crm-nightly-import"), ("sending", "esp-manual-upload"),
                               ("cdp", "posthog-cohorts"))]
    out.append(("workshop mode", lambda at: at.toggle(key="w_workshop").set_value(True).run()))
    out += [(f"workshop step {i + 1}", lambda at, i=i: at.button(key=f"ws_{i}").click().run()) for i in range(4)]
    out += [(f"seed {s} on Freshness", lambda at, s=s: at.sidebar.number_input(key="w_seed").set_value(s).run())
            for s in range(11, 21)]
    return out


def test_one_session_through_thirty_worlds_never_reaches_the_deadline(small_store):
    store, asked = small_store
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["people"], at.query_params["days"] = str(PEOPLE), str(DAYS)
    at.run()
    for label, act in _steps():
        if label.startswith("seed 11"):
            at.switch_page("pages/4_Freshness.py").run()
        act(at)
        assert not at.exception, (label, at.exception[0].value[:300])
        assert store.deadline_hits == 0, f"after '{label}' a build waited the whole {DEADLINE_S:g} s for memory"
    assert len(set(asked)) >= 30, f"only {len(set(asked))} different worlds were asked for"
    # Fit's advisor reserves its working memory in the same store, as a background job
    at.switch_page("pages/7_Fit.py")
    at.query_params["sim_people"], at.query_params["sim_days"] = "500", "30"
    at.run()
    assert not at.exception and any(h.value.startswith("Recommendation:") for h in at.header)
    assert store.deadline_hits == 0
    assert store.peak_mb <= BUDGET_MB, "the live worlds' estimate went over the budget"
    with store._cond:
        cached = {id(v) for v in store._cached.values()}
        alive = set(store._alive_mb)
    assert alive <= cached, "a world the cache let go is still alive: something outside the store holds it"


def test_a_finished_page_run_lets_go_of_its_world():
    """The mechanism itself: a page's globals bound to a world (or results holding one) are dropped
    when its run ends, and nothing else is."""
    from core.advice.scenario import Scenario, build_engine, default_play, play_results

    scenario = Scenario.make("b2c-retail", seed=3, people=300, days=30)
    engine = build_engine(scenario)
    results = play_results(engine, default_play("b2c-retail"), scenario)
    page = {"__name__": "__main__", "engine": engine, "world": engine.world, "results": results,
            "pair": (scenario, results), "scenario": scenario, "label": "x", "fig": {"data": []}}
    dropped = worlds.forget_worlds(page)
    assert sorted(dropped) == ["engine", "pair", "results", "world"]
    assert page["scenario"] is scenario and page["label"] == "x" and page["__name__"] == "__main__"


def test_a_page_that_cannot_get_memory_in_time_says_so(monkeypatch):
    """When worlds really are in use (here: held by the test) the page waits only the store's short
    deadline, then builds beyond the budget and says so on the page — never a silent wait."""
    store = WorldStore(world_mb("b2c-retail", PEOPLE, DAYS) + 1, slots=2, admit_wait_s=0.2)
    monkeypatch.setattr(worlds, "_store", lambda: store)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["people"], at.query_params["days"] = str(PEOPLE), str(DAYS)
    at.run()
    assert not at.exception and not any("beyond the budget" in w.value for w in at.warning)
    with store._cond:
        held = list(store._cached.values())  # someone still uses the first world
    at.sidebar.number_input(key="w_seed").set_value(8).run()
    assert not at.exception
    assert store.deadline_hits == 1
    assert any("beyond the budget" in w.value for w in at.warning), [w.value for w in at.warning]
    del held
