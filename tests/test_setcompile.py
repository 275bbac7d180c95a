"""The grouped set-query compiler gives exactly the members of the correlated one.

Two layers: a property test on tiny hand-made views (random events, random rules of every kind:
counts with zero-including comparisons, sequences, every trait, fields) at random times, and every
library play of every preset on a small generated world, at several times and over the timeline.
"""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.engine.plays import plays_for
from core.engine.rules import parse_rule, validate
from core.errors import RuleError
from core.engine.setcompile import compile_at, compile_pairs
from core.engine.sqlcompile import compile_membership
from core.engine.views import Engine
from synthetic import generate
from synthetic.config import WorldConfig
from tests.test_sqlcompile import CDP, CRM, H, T0, event_rows, events_st, fv, run, set_at, world

# --------------------------------------------------------------------------- property: tiny views

LEAVES = st.one_of(
    st.tuples(st.sampled_from(["page_view", "checkout_started"]), st.sampled_from(["gte", "gt", "lte", "lt", "eq"]),
              st.integers(0, 3), st.sampled_from(["1h", "6h", "48h"])).map(
        lambda x: {"event": x[0], "count": {x[1]: x[2]}, "within": x[3]}),
    st.fixed_dictionaries({"event": st.just("page_view"), "where": st.just({"page": "pricing"})}),
    st.tuples(st.sampled_from(["then", "then_not"]), st.sampled_from(["1h", "5h"]), st.sampled_from(["1d", "2d"])).map(
        lambda x: {"first": {"event": "page_view"}, x[0]: {"event": "checkout_started"}, "within": x[1], "lookback": x[2]}),
    st.fixed_dictionaries({"trait": st.just("days_since_last"), "event": st.sampled_from(["page_view", "checkout_started"]),
                           "op": st.sampled_from(["gte", "gt", "lte", "lt", "eq", "neq"]),
                           "value": st.sampled_from([0, 1, 2, 3])}),
    st.fixed_dictionaries({"trait": st.just("count"), "event": st.just("page_view"), "days": st.sampled_from([1, 2]),
                           "op": st.sampled_from(["gte", "lte", "eq", "lt"]), "value": st.integers(0, 3)}),
    st.fixed_dictionaries({"trait": st.just("total_value"), "event": st.just("checkout_started"),
                           "op": st.sampled_from(["gte", "lt", "lte"]), "value": st.sampled_from([0, 5, 50])}),
    st.fixed_dictionaries({"trait": st.just("first_time"), "event": st.just("page_view"), "within": st.sampled_from(["6h", "1d"])}),
    st.fixed_dictionaries({"trait": st.just("stopped"), "event": st.just("page_view"), "within": st.just("6h"),
                           "before": st.sampled_from(["12h", "1d"])}),
    st.fixed_dictionaries({"field": st.just("lifecycle_stage"), "op": st.sampled_from(["eq", "is_set", "is_not_set"])}),
)


def _leaf(doc: dict) -> dict:
    if doc.get("field") and doc["op"] == "eq":
        return {**doc, "value": "mql"}
    return doc


items_st = st.lists(st.tuples(LEAVES, st.booleans()), min_size=1, max_size=3).map(
    lambda items: [({"not": _leaf(d)} if neg else _leaf(d)) for d, neg in items])
rule_st = st.one_of(items_st.map(lambda xs: {"name": "p", "all": xs}), items_st.map(lambda xs: {"name": "q", "any": xs}))


def _values(raw):
    """page views carry no value; checkouts carry 10 each (so total_value has something to sum)."""
    rows = event_rows(raw)
    for r in rows:
        r["value"] = 10.0 if r["event_type"] == "checkout_started" else None
    return rows


FIELDS = [fv(1, "lifecycle_stage", "mql", start=H(-30), end=H(-5)), fv(1, "lifecycle_stage", "sql", start=H(-5)),
          fv(2, "lifecycle_stage", "mql", start=H(-20)), fv(3, "lifecycle_stage", None, start=H(-40))]


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=events_st, doc=rule_st,
       hours=st.lists(st.integers(-50, 3), min_size=1, max_size=3, unique=True))
