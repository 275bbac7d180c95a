"""The PDF hand-out buttons: print a page's hand-out with Chromium, then offer the file.

Two steps, so a failure is said in place (an st.error naming the problem) instead of a broken
download: "Prepare …" prints (core.present.pdf), then "Download …" offers the bytes, kept in the
session for what was printed only (a changed scenario hides a stale file).
"""
from __future__ import annotations

import json
from typing import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from core.errors import UserError
from core.present.export import handout_html
from core.present.pdf import PdfUnavailable, chromium_path, html_to_pdf


def page_link() -> str | None:
    """This page's address with its query (the scenario link), when the browser told us the URL."""
    url = getattr(st.context, "url", None)
    if not url:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(st.query_params.to_dict()), ""))


def site_address(query: str) -> str:
    """The dashboard's home page with this query, as a whole address when the browser told us the
    URL (else just the query, which the Compare page and every page read too)."""
    url = getattr(st.context, "url", None)
    if not url:
        return f"?{query}"
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/", query, ""))


def pdf_buttons(name: str, key: str, make_html: Callable[[], str], file_name: str, what: str) -> None:
    """'Prepare a PDF …' then 'Download the PDF …' for one printable page (``name`` keys the widgets)."""
    if chromium_path() is None:
        st.caption("A PDF hand-out needs Chromium on the server (scripts/ensure_system.sh installs Debian's "
                   "chromium); until then, print the page from your browser.")
        return
    held_key = f"_al_pdf_{name}"
    if st.button(f"Prepare a PDF {what} (A4, charts and glossary)", key=f"pdf_prepare_{name}",
                 help="Printed on the server by Chromium; takes a few seconds."):
        try:
            with st.spinner(f"Printing the {what} with Chromium…"):
                st.session_state[held_key] = (key, html_to_pdf(make_html()))
        except (PdfUnavailable, UserError) as exc:
            st.session_state.pop(held_key, None)
            st.error(f"The PDF {what} could not be printed: {exc}.")
    held = st.session_state.get(held_key)
    if held and held[0] == key:
        st.download_button(f"Download the PDF {what}", held[1], file_name=file_name, mime="application/pdf",
                           key=f"pdf_download_{name}", help=f"{len(held[1]) / 1e6:.1f} MB, A4.")


def handout_ui(scenario, play, file_name: str) -> None:
    """The scenario hand-out's buttons under the HTML report's (one call from the Scenario page)."""
    from pages import get_results  # the shared, cached results (pages/__init__.py)

    key = json.dumps([scenario.to_dict(), play.name, dict(play.crm), dict(play.cdp)], sort_keys=True, default=str)
    pdf_buttons("handout", key, lambda: handout_html(scenario, get_results(scenario, play), link=page_link()),
                file_name, "hand-out")
