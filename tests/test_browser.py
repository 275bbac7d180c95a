"""Real-browser tests: Debian's Chromium drives the running dashboard.

The server is started with ``streamlit run`` on a free local port; readiness is read the way
Streamlit's own end-to-end tests do it — the ``stApp`` element's connection and script state
attributes — never by sleeping a guessed amount of time.
"""
from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from scripts.browser import CHROMEDRIVER, CHROMIUM, free_port, make_driver, start_server, wait_for_app, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p for p in (ROOT / "pages").glob("[0-9]*_*.py"))
SMALL = "people=2000&days=45"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                       reason="Debian chromium and chromium-driver are not installed (make test installs them)"),
]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = start_server(port, quiet=False)
    url = f"http://127.0.0.1:{port}"
    if not wait_healthy(url, timeout=120):
        proc.kill()
        pytest.fail("streamlit did not become healthy in 120 s:\n" + proc.stdout.read().decode(errors="replace")[-3000:])
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    driver = make_driver(downloads)
    driver.downloads = downloads
    yield driver
    driver.quit()


def exceptions(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")]


def page_path(page: Path) -> str:
    return re.sub(r"^\d+_", "", page.stem)


def test_every_page_renders_without_an_exception(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{server}/?{SMALL}")
    wait_for_app(browser)
    assert not exceptions(browser)
    for page in PAGES:
        browser.get(f"{server}/{page_path(page)}?{SMALL}")
        wait_for_app(browser)
        assert not exceptions(browser), f"{page.name}: {exceptions(browser)}"
        charts = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stPlotlyChart'], .stPlotlyChart")
        errors = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stAlertContentError']")
        assert charts or errors or page.name.startswith(("2_", "3_")), f"{page.name} shows no chart"


def _button(driver, text: str):
    from selenium.webdriver.common.by import By

    for b in driver.find_elements(By.CSS_SELECTOR, "button"):
        if b.text.strip() == text:
            return b
    raise AssertionError(f"no button {text!r}; buttons: {[b.text for b in driver.find_elements(By.CSS_SELECTOR, 'button')]}")


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
