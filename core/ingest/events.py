"""Events file → ``events.parquet`` (usable rows) and rejected rows, in DuckDB, without a Python loop per row.

Pass 1 streams the file once through the mapping expressions and writes only the usable rows
(``COPY … TO events.parquet``); DuckDB's query profile tells how many rows the reader produced.
Only when that is more than the rows written — some rows were unusable — does pass 2 read the file
again to write those rows, with their reason, to the rejected file. Lines DuckDB itself could not
split (short, long, badly encoded) never reach pass 1; they come from its rejects table. So a clean
10-million-row file is read once, and every row read is either kept or accounted for.

``events.parquet`` holds ``ts, event_type, page, value, channel, anonymous_id, user_id, email,
received_at, session_id``; ``received_at`` is NULL where the export did not say when the row was
received (the reader then uses the event time). ``event_id`` is added on load; there is no
``person_id`` (no ground truth in real data).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.errors import DataError
from core.ingest import sqlexpr as X
from core.ingest.limits import Limits
from core.ingest.mapping import ColumnMapping
from core.ingest.reader import append_file, first_line, parser_rejects, relation, sql_string
from core.ingest.safecsv import neutralise_sql
from core.ingest.sniff import Source

EVENT_COLUMNS: tuple[str, ...] = ("ts", "event_type", "page", "value", "channel", "anonymous_id", "user_id",
                                  "email", "received_at", "session_id")
#: Columns of rejected.csv: the file, why, the line (where DuckDB knows it), each mapped field's raw text, the raw line.
REJECT_COLUMNS: tuple[str, ...] = ("file", "reason", "line", "timestamp", "event", "user_id", "anonymous_id", "email",
                                   "session_id", "page", "value", "channel", "received_at", "raw_line")
RAW_FIELDS: tuple[str, ...] = REJECT_COLUMNS[3:-1]


@dataclass(frozen=True)
class EventsResult:
    kept: int
    rejected: dict[str, int]      # reason → rows (DuckDB's reader refused some lines, pass 1/2 the rest)


def _typed(src: Source, mapping: ColumnMapping, name: str) -> tuple[str, str] | None:
    column = mapping.column(name)
    if column is None:
        return None
    i = src.columns.index(column)
    return X.col(i), src.types[i]


def _select(src: Source, mapping: ColumnMapping, keep_pii: bool) -> tuple[str, list]:
    """The projection from ``c*`` columns to world columns, plus the raw-column checks the reasons read."""
    params: list = []
    ref = {f: _typed(src, mapping, f) for f in ("timestamp", "event", "user_id", "anonymous_id", "email",
                                                "session_id", "page", "value", "channel", "received_at")}
    ts = X.timestamp(*ref["timestamp"])
    if mapping.constant_event:
        event, page_from_event = "?", "CAST(NULL AS VARCHAR)"
        params.append(mapping.constant_event)
    else:
        raw_event = X.text(*ref["event"])
        targets = mapping.targets()
        event, p1 = X.case_map(raw_event, [(s, e) for s, e, _ in targets], raw_event)
        page_from_event, p2 = X.case_map(raw_event, [(s, p) for s, _, p in targets if p], "CAST(NULL AS VARCHAR)")
        params += p1 + p2
    page = X.page(*ref["page"]) if ref["page"] else "CAST(NULL AS VARCHAR)"
    user = X.identifier(*ref["user_id"]) if ref["user_id"] else "CAST(NULL AS VARCHAR)"
    anon = X.identifier(*ref["anonymous_id"]) if ref["anonymous_id"] else "CAST(NULL AS VARCHAR)"
    email = X.email(ref["email"][0], keep_pii, ref["email"][1]) if ref["email"] else "CAST(NULL AS VARCHAR)"
    session = X.identifier(*ref["session_id"]) if ref["session_id"] else "CAST(NULL AS VARCHAR)"
    value = X.number(*ref["value"]) if ref["value"] else "CAST(NULL AS DOUBLE)"
    channel = X.identifier(*ref["channel"]) if ref["channel"] else "CAST(NULL AS VARCHAR)"
    received = X.timestamp(*ref["received_at"]) if ref["received_at"] else "CAST(NULL AS TIMESTAMPTZ)"
    # the checks read the raw columns (cheap), not the hashed or mapped outputs: DuckDB pushes the
    # WHERE below this projection and would otherwise compute SHA-256 and the event map twice
    present = [f"NOT {X.missing(ref[f][0], ref[f][1], email=f == 'email')}" for f in ("user_id", "anonymous_id", "email")
               if ref[f]]
    has_id = " OR ".join(present) if present else "false"
    has_event = "true" if mapping.constant_event else f"NULLIF({X.text(*ref['event'])}, '') IS NOT NULL"
    sql = (f"SELECT {ts} AS ts, NULLIF({event}, '') AS event_type, {page} AS _page, {page_from_event} AS _event_page, "
           f"{value} AS value, {channel} AS _channel, {anon} AS anonymous_id, {user} AS _user, {email} AS email, "
           f"{received} AS received_at, {session} AS _session, _shape, ({has_id}) AS _has_id, ({has_event}) AS _has_event")
    return sql, params


def _finish(mapping: ColumnMapping) -> str:
    """World columns from the projected ones: event pages, default channel, PostHog ids, GA4 sessions."""
    user = "CASE WHEN _user = anonymous_id THEN NULL ELSE _user END" if mapping.user_is_anonymous_when_equal else "_user"
    session = ("CASE WHEN _session IS NOT NULL THEN COALESCE(anonymous_id, '') || ':' || _session END"
               if mapping.session_scope == "anonymous_id" else "_session")
    channel = ("COALESCE(_channel, CASE WHEN starts_with(event_type, 'email') THEN 'email' "
               "WHEN event_type = 'ad_click' THEN 'ads' ELSE 'web' END)")
    return (f"SELECT ts, event_type, COALESCE(_event_page, _page) AS page, value, {channel} AS channel, anonymous_id, "
            f"{user} AS user_id, email, received_at, {session} AS session_id, _shape, _has_id, _has_event")


def _reason() -> str:
    return ("CASE WHEN _shape < 0 THEN 'short line' WHEN _shape > 0 THEN 'extra columns' "
            "WHEN ts IS NULL THEN 'unparsable time' "
            f"WHEN NOT {X.in_range('ts')} THEN 'time out of range' "
            "WHEN NOT _has_id THEN 'no identifier' "
            "WHEN NOT _has_event THEN 'no event name' END")


def import_events(con: duckdb.DuckDBPyConnection, src: Source, mapping: ColumnMapping, keep_pii: bool,
                  stage: Path, rejected_body: Path, limits: Limits) -> EventsResult:
    """Write ``stage/events.parquet`` and append rejected rows (CSV, no header) to ``rejected_body``."""
    rel, rel_params = relation(src, "rej_events", limits)
    proj, proj_params = _select(src, mapping, keep_pii)
    rows = f"{_finish(mapping)} FROM ({proj} FROM {rel})"
    params = proj_params + rel_params
    out = stage / "events.parquet"
    profile = stage / ".profile.json"
    con.execute("PRAGMA enable_profiling = 'json'")
    con.execute(f"PRAGMA profiling_output = {sql_string(profile)}")
    try:
        kept = con.execute(
            f"COPY (SELECT {', '.join(EVENT_COLUMNS)} FROM ({rows}) WHERE {_reason()} IS NULL) "
            f"TO {sql_string(out)} (FORMAT parquet)", params).fetchone()[0]
    except duckdb.Error as exc:
        raise DataError(f"cannot read events file {src.path}: {first_line(exc)}") from None
    finally:
        con.execute("PRAGMA disable_profiling")
    produced = src.rows if src.kind == "parquet" else _scanned(profile)
    rejected: dict[str, int] = {}
    if produced is None or produced > kept:
        rejected = _write_rejects(con, src, mapping, keep_pii, rejected_body, limits)
    parser = parser_rejects(con, "rej_events", "events", len(REJECT_COLUMNS), keep_pii, rejected_body) \
        if src.kind == "csv" else {}
    for reason, n in parser.items():
        rejected[reason] = rejected.get(reason, 0) + n
    return EventsResult(kept=int(kept), rejected=rejected)


def _scanned(profile: Path) -> int | None:
    """Rows the CSV reader produced, from DuckDB's JSON query profile (None if it cannot be read)."""
    try:
        tree = json.loads(profile.read_text())
    except (OSError, ValueError):
        return None
    found: list[int] = []

    def walk(node: dict) -> None:
        name = str(node.get("operator_name") or node.get("operator_type") or "")
        if "READ_CSV" in name.upper() and not node.get("extra_info", {}).get("Filters"):
            found.append(int(node.get("operator_cardinality", -1)))
        for child in node.get("children", []):
            walk(child)

    walk(tree)
    profile.unlink(missing_ok=True)
    return found[0] if len(found) == 1 and found[0] >= 0 else None


