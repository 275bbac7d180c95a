"""Audience Lab — entry point and the Scenario page: the world, its knobs and the two models."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import streamlit as st  # noqa: E402

from core.present import charts  # noqa: E402
from core.present.export import html_report  # noqa: E402
from core.measures.freshness import lags  # noqa: E402
from core.advice.scenario import POORLY_RUN, WELL_RUN  # noqa: E402
from core.present.urlstate import GROUP_TITLES, knob_catalog, preset_defaults  # noqa: E402
from pages import SS, engine_or_stop, get_results, page, pct, set_settings  # noqa: E402
from synthetic.presets import PRESETS  # noqa: E402

scenario, play = page("Scenario", "🧪")
st.title("Audience Lab — CRM segments vs CDP audiences")
st.write(
    "**Two ways to pick who gets a message.** A *CRM segment* filters contact, company and deal fields that "
    "forms, sales reps, nightly syncs and weekly imports fill in — simple, trusted by sales, but it describes a "
    "known state that lags behind behaviour and sees only identified contacts. A *CDP audience* is a rule over "
    "the event stream (page views, carts, product usage, email and ads) stitched into profiles by identity "
    "resolution — fresh and cross-channel, but only as good as tracking coverage, identity resolution and the "
    "sync to the sending tool. *Hybrid* lets the CDP build the audience and the CRM/marketing tool send it. "
    "Move the knobs below and watch the other pages: execution often beats precision."
)
st.caption(f"Preset: **{PRESETS[scenario.preset].title}** — {PRESETS[scenario.preset].description}")


def _apply(settings: dict) -> None:
    set_settings(settings, replace=True)


b1, b2, b3 = st.columns(3)
b1.button("Well-run CDP", on_click=_apply, args=(WELL_RUN,), width="stretch",
          help="High tracking coverage, many identified sessions, real-time audiences, 15-minute sync, 3 days to build.")
b2.button("Poorly run CDP", on_click=_apply, args=(POORLY_RUN,), width="stretch",
          help="Low coverage, few identified sessions, daily batches and syncs, a month to build, no email merges.")
b3.button("Preset defaults", on_click=_apply, args=({},), width="stretch")

# ------------------------------------------------------------------ knobs
catalog = knob_catalog()
defaults = preset_defaults(scenario.preset)
current = {**defaults, **dict(scenario.settings)}


def _knob_changed(name: str) -> None:
    set_settings({name: SS[f"k_{name}"]})


def knob_widget(name: str) -> None:
    spec = catalog[name]
    key = f"k_{name}"
    value = current[name]
    changed = name in dict(scenario.settings) and value != defaults[name]
    lbl = name.replace("_", " ").capitalize() + (" ●" if changed else "")
    if spec.kind == "bool":
        SS[key] = bool(value)
        st.checkbox(lbl, key=key, help=spec.help, on_change=_knob_changed, args=(name,))
    elif spec.kind == "choice":
        SS[key] = str(value)
        st.selectbox(lbl, list(spec.choices), key=key, help=spec.help, on_change=_knob_changed, args=(name,))
    elif spec.kind == "int":
        lo, hi = int(spec.lo if spec.lo is not None else 0), int(spec.hi if spec.hi is not None else 100)
        SS[key] = int(min(max(value, lo), hi))
        st.slider(lbl, lo, hi, key=key, step=1, help=spec.help, on_change=_knob_changed, args=(name,))
    else:
        lo, hi = float(spec.lo if spec.lo is not None else 0.0), float(spec.hi if spec.hi is not None else 100.0)
        if hi - lo > 1000:  # minutes up to a year: a number box is easier than a slider
            SS[key] = float(value)
            st.number_input(lbl, min_value=lo, max_value=hi, key=key, help=spec.help, on_change=_knob_changed, args=(name,))
        else:
            SS[key] = float(min(max(value, lo), hi))
            st.slider(lbl, lo, hi, key=key, step=(hi - lo) / 100, help=spec.help, on_change=_knob_changed, args=(name,))


groups = {
    "Tracking & identity": [n for n, s in catalog.items() if s.group in ("tracking", "identity")],
    "CRM hygiene & sync": [n for n, s in catalog.items() if s.group == "crm"] + ["crm_list_refresh_minutes"],
    "Activation & team speed": [n for n, s in catalog.items() if s.group == "activation" and n != "crm_list_refresh_minutes"],
    "Campaign": [n for n, s in catalog.items() if s.group == "campaign"],
    "Customer behaviour (advanced)": [n for n, s in catalog.items() if s.group == "behaviour"],
}
st.subheader("Knobs")
st.caption("Each knob says what it models (hover the ? icon). Changed knobs are marked ● and go into the shareable URL.")
gcols = st.columns(2)
for i, (title, names) in enumerate(groups.items()):
    with gcols[i % 2].expander(title, expanded=False):
        for n in names:
            knob_widget(n)

# ------------------------------------------------------------------ the world
engine = engine_or_stop(scenario)
world = engine.world
summary = world.summary()
st.subheader("The simulated world")
m = st.columns(6)
m[0].metric("People", f"{summary['people']:,}")
m[1].metric("Events", f"{summary['events']:,}", help="All events in the ground-truth log, including history before the period.")
m[2].metric("CRM contacts", f"{summary['contacts']:,}")
m[3].metric("Events the CDP received", pct(summary["share_events_received_by_cdp"]))
m[4].metric("Events with a user id or email", pct(summary["share_events_with_user_or_email"]))
m[5].metric("Purchases", f"{summary['purchases']:,}", help=f"Revenue {summary['revenue']:,.0f} in the period.")

quality = engine.resolution.quality()
q = st.columns(4)
q[0].metric("Profiles per person", f"{quality['profiles_per_person']:.2f}", help="1 = every person is exactly one CDP profile.")
q[1].metric("Persons split", pct(quality["share_persons_split"]))
q[2].metric("Over-merged profiles", pct(quality["share_profiles_overmerged"], 1))
q[3].metric("Events on addressable profiles", pct(quality["share_events_identified"]))

c1, c2 = st.columns([3, 2])
fig_events = charts.events_per_day(world.events, world.start)
c1.plotly_chart(fig_events, width="stretch")
c1.caption("Read: the volume and mix of channels the customers use each day — the CRM sees almost none of it.")
fig_identity = charts.identity_quality(quality)
c2.plotly_chart(fig_identity, width="stretch")
c2.caption("Read: lower split and over-merge shares mean the CDP's profiles match real people better.")

# ------------------------------------------------------------------ report
st.subheader("Share and export")
st.caption("The URL in your address bar carries the preset, seed, size, play and every changed knob — copy it to share.")


def build_report() -> bytes:
    """Runs only when the download button is clicked (Streamlit calls it lazily)."""
    results = get_results(scenario, play)
    figs = {
        "Events per day": fig_events, "Identity quality": fig_identity,
        "Time to activation": charts.freshness_cdf(results.curves, play.action_window_hours),
        "Reached in time": charts.freshness_bars(results.freshness),
        "Lag distribution": charts.lag_histogram({mm: lags(results.run, mm) for mm in results.run.models}),
        "Overlap at mid-period": charts.venn(results.overlap_mid),
        "Overlap over time": charts.overlap_over_time(results.overlap_series),
        "Precision and recall": charts.precision_recall(results.overlap_mid),
        "Campaign lift": charts.lift_chart(results.lift),
        "Incremental revenue": charts.roi_bars(results.lift),
    }
    return html_report(scenario, results, figs).encode("utf-8")


st.download_button("Download an interactive HTML report (one file, works offline)", build_report,
                   file_name=f"audience-lab-{scenario.preset}-{play.name}.html", mime="text/html",
                   help="All charts of this scenario and play, with plotly.js embedded once.")
