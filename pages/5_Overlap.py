"""Overlap: who each model holds at a chosen time, over time, and how accurate each is against truth."""
import pandas as pd
import streamlit as st

from core.measures.overlap import overlap_at
from core.present import charts
from core.present.measureview import accounts_line, equal_size_line, nobody_qualifies, overlap_cards
from core.present.stackview import titled
from pages import SS, frame, keep_view, pct, results_or_stop, view_from_link

scenario, play = frame()
st.title(titled("Overlap", scenario))
st.write(f"**{play.title}** — who each model can act on: members a sending tool can reach (anonymous profiles and "
         "members not yet synced do not count), compared as true persons (duplicate contacts and split profiles count once).")
results = results_or_stop(scenario, play)
run = results.run
empty = nobody_qualifies(run)
if empty:
    st.info(empty)
    st.stop()
times = list(pd.date_range(run.start, run.end, freq="6h"))


def _linked_time(text: str) -> pd.Timestamp:
    """The 6-hour step nearest a linked time such as 2026-10-15T12:00 (UTC)."""
    try:
        t = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise ValueError(f"{text!r} is not a date and time such as 2026-10-15T12:00; showing mid-period") from None
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    if not run.start <= t <= run.end:
        raise ValueError(f"{t:%Y-%m-%d %H:%M} is outside the simulated period ({run.start:%Y-%m-%d} to "
                         f"{run.end:%Y-%m-%d}); showing mid-period")
    return min(times, key=lambda x: abs(x - t))


view_from_link("at", "overlap_t", _linked_time)
if SS.get("overlap_t") not in times:
    SS["overlap_t"] = times[len(times) // 2]
when = st.select_slider("Time (UTC)", options=times, format_func=lambda d: d.strftime("%Y-%m-%d %H:%M"), key="overlap_t")
keep_view(at=when.strftime("%Y-%m-%dT%H:%M"))
ov = overlap_at(run, when)
r = ov["regions"]
m = st.columns(5)
m[0].metric("Truly qualifying", f"{ov['truth']:,}", help="People whose need is open at this time (the yardstick).")
m[1].metric("CRM only", f"{r['crm_only']:,}")
m[2].metric("Both", f"{r['both']:,}")
m[3].metric("CDP only", f"{r['cdp_only']:,}")
m[4].metric("Jaccard CRM–CDP", pct(ov["jaccard_crm_cdp"]), help="People in both over people in either.")

cards = st.columns(len(ov["models"]))
for col, card in zip(cards, overlap_cards(ov)):
    with col:
        st.markdown(f"**{charts.label(card.model)}** can reach {card.reachable}")
        st.caption(f"precision {card.precision} · recall {card.recall}")
        st.caption(card.members_line)
for line in (equal_size_line(ov), accounts_line(ov)):
    if line:
        st.caption(line)

c1, c2 = st.columns(2)
c1.plotly_chart(charts.venn(ov), width="stretch")
c1.caption("Read: circle regions count people the CRM only, both, or the CDP only can reach, and how many of them "
           "truly qualify at this time.")
c2.plotly_chart(charts.precision_recall(ov), width="stretch")
c2.caption("Read: precision = reachable members who truly qualify; recall = qualifying people the model can reach. "
           "High bars on both are best.")
st.plotly_chart(charts.overlap_over_time(results.overlap_series), width="stretch")
st.caption("Read: how much the two models agree each day; low values mean they target different people.")
st.plotly_chart(charts.accuracy_over_time(results.overlap_series, "recall"), width="stretch")
st.caption("Read: the share of truly qualifying people each model can reach, day by day.")
with st.expander("Per-model numbers at this time"):
    st.dataframe(pd.DataFrame(ov["models"]).T, width="stretch")
