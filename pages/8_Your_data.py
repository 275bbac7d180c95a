"""Your data: import an event export (and a CRM export), see it as the CDP and the CRM would, build a twin."""
import json

import plotly.express as px
import streamlit as st

from core.errors import UserError
from core.ingest import EVENT_FIELDS, FORMAT_NAMES
from core.present import dataimport as dx
from core.present import datapage as dp
from pages import SS, ensure_routed

ensure_routed()
st.title("Your data")
st.write("Bring an event export from a CDP, an analytics tool or a shop (CSV, gzip'd CSV or Parquet; Segment, "
         "PostHog, GA4, REES46 layouts or plain column names) and, if you have one, a CRM contacts export. The page "
         "imports them on this machine — nothing is sent anywhere, e-mail addresses are stored as SHA-256 hashes — "
         "and shows your own audiences, identity and CRM overlap. Real data has no ground truth, so freshness "
         "against truth and true lift are measured on a **twin**: a synthetic world that behaves like your data.")

if "yd_ws" not in SS or not SS.yd_ws.alive:
    SS.yd_ws = dp.Workspace()
ws: dp.Workspace = SS.yd_ws

# ------------------------------------------------------------------ the files
SOURCES = {"files": "Your files", "example": "Example: a synthetic world's export"}
if "yd_source" not in SS:
    SS.yd_source = "example" if st.query_params.get("example") in ("1", "true") else "files"
source = st.radio("Data", list(SOURCES), format_func=SOURCES.get, key="yd_source", horizontal=True)

events_path = crm_path = None
token = None
if source == "files":
    c1, c2 = st.columns(2)
    up = c1.file_uploader(f"Events (CSV, CSV.gz or Parquet, up to {dp.MAX_UPLOAD_MB} MB)",
                          type=["csv", "gz", "parquet", "txt", "tsv"], key="yd_events")
    crm_up = c2.file_uploader("CRM contacts export (optional: CSV)", type=["csv", "gz", "txt", "tsv"], key="yd_crm")
    saved = SS.setdefault("yd_saved", {})
    try:
        for role, f in (("events", up), ("CRM", crm_up)):
            if f is None:
                saved.pop(role, None)
            elif saved.get(role, (None,))[0] != f.file_id:
                saved[role] = (f.file_id, dp.save_upload(ws, role, f, f.name, f.size))
    except UserError as exc:
        st.error(str(exc))
        st.stop()
    if "events" in saved:
        events_path = saved["events"][1]
        crm_path = saved["CRM"][1] if "CRM" in saved else None
        token = ("files", saved["events"][0], saved.get("CRM", (None,))[0])
else:
    st.info(f"**Example, not real data.** A synthetic b2c-retail world ({dp.EXAMPLE_PEOPLE:,} people, seed 7) "
            "exported the way a CDP and a CRM would export it: a Segment-like tracks CSV of the events the CDP "
            "received, with the identifiers each carried, and a CRM contacts snapshot. Use it to see what the page "
            "does; your own files work the same way.")
    if "yd_example" not in SS or not all(p.is_file() for p in SS.yd_example):
        with st.spinner("Generating the example world and writing its exports…"):
            SS.yd_example = dp.example_export(ws.folder("example", fresh=True))
    events_path, crm_path = SS.yd_example
    token = ("example",)

if events_path is None:
    st.caption("Drop an events file above, or choose the example.")
    st.stop()

fmt = st.selectbox("Layout of the events file", list(FORMAT_NAMES), format_func=lambda f: dp.FORMAT_WORDS.get(f, f),
                   key="yd_format", help="'Detect it' recognises Segment, PostHog, GA4 and REES46 exports from their header.")

