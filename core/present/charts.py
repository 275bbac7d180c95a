"""Plotly figures for the dashboard and the HTML report (no Streamlit).

One colour-blind-safe palette (Okabe–Ito, Wong 2011, Nature Methods 8:441) is fixed per model,
so CRM is always orange, CDP blue, hybrid green and truth black on every page and in exports.
Every builder takes DataFrames / dicts from ``core`` and returns a ``plotly.graph_objects.Figure``
with a title and axis labels that carry their units.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

COLORS: dict[str, str] = {"truth": "#000000", "crm": "#E69F00", "cdp": "#0072B2", "hybrid": "#009E73"}
LABELS: dict[str, str] = {"truth": "Truth", "crm": "CRM segment", "cdp": "CDP audience", "hybrid": "Hybrid"}
#: Colours for categories that are not models (channels, measures): Okabe–Ito's reddish purple,
#: Paul Tol's wine, indigo, purple and dark red, a pale pink and greys. None is, or reads as, a
#: model's colour: no orange, vermilion, sand or yellow (the CRM), no blue or sky blue (the CDP), no
#: green or teal (hybrid); tests/test_charts.py checks the hues.
CATEGORY_COLORS = ("#CC79A7", "#882255", "#999999", "#332288", "#AA4499", "#555555", "#E5C7DC", "#661100")
#: Channels keep their colour on every preset, so "email" is the same wine in every world.
CHANNEL_COLORS: dict[str, str] = {"web": "#CC79A7", "email": "#882255", "ads": "#999999", "app": "#332288",
                                  "store": "#AA4499", "sales": "#555555", "webinar": "#E5C7DC"}
#: Neutral greys for measures that belong to no model (identity quality, "later", "never").
GREYS = ("#3B3B3B", "#7A7A7A", "#B0B0B0")


#: Baselines that are not a model (the blast sends to everyone reachable): a dark neutral that no
#: model and no "true value" grey (#999999) uses, so a measured blast bar never reads as a true one.
BASELINES: dict[str, tuple[str, str]] = {"blast": ("#3B3B3B", "Blast (everyone)")}


def color(model: str) -> str:
    return COLORS.get(model) or BASELINES.get(model, ("#7A7A7A", ""))[0]


def label(model: str) -> str:
    return LABELS.get(model) or BASELINES.get(model, ("", model))[1] or model


def _dash(model: str) -> str:
    """Hybrid often coincides with CDP: dash it so both lines stay visible; truth is dotted."""
    return {"truth": "dot", "hybrid": "dash"}.get(model, "solid")


def _layout(fig: go.Figure, title: str, x: str, y: str, **kw: Any) -> go.Figure:
    """Title, axis titles and the house style. The title sits below the strip where plotly draws
    its toolbar, so a long title in a narrow column is never covered by the icons."""
    fig.update_layout(title={"text": title, "x": 0, "xanchor": "left", "xref": "paper", "y": 1, "yref": "container",
                             "yanchor": "top", "pad": {"t": 34}},
                      xaxis_title=x, yaxis_title=y, template="plotly_white",
                      legend={"orientation": "h", "y": -0.22, "yanchor": "top"},
                      margin={"t": 90, "b": 40, "l": 60, "r": 20}, **kw)
    return fig


def _key(fig: go.Figure, name: str, color: str, symbol: str = "square", line: str | None = None,
         opacity: float = 1.0) -> None:
    """A legend entry only. Bars and dots coloured by model would show the first model's colour in
    the legend ("precision" in the CRM's orange); a neutral key says what the mark means instead."""
    fig.add_scatter(x=[None], y=[None], mode="markers", name=name, hoverinfo="skip", opacity=opacity,
                    marker={"symbol": symbol, "size": 12, "color": color, "line": {"color": line or color, "width": 1.5}})


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
        fig.add_bar(x=g["day"], y=g["n"], name=str(ch),
                    marker_color=CHANNEL_COLORS.get(str(ch), CATEGORY_COLORS[i % len(CATEGORY_COLORS)]))
    fig.update_layout(barmode="stack")
    return _layout(fig, "Events per day by channel (ground truth)", "Day (UTC)", "Events per day (count)")


def identity_quality(quality: Mapping[str, Any]) -> go.Figure:
    """Bars of the identity-resolution shares (split persons, over-merged profiles, identified events).

    These describe the CDP's stitching, not a model's result, so they are drawn in neutral greys:
    the CRM's orange on "split persons" would read as "the CRM splits people"."""
    keys = [("share_persons_split", "People split<br>over profiles"),
            ("share_profiles_overmerged", "Profiles<br>over-merged"),
            ("share_events_identified", "Events on<br>reachable<br>profiles")]
    xs = [lbl for _, lbl in keys]
    ys = [(_num(quality.get(k)) or 0.0) * 100 for k, _ in keys]
    fig = go.Figure(go.Bar(x=xs, y=ys, marker_color=list(GREYS), text=[f"{y:.1f}%" for y in ys],
                           textposition="outside", showlegend=False))
    _layout(fig, "How well the CDP stitches people", "", "Share (%)", yaxis_range=[0, 115])
    fig.update_xaxes(tickangle=0)
    return fig


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
    """Cumulative share of qualifying episodes activated within x hours, per model (the cards count
    episodes too: a person whose need opens twice counts twice)."""
    fig = go.Figure()
    for model, g in curves.groupby("model", sort=False):
        fig.add_scatter(x=g["hours"], y=g["share_activated"] * 100, mode="lines", name=label(model),
                        line={"color": color(model), "width": 2.5, "dash": _dash(model)})
    if window_hours:
        fig.add_vline(x=window_hours, line_dash="dash", line_color="#666666",
                      annotation_text=f"action window {window_hours:g} h", annotation_position="top left")
    return _layout(fig, "Time to activation (share of qualifying episodes reached)",
                   "Hours since the episode opened", "Activated (% of qualifying episodes)", yaxis_range=[0, 100])


def lag_histogram(lags: Mapping[str, pd.DataFrame], max_hours: float | None = None) -> go.Figure:
    """Overlaid histograms of activation lag per model (activated episodes only)."""
    fig = go.Figure()
    for model, lg in lags.items():
        x = lg["lag_hours"].dropna()
        if max_hours:
            x = x[x <= max_hours]
        fig.add_histogram(x=x, name=label(model), marker_color=color(model), opacity=0.6, nbinsx=60)
    fig.update_layout(barmode="overlay")
    return _layout(fig, "Activation lag distribution", "Hours from qualifying to activation", "Activated episodes (count)")


def freshness_bars(table: pd.DataFrame) -> go.Figure:
    """Stacked share per model: within the action window, later, never activated."""
    fig = go.Figure()
    models = list(table["model"])
    within = table["share_within_window"].to_numpy() * 100
    never = table["share_never"].to_numpy() * 100
    later = np.clip(100 - within - never, 0, 100)
    fig.add_bar(x=[label(m) for m in models], y=within, name="within window", marker_color=[color(m) for m in models],
                text=[f"{w:.0f}% in time" for w in within], textposition="inside", insidetextanchor="middle",
                textfont={"color": "#FFFFFF"}, showlegend=False)
    fig.add_bar(x=[label(m) for m in models], y=later, name="reached later", marker_color=GREYS[2])
    fig.add_bar(x=[label(m) for m in models], y=never, name="never reached", marker_color=GREYS[1])
    fig.update_layout(barmode="stack")
    return _layout(fig, "Qualifying episodes reached in time", "Model", "Share of qualifying episodes (%)")


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
        texts.append(f"<b>{name}</b><br>{r.get(key, 0):,}<br>{q:,} qualify")
    fig.add_scatter(x=xs, y=ys, mode="text", text=texts, textfont={"size": 13}, showlegend=False,
                    hoverinfo="text", customdata=[r.get(k, 0) for *_, k, _n in pts])
    fig.add_annotation(x=3.3, y=-0.5, showarrow=False,
                       text=f"Qualifying but in neither: {r.get('neither_but_qualifying', 0):,}  ·  "
                            f"truth total: {overlap.get('truth', 0):,}")
    fig.add_annotation(x=0.6, y=4.2, showarrow=False, text="CRM segment", font={"color": COLORS["crm"], "size": 14})
    fig.add_annotation(x=6.0, y=4.2, showarrow=False, text="CDP audience", font={"color": COLORS["cdp"], "size": 14})
    fig.update_xaxes(visible=False, range=[-0.5, 7.1])
    fig.update_yaxes(visible=False, range=[-1, 4.6], scaleanchor="x")
    t = pd.Timestamp(overlap["t"])
    return _layout(fig, f"People each model holds, {t:%Y-%m-%d %H:%M} UTC", "", "", height=420)


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
                    textposition="outside", showlegend=False)  # the axis title says plain / hatched
    fig.update_layout(barmode="group")
    return _layout(fig, "Precision and recall against truth", "Model (plain = precision, hatched = recall)",
                   "Share (%)", yaxis_range=[0, 115])


