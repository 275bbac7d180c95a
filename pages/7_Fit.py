"""Fit advisor: which model fits this business — CRM, CDP or hybrid — argued with its own numbers."""
import json
from dataclasses import fields

import pandas as pd
import streamlit as st

from core.advice.answers import CDP_OPERATORS, GROUPS, HYGIENE, TRACKING_LEVELS, YES_NO
from core.advice.costs import sources_table
from core.advice.fit import (BUSINESS_MODELS, CADENCES, MAIN_KNOBS, MODELS, NAMES, SWEEP_KNOBS, AnswerError, Answers,
                             advise, answers_from_profile, knob_fmt, level_words)
from core.advice.stacks import STACKS
from core.errors import UserError
from core.present import charts
from core.present.tornadoview import tornado_for_page
from pages import SS, ensure_routed, shared_advice

ensure_routed()
st.title("Which model fits your business?")
st.write("Answer in plain language — about your business, the team that runs your CRM and the team that would run a "
         "CDP. The advisor generates worlds that behave like your business, runs the plays that matter for it through "
         "CRM, CDP, hybrid and CRM + CDP (each play on its better route), each run as *your* teams would run it, and "
         "compares **net value a year over your horizon**: true incremental revenue minus sends, unsubscribes and every "
         "cost of ownership (the CRM and a sending tool are paid in every model), build time a one-off delay and one-off "
         "costs spread over the horizon — beside running no targeted campaigns at all.")

# ------------------------------------------------------------------ answers: URL, upload, profile
SWEEPS = {"none": "None: your answers only (fastest; no crossovers, robustness not checked)",
          "main": "Both teams' operations and the CDP's cost (a few minutes)",
          "all": "Every knob: tracking and identity too (slowest)"}
if "fit_answers" not in SS:
    params = st.query_params.to_dict()
    SS.fit_answers = None
    while SS.fit_answers is None:
        try:
            SS.fit_answers = Answers.from_query(params)
        except AnswerError as exc:  # drop the bad answer, keep the rest of the link
            st.error(f"From the link: {exc} — using the default for it instead.")
            if exc.field not in params:
                params = {}
            params.pop(exc.field, None)
    try:
        SS.fit_seeds = min(30, max(10, int(st.query_params.get("fit_seeds", 10))))
    except ValueError:
        st.error("From the link: fit_seeds must be a whole number from 10 to 30 — using 10.")
        SS.fit_seeds = 10
    SS.fit_sweep = st.query_params.get("fit_sweep", "none") if st.query_params.get("fit_sweep", "none") in SWEEPS else "none"
answers: Answers = SS.fit_answers

with st.expander("Load or save answers (JSON), or take them from your data's profile"):
    up = st.file_uploader("Answers JSON", type=["json"], key="fit_upload")
    if up is not None and SS.get("fit_upload_seen") != (up.name, up.size):
        try:
            SS.fit_answers = answers = Answers.from_json(up.getvalue().decode("utf-8", errors="replace"))
            SS.fit_upload_seen = (up.name, up.size)
            st.success(f"Loaded answers from {up.name}.")
        except UserError as exc:
            st.error(str(exc))
    prof = st.file_uploader("Data profile JSON (audience-lab profile --world DIR --json)", type=["json"],
                            key="fit_profile")
    if prof is not None and SS.get("fit_profile_seen") != (prof.name, prof.size):
        try:
            data = json.loads(prof.getvalue().decode("utf-8", errors="replace"))
            filled = answers_from_profile(data, answers.to_dict())
            SS.fit_answers = answers = Answers.from_dict(filled)
            SS.fit_profile_seen = (prof.name, prof.size)
            st.success("Filled from the profile: monthly active customers, events per month, login share and "
                       "order value where the data shows them (tracking lowered only where loss is visible).")
        except (UserError, ValueError) as exc:
            st.error(f"Profile: {exc}")
    st.download_button("Download these answers", answers.to_json(), file_name="answers.json", mime="application/json")

# ------------------------------------------------------------------ the questionnaire
META = {f.name: f.metadata for f in fields(Answers)}
CHOICE_LABELS = {"business_model": BUSINESS_MODELS, "cadence": CADENCES, "tracking_maturity": TRACKING_LEVELS,
                 "marketing_automation": YES_NO, "crm_hygiene": HYGIENE, "cdp_operator": CDP_OPERATORS}
