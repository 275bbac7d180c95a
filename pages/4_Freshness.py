"""Freshness: how long after truly qualifying each model can reach a person."""
import streamlit as st

from core.measures.freshness import lags
from core.present import charts
from pages import frame, hours, pct, results_or_stop

scenario, play = frame()
st.title("Freshness")
st.write(f"**{play.title}** — {play.goal} Action window: **{play.action_window_hours:g} h**.")
results = results_or_stop(scenario, play)
table = results.freshness

cols = st.columns(len(table))
for col, row in zip(cols, table.itertuples()):
    with col:
        st.subheader(charts.label(row.model))
        st.metric("Reached within the action window", pct(row.share_within_window),
                  help="Share of truly qualified people activated within the play's action window.")
        st.metric("Never activated", pct(row.share_never), help="Qualified in truth but never reachable in this model.")
        st.metric("Median / p90 time to activation", f"{hours(row.median_hours)} / {hours(row.p90_hours)}")
        st.metric("Stale members", f"{row.n_stale_people:,}",
                  help=f"People still reachable after they stopped qualifying ({row.stale_person_days:,.0f} person-days).")

st.plotly_chart(charts.freshness_cdf(results.curves, play.action_window_hours), width="stretch")
st.caption("Read: the higher and further left a curve, the sooner that model reaches people after they qualify; "
           "a curve that flattens below 100% means people it never reaches.")
st.plotly_chart(charts.freshness_bars(table), width="stretch")
st.caption("Read: the coloured part is the share of qualified people reached in time; grey is late, dark grey never.")
lag = {m: lags(results.run, m) for m in results.run.models}
st.plotly_chart(charts.lag_histogram(lag, max_hours=play.action_window_hours * 4), width="stretch")
st.caption("Read: where each model's activation lags pile up (first four action windows shown).")
with st.expander("Freshness table"):
    st.dataframe(table, hide_index=True, width="stretch")