# ------------------------------------------------------------------ the mapping
CHOICE_KEYS = ("yd_constant_event", "yd_cancel", "yd_time_format", "yd_timezone", "yd_keep_pii")
if SS.get("yd_token") != (token, fmt):  # a new file or layout: start again from detection
    SS.yd_token = (token, fmt)
    SS.yd_overrides = {}
    SS.yd_drop_stray = False
    SS.pop("yd_result", None)
    SS.pop("yd_twin", None)
    SS.pop("yd_names", None)
    for k in [k for k in SS if str(k).startswith(("yd_map_", "yd_ev_", "yd_crm_"))] + list(CHOICE_KEYS):
        SS.pop(k, None)


def forget_result() -> None:
    SS.pop("yd_result", None)
    SS.pop("yd_twin", None)


choices = dx.ImportChoices(
    event_map=SS.get("yd_event_map", ()), constant_event=SS.get("yd_constant_event") or None,
    time_format=SS.get("yd_time_format", "auto"),
    timezone=None if SS.get("yd_timezone", "UTC") == "UTC" else SS.get("yd_timezone"),
    cancellations=SS.get("yd_cancel", "event"), drop_stray_times=bool(SS.get("yd_drop_stray")),
    keep_pii=bool(SS.get("yd_keep_pii")), crm_mapping=SS.get("yd_crm_overrides", ()))
try:
    inspection = dp.inspect_events(events_path, fmt, SS.yd_overrides, crm_path, ws, choices)
except UserError as exc:
    st.error(str(exc))
    st.stop()

st.subheader("How the file is read")
if inspection.preview is not None:
    st.caption("  \n".join(inspection.preview.mapping.lines()[:1] + inspection.preview.mapping.lines()[-2:]))
st.dataframe(dp.mapping_frame(inspection), hide_index=True, width="stretch")
if inspection.error:
    st.error(inspection.error)
    st.info("Choose the missing column under **Fix the mapping**, then import.")

with st.expander("Fix the mapping", expanded=bool(inspection.error)):
    st.caption("Pick the column that feeds each field; '(not in the file)' leaves a field out. A time, an event name "
               "and at least one identifier (user id, anonymous id or e-mail) are required. An order id turns order "
               "lines into one purchase per order, worth the sum of quantity × unit price.")
    cols = st.columns(2)
    picks = {}
    for i, f in enumerate(EVENT_FIELDS):
        opts = [dp.NONE] + list(inspection.columns)
        key = f"yd_map_{f}"
        if SS.get(key) not in opts:
            SS[key] = inspection.current(f)
        picks[f] = cols[i % 2].selectbox(f"{f} — {dp.FIELD_WORDS[f]}", opts, key=key)
    if picks.get("event", dp.NONE) == dp.NONE and picks.get("order_id", dp.NONE) == dp.NONE:
        st.text_input("Every row is one event (a log without an event column, e.g. purchases)", key="yd_constant_event",
                      placeholder="purchase", on_change=forget_result)
    if picks.get("order_id", dp.NONE) != dp.NONE:
        st.radio("Cancelled orders (a negative quantity, an invoice number starting with C, a cancelled status)",
                 list(dx.CANCEL_WORDS), format_func=dx.CANCEL_WORDS.get, key="yd_cancel", horizontal=True,
                 on_change=forget_result)
    wanted = {**SS.yd_overrides, **dp.overrides_from(picks, inspection)}
    if wanted != SS.yd_overrides:
        SS.yd_overrides = wanted
        forget_result()
        st.rerun()

