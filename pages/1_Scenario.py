"""Scenario: the world, its knobs (in words and units, only those that apply) and the two models."""
import streamlit as st

from core.advice.ops import GOOD_CRM, POOR_CRM, POORLY_RUN, WELL_RUN
from core.measures.freshness import lags
from core.present import charts, labels
from core.present.export import html_report, report_figures
from core.present.tornadoview import PAGE_TORNADO_PEOPLE, tornado_for_page
from core.present.stackview import stack_panel, stack_set, with_ops, with_stack
from core.present.urlstate import knob_catalog, preset_defaults
from pages import SS, engine_or_stop, frame, get_results, pct, per_world, set_settings
from pages.extras.handout import handout_ui
from synthetic.presets import PRESETS

scenario, play = frame()
preset = PRESETS[scenario.preset]
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
st.caption(f"Preset: **{preset.title}** — {preset.description}")


def _apply(settings: dict) -> None:
    set_settings(with_ops(dict(scenario.settings), settings), replace=True)


st.caption("How well each side is run — each button moves only that side's knobs (tracking and hygiene, list and "
           "audience delays, how its tool sends, days to launch); the business itself never changes.")
b1, b2, b3, b4, b5 = st.columns(5)
b1.button("Well-run CRM", on_click=_apply, args=(GOOD_CRM,), width="stretch",
          help="Clean data, syncs within minutes, active lists refreshed in minutes, triggered workflows, half a day to "
               "launch. Your stack stays, and its documented figures stay.")
b2.button("Poorly run CRM", on_click=_apply, args=(POOR_CRM,), width="stretch",
          help="A quarter of updates missing, 25% duplicates, daily list refreshes, weekly batch sends, two weeks to "
               "launch, tracking script on few pages.")
b3.button("Well-run CDP", on_click=_apply, args=(WELL_RUN,), width="stretch",
          help="High tracking coverage, many identified sessions, real-time audiences, 15-minute sync, 3 days to build. "
               "Your stack stays, and its documented figures stay.")
b4.button("Poorly run CDP", on_click=_apply, args=(POORLY_RUN,), width="stretch",
          help="Low coverage, few identified sessions, daily batches and syncs, weekly batch sends, six weeks to build, "
               "no email merges. Your stack stays, and its documented figures stay.")
b5.button("Preset defaults", on_click=set_settings, args=({}, True), width="stretch",
          help="Every knob back to the preset's value, and no stack chosen.")

# ------------------------------------------------------------------ your stack
st.subheader("Your stack")
st.caption("Pick the CRM, CDP and sending tool you have or consider. Each applies the settings its vendor documents "
           "(the claims and pages are a click away); a knob you move yourself wins over it.")


def _stack_changed(role: str) -> None:
    set_settings(with_stack(dict(scenario.settings), role, SS[f"stk_{role}"]), replace=True)


for col, choice in zip(st.columns(3), stack_panel(scenario)):
    with col:
        names = dict(choice.options)
        SS[f"stk_{choice.role}"] = choice.chosen
        st.selectbox(choice.title, list(names), format_func=names.get, key=f"stk_{choice.role}",
                     on_change=_stack_changed, args=(choice.role,))
        if not choice.chosen:
            continue
        with st.expander("What it sets, and the sources"):
            st.markdown("\n".join(f"- {line.label}: **{line.value}**"
                                   + (f" — your own **{line.overridden_by}** wins" if line.overridden_by else "")
                                   for line in choice.settings))
            st.markdown(f"Sources (read {choice.read}):\n" + "\n".join(f"- {s.claim.rsplit(' - read ', 1)[0]} "
                                                                         f"([{s.url.split('/')[2]}]({s.url}))"
                                                                         for s in choice.sources))
            for n in choice.not_modelled:
                st.caption(f"Documented but not modelled: `{n.knob}` = {n.value} — {n.why}.")

# ------------------------------------------------------------------ knobs
catalog = knob_catalog()
defaults = preset_defaults(scenario.preset)
settings = dict(scenario.settings)
current = {**defaults, **{k: v for k, v in scenario.effective_settings().items() if k in defaults}}
changed = {n for n, v in settings.items() if n in defaults and v != defaults[n]}
from_stack = stack_set(scenario)


def _knob_changed(name: str, scale: float) -> None:
    spec = catalog[name]
    value = SS[f"k_{name}"]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = labels.snap(name, value / scale, spec.lo, spec.hi, spec.kind)
    set_settings({name: value})


