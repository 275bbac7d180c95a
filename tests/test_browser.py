"""Real-browser tests: Debian's Chromium drives the running dashboard.

The server is started with ``streamlit run`` on a free local port; readiness is read the way
Streamlit's own end-to-end tests do it — the ``stApp`` element's connection and script state
attributes — never by sleeping a guessed amount of time.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from scripts.browser import CHROMEDRIVER, CHROMIUM, free_port, make_driver, page_urls, start_server, wait_for_app, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
SMALL = "people=2000&days=45"
SIDEBAR = ["Scenario", "Journeys", "Segments", "Freshness", "Overlap", "Campaign lift", "Fit"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                       reason="Debian chromium and chromium-driver are not installed (make test installs them)"),
]


def _serve():
    port = free_port()
    proc = start_server(port, quiet=False)
    url = f"http://127.0.0.1:{port}"
    if not wait_healthy(url, timeout=120):
        proc.kill()
        pytest.fail("streamlit did not become healthy in 120 s:\n" + proc.stdout.read().decode(errors="replace")[-3000:])
    return proc, url


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server():
    proc, url = _serve()
    yield url
    _stop(proc)


@pytest.fixture
def fresh_server():
    """A server nobody has opened yet: its first request is the one under test (Streamlit treats
    the very first script run of a server differently when a pages/ folder exists)."""
    proc, url = _serve()
    yield url
    _stop(proc)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    driver = make_driver(downloads)
    driver.downloads = downloads
    yield driver
    driver.quit()


@pytest.fixture
def fresh_browser():
    """A second browser with no cookies, storage or session: someone opening a shared link."""
    driver = make_driver()
    yield driver
    driver.quit()


def exceptions(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")]


def texts(driver, css: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text.strip() for e in driver.find_elements(By.CSS_SELECTOR, css) if e.text.strip()]


def sidebar_pages(driver) -> list[str]:
    """The names in the sidebar navigation (the label span; the icon is a separate ligature span)."""
    return texts(driver, "[data-testid='stSidebarNavLink'] span[label]")


def selected(driver, label: str) -> str:
    """The shown value of the select box labelled ``label``."""
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f"input[aria-label='{label}']").get_attribute("value")


def query(driver) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(driver.current_url).query).items()}


def test_first_request_is_an_old_link_and_opens_that_page_with_its_state(fresh_server, fresh_browser):
    """A link shared before the navigation existed, opened as the first request of a new server."""
    fresh_browser.get(f"{fresh_server}/Freshness?preset=b2b-saas&seed=3&{SMALL}")
    wait_for_app(fresh_browser)
    assert not exceptions(fresh_browser)
    assert texts(fresh_browser, "h1")[0] == "Freshness"
    assert urlparse(fresh_browser.current_url).path == "/Freshness"
    q = query(fresh_browser)
    assert q["preset"] == "b2b-saas" and q["seed"] == "3", q
    assert selected(fresh_browser, "Business preset") == "Sales-led B2B SaaS (b2b-saas)"
    assert selected(fresh_browser, "Seed") == "3"
    assert sidebar_pages(fresh_browser)[:7] == SIDEBAR


def test_sidebar_lists_the_seven_pages_and_no_app(server, browser):
    browser.get(f"{server}/?{SMALL}")
    wait_for_app(browser)
    names = sidebar_pages(browser)
    assert names[:7] == SIDEBAR, names
    assert not any(n.lower() == "app" for n in names)
    assert [t for t, _ in page_urls()][:7] == SIDEBAR


def test_moving_through_the_sidebar_keeps_the_scenario(server, browser):
    """Clicking pages in the sidebar (Fit, with its own answers, included) never loses the world."""
    from selenium.webdriver.common.by import By

    def click(name: str) -> None:
        link = next(a for a in browser.find_elements(By.CSS_SELECTOR, "[data-testid='stSidebarNavLink']")
                    if a.text.strip().endswith(name))
        link.click()
        wait_for_app(browser)

    browser.get(f"{server}/Freshness?preset=plg-saas&seed=5&{SMALL}")
    wait_for_app(browser)
    click("Overlap")
    assert urlparse(browser.current_url).path == "/Overlap"
    assert query(browser)["preset"] == "plg-saas" and query(browser)["seed"] == "5"
    click("Fit")
    assert texts(browser, "h1")[0] == "Which model fits your business?"
    assert "preset" not in query(browser)
    click("Freshness")
    assert not exceptions(browser) and not texts(browser, "[data-testid='stAlertContentWarning']")
    assert query(browser)["preset"] == "plg-saas" and query(browser)["seed"] == "5"
    assert selected(browser, "Business preset") == "Product-led SaaS (plg-saas)"


def test_every_page_renders_without_an_exception(server, browser):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def drawn(d) -> bool:
        return bool(d.find_elements(By.CSS_SELECTOR, "[data-testid='stPlotlyChart'], .stPlotlyChart, "
                                                     "[data-testid='stAlertContentError']"))

    for title, path in page_urls():
        # Your data shows charts once data is in: its labelled example export stands in for an upload
        browser.get(f"{server}/{path}?" + ("example=1" if path == "Your_data" else SMALL))
        wait_for_app(browser)
        assert not exceptions(browser), f"{title}: {exceptions(browser)}"
        if title in ("Journeys", "Segments"):
            continue
        try:  # a fresh page can report "not running" a moment before its script run starts
            WebDriverWait(browser, 120, poll_frequency=0.5).until(drawn)
        except TimeoutException:
            raise AssertionError(f"{title} shows no chart") from None
        assert not exceptions(browser), f"{title}: {exceptions(browser)}"


def _button(driver, text: str):
    from selenium.webdriver.common.by import By

    for b in driver.find_elements(By.CSS_SELECTOR, "button"):
        if b.text.strip() == text and b.is_displayed():
            return b
    raise AssertionError(f"no button {text!r}; buttons: {[b.text for b in driver.find_elements(By.CSS_SELECTOR, 'button')]}")


def test_an_edited_rule_survives_opening_the_shared_link_in_a_fresh_browser(server, browser, fresh_browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{server}/Segments?{SMALL}")
    wait_for_app(browser)
    rule = {"name": "Bought in the last 30 days", "all": [{"field": "last_purchase_date", "op": "within_last_days",
                                                           "value": 30}]}
    area = next(a for a in browser.find_elements(By.CSS_SELECTOR, "textarea") if a.is_displayed())
    area.click()
    area.send_keys(Keys.CONTROL, "a")
    area.send_keys(Keys.DELETE)
    area.send_keys(json.dumps(rule))
    area.send_keys(Keys.CONTROL, Keys.ENTER)  # commit the text before the click
    wait_for_app(browser)
    _button(browser, "Apply JSON").click()
    wait_for_app(browser)
    assert not exceptions(browser)
    assert "CRM segment (edited)" in texts(browser, "h3")
    shared = browser.current_url
    assert "crm_rule" in query(browser), shared

    fresh_browser.get(shared)
    wait_for_app(fresh_browser)
    assert not exceptions(fresh_browser)
    assert "CRM segment (edited)" in texts(fresh_browser, "h3")
    body = fresh_browser.find_element(By.CSS_SELECTOR, "[data-testid='stMain']").text
    assert "Bought in the last 30 days" in body


def test_a_knob_preset_changes_the_url_and_the_report_downloads(server, browser):
    """A facilitator clicks 'Poorly run CDP': the shareable URL carries the knobs, the page reruns
    without an exception, and the one-file HTML report downloads."""
    browser.get(f"{server}/?{SMALL}")
    wait_for_app(browser)
    before = browser.current_url
    _button(browser, "Poorly run CDP").click()
    wait_for_app(browser)
    assert not exceptions(browser)
    assert browser.current_url != before and "coverage_web" in browser.current_url
    _button(browser, "Download an interactive HTML report (one file, works offline)").click()
    deadline = time.time() + 120
    files: list[Path] = []
    while time.time() < deadline:
        files = [f for f in browser.downloads.iterdir() if f.suffix == ".html"]
        if files and not any(f.suffix == ".crdownload" for f in browser.downloads.iterdir()):
            break
        time.sleep(0.5)
    assert files, "the report did not download"
    html = files[0].read_text(errors="replace")
    assert "<html" in html.lower() and "plotly" in html.lower() and len(html) > 100_000


def _wait_download(folder: Path, suffix: str, timeout: float = 180) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        files = [f for f in folder.iterdir() if f.suffix == suffix]
        if files and not any(f.suffix == ".crdownload" for f in folder.iterdir()):
            return files[0]
        time.sleep(0.5)
    raise AssertionError(f"no {suffix} file downloaded in {timeout:.0f} s: {[f.name for f in folder.iterdir()]}")


def test_the_pdf_handout_prints_downloads_and_reads_back(server, browser):
    """A facilitator prints the hand-out: Chromium on the server prints it, the browser downloads
    it, and the PDF holds the play, the models' figures and the glossary."""
    pypdf = pytest.importorskip("pypdf")
    import io

    browser.get(f"{server}/?{SMALL}")
    wait_for_app(browser)
    _button(browser, "Prepare a PDF hand-out (A4, charts and glossary)").click()
    wait_for_app(browser)
    assert not exceptions(browser) and not texts(browser, "[data-testid='stAlertContentError']")
    _button(browser, "Download the PDF hand-out").click()
    pdf = _wait_download(browser.downloads, ".pdf")
    doc = pypdf.PdfReader(io.BytesIO(pdf.read_bytes()))
    assert len(doc.pages) >= 3
    text = " ".join(" ".join(p.extract_text().split()) for p in doc.pages)
    assert "Audience Lab — " in text and "The models side by side" in text and "True net value" in text
    assert "Open this scenario: http://127.0.0.1" in text and "people=2000" in text  # the link to reopen it
    assert "holdout" in text and "qualifying episode: one interval" in text