def _short(y: float) -> str:
    """A bar label that fits beside its neighbour: 5,262 → '5.3k', 32.4 → '32'."""
    return f"{y / 1000:,.1f}k" if abs(y) >= 1000 else f"{y:,.0f}"


def scenario_pair(pairs: pd.DataFrame, title: str, y_title: str, names: Sequence[str] = ("A", "B"),
                  scale: float = 1.0) -> go.Figure:
    """Two scenarios side by side per model: A plain, B hatched, each bar in its model's colour.

    ``pairs`` has columns model, a, b (NaN = not measured in that scenario); ``scale`` turns shares
    into percent."""
    fig = go.Figure()
    models = list(pairs["model"])
    for col, letter, name, pattern in (("a", "A", names[0], ""), ("b", "B", names[1], "/")):
        ys = [None if _num(v) is None else _num(v) * scale for v in pairs[col]]
        fig.add_bar(x=[label(m) for m in models], y=ys, name=name, marker_color=[color(m) for m in models],
                    marker_pattern_shape=pattern, showlegend=False,
                    text=["" if y is None else f"{letter} {_short(y)}" for y in ys], textposition="outside",
                    textfont={"size": 10})
    fig.update_layout(barmode="group")
    return _layout(fig, title, f"Model (plain = {names[0]}, hatched = {names[1]})", y_title)


