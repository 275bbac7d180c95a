"""Exports: CSV safe to open in a spreadsheet, and a one-file interactive HTML report (no Streamlit)."""
from __future__ import annotations

import csv
import html
import json
from typing import Any, Iterable, Mapping

import pandas as pd

#: OWASP CSV injection: a cell starting with one of these may be run as a formula by spreadsheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_safe_csv(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV of ``df`` with every text cell (and header) that starts with = + - @ TAB CR prefixed by '.

    Numbers stay numbers (a negative number is data, not a formula); only strings are touched.
    """
    out = df.copy()
    out.columns = [_neutralise(str(c)) for c in out.columns]
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype) or isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype(object).map(_neutralise)
    # Quote every text cell so embedded CR / LF / quotes cannot break rows in any reader.
    return out.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC).encode("utf-8")


def html_report(scenario: Any, results: Any, figures: Iterable[Any] | Mapping[str, Any]) -> str:
    """A self-contained HTML page: scenario settings, headline tables and every figure, interactive offline.

    plotly.js is embedded once (in the first figure) so the file works without a network.
    ``results`` is a PlayResults-like object (freshness and lift DataFrames, a play) or None.
    """
    items = list(figures.items()) if isinstance(figures, Mapping) else [(None, f) for f in figures]
    parts: list[str] = []
    for i, (name, fig) in enumerate(items):
        if name:
            parts.append(f"<h3>{html.escape(str(name))}</h3>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0)))
    tables: list[str] = []
    if results is not None:
        play = getattr(getattr(results, "run", None), "play", None)
        if play is not None:
            tables.append(f"<h2>Play: {html.escape(play.title)}</h2><p>{html.escape(play.goal)}</p>")
        lift_cols = ["model", "sends", "n_treated", "n_holdout", "abs_lift", "abs_lift_ci_low", "abs_lift_ci_high",
                     "true_abs_lift", "p_value", "mde_abs", "underpowered", "incremental_revenue",
                     "true_incremental_revenue", "cost", "roi"]
        for attr, title, cols in (("freshness", "Freshness", None), ("lift", "Campaign lift", lift_cols)):
            df = getattr(results, attr, None)
            if isinstance(df, pd.DataFrame) and len(df):
                df = df[[c for c in cols if c in df]] if cols else df
                tables.append(f"<h2>{title}</h2><div style='overflow-x:auto'>" + df.to_html(
                    index=False, float_format=lambda v: f"{v:.4g}", escape=True) + "</div>")
    settings = scenario.to_dict() if hasattr(scenario, "to_dict") else dict(scenario)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Audience Lab report</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px}</style>"
        "</head><body><h1>Audience Lab report</h1>"
        f"<h2>Scenario</h2><pre>{html.escape(json.dumps(settings, indent=2, default=str))}</pre>"
        + "".join(tables) + "<h2>Charts</h2>" + "".join(parts) + "</body></html>"
    )
