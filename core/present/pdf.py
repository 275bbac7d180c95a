"""The PDF hand-out: the report's HTML printed by Debian's Chromium (``--headless --print-to-pdf``).

Chromium is already on the machine for the browser tests (scripts/ensure_system.sh installs it from
Debian's apt), and it renders the report's plotly charts exactly as a browser shows them, so the
hand-out needs no second charting path and no new package. It runs as a subprocess with a fixed
argument list (no shell), in a private temporary folder (its own profile too, so it never touches
a user's browser), and with a timeout; when Chromium is missing or fails, the caller gets a
:class:`PdfUnavailable` whose message says what to do instead.
"""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

#: Debian's Chromium, as the browser tests use it (scripts/browser.py).
CHROMIUM = "/usr/bin/chromium"
#: Seconds a print may take. The hand-out (eight plotly charts, 2,000-person world) printed in
#: 2.4–3.2 s on this 2-core machine while it was shared with other work (measured by hand while
#: building it, not a benchmark); a starved workshop server can take many times that, so the
#: limit is generous but bounded.
TIMEOUT_S = 120.0
#: Prints at once. Each headless Chromium is a few hundred MB of its own (assumed from Chromium's
#: usual renderer + browser process footprint; not measured here), so a room clicking at once
#: queues instead of multiplying that; the wait counts against the same timeout.
PRINT_SLOTS = 2
_SLOTS = threading.BoundedSemaphore(PRINT_SLOTS)
#: Virtual time the page gets to run its scripts before printing (plotly draws on load).
SCRIPT_BUDGET_MS = 20_000
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--mute-audio", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw")


class PdfUnavailable(RuntimeError):
    """The PDF could not be printed here; the message says why and what to do instead."""


def chromium_path(path: str | None = None) -> str | None:
    """The Chromium binary to print with (``AUDIENCE_LAB_CHROMIUM`` overrides), or None when absent."""
    candidate = path or os.environ.get("AUDIENCE_LAB_CHROMIUM") or CHROMIUM
    return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None


def html_to_pdf(html: str, chromium: str | None = None, timeout_s: float = TIMEOUT_S) -> bytes:
    """Print ``html`` (a self-contained page) to PDF bytes with headless Chromium.

    Raises :class:`PdfUnavailable` naming the problem: Chromium not installed, a print that took
    longer than ``timeout_s``, or one that produced no PDF."""
    exe = chromium_path(chromium)
    if exe is None:
        raise PdfUnavailable(f"the PDF is printed by Chromium, which is not installed at {chromium or CHROMIUM} "
                             "(scripts/ensure_system.sh installs Debian's chromium); download the HTML report and "
                             "print it from your browser instead")
    started = time.monotonic()
    if not _SLOTS.acquire(timeout=timeout_s):
        raise PdfUnavailable(f"the server was busy printing other hand-outs for {timeout_s:.0f} s; try again in a "
                             "minute, or download the HTML report and print it from your browser")
    try:
        return _print(exe, html, max(1.0, timeout_s - (time.monotonic() - started)))
    finally:
        _SLOTS.release()


def _stop_group(proc: subprocess.Popen) -> None:
    """Kill the print's process group (Chromium's browser, renderer and helpers) and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


def _print(exe: str, html: str, timeout_s: float) -> bytes:
    """One print in a private temporary folder (page, profile, output), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="audience-lab-pdf-") as tmp:
        folder = Path(tmp)
        page, out = folder / "report.html", folder / "report.pdf"
        page.write_text(html, encoding="utf-8")
        cmd = [exe, *FLAGS, f"--user-data-dir={folder / 'profile'}", f"--virtual-time-budget={SCRIPT_BUDGET_MS}",
               f"--print-to-pdf={out}", page.as_uri()]
        # its own session, so a print that hangs is stopped with every process Chromium started
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=folder,
                                    env={**os.environ, "HOME": str(folder)}, start_new_session=True)
        except OSError as exc:
            raise PdfUnavailable(f"Chromium could not be started ({exc.strerror or exc}); download the HTML report "
                                 "and print it from your browser instead") from None
        try:
            _, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            raise PdfUnavailable(f"Chromium did not finish printing the PDF within {timeout_s:.0f} s (the server may "
                                 "be busy); try again, or download the HTML report and print it from your browser"
                                 ) from None
        if not out.is_file() or out.stat().st_size == 0 or not out.read_bytes().startswith(b"%PDF"):
            tail = stderr.decode(errors="replace").strip().splitlines()[-1:] if stderr else []
            raise PdfUnavailable("Chromium produced no PDF" + (f" (exit {proc.returncode}: {tail[0][:200]})" if tail
                                                                else f" (exit {proc.returncode})")
                                 + "; download the HTML report and print it from your browser instead")
        return out.read_bytes()


__all__ = ["CHROMIUM", "PRINT_SLOTS", "PdfUnavailable", "chromium_path", "html_to_pdf"]
