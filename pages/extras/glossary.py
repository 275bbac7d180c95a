"""The glossary in the sidebar of every page: the words as data in core.present.glossary."""
from __future__ import annotations

import streamlit as st

from core.present.glossary import TERMS, as_markdown


def glossary_sidebar() -> None:
    """One expander at the top of the sidebar; the router draws it before every page (pages/_router.py)."""
    with st.sidebar.expander(f"Glossary — {len(TERMS)} words this lab uses"):
        st.markdown(as_markdown())
