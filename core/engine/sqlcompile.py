"""Compile a validated rule to SQL over the view relations (v_subjects, v_events, v_fields, v_at).

Why SQL and not pandas: one compiler then serves the truth, CRM and CDP views, DuckDB decorrelates
the per-(subject, t) subqueries into joins that run over millions of rows, and the SQL itself is a
readable artefact users can take to their warehouse.

Safety: every value a user wrote (event type, page, channel, field name and value, counts, dates)
is a ``?`` parameter. The only things inlined are window lengths, which the parser has already
reduced to integers of seconds, and fixed SQL keywords. ``validate`` runs first, so names have also
been checked against the view's schema.

Each condition compiles to a boolean SQL expression over ``a.subject_id`` and a time expression
(``a.t``, or the frozen time for a static list) that is never NULL, so NOT / AND / OR behave as
two-valued logic.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.errors import RuleError
from core.engine.rules import (
    AccountCond, All, Any_, Condition, EventCond, EventSpec, FieldCond, InSegment, Not, Rule, Sequence, Trait,
    resolve_segment, validate,
)
from core.engine.schema import ViewSchema

IND = "    "
_SQL_OPS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(frozen=True)
class Compiled:
    """SQL text with positional ``?`` placeholders and the values to bind, in order."""

    sql: str
    params: tuple = ()


@dataclass(frozen=True)
class _Frag:
    """A piece of SQL with its own parameters; combining fragments keeps parameters in text order."""

    sql: str
    params: tuple = ()

    def __add__(self, other: "_Frag | str") -> "_Frag":
        if isinstance(other, str):
            return _Frag(self.sql + other, self.params)
        return _Frag(self.sql + other.sql, self.params + other.params)


def _f(sql: str, *params: Any) -> _Frag:
    return _Frag(sql, tuple(params))


def _join(frags: Iterable[_Frag], sep: str) -> _Frag:
    frags = list(frags)
    return _Frag(sep.join(f.sql for f in frags), tuple(p for f in frags for p in f.params))


def _indent(frag: _Frag, level: int = 1) -> _Frag:
    pad = IND * level
    return _Frag("\n".join(pad + line if line else line for line in frag.sql.split("\n")), frag.params)


def _iso(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).tz_convert("UTC").isoformat()


def _ts_param(ts: pd.Timestamp) -> _Frag:
    """Timestamps travel as ISO text with an explicit offset, so the session time zone is moot."""
    return _f("CAST(? AS TIMESTAMPTZ)", _iso(ts))


def _interval(seconds: int) -> str:
    """A window length as an INTERVAL literal.

    Only ever called with integers the parser produced (never user text). Always in seconds:
    a '1 day' interval on TIMESTAMPTZ follows the session's calendar and can be 23 or 25 hours
    across a DST change, while windows here are exact lengths.
    """
    return f"INTERVAL '{int(seconds)} seconds'"


@dataclass(frozen=True)
class _Ctx:
    """What a leaf needs: the schema, the registry, and the time expression it is evaluated at."""

    schema: ViewSchema
    registry: Mapping[str, Rule]
    t: _Frag


# --------------------------------------------------------------------------- membership


def compile_membership(rule: Rule, schema: ViewSchema,
                       registry: Mapping[str, Rule] | None = None) -> Compiled:
    """SQL selecting ``subject_id, t`` from ``v_at a`` for every row at which ``rule`` holds."""
    validate(rule, schema, registry)
    ctx = _Ctx(schema, registry or {}, _f("a.t"))
    expr = _rule_expr(rule, ctx)
    frag = _f("SELECT a.subject_id, a.t\nFROM v_at a\nWHERE\n") + _indent(expr)
    return Compiled(frag.sql, frag.params)


def _rule_expr(rule: Rule, ctx: _Ctx) -> _Frag:
    """Active rules evaluate at the row's time; static lists at their frozen time, from then on."""
    if rule.list_type != "static":
        return _cond(rule.root, ctx)
    frozen = _ts_param(rule.frozen_at)
    inner = _cond(rule.root, _Ctx(ctx.schema, ctx.registry, frozen))
    return ctx.t + " >= " + frozen + "\nAND " + inner