def knob_widget(name: str) -> None:
    """One knob in words and its unit; a slider snaps to the knob's step so links stay readable."""
    spec = catalog[name]
    key = f"k_{name}"
    value = current[name]
    lbl = labels.label(name, scenario.preset) + (" ●" if name in changed else " ◆" if name in from_stack else "")
    bounded = spec.lo is not None and spec.hi is not None
    rng = f" Range {spec.lo:g}–{spec.hi:g}." if bounded and spec.kind != "bool" else ""
    help_ = f"{spec.help}{rng} Setting: `{name}`."
    kw = {"key": key, "help": help_, "on_change": _knob_changed}
    step = labels.step(name, spec.lo, spec.hi, spec.kind)
    if spec.kind == "bool":
        SS[key] = bool(value)
        st.checkbox(lbl, args=(name, 1), **kw)
    elif spec.kind == "choice" or name in labels.CHOICES:
        names = labels.CHOICES.get(name, {})
        options = list(spec.choices) if spec.kind == "choice" else (
            list(range(int(spec.lo), int(spec.hi) + 1)) if bounded else list(names))
        SS[key] = value if value in options else options[0]
        st.selectbox(lbl, options, format_func=lambda o: names.get(o, str(o)), args=(name, 1), **kw)
    elif labels.unit(name) == "%":
        lo, hi = (spec.lo, spec.hi) if bounded else (0.0, 1.0)
        digits = labels.decimals(step * 100)
        SS[key] = round(min(max(float(value), lo), hi) * 100, digits)
        st.slider(lbl, float(lo) * 100, float(hi) * 100, step=step * 100, format=f"%.{digits}f%%", args=(name, 100), **kw)
    elif spec.kind == "int" and bounded:
        SS[key] = int(min(max(value, spec.lo), spec.hi))
        st.slider(lbl, int(spec.lo), int(spec.hi), step=1, args=(name, 1), **kw)
    elif spec.kind == "int":
        SS[key] = int(value)
        st.number_input(lbl, step=1, args=(name, 1), **kw)
    else:
        digits = labels.decimals(step)
        SS[key] = round(float(value), digits)
        if not bounded or spec.hi - spec.lo > 1000:  # minutes up to a year, order values up to millions: a box
            st.number_input(lbl, min_value=None if spec.lo is None else float(spec.lo),
                            max_value=None if spec.hi is None else float(spec.hi), step=float(step),
                            format=f"%.{digits}f", args=(name, 1), **kw)
        else:
            SS[key] = round(min(max(float(value), spec.lo), spec.hi), digits)
            st.slider(lbl, float(spec.lo), float(spec.hi), step=float(step), format=f"%.{digits}f", args=(name, 1), **kw)


def _shown(names: list[str]) -> list[str]:
    return [n for n in names if labels.applies(n, scenario.preset) or n in changed]


groups = {
    "Tracking & identity": [n for n, s in catalog.items() if s.group in ("tracking", "identity")],
    "CRM hygiene & sync": [n for n, s in catalog.items() if s.group == "crm"] + ["crm_list_refresh_minutes"],
    "Activation & team speed": [n for n, s in catalog.items() if s.group == "activation" and n != "crm_list_refresh_minutes"],
    "Campaign": [n for n, s in catalog.items() if s.group == "campaign"],
    "Customer behaviour (advanced)": [n for n, s in catalog.items() if s.group == "behaviour"],
}
hidden = [n for names in reversed(list(groups.values())) for n in names if n not in _shown(names)]
st.subheader("Knobs")
st.caption("Each knob says what it models (hover the ? icon). Changed knobs are marked ● and go into the shareable URL; "
           "knobs your stack sets are marked ◆. "
           f"{len(hidden)} knobs that do not apply to a {preset.title} world are hidden, such as "
           + "; ".join(f"“{labels.label(n, scenario.preset, with_unit=False)}”" for n in hidden[:3]) + ".")
gcols = st.columns(2)
for i, (title, names) in enumerate(groups.items()):
    with gcols[i % 2].expander(title, expanded=False):
        for n in _shown(names):
            knob_widget(n)

# ------------------------------------------------------------------ the world
engine = engine_or_stop(scenario)
world = engine.world
summary = per_world(engine, "summary", world.summary)  # once per world, for every session
words = labels.words(preset.model)
st.subheader("The simulated world")
m = st.columns(6)
m[0].metric("People", f"{summary['people']:,}")
m[1].metric("Events", f"{summary['events']:,}", help="All events in the ground-truth log, including history before the period.")
m[2].metric("CRM contacts", f"{summary['contacts']:,}", help="Contact records in the CRM, duplicates included.")
m[3].metric("Reached the CDP", pct(summary["share_events_received_by_cdp"]),
            help="Share of all events the CDP received (tracking coverage, blockers, consent).")
