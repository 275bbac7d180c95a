"""Compile a rule to *grouped set queries*: every leaf is an uncorrelated ``IN (SELECT … GROUP BY …)``.

Why a second compiler beside :mod:`core.engine.sqlcompile`: its correlated subqueries (one per
subject and time) are exact everywhere but cost DuckDB a decorrelation per leaf, and Spark cannot
run correlated aggregates with inequality predicates at all. Here each condition becomes the *set*
of keys for which it holds, computed once with a join and a GROUP BY, and the rule is a boolean
expression of set memberships. Results are identical (tests/test_setcompile.py checks every play).

Each membership test is ``a.subject_id IN (<set>)`` for DuckDB, or ``EXISTS (SELECT 1 FROM
(<set>) g WHERE g.subject_id = a.subject_id)`` for Spark and warehouses (``form="exists"``): the
set is uncorrelated either way, so each is one hash semi (or anti) join.

Three time sources, one code path:

* ``at`` — one as-of time for every subject (``Engine.members``): keys are ``subject_id``; the
  time is a bound parameter, so each leaf is ``a.subject_id IN (SELECT e.subject_id FROM v_events e
  WHERE … GROUP BY e.subject_id HAVING count(*) >= ?)``.
* ``v_at`` — per-subject evaluation points (the change points of a timeline): keys are
  ``(subject_id, t)``; events join ``v_at`` on the subject.
* ``v_times`` — one list of times for everyone (``Engine.members_at``): keys are
  ``(subject_id, t)``; events join the times on the window only (a range join).

Counts compare with zero honestly: "at most 2 views" holds for a subject with no views, so a
condition that holds at a count (or sum) of zero compiles to ``NOT IN`` the complement's set.
``days_since_last`` is compared on the latest event time against whole-day offsets of ``t``
(no ``EXTRACT(EPOCH …)``, which Spark lacks); it is the same floor-of-days rule.

Safety is the same as the correlated compiler's: user values are ``?`` parameters, names were
validated against the view's schema first, only integers of seconds are inlined.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.errors import RuleError
from core.engine.rules import (
    AccountCond, All, Any_, Condition, EventCond, EventSpec, FieldCond, InSegment, Not, Rule, Sequence,
    Trait, resolve_segment, validate,
)
from core.engine.schema import ViewSchema
from core.engine.sqlcompile import (
    _SQL_OPS, Compiled, _Ctx, _f, _field_test, _field_value_col, _Frag, _in_list, _indent, _interval,
    _join, _ts_param,
)

SOURCES = ("at", "v_at", "v_times")
_PY_OPS = {"eq": operator.eq, "neq": operator.ne, "gt": operator.gt, "gte": operator.ge,
           "lt": operator.lt, "lte": operator.le}


@dataclass(frozen=True)
class _Time:
    """Where a leaf reads its evaluation time: a constant (``expr``) or a joined source ``tt``."""

    expr: _Frag
    source: str | None = None  # None: constant time; "v_at" / "v_times": variable, joined as tt
    form: str = "in"           # how a membership test is written (see _Leaf.test)

    @property
    def variable(self) -> bool:
        return self.source is not None


@dataclass(frozen=True)
class _Leaf:
    """The keys of ``sql`` hold the condition (or, ``negated``, do not); keys are (subject_id, t)
    when ``variable``, else subject_id."""

    sql: _Frag
    variable: bool
    negated: bool = False

    def test(self, form: str = "in") -> _Frag:
        """``keys IN (set)`` — DuckDB's fastest form (a hash semi join; subject ids are never NULL in
        the view relations, so NOT IN stays two-valued) — or, ``form="exists"``, ``EXISTS (SELECT 1
        FROM (set) g WHERE g.subject_id = a.subject_id)``: a plain hash semi/anti join in Spark
        (whose NOT IN is a null-aware nested loop) and in warehouses, and no tuple IN (BigQuery)."""
        if form == "exists":
            on = "g.subject_id = a.subject_id" + (" AND g.t = a.t" if self.variable else "")
            body = (_f("EXISTS (\n") + _indent(_f("SELECT 1 FROM (\n") + _indent(self.sql) + f"\n) AS g WHERE {on}")
                    + "\n)")
        else:
            keys = "(a.subject_id, a.t)" if self.variable else "a.subject_id"
            body = _f(f"{keys} IN (\n") + _indent(self.sql) + "\n)"
        return _f("NOT ") + body if self.negated else body

    def flip(self) -> "_Leaf":
        return _Leaf(self.sql, self.variable, not self.negated)


# --------------------------------------------------------------------------- entry points


def compile_at(rule: Rule, schema: ViewSchema, as_of: Any,
               registry: Mapping[str, Rule] | None = None, form: str = "in") -> Compiled:
    """``subject_id, t`` of every subject of ``v_subjects`` in the rule at one time."""
    validate(rule, schema, registry)
    t = _Time(_ts_param(_utc(as_of)), form=form)
    expr = _rule_expr(rule, schema, registry or {}, t, outer=t.expr)
    frag = (_f("SELECT a.subject_id, ") + t.expr + " AS t\nFROM v_subjects a\nWHERE\n") + _indent(expr)
    return Compiled(frag.sql, frag.params)


def compile_pairs(rule: Rule, schema: ViewSchema, source: str = "v_at",
                  registry: Mapping[str, Rule] | None = None, form: str = "in") -> Compiled:
    """``subject_id, t`` pairs at which the rule holds, over ``v_at`` (per-subject points) or
    ``v_times`` (the same times for every subject of ``v_subjects``)."""
    if source not in ("v_at", "v_times"):
        raise ValueError(f"source must be v_at or v_times, got {source!r}")
    validate(rule, schema, registry)
    registry = registry or {}
    t = _Time(_f("tt.t"), source, form)
    parts = _top_items(rule, schema, registry, t)
    driver = next((p for p in parts if isinstance(p, _Leaf) and p.variable and not p.negated), None)
    if driver is not None:
        # The first positive condition's own pairs are the candidates: no subjects x times product.
        parts = [p for p in parts if p is not driver]
        frm = _f("(\n") + _indent(_f("SELECT DISTINCT * FROM (\n") + _indent(driver.sql) + "\n) AS d") + "\n) AS a"
    elif source == "v_at":
        frm = _f("v_at a")
    else:
        frm = _f("(SELECT s.subject_id, tt.t FROM v_subjects s CROSS JOIN v_times tt) AS a")
    sql = _f("SELECT a.subject_id, a.t\nFROM ") + frm
    if parts:
        conds = [p.test(form) if isinstance(p, _Leaf) else p for p in parts]
        sql = sql + "\nWHERE\n" + _indent(_join(conds, "\nAND "))
    return Compiled(sql.sql, sql.params)


def _utc(ts: Any) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


# --------------------------------------------------------------------------- rule structure


def _top_items(rule: Rule, schema: ViewSchema, reg: Mapping[str, Rule], t: _Time) -> list:
    """The conjuncts of the rule's top level (leaves kept as leaves so one can drive the query)."""
    if rule.list_type == "static":
        return [_rule_expr(rule, schema, reg, t, outer=_f("a.t"))]
    root = rule.root
    items = root.items if isinstance(root, All) else (root,)
    return [_node(c, schema, reg, t) for c in items]