# ------------------------------------------------------------------ event names
pv = inspection.preview
event_col = pv.mapping.column("event") if pv is not None and not pv.mapping.column("order_id") else None
if event_col:
    st.subheader("Event names")
    if SS.get("yd_names", (None,))[0] != (token, fmt, event_col):
        for k in [k for k in SS if str(k).startswith("yd_ev_")]:  # other names: start from the suggestions
            SS.pop(k, None)
        try:
            SS.yd_names = ((token, fmt, event_col), dx.event_names(pv.source, event_col, dp.PAGE_LIMITS))
        except UserError as exc:
            st.error(dp.clean_message(exc, ws))
            st.stop()
    names = SS.yd_names[1]
    shown = names.head(dx.MAX_NAMES)
    layout_map = dict(dp.FORMATS[pv.mapping.format].event_map)
    base = dx.name_table(shown, layout_map, {})
    st.caption("Your event names and the lab's event each becomes. Obvious names are suggested; names are compared "
               "without case, so VIEW and view become one event. A name kept as it is can still be used in your own "
               "rules on this data, but no library play reads it.")
    options_ = dx.target_options()
    options_ += sorted(set(base["the lab's event"]) - set(options_))  # a layout's own targets stay choosable
    picked = {}
    cols = st.columns(3)
    for i, (name, n, target) in enumerate(zip(base["your name"], base["rows"], base["the lab's event"])):
        key = f"yd_ev_{i}"
        if SS.get(key) not in options_:
            SS[key] = target if target in options_ else dx.KEEP
        value = cols[i % 3].selectbox(f"{name} ({n:,} rows)", options_, key=key, on_change=forget_result)
        if value != target:
            picked[name] = value
    table = dx.name_table(shown, layout_map, picked)
    new_map = dx.event_map_of(table)
    unknown = dx.unknown_names(table)
    if unknown:
        st.caption("Kept under their own names (unknown to the lab): " + ", ".join(unknown[:30])
                   + (f" and {len(unknown) - 30} more" if len(unknown) > 30 else "") + ".")
    if len(names) > dx.MAX_NAMES:
        st.caption(f"{len(names) - dx.MAX_NAMES:,} rarer names are not listed here and keep their own names "
                   "(or a suggestion's, where one is obvious).")
        rest = dx.name_table(names.iloc[dx.MAX_NAMES:], layout_map, {})
        new_map = new_map + dx.event_map_of(rest)
    if new_map != SS.get("yd_event_map", ()):
        SS.yd_event_map = new_map
        forget_result()
        st.rerun()

# ------------------------------------------------------------------ dates, CRM, privacy
with st.expander("Dates and times"):
    c1, c2 = st.columns(2)
    c1.selectbox("Date format", list(dx.TIME_FORMAT_WORDS), format_func=dx.TIME_FORMAT_WORDS.get, key="yd_time_format",
                 on_change=forget_result, help="'decide from the values' tells month/day from day/month by values above 12.")
    c2.selectbox("Time zone of times without an offset", dx.timezone_choices(), key="yd_timezone", on_change=forget_result,
                 help="Where your shop or site records times; summer time is handled. Times with an offset are left alone.")
if crm_path is not None and pv is not None and pv.crm_source is not None:
    with st.expander("CRM contacts: how the file is read"):
        crm_cols = [dp.NONE] + list(pv.crm_source.columns)
        cols = st.columns(2)
        crm_picks = {}
        for i, f in enumerate(dx.CRM_FIELDS):
            key = f"yd_crm_{f}"
            now = pv.crm_mapping.column(f) or dp.NONE
            if SS.get(key) not in crm_cols:
                SS[key] = now
            crm_picks[f] = cols[i % 2].selectbox(f"{f} — {dx.CRM_WORDS[f]}", crm_cols, key=key)
        changed = dict(SS.get("yd_crm_overrides", ()))
        for f, v in crm_picks.items():
            if v != (pv.crm_mapping.column(f) or dp.NONE):
                changed[f] = "" if v == dp.NONE else v
        if tuple(sorted(changed.items())) != tuple(sorted(dict(SS.get("yd_crm_overrides", ())).items())):
            SS.yd_crm_overrides = tuple(sorted(changed.items()))
            forget_result()
            st.rerun()
        st.caption("Fields: " + ", ".join(f for f, _ in pv.crm_mapping.fields[:20]))
st.checkbox("Keep e-mail addresses as they are (by default they are stored as SHA-256 hashes)", key="yd_keep_pii",
            on_change=forget_result)