def _cond(c: Condition, ctx: _Ctx) -> _Frag:
    if isinstance(c, (All, Any_)):
        if len(c.items) == 1:
            return _cond(c.items[0], ctx)
        op = "\nAND " if isinstance(c, All) else "\nOR "
        body = _join((_cond(i, ctx) for i in c.items), op)
        return _f("(\n") + _indent(body) + "\n)"
    if isinstance(c, Not):
        return _f("NOT (\n") + _indent(_cond(c.item, ctx)) + "\n)"
    if isinstance(c, FieldCond):
        return _field(c, ctx)
    if isinstance(c, EventCond):
        return _event(c, ctx)
    if isinstance(c, Sequence):
        return _sequence(c, ctx)
    if isinstance(c, Trait):
        return _trait(c, ctx)
    if isinstance(c, AccountCond):
        return _account(c, ctx)
    if isinstance(c, InSegment):
        ref = resolve_segment(c.name, ctx.registry)
        return _f(f"-- in segment: {_comment(c.name)}\n(\n") + _indent(_rule_expr(ref, ctx)) + "\n)"
    raise RuleError("$", f"cannot compile {c!r}")


def _comment(text: str) -> str:
    """A segment name in an SQL comment: one line, no quotes or placeholders (display only)."""
    return re.sub(r"[^A-Za-z0-9 _.,()-]", "_", " ".join(str(text).split()))


# --------------------------------------------------------------------------- fields

def _field_value_col(ftype: str) -> str:
    """Which v_fields column holds the value for a field type.

    Booleans may arrive as a number (1/0) or as text ('true'/'false'); both are accepted.
    """
    return {
        "text": "f.value_text",
        "number": "f.value_num",
        "date": "f.value_ts",
        "bool": "COALESCE(f.value_num <> 0, lower(f.value_text) IN ('true', 't', '1', 'yes'))",
    }[ftype]


def _field(c: FieldCond, ctx: _Ctx) -> _Frag:
    ftype = ctx.schema.fields[c.field]
    col = _field_value_col(ftype)
    conds = [
        _f("f.field = ?", c.field),
        _f("f.subject_id = a.subject_id"),
        _f("f.valid_from <= ") + ctx.t,
        _f("(f.valid_to IS NULL OR f.valid_to > ") + ctx.t + ")",
    ]
    negate = c.op == "is_not_set"
    conds.append(_field_test(c, col, ftype, ctx))
    sub = _exists(_f("v_fields f"), conds)
    return _f("NOT ") + sub if negate else sub


def _bind(ftype: str, v: Any) -> _Frag:
    if ftype == "date":
        return _ts_param(pd.Timestamp(v).tz_localize("UTC") if pd.Timestamp(v).tzinfo is None
                         else pd.Timestamp(v))
    if ftype == "number":
        return _f("?", float(v))
    return _f("?", v)


def _field_test(c: FieldCond, col: str, ftype: str, ctx: _Ctx) -> _Frag:
    """The value test inside the EXISTS; neq / not_in also require the value to be set."""
    op, v = c.op, c.value
    if op in ("is_set", "is_not_set"):
        return _f(f"{col} IS NOT NULL")
    if op in _SQL_OPS:
        return _f(f"{col} {_SQL_OPS[op]} ") + _bind(ftype, v)
    if op in ("in", "not_in"):
        items = _join((_bind(ftype, x) for x in v), ", ")
        return _f(f"{col} {'IN' if op == 'in' else 'NOT IN'} (") + items + ")"
    if op == "contains":
        return _f(f"strpos(lower({col}), lower(?)) > 0", v)
    if op == "before":
        return _f(f"{col} < ") + _bind("date", v)
    if op == "after":
        return _f(f"{col} > ") + _bind("date", v)
    if op == "within_last_days":
        return (_f(f"{col} > ") + ctx.t + f" - {_interval(int(v) * 86400)}"
                + f"\nAND {col} <= " + ctx.t)
    raise RuleError("$", f"cannot compile field op {op!r}")


# --------------------------------------------------------------------------- events


def _where(conds: list[_Frag]) -> _Frag:
    """``WHERE a\n  AND b``, with a multi-line condition's later lines aligned under its AND."""
    hang = [_Frag(c.sql.replace("\n", "\n  "), c.params) for c in conds]
    return _f("\nWHERE ") + _join(hang, "\n  AND ")


