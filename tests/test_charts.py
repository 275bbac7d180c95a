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


# ------------------------------------------------------------------ colours mean models, and only models
import colorsys  # noqa: E402


def _hue_sat(hex_colour: str) -> tuple[float, float]:
    r, g, b = (int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    h, _l, s = colorsys.rgb_to_hls(r, g, b)
    return h * 360, s


def _reads_as_a_model(hex_colour: str) -> str | None:
    """The model whose colour this one could be taken for (same hue family, saturated), if any."""
    h, s = _hue_sat(hex_colour)
    if s < 0.25:
        return None  # a grey or a washed-out tint is no model's colour
    for model in ("crm", "cdp", "hybrid"):
        mh, _ = _hue_sat(charts.COLORS[model])
        if min(abs(h - mh), 360 - abs(h - mh)) < 22:
            return model
    return None


def test_category_colours_never_read_as_a_model():
    for c in list(charts.CATEGORY_COLORS) + list(charts.CHANNEL_COLORS.values()) + list(charts.GREYS):
        assert c.upper() not in {v.upper() for v in charts.COLORS.values()}, c
        assert _reads_as_a_model(c) is None, f"{c} reads as the {_reads_as_a_model(c)} colour"
    assert _reads_as_a_model("#D55E00") == "crm", "the check itself: vermilion reads as the CRM's orange"


def test_identity_chart_uses_no_model_colour():
    fig = charts.identity_quality({"share_persons_split": 0.6, "share_profiles_overmerged": 0.01,
                                   "share_events_identified": 0.55})
    colours = list(fig.data[0].marker.color)
    assert colours and all(_reads_as_a_model(c) is None for c in colours), colours
    assert list(fig.data[0].y) == pytest.approx([60, 1, 55])


def test_tornado_labels_are_wrapped_and_nothing_is_clipped():
    tor = pd.DataFrame({"label": ["CDP cost (licence, implementation, upkeep) vs your answer", "CDP sync interval"],
                        "low_value": [0.25, 5.0], "high_value": [4.0, 4320.0], "margin_low": [-900_000.0, -250_000.0],
                        "margin_high": [120_000.0, -200_000.0], "span": [1_020_000.0, 50_000.0]})
    fig = charts.tornado(tor)
    bar = fig.data[0]
    assert all(len(line) <= 34 for name in bar.y for line in name.split("<br>"))
    assert fig.layout.yaxis.automargin is True
    lo, hi = fig.layout.xaxis.range
    ends = [b + x for b, x in zip(bar.base, bar.x)]
    assert hi > max(ends) + 0.2 * (max(ends) - min(bar.base)), "room right of the longest bar for its value text"
    assert lo < min(bar.base)
    assert bar.cliponaxis is False and bar.textposition == "outside"


def test_journey_lanes_mark_qualifying_and_activation():
    t = pd.Timestamp("2026-09-10", tz="UTC")
    truth = pd.DataFrame({"ts": [t], "label": ["add_to_cart · web"]})
    crm = pd.DataFrame({"recorded_at": [t + pd.Timedelta(days=1)], "label": ["x"]})
    cdp = pd.DataFrame({"seen_at": [t], "label": ["add_to_cart"], "profile": ["123456"]})
    qualified = pd.DataFrame({"enter": [t, t + pd.Timedelta(days=5)], "exit": [t + pd.Timedelta(hours=1),
                                                                             t + pd.Timedelta(days=6)]})
    reached = pd.DataFrame({"model": ["cdp", "crm", "hybrid"],
                            "at": [t + pd.Timedelta(minutes=20), t + pd.Timedelta(days=2), t + pd.Timedelta(hours=2)]})
    fig = charts.journey_lanes(truth, crm, cdp, qualified, reached)
    assert len([s for s in fig.layout.shapes if s.type == "rect"]) == 2, "one shaded stretch per qualifying episode"
    marks = {tr.name: tr for tr in fig.data if tr.name and "can reach them" in tr.name}
    assert set(marks) == {"CRM segment can reach them", "CDP audience can reach them", "Hybrid can reach them"}
    assert marks["CRM segment can reach them"].marker.color == charts.COLORS["crm"]
    assert list(marks["CRM segment can reach them"].y) == [charts.LANES[1]]
    assert list(marks["Hybrid can reach them"].y) == [charts.LANES[2]]
    qual = next(tr for tr in fig.data if tr.name and tr.name.startswith("truly qualifies"))
    assert len(qual.x) == 2 and list(qual.y) == [charts.LANES[0]] * 2
    plain = charts.journey_lanes(truth, crm, cdp)
    assert not plain.layout.shapes and not any("can reach" in (tr.name or "") for tr in plain.data)


def test_the_blast_baseline_has_its_own_name_and_colour():
    assert charts.label("blast") == "Blast (everyone)"
    assert charts.color("blast") not in set(charts.COLORS.values()) | {"#999999"}, "never the true-value grey"
    lift = pd.DataFrame({"model": ["crm", "blast"], "incremental_revenue": [10.0, 50.0],
                         "true_incremental_revenue": [12.0, 40.0]})
    measured = charts.roi_bars(lift).data[0]
    assert list(measured.marker.color) == [charts.COLORS["crm"], charts.color("blast")]
    assert list(measured.x) == ["CRM segment", "Blast (everyone)"]


def test_freshness_charts_count_episodes_as_the_cards_do():
    """The cards say 'of N qualifying episodes'; the charts beside them must not say 'people'."""
    from core.present.measureview import freshness_cards

    table = pd.DataFrame({"model": ["crm", "cdp"], "share_within_window": [0.2, 0.6], "share_never": [0.5, 0.1],
                          "n_qualified": [40, 40], "n_people_qualified": [30, 30], "n_activated": [20, 36],
                          "median_hours": [30.0, 2.0], "p90_hours": [70.0, 9.0], "n_stale_people": [3, 4],
                          "stale_person_days": [5.0, 6.0]})
    lag = {"crm": pd.DataFrame({"lag_hours": [1.0, 30.0]}), "cdp": pd.DataFrame({"lag_hours": [0.5, 2.0]})}
    figs = [charts.freshness_cdf(_curves(), 48), charts.freshness_bars(table), charts.lag_histogram(lag)]
    for fig in figs:
        words = " ".join([fig.layout.title.text, fig.layout.xaxis.title.text or "", fig.layout.yaxis.title.text or ""])
        assert "episode" in words and "people" not in words, words
    assert "episodes" in freshness_cards(table)[0].timely_of