m[4].metric("Carry an id", pct(summary["share_events_with_user_or_email"]),
            help="Share of events that carry a user id or an email address — what lets any system tie them to a known person.")
m[5].metric(words["Purchases"], f"{summary['purchases']:,}", help=f"{words['revenue'].capitalize()} {summary['revenue']:,.0f} in the period.")

quality = per_world(engine, "quality", engine.resolution.quality)
q = st.columns(4)
q[0].metric("Profiles per person", f"{quality['profiles_per_person']:.2f}", help="1 = every person is exactly one CDP profile.")
q[1].metric("People split", pct(quality["share_persons_split"]), help="Share of people whose events landed in more than one CDP profile.")
q[2].metric("Over-merged profiles", pct(quality["share_profiles_overmerged"], 1),
            help="Share of CDP profiles that hold more than one real person (shared devices, shared emails).")
q[3].metric("Events on reachable profiles", pct(quality["share_events_identified"]),
            help="Share of received events attached to a profile with an email or user id, i.e. one a sending tool can reach.")

c1, c2 = st.columns([3, 2])
fig_events = per_world(engine, "fig_events", lambda: charts.events_per_day(world.events, world.start))
c1.plotly_chart(fig_events, width="stretch")
c1.caption("Read: the volume and mix of channels the customers use each day — the CRM sees only what its contacts "
           "do on tracked pages and in email.")
fig_identity = per_world(engine, "fig_identity", lambda: charts.identity_quality(quality))
c2.plotly_chart(fig_identity, width="stretch")
c2.caption("Read: lower split and over-merge shares mean the CDP's profiles match real people better; the more "
           "events sit on reachable profiles, the more of the stream a campaign can act on.")

# ------------------------------------------------------------------ calibration sheet
with st.expander("Calibration sheet: is this world true to size?"):
    st.caption("Every size the campaign simulator uses — what a message does, what a conversion is worth — beside a "
               "measured benchmark and its accepted band (Hillstrom's e-mail test replayed on this world, Klaviyo's "
               "cart-flow revenue, the world's own funnel). Rows outside their band are marked ⚠.")
    if st.button("Check this world against the benchmarks", key="calibrate"):
        from core.present.calibview import scenario_calibration

        with st.spinner("Running every play of this preset against the benchmarks…"):
            sheet = per_world(engine, ("calibration", scenario), lambda: scenario_calibration(engine, scenario), heavy=True)
        st.dataframe(sheet, hide_index=True, width="stretch")

# ------------------------------------------------------------------ one knob at a time
with st.expander("Which single ops knob flips the verdict? (one knob at a time)"):
    st.caption(f"Each side's operational knobs moved alone to their well-run and poorly-run values, everything else "
               f"as set, on a world of up to {PAGE_TORNADO_PEOPLE:,} people of this preset and seed. A bar that "
               "crosses the black line flips the winner of this play.")
    tkey = f"ops_tornado::{scenario!r}::{play.name}"
    if st.button("Move each knob alone", key="ops_tornado_button"):
        with st.spinner("Moving each ops knob alone…"):
            st.session_state[tkey] = tornado_for_page(scenario, play.name)
    if tkey in st.session_state:
        st.write(st.session_state[tkey]["sentence"])
        st.plotly_chart(st.session_state[tkey]["figure"], width="stretch")

# ------------------------------------------------------------------ report
st.subheader("Share and export")
st.caption("The URL in your address bar carries the preset, seed, size, play, every changed knob and edited rule — "
           "copy it to share.")


def build_report() -> bytes:
    """Runs only when the download button is clicked (Streamlit calls it lazily)."""
    results = get_results(scenario, play)
    figs = {"Events per day": fig_events, "Identity quality": fig_identity,
            **report_figures(results, {mm: lags(results.run, mm) for mm in results.run.models})}
    return html_report(scenario, results, figs).encode("utf-8")


st.download_button("Download an interactive HTML report (one file, works offline)", build_report,
                   file_name=f"audience-lab-{scenario.preset}-{play.name}.html", mime="text/html",
                   help="All charts of this scenario and play, with plotly.js embedded once.")
handout_ui(scenario, play, f"audience-lab-{scenario.preset}-{play.name}.pdf")
