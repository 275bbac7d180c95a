"""Journeys: one person's truth, what the CRM recorded and when, what the CDP saw and when — and
when they truly qualified and each model could reach them."""
import pandas as pd
import streamlit as st

from core.present import cases, charts
from pages import SS, frame, keep_view, results_or_stop, view_from_link

scenario, play = frame()
st.title("Journeys")
st.write("Pick a person and compare three lanes on one time axis: what they really did, what the CRM recorded "
         "(and when), and what the CDP received and stitched into which profile. The shaded stretches are when the "
         "person truly qualified for the play; a star marks when each model could first reach them.")
results = results_or_stop(scenario, play)
run = results.run
play = run.play
engine = run.engine
world = engine.world
res = engine.resolution

picks = cases.interesting_cases(run, res)
keys = [c.key for c in cases.CASES]
known = set(world.people["person_id"].astype("int64"))


def _linked_case(text: str) -> str:
    if text not in keys:
        raise ValueError(f"{text!r} is not a case; accepted: {', '.join(keys)}")
    return text


def _linked_person(text: str) -> int:
    try:
        person = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a person number") from None
    if person not in known:
        raise ValueError(f"person {person} is not in this world (1 to {len(known):,})")
    SS["j_pinned"] = person  # a linked person stays pickable even outside the chosen case
    return person


view_from_link("case", "j_case", _linked_case)
view_from_link("person", "j_person", _linked_person)
c1, c2 = st.columns([2, 1])
if SS.get("j_case") not in keys:
    SS["j_case"] = keys[0]
case = c1.selectbox("Interesting case", keys, key="j_case",
                    format_func=lambda k: f"{cases.case_title(k, play.title)} ({len(picks[k]):,})")
candidates = picks[case][:200]
linked = SS.get("j_pinned")
if linked is not None and (linked not in known or SS.get("j_person") != linked):
    linked = SS["j_pinned"] = None  # the person picked another person, or the world changed
if linked is not None and linked not in candidates:
    candidates = [linked] + candidates
if not candidates:
    keep_view(case=case, person=None)
    st.info("Nobody in this world falls into this case — try another case, preset or knobs.")
    st.stop()
if SS.get("j_person") not in candidates:
    SS["j_person"] = candidates[0]
person = c2.selectbox("Person", candidates, key="j_person", format_func=lambda p: f"person {p}")
keep_view(case=case, person=person)
if linked is not None and linked not in picks[case] and linked == person:
    st.caption(f"Person {person} came with the link and is not in this case.")

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
qualified = cases.qualifying_episodes(run, person)
reached = cases.activations(run, person)

m = st.columns(5)
m[0].metric("True events", f"{len(truth):,}", help="Everything the person did in the period (ground truth).")
m[1].metric("Times qualified", f"{len(qualified):,}", help=f"Stretches in which the person truly qualified for '{play.title}'.")
m[2].metric("CRM records", f"{len(crm):,}", help="Field changes recorded in the CRM for this person (all their contacts).")
m[3].metric("Events the CDP placed", f"{len(cdp):,}", help="Received and attached to a profile.")
m[4].metric("CDP profiles", f"{cdp['profile'].nunique():,}", help="Profiles holding this person's events; more than 1 = split identity.")
st.plotly_chart(charts.journey_lanes(truth, crm, cdp, qualified, reached), width="stretch")
st.caption("Read: each dot is an event (truth), a CRM field write (at the time it was recorded) or an event as the CDP "
           "saw it (at the time it was received and stitched); different CDP symbols are different profiles. Grey "
           "shading = truly qualifying; ▶ = qualified; ★ = the model could reach them from then (hybrid ★ in green on "
           "the CDP lane).")
with st.expander("The rows behind the lanes"):
    t1, t2, t3, t4 = st.tabs(["Truth", "CRM", "CDP", "Qualified and reached"])
    t1.dataframe(truth, hide_index=True, width="stretch")
    t2.dataframe(crm, hide_index=True, width="stretch")
    t3.dataframe(cdp, hide_index=True, width="stretch")
    t4.dataframe(qualified, hide_index=True, width="stretch")
    t4.dataframe(reached, hide_index=True, width="stretch")
