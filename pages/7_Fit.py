"""Fit advisor: which model fits this business — CRM, CDP or hybrid — argued with its own numbers."""
import json
from dataclasses import fields

import streamlit as st

from core.advice.fit import (BUSINESS_MODELS, CADENCES, MODELS, NAMES, SWEEP_KNOBS, AnswerError, Answers, advise,
                             well_vs_poorly_run)
from core.errors import UserError
from core.present import charts
from pages import SS, ensure_routed

ensure_routed()
st.title("Which model fits your business?")
st.write("Answer in plain language; the advisor generates a world that behaves like your business, runs the plays "
         "that matter for it through CRM, CDP and hybrid, and compares 12-month **net value** (incremental revenue "
         "minus sends and total cost of ownership). Execution beats precision: a poorly run CDP can lose to a well-run CRM.")

# ------------------------------------------------------------------ answers: URL, upload
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
answers: Answers = SS.fit_answers

with st.expander("Load or save answers (JSON)"):
    up = st.file_uploader("Answers JSON", type=["json"], key="fit_upload")
    if up is not None and SS.get("fit_upload_seen") != (up.name, up.size):
        try:
            SS.fit_answers = answers = Answers.from_json(up.getvalue().decode("utf-8", errors="replace"))
            SS.fit_upload_seen = (up.name, up.size)
            st.success(f"Loaded answers from {up.name}.")
        except UserError as exc:
            st.error(str(exc))
    st.download_button("Download these answers", answers.to_json(), file_name="answers.json", mime="application/json")

# ------------------------------------------------------------------ the questionnaire
META = {f.name: f.metadata for f in fields(Answers)}
CHOICE_LABELS = {"business_model": BUSINESS_MODELS, "cadence": CADENCES,
                 "tracking_maturity": {"none": "None (a pixel or two)", "basic": "Basic (client-side)",
                                       "good": "Good (client + server)", "advanced": "Advanced (server-side, QA)"}}
LABELS = {
    "business_model": "Business model", "sales_cycle_days": "Typical sales cycle (days)",
    "channels": "Customer-facing channels", "monthly_active_customers": "Monthly active customers",
    "monthly_events": "Tracked events per month", "login_share": "Share of traffic that logs in",
    "tracking_maturity": "Tracking maturity", "employees": "Employees", "data_people": "Data / engineering people (FTE)",
    "crm_ship_days": "Days to ship a new CRM segment today", "cdp_ship_days": "Days to ship a CDP audience (incl. tickets)",
    "cadence": "Campaign cadence", "crm_seats": "CRM seats", "crm_seat_cost_month": "CRM seat cost per month",
    "cdp_licence_year": "CDP licence per year", "cdp_implementation": "CDP implementation (one-off)",
    "cdp_upkeep_year": "CDP upkeep per year", "connector_year": "CDP→CRM connector per year",
    "person_cost_year": "Cost of a data person per year", "budget_year": "Martech budget per year (0 = not set)",
    "order_value": "Average order / deal value", "cost_per_send": "Cost per message",
    "seed": "Seed", "sim_people": "Simulated people", "sim_days": "Simulated days",
}
GROUPS = {
    "Your business": ["business_model", "sales_cycle_days", "channels", "monthly_active_customers", "monthly_events",
                      "order_value", "employees"],
    "Data and team": ["tracking_maturity", "login_share", "data_people", "crm_ship_days", "cdp_ship_days", "cadence"],
    "Costs": ["crm_seats", "crm_seat_cost_month", "cdp_licence_year", "cdp_implementation", "cdp_upkeep_year",
              "connector_year", "person_cost_year", "budget_year", "cost_per_send"],
    "Simulation": ["sim_people", "sim_days", "seed"],
}


def widget(name: str, value):
    meta = META[name]
    label, help_ = LABELS[name], meta["help"]
    if name == "tracking_maturity":
        help_ += (" Basic: client-side tags on the main site. Good: client and server side, with a tracking plan. "
                  "Advanced: server-side, consent mode and QA.")
    if "choices" in meta:
        opts = list(meta["choices"])
        names = CHOICE_LABELS.get(name, {})
        return st.selectbox(label, opts, index=opts.index(value), format_func=lambda o: names.get(o, o), help=help_,
                            key=f"fit_{name}")
    if name == "login_share":
        return st.slider(label, 0.0, 1.0, float(value), 0.01, help=help_, key=f"fit_{name}")
    if isinstance(value, int):
        return st.number_input(label, value=int(value), step=1, help=help_, key=f"fit_{name}")
    return st.number_input(label, value=float(value), help=help_, key=f"fit_{name}")


with st.form("fit_form"):
    values = {}
    cols = st.columns(len(GROUPS))
    for col, (group, names) in zip(cols, GROUPS.items()):
        with col:
            st.subheader(group)
            for n in names:
                values[n] = widget(n, getattr(answers, n))
    submitted = st.form_submit_button("Advise me", type="primary")
if submitted:
    try:
        SS.fit_answers = answers = Answers.from_dict(values)
    except UserError as exc:
        st.error(str(exc))
        st.stop()