# --------------------------------------------------------------------------- lift
def lift_chart(lift: pd.DataFrame) -> go.Figure:
    """Measured absolute lift with its 95% CI per model, next to the true lift (diamond)."""
    fig = go.Figure()
    lf = lift[lift["abs_lift"].notna()] if "abs_lift" in lift else lift.iloc[0:0]
    models = list(lf["model"])
    y = lf["abs_lift"].to_numpy(dtype=float) * 100
    hi = lf["abs_lift_ci_high"].to_numpy(dtype=float) * 100 - y
    lo = y - lf["abs_lift_ci_low"].to_numpy(dtype=float) * 100
    fig.add_scatter(x=[label(m) for m in models], y=y, mode="markers", name="measured lift (95% CI)", showlegend=False,
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
                name="measured incremental revenue", marker_color=[color(m) for m in models], showlegend=False)
    fig.add_bar(x=[label(m) for m in models], y=lift["true_incremental_revenue"].astype(float).fillna(0),
                name="true incremental revenue", marker_color="#999999")
    _key(fig, "measured by the holdout test (in the model's colour)", "#FFFFFF", line="#3B3B3B")
    fig.update_layout(barmode="group")
    return _layout(fig, "Incremental revenue per model", "Model", "Incremental revenue (currency units)")


#: Dots of a test whose holdout is too small: greyed out, whatever the model.
GREYED = "#B0B0B0"