def _account(c: AccountCond, ctx: _Ctx) -> _Frag:
    """Distinct people of the subject's account with a matching event in the window."""
    conds = [_f("s.subject_id = a.subject_id")] + _spec_filters("e", c.spec, correlate="m.subject_id")[:1]
    conds += _seen("e", ctx) + [_window("e", c.within.seconds, ctx)] + _spec_filters("e", c.spec)[2:]
    source = _f("v_subjects s\nJOIN v_subjects m ON m.account_id = s.account_id\n"
                "JOIN v_events e ON e.subject_id = m.subject_id")
    return _scalar(source, conds, "count(DISTINCT m.subject_id)") + _f(" >= ?", c.min_people)


def _exists(source: _Frag, conds: list[_Frag], select: str = "1") -> _Frag:
    body = _f(f"SELECT {select}\nFROM ") + source + _where(conds)
    return _f("EXISTS (\n") + _indent(body) + "\n)"


def _scalar(source: _Frag, conds: list[_Frag], select: str) -> _Frag:
    body = _f(f"SELECT {select}\nFROM ") + source + _where(conds)
    return _f("(\n") + _indent(body) + "\n)"


def _in_list(col: str, values: tuple[str, ...]) -> _Frag:
    if len(values) == 1:
        return _f(f"{col} = ?", values[0])
    return _f(f"{col} IN ({', '.join('?' for _ in values)})", *values)


def _spec_filters(x: str, spec: EventSpec, correlate: str = "a.subject_id") -> list[_Frag]:
    """Event type first (the selective filter), then the subject, then the where-filters."""
    conds = [_f(f"{x}.event_type = ?", spec.event), _f(f"{x}.subject_id = {correlate}")]
    w = spec.where
    if w.pages:
        conds.append(_in_list(f"{x}.page", w.pages))
    if w.channels:
        conds.append(_in_list(f"{x}.channel", w.channels))
    for op, v in w.value:
        conds.append(_f(f"{x}.value {_SQL_OPS[op]} ?", float(v)))
    return conds


def _seen(x: str, ctx: _Ctx) -> list[_Frag]:
    """An event counts at t only once it happened and the view has seen it."""
    return [_f(f"{x}.visible_at <= ") + ctx.t, _f(f"{x}.ts <= ") + ctx.t]


def _window(x: str, seconds: int, ctx: _Ctx) -> _Frag:
    """Half-open (t - w, t]: the upper bound comes from ``_seen``."""
    return _f(f"{x}.ts > ") + ctx.t + f" - {_interval(seconds)}"


def _event_conds(spec: EventSpec, ctx: _Ctx, seconds: int | None, x: str = "e") -> list[_Frag]:
    conds = _spec_filters(x, spec)
    conds[2:2] = _seen(x, ctx)
    if seconds is not None:
        conds.insert(4, _window(x, seconds, ctx))
    return conds


def _event(c: EventCond, ctx: _Ctx) -> _Frag:
    conds = _event_conds(c.spec, ctx, c.within.seconds if c.within else None)
    if c.between is not None:
        conds.append(_f("e.ts >= ") + _ts_param(c.between[0]))
        conds.append(_f("e.ts < ") + _ts_param(c.between[1]))
    source = _f("v_events e")
    if (c.count_op, c.count) in (("gte", 1), ("gt", 0)):
        return _exists(source, conds)
    if (c.count_op, c.count) in (("eq", 0), ("lt", 1), ("lte", 0)):
        return _f("NOT ") + _exists(source, conds)
    # count(*) of an empty set is 0, so "at most N" keeps subjects with no events at all.
    return _scalar(source, conds, "count(*)") + f" {_SQL_OPS[c.count_op]} " + _f("?", c.count)


def _sequence(c: Sequence, ctx: _Ctx) -> _Frag:
    within = _interval(c.within.seconds)
    first = _spec_filters("e1", c.first) + _seen("e1", ctx) + [
        _window("e1", c.lookback.seconds, ctx)]
    then = _spec_filters("e2", c.then, correlate="e1.subject_id") + [
        _f("e2.visible_at <= ") + ctx.t,
        _f("e2.ts <= ") + ctx.t,
        _f("e2.ts > e1.ts"),
        _f(f"e2.ts <= e1.ts + {within}"),
    ]
    if not c.negated:
        # A join rather than a nested EXISTS: DuckDB decorrelates it into one hash join.
        return _exists(_f("v_events e1\nJOIN v_events e2 ON e2.subject_id = e1.subject_id"),
                       first + then[:1] + then[2:])
    # Cart abandonment: A's deadline has passed (A.ts + d <= t) and no B arrived before it.
    first.append(_f("e1.ts <= ") + ctx.t + f" - {within}")
    first.append(_f("NOT ") + _exists(_f("v_events e2"), then))
    return _exists(_f("v_events e1"), first)