def _raw(src: Source, mapping: ColumnMapping, name: str, keep_pii: bool) -> str:
    t = _typed(src, mapping, name)
    if t is None:
        return "CAST(NULL AS VARCHAR)"
    if name == "email":
        return X.email(t[0], keep_pii, t[1])
    return neutralise_sql(X.text(*t))


def _write_rejects(con, src: Source, mapping: ColumnMapping, keep_pii: bool, body: Path,
                   limits: Limits) -> dict[str, int]:
    """Pass 2: rows that were read but unusable, with their reason and raw values, appended to ``body``."""
    raw_cols = ", ".join(f"{_raw(src, mapping, f, keep_pii)} AS r_{f}" for f in RAW_FIELDS)
    rel, rel_params = relation(src, "rej_events_pass2", limits)
    proj, proj_params = _select(src, mapping, keep_pii)
    finish = _finish(mapping) + ", " + ", ".join(f"r_{f}" for f in RAW_FIELDS)
    sql = f"SELECT {_reason()} AS reason, * FROM ({finish} FROM ({proj}, {raw_cols} FROM {rel}))"
    part = body.with_suffix(".events.csv")
    try:
        con.execute(f"COPY (SELECT 'events', reason, NULL, {', '.join('r_' + f for f in RAW_FIELDS)}, NULL "
                    f"FROM ({sql}) WHERE reason IS NOT NULL) TO {sql_string(part)} (FORMAT csv, HEADER false)",
                    proj_params + rel_params)
    except duckdb.Error as exc:
        raise DataError(f"cannot read events file {src.path}: {first_line(exc)}") from None
    counts: dict = {}
    if part.exists() and part.stat().st_size:
        spec = "{" + ", ".join(f"'k{i}': 'VARCHAR'" for i in range(len(REJECT_COLUMNS))) + "}"
        counts = dict(con.execute(
            f"SELECT k1, count(*) FROM read_csv(?, columns = {spec}, header = false, auto_detect = false, "
            f"quote = '\"', escape = '\"', delim = ',', max_line_size = ?) GROUP BY 1",
            [str(part), 4 * limits.max_line_bytes]).fetchall())
    append_file(part, body)
    return {str(k): int(v) for k, v in counts.items()}