def repeated_lifts(draws: pd.DataFrame, marks: pd.DataFrame, repeats: int) -> go.Figure:
    """A strip per model: the measured lift of every repeated test, the true lift (black bar) and
    this run's measurement (large outlined dot), so a room sees how far one test can land from the truth.

    ``draws``: model, abs_lift (fraction). ``marks``: model, true_abs_lift, abs_lift (this run, may be
    None), greyed (holdout too small: grey dots), note (a line under the model's name).
    Jitter is drawn from a fixed seed, so the same data give the same figure.
    """
    fig = go.Figure()
    rng = np.random.default_rng(0)
    ticks, names = [], []
    for i, row in enumerate(marks.itertuples(index=False)):
        m = row.model
        c = GREYED if bool(row.greyed) else color(m)
        y = draws.loc[draws["model"] == m, "abs_lift"].to_numpy(dtype=float) * 100
        fig.add_scatter(x=i + rng.uniform(-0.3, 0.3, y.size), y=y, mode="markers", showlegend=False,
                        name=f"{label(m)}: one repeated test", hovertemplate="measured %{y:+.2f} pp<extra></extra>",
                        marker={"color": c, "size": 5, "opacity": 0.35})
        t = _num(row.true_abs_lift)
        if t is not None:
            fig.add_scatter(x=[i - 0.4, i + 0.4], y=[t * 100] * 2, mode="lines", name="true lift", legendgroup="true",
                            showlegend=not ticks, line={"color": COLORS["truth"], "width": 4},
                            hovertemplate=f"true lift {t * 100:+.2f} pp<extra></extra>")
        one = _num(row.abs_lift)
        if one is not None:
            fig.add_scatter(x=[i], y=[one * 100], mode="markers", name=f"{label(m)}: this run's measurement",
                            showlegend=False, hovertemplate="this run %{y:+.2f} pp<extra></extra>",
                            marker={"color": c, "size": 17, "line": {"color": COLORS["truth"], "width": 2.5}})
        ticks.append(i)
        names.append(f"<b>{label(m)}</b><br>{row.note}" if getattr(row, "note", "") else f"<b>{label(m)}</b>")
    _key(fig, "this run's measurement", "#FFFFFF", symbol="circle", line=COLORS["truth"])
    _key(fig, "one repeated test (new holdout, new outcomes)", "#7A7A7A", symbol="circle", opacity=0.5)
    fig.add_hline(y=0, line_color="#999999", line_dash="dot")
    fig.update_xaxes(tickmode="array", tickvals=ticks, ticktext=names, range=[-0.6, max(len(ticks), 1) - 0.4])
    return _layout(fig, f"Measured lift in {repeats:,} repeated tests of the same campaign, and the true lift",
                   "", "Absolute lift in conversion (percentage points)", height=470)


def power_chart(curve: pd.DataFrame, weeks_now: float | None, target: float,
                line_colors: Mapping[str, str]) -> go.Figure:
    """Power against campaign length (weeks), one line per effect, the target and today's design marked."""
    fig = go.Figure()
    for i, (name, part) in enumerate(curve.groupby("effect_label", sort=False)):
        x = part["weeks"].to_numpy(dtype=float) if "weeks" in part else part["n_total"].to_numpy(dtype=float)
        fig.add_scatter(x=x, y=part["power"].to_numpy(dtype=float) * 100, mode="lines", name=str(name),
                        line={"color": line_colors.get(str(name), GREYS[1]), "width": 3,
                              "dash": "solid" if i == 0 else "dash"},
                        hovertemplate="%{x:,.1f} weeks: power %{y:.0f}%<extra></extra>")
    fig.add_hline(y=target * 100, line_color=GREYS[1], line_dash="dot",
                  annotation_text=f"{target:.0%}: detects it {round(target * 10)} times in 10",
                  annotation_position="bottom right")
    if weeks_now:
        # an annotation on a log axis takes log10(x); a shape takes x itself
        fig.add_vline(x=weeks_now, line_color=COLORS["truth"], line_dash="dash")
        fig.add_annotation(x=math.log10(weeks_now), y=1, yref="paper", text="this design", showarrow=False,
                           xanchor="left", yanchor="bottom", font={"color": COLORS["truth"]})
    fig.update_xaxes(type="log")
    return _layout(fig, "Power: the share of tests that would detect the effect", "Campaign length (weeks, log scale)",
                   "Power (%)", yaxis_range=[0, 102])


