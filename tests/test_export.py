"""core/export.py: CSV formula neutralisation (OWASP CSV injection) and the offline HTML report."""
from __future__ import annotations

import io

import pandas as pd
import plotly.graph_objects as go

from core.present.export import html_report, to_safe_csv
from core.advice.scenario import Scenario


def test_csv_neutralises_formula_cells():
    df = pd.DataFrame({
        "email": ["=HYPERLINK(\"http://evil\")", "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rx", "ok@example.com", None],
        "n": [1, -2, 3, 4, 5, 6, 7, 8],
    })
    out = pd.read_csv(io.BytesIO(to_safe_csv(df)), keep_default_na=False, dtype=str)
    assert out["email"].tolist()[:6] == ["'=HYPERLINK(\"http://evil\")", "'+1+2", "'-2+3", "'@SUM(A1)", "'\tcmd", "'\rx"]
    assert out["email"].tolist()[6] == "ok@example.com"
    assert out["n"].tolist()[1] == "-2", "numbers are data, not formulas: left alone"


def test_csv_neutralises_headers_and_categoricals():
    df = pd.DataFrame({"=bad": pd.Categorical(["=1", "a"])})
    out = pd.read_csv(io.BytesIO(to_safe_csv(df)), dtype=str)
    assert list(out.columns) == ["'=bad"]
    assert out.iloc[0, 0] == "'=1"


def test_csv_does_not_mutate_input():
    df = pd.DataFrame({"a": ["=x"]})
    to_safe_csv(df)
    assert df["a"][0] == "=x"


def test_html_report_embeds_plotly_once_and_works_offline():
    figs = {f"f{i}": go.Figure(go.Scatter(x=[1, 2], y=[i, i + 1]), layout={"title": {"text": f"chart {i}"}}) for i in range(3)}
    html = html_report(Scenario.make("b2c-retail", 7, 2000), None, figs)
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("window.PlotlyConfig") == 1, "plotly.js embedded exactly once"
    assert len(html) > 1_000_000, "the bundle is inline, not a CDN link"
    assert html.count('class="plotly-graph-div"') == 3
    assert "<script src=\"https://cdn" not in html
    assert "b2c-retail" in html and "chart 2" in html
    assert "<li>Business: B2C e-commerce (b2c-retail); 2,000 people over 90 days; seed 7.</li>" in html  # in words
