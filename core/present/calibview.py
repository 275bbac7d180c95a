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