def winner_histogram(diff: Sequence[float], true_diff: float, a: str, b: str) -> go.Figure:
    """Measured difference (a minus b) over the repeated tests, coloured by the model it names as
    the winner, with the true difference and zero marked: the share on the truth's side of zero is
    how often the test picks the right model."""
    d = np.asarray([v for v in diff if v is not None and math.isfinite(v)], dtype=float)
    fig = go.Figure()
    if d.size:
        lo, hi = min(d.min(), true_diff, 0.0), max(d.max(), true_diff, 0.0)
        width = (hi - lo) / 40 if hi > lo else 1.0
        # zero is a bin edge, so every bar lies wholly on one side: the test names a, or names b
        edges = np.arange(-math.ceil(-lo / width), math.ceil(hi / width) + 1) * width
        for model, side in ((a, d > 0), (b, d < 0)):
            counts, _ = np.histogram(d[side], bins=edges)
            keep = counts > 0
            fig.add_bar(x=((edges[:-1] + edges[1:]) / 2)[keep], y=counts[keep], width=width,
                        name=f"the test names {label(model)}", marker_color=color(model), opacity=0.85)
    fig.add_vline(x=true_diff, line_color=COLORS["truth"], line_width=3,
                  annotation_text="true difference", annotation_position="top")
    fig.add_vline(x=0, line_color="#999999", line_dash="dot")
    return _layout(fig, f"Measured difference in incremental revenue, {label(a)} minus {label(b)}",
                   "Currency units (positive: " + label(a) + " ahead)", "Repeated tests", bargap=0.02)


# --------------------------------------------------------------------------- journeys
LANES = ("Truth: what happened", "CRM: what was recorded", "CDP: what it saw")
#: The lane each model's activation mark sits on (hybrid runs the CDP audience, so it sits with the CDP).
ACTIVATION_LANE = {"crm": LANES[1], "cdp": LANES[2], "hybrid": LANES[2]}


def journey_lanes(truth: pd.DataFrame, crm: pd.DataFrame, cdp: pd.DataFrame,
                  qualified: pd.DataFrame | None = None, activated: pd.DataFrame | None = None) -> go.Figure:
    """Three lanes on one time axis, with when the person truly qualified and when each model could reach them.

    ``truth``: ts, label; ``crm``: recorded_at, label; ``cdp``: seen_at, label, profile (string);
    ``qualified``: enter, exit (shaded across the lanes, a black ▶ at each start on the truth lane);
    ``activated``: model, at (a ★ in the model's colour on its lane).
    """
    fig = go.Figure()
    for row in (qualified if qualified is not None else pd.DataFrame(columns=["enter", "exit"])).itertuples():
        fig.add_vrect(x0=row.enter, x1=row.exit, fillcolor=COLORS["truth"], opacity=0.07, line_width=0, layer="below")
    fig.add_scatter(x=truth["ts"], y=[LANES[0]] * len(truth), mode="markers", name="true event",
                    marker={"color": COLORS["truth"], "size": 8, "symbol": "circle"}, text=truth["label"],
                    hovertemplate="%{x}<br>%{text}<extra>truth</extra>")
    if qualified is not None and len(qualified):
        fig.add_scatter(x=qualified["enter"], y=[LANES[0]] * len(qualified), mode="markers",
                        name="truly qualifies (shaded while it lasts)",
                        marker={"color": COLORS["truth"], "size": 16, "symbol": "triangle-right"},
                        hovertemplate="qualified at %{x}<extra>truth</extra>")
    fig.add_scatter(x=crm["recorded_at"], y=[LANES[1]] * len(crm), mode="markers", name="CRM record",
                    marker={"color": COLORS["crm"], "size": 10, "symbol": "square"}, text=crm["label"],
                    hovertemplate="%{x}<br>%{text}<extra>CRM</extra>")
    profiles = list(dict.fromkeys(cdp["profile"].astype(str))) if len(cdp) else []
    symbols = ("diamond", "triangle-up", "hexagon", "x", "cross", "pentagon", "square")
    for i, prof in enumerate(profiles):
        g = cdp[cdp["profile"].astype(str) == prof]
        fig.add_scatter(x=g["seen_at"], y=[LANES[2]] * len(g), mode="markers", name=f"CDP profile {prof}",
                        marker={"color": COLORS["cdp"], "size": 9, "symbol": symbols[i % len(symbols)]},
                        text=g["label"], hovertemplate="%{x}<br>%{text}<extra>CDP " + prof + "</extra>")
    if activated is not None and len(activated):
        for model in [m for m in ("crm", "cdp", "hybrid") if m in set(activated["model"])]:  # hybrid's small ★ on top
            g = activated[activated["model"] == model]
            fig.add_scatter(x=g["at"], y=[ACTIVATION_LANE.get(str(model), LANES[2])] * len(g), mode="markers",
                            name=f"{label(str(model))} can reach them",
                            marker={"color": color(str(model)), "size": 11 if model == "hybrid" else 18,
                                    "symbol": "star", "line": {"color": "#000000", "width": 1}},
                            hovertemplate="reachable from %{x}<extra>" + label(str(model)) + "</extra>")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(LANES)), automargin=True)
    _layout(fig, "One person's journey: truth, CRM and CDP", "Time (UTC)", "", height=460)
    fig.update_layout(legend={"orientation": "h", "y": -0.3})
    return fig