def test_compare_sets_two_scenarios_side_by_side_and_names_a_bad_link(server, browser):
    """Today's stack against a proposed one, opened from a shared comparison link; then a pasted
    link with a typo is named in an error where it was pasted."""
    from urllib.parse import quote

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    a = f"preset=b2c-retail&seed=7&{SMALL}&stack_crm=hubspot-active-lists"
    b = f"preset=b2c-retail&seed=7&{SMALL}&stack_crm=sales-crm-nightly-import"
    # not the server's very first request: that one is run by Streamlit's legacy pages/ loader, not app.py
    browser.get(f"{server}/?{SMALL}")
    wait_for_app(browser)
    browser.get(f"{server}/Compare?a={quote(a)}&b={quote(b)}")
    wait_for_app(browser)
    WebDriverWait(browser, 180, poll_frequency=0.5).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stPlotlyChart']")) >= 2)
    assert not exceptions(browser)
    assert texts(browser, "h1")[0] == "Compare two scenarios"
    main = browser.find_element(By.CSS_SELECTOR, "[data-testid='stMain']").text
    assert "CRM product: HubSpot active lists → Sales CRM with nightly imports" in main, main
    # which side makes more money is the world's answer (here both may tie on the CDP's best model);
    # the page must say one or the other, and where the reach moved
    assert ("makes more money" in main or "make the same true net value" in main), main
    assert "Episodes reached in time, A → B: CRM segment" in main, main
    assert "Glossary" in browser.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text
    assert "stack_crm=sales-crm-nightly-import" in query(browser)["b"]  # the comparison is in the page's link

    area = browser.find_elements(By.CSS_SELECTOR, "textarea")[0]
    area.click()
    area.send_keys(Keys.CONTROL, "a")
    area.send_keys(Keys.DELETE)
    area.send_keys("preset=b2c-retail&people=2000&coverage_web=7")
    area.send_keys(Keys.CONTROL, Keys.ENTER)
    wait_for_app(browser)
    errors = texts(browser, "[data-testid='stAlertContentError']")
    assert any(e.startswith("Link A has parameters this dashboard cannot restore") and "coverage_web" in e
               for e in errors), errors
    assert not exceptions(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='stPlotlyChart']")
