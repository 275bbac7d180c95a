"""Journeys: one person's truth, what the CRM recorded and when, what the CDP saw and when."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from core.present import charts  # noqa: E402
from core.measures.freshness import lags  # noqa: E402
from pages import page, results_or_stop  # noqa: E402

scenario, play = page("Journeys", "🧭")
st.title("Journeys")
st.write("Pick a person and compare three lanes on one time axis: what they really did, what the CRM recorded "
         "(and when), and what the CDP received and stitched into which profile.")
results = results_or_stop(scenario, play)
run = results.run
engine = run.engine
world = engine.world
res = engine.resolution
profiles = res.profiles

truth_people = set(run.truth["person_id"].astype("int64"))
crm_people = set(run.members["crm"]["person_id"].astype("int64"))
per_person = profiles.dropna(subset=["person_id"]).groupby("person_id").size()
cdp_lag = lags(run, "cdp")
late = cdp_lag[cdp_lag["lag_hours"].isna() | (cdp_lag["lag_hours"] > play.action_window_hours)]
cases = {
    f"Qualified for '{play.title}' but missed by the CRM": sorted(truth_people - crm_people),
    "Split across several CDP profiles": per_person[per_person > 1].sort_values(ascending=False).index.astype("int64").tolist(),
    "In an over-merged CDP profile (shared device)": profiles.loc[profiles["n_persons"] > 1, "person_id"].dropna().astype("int64").unique().tolist(),
    "Reached late or never by the CDP": late["person_id"].astype("int64").tolist(),
}
c1, c2 = st.columns([2, 1])
case = c1.selectbox("Interesting case", [k for k in cases], format_func=lambda k: f"{k} ({len(cases[k]):,})")
candidates = cases[case][:200]
if not candidates:
    st.info("Nobody in this world falls into this case — try another case, preset or knobs.")
    st.stop()
person = c2.selectbox("Person", candidates, format_func=lambda p: f"person {p}")

who = world.people[world.people["person_id"] == person]
if len(who):
    w = who.iloc[0]
    st.caption(f"Person {person}: {w.get('first_name', '')} {w.get('last_name', '')} · {w.get('email', '')} · "
               f"{w.get('city', '')}, {w.get('country', '')}")

ev = world.events
mine = ev[(ev["person_id"] == person) & (ev["ts"] >= world.start)]
page_txt = mine["page"].astype(object).map(lambda v: f" {v}" if isinstance(v, str) and v else "")
label = mine["event_type"].astype(str) + page_txt + " · " + mine["channel"].astype(str)
truth = pd.DataFrame({"ts": mine["ts"], "label": label})
crm_rows = world.crm_changes[(world.crm_changes["person_id"] == person) & (world.crm_changes["recorded_at"] >= world.start)]
crm = pd.DataFrame({"recorded_at": crm_rows["recorded_at"],
                    "label": "contact " + crm_rows["contact_id"].astype(str) + ": " + crm_rows["field"].astype(str) + " = "
                             + crm_rows["value"].astype(str) + " (true since " + crm_rows["effective_at"].dt.strftime("%Y-%m-%d %H:%M") + ")"})
placed = res.events.loc[res.events.index.intersection(mine.index)]
placed = placed[placed["profile_id"].notna()]
cdp = pd.DataFrame({"seen_at": placed["attached_at"], "label": label.loc[placed.index] + " · via " + placed["via"].astype(str),
                    "profile": placed["profile_id"].astype("int64").astype(str).str[-6:]})

m = st.columns(4)
m[0].metric("True events in the period", f"{len(truth):,}")
m[1].metric("CRM records", f"{len(crm):,}", help="Field changes recorded in the CRM for this person (all their contacts).")
m[2].metric("Events the CDP placed", f"{len(cdp):,}", help="Received and attached to a profile.")
m[3].metric("CDP profiles holding them", f"{cdp['profile'].nunique():,}", help="More than 1 = split identity.")
st.plotly_chart(charts.journey_lanes(truth, crm, cdp), width="stretch")
st.caption("Read: each dot is an event (truth), a CRM field write (at the time it was recorded) or an event as the CDP "
           "saw it (at the time it was received and stitched); different CDP symbols are different profiles.")
with st.expander("The rows behind the lanes"):
    t1, t2, t3 = st.tabs(["Truth", "CRM", "CDP"])
    t1.dataframe(truth, hide_index=True, width="stretch")
    t2.dataframe(crm, hide_index=True, width="stretch")
    t3.dataframe(cdp, hide_index=True, width="stretch")