def _rule_expr(rule: Rule, schema: ViewSchema, reg: Mapping[str, Rule], t: _Time, outer: _Frag) -> _Frag:
    """Active rules at the evaluation time; a static list at its frozen time, from then on."""
    if rule.list_type != "static":
        return _as_expr(_node(rule.root, schema, reg, t), t.form)
    frozen = _Time(_ts_param(rule.frozen_at), form=t.form)
    inner = _as_expr(_node(rule.root, schema, reg, frozen), t.form)
    return outer + " >= " + frozen.expr + "\nAND " + inner


def _as_expr(x: "_Leaf | _Frag", form: str) -> _Frag:
    return x.test(form) if isinstance(x, _Leaf) else x


def _node(c: Condition, schema: ViewSchema, reg: Mapping[str, Rule], t: _Time) -> "_Leaf | _Frag":
    if isinstance(c, (All, Any_)):
        if len(c.items) == 1:
            return _node(c.items[0], schema, reg, t)
        op = "\nAND " if isinstance(c, All) else "\nOR "
        body = _join((_as_expr(_node(i, schema, reg, t), t.form) for i in c.items), op)
        return _f("(\n") + _indent(body) + "\n)"
    if isinstance(c, Not):
        inner = _node(c.item, schema, reg, t)
        return inner.flip() if isinstance(inner, _Leaf) else _f("NOT (\n") + _indent(inner) + "\n)"
    if isinstance(c, InSegment):
        ref = resolve_segment(c.name, reg)
        return _f("(\n") + _indent(_rule_expr(ref, schema, reg, t, outer=_outer_t(t))) + "\n)"
    if isinstance(c, FieldCond):
        return _field(c, schema, t)
    if isinstance(c, EventCond):
        return _event(c, t)
    if isinstance(c, Sequence):
        return _sequence(c, t)
    if isinstance(c, Trait):
        return _trait(c, t)
    if isinstance(c, AccountCond):
        return _account(c, t)
    raise RuleError("$", f"cannot compile {c!r}")