# --------------------------------------------------------------------------- fit advisor
def fit_value_bars(summary: pd.DataFrame, names: Mapping[str, str]) -> go.Figure:
    """Incremental revenue (light, a steady year) and net value (solid, a year over the horizon) per model."""
    fig = go.Figure()
    xs = [names.get(m, m) for m in summary["model"]]
    fig.add_bar(x=xs, y=summary["incremental_revenue_12m"], name="Incremental revenue",
                marker_color=[color(m) for m in summary["model"]], opacity=0.45, showlegend=False)
    fig.add_bar(x=xs, y=summary["net_value_12m"], name="Net value", marker_color=[color(m) for m in summary["model"]],
                showlegend=False)
    _key(fig, "incremental revenue (light)", GREYS[1], opacity=0.45)
    _key(fig, "net value (solid)", GREYS[1])
    fig.update_layout(barmode="group")
    return _layout(fig, "Incremental revenue and net value per model, a year", "Model",
                   "Currency units a year")


def fit_sweep(sweep: pd.DataFrame, detail: Mapping[str, Any], knob_label: str, unit: str,
              names: Mapping[str, str], log_x: bool = False) -> go.Figure:
    """Net value per model against one swept knob, with the crossover (dashed) and the user's answer (dotted)."""
    fig = go.Figure()
    for m in names:
        tm = sweep[sweep["model"] == m]
        fig.add_scatter(x=tm["value"], y=tm["net_value"], mode="lines+markers", name=names[m],
                        line={"color": color(m), "dash": _dash(m)})
    if detail.get("value") is not None:
        fig.add_vline(x=detail["value"], line_dash="dash", line_color="#000000",
                      annotation_text=f"crossover {detail['value']:.3g}", annotation_position="top")
    if detail.get("current") is not None:
        fig.add_vline(x=detail["current"], line_dash="dot", line_color="#999999", annotation_text="yours",
                      annotation_position="bottom")
    _layout(fig, f"Net value a year per model against: {knob_label}", f"{knob_label} — {unit}",
            "Net value, currency units a year")
    if log_x:
        fig.update_xaxes(type="log")
    return fig