LABELS = {
    "business_model": "Business model", "sales_cycle_days": "Typical sales cycle (days)",
    "channels": "Customer-facing channels", "monthly_active_customers": "Monthly active customers",
    "monthly_events": "Tracked events per month", "login_share": "Share of visits logged in",
    "tracking_maturity": "Tracking on your site", "employees": "Employees", "order_value": "Average order / deal value",
    "cadence": "Campaign cadence (both sides)",
    "crm_admins": "People running the CRM (FTE)", "marketing_automation": "Marketing automation in place",
    "crm_hygiene": "CRM data hygiene", "crm_seats": "CRM seats", "crm_ship_days": "Days to ship a CRM campaign (−1 = estimate)",
    "data_people": "Data / engineering people (FTE)", "cdp_operator": "Who would run the CDP",
    "horizon_years": "Horizon (years)", "cdp_ship_days": "Days to ship a CDP audience (−1 = estimate)",
    "crm_tool": "CRM", "cdp_tool": "CDP", "sending_tool": "Sending tool",
    "crm_seat_cost_month": "CRM seat per month", "marketing_automation_year": "Marketing automation per year (−1 = from the published tier)",
    "sending_tool_year": "Sending tool per year", "person_cost_year": "Cost of a person per year",
    "cdp_licence_year": "CDP licence per year", "cdp_implementation": "CDP implementation (one-off)",
    "cdp_upkeep_year": "CDP upkeep per year", "connector_year": "CDP→CRM connector per year",
    "budget_year": "Martech budget per year (0 = not set)", "cost_per_send": "Cost per message",
    "seed": "First seed", "sim_people": "Simulated people per world", "sim_days": "Simulated days",
}


def _choice_label(name: str, value: str) -> str:
    if name in ("crm_tool", "cdp_tool", "sending_tool"):
        return STACKS[value].label if value in STACKS else "Generic (no particular product)"
    return CHOICE_LABELS.get(name, {}).get(value, value)


def widget(name: str, value):
    meta = META[name]
    label, help_ = LABELS[name], meta["help"]
    opts = [q["choices"] for q in QUESTIONS if q["name"] == name][0]
    if opts:
        opts = list(opts)
        return st.selectbox(label, opts, index=opts.index(value), format_func=lambda o: _choice_label(name, o),
                            help=help_, key=f"fit_{name}")
    if name == "login_share":
        return st.slider(label, 0.0, 1.0, float(value), 0.01, help=help_, key=f"fit_{name}")
    if isinstance(value, int):
        return st.number_input(label, value=int(value), step=1, help=help_, key=f"fit_{name}")
    return st.number_input(label, value=float(value), help=help_, key=f"fit_{name}")


QUESTIONS = Answers.questions()
with st.form("fit_form"):
    values = {}
    rows = [("Your business", "CRM team", "CDP / data team"), ("Your tools", "Costs", "Simulation")]
    for row in rows:
        cols = st.columns(len(row))
        for col, group in zip(cols, row):
            with col:
                st.subheader(group)
                for n in GROUPS[group]:
                    values[n] = widget(n, getattr(answers, n))
                if group == "Simulation":
                    seeds = st.number_input("Worlds to average (seeds)", 10, 30, int(SS.fit_seeds), 1, key="fit_seeds_in",
                                            help="Every figure is a mean over this many simulated worlds; crossovers "
                                                 "are their median and range.")
                    sweep = st.selectbox("Sweep", list(SWEEPS), index=list(SWEEPS).index(SS.fit_sweep),
                                         format_func=SWEEPS.get, key="fit_sweep_in")
    submitted = st.form_submit_button("Advise me", type="primary")
if submitted:
    try:
        SS.fit_answers = answers = Answers.from_dict(values)
        SS.fit_seeds, SS.fit_sweep = int(seeds), sweep
    except UserError as exc:
        st.error(str(exc))
        st.stop()
st.query_params.from_dict({**answers.to_query(),
                           **({"fit_seeds": str(SS.fit_seeds)} if SS.fit_seeds != 10 else {}),
                           **({"fit_sweep": SS.fit_sweep} if SS.fit_sweep != "none" else {})})

# ------------------------------------------------------------------ run (cached per answers in the session)
cache = SS.setdefault("fit_cache", {})
key = (answers, SS.fit_seeds, SS.fit_sweep)
if key not in cache:
    bar = st.progress(0.0, text="Starting…")
    try:
        knobs = {"all": tuple(SWEEP_KNOBS), "main": MAIN_KNOBS, "none": ()}[SS.fit_sweep]
        cache[key] = shared_advice(answers, seeds=SS.fit_seeds, knobs=knobs, sweep=SS.fit_sweep != "none",
                                   progress=lambda f, msg: bar.progress(min(max(f, 0.0), 1.0), text=msg))
    except UserError as exc:
        bar.empty()
        st.error(str(exc))
        st.stop()
    bar.empty()
adv = cache[key]

