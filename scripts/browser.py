"""Driving the dashboard in Debian's Chromium: shared by the browser tests, the screenshot script
and the load benchmark, so all three start the server and judge readiness the same way.

Readiness is read the way Streamlit's own end-to-end tests do it: the ``stApp`` element reports
``data-test-connection-state="CONNECTED"`` and ``data-test-script-state="notRunning"``.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000")


def page_urls() -> list[tuple[str, str]]:
    """(sidebar title, URL path) of every dashboard page in sidebar order ("" = the home page),
    from ``pages.PAGES``, so a page added there is screenshotted and browser-tested automatically."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from pages import PAGES

    return [(p.title, p.url_path) for p in PAGES]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, quiet: bool = True) -> subprocess.Popen:
    """``streamlit run app.py`` on 127.0.0.1:port, usage statistics off."""
    out = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def wait_healthy(url: str, timeout: float = 90) -> bool:
    """Poll Streamlit's health endpoint until it answers ``ok``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def make_driver(downloads: Path | None = None):
    """A headless Chromium driven through Debian's chromedriver (nothing is downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS:
        opts.add_argument(flag)
    if downloads is not None:
        opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                               "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def wait_for_app(driver, timeout: float = 300, settle: float = 0.5) -> None:
    """Wait until the app is connected and its script run has finished."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d) -> bool:
        apps = d.find_elements(By.CSS_SELECTOR, "[data-testid='stApp']")
        return bool(apps) and apps[0].get_attribute("data-test-connection-state") == "CONNECTED" \
            and apps[0].get_attribute("data-test-script-state") == "notRunning"

    time.sleep(settle)  # let a rerun triggered by the last action start before polling
    for _ in range(4):
        WebDriverWait(driver, timeout, poll_frequency=0.25).until(ready)
        # a freshly loaded page can report "not running" just before its first run starts:
        # finished means still finished a moment later
        time.sleep(settle)
        if ready(driver):
            return
