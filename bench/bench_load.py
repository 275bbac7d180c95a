"""Workshop load: N concurrent browser sessions open the app and change one knob.

Starts ``streamlit run app.py`` on a free local port, then N threads each drive their own
headless Debian Chromium (selenium + /usr/bin/chromedriver): open the Scenario page on the
default world, wait until Streamlit reports the run finished, click "Poorly run CDP", wait again.
Reports p50/p95 time to a rendered page for both steps and the server's peak memory (VmHWM).
Loopback only; bounded in count and time. Not part of CI.

    .venv/bin/python bench/bench_load.py --sessions 30
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.browser import free_port, make_driver, start_server, wait_for_app, wait_healthy  # noqa: E402


def peak_rss_gb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 ** 2
    return float("nan")


def session(driver, url: str, barrier: threading.Barrier, out: list, lock: threading.Lock) -> None:
    """One workshop participant: open the Scenario page, then click "Poorly run CDP"."""
    from selenium.webdriver.common.by import By

    try:
        barrier.wait()
        t0 = time.perf_counter()
        driver.get(url)
        wait_for_app(driver, timeout=900)
        opened = time.perf_counter() - t0 - 0.5  # minus wait_for_app's settling pause
        button = next(b for b in driver.find_elements(By.CSS_SELECTOR, "button") if b.text.strip() == "Poorly run CDP")
        t1 = time.perf_counter()
        button.click()
        wait_for_app(driver, timeout=900)
        changed = time.perf_counter() - t1 - 0.5
        with lock:
            out.append({"open_s": opened, "knob_s": changed})
    except Exception as exc:  # a failed session is reported, never hidden
        with lock:
            out.append({"error": f"{type(exc).__name__}: {exc}"[:200]})


def start_browsers(n: int) -> list:
    """Start the browsers one by one before the clock starts: 30 Chromium start-ups at once on two
    cores would measure the machine booting browsers, not the dashboard serving a workshop."""
    drivers = []
    for _ in range(n):
        d = make_driver()
        if hasattr(d.command_executor, "_client_config"):
            d.command_executor._client_config.timeout = 900  # selenium's default 120 s is too short under load
        d.get("about:blank")
        drivers.append(d)
    return drivers


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port)
    drivers = start_browsers(args.sessions)
    try:
        if not wait_healthy(url):
            raise SystemExit("streamlit did not become healthy")
        results: list = []
        lock = threading.Lock()
        barrier = threading.Barrier(args.sessions)
        threads = [threading.Thread(target=session, args=(d, url, barrier, results, lock)) for d in drivers]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=900)
        ok = [r for r in results if "error" not in r]
        report = {
            "sessions": args.sessions, "succeeded": len(ok), "errors": [r["error"] for r in results if "error" in r][:3],
            "wall_s": round(time.perf_counter() - t0, 1),
            "open_p50_s": round(statistics.median(r["open_s"] for r in ok), 2) if ok else None,
            "open_p95_s": round(pct([r["open_s"] for r in ok], 0.95), 2) if ok else None,
            "knob_p50_s": round(statistics.median(r["knob_s"] for r in ok), 2) if ok else None,
            "knob_p95_s": round(pct([r["knob_s"] for r in ok], 0.95), 2) if ok else None,
            "server_peak_gb": round(peak_rss_gb(server.pid), 2),
        }
        print(json.dumps(report))
    finally:
        for d in drivers:
            d.quit()
        server.terminate()


if __name__ == "__main__":
    main()