# ------------------------------------------------------------------ recommendation
st.header(f"Recommendation: {NAMES[adv.recommendation]} — {adv.verdict}")
st.caption(f"Mean of {len(adv.seeds)} simulated worlds of {answers.sim_people:,} people over {answers.sim_days} days "
           f"('{adv.scenario.preset}' preset), scaled to {answers.monthly_active_customers:,} monthly active customers "
           f"a year over {answers.horizon_years} years; CRM {level_words(adv.levels['crm'])} (level {adv.levels['crm']:.2f}), CDP "
           f"{level_words(adv.levels['cdp'])} (level {adv.levels['cdp']:.2f}); took {adv.timings['total_seconds']:.0f} s.")
st.subheader("Why")
for r in adv.reasons:
    st.markdown(f"- {r}")
st.subheader("Risks")
for r in adv.risks:
    st.warning(r)

cols = st.columns(len(MODELS) + 1)
for col, m in zip(cols, MODELS):
    lo, hi = adv.net_value_range[m]
    col.metric(f"{NAMES[m]} net value a year", f"{adv.net_value[m]:,.0f}",
               help=f"Mean over {len(adv.seeds)} worlds (from {lo:,.0f} to {hi:,.0f}) over {answers.horizon_years} years; "
                    f"incremental revenue {adv.incremental_revenue[m]:,.0f} a steady year minus sends, unsubscribes and "
                    f"cost of ownership. Year one: {adv.year_one[m]:,.0f}; a steady year: {adv.steady_state[m]:,.0f}.")
cols[-1].metric("No targeted campaigns", f"{adv.baseline:,.0f}",
                help="The baseline every model is measured against: no campaigns, no marketing automation or sending "
                     "tool; only the CRM seats sales keeps anyway.")
st.dataframe(pd.DataFrame([{"": label, **{NAMES[m]: f"{vals[m]:,.0f}" for m in (*MODELS, "none")}}
                           for label, vals in ((f"a year over {answers.horizon_years} years", adv.net_value),
                                               ("year one", adv.year_one), ("a steady-state year", adv.steady_state))]),
             hide_index=True, width="stretch")
st.caption(f"CRM + CDP runs each play on the better of the CRM segment and the CDP audience, decided from the other "
           f"simulated worlds (the prior) plus your own holdout test; those tests are worth "
           f"{adv.routing.get('test_value_year', 0.0):,.0f} a year over deciding from the prior alone.")

st.plotly_chart(charts.fit_value_bars(adv.summary, NAMES), width="stretch")
st.caption("Read: light bars are the incremental revenue the model's campaigns truly cause; solid bars what is left "
           "after sends, unsubscribes and cost of ownership. The solid bar that reaches highest (the least negative, "
           "when all are) is the recommendation.")

# ------------------------------------------------------------------ costs
st.header("What each model costs")
items = adv.costs.pivot_table(index="item", columns="model", values="yearly", aggfunc="sum", sort=False).reindex(
    columns=list(MODELS)).fillna(0.0)
summ = adv.summary.set_index("model")
items.loc["Messages sent (from the campaigns)"] = [summ.loc[m, "send_cost_12m"] for m in MODELS]
items.loc["Unsubscribes (from the campaigns)"] = [summ.loc[m, "unsubscribe_cost_12m"] for m in MODELS]
items.loc["Total"] = items.sum()
items.columns = [NAMES[m] for m in items.columns]
st.dataframe(items.map(lambda x: f"{x:,.0f}"), width="stretch", height=36 * (len(items) + 1) + 4)
st.caption("Every model keeps the CRM as the system of record, the people who run it, its marketing automation and a "
           "sending tool; CDP and hybrid add the CDP's licence, implementation, upkeep and data-team time; the hybrid "
           "adds the connector. Send and unsubscribe costs come from the simulated campaigns.")
with st.expander("Where the default cost figures come from"):
    st.dataframe(sources_table(), hide_index=True, width="stretch")

with st.expander("Per play: net value, the hybrid's route, reach and lift"):
    st.markdown(f"**Per play and model** (mean over the worlds). The hybrid runs each play on the route its own "
                f"holdout tests favour; that matched the simulator's truth in "
                f"{adv.routing['agreement']:.0%} of {adv.routing['decisions']} decisions.")
    st.dataframe(adv.plays.assign(model=adv.plays["model"].map(NAMES)), hide_index=True, width="stretch")
    st.markdown("**First world, per play and model** — timely reach: share of truly qualifying people reached within "
                "the play's action window; precision: members who truly qualify (mid-period); lift: measured vs true.")
    st.dataframe(adv.metrics, hide_index=True, width="stretch")

