"""Plotly figures for the dashboard and the HTML report (no Streamlit).

One colour-blind-safe palette (Okabe–Ito, Wong 2011, Nature Methods 8:441) is fixed per model,
so CRM is always orange, CDP blue, hybrid green and truth black on every page and in exports.
Every builder takes DataFrames / dicts from ``core`` and returns a ``plotly.graph_objects.Figure``
with a title and axis labels that carry their units.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

COLORS: dict[str, str] = {"truth": "#000000", "crm": "#E69F00", "cdp": "#0072B2", "hybrid": "#009E73"}
LABELS: dict[str, str] = {"truth": "Truth", "crm": "CRM segment", "cdp": "CDP audience", "hybrid": "Hybrid"}
#: Okabe–Ito (then Paul Tol) colours for categories that are not models: never a model colour.
CATEGORY_COLORS = ("#56B4E9", "#D55E00", "#CC79A7", "#F0E442", "#999999", "#882255", "#44AA99", "#332288")


def color(model: str) -> str:
    return COLORS.get(model, "#999999")


def label(model: str) -> str:
    return LABELS.get(model, model)


def _dash(model: str) -> str:
    """Hybrid often coincides with CDP: dash it so both lines stay visible; truth is dotted."""
    return {"truth": "dot", "hybrid": "dash"}.get(model, "solid")


def _layout(fig: go.Figure, title: str, x: str, y: str, **kw: Any) -> go.Figure:
    fig.update_layout(title={"text": title}, xaxis_title=x, yaxis_title=y, template="plotly_white",
                      legend={"orientation": "h", "y": -0.2}, margin={"t": 60, "b": 40, "l": 60, "r": 20}, **kw)
    return fig


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# --------------------------------------------------------------------------- scenario
def events_per_day(events: pd.DataFrame, start: pd.Timestamp | None = None) -> go.Figure:
    """Stacked bars: events per day by channel (ground truth)."""
    ev = events if start is None else events[events["ts"] >= start]
    day = ev["ts"].dt.floor("D")
    counts = ev.groupby([day, ev["channel"].astype(str)], observed=True).size().rename("n").reset_index()
    counts.columns = ["day", "channel", "n"]
    fig = go.Figure()
    for i, (ch, g) in enumerate(counts.groupby("channel", sort=True)):
        fig.add_bar(x=g["day"], y=g["n"], name=str(ch), marker_color=CATEGORY_COLORS[i % len(CATEGORY_COLORS)])
    fig.update_layout(barmode="stack")
    return _layout(fig, "Events per day by channel (ground truth)", "Day (UTC)", "Events per day (count)")


def identity_quality(quality: Mapping[str, Any]) -> go.Figure:
    """Bars of the identity-resolution shares (split persons, over-merged profiles, identified events)."""
    keys = [("share_persons_split", "Split persons"),
            ("share_profiles_overmerged", "Over-merged profiles"),
            ("share_events_identified", "Identified events")]
    xs = [lbl for _, lbl in keys]
    ys = [(_num(quality.get(k)) or 0.0) * 100 for k, _ in keys]
    fig = go.Figure(go.Bar(x=xs, y=ys, marker_color=[CATEGORY_COLORS[1], CATEGORY_COLORS[2], COLORS["cdp"]],
                           text=[f"{y:.1f}%" for y in ys], textposition="outside"))
    return _layout(fig, "CDP identity resolution quality", "Measure", "Share (%)", yaxis_range=[0, 110])


# --------------------------------------------------------------------------- segments
def members_over_time(counts: pd.DataFrame) -> go.Figure:
    """Lines: members per model over time. ``counts`` has columns t, members, model."""
    fig = go.Figure()
    for model, g in counts.groupby("model", sort=False):
        fig.add_scatter(x=g["t"], y=g["members"], mode="lines", name=label(model),
                        line={"color": color(model), "width": 2, "dash": _dash(model)})
    return _layout(fig, "Members over time", "Date (UTC)", "Members (subjects, count)")


# --------------------------------------------------------------------------- freshness
def freshness_cdf(curves: pd.DataFrame, window_hours: float | None = None) -> go.Figure:
    """Cumulative share of truly qualified people activated within x hours, per model."""
    fig = go.Figure()
    for model, g in curves.groupby("model", sort=False):
        fig.add_scatter(x=g["hours"], y=g["share_activated"] * 100, mode="lines", name=label(model),
                        line={"color": color(model), "width": 2.5, "dash": _dash(model)})
    if window_hours:
        fig.add_vline(x=window_hours, line_dash="dash", line_color="#666666",
                      annotation_text=f"action window {window_hours:g} h", annotation_position="top left")
    return _layout(fig, "Time to activation (share of truly qualified people reached)",
                   "Hours since the person truly qualified", "Activated (% of qualified)", yaxis_range=[0, 100])


def lag_histogram(lags: Mapping[str, pd.DataFrame], max_hours: float | None = None) -> go.Figure:
    """Overlaid histograms of activation lag per model (activated people only)."""
    fig = go.Figure()
    for model, lg in lags.items():
        x = lg["lag_hours"].dropna()
        if max_hours:
            x = x[x <= max_hours]
        fig.add_histogram(x=x, name=label(model), marker_color=color(model), opacity=0.6, nbinsx=60)
    fig.update_layout(barmode="overlay")
    return _layout(fig, "Activation lag distribution", "Hours from qualifying to activation", "People (count)")


def freshness_bars(table: pd.DataFrame) -> go.Figure:
    """Stacked share per model: within the action window, later, never activated."""
    fig = go.Figure()
    models = list(table["model"])
    within = table["share_within_window"].to_numpy() * 100
    never = table["share_never"].to_numpy() * 100
    later = np.clip(100 - within - never, 0, 100)
    fig.add_bar(x=[label(m) for m in models], y=within, name="within window", marker_color=[color(m) for m in models])
    fig.add_bar(x=[label(m) for m in models], y=later, name="later", marker_color="#BBBBBB")
    fig.add_bar(x=[label(m) for m in models], y=never, name="never activated", marker_color="#666666")
    fig.update_layout(barmode="stack")
    return _layout(fig, "Qualified people reached in time", "Model", "Share of qualified people (%)")


# --------------------------------------------------------------------------- overlap
def venn(overlap: Mapping[str, Any]) -> go.Figure:
    """Two circles (CRM, CDP) drawn with shapes, region counts and truly qualifying counts."""
    r = overlap["regions"]
    fig = go.Figure()
    fig.add_shape(type="circle", x0=0, y0=0, x1=4, y1=4, line_color=COLORS["crm"], fillcolor=COLORS["crm"], opacity=0.35)
    fig.add_shape(type="circle", x0=2.6, y0=0, x1=6.6, y1=4, line_color=COLORS["cdp"], fillcolor=COLORS["cdp"], opacity=0.35)
    pts = [(1.3, 2, "crm_only", "CRM only"), (3.3, 2, "both", "both"), (5.3, 2, "cdp_only", "CDP only")]
    xs, ys, texts = [], [], []
    for x, y, key, name in pts:
        q = r.get(f"{key}_qualifying", 0)
        xs.append(x)
        ys.append(y)
        texts.append(f"<b>{name}</b><br>{r.get(key, 0):,}<br>({q:,} truly qualify)")
    fig.add_scatter(x=xs, y=ys, mode="text", text=texts, textfont={"size": 14}, showlegend=False,
                    hoverinfo="text", customdata=[r.get(k, 0) for *_, k, _n in pts])
    fig.add_annotation(x=3.3, y=-0.5, showarrow=False,
                       text=f"Qualifying but in neither: {r.get('neither_but_qualifying', 0):,}  ·  "
                            f"truth total: {overlap.get('truth', 0):,}")
    fig.add_annotation(x=0.6, y=4.2, showarrow=False, text="CRM segment", font={"color": COLORS["crm"], "size": 14})
    fig.add_annotation(x=6.0, y=4.2, showarrow=False, text="CDP audience", font={"color": COLORS["cdp"], "size": 14})
    fig.update_xaxes(visible=False, range=[-0.5, 7.1])
    fig.update_yaxes(visible=False, range=[-1, 4.6], scaleanchor="x")
    t = pd.Timestamp(overlap["t"])
    return _layout(fig, f"Who each model holds at {t:%Y-%m-%d %H:%M} UTC (persons)", "", "", height=420)


def overlap_over_time(series: pd.DataFrame) -> go.Figure:
    """Jaccard index of CRM and CDP members per day."""
    s = series.drop_duplicates("t")
    fig = go.Figure(go.Scatter(x=s["t"], y=s["jaccard_crm_cdp"] * 100, mode="lines", name="Jaccard CRM–CDP",
                               line={"color": "#CC79A7", "width": 2}))
    return _layout(fig, "Overlap of CRM segment and CDP audience over time", "Date (UTC)",
                   "Jaccard index (% of union in both)", yaxis_range=[0, 100])


def accuracy_over_time(series: pd.DataFrame, measure: str = "recall") -> go.Figure:
    fig = go.Figure()
    for model, g in series.groupby("model", sort=False):
        fig.add_scatter(x=g["t"], y=g[measure] * 100, mode="lines", name=label(model), line={"color": color(model), "dash": _dash(model)})
    return _layout(fig, f"{measure.capitalize()} against truth over time", "Date (UTC)", f"{measure.capitalize()} (%)",
                   yaxis_range=[0, 100])


def precision_recall(overlap: Mapping[str, Any]) -> go.Figure:
    """Grouped bars: precision and recall of each model against truth at one time."""
    models = list(overlap["models"])
    fig = go.Figure()
    for measure, pattern in (("precision", ""), ("recall", "/")):
        ys = [(_num(overlap["models"][m].get(measure)) or 0.0) * 100 for m in models]
        fig.add_bar(x=[label(m) for m in models], y=ys, name=measure, marker_color=[color(m) for m in models],
                    marker_pattern_shape=pattern, text=[f"{measure[0].upper()} {y:.0f}%" for y in ys],
                    textposition="outside")
    fig.update_layout(barmode="group")
    return _layout(fig, "Precision and recall against truth", "Model (plain = precision, hatched = recall)",
                   "Share (%)", yaxis_range=[0, 115])


# --------------------------------------------------------------------------- lift
def lift_chart(lift: pd.DataFrame) -> go.Figure:
    """Measured absolute lift with its 95% CI per model, next to the true lift (diamond)."""
    fig = go.Figure()
    lf = lift[lift["abs_lift"].notna()] if "abs_lift" in lift else lift.iloc[0:0]
    models = list(lf["model"])
    y = lf["abs_lift"].to_numpy(dtype=float) * 100
    hi = lf["abs_lift_ci_high"].to_numpy(dtype=float) * 100 - y
    lo = y - lf["abs_lift_ci_low"].to_numpy(dtype=float) * 100
    fig.add_scatter(x=[label(m) for m in models], y=y, mode="markers", name="measured lift (95% CI)",
                    marker={"color": [color(m) for m in models], "size": 14},
                    error_y={"type": "data", "array": hi, "arrayminus": lo, "visible": True, "thickness": 2})
    true = lf["true_abs_lift"].to_numpy(dtype=float) * 100
    fig.add_scatter(x=[label(m) for m in models], y=true, mode="markers", name="true lift",
                    marker={"color": "#000000", "symbol": "diamond-open", "size": 16, "line": {"width": 2}})
    fig.add_hline(y=0, line_color="#999999")
    return _layout(fig, "Campaign lift: measured (95% CI) vs true", "Model",
                   "Absolute lift in conversion (percentage points)")


def roi_bars(lift: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    models = list(lift["model"])
    fig.add_bar(x=[label(m) for m in models], y=lift["incremental_revenue"].astype(float).fillna(0),
                name="measured incremental revenue", marker_color=[color(m) for m in models])
    fig.add_bar(x=[label(m) for m in models], y=lift["true_incremental_revenue"].astype(float).fillna(0),
                name="true incremental revenue", marker_color="#999999")
    fig.update_layout(barmode="group")
    return _layout(fig, "Incremental revenue per model", "Model", "Incremental revenue (currency units)")


# --------------------------------------------------------------------------- journeys
LANES = ("Truth: what happened", "CRM: what was recorded", "CDP: what it saw")


def journey_lanes(truth: pd.DataFrame, crm: pd.DataFrame, cdp: pd.DataFrame) -> go.Figure:
    """Three lanes on one time axis.

    ``truth``: ts, label; ``crm``: recorded_at, label; ``cdp``: seen_at, label, profile (string).
    """
    fig = go.Figure()
    fig.add_scatter(x=truth["ts"], y=[LANES[0]] * len(truth), mode="markers", name="true event",
                    marker={"color": COLORS["truth"], "size": 9, "symbol": "circle"}, text=truth["label"],
                    hovertemplate="%{x}<br>%{text}<extra>truth</extra>")
    fig.add_scatter(x=crm["recorded_at"], y=[LANES[1]] * len(crm), mode="markers", name="CRM record",
                    marker={"color": COLORS["crm"], "size": 10, "symbol": "square"}, text=crm["label"],
                    hovertemplate="%{x}<br>%{text}<extra>CRM</extra>")
    profiles = list(dict.fromkeys(cdp["profile"].astype(str))) if len(cdp) else []
    symbols = ("diamond", "triangle-up", "star", "x", "cross", "pentagon", "hexagon")
    for i, prof in enumerate(profiles):
        g = cdp[cdp["profile"].astype(str) == prof]
        fig.add_scatter(x=g["seen_at"], y=[LANES[2]] * len(g), mode="markers", name=f"CDP profile {prof}",
                        marker={"color": COLORS["cdp"], "size": 10, "symbol": symbols[i % len(symbols)]},
                        text=g["label"], hovertemplate="%{x}<br>%{text}<extra>CDP " + prof + "</extra>")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(LANES)))
    _layout(fig, "One person's journey: truth, CRM and CDP", "Time (UTC)", "Lane", height=440)
    fig.update_layout(legend={"orientation": "h", "y": -0.35})
    return fig


def figure_numbers(fig: go.Figure) -> list:
    """All y values of a figure's traces (for tests and reports)."""
    out: list = []
    for tr in fig.data:
        if getattr(tr, "y", None) is not None:
            out.extend(list(tr.y))
    return out
