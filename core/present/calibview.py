"""The calibration sheet as the Scenario page shows it: a compact table, outside-band rows marked.

The sheet itself is :mod:`core.measures.calibration`; this only words and formats it.
"""
from __future__ import annotations

import pandas as pd

from core.measures.calibration import Anchor, calibration_sheet

OUTSIDE = "⚠ outside"


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "–"
    return f"{v:.2%}" if unit == "share" else f"{v:,.2f}"


def calibration_table(anchors: list[Anchor]) -> pd.DataFrame:
    """One row per anchor: the world's value, the accepted band, inside or outside, and the source."""
    rows = [{"anchor": a.name, "this world": _fmt(a.value, a.unit),
             "accepted band": f"{_fmt(a.low, a.unit)} – {_fmt(a.high, a.unit)}",
             "inside": {True: "✓", False: OUTSIDE, None: "–"}[a.within], "source": a.source} for a in anchors]
    return pd.DataFrame(rows, columns=["anchor", "this world", "accepted band", "inside", "source"])


def scenario_calibration(engine, scenario) -> pd.DataFrame:
    """The calibration sheet of the current world and campaign settings, ready to show."""
    return calibration_table(calibration_sheet(engine, scenario))


BAND_NAMES = {"none": "No effect", "hillstrom": "Hillstrom's (default)", "twice_hillstrom": "Twice Hillstrom's"}
MODEL_TITLES = {"crm": "CRM segment", "cdp": "CDP audience", "hybrid": "Hybrid", "blast": "Blast (everyone)"}


def off_target_table(band: list[dict]) -> pd.DataFrame:
    """The off-target sensitivity band (issue 18) as a table: one row per assumed effect of a message
    on someone without an open need, each model's true net value, and the winner."""
    rows = []
    for b in band:
        row = {"message to someone without a need": BAND_NAMES.get(b["off_target"], b["off_target"])}
        for m, v in b["true_net_value"].items():
            row[MODEL_TITLES.get(m, m)] = f"{v:,.0f}"
        row["best"] = MODEL_TITLES.get(b["winner"], b["winner"])
        rows.append(row)
    return pd.DataFrame(rows)


def scenario_off_target(run, cfg) -> pd.DataFrame:
    """Each model's true net value with no / Hillstrom's / twice Hillstrom's off-target effect."""
    from core.measures.calibration import off_target_sensitivity

    return off_target_table(off_target_sensitivity(run, cfg))
