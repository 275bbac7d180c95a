"""One knob at a time: which single operational deficit (or strength) flips a play's verdict.

For a play and a scenario, every ops knob of each side (:data:`core.advice.ops.OPS`) is moved
*alone* to its well-run and to its poorly-run value, everything else as in the scenario, and the
CRM-vs-CDP verdict on true net value is taken again. The rows say which single knob flips the
winner and by how much each one moves the gap — what a tornado chart draws.

Compute stays bounded: :func:`core.advice.sweep.evaluate_points` generates each distinct world
once, builds each distinct engine once per world, and only re-runs activation and campaigns for
knobs that change neither. A knob that shapes what a system records in the world (a CRM sync or
hygiene rate, a tracking coverage) gets its own world of the same seed, so its row is right
whether or not other knobs leave the world identical.
"""
from __future__ import annotations

from typing import Any

from core.advice.ops import OPS, SIDES
from core.advice.scenario import Scenario
from core.advice.verdict import winner

#: The two directions each knob is moved in.
TORNADO_LEVELS: tuple[str, ...] = ("well-run", "poorly-run")
#: Models compared (the verdict is CRM vs CDP, as in ``compare``).
TORNADO_MODELS: tuple[str, ...] = ("crm", "cdp")


def knob_moves(settings: dict[str, Any], sides: tuple[str, ...] = SIDES) -> dict[tuple, dict[str, Any]]:
    """``{(side, knob, level): settings with that one knob moved}`` plus ``("base",)``.

    A level that does not set a knob leaves it at the default level's value: it is no move."""
    points: dict[tuple, dict[str, Any]] = {("base",): dict(settings)}
    for side in sides:
        for level in TORNADO_LEVELS:
            for knob, value in OPS[side][level].items():
                points[(side, knob, level)] = {**settings, knob: value}
    return points


def ops_tornado(scenario: Scenario, play_name: str, people: int | None = None,
                sides: tuple[str, ...] = SIDES) -> dict[str, Any]:
    """The verdict with each ops knob moved alone, on a world of ``people`` (default: the scenario's).

    Returns ``{"base": {"winner", "net_value"}, "rows": [{"knob", "side", "level", "value",
    "winner", "net_value", "gap", "flips"}]}``; ``gap`` is CDP minus CRM true net value and
    ``flips`` says the single knob changed the winner. Rows are ordered by how far the knob moves
    the gap (the widest bar first), as a tornado chart reads."""
    from core.advice.sweep import evaluate_points

    points = knob_moves(dict(scenario.settings), sides)
    res = evaluate_points(scenario.preset, scenario.seed, people or scenario.people, scenario.days, points,
                          (play_name,), models=TORNADO_MODELS)["money"]

    def verdict(key: tuple) -> dict[str, Any]:
        net = {m: float(res[key][play_name][m]["true_net_value"]) for m in TORNADO_MODELS}
        return {"winner": winner(net), "net_value": net, "gap": net["cdp"] - net["crm"]}

    base = verdict(("base",))
    rows = []
    for key in points:
        if key == ("base",):
            continue
        side, knob, level = key
        v = verdict(key)
        rows.append({"knob": knob, "side": side, "level": level, "value": points[key][knob], **v,
                     "flips": v["winner"] != base["winner"]})
    spread: dict[str, float] = {}
    for r in rows:
        spread[r["knob"]] = max(spread.get(r["knob"], 0.0), abs(r["gap"] - base["gap"]))
    rows.sort(key=lambda r: (-spread[r["knob"]], r["knob"], r["level"]))
    return {"base": base, "rows": rows}


def flipping_knobs(tornado: dict[str, Any]) -> list[str]:
    """'side knob → level' for every single move that flips the verdict (empty: none does)."""
    return [f"{r['side']} {r['knob']} → {r['level']}" for r in tornado["rows"] if r["flips"]]
