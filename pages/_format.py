"""How pages write shares and durations (the same words on every page)."""
from __future__ import annotations

from typing import Any

from core.present import measureview


def pct(x: Any, digits: int = 0) -> str:
    """A share as people read it ('<1%' for a tiny non-zero share; see core.present.measureview)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    return measureview.pct(v, digits)


def hours(x: Any) -> str:
    """Hours below two days, days above: a lag as a person says it."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    if v != v:
        return "–"
    return f"{v:.1f} h" if v < 48 else f"{v / 24:.1f} d"
