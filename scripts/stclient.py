"""A Streamlit client that speaks the browser's own websocket protocol and renders nothing.

Why: a load test driven by 30 headless Chromium renderers measures the renderers (they starve a
2-core machine before the server gets a script run in). A real browser's *server-side* cost is
the protobuf it sends over ``/_stcore/stream`` and the ForwardMsg stream it gets back, so this
client sends exactly those messages and only parses the replies:

- it connects to ``ws://host/_stcore/stream`` with the ``streamlit`` subprotocol (the browser
  puts the XSRF token and a reconnect session id in the same header; neither is needed here);
- every page open, reload or widget change is one ``BackMsg.rerun_script`` carrying a
  ``ClientState``: the URL's query string, the page (its ``page_script_hash`` once the server has
  listed the pages, else its ``page_name`` — the URL path, as when a browser opens ``/Journeys``),
  and the widget states (a button click is the button's id with ``trigger_value`` set);
- it reads ``ForwardMsg``s until ``script_finished`` (skipping a run that finished early for a
  rerun), noting exceptions, ``st.error`` alerts, buttons, the page list and the query string the
  app writes back to the URL, as a browser would.

Only loopback addresses are accepted. See ``bench/bench_ws_load.py`` for the workshop scenario.
"""
from __future__ import annotations

import asyncio
import ipaddress
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED_EARLY = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
COMPILE_ERROR = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_WITH_COMPILE_ERROR")


@dataclass
class Run:
    """What one script run sent back, and how long it took from request to ``script_finished``."""

    seconds: float = 0.0
    status: str = "ok"          # ok | timeout | closed | compile_error
    exceptions: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)   # st.error bodies
    warnings: list[str] = field(default_factory=list)  # st.warning bodies (e.g. a world built beyond the budget)
    successes: list[str] = field(default_factory=list)  # st.success bodies (e.g. "All steps ready")
    page_not_found: bool = False
    messages: int = 0
    bytes: int = 0

    @property
    def failed(self) -> bool:
        return self.status != "ok" or bool(self.exceptions) or self.page_not_found


