"""Freshness: how soon after a need opens each model can act on it, per qualifying episode."""
import streamlit as st

from core.engine.plays import YARDSTICKS
from core.measures.freshness import lags
from core.present import charts
from core.present.measureview import YARDSTICK_LABELS, freshness_cards, need_table, nobody_qualifies, yardstick_table
from core.present.stackview import titled
from pages import SS, frame, results_or_stop, set_settings

scenario, play = frame()
st.title(titled("Freshness", scenario))
st.write(f"**{play.title}** — {play.goal} Action window: **{play.action_window_hours:g} h**. Every time a person's "
         "need opens counts (a qualifying episode); an activation counts only inside that episode or its window.")


def _yardstick_changed() -> None:
    set_settings({"yardstick": SS["w_yardstick"]})


SS["w_yardstick"] = scenario.yardstick
st.selectbox("Judge the models on", list(YARDSTICKS), key="w_yardstick", on_change=_yardstick_changed,
             format_func=YARDSTICK_LABELS.get,
             help="What 'truly qualifies' means. The latent need (the world's intent state and the trigger events) "
                  "belongs to neither system; the other two judge by one system's own rule, to show how much the "
                  "picture depends on it.")
results = results_or_stop(scenario, play)
empty = nobody_qualifies(results.run)
if empty:
    st.info(empty)
    st.stop()
table = results.freshness

cols = st.columns(len(table))
for col, card in zip(cols, freshness_cards(table)):
    with col:
        st.subheader(charts.label(card.model))
        st.metric("Reached within the action window", card.timely, help="Share of qualifying episodes in which the "
                  "model could reach the person inside the play's action window.")
        st.caption(card.timely_of)
        st.metric("Median time to activation", card.median, help="Over activated episodes only; missed ones are "
                  "counted as never activated, not as zero.")
        st.caption(card.median_of)
        st.metric("Never activated", card.never, help="Qualifying episodes the model never reached at all, inside "
                  "the episode or its action window (late ones are neither in time nor never).")
        st.metric("Stale reach", card.stale, help="People the model could still message for at least a day while "
                  "they did not qualify.")
        st.caption(card.stale_days)

st.plotly_chart(charts.freshness_cdf(results.curves, play.action_window_hours), width="stretch")
st.caption("Read: the higher and further left a curve, the sooner that model reaches people after their need opens; "
           "a curve that flattens below 100% means episodes it never reaches.")
st.plotly_chart(charts.freshness_bars(table), width="stretch")
st.caption("Read: the coloured part is the share of qualifying episodes reached in time; grey is late, dark grey never.")
lag = {m: lags(results.run, m) for m in results.run.models}
st.plotly_chart(charts.lag_histogram(lag, max_hours=play.action_window_hours * 4), width="stretch")
st.caption("Read: where each model's activation lags pile up (first four action windows shown).")

with st.expander("Does the picture depend on the yardstick — or on the need?"):
    st.caption("The same runs judged three ways: a yardstick that is one system's own rule flatters that system's "
               "timeliness. Money follows the need, so the second table puts the need itself on trial: who wins when "
               "a message helps only people matching the CRM's rule, the CDP's, or both, on ground truth.")
    if st.button("Compare the yardsticks and needs", key="yardstick_compare"):
        with st.spinner("Judging the play on every yardstick and need…"):
            st.dataframe(yardstick_table(results.run), hide_index=True, width="stretch")
            st.dataframe(need_table(results.run, scenario.campaign()), hide_index=True, width="stretch")
with st.expander("Freshness table"):
    st.dataframe(table, hide_index=True, width="stretch")
