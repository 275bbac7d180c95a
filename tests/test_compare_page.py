"""AppTest page tests for the Compare page, the PDF hand-out button and the glossary sidebar."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from core.present.glossary import TERMS  # noqa: E402
from core.present.pdf import CHROMIUM  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMPARE = "pages/9_Compare.py"
SMALL = "preset=b2c-retail&seed=7&people=1000&days=45"
TIMEOUT = 240


def run(path: str | None, **params: str) -> AppTest:
    """Open the home page on a small world, then go to ``path`` through the router (as the sidebar
    does) with these parameters in the address."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["people"], at.query_params["days"] = "1000", "45"
    at.run()
    if path:
        for k, v in params.items():
            at.query_params[k] = v
        at.switch_page(path).run()
    return at


def q(at: AppTest, key: str) -> str:
    v = at.query_params.get(key)
    return v[-1] if isinstance(v, list) else v


def test_compare_opens_on_this_scenario_against_a_poorly_run_cdp():
    at = run(COMPARE, people="1000", days="45")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Compare two scenarios"
    text = " ".join(m.value for m in at.markdown)
    assert "How the CDP computes audiences" in text and "→" in text  # what differs, in words
    assert "makes more money" in text
    assert len(at.get("plotly_chart")) == 2
    assert "people=1000" in q(at, "a") and "cdp_mode=batch" in q(at, "b")  # the pair is in this page's link
    assert [t.label for t in at.text_area] == ["Link A", "Link B"]


def test_a_shared_comparison_link_restores_both_sides_and_names():
    at = run(COMPARE, a=SMALL + "&stack_cdp=segment-batch", b=SMALL + "&stack_cdp=segment-realtime")
    assert not at.exception and not at.error, [e.value for e in at.error]
    text = " ".join(m.value for m in at.markdown)
    assert "CDP product: Segment batch → Segment real-time" in text
    at.text_input(key="cmp_name_a").set_value("Segment batch").run()
    at.text_input(key="cmp_name_b").set_value("Segment real-time").run()
    assert not at.exception
    assert list(at.dataframe[0].value.columns)[2:] == ["Segment batch", "Segment real-time",
                                                       "Segment real-time − Segment batch"]


@pytest.mark.parametrize("a, says", [("hello", "Link A (\'hello\') is not a scenario link"),
                                      (SMALL + "&coverage_web=7", "Link A has parameters this dashboard cannot restore"),
                                      ("", "Link A is empty")])
def test_a_bad_link_is_an_error_in_place_naming_it(a, says):
    at = run(COMPARE, a=a, b=SMALL)
    assert not at.exception
    assert any(e.value.startswith(says) for e in at.error), [e.value for e in at.error]
    assert not at.get("plotly_chart")  # nothing is compared on a wrong scenario


def test_a_world_too_large_for_the_server_is_said_not_built():
    at = run(COMPARE, a=SMALL, b=SMALL.replace("people=1000", "people=200000") + "&days=365")
    assert not at.exception
    assert any("cannot be built" in e.value and "MB" in e.value for e in at.error), [e.value for e in at.error]


def test_the_glossary_is_in_the_sidebar():
    """app.py draws it before routing, so every page has it (AppTest runs a switched-to page's file
    directly, without app.py: the other pages are checked in the real browser, tests/test_browser.py)."""
    at = run(None)
    assert not at.exception
    box = at.sidebar.expander[0]
    assert box.label.startswith(f"Glossary — {len(TERMS)} words")
    words = box.markdown[0].value
    for word in ("episode", "holdout", "net value", "pp", "yardstick", "need", "activation", "profile", "segment",
                 "audience"):
        assert f"**{word}**" in words


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (make test installs it)")
def test_the_scenario_page_prints_the_handout_then_offers_it():
    at = run(None, people="1000", days="45")
    assert not at.exception
    assert not at.get("download_button") or all("PDF" not in str(d.proto.label) for d in at.get("download_button"))
    next(b for b in at.button if b.label.startswith("Prepare a PDF hand-out")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    labels = [d.proto.label for d in at.get("download_button")]
    assert "Download the PDF hand-out" in labels, labels


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (make test installs it)")
def test_the_comparison_prints_as_a_pdf_with_both_scenarios():
    pypdf = pytest.importorskip("pypdf")
    import io

    at = run(COMPARE, a=SMALL + "&stack_crm=hubspot-active-lists", b=SMALL + "&stack_crm=sales-crm-nightly-import")
    at.text_input(key="cmp_name_a").set_value("Today").run()
    next(b for b in at.button if b.label.startswith("Prepare a PDF comparison")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    button = next(d for d in at.get("download_button") if d.proto.label == "Download the PDF comparison")
    assert button.proto.label
    # the bytes the button offers are kept in the session under the page's key
    key, data = at.session_state["_al_pdf_compare"]
    import unicodedata

    text = unicodedata.normalize("NFKC", " ".join(" ".join(p.extract_text().split())
                                                  for p in pypdf.PdfReader(io.BytesIO(data)).pages))  # ﬁ → fi
    assert "Audience Lab — Today vs B" in text
    assert "CRM product: HubSpot active lists → Sales CRM with nightly imports" in text
    assert "Every headline figure" in text and "B − Today" in text and "qualifying episode: one interval" in text


def test_an_ops_button_sets_b_to_a_with_that_side_run_another_way():
    at = run(COMPARE, a=SMALL + "&stack_cdp=segment-batch", b=SMALL)
    next(b for b in at.button if b.label == "B = A, well-run CRM").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    b = q(at, "b")
    assert "stack_cdp=segment-batch" in b and "crm_" in b  # the product stays; the CRM's knobs moved
    text = " ".join(m.value for m in at.markdown)
    assert "CDP product" not in text and "How the CDP" not in text  # nothing of the CDP differs
    assert at.text_input(key="cmp_name_b").value == "A, well-run CRM"
    at.text_area(key="cmp_a").set_value("not a link").run()
    next(b for b in at.button if b.label == "B = A, poorly run CDP").click().run()
    assert any(e.value.startswith("B cannot be set from A: link A") for e in at.error), [e.value for e in at.error]