def _trait(c: Trait, ctx: _Ctx) -> _Frag:
    src = _f("v_events e")
    if c.kind == "days_since_last":
        # Whole days elapsed since the latest seen event; never performed -> NULL -> no match.
        last = _scalar(src, _event_conds(c.spec, ctx, None), "max(e.ts)")
        days = _f("floor(EXTRACT(EPOCH FROM (") + ctx.t + " - " + last + ")) / 86400)"
        return _f("COALESCE(") + days + f" {_SQL_OPS[c.op]} " + _f("?", c.value) + ", FALSE)"
    if c.kind == "count":
        n = _scalar(src, _event_conds(c.spec, ctx, c.days * 86400), "count(*)")
        return n + f" {_SQL_OPS[c.op]} " + _f("?", c.value)
    if c.kind == "total_value":
        secs = c.days * 86400 if c.days else None
        total = _scalar(src, _event_conds(c.spec, ctx, secs), "COALESCE(sum(e.value), 0)")
        return total + f" {_SQL_OPS[c.op]} " + _f("?", float(c.value))
    if c.kind == "first_time":
        first = _scalar(src, _event_conds(c.spec, ctx, None), "min(e.ts)")
        return (_f("COALESCE(") + first + " > " + ctx.t + f" - {_interval(c.within.seconds)}"
                + ", FALSE)")
    if c.kind == "stopped":
        w, b = c.within.seconds, c.before.seconds
        earlier = _event_conds(c.spec, ctx, w + b)
        earlier.append(_f("e.ts <= ") + ctx.t + f" - {_interval(w)}")
        recent = _event_conds(c.spec, ctx, w)
        return _exists(src, earlier) + "\nAND NOT " + _exists(src, recent)
    raise RuleError("$", f"cannot compile trait {c.kind!r}")


# --------------------------------------------------------------------------- change points


def compile_change_points(rule: Rule, schema: ViewSchema, start: Any, end: Any,
                          registry: Mapping[str, Rule] | None = None) -> Compiled:
    """SQL selecting every (subject_id, t) in [start, end] at which membership can change.

    Membership is a step function of t that can only step when an event becomes visible, leaves
    a window, passes a deadline, or a field interval starts or ends. Evaluating
    ``compile_membership`` at these points (plus ``start`` for everyone) therefore gives exact
    entry and exit times without a grid.
    """
    validate(rule, schema, registry)
    start_ts, end_ts = _to_utc(start), _to_utc(end)
    parts = [_f("SELECT subject_id, ") + _ts_param(start_ts) + " AS t\nFROM v_subjects"]
    parts += _rule_points(rule, schema, registry or {}, ())
    union = _join((_indent(p) for p in parts), "\n    UNION ALL\n")
    sql = (_f("SELECT DISTINCT subject_id, t\nFROM (\n") + union + "\n) AS points\nWHERE t >= "
           + _ts_param(start_ts) + " AND t <= " + _ts_param(end_ts))
    return Compiled(sql.sql, sql.params)


def _to_utc(ts: Any) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _rule_points(rule: Rule, schema: ViewSchema, registry: Mapping[str, Rule],
                 seen: tuple[str, ...]) -> list[_Frag]:
    if rule.list_type == "static":
        # Constant after frozen_at, false before it: the freeze is the only step.
        return [_f("SELECT subject_id, ") + _ts_param(rule.frozen_at) + " AS t\nFROM v_subjects"]
    return _points(rule.root, schema, registry, seen + (rule.name,))


def _event_points(spec: EventSpec, offsets: Iterable[str] = (), x: str = "e") -> list[_Frag]:
    """When each matching event becomes countable, and ``ts + offset`` for each offset."""
    filters = _spec_filters(x, spec)
    where = _join(filters[:1] + filters[2:], "\n  AND ")  # every subject: no correlation
    out = [_f(f"SELECT {x}.subject_id, GREATEST({x}.ts, {x}.visible_at) AS t\n"
              f"FROM v_events {x}\nWHERE ") + where]
    for off in offsets:
        out.append(_f(f"SELECT {x}.subject_id, {x}.ts + {off} AS t\nFROM v_events {x}\nWHERE ")
                   + where)
    return out