def loopback_only(base_url: str) -> None:
    """Refuse any host that is not on this machine: load is never sent elsewhere."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"{base_url}: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed")


class Session:
    """One browser tab's worth of protocol: a websocket, the app's pages and the current URL."""

    def __init__(self, base_url: str, query: str = "") -> None:
        loopback_only(base_url)
        self.base_url = base_url.rstrip("/")
        self.query = query.lstrip("?")
        self.pages: dict[str, str] = {}     # url_pathname ("" = home) -> page_script_hash
        self.buttons: dict[str, str] = {}   # label -> widget id, from the last run
        self.button_ids: list[str] = []     # every button's widget id (its key ends it), from the last run
        self.toggles: dict[str, str] = {}   # label -> widget id of toggles and checkboxes, from the last run
        self.path = ""
        self._ws = None

    async def connect(self, timeout: float = 30) -> None:
        url = "ws" + self.base_url[4:] + "/_stcore/stream"
        self._ws = await asyncio.wait_for(
            websockets.connect(url, subprotocols=["streamlit"], max_size=None, compression=None,
                               open_timeout=timeout, ping_interval=None), timeout)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def open(self, path: str = "", timeout: float = 300) -> Run:
        """Open a page by its URL path (``""`` = the home page, ``"Journeys"`` …)."""
        self.path = path.strip("/")
        return await self._rerun([], timeout)

    async def click(self, label: str, timeout: float = 300) -> Run:
        """Click the button with this label on the current page (from the last run's elements)."""
        if label not in self.buttons:
            raise KeyError(f"no button {label!r} on /{self.path}; buttons: {sorted(self.buttons)}")
        state = WidgetState(id=self.buttons[label], trigger_value=True)
        return await self._rerun([state], timeout)

    async def click_key(self, key: str, timeout: float = 300) -> Run:
        """Click the button created with ``key=`` (buttons sharing a label, e.g. each workshop step's)."""
        ids = [i for i in self.button_ids if i.endswith(f"-{key}")]
        if not ids:
            raise KeyError(f"no button with key {key!r} on /{self.path}")
        return await self._rerun([WidgetState(id=ids[0], trigger_value=True)], timeout)

    async def set_toggle(self, label: str, value: bool, timeout: float = 300) -> Run:
        """Set the toggle (or checkbox) with this label on the current page."""
        if label not in self.toggles:
            raise KeyError(f"no toggle {label!r} on /{self.path}; toggles: {sorted(self.toggles)}")
        return await self._rerun([WidgetState(id=self.toggles[label], bool_value=value)], timeout)

    def _message(self, widgets: list[WidgetState]) -> bytes:
        state = ClientState(query_string=self.query, page_script_hash=self.pages.get(self.path, ""),
                            page_name=self.path)
        state.widget_states.widgets.extend(widgets)
        state.context_info.timezone = "UTC"
        state.context_info.locale = "en-US"
        state.context_info.url = f"{self.base_url}/{self.path}" + (f"?{self.query}" if self.query else "")
        return BackMsg(rerun_script=state).SerializeToString()

    async def _rerun(self, widgets: list[WidgetState], timeout: float) -> Run:
        run = Run()
        self.buttons, self.button_ids, self.toggles = {}, [], {}
        start = time.perf_counter()
        deadline = start + timeout
        try:
            await self._ws.send(self._message(widgets))
            while True:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    run.status = "timeout"
                    break
                data = await asyncio.wait_for(self._ws.recv(), remaining)
                run.messages += 1
                run.bytes += len(data)
                if self._read(ForwardMsg.FromString(data), run):
                    break
        except asyncio.TimeoutError:
            run.status = "timeout"
        except websockets.ConnectionClosed:
            run.status = "closed"
        run.seconds = time.perf_counter() - start
        return run

    def _read(self, msg: ForwardMsg, run: Run) -> bool:
        """Take in one ForwardMsg; True when the script run is over."""
        kind = msg.WhichOneof("type")
        if kind == "delta":
            self._read_delta(msg, run)
        elif kind == "new_session":
            self._read_pages(msg.new_session.app_pages)
        elif kind == "navigation":
            self._read_pages(msg.navigation.app_pages)
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "page_not_found":
            run.page_not_found = True
        elif kind == "script_finished":
            if msg.script_finished == FINISHED_EARLY:
                return False  # the app asked for a rerun: wait for the run that follows
            if msg.script_finished == COMPILE_ERROR:
                run.status = "compile_error"
            return True
        return False

    def _read_pages(self, pages) -> None:
        for page in pages:
            path = page.url_pathname.strip("/")
            self.pages[path] = page.page_script_hash
            if page.is_default:
                self.pages[""] = page.page_script_hash

    def _read_delta(self, msg: ForwardMsg, run: Run) -> None:
        if msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            run.exceptions.append(f"{element.exception.type}: {element.exception.message}"[:300])
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            run.alerts.append(element.alert.body[:300])
        elif kind == "alert" and element.alert.format == Alert.WARNING:
            run.warnings.append(element.alert.body[:300])
        elif kind == "alert" and element.alert.format == Alert.SUCCESS:
            run.successes.append(element.alert.body[:300])
        elif kind == "checkbox":  # st.checkbox and st.toggle
            self.toggles[element.checkbox.label] = element.checkbox.id
        elif kind == "button":
            self.buttons[element.button.label] = element.button.id
            self.button_ids.append(element.button.id)


def start_streamlit(script: Path, port: int, log: Path | None = None) -> subprocess.Popen:
    """``streamlit run script`` on 127.0.0.1:port, headless, usage statistics off, no file watcher
    (a load test must not rerun sessions because a colleague saved a file)."""
    out = open(log, "wb") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
        cwd=script.parent, stdout=out, stderr=subprocess.STDOUT)


__all__ = ["Run", "Session", "loopback_only", "start_streamlit"]
