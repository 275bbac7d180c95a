"""A scenario's headline figures per model — freshness, overlap, lift, net value — as one table.

The PDF hand-out prints it and the Compare page sets two of them side by side, so both read the
same measures from the same columns of a play's results (core.advice.scenario.PlayResults) and
say them in the same words.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from core.present.charts import label
from core.present.measureview import hours, pct


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def _pp(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:+.2f} pp"


def _money(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f}"


def _count(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f}"


@dataclass(frozen=True)
class Measure:
    """One headline row: its words, how to print a value and a difference, and which way is better."""

    key: str
    title: str
    fmt: Callable[[float | None], str]
    diff_fmt: Callable[[float | None], str]
    higher_is_better: bool | None  # None: neither (a count, a context figure)


def _share_diff(x: float | None) -> str:
    """Percentage points, never '-0 pts': a difference that rounds to nothing reads '0 pts'."""
    if x is None:
        return "–"
    return "0 pts" if round(x * 100) == 0 else f"{x * 100:+.0f} pts"


def _hours_diff(x: float | None) -> str:
    if x is None:
        return "–"
    if round(x, 1) == 0:
        return "0.0 h"
    return ("+" if x > 0 else "−") + hours(abs(x))


def _money_diff(x: float | None) -> str:
    return "–" if x is None else f"{x:+,.0f}"


def _count_diff(x: float | None) -> str:
    return "–" if x is None else f"{x:+,.0f}"


#: The headline measures, in the order a strategist reads them: freshness, overlap, lift, money.
MEASURES: tuple[Measure, ...] = (
    Measure("episodes", "Qualifying episodes", _count, _count_diff, None),
    Measure("in_time", "Episodes reached within the action window", lambda x: pct(x), _share_diff, True),
    Measure("median_hours", "Median time to activation", lambda x: hours(x), _hours_diff, False),
    Measure("precision", "Precision at mid-period (reachable members who qualify)", lambda x: pct(x), _share_diff, True),
    Measure("recall", "Recall at mid-period (qualifying people reached)", lambda x: pct(x), _share_diff, True),
    Measure("sends", "Messages sent", _count, _count_diff, None),
    Measure("true_lift", "True lift per contact/profile", _pp, lambda x: "–" if x is None else f"{x * 100:+.2f} pp", True),
    Measure("measured_lift", "Measured lift (this run's holdout test)", _pp,
            lambda x: "–" if x is None else f"{x * 100:+.2f} pp", None),
    Measure("incremental_revenue", "True incremental revenue", _money, _money_diff, True),
    Measure("net_value", "True net value", _money, _money_diff, True),
)
MEASURE_BY_KEY = {m.key: m for m in MEASURES}


def headline_values(results: Any) -> pd.DataFrame:
    """Raw headline numbers: one row per model (CRM, CDP, hybrid, blast), one column per measure.

    Freshness and overlap exist for the targeted models only; the blast has lift and money."""
    rows: dict[str, dict[str, float | None]] = {}
    fresh = results.freshness.set_index("model") if len(results.freshness) else pd.DataFrame()
    per_model = (results.overlap_mid or {}).get("models", {})
    for m in fresh.index:
        r = fresh.loc[m]
        rows.setdefault(m, {}).update({"episodes": _num(r["n_qualified"]), "in_time": _num(r["share_within_window"]),
                                       "median_hours": _num(r["median_hours"])})
        rows[m].update({"precision": _num(per_model.get(m, {}).get("precision")),
                        "recall": _num(per_model.get(m, {}).get("recall"))})
    lift = results.lift.set_index("model") if len(results.lift) else pd.DataFrame()
    for m in lift.index:
        r = lift.loc[m]
        rows.setdefault(m, {}).update({
            "sends": _num(r.get("sends")), "true_lift": _num(r.get("true_abs_lift")),
            "measured_lift": _num(r.get("abs_lift")), "incremental_revenue": _num(r.get("true_incremental_revenue")),
            "net_value": _num(r.get("true_net_value"))})
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=[m.key for m in MEASURES])
    frame.index.name = "model"
    return frame.astype(float)


def headline_table(results: Any) -> pd.DataFrame:
    """The headline numbers as printed: rows = measures (in words), columns = models (in words)."""
    values = headline_values(results)
    out = {label(model): [m.fmt(_num(values.loc[model, m.key])) for m in MEASURES] for model in values.index}
    return pd.DataFrame(out, index=[m.title for m in MEASURES])


def scenario_values(results: Any) -> dict[str, float | None]:
    """Figures of the scenario as a whole: truly qualifying people at mid-period, the CRM / CDP
    Jaccard index, and the best targeted model's net value."""
    ov = results.overlap_mid or {}
    values = headline_values(results)
    targeted = [m for m in values.index if m != "blast" and values.loc[m, "net_value"] == values.loc[m, "net_value"]]
    best = max(targeted, key=lambda m: values.loc[m, "net_value"]) if targeted else None
    return {"truth": _num(ov.get("truth")), "jaccard": _num(ov.get("jaccard_crm_cdp")),
            "best_net_value": None if best is None else float(values.loc[best, "net_value"]), "best": best}


__all__ = ["MEASURES", "MEASURE_BY_KEY", "Measure", "headline_table", "headline_values", "scenario_values"]
