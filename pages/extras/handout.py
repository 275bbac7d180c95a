"""The PDF hand-out button: print the scenario's report with Chromium, then offer the file.

Two steps, so a failure is said in place (an st.error naming the problem) instead of a broken
download: "Prepare the PDF hand-out" prints (core.present.pdf), then "Download the PDF hand-out"
offers the bytes, kept in the session for this scenario and play only.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from core.errors import UserError
from core.present.export import handout_html
from core.present.pdf import PdfUnavailable, chromium_path, html_to_pdf

_HELD = "_al_handout"


def page_link() -> str | None:
    """This page's address with its query (the scenario link), when the browser told us the URL."""
    url = getattr(st.context, "url", None)
    if not url:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(st.query_params.to_dict()), ""))


def handout_ui(scenario, play, file_name: str) -> None:
    """The hand-out's two buttons under the HTML report's (one call from a page)."""
    from pages import get_results  # the shared, cached results (pages/__init__.py)

    if chromium_path() is None:
        st.caption("A PDF hand-out needs Chromium on the server (scripts/ensure_system.sh installs Debian's "
                   "chromium); until then, print the HTML report from your browser.")
        return
    key = json.dumps([scenario.to_dict(), play.name, dict(play.crm), dict(play.cdp)], sort_keys=True, default=str)
    if st.button("Prepare a PDF hand-out (A4, charts and glossary)", key="handout_prepare",
                 help="Prints this scenario's headline table, charts and the glossary to a PDF with Chromium; "
                      "takes a few seconds."):
        try:
            with st.spinner("Printing the hand-out with Chromium…"):
                pdf = html_to_pdf(handout_html(scenario, get_results(scenario, play), link=page_link()))
            st.session_state[_HELD] = (key, pdf)
        except (PdfUnavailable, UserError) as exc:
            st.session_state.pop(_HELD, None)
            st.error(f"The PDF hand-out could not be printed: {exc}.")
    held = st.session_state.get(_HELD)
    if held and held[0] == key:
        st.download_button("Download the PDF hand-out", held[1], file_name=file_name, mime="application/pdf",
                           key="handout_download", help=f"{len(held[1]) / 1e6:.1f} MB, A4.")