auto = source == "example" and "yd_result" not in SS and not SS.get("yd_example_done")
again = bool(SS.pop("yd_reimport", False))
if st.button("Import", type="primary", key="yd_import", disabled=bool(inspection.error)) or auto or again:
    SS.yd_example_done = source == "example"
    bar = st.progress(0.0, text="Reading…")
    try:
        SS.yd_result = dp.run_import(ws, events_path, fmt, SS.yd_overrides, crm_path,
                                     dp.main_thread_progress(lambda stage, x: bar.progress(x or 0.0, text=stage)),
                                     choices)
        SS.pop("yd_twin", None)
    except UserError as exc:
        bar.empty()
        st.error(str(exc))
        st.stop()
    bar.empty()

result: dp.Imported | None = SS.get("yd_result")
if result is None:
    st.stop()

# ------------------------------------------------------------------ summary and rejected rows
st.subheader("What was imported")
rep = result.report
cols = st.columns(4)
for i, (label, value) in enumerate(dp.facts(rep).items()):
    cols[i % 4].metric(label, value)
c1, c2 = st.columns(2)
c1.dataframe(dp.summary_frame(rep), hide_index=True, width="stretch")
c1.caption("Every row is accounted for: kept, or rejected with its reason.")
c2.dataframe(dp.events_frame(rep), hide_index=True, width="stretch", height=220)
if rep.crm:
    c = rep.crm
    st.caption(f"CRM {result.crm_name}: {c['contacts']:,} contacts, {c['fields']} fields, "
               f"{c['duplicate_emails']:,} contacts share an e-mail"
               + (f", {c['undated']:,} without a readable date" if c["undated"] else "") + ".")
if rep.stray:
    if rep.stray["dropped"]:
        st.info(dx.stray_sentence(rep.stray, True))
        if st.button("Keep them after all", key="yd_keep_stray"):
            SS.yd_drop_stray, SS.yd_reimport = False, True
            st.rerun()
    else:
        st.warning(dx.stray_sentence(rep.stray, False))
        if st.button("Leave them out and import again", key="yd_drop_stray_btn"):
            SS.yd_drop_stray, SS.yd_reimport = True, True
            st.rerun()
for line in dx.report_notes(rep):
    st.caption(line)
if sum(rep.rejected.values()):
    with st.expander(f"The first rejected rows ({sum(rep.rejected.values()):,} in all)"):
        st.dataframe(dp.first_rejected(result), hide_index=True, width="stretch")

# ------------------------------------------------------------------ identity
st.subheader("Identity: what the CDP would stitch")
with st.spinner("Resolving identities…"):
    table, hist = dp.identity_frame(result)
c1, c2 = st.columns([3, 2])
c1.dataframe(table, hide_index=True, width="stretch",
             column_config={"value": st.column_config.NumberColumn(format="%.3g")})
if len(hist):
    fig = px.bar(hist, x="devices", y="reachable profiles", title="Devices per reachable profile")
    fig.update_traces(marker_color="#0072B2")
    fig.update_layout(height=320, xaxis_title="anonymous ids (devices) stitched", yaxis_title="reachable profiles")
    c2.plotly_chart(fig, width="stretch")
    c2.caption("Read: 0 means a login or e-mail never seen on a tracked device; many devices per profile can be "
               "one person's phone and laptop, or a shared device merging people.")
c1.caption("The same identity resolution as for synthetic worlds (user id > e-mail > anonymous id, with limits). "
           "Real data has no truth, so splits and merges are what the identifiers show, not a check against people.")

# ------------------------------------------------------------------ plays
st.subheader("The library plays on your data")
with st.spinner("Running the library plays on the CDP and CRM views…"):
    counted = dp.plays_over_time(result)
