"""The workshop story holds on the default world: each step's claim is true on the page it points
to, and the sentence cites the very figures the page shows."""
from __future__ import annotations

import pytest

from core.advice.scenario import Scenario, build_engine, default_play, play_results
from core.engine.plays import get_play
from core.present.workshop import STEPS, Figures, narrate, pct


@pytest.fixture(scope="module", params=[s.key for s in STEPS])
def told(request):
    step = next(s for s in STEPS if s.key == request.param)
    scenario = Scenario.make("b2c-retail", seed=7, people=6000, days=90, settings=dict(step.settings))
    name = step.play_for("b2c-retail")
    play = get_play(name) if name else default_play("b2c-retail")
    results = play_results(build_engine(scenario), play, scenario)
    return step, scenario, results


def test_each_step_holds_on_the_default_world(told):
    step, scenario, results = told
    ok, text = narrate(step, results, scenario.activation())
    assert ok, text


def test_the_sentence_cites_the_pages_own_figures(told):
    step, scenario, results = told
    _, text = narrate(step, results, scenario.activation())
    fig = Figures.of(results, scenario.activation())
    if step.key == "cdp-fresh":
        assert pct(fig.timely["cdp"]) in text and pct(fig.timely["crm"]) in text
    if step.key in ("execution", "hybrid"):
        assert f"{fig.net['crm']:,.0f}" in text and f"{fig.net['cdp']:,.0f}" in text
    if step.key == "crm-simple":
        assert f"{fig.build_days['crm']:g} day" in text


def test_facilitator_notes_say_ask_and_time_from_the_live_figures(told):
    from core.present.workshop import notes
    step, scenario, results = told
    n = notes(step, results, scenario.activation())
    fig = Figures.of(results, scenario.activation())
    assert n.say == narrate(step, results, scenario.activation())[1] and n.holds
    assert n.ask.endswith("?") and 5 <= n.minutes <= 20
    if step.key == "cdp-fresh":
        assert pct(1 - fig.timely["crm"]) in n.ask and f"{fig.window_hours:g}-hour" in n.ask
    if step.key in ("execution", "hybrid"):
        assert f"{fig.net['cdp']:,.0f}" in n.ask
    assert any(line.startswith("Time: about") for line in n.lines())


def test_the_hybrid_step_compares_cdp_with_hybrid():
    from core.present.workshop import comparison_for
    assert comparison_for("hybrid") == ("cdp", "hybrid")
    assert comparison_for("execution") == ("crm", "cdp") == comparison_for(None)
    assert sum(s.minutes for s in STEPS) <= 60
