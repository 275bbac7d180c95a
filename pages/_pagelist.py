"""The dashboard's pages (one line each) and which of them the current script run is drawing."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from streamlit.runtime.scriptrunner import get_script_run_ctx

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PageSpec:
    """One page of the dashboard: its file, sidebar name, icon and URL path ("" = the home page at /).

    ``scenario`` pages share the world-and-play sidebar and carry the scenario in the URL;
    ``view`` names the URL parameters the page owns (its own view, e.g. the Journeys person)."""

    file: str
    title: str
    icon: str
    url_path: str
    scenario: bool = True
    view: tuple[str, ...] = ()


#: The dashboard's pages in sidebar order. Adding a page is one line here; its url_path is
#: explicit so links keep working when a file is renamed (``/Freshness?preset=…`` opens Freshness).
PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/1_Scenario.py", "Scenario", ":material/science:", ""),
    PageSpec("pages/2_Journeys.py", "Journeys", ":material/route:", "Journeys", view=("case", "person")),
    PageSpec("pages/3_Segments.py", "Segments", ":material/filter_alt:", "Segments"),
    PageSpec("pages/4_Freshness.py", "Freshness", ":material/timer:", "Freshness"),
    PageSpec("pages/5_Overlap.py", "Overlap", ":material/join_inner:", "Overlap", view=("at",)),
    PageSpec("pages/6_Campaign_lift.py", "Campaign lift", ":material/trending_up:", "Campaign_lift"),
    PageSpec("pages/7_Fit.py", "Fit", ":material/balance:", "Fit", scenario=False),
    PageSpec("pages/8_Your_data.py", "Your data", ":material/upload_file:", "Your_data", scenario=False),
    PageSpec("pages/9_Compare.py", "Compare", ":material/compare_arrows:", "Compare", scenario=False),
)

#: Per script-run thread: the page being run by the router. Streamlit's legacy ``pages/``
#: loader runs a page file directly on the very first run of a server (before any session has
#: called ``st.navigation``); ``ensure_routed`` then hands that run to the router.
RUN = threading.local()


def page_run_as_app() -> PageSpec | None:
    """The page whose file is itself the app's main script (``AppTest.from_file("pages/7_Fit.py")``,
    ``streamlit run pages/4_Freshness.py``), if any."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return None
    main = Path(ctx.main_script_path).resolve()
    return next((p for p in PAGES if (ROOT / p.file).resolve() == main), None)


def current_page() -> PageSpec:
    """The page this script run draws (the home page when no run is under way)."""
    return getattr(RUN, "spec", None) or page_run_as_app() or PAGES[0]
