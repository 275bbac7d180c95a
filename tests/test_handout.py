"""The PDF hand-out (core/present/pdf.py, export.handout_html) and the glossary it ends with.

The PDF is printed by Debian's Chromium and read back with pypdf: its pages, and the figures a
reader would check against the dashboard (the play, the models' net values, the words)."""
from __future__ import annotations

import io
import os
import stat
import time
from pathlib import Path

import pytest

from core.advice.scenario import Scenario, build_engine, build_world, play_results
from core.engine.plays import get_play
from core.present import glossary, headline, pdf
from core.present.export import handout_html, html_report, scenario_lines
from core.present.pdf import CHROMIUM, PdfUnavailable, html_to_pdf

SCENARIO = Scenario.make("b2c-retail", 7, 1000, 45, {"stack_crm": "hubspot-active-lists", "coverage_web": 0.5})


@pytest.fixture(scope="module")
def results():
    engine = build_engine(SCENARIO, build_world(SCENARIO))
    return play_results(engine, get_play("cart-abandonment"), SCENARIO)


def test_headline_figures_are_the_results_own(results):
    values = headline.headline_values(results)
    fresh = results.freshness.set_index("model")
    lift = results.lift.set_index("model")
    assert list(values.index) == ["crm", "cdp", "hybrid", "blast"]
    assert values.loc["cdp", "in_time"] == pytest.approx(fresh.loc["cdp", "share_within_window"])
    assert values.loc["blast", "net_value"] == pytest.approx(lift.loc["blast", "true_net_value"])
    assert values.loc["blast", "in_time"] != values.loc["blast", "in_time"]  # the blast has no freshness: NaN
    table = headline.headline_table(results)
    assert table.loc["True net value", "CDP audience"] == f"{lift.loc['cdp', 'true_net_value']:,.0f}"
    assert table.loc["Episodes reached within the action window", "Blast (everyone)"] == "–"


def test_the_handout_says_the_scenario_in_words_not_json(results):
    lines = scenario_lines(SCENARIO)
    assert lines[0].startswith("Business: B2C e-commerce (b2c-retail); 1,000 people over 45 days")
    assert "CRM: HubSpot active lists" in lines[1]
    assert any(line.endswith(": 50%") for line in lines), lines
    page = handout_html(SCENARIO, results, link="http://example.test/?people=1000&x=<b>")
    assert "&lt;b&gt;" in page and "<b>" not in page.split("<body>")[1].split("<h2>Charts")[0]
    assert '"settings"' not in page.split("<h2>Charts")[0]  # no JSON dump in the printed part
    assert page.count("window.PlotlyConfig") == 1


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (make test installs it)")
def test_the_pdf_prints_and_reads_back_with_its_figures(results):
    pypdf = pytest.importorskip("pypdf")
    pdf = html_to_pdf(handout_html(SCENARIO, results))
    assert pdf.startswith(b"%PDF")
    doc = pypdf.PdfReader(io.BytesIO(pdf))
    assert 3 <= len(doc.pages) <= 12, len(doc.pages)
    box = doc.pages[0].mediabox
    assert abs(float(box.width) - 595) < 3 and abs(float(box.height) - 842) < 3  # A4 portrait, in points
    text = " ".join(" ".join(p.extract_text().split()) for p in doc.pages)
    assert "Audience Lab — Cart abandonment recovery" in text
    lift = results.lift.set_index("model")
    for model in ("crm", "cdp", "hybrid", "blast"):  # every model's net value, as the dashboard prints it
        assert f"{lift.loc[model, 'true_net_value']:,.0f}" in text, model
    assert "Episodes reached within the action window" in text and "HubSpot active lists" in text
    assert "Time to activation (share of qualifying episodes reached)" in text  # a chart drawn, not a blank box
    assert "qualifying episode: one interval" in text  # the glossary closes the hand-out


def _fake_chromium(tmp_path, body: str) -> str:
    exe = tmp_path / "chromium"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return str(exe)


def test_a_missing_chromium_is_named_with_what_to_do_instead(tmp_path):
    with pytest.raises(PdfUnavailable, match="not installed at .*nowhere.*HTML report"):
        html_to_pdf("<html></html>", chromium=str(tmp_path / "nowhere"))


def _gone(pid: int, wait_s: float = 5.0) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":  # killed, waiting to be reaped
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_a_print_that_hangs_is_stopped_with_its_helpers_and_said(tmp_path):
    """Chromium starts helper processes; a hung print must not leave them running on the server."""
    exe = _fake_chromium(tmp_path, f"sleep 30 & echo $! > {tmp_path}/helper.pid; wait")
    with pytest.raises(PdfUnavailable, match="within 1 s"):
        html_to_pdf("<html></html>", chromium=exe, timeout_s=1)
    assert _gone(int((tmp_path / "helper.pid").read_text()))


def test_prints_beyond_the_slots_wait_then_say_the_server_is_busy(tmp_path):
    exe = _fake_chromium(tmp_path, "exit 1")
    held = [pdf._SLOTS.acquire(timeout=5) for _ in range(pdf.PRINT_SLOTS)]
    try:
        assert all(held)
        with pytest.raises(PdfUnavailable, match="busy printing other hand-outs"):
            html_to_pdf("<html></html>", chromium=exe, timeout_s=0.3)
    finally:
        for _ in held:
            pdf._SLOTS.release()
    with pytest.raises(PdfUnavailable, match="no PDF"):  # a free slot: the print runs (and this fake fails)
        html_to_pdf("<html></html>", chromium=exe, timeout_s=5)


def test_a_print_that_writes_nothing_is_said_with_its_exit_code(tmp_path):
    exe = _fake_chromium(tmp_path, "echo 'cannot open display' >&2; exit 3")
    with pytest.raises(PdfUnavailable, match=r"no PDF \(exit 3: cannot open display\)"):
        html_to_pdf("<html></html>", chromium=exe)


def test_every_word_the_issue_asks_for_is_in_the_glossary_once():
    words = [t.word for t in glossary.TERMS]
    assert len(words) == len(set(w.lower() for w in words))
    for word in ("pp", "holdout", "episode", "need", "yardstick", "net value", "activation", "profile", "segment",
                 "audience"):
        assert glossary.lookup(word.upper()).meaning
    with pytest.raises(KeyError, match="not in the glossary"):
        glossary.lookup("synergy")
    assert "<dt>episode</dt>" in html_report(SCENARIO, None, {})
    with pytest.raises(ValueError, match="accepted: campaign, fit"):
        glossary.net_value_defined("quarterly")
