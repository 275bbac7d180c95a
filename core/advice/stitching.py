"""The verdict with and without login stitching, on each side (issue 19).

A login ties a browser to a person. Both sides can use it: the CDP's tag sends the user id
(``identified_share``), a marketing CRM's tracking script calls identify with the account's e-mail
(``crm_identified_share``, HubSpot's documented identify call). Whether a play's verdict rests on
that one capability is what a reader must see: the play is rerun with each side's login stitching
as configured or switched off — four cases on worlds that differ only in what each system
identifies (the world itself is the same, :mod:`synthetic.units` streams), so the difference
between two rows is the value of stitching logins on that side.
"""
from __future__ import annotations

from typing import Any

from core.advice.verdict import winner
from core.engine.plays import Play

#: (CRM stitches logins, CDP stitches logins), in the order rows are reported.
CASES: tuple[tuple[bool, bool], ...] = ((True, True), (False, True), (True, False), (False, False))
KNOBS = {"crm": "crm_identified_share", "cdp": "identified_share"}


def case_settings(scenario, crm: bool, cdp: bool) -> dict[str, float]:
    """The two identify shares of one case: the scenario's own value where a side stitches, else 0."""
    eff = scenario.effective_settings()
    defaults = _defaults(scenario)
    out = {}
    for side, on in (("crm", crm), ("cdp", cdp)):
        knob = KNOBS[side]
        out[knob] = float(eff.get(knob, defaults[knob])) if on else 0.0
    return out


def _defaults(scenario) -> dict[str, float]:
    cfg = scenario.world_config()
    return {knob: float(getattr(cfg.knobs, knob)) for knob in KNOBS.values()}


def login_stitching(scenario, play: Play, people: int | None = None) -> list[dict[str, Any]]:
    """One row per case: which side stitches logins, the identify shares used, the true net value
    of the CRM segment and the CDP audience, and the winner between them.

    ``people`` runs the cases on a smaller world of the same family (the CLI's sweep size)."""
    from core.advice.sweep import net_values

    base = scenario if people is None else scenario.__class__.make(scenario.preset, scenario.seed, people, scenario.days,
                                                                      dict(scenario.settings))
    rows = []
    for crm, cdp in CASES:
        shares = case_settings(base, crm, cdp)
        net = net_values(base.with_settings(**shares), play)
        pair = {m: float(net[m]) for m in ("crm", "cdp") if m in net}
        rows.append({"crm_login_stitching": crm, "cdp_login_stitching": cdp, **shares,
                     "net_value": pair, "winner": winner(pair)})
    return rows


CASE_WORDS = {(True, True): "both sides stitch logins", (False, True): "only the CDP stitches",
              (True, False): "only the CRM stitches", (False, False): "neither stitches"}


def stitching_frame(rows: list[dict[str, Any]]):
    """The cases as a table for a page: case, identify shares, net values, winner."""
    import pandas as pd

    return pd.DataFrame([{"case": CASE_WORDS[(r["crm_login_stitching"], r["cdp_login_stitching"])],
                          "CRM identifies logins": f"{r['crm_identified_share']:.0%}",
                          "CDP identifies logins": f"{r['identified_share']:.0%}",
                          "net value CRM": round(r["net_value"].get("crm", float("nan"))),
                          "net value CDP": round(r["net_value"].get("cdp", float("nan"))),
                          "winner": r["winner"].upper()} for r in rows])


def stitching_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Plain-text lines for the CLI: one per case."""
    out = []
    for r in rows:
        who = CASE_WORDS[(r["crm_login_stitching"], r["cdp_login_stitching"])]
        nv = r["net_value"]
        out.append(f"  {who:26} (CRM {r['crm_identified_share']:.0%}, CDP {r['identified_share']:.0%} of logins)"
                   f"  net value CRM {nv.get('crm', float('nan')):,.0f}, CDP {nv.get('cdp', float('nan')):,.0f}"
                   f"  → {r['winner']}")
    return out


__all__ = ["CASES", "CASE_WORDS", "KNOBS", "case_settings", "login_stitching", "stitching_frame", "stitching_lines"]
