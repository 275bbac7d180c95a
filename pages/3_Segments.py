"""Segments & audiences: read, edit (form or JSON), compile to SQL, count and export members."""
import json

import pandas as pd
import streamlit as st

from core.engine.portable import DIALECTS, portable_sql
from core.engine.plays import get_play
from core.engine.rulelimits import read_json
from core.engine.rules import LIST_OPS, NO_VALUE_OPS, OPS_BY_TYPE, parse_rule
from core.errors import UserError
from core.present import charts
from core.present.export import to_safe_csv
from core.present.memberview import members_table, summary as member_summary
from core.present.ruleform import condition_text, event_choices, page_choices
from pages import SS, current_play, edited_rules, engine_or_stop, frame, reset_rule, results_or_stop, set_rules

scenario, _ = frame()
engine = engine_or_stop(scenario)
play = current_play()  # after the engine checked any rule that came with the link
st.title("Segments & audiences")
st.write(f"**{play.title}** — {play.goal}")
library = get_play(play.name)
edited = edited_rules(play.name)
NAMES = {"crm": "CRM segment", "cdp": "CDP audience"}

c_crm, c_cdp = st.columns(2)
for col, model, why in ((c_crm, "crm", play.why_crm), (c_cdp, "cdp", play.why_cdp)):
    with col:
        rule = play.rule(model)
        st.subheader(f"{NAMES[model]}{' (edited)' if model in edited else ''}")
        st.markdown(f"**{rule.name}** — {rule.to_english()}")
        if why:
            st.caption(why)
        days = getattr(scenario.activation(), f"{model}_build_days")
        st.caption(f"A new campaign on this {'segment' if model == 'crm' else 'audience'} launches after "
                   f"**{days:g} day{'' if days == 1 else 's'}** (team speed, set on Scenario).")
st.caption(f"Truth (the latent need the models are judged on): {play.rule('truth').to_english()}")


def _body(rule_dict: dict) -> list:
    """The top-level conditions of a rule as a list (an 'all' is unpacked)."""
    body = {k: v for k, v in rule_dict.items() if k not in ("name", "description", "list", "frozen_at")}
    if list(body) == ["all"]:
        return list(body["all"])
    return [body]


def _with_conditions(rule_dict: dict, conditions: list) -> dict:
    head = {k: v for k, v in rule_dict.items() if k in ("name", "description", "list", "frozen_at")}
    return {**head, "all": conditions}


def _try_apply(model: str, new_rule: dict) -> bool:
    """Validate (parse + compile against the view's schema) and store; show errors in place."""
    try:
        parsed = parse_rule(new_rule)
        engine.sql(parsed, model)
    except UserError as exc:
        st.error(f"{NAMES[model]}: {exc}")
        return False
    set_rules(play.name, **{model: parsed.to_dict()})
    return True


def _field_condition(model: str, schema) -> dict | None:
    fields = sorted(schema.fields.keys())
    if not fields:
        st.info(f"The {model.upper()} view has no fields: a CDP audience works on events.")
        return None
    f = st.selectbox("Field", fields, key=f"f_{model}")
    ftype = schema.fields[f]
    op = st.selectbox("Operator", OPS_BY_TYPE.get(ftype, OPS_BY_TYPE["text"]), key=f"op_{model}")
    raw = "" if op in NO_VALUE_OPS else st.text_input(
        "Value" + (" (comma-separated)" if op in LIST_OPS else ""), key=f"v_{model}",
        help="Days for 'within_last_days'; an ISO date for before/after.")
    new = {"field": f, "op": op}
    if op not in NO_VALUE_OPS:
        if op in LIST_OPS:
            value = [v.strip() for v in raw.split(",") if v.strip()]
        else:
            try:
                value = float(raw) if ftype == "number" or op == "within_last_days" else raw
                value = int(value) if isinstance(value, float) and value.is_integer() else value
            except ValueError:
                value = raw
        new["value"] = value
    return new


def _event_condition(model: str) -> dict | None:
    events = event_choices(engine, model)
    if not events:
        st.info(f"This world has no events the {model.upper()} view can filter on.")
        return None
    ev = st.selectbox("Event type", events, key=f"e_{model}",
                      help="Only the events this world produces (a B2C shop has no trials or sales meetings).")
    pg = st.selectbox("Page (page views)", ["(any)"] + page_choices(engine, model), key=f"p_{model}")
    n1, n2 = st.columns(2)
    count = n1.number_input("At least (times)", 1, 100, 1, key=f"c_{model}")
    within = n2.text_input("Within (e.g. 48h, 7d, 30m)", "48h", key=f"w_{model}")
    negate = st.checkbox("Did NOT do it", key=f"n_{model}")
    new: dict = {"event": ev}
    if pg != "(any)":
        new["where"] = {"page": pg}
    if count > 1:
        new["count"] = {"gte": int(count)}
    if within.strip():
        new["within"] = within.strip()
    return {"not": new} if negate else new