def _outer_t(t: _Time) -> _Frag:
    """The evaluation time as the outer query sees it (for a nested static list's ``t >= frozen``)."""
    return _f("a.t") if t.variable else t.expr


# --------------------------------------------------------------------------- building blocks


def _keys(x: str, t: _Time) -> str:
    return f"{x}.subject_id, tt.t" if t.variable else f"{x}.subject_id"


def _seen(x: str, t: _Time, seconds: int | None) -> list[_Frag]:
    """The event counts at t: it happened, the view has seen it, and it is inside the window.

    Against a joined time source the window's two bounds on ``ts`` come first: a range join over
    the times of ``v_times`` (DuckDB's IEJoin) bands on the first two inequalities, and ``ts <=
    t < ts + w`` is a narrow band where ``visible_at <= t AND ts <= t`` pairs each event with every
    later time (9x the CPU at 500 times on the 20k world)."""
    happened, seen = _f(f"{x}.ts <= ") + t.expr, _f(f"{x}.visible_at <= ") + t.expr
    if seconds is None:
        return [seen, happened]
    window = _f(f"{x}.ts > ") + t.expr + f" - {_interval(seconds)}"
    return [happened, window, seen] if t.variable else [seen, happened, window]


def _filters(x: str, spec: EventSpec) -> list[_Frag]:
    conds = [_f(f"{x}.event_type = ?", spec.event)]
    w = spec.where
    if w.pages:
        conds.append(_in_list(f"{x}.page", w.pages))
    if w.channels:
        conds.append(_in_list(f"{x}.channel", w.channels))
    for op, v in w.value:
        conds.append(_f(f"{x}.value {_SQL_OPS[op]} ?", float(v)))
    return conds


def _from(table: str, x: str, t: _Time, time_conds: list[_Frag], subject: str | None = None) -> _Frag:
    """``table x`` joined to the time source (when variable) on the time conditions."""
    if not t.variable:
        return _f(f"{table} {x}")
    on = list(time_conds)
    if t.source == "v_at":
        on.insert(0, _f(f"tt.subject_id = {subject or x + '.subject_id'}"))
    return _f(f"{table} {x}\nJOIN {t.source} tt ON ") + _join(on, " AND ")


def _select(keys: str, frm: _Frag, where: list[_Frag], group: bool = False, having: _Frag | None = None) -> _Frag:
    sql = _f(f"SELECT {keys}\nFROM ") + frm
    if where:
        sql = sql + "\nWHERE " + _join(where, "\n  AND ")
    if group:
        sql = sql + f"\nGROUP BY {keys}"
    if having is not None:
        sql = sql + "\nHAVING " + having
    return sql


def _event_set(spec: EventSpec, t: _Time, seconds: int | None, extra: list[_Frag] = (),
               having: _Frag | None = None) -> _Frag:
    """Keys with matching events seen by t (optionally grouped with a HAVING)."""
    seen = _seen("e", t, seconds)
    frm = _from("v_events", "e", t, seen)
    where = _filters("e", spec) + ([] if t.variable else seen) + list(extra)
    return _select(_keys("e", t), frm, where, group=having is not None, having=having)


