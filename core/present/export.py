"""Exports: CSV safe to open in a spreadsheet, a one-file interactive HTML report, and the printable
hand-out that core/present/pdf.py turns into a PDF (no Streamlit)."""
from __future__ import annotations

import csv
import html
import json
from typing import Any, Iterable, Mapping

import pandas as pd
import plotly.graph_objects as go

from core.present import glossary, headline
from core.present.charts import freshness_bars, freshness_cdf, lag_histogram, lift_chart, overlap_over_time, \
    precision_recall, roi_bars, venn

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
    words = ("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in scenario_lines(scenario)) + "</ul>"
             if hasattr(scenario, "stacks") else "")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Audience Lab report</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px}</style>"
        "</head><body><h1>Audience Lab report</h1>"
        "<h2>Scenario</h2>" + words
        + f"<details><summary>Settings as data</summary><pre>{html.escape(json.dumps(settings, indent=2, default=str))}"
          "</pre></details>"
        + "".join(tables) + "<h2>Charts</h2>" + "".join(parts)
        + "<h2>The words</h2>" + glossary.as_html() + "</body></html>"
    )


def report_figures(results: Any, lags_by_model: Mapping[str, pd.DataFrame] | None = None) -> dict[str, go.Figure]:
    """The play's charts the reports carry, by title (freshness, overlap, lift, money)."""
    play = results.run.play
    figs = {"Time to activation": freshness_cdf(results.curves, play.action_window_hours),
            "Reached in time": freshness_bars(results.freshness)}
    if lags_by_model is not None:
        figs["Lag distribution"] = lag_histogram(lags_by_model, max_hours=play.action_window_hours * 4)
    figs.update({"Overlap at mid-period": venn(results.overlap_mid),
                 "Overlap over time": overlap_over_time(results.overlap_series),
                 "Precision and recall": precision_recall(results.overlap_mid),
                 "Campaign lift": lift_chart(results.lift), "Incremental revenue": roi_bars(results.lift)})
    return figs


def scenario_lines(scenario: Any) -> list[str]:
    """The scenario in words for a reader: business, size, period, seed, products, changed knobs."""
    from core.present import labels
    from core.present.stackview import short_name, value_text
    from core.advice.stacks import ROLE_TITLES, STACK_KEYS
    from synthetic.presets import PRESETS

    preset = PRESETS[scenario.preset]
    lines = [f"Business: {preset.title} ({scenario.preset}); {scenario.people:,} people over {scenario.days} days; "
             f"seed {scenario.seed}."]
    chosen = scenario.stacks
    if chosen:
        lines.append("Products: " + "; ".join(f"{ROLE_TITLES[r]}: {short_name(n)}" for r, n in chosen.items()) + ".")
    own = {k: v for k, v in dict(scenario.settings).items() if k not in STACK_KEYS.values()}
    for knob, value in sorted(own.items()):
        lines.append(f"{labels.label(knob, scenario.preset, with_unit=False)}: {value_text(knob, value, scenario.preset)}")
    if not own:
        lines.append("Every other knob at the preset's value.")
    return lines


PRINT_CSS = (
    "@page{size:A4;margin:14mm}"
    "body{font-family:'DejaVu Sans',sans-serif;font-size:11px;color:#111;margin:0}"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:14px 0 6px;break-after:avoid}"
    "h3{font-size:12px;margin:10px 0 2px;break-after:avoid}"
    "table{border-collapse:collapse;width:100%;font-size:10px}td,th{border:1px solid #bbb;padding:2px 5px;"
    "text-align:right}th:first-child,td:first-child{text-align:left}.chart{break-inside:avoid}"
    "dl.glossary dt{font-weight:bold;margin-top:4px}dl.glossary dd{margin:0 0 0 12px}"
    ".small{color:#444;font-size:10px}ul{margin:4px 0;padding-left:16px}"
)
#: Chart size on an A4 page with 14 mm margins (182 mm ≈ 688 CSS pixels of printable width).
PRINT_WIDTH, PRINT_HEIGHT = 680, 330


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def handout_html(scenario: Any, results: Any, figures: Mapping[str, go.Figure] | None = None,
                 link: str | None = None, title: str | None = None) -> str:
    """The printable hand-out: the scenario in words, the headline table per model, the charts
    at page width and the glossary — what a room takes away. Chromium prints it (core.present.pdf)."""
    play = results.run.play
    figures = report_figures(results) if figures is None else figures
    table = headline.headline_table(results)
    link_html = (f"<p class='small'>Open this scenario: <a href='{html.escape(link)}'>{html.escape(link)}</a></p>"
                 if link else "")
    body = (f"<p>{html.escape(play.goal)} Action window: {play.action_window_hours:g} h.</p>"
            "<h2>The scenario</h2><ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in scenario_lines(scenario))
            + "</ul>" + link_html + "<h2>The models side by side</h2>" + table.to_html(escape=True)
            + "<p class='small'>Freshness counts qualifying episodes; precision and recall are at mid-period on "
              "reachable people; true figures come from the simulator's ground truth, measured ones from this run's "
              f"holdout test. {_sentence(html.escape(glossary.net_value_defined('campaign')))}.</p>")
    return print_page(title or f"Audience Lab — {play.title}", body, figures)


def print_page(heading: str, body: str, figures: Mapping[str, go.Figure] | None = None) -> str:
    """A printable A4 page: a heading, HTML body, the figures at page width and the glossary."""
    charts_html = []
    for i, fig in enumerate((figures or {}).values()):
        small = go.Figure(fig).update_layout(width=PRINT_WIDTH, height=PRINT_HEIGHT, margin={"t": 50, "b": 50})
        charts_html.append("<div class='chart'>" + small.to_html(full_html=False, include_plotlyjs=(i == 0),
                                                                 config={"staticPlot": True, "displayModeBar": False})
                           + "</div>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(heading)}</title><style>{PRINT_CSS}</style></head><body>"
            f"<h1>{html.escape(heading)}</h1>" + body + ("<h2>Charts</h2>" + "".join(charts_html) if charts_html else "")
            + "<h2>The words</h2>" + glossary.as_html() + "</body></html>")