# ------------------------------------------------------------------ sensitivity
st.header("Where the answer flips")
if adv.robustness.get("checked"):
    rows = [{"teams": f"both one level {name}", **{NAMES[m]: f"{j['net_value'][m]:,.0f}" for m in MODELS},
             "winner": NAMES[j["winner"]], f"{NAMES[adv.recommendation]} wins in": f"{j['seed_share']:.0%} of worlds"}
            for name, j in adv.robustness["joint"].items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(f"Read: both teams moved together, one level (0.5 on the 0 = poorly run … 1 = well run scale) better "
               f"and worse. '{adv.verdict}' — " + ("the recommendation holds in both and in "
                                                   f"{adv.robustness['seed_share']:.0%} of the worlds."
                                                   if adv.verdict == "robust" else "; ".join(adv.robustness["failed"]) + "."))
knobs = [k for k in SWEEP_KNOBS if k in adv.crossover_detail]
if not adv.robustness.get("checked"):
    st.info(f"Not checked yet: this advice ran {len(adv.seeds)} worlds at your answers only, so it claims no robustness "
            "and shows no crossovers. The check moves both teams' operations (separately and together) and the CDP's "
            "cost over the same worlds; it takes a few minutes.")
    if st.button("Check where the answer flips", type="primary"):
        SS.fit_sweep = SS["fit_sweep_in"] = "main"
        st.rerun()
if knobs:
    tabs = st.tabs([SWEEP_KNOBS[k]["label"].split(" (")[0] for k in knobs])
    for tab, knob in zip(tabs, knobs):
        with tab:
            t = adv.sweep[adv.sweep["knob"] == knob]
            d = dict(adv.crossover_detail[knob])
            d["value"] = d["median"]
            fig = charts.fit_sweep(t, d, SWEEP_KNOBS[knob]["label"], SWEEP_KNOBS[knob]["unit"],
                                   {m: NAMES[m] for m in MODELS}, log_x=knob == "cdp_cost_factor")
            st.plotly_chart(fig, width="stretch")
            if d["median"] is None:
                st.caption(f"Read: {NAMES[d['below']]} stays best over the whole swept range in every one of the "
                           f"{d['seeds']} worlds; this knob alone does not change the answer. Lines are means over the worlds.")
            else:
                extra = (f" In terms of your answers: about {d['median']:.2f} data FTE." if knob == "cdp_level" else "")
                st.caption(f"Read: {NAMES[d['below']]} is best below and {NAMES[d['above']]} above the dashed line, the "
                           f"median crossover {knob_fmt(knob, d['median'])} over {d['seeds']} worlds (range "
                           f"{knob_fmt(knob, d['low'])}–{knob_fmt(knob, d['high'])}; {d['seeds_flipping']} of {d['seeds']} "
                           f"worlds flip). The dotted line is your answer ({knob_fmt(knob, d['current'])}). Lines are "
                           f"means over the worlds.{extra}")
    if len(adv.tornado):
        st.plotly_chart(charts.tornado(adv.tornado), width="stretch")
        st.caption("Read: each bar spans the CDP-or-hybrid advantage over the CRM as the knob moves over its swept "
                   "range; longest bars first. A bar crossing the zero line means that knob alone can flip the answer.")

# ------------------------------------------------------------------ one knob at a time
st.subheader("One ops knob at a time, per play")
st.caption("Each side's operational knobs moved alone to their well-run and poorly-run values on a small world like "
           "yours: which single deficit flips a play's CRM-vs-CDP verdict.")
tkey = f"fit_ops_tornado::{adv.scenario!r}"
if st.button("Move each knob alone", key="fit_ops_tornado"):
    with st.spinner("Moving each ops knob alone, play by play…"):
        SS[tkey] = {p: tornado_for_page(adv.scenario, p) for p in adv.plays["play"].unique()}
for p, view in (SS.get(tkey) or {}).items():
    st.markdown(f"**{p}** — {view['sentence']}")
    st.plotly_chart(view["figure"], width="stretch")

# ------------------------------------------------------------------ well run vs poorly run
st.header("The same business, a well-run and a poorly run CDP")
wp = adv.well_vs_poorly
if len(wp):
    st.plotly_chart(charts.well_vs_poorly(wp, {m: NAMES[m] for m in MODELS}), width="stretch")
    recs = wp.groupby("variant", sort=False)["recommendation"].first()
    st.caption(f"Read: same customers, same tracking, the same CRM (held at your team's level, "
               f"{adv.levels['crm']:.2f}); only the CDP's operation changes — audiences, syncs, identity merges, "
               "shipping time — and its data-team cost (one FTE paid when run well, none when run poorly). "
               + " · ".join(f"{v}: {NAMES[r]} wins" for v, r in recs.items()))

st.download_button("Download the advice (JSON)", json.dumps(adv.to_dict(), indent=2), file_name="advice.json",
                   mime="application/json")