st.subheader("Edit")
tab_crm, tab_cdp = st.tabs(["CRM segment", "CDP audience"])
for tab, model in ((tab_crm, "crm"), (tab_cdp, "cdp")):
    with tab:
        current = dict(getattr(play, model))
        conditions = _body(current)
        form_col, json_col = st.columns(2)
        with form_col:
            st.markdown("**Form**")
            kinds = ["field condition", "event condition"] if model == "crm" else ["event condition", "field condition"]
            kind = st.radio("Add a", kinds, horizontal=True, key=f"kind_{model}")
            schema = engine.schema(model)
            new = _field_condition(model, schema) if kind == "field condition" else _event_condition(model)
            b1, b2 = st.columns(2)
            if b1.button("Add condition", key=f"add_{model}", disabled=new is None):
                if _try_apply(model, _with_conditions(current, conditions + [new])):
                    st.rerun()
            if len(conditions) > 1:
                drop = st.selectbox("Remove condition", range(len(conditions)), key=f"drop_{model}",
                                    format_func=lambda i: condition_text(conditions[i]))
                if b2.button("Remove", key=f"rm_{model}"):
                    if _try_apply(model, _with_conditions(current, [c for i, c in enumerate(conditions) if i != drop])):
                        st.rerun()
        with json_col:
            st.markdown("**JSON**")
            text = json.dumps(current, indent=2)
            key = f"json_{model}_{abs(hash(text)) % 10**8}"
            st.text_area("Rule JSON", text, height=260, key=key, label_visibility="collapsed")
            j1, j2 = st.columns([1, 1.7])
            if j1.button("Apply JSON", key=f"apply_{model}"):
                try:  # bounded reader: a rule nested 100,000 deep or a 5,000-digit number is one line
                    obj = read_json(SS[key])
                except UserError as exc:
                    st.error(f"{NAMES[model]}: {exc}")
                else:
                    if not isinstance(obj, dict):
                        st.error(f"{NAMES[model]}: a rule must be a JSON object such as {{\"name\": ..., \"all\": [...]}}")
                    elif _try_apply(model, obj):
                        st.rerun()
            if j2.button("Reset to the library rule", key=f"reset_{model}", disabled=model not in edited,
                         help=f"Only the {NAMES[model]}: edits on the other tab stay."):
                reset_rule(play.name, model)
                st.rerun()
            st.download_button("Download the rule (JSON)", text, file_name=f"{play.name}.{model}.json", mime="application/json",
                               key=f"dl_{model}", help="The rule as a file, for the CLI or for rules too long for a link.")

DIALECT_NAMES = {"duckdb": "DuckDB", "spark": "Spark SQL", "databricks": "Databricks", "bigquery": "BigQuery",
                 "snowflake": "Snowflake", "postgres": "PostgreSQL"}
st.subheader("Compiled SQL")
dialect = st.selectbox(
    "SQL for", ("engine", *DIALECTS), key="sql_dialect",
    format_func=lambda d: "this dashboard's engine (the rule over the view relations)" if d == "engine"
    else f"{DIALECT_NAMES[d]}: one self-contained query",
    help="A warehouse dialect prints the view relations as CTEs over tables with the documented layout "
         "(docs/ARCHITECTURE.md, identity table included), then the rule, evaluated at the warehouse's current "
         "time; values are quoted literals. The same as `audience-lab sql --dialect …`.")
q1, q2 = st.columns(2)
for col, model in ((q1, "crm"), (q2, "cdp")):
    with col:
        st.markdown(f"**{NAMES[model]}** on the {model.upper()} view")
        try:
            sql = (engine.sql(play.rule(model), model) if dialect == "engine"
                   else portable_sql(play.rule(model), model, dialect, schema=engine.schema(model)))
            st.code(sql, language="sql")
        except UserError as exc:
            st.error(str(exc))
st.caption("Copy a query with the icon at its top right." + (
    "" if dialect == "engine" else f" It runs unchanged on {DIALECT_NAMES[dialect]} over tables named and shaped "
                                   "as in docs/ARCHITECTURE.md."))

results = results_or_stop(scenario, play)
run = results.run
counts = [engine.counts_over_time(run.truth).assign(model="truth")]
counts += [engine.counts_over_time(run.members[m]).assign(model=m) for m in run.models]
st.plotly_chart(charts.members_over_time(pd.concat(counts, ignore_index=True)), width="stretch")
st.caption("Read: how many subjects each model holds each day against the truly qualifying people (dotted); "
           "a CRM line that steps weekly is an import or a batch sync.")

st.subheader("Members at a chosen time")
days = pd.date_range(run.start, run.end, freq="1D")
m1, m2 = st.columns([3, 1])
when = m1.select_slider("As of (UTC)", options=list(days), value=days[len(days) // 2],
                        format_func=lambda d: d.strftime("%Y-%m-%d"), key="as_of")
model = m2.radio("Model", ["crm", "cdp"], format_func=NAMES.get, key="members_model")
try:
    members = engine.members(play.rule(model), model, when)
except UserError as exc:
    st.error(str(exc))
    st.stop()
table = members_table(engine, members, model, when)
counts = member_summary(table)
k = st.columns(4)
k[0].metric(f"{NAMES[model]} members on {when:%Y-%m-%d}", f"{counts['members']:,}")
k[1].metric("Reachable", f"{counts['reachable']:,}", help="Members a sending tool can message: contacts, and CDP "
            "profiles with an e-mail or login. Anonymous profiles are members nobody can reach.")
k[2].metric("People listed twice", f"{counts['people_listed_twice']:,}", help="True people behind more than one "
            "member (duplicate contacts, split profiles): they get the message twice (ground truth).")
if "account_id" in table:
    k[3].metric("Accounts", f"{counts['accounts']:,}", help="Accounts the members belong to, as this system knows them.")
else:
    k[3].metric("Anonymous profiles", f"{counts['anonymous']:,}")
st.dataframe(table.head(1000), hide_index=True, width="stretch")
st.caption("Address = what this system itself holds (the recorded e-mail, the profile's login or e-mail); anonymous "
           "profiles have none. true_person_id and listed_times are the simulator's ground truth.")
st.download_button("Download members (CSV)", to_safe_csv(table), file_name=f"{play.name}-{model}-{when:%Y%m%d}.csv",
                   mime="text/csv", help="Cells starting with = + - @ are prefixed with ' so spreadsheets do not run them.")
