"""core/charts.py: fixed colour per model, titles and axis labels with units."""
from __future__ import annotations

import pandas as pd
import pytest

from core.present import charts


def test_palette_is_okabe_ito_and_fixed():
    assert charts.COLORS == {"truth": "#000000", "crm": "#E69F00", "cdp": "#0072B2", "hybrid": "#009E73"}


def _curves():
    return pd.concat([pd.DataFrame({"hours": [0, 10, 20], "share_activated": [0, s, 2 * s], "model": m})
                      for m, s in (("crm", 0.1), ("cdp", 0.4), ("hybrid", 0.3))])


def test_freshness_cdf_colours_and_labels():
    fig = charts.freshness_cdf(_curves(), 48)
    assert [t.line.color for t in fig.data] == [charts.COLORS[m] for m in ("crm", "cdp", "hybrid")]
    assert fig.layout.title.text and "Hours" in fig.layout.xaxis.title.text and "%" in fig.layout.yaxis.title.text
    assert list(fig.data[1].y) == [0, 40, 80]


def test_lift_chart_has_ci_and_truth():
    lift = pd.DataFrame({"model": ["crm", "cdp"], "abs_lift": [0.01, 0.03], "abs_lift_ci_low": [-0.01, 0.01],
                         "abs_lift_ci_high": [0.03, 0.05], "true_abs_lift": [0.012, 0.028]})
    fig = charts.lift_chart(lift)
    measured, true = fig.data
    assert list(measured.y) == pytest.approx([1.0, 3.0])
    assert list(measured.error_y.array) == pytest.approx([2.0, 2.0])
    assert list(true.y) == pytest.approx([1.2, 2.8])
    assert "percentage points" in fig.layout.yaxis.title.text


def test_venn_shows_region_counts():
    ov = {"t": pd.Timestamp("2026-09-01", tz="UTC"), "truth": 10,
          "regions": {"crm_only": 3, "cdp_only": 5, "both": 2, "neither_but_qualifying": 4,
                      "crm_only_qualifying": 1, "cdp_only_qualifying": 4, "both_qualifying": 2}}
    fig = charts.venn(ov)
    assert len(fig.layout.shapes) == 2
    assert list(fig.data[0].customdata) == [3, 2, 5]
    assert fig.layout.shapes[0].fillcolor == charts.COLORS["crm"]


def test_precision_recall_bars():
    ov = {"models": {"crm": {"precision": 1.0, "recall": 0.2}, "cdp": {"precision": 0.9, "recall": None}}}
    fig = charts.precision_recall(ov)
    assert list(fig.data[0].y) == pytest.approx([100, 90]) and list(fig.data[1].y) == pytest.approx([20, 0])
