"""One self-contained query per rule, in the SQL dialect of the warehouse that will run it.

The engine's SQL is written in DuckDB's dialect: the view relations over the world's tables
(:mod:`core.engine.viewsql`) and the rule as grouped set queries (:mod:`core.engine.setcompile`).
:func:`portable_sql` puts them together — the relations the rule reads become CTEs, the rule
follows — and transpiles the whole query with sqlglot, the maintained SQL parser/transpiler
(https://sqlglot.com/sqlglot.html, "Transpile"), to DuckDB, Spark SQL, Databricks, BigQuery,
Snowflake or Postgres. The text runs unchanged on tables with the documented layout
(docs/ARCHITECTURE.md, "World tables").

Values a user wrote (event types, pages, field values, the as-of time) are bound parameters in
the engine. For an exported text they must become literals: each ``?`` is turned into a named
placeholder, the query is parsed, and every placeholder is replaced by a sqlglot literal node, so
the target dialect's generator quotes and escapes it — never string pasting. Without ``as_of`` the
query evaluates at the warehouse's ``CURRENT_TIMESTAMP``.

:func:`dialect_sql` is the same translation with the parameters left bound, for an engine (Spark)
that takes named parameters.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import sqlglot
from sqlglot import exp

from core.errors import UserError
from core.engine.dialects import DIALECTS
from core.engine.rules import FieldCond, Rule, iter_conditions, parse_rule, resolve_segment
from core.engine.schema import ViewSchema
from core.engine.setcompile import compile_at
from core.engine.viewsql import CRM_EVENT_TYPES, RELATIONS, VIEWS, Layout, relation_ctes, with_clause

#: The documented world layout (docs/ARCHITECTURE.md): events carry crm_received_at, crm_identify_email and person_id.
DOCUMENTED = Layout(crm_received=True, has_person=True, crm_identify=True)
_NOW = "1900-01-01T00:00:00.000001+00:00"  # stands in for CURRENT_TIMESTAMP until the tree is built


def portable_sql(rule: Rule | dict | str, view: str, dialect: str, as_of: Any = None,
                 registry: Mapping[str, Rule] | None = None, *, schema: ViewSchema | None = None,
                 layout: Layout = DOCUMENTED, pretty: bool = True) -> str:
    """The rule's members at ``as_of`` on ``view``, as one query in ``dialect``.

    ``schema`` (from an engine on a world) checks field names against the world; without it every
    field the rule names is accepted with the type the engine gives that name.
    """
    tree, params = _tree(rule, view, dialect, as_of, registry, schema, layout)
    values = {name: _literal(value) for name, value in params.items()}
    tree = tree.transform(lambda node: _fill(node, values))
    return tree.sql(dialect=dialect, pretty=pretty)


def dialect_sql(sql: str, params: tuple, dialect: str) -> tuple[str, dict[str, Any]]:
    """DuckDB-dialect ``sql`` with ``?`` parameters, in ``dialect`` with named ``:pN`` parameters."""
    named, names = _name_placeholders(sql)
    tree = sqlglot.parse_one(named, read="duckdb")
    return tree.sql(dialect=dialect), dict(zip(names, params))


def query_duckdb_sql(rule: Rule, view: str, as_of: Any, registry: Mapping[str, Rule] | None,
                     schema: ViewSchema, layout: Layout) -> tuple[str, tuple]:
    """The whole query in DuckDB's dialect with ``?`` parameters: view CTEs, then the rule."""
    compiled = compile_at(rule, schema, _NOW if as_of is None else as_of, registry, form="exists")
    used = tuple(r for r in RELATIONS if re.search(rf"\b{r}\b", compiled.sql)) or ("v_subjects",)
    ctes = relation_ctes(view, layout, used)
    sql = (with_clause(ctes) + "\nSELECT m.subject_id\nFROM (\n" + compiled.sql
           + "\n) AS m\nORDER BY m.subject_id")
    return sql, compiled.params


def _tree(rule, view, dialect, as_of, registry, schema, layout):
    if dialect not in DIALECTS:
        raise UserError(f"unknown dialect {dialect!r}; accepted: {', '.join(DIALECTS)}")
    if view not in VIEWS:
        raise UserError(f"unknown view {view!r}; accepted: {', '.join(VIEWS)}")
    rule = rule if isinstance(rule, Rule) else parse_rule(rule)
    schema = schema or permissive_schema(rule, view, registry)
    if as_of is not None:
        as_of = _utc(as_of)
    sql, params = query_duckdb_sql(rule, view, as_of, registry, schema, layout)
    named, names = _name_placeholders(sql)
    tree = sqlglot.parse_one(named, read="duckdb")
    values = dict(zip(names, params))
    if as_of is None:
        values = {k: (_CURRENT if v == _NOW else v) for k, v in values.items()}
    return tree, values


class _Current:
    """Marker for the warehouse's current time."""


_CURRENT = _Current()


def permissive_schema(rule: Rule, view: str, registry: Mapping[str, Rule] | None = None) -> ViewSchema:
    """A schema that knows every field the rule (and the segments it uses) names."""
    from core.engine.views import field_type

    names: set[str] = set()
    stack, seen = [rule], set()
    while stack:
        r = stack.pop()
        for c in iter_conditions(r.root):
            if isinstance(c, FieldCond):
                names.add(c.field)
            elif type(c).__name__ == "InSegment" and c.name not in seen and registry and c.name in registry:
                seen.add(c.name)
                stack.append(resolve_segment(c.name, registry))
    kw = {"event_types": CRM_EVENT_TYPES} if view == "crm" else {}
    return ViewSchema(name=view, fields={n: field_type(n) for n in names}, has_events=True, has_accounts=True, **kw)


def _name_placeholders(sql: str) -> tuple[str, list[str]]:
    """``?`` outside string literals -> ``:p0``, ``:p1`` … (order kept by name, not by position)."""
    out, names, in_str = [], [], False
    for ch in sql:
        if ch == "'":
            in_str = not in_str
        if ch == "?" and not in_str:
            names.append(f"p{len(names)}")
            out.append(":" + names[-1])
        else:
            out.append(ch)
    return "".join(out), names


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, _Current):
        return exp.CurrentTimestamp()
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UserError(f"cannot export the number {value!r} as SQL; use a finite number")
        return exp.Literal.number(repr(value))
    return exp.Literal.string(str(value))


def _fill(node: exp.Expression, values: dict[str, exp.Expression]) -> exp.Expression:
    if isinstance(node, exp.Placeholder) and node.name in values:
        return values[node.name].copy()
    return node


def _utc(ts: Any):
    import pandas as pd

    try:
        t = pd.Timestamp(ts)
    except (TypeError, ValueError):
        raise UserError(f"cannot read time {ts!r}; use an ISO time such as 2026-10-15T12:00:00Z") from None
    if t is pd.NaT:
        raise UserError(f"cannot read time {ts!r}; use an ISO time such as 2026-10-15T12:00:00Z")
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


__all__ = ["DIALECTS", "dialect_sql", "permissive_schema", "portable_sql", "query_duckdb_sql"]