def _compare(agg: str, op: str, value: float, build, variable: bool) -> _Leaf:
    """``agg op value`` over a subject's matching events, where no events means ``agg`` = 0.

    ``build(having)`` gives the leaf's set query (``having`` None: plain existence)."""
    test = _f(f"{agg} {_SQL_OPS[op]} ?", value)
    if (agg, op, value) in (("count(*)", "gte", 1), ("count(*)", "gt", 0)):
        return _Leaf(build(None), variable)
    if _PY_OPS[op](0, value):
        return _Leaf(build(_f("NOT (") + test + ")"), variable, negated=True)
    return _Leaf(build(test), variable)


# --------------------------------------------------------------------------- conditions


def _event(c: EventCond, t: _Time) -> _Leaf:
    extra = []
    if c.between is not None:
        extra = [_f("e.ts >= ") + _ts_param(c.between[0]), _f("e.ts < ") + _ts_param(c.between[1])]
    seconds = c.within.seconds if c.within else None
    build = lambda having: _event_set(c.spec, t, seconds, extra, having)  # noqa: E731
    return _compare("count(*)", c.count_op, c.count, build, t.variable)


def _sequence(c: Sequence, t: _Time) -> _Leaf:
    within = _interval(c.within.seconds)
    seen1 = _seen("e1", t, c.lookback.seconds)
    then = _filters("e2", c.then) + [_f("e2.visible_at <= ") + t.expr, _f("e2.ts <= ") + t.expr,
                                     _f("e2.ts > e1.ts"), _f(f"e2.ts <= e1.ts + {within}")]
    first = _filters("e1", c.first) + ([] if t.variable else seen1)
    if not c.negated:
        frm = _from("v_events", "e1", t, seen1) + "\nJOIN v_events e2 ON e2.subject_id = e1.subject_id"
        return _Leaf(_select(_keys("e1", t), frm, first + then), t.variable)
    # A's deadline has passed and no B arrived before it: an anti-join (no correlated subquery).
    first.append(_f("e1.ts <= ") + t.expr + f" - {within}")
    on = _join([_f("e2.subject_id = e1.subject_id")] + then, "\n  AND ")
    frm = _from("v_events", "e1", t, seen1) + "\nLEFT JOIN v_events e2 ON " + on
    return _Leaf(_select(_keys("e1", t), frm, first + [_f("e2.subject_id IS NULL")]), t.variable)


def _trait(c: Trait, t: _Time) -> "_Leaf | _Frag":
    if c.kind == "count":
        build = lambda having: _event_set(c.spec, t, c.days * 86400, (), having)  # noqa: E731
        return _compare("count(*)", c.op, c.value, build, t.variable)
    if c.kind == "total_value":
        secs = c.days * 86400 if c.days else None
        build = lambda having: _event_set(c.spec, t, secs, (), having)  # noqa: E731
        return _compare("COALESCE(sum(e.value), 0)", c.op, float(c.value), build, t.variable)
    if c.kind == "days_since_last":
        having = _days_since(c.op, c.value, t)
        if having is None:
            return _f("FALSE")
        return _Leaf(_event_set(c.spec, t, None, (), having if having.sql else None), t.variable)
    if c.kind == "first_time":
        having = _f("min(e.ts) > ") + t.expr + f" - {_interval(c.within.seconds)}"
        return _Leaf(_event_set(c.spec, t, None, (), having), t.variable)
    if c.kind == "stopped":
        w, b = c.within.seconds, c.before.seconds
        earlier = _Leaf(_event_set(c.spec, t, w + b, [_f("e.ts <= ") + t.expr + f" - {_interval(w)}"]), t.variable)
        recent = _Leaf(_event_set(c.spec, t, w), t.variable, negated=True)
        return earlier.test(t.form) + "\nAND " + recent.test(t.form)
    raise RuleError("$", f"cannot compile trait {c.kind!r}")


