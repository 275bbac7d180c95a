"""What the Scenario and Fit pages say about one knob at a time (no Streamlit).

The figure comes from :func:`core.present.charts.ops_tornado`, the numbers from
:func:`core.advice.tornado.ops_tornado`; this module picks the world size and writes the sentence.
"""
from __future__ import annotations

from typing import Any

from core.advice.scenario import Scenario
from core.advice.tornado import ops_tornado
from core.present import charts, labels

#: People per world the pages move knobs on: each world-shaping knob costs a world of this size
#: (about 25 worlds a play), so the pages keep it small; ``compare --tornado-people`` goes larger.
PAGE_TORNADO_PEOPLE = 1500


def tornado_for_page(scenario: Scenario, play_name: str, people: int = PAGE_TORNADO_PEOPLE) -> dict[str, Any]:
    """``{"figure", "sentence", "tornado"}`` for one play of a scenario, on a world of at most ``people``."""
    tor = ops_tornado(scenario, play_name, min(people, scenario.people))
    return {"tornado": tor, "figure": charts.ops_tornado(tor, _knob_labels()), "sentence": tornado_sentence(tor)}


def tornado_sentence(tor: dict[str, Any]) -> str:
    """Which single moves flip the verdict, in words."""
    base = tor["base"]
    flips = [r for r in tor["rows"] if r["flips"]]
    head = f"As set, {base['winner'].upper()} wins by {abs(base['gap']):,.0f}."
    if not flips:
        return head + " No single ops knob, moved alone to its well-run or poorly-run value, flips the verdict."
    moves = "; ".join(f"{r['side'].upper()} {_label(r['knob'])} {r['level'].replace('-', ' ')} → {r['winner'].upper()}"
                      for r in flips[:6])
    more = f" (and {len(flips) - 6} more)" if len(flips) > 6 else ""
    return f"{head} {len(flips)} single move(s) flip it: {moves}{more}."


def _knob_labels() -> dict[str, str]:
    return {k: _label(k) for side in ("crm", "cdp") for k in _knobs(side)}


def _knobs(side: str) -> set[str]:
    from core.advice.ops import OPS

    return {k for level in OPS[side].values() for k in level}


def _label(knob: str) -> str:
    try:
        return labels.label(knob, with_unit=False)
    except Exception:  # noqa: BLE001 - a knob without words keeps its name
        return knob