def _points(c: Condition, schema: ViewSchema, registry: Mapping[str, Rule],
            seen: tuple[str, ...]) -> list[_Frag]:
    if isinstance(c, (All, Any_)):
        return [p for i in c.items for p in _points(i, schema, registry, seen)]
    if isinstance(c, Not):
        return _points(c.item, schema, registry, seen)
    if isinstance(c, InSegment):
        if c.name in seen:
            return []
        return _rule_points(resolve_segment(c.name, registry), schema, registry, seen)
    if isinstance(c, FieldCond):
        return _field_points(c, schema)
    if isinstance(c, EventCond):
        return _event_points(c.spec, [_interval(c.within.seconds)] if c.within else [])
    if isinstance(c, Sequence):
        look = _interval(c.lookback.seconds)
        first = [look, _interval(c.within.seconds)] if c.negated else [look]
        return _event_points(c.first, first) + _event_points(c.then)
    if isinstance(c, Trait):
        return _trait_points(c)
    if isinstance(c, AccountCond):
        return _account_points(c)
    raise RuleError("$", f"cannot compile {c!r}")


def _account_points(c: AccountCond) -> list[_Frag]:
    """Every account mate's matching event (and its exit from the window) is a point for everyone
    at the account."""
    filters = _spec_filters("e", c.spec)
    where = _join(filters[:1] + filters[2:], "\n  AND ")
    src = ("FROM v_events e\nJOIN v_subjects m ON m.subject_id = e.subject_id\n"
           "JOIN v_subjects s ON s.account_id = m.account_id\nWHERE ")
    return [_f("SELECT s.subject_id, GREATEST(e.ts, e.visible_at) AS t\n" + src) + where,
            _f(f"SELECT s.subject_id, e.ts + {_interval(c.within.seconds)} AS t\n" + src) + where]


def _trait_points(c: Trait) -> list[_Frag]:
    if c.kind == "days_since_last":
        # floor(days) steps every whole day; the comparison can only flip at v and v + 1 days.
        v = int(c.value)
        return _event_points(c.spec, [_interval(v * 86400), _interval((v + 1) * 86400)])
    if c.kind in ("count", "total_value"):
        return _event_points(c.spec, [_interval(c.days * 86400)] if c.days else [])
    if c.kind == "first_time":
        return _event_points(c.spec, [_interval(c.within.seconds)])
    w, b = c.within.seconds, c.before.seconds
    return _event_points(c.spec, [_interval(w), _interval(w + b)])


def _field_points(c: FieldCond, schema: ViewSchema) -> list[_Frag]:
    base = "FROM v_fields f\nWHERE f.field = ?"
    out = [_f(f"SELECT f.subject_id, f.valid_from AS t\n{base}", c.field),
           _f(f"SELECT f.subject_id, f.valid_to AS t\n{base}\n  AND f.valid_to IS NOT NULL",
              c.field)]
    if c.op == "within_last_days" and schema.fields[c.field] == "date":
        out.append(_f(f"SELECT f.subject_id, f.value_ts AS t\n{base}", c.field))
        out.append(_f(f"SELECT f.subject_id, f.value_ts + {_interval(int(c.value) * 86400)} AS t"
                      f"\n{base}", c.field))
    return out


# --------------------------------------------------------------------------- display


def explain_sql(rule: Rule, schema: ViewSchema, registry: Mapping[str, Rule] | None = None) -> str:
    """The membership SQL with parameters inlined as quoted literals — for display only."""
    compiled = compile_membership(rule, schema, registry)
    return inline_params(compiled.sql, compiled.params)


def inline_params(sql: str, params: tuple) -> str:
    """Replace each ``?`` outside string literals with a safely quoted literal."""
    out, it, in_str = [], iter(params), False
    for ch in sql:
        if ch == "'":
            in_str = not in_str
        if ch == "?" and not in_str:
            out.append(_literal(next(it)))
        else:
            out.append(ch)
    return "".join(out)


def _literal(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else f"'{v}'"
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        v = pd.Timestamp(v).isoformat()
    return "'" + str(v).replace("'", "''") + "'"


__all__ = ["Compiled", "compile_change_points", "compile_membership", "explain_sql",
           "inline_params"]