if len(counted.counts):
    fig = px.line(counted.counts, x="t", y="members", color="title", line_dash="view", title="Members over time per play and view")
    fig.update_layout(height=420, xaxis_title="time (UTC)", yaxis_title="members (profiles or contacts)",
                      legend_title_text="play, view")
    st.plotly_chart(fig, width="stretch")
    st.caption("Read: solid lines are CDP audiences (profiles), dashed lines CRM segments (contacts), counted each day "
               "over your data's period.")
    st.dataframe(counted.peaks, hide_index=True, width="stretch")
else:
    st.info("No library play can run on this data: see below for what each one needs.")
if len(counted.skipped):
    with st.expander(f"Plays left out ({len(counted.skipped)}) and why"):
        st.dataframe(counted.skipped, hide_index=True, width="stretch")

st.subheader("CRM segment vs CDP audience on your customers")
if not result.has_crm:
    st.info("Import a CRM contacts export with the events to see which customers each system would pick.")
else:
    ov = dp.overlap_frame(result, counted)
    if len(ov):
        st.dataframe(ov, hide_index=True, width="stretch")
        st.caption(f"At the end of your data ({rep.end:%Y-%m-%d}). A contact and a profile are the same customer when "
                   "the contact's e-mail is one of the profile's e-mails (hashed on both sides).")
    else:
        st.info("No play runs on both views of this data, so there is nothing to overlap.")

# ------------------------------------------------------------------ the twin
st.subheader("A twin to measure what real data cannot")
st.write("The twin is a synthetic world with ground truth whose data has your profile: the closest preset, with its "
         "knobs fitted so each headline rate aims to land within ±15% of yours (the page says which do). Freshness, overlap against truth and true "
         "lift then run on it.")
st.download_button("Download the data profile (JSON) for the Fit page", json.dumps(result.profile.to_dict(), indent=2),
                   file_name="profile.json", mime="application/json", key="yd_profile")
c1, c2 = st.columns([1, 3])
people = c1.selectbox("People in the twin", dp.TWIN_PEOPLE, index=dp.TWIN_PEOPLE.index(dp.default_twin_people(result.profile)),
                      format_func=lambda n: f"{n:,}", key="yd_people")
if c1.button("Build a twin", key="yd_build"):
    try:
        with st.spinner(f"Fitting the twin ({people:,} people)…"):
            SS.yd_twin = dp.build_twin(result, people)
    except UserError as exc:
        st.error(str(exc))
twin: dp.TwinView | None = SS.get("yd_twin")
if twin is not None:
    fit = twin.fit
    st.markdown(f"**Twin: preset {fit.preset}**, seed {fit.seed}, {fit.people:,} people, {fit.days} days "
                f"({fit.rounds} fitting rounds, {fit.seconds:.1f} s). "
                + dp.twin_verdict(fit))
    for line in fit.out_of_reach:
        (st.warning if "out of reach" in line else st.caption)("At the edge of the simulator: " + line + ".")
    c1, c2 = st.columns(2)
    c1.dataframe(dp.rates_for_display(twin.rates), hide_index=True, width="stretch",
                 column_config={"your data": st.column_config.NumberColumn(format="%.4g"),
                                "twin": st.column_config.NumberColumn(format="%.4g")})
    c1.caption("Your data's rates beside the twin's. 'follows' rates have no knob of their own; rates resting on fewer "
               "than 100 observations are shown, not fitted.")
    c2.dataframe(twin.knobs, hide_index=True, width="stretch")
    c2.caption("Fitted knobs: the preset's value, the twin's, and the value the dashboard opens from the link.")
    if fit.skipped:
        st.caption("Not fitted: " + "; ".join(fit.skipped))
    for note in twin.notes:
        st.caption(note)
    if twin.link is not None:
        st.page_link("pages/1_Scenario.py", label="Open the twin as the scenario of every page", icon=":material/science:",
                     query_params=twin.link)
        st.code(dp.query_string(twin.link), language=None)
        st.caption("Share this query after the dashboard's address (…/?preset=…) to open the twin on any page.")