def tornado(tor: pd.DataFrame) -> go.Figure:
    """Which knob moves the answer most: each bar spans the best-of-CDP/hybrid minus CRM margin.

    Long knob names are wrapped and the axes grow to hold every label (``automargin``) and the
    value text outside the bars (the x range is padded), so nothing is clipped."""
    lo = tor[["margin_low", "margin_high"]].min(axis=1)
    hi = tor[["margin_low", "margin_high"]].max(axis=1)
    names = [_wrap(str(t), 34) for t in tor["label"]]
    fig = go.Figure()
    fig.add_bar(y=names, x=hi - lo, base=lo, orientation="h", marker_color=GREYS[1], name="CDP/hybrid − CRM",
                hovertext=[f"{r.low_value:g} → {r.high_value:g}" for r in tor.itertuples()],
                text=[f"{r.low_value:g} → {r.high_value:g}" + (" (no change)" if r.span == 0 else "")
                      for r in tor.itertuples()],
                textposition="outside", cliponaxis=False, showlegend=False)
    fig.add_vline(x=0, line_color="#000000")
    left, right = float(min(lo.min(), 0)), float(max(hi.max(), 0))
    pad = (right - left) * 0.3 or 1.0
    _layout(fig, "Which knob moves the answer most (tornado)",
            "Best of CDP/hybrid/CRM + CDP minus CRM net value, currency units a year", "",
            height=120 + 70 * len(tor))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(range=[left - pad * 0.15, right + pad])
    fig.update_layout(margin={"l": 20, "r": 40})
    return fig


def well_vs_poorly(wp: pd.DataFrame, names: Mapping[str, str]) -> go.Figure:
    """Net value a year per model for a well-run and a poorly run CDP, same business and CRM."""
    fig = go.Figure()
    for m in names:
        tm = wp[wp["model"] == m]
        fig.add_bar(x=tm["variant"], y=tm["net_value"], name=names[m], marker_color=color(m))
    fig.update_layout(barmode="group")
    return _layout(fig, "Net value a year: well-run vs poorly run CDP, against the same CRM",
                   "How the CDP is run", "Net value, currency units a year")


def _wrap(text: str, width: int) -> str:
    """Break a label into lines of at most ``width`` characters (plotly wraps only at <br>)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def figure_numbers(fig: go.Figure) -> list:
    """All y values of a figure's traces (for tests and reports)."""
    out: list = []
    for tr in fig.data:
        if getattr(tr, "y", None) is not None:
            out.extend(list(tr.y))
    return out


# --------------------------------------------------------------------------- one knob at a time
def ops_tornado(tor: Mapping[str, Any], knob_labels: Mapping[str, str] | None = None, top: int = 12) -> go.Figure:
    """Each ops knob moved alone (``core.advice.tornado.ops_tornado``): one bar from the scenario's
    CDP-minus-CRM gap to the gap at the knob's well-run value, one to its poorly-run value. A bar
    that crosses the zero line flips the verdict; its text says to whom. The widest knobs first."""
    base = float(tor["base"]["gap"])
    rows = list(tor["rows"])
    order: list[str] = []
    for r in rows:
        if r["knob"] not in order:
            order.append(r["knob"])
    order = order[:top]
    names = {k: _wrap(f"{(knob_labels or {}).get(k, k)} ({next(r['side'] for r in rows if r['knob'] == k).upper()})", 34)
             for k in order}
    fig = go.Figure()
    for level, col in (("well-run", CATEGORY_COLORS[3]), ("poorly-run", CATEGORY_COLORS[1])):
        sel = [r for r in rows if r["level"] == level and r["knob"] in names]
        fig.add_bar(y=[names[r["knob"]] for r in sel], x=[r["gap"] - base for r in sel], base=base, orientation="h",
                    marker_color=col, name=f"knob at its {level.replace('-', ' ')} value",
                    text=[f"→ {r['winner'].upper()}" if r["flips"] else "" for r in sel], textposition="outside",
                    cliponaxis=False,
                    hovertext=[f"{r['knob']} = {r['value']}: CRM {r['net_value']['crm']:,.0f}, CDP {r['net_value']['cdp']:,.0f}"
                               for r in sel])
    fig.add_vline(x=0, line_color="#000000")
    fig.add_vline(x=base, line_color=GREYS[1], line_dash="dot")
    _layout(fig, "Which single ops knob flips the verdict (one knob at a time)",
            "CDP minus CRM true net value (currency units; right of 0: CDP wins; dotted: as set)", "",
            height=140 + 44 * len(order), barmode="overlay")
    fig.update_yaxes(autorange="reversed", automargin=True, categoryorder="array", categoryarray=[names[k] for k in order])
    return fig