def _days_since(op: str, value: float, t: _Time) -> _Frag | None:
    """HAVING on ``max(e.ts)`` for "whole days since the latest event ``op`` value".

    k = floor((t - last) / 1 day) >= 0; k >= L  <=>  last <= t - L days; k <= U  <=>  last > t -
    (U + 1) days. Returns None when nothing can match, an empty fragment when any event matches.
    """
    v = float(value)
    whole = v == math.floor(v)
    ranges: list[tuple[int | None, int | None]]  # (L, U) integer bounds on k, None = unbounded
    if op == "gte":
        ranges = [(math.ceil(v), None)]
    elif op == "gt":
        ranges = [(math.floor(v) + 1, None)]
    elif op == "lte":
        ranges = [(None, math.floor(v))]
    elif op == "lt":
        ranges = [(None, math.ceil(v) - 1)]
    elif op == "eq":
        ranges = [(int(v), int(v))] if whole else []
    else:  # neq
        ranges = [(None, int(v) - 1), (int(v) + 1, None)] if whole else [(None, None)]
    parts = []
    for lo, hi in ranges:
        lo = None if lo is not None and lo <= 0 else lo
        if hi is not None and hi < 0:
            continue
        conds = []
        if lo is not None:
            conds.append(_f("max(e.ts) <= ") + t.expr + f" - {_interval(lo * 86400)}")
        if hi is not None:
            conds.append(_f("max(e.ts) > ") + t.expr + f" - {_interval((hi + 1) * 86400)}")
        if not conds:
            return _f("")
        parts.append(_f("(") + _join(conds, " AND ") + ")")
    if not parts:
        return None
    return _join(parts, " OR ")


def _account(c: AccountCond, t: _Time) -> _Leaf:
    """Distinct people of the subject's account with a matching event in the window.

    Counted once per (account, time) and joined back to the account's subjects, so a committee of
    ten costs one count, not ten.
    """
    seen = _seen("e", t, c.within.seconds)
    having = _f("count(DISTINCT m.subject_id) >= ?", c.min_people)
    frm = _f("v_subjects m\nJOIN v_events e ON e.subject_id = m.subject_id")
    where = _filters("e", c.spec)
    if not t.variable:
        counted = _select("m.account_id", frm, where + seen, group=True, having=having)
        body = _f("SELECT s.subject_id\nFROM v_subjects s\nJOIN (\n") + _indent(counted) + "\n) g ON g.account_id = s.account_id"
        return _Leaf(body, False)
    if t.source == "v_at":
        # the accounts' own evaluation points: every point of any of their subjects
        points = _f("(SELECT DISTINCT s2.account_id, p.t FROM v_subjects s2 JOIN v_at p ON p.subject_id = s2.subject_id)")
        frm = frm + "\nJOIN " + points + " tt ON tt.account_id = m.account_id AND " + _join(seen, " AND ")
        tail = "\nJOIN v_at tt ON tt.subject_id = s.subject_id AND tt.t = g.t"
    else:
        frm = frm + "\nJOIN v_times tt ON " + _join(seen, " AND ")
        tail = ""
    counted = _select("m.account_id, tt.t", frm, where, group=True, having=having)
    body = (_f("SELECT s.subject_id, g.t\nFROM v_subjects s\nJOIN (\n") + _indent(counted)
            + "\n) g ON g.account_id = s.account_id" + tail)
    return _Leaf(body, True)


def _field(c: FieldCond, schema: ViewSchema, t: _Time) -> _Leaf:
    ftype = schema.fields[c.field]
    col = _field_value_col(ftype)
    live = [_f("f.valid_from <= ") + t.expr, _f("(f.valid_to IS NULL OR f.valid_to > ") + t.expr + ")"]
    frm = _from("v_fields", "f", t, live)
    where = [_f("f.field = ?", c.field)] + ([] if t.variable else live)
    ctx = _Ctx(schema, {}, t.expr)
    if c.op == "is_not_set":
        where.append(_f(f"{col} IS NOT NULL"))
        return _Leaf(_select(_keys("f", t), frm, where), t.variable, negated=True)
    where.append(_field_test(c, col, ftype, ctx))
    return _Leaf(_select(_keys("f", t), frm, where), t.variable)


__all__ = ["SOURCES", "compile_at", "compile_pairs"]
