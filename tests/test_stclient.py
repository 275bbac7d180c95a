"""The protocol-level load client really drives a Streamlit server: it opens pages by URL path,
clicks buttons, follows the query string the app writes, and reports exceptions, st.error alerts
and unknown pages — the things the load benchmark counts as errors."""
from __future__ import annotations

import asyncio
import textwrap

import pytest

from scripts.browser import free_port, wait_healthy
from scripts.stclient import Session, loopback_only, start_streamlit

APP = textwrap.dedent('''
    import streamlit as st

    def home():
        st.session_state.setdefault("n", 0)

        def add():
            st.session_state.n += 1

        st.button("Add one", on_click=add)
        st.write(f"count {st.session_state.n}")
        st.query_params["n"] = str(st.session_state.n)

    def broken():
        raise ValueError("boom")

    def careful():
        st.error("rule $.any[100]: too many conditions")

    st.navigation([st.Page(home, title="Home", default=True),
                   st.Page(broken, title="Broken", url_path="Broken"),
                   st.Page(careful, title="Careful", url_path="Careful")]).run()
''')


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stapp")
    (folder / "app.py").write_text(APP)
    port = free_port()
    proc = start_streamlit(folder / "app.py", port, folder / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_healthy(url, timeout=60), (folder / "server.log").read_text()
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


def test_a_session_opens_pages_clicks_and_reports_errors(server):
    async def scenario():
        s = Session(server)
        await s.connect()
        try:
            home = await s.open("")
            assert home.status == "ok" and "Add one" in s.buttons and s.query == "n=0"
            assert {"Broken", "Careful"} <= set(s.pages)
            click = await s.click("Add one")
            assert click.status == "ok" and s.query == "n=1"  # the callback ran on the server
            broken = await s.open("Broken")
            assert broken.failed and broken.exceptions == ["ValueError: boom"]
            careful = await s.open("Careful")
            assert not careful.failed and careful.alerts == ["rule $.any[100]: too many conditions"]
            missing = await s.open("Nowhere")
            assert missing.failed and missing.page_not_found
            with pytest.raises(KeyError, match="no button"):
                await s.click("Add two")
        finally:
            await s.close()

    asyncio.run(scenario())


def test_sessions_are_independent(server):
    async def two():
        a, b = Session(server), Session(server)
        await a.connect()
        await b.connect()
        try:
            await a.open("")
            await b.open("")
            await a.click("Add one")
            await a.click("Add one")
            await b.open("")
            return a.query, b.query
        finally:
            await a.close()
            await b.close()

    assert asyncio.run(two()) == ("n=2", "n=0")


@pytest.mark.parametrize("url", ["http://10.0.0.5:8501", "http://example.com", "http://192.168.1.2"])
def test_load_never_leaves_this_machine(url):
    with pytest.raises(ValueError, match="loopback"):
        Session(url)
    loopback_only("http://127.0.0.1:8501")
    loopback_only("http://localhost:8501")