def test_set_queries_equal_correlated_queries(raw, doc, hours):
    con = world(_values(raw), FIELDS, subjects=range(1, 6))
    rule = parse_rule(doc)
    times = [H(h) for h in hours]
    set_at(con, times)
    want = {(s, pd.Timestamp(t)) for s, t in run(con, compile_membership(rule, CDP))}
    # one time at a time
    for t in times:
        for form in ("in", "exists"):  # DuckDB's form and the Spark / warehouse form
            got = {s for s, _ in run(con, compile_at(rule, CDP, t, form=form))}
            assert got == {s for s, x in want if x == t}, (t, form)
    # per-subject points (the timeline path) and many times at once
    assert {(s, pd.Timestamp(t)) for s, t in run(con, compile_pairs(rule, CDP, "v_at"))} == want
    con.execute("CREATE OR REPLACE TABLE v_times AS SELECT DISTINCT t FROM v_at")
    assert {(s, pd.Timestamp(t)) for s, t in run(con, compile_pairs(rule, CDP, "v_times"))} == want
    assert {(s, pd.Timestamp(t)) for s, t in run(con, compile_pairs(rule, CDP, "v_times", form="exists"))} == want


def test_static_lists_and_segments_in_set_mode():
    con = world(fields=FIELDS, subjects=range(1, 5))
    frozen = {"name": "frozen", "list": "static", "frozen_at": H(-10).isoformat(),
              "field": "lifecycle_stage", "op": "eq", "value": "mql"}
    registry = {"frozen": parse_rule(frozen)}
    rule = parse_rule({"name": "r", "in_segment": "frozen"})
    for t in (H(-12), H(-10), H(0)):
        set_at(con, [t])
        want = {s for s, _ in run(con, compile_membership(rule, CRM, registry))}
        assert {s for s, _ in run(con, compile_at(rule, CRM, t, registry))} == want
    assert {s for s, _ in run(con, compile_at(rule, CRM, H(0), registry))} == {1, 2}  # frozen while s1 was an MQL
    assert {s for s, _ in run(con, compile_at(rule, CRM, H(-12), registry))} == set()  # not yet frozen


def test_set_queries_bind_every_user_value():
    rule = parse_rule({"name": "x", "all": [{"event": "page_view", "where": {"page": "pricing"}, "count": {"lte": 2},
                                            "within": "48h"}, {"field": "lifecycle_stage", "op": "eq", "value": "it's"}]})
    c = compile_at(rule, CDP, T0)
    assert "pricing" not in c.sql and "it's" not in c.sql and c.sql.count("?") == len(c.params)
    assert "GROUP BY e.subject_id" in c.sql and "HAVING NOT (count(*) <= ?)" in c.sql  # "at most 2" = not ">= 3"


# --------------------------------------------------------------------------- every play, real worlds


@pytest.fixture(scope="module", params=["b2c-retail", "b2b-saas", "plg-saas"])
def engine(request):
    return Engine(generate(WorldConfig(preset=request.param, seed=11, people=1500)))


def test_every_play_has_the_same_members_in_both_modes(engine):
    w = engine.world
    times = [w.start + (w.end - w.start) * q for q in (0.3, 0.65, 1.0)]
    for play in plays_for(w.config.preset):
        for model in ("truth", "crm", "cdp", "hybrid"):
            rule = play.rule(model)
            con, schema = engine._connection(model), engine.schema(model)
            try:
                validate(rule, schema)
            except RuleError:  # a field this world's CRM never recorded: both modes refuse it alike
                continue
            con.execute("CREATE OR REPLACE TEMP TABLE v_at (subject_id BIGINT, t TIMESTAMPTZ)")
            heavy = play.name == "account-intent"  # the correlated account query takes seconds a time
            for t in times[-1:] if heavy else times:
                set_at(con, [t])
                want = sorted(s for s, _ in run(con, compile_membership(rule, schema)))
                assert list(engine.members(rule, model, t)["subject_id"]) == want, (play.name, model, t)
            at = engine.members_at(rule, model, times)
            for t in times:
                assert list(at.loc[at["t"] == t, "subject_id"]) == list(engine.members(rule, model, t)["subject_id"])


def test_timelines_are_exact_in_set_mode(engine):
    """Intervals (set mode over the change points) agree with the correlated path at every change."""
    w = engine.world
    for play in plays_for(w.config.preset):
        if play.name == "account-intent":
            continue  # covered point-wise above; its correlated timeline takes minutes
        rule = play.rule("cdp")
        iv = engine.intervals(rule, "cdp")
        con, schema = engine._connection("cdp"), engine.schema("cdp")
        con.execute("CREATE OR REPLACE TEMP TABLE v_check AS SELECT * FROM v_at")  # the change points just used
        member = compile_membership(rule, schema)
        got = con.execute(f"SELECT count(*) FROM ({member.sql}) m", list(member.params)).fetchone()[0]
        inside = con.execute("""SELECT count(*) FROM v_check a JOIN iv ON iv.subject_id = a.subject_id
                                AND a.t >= iv.enter AND (iv.exit IS NULL OR a.t < iv.exit)""").fetchone()[0]
        assert got == inside, play.name
