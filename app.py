"""Audience Lab — the dashboard's entry point and router.

``streamlit run app.py`` registers the pages listed in ``pages/__init__.py`` (``PAGES``) with
``st.navigation``, so the sidebar reads Scenario, Journeys, Segments, Freshness, Overlap, Campaign
lift, Fit, Your data, Compare; the Scenario page is ``pages/1_Scenario.py``. The router draws the glossary at
the top of every page's sidebar, first, so a page that stops early still has it.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pages import route  # noqa: E402

route()