st.query_params.from_dict(answers.to_query())

# ------------------------------------------------------------------ run (cached per answers in the session)
cache = SS.setdefault("fit_cache", {})
if answers not in cache:
    bar = st.progress(0.0, text="Starting…")
    try:
        cache[answers] = advise(answers, progress=lambda f, msg: bar.progress(min(max(f, 0.0), 1.0), text=msg))
    except UserError as exc:
        bar.empty()
        st.error(str(exc))
        st.stop()
    bar.empty()
adv = cache[answers]

# ------------------------------------------------------------------ recommendation
st.header(f"Recommendation: {NAMES[adv.recommendation]}")
st.caption(f"Simulated {answers.sim_people:,} people over {answers.sim_days} days on the "
           f"'{adv.scenario.preset}' preset, scaled to {answers.monthly_active_customers:,} monthly active customers "
           f"and 12 months; answer and sweep took {adv.timings['total_seconds']:.1f} s.")
st.subheader("Why")
for r in adv.reasons:
    st.markdown(f"- {r}")
st.subheader("Risks")
for r in adv.risks:
    st.warning(r)

c1, c2, c3 = st.columns(3)
for col, m in zip((c1, c2, c3), MODELS):
    col.metric(f"{NAMES[m]} net value (12 months)", f"{adv.net_value[m]:,.0f}",
               help=f"Incremental revenue {adv.incremental_revenue[m]:,.0f} minus sends and total cost of ownership.")

fig = charts.fit_value_bars(adv.summary, NAMES)
st.plotly_chart(fig, width="stretch")
st.caption("Read: light bars are the incremental revenue the model's campaigns truly cause; solid bars what is left "
           "after send costs and total cost of ownership. The tallest solid bar is the recommendation.")

with st.expander("The accounting: cost of ownership, per-play metrics"):
    st.markdown("**Total cost of ownership, 12 months** (hybrid keeps the CRM seats as system of record, "
                "pays for the CDP and for the connector).")
    st.dataframe(adv.costs.assign(model=adv.costs["model"].map(NAMES)), hide_index=True, width="stretch")
    st.dataframe(adv.summary.assign(model=adv.summary["model"].map(NAMES)), hide_index=True, width="stretch")
    st.markdown("**Per play and model** — timely reach: share of truly qualifying people reached within the play's "
                "action window; precision: members who truly qualify (mid-period); lift: measured vs true.")
    st.dataframe(adv.metrics, hide_index=True, width="stretch")

# ------------------------------------------------------------------ sensitivity
st.header("Where the answer flips")
knobs = list(SWEEP_KNOBS)
tabs = st.tabs([SWEEP_KNOBS[k]["label"].split(" (")[0] for k in knobs])
for tab, knob in zip(tabs, knobs):
    with tab:
        t = adv.sweep[adv.sweep["knob"] == knob]
        d = adv.crossover_detail.get(knob, {})
        unit = SWEEP_KNOBS[knob]["unit"]
        fig = charts.fit_sweep(t, d, SWEEP_KNOBS[knob]["label"], unit, {m: NAMES[m] for m in MODELS},
                               log_x=knob in ("cdp_sync_minutes", "cdp_cost_factor"))
        st.plotly_chart(fig, width="stretch")
        if d.get("value") is None:
            st.caption(f"Read: {NAMES[d.get('below', adv.recommendation)]} stays best over the whole swept range; "
                       "this knob alone does not change the answer.")
        else:
            st.caption(f"Read: {NAMES[d['below']]} is best below {d['value']:.3g} {unit} and {NAMES[d['above']]} above "
                       f"it (dashed line); the dotted line is your answer ({d['current']:.3g}).")

tor = adv.tornado
if len(tor):
    fig = charts.tornado(tor)
    st.plotly_chart(fig, width="stretch")
    st.caption("Read: each bar spans the CDP-or-hybrid advantage over the CRM as the knob moves over its swept range; "
               "longest bars first. A bar crossing the zero line means that knob alone can flip the recommendation.")

# ------------------------------------------------------------------ well run vs poorly run
st.header("The same business, a well-run and a poorly run CDP")
side = SS.setdefault("fit_side", {})
if answers not in side:
    bar = st.progress(0.0, text="Running the side-by-side…")
    side[answers] = well_vs_poorly_run(answers, progress=lambda f, msg: bar.progress(min(max(f, 0.0), 1.0), text=msg))
    bar.empty()
wp = side[answers]
fig = charts.well_vs_poorly(wp, {m: NAMES[m] for m in MODELS})
st.plotly_chart(fig, width="stretch")
recs = wp.groupby("variant")["recommendation"].first()
st.caption("Read: same customers, same CRM; only tracking, identity, team and operations differ. "
           + " · ".join(f"{v}: {NAMES[r]} wins" for v, r in recs.items()))

st.download_button("Download the advice (JSON)", json.dumps(adv.to_dict(), indent=2), file_name="advice.json",
                   mime="application/json")
