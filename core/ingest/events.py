"""Events file → ``events.parquet`` (usable rows) and rejected rows, in DuckDB, without a Python loop per row.

Pass 1 streams the file once through the mapping expressions and writes only the usable rows
(``COPY … TO events.parquet``); DuckDB's query profile tells how many rows the reader produced.
Only when that is more than the rows written — some rows were unusable — does pass 2 read the file
again to write those rows, with their reason, to the rejected file. Lines DuckDB itself could not
split (short, long, badly encoded) never reach pass 1; they come from its rejects table. So a clean
10-million-row file is read once, and every row read is either kept or accounted for.

``events.parquet`` holds ``ts, event_type, page, value, channel, anonymous_id, user_id, email,
received_at, session_id`` (and ``emptied``, a bitmask of the values an import emptied because
they were unreadable — 1 value, 2 received_at, 4 quantity, 8 unit price — where such a column is
mapped); ``received_at`` is NULL where the export did not say when the row was
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
from core.ingest.reader import (EMAIL_IN_TEXT, append_file, first_line, lines_relation, parser_rejects, relation,
                                 sql_string)
from core.ingest.safecsv import neutralise_sql
from core.ingest.sniff import Source

EVENT_COLUMNS: tuple[str, ...] = ("ts", "event_type", "page", "value", "channel", "anonymous_id", "user_id",
                                  "email", "received_at", "session_id")
#: Columns of rejected.csv: the file, why, the source line, each mapped field's raw text, the raw line.
REJECT_COLUMNS: tuple[str, ...] = ("file", "reason", "line", "timestamp", "event", "user_id", "anonymous_id", "email",
                                   "session_id", "page", "value", "channel", "received_at", "order_id", "quantity",
                                   "unit_price", "status", "raw_line")
RAW_FIELDS: tuple[str, ...] = REJECT_COLUMNS[3:-1]
#: Fields whose unreadable values are emptied (the row is kept) and counted per column.
COERCED_FIELDS: tuple[str, ...] = ("value", "received_at", "quantity", "unit_price")
#: The reason of a kept row written to rejected.csv because one of its values was emptied.
COERCED_REASON = "kept, unreadable {} emptied"
#: Order statuses that mean the order was cancelled (Olist: ``canceled``; Shopify: ``cancelled``; ``voided``).
CANCEL_STATUSES: tuple[str, ...] = ("canceled", "cancelled", "voided", "void")
#: A cancellation invoice: the UCI Online Retail export's "InvoiceNo … starts with the letter 'c', it
#: indicates a cancellation" (https://archive.ics.uci.edu/dataset/352/online+retail).
CANCEL_PREFIX = r"^[Cc][0-9]+$"
CANCELLATIONS: tuple[str, ...] = ("event", "reject")
STRAY_REASON = "time far from the rest"


@dataclass(frozen=True)
class EventOptions:
    """How rows become events beyond the column mapping (decided by the importer, told by the user)."""

    time_format: str = "auto"          # a timeparse.TIME_FORMATS name or a checked strptime pattern
    timezone: str | None = None        # checked IANA name for times without an offset (None: UTC)
    cancellations: str = "event"       # 'event': order_cancelled events; 'reject': rejected with a reason
    drop_stray: bool = False           # times far outside the bulk of the data are rejected
    decimal_comma: bool = False        # 12,50 is twelve and a half (a semicolon-separated export)


@dataclass(frozen=True)
class EventsResult:
    kept: int                     # rows kept (order lines in an orders import)
    rejected: dict[str, int]      # reason → rows (DuckDB's reader refused some lines, pass 1/2 the rest)
    coerced: dict[str, int]       # field → kept rows whose unreadable value was emptied
    orders: dict[str, int] | None = None   # purchases / cancellations written, in an orders import
    stray: dict | None = None     # rows with times far from the rest: count, bounds, earliest, latest, dropped


def _typed(src: Source, mapping: ColumnMapping, name: str) -> tuple[str, str] | None:
    column = mapping.column(name)
    if column is None:
        return None
    i = src.columns.index(column)
    return X.col(i), src.types[i]


def _select(src: Source, mapping: ColumnMapping, keep_pii: bool, opt: EventOptions) -> tuple[str, list]:
    """The projection from ``c*`` columns to world columns, plus the raw-column checks the reasons read."""
    params: list = []
    ref = {f: _typed(src, mapping, f) for f in RAW_FIELDS}
    orders = ref["order_id"] is not None
    ts = X.timestamp(*ref["timestamp"], opt.time_format, opt.timezone)
    if mapping.constant_event or orders:
        event, page_from_event = "?", "CAST(NULL AS VARCHAR)"
        params.append(mapping.constant_event or "purchase")
    else:
        raw_event = X.text(*ref["event"])
        # names compared without case (VIEW, View and view are one name); a name the map does not
        # hold keeps its own spelling. The exact spelling is tried first: most rows match it, and
        # lower() then runs only on the rest
        low = f"lower({raw_event})"
        targets = mapping.targets()
        lowered = list({s.lower(): (s.lower(), e, p) for s, e, p in targets}.values())
        inner, p_in = X.case_map(low, [(s, e) for s, e, _ in lowered], raw_event)
        event, p1 = X.case_map(raw_event, [(s, e) for s, e, _ in targets], inner)
        inner_page, p_in2 = X.case_map(low, [(s, p) for s, _, p in lowered if p], "CAST(NULL AS VARCHAR)")
        page_from_event, p2 = X.case_map(raw_event, [(s, p) for s, _, p in targets if p], inner_page)
        params += p1 + p_in + p2 + p_in2
    none_text, none_num = "CAST(NULL AS VARCHAR)", "CAST(NULL AS DOUBLE)"
    page = X.page(*ref["page"]) if ref["page"] else none_text
    user = X.identifier(*ref["user_id"]) if ref["user_id"] else none_text
    anon = X.identifier(*ref["anonymous_id"]) if ref["anonymous_id"] else none_text
    email = X.email(ref["email"][0], keep_pii, ref["email"][1]) if ref["email"] else none_text
    session = X.identifier(*ref["session_id"]) if ref["session_id"] else none_text
    num = {f: X.number(*ref[f], decimal_comma=opt.decimal_comma) if ref[f] else none_num
           for f in ("value", "quantity", "unit_price")}
    channel = X.identifier(*ref["channel"]) if ref["channel"] else none_text
    received = X.timestamp(*ref["received_at"], opt.time_format, opt.timezone) if ref["received_at"] \
        else "CAST(NULL AS TIMESTAMPTZ)"
    order = X.identifier(*ref["order_id"]) if orders else none_text
    cancel = ["false"]
    if orders:
        cancel.append(f"COALESCE(regexp_matches(trim({X.text(*ref['order_id'])}), '{CANCEL_PREFIX}'), false)")
    if ref["status"]:
        words = "[" + ", ".join(f"'{w}'" for w in CANCEL_STATUSES) + "]"
        cancel.append(f"COALESCE(list_contains({words}, lower(trim({X.text(*ref['status'])}))), false)")
    # the checks read the raw columns (cheap), not the hashed or mapped outputs: DuckDB pushes the
    # WHERE below this projection and would otherwise compute SHA-256 and the event map twice
    present = [f"NOT {X.missing(ref[f][0], ref[f][1], email=f == 'email')}" for f in ("user_id", "anonymous_id", "email")
               if ref[f]]
    has_id = " OR ".join(present) if present else "false"
    has_event = ("true" if mapping.constant_event or orders else f"NULLIF({X.text(*ref['event'])}, '') IS NOT NULL")
    # present raw values; whether they were readable is decided on the parsed columns (_finish), so
    # no value or time is parsed twice
    raw = ", ".join((f"COALESCE({X.text(*ref[f])} <> '', false)" if ref[f] else "false") + f" AS _raw_{f}"
                    for f in COERCED_FIELDS)
    ts_raw = X.text(*ref["timestamp"])
    sql = (f"SELECT {ts} AS ts, NULLIF({event}, '') AS event_type, {page} AS _page, {page_from_event} AS _event_page, "
           f"{num['value']} AS _v_value, {num['quantity']} AS _v_quantity, {num['unit_price']} AS _v_unit_price, "
           f"{channel} AS _channel, {anon} AS anonymous_id, {user} AS _user, {email} AS email, "
           f"{received} AS received_at, {session} AS _session, {order} AS _order, ({' OR '.join(cancel)}) AS _cancel0, "
           f"_shape, ({has_id}) AS _has_id, ({has_event}) AS _has_event, {raw}, "
           # a repeated header is an exact copy of the header line (two exports concatenated)
           f"COALESCE({ts_raw} = ?, false) AS _is_header")
    params.append(mapping.column("timestamp").strip())
    return sql, params


def _finish(mapping: ColumnMapping) -> str:
    """World columns from the projected ones: event pages, default channel, PostHog ids, GA4 sessions."""
    user = "CASE WHEN _user = anonymous_id THEN NULL ELSE _user END" if mapping.user_is_anonymous_when_equal else "_user"
    session = ("CASE WHEN _session IS NOT NULL THEN COALESCE(anonymous_id, '') || ':' || _session END"
               if mapping.session_scope == "anonymous_id" else "_session")
    channel = ("COALESCE(_channel, CASE WHEN starts_with(event_type, 'email') THEN 'email' "
               "WHEN event_type = 'ad_click' THEN 'ads' ELSE 'web' END)")
    if mapping.column("unit_price"):  # a line's value: quantity × unit price (the unit price alone without a quantity)
        value = "(_v_quantity * _v_unit_price)" if mapping.column("quantity") else "_v_unit_price"
    else:
        value = "_v_value"
    cancel = "(_cancel0 OR COALESCE(_v_quantity < 0, false))" if mapping.column("quantity") else "_cancel0"
    bad = ", ".join(f"(_raw_{f} AND {'received_at' if f == 'received_at' else '_v_' + f} IS NULL) AS _bad_{f}"
                    for f in COERCED_FIELDS)
    return (f"SELECT ts, event_type, COALESCE(_event_page, _page) AS page, {value} AS value, {channel} AS channel, "
            f"anonymous_id, {user} AS user_id, email, received_at, {session} AS session_id, _order, {cancel} AS _cancel, "
            f"_shape, _has_id, _has_event, _is_header, {bad}")


def _reason(mapping: ColumnMapping, opt: EventOptions, bounds: tuple | None = None) -> str:
    orders = mapping.column("order_id") is not None
    stray = (f"WHEN ts < TIMESTAMPTZ '{bounds[0].isoformat()}' OR ts > TIMESTAMPTZ '{bounds[1].isoformat()}' "
             f"THEN '{STRAY_REASON}' ") if bounds is not None else ""
    return ("CASE WHEN _shape < 0 THEN 'short line' WHEN _shape > 0 THEN 'extra columns' "
            "WHEN _is_header THEN 'repeated header' "
            "WHEN ts IS NULL THEN 'unparsable time' "
            f"WHEN NOT {X.in_range('ts')} THEN 'time out of range' {stray}"
            "WHEN NOT _has_id THEN 'no identifier' "
            "WHEN NOT _has_event THEN 'no event name' "
            + ("WHEN _order IS NULL THEN 'no order id' " if orders else "")
            + ("WHEN _cancel THEN 'cancelled order' " if orders and opt.cancellations == "reject" else "")
            + "END")


def import_events(con: duckdb.DuckDBPyConnection, src: Source, mapping: ColumnMapping, keep_pii: bool,
                  stage: Path, rejected_body: Path, limits: Limits, opt: EventOptions = EventOptions()) -> EventsResult:
    """Write ``stage/events.parquet`` and append rejected rows (CSV, no header) to ``rejected_body``."""
    rel, rel_params = relation(src, "rej_events", limits)
    proj, proj_params = _select(src, mapping, keep_pii, opt)
    rows = f"{_finish(mapping)} FROM ({proj} FROM {rel})"
    params = proj_params + rel_params
    out = stage / "events.parquet"
    profile = stage / ".profile.json"
    orders = mapping.column("order_id") is not None
    bad_possible = any(mapping.column(f) for f in COERCED_FIELDS)
    # which values were emptied, as a bitmask column (1 value, 2 received_at, 4 quantity, 8 unit_price):
    # counted from the written table, so a clean file with a value column is still read only once
    emptied = (", CAST(" + " + ".join(f"{1 << i} * CAST(_bad_{f} AS INTEGER)" for i, f in enumerate(COERCED_FIELDS))
               + " AS UTINYINT) AS emptied") if bad_possible else ""
    con.execute("PRAGMA enable_profiling = 'json'")
    con.execute(f"PRAGMA profiling_output = {sql_string(profile)}")
    try:
        if orders:  # order lines first (spilling to disk if need be), then one event per order
            con.execute(f"CREATE TEMP TABLE _lines AS SELECT {', '.join(EVENT_COLUMNS)}, _order, _cancel{emptied} "
                        f"FROM ({rows}) WHERE {_reason(mapping, opt)} IS NULL", params)
            kept = -1  # counted once the profile of the read is written
        else:
            kept = con.execute(
                f"COPY (SELECT {', '.join(EVENT_COLUMNS)}{emptied} FROM ({rows}) WHERE {_reason(mapping, opt)} IS NULL) "
                f"TO {sql_string(out)} (FORMAT parquet)", params).fetchone()[0]
    except duckdb.Error as exc:
        raise DataError(f"cannot read events file {src.path}: {first_line(exc)}") from None
    finally:
        con.execute("PRAGMA disable_profiling")
    produced = src.rows if src.kind == "parquet" else _scanned(profile)
    if orders:
        kept = con.execute("SELECT count(*) FROM _lines").fetchone()[0]
    table = "_lines" if orders else f"read_parquet({sql_string(out)})"
    stray = _stray(con, table)
    bad_found = bad_possible and con.execute(f"SELECT count(*) FROM {table} WHERE emptied > 0").fetchone()[0] > 0
    bounds = None
    if stray and opt.drop_stray:
        bounds = stray["bounds"]
        stray["dropped"] = True
        keep = (f"ts >= TIMESTAMPTZ '{bounds[0].isoformat()}' AND ts <= TIMESTAMPTZ '{bounds[1].isoformat()}'")
        if orders:
            con.execute(f"DELETE FROM _lines WHERE NOT ({keep})")
        else:
            tmp = stage / ".events.tmp.parquet"
            con.execute(f"COPY (SELECT * FROM {table} WHERE {keep}) TO {sql_string(tmp)} (FORMAT parquet)")
            tmp.replace(out)
        kept -= stray["rows"]
    order_counts = _write_orders(con, mapping, out) if orders else None
    rejected: dict[str, int] = {}
    coerced: dict[str, int] = {}
    if produced is None or produced > kept or bad_found:
        rejected, coerced = _write_rejects(con, src, mapping, keep_pii, rejected_body, limits, opt, bounds)
    parser = parser_rejects(con, "rej_events", "events", len(REJECT_COLUMNS), keep_pii, rejected_body) \
        if src.kind == "csv" else {}
    for reason, n in parser.items():
        rejected[reason] = rejected.get(reason, 0) + n
    return EventsResult(kept=int(kept), rejected=rejected, coerced=coerced, orders=order_counts, stray=stray)


def _stray(con: duckdb.DuckDBPyConnection, table: str) -> dict | None:
    """Rows whose time lies far outside the bulk of the data (a 1999 row among 2025 data).

    The bulk is the 10th to 90th percentile of the times; "far" is further from it than the bulk's
    own span and more than a year (assumed: a year keeps a seasonal business's quiet months in, and
    a uniform period never loses a row — its bounds then reach 0.7 of the period beyond each end).
    The 10th/90th percentiles hold with one stray row in as few as 20 rows."""
    row = con.execute(f"SELECT count(*), quantile_disc(ts, 0.1), quantile_disc(ts, 0.9) FROM {table}").fetchone()
    if not row[0] or row[0] < 20:
        return None
    import pandas as pd

    p10, p90 = pd.Timestamp(row[1]).tz_convert("UTC"), pd.Timestamp(row[2]).tz_convert("UTC")
    margin = max(p90 - p10, pd.Timedelta(days=365))
    lo, hi = p10 - margin, p90 + margin
    n, first, last = con.execute(f"SELECT count(*), min(ts), max(ts) FROM {table} WHERE ts < ? OR ts > ?",
                                 [lo, hi]).fetchone()
    if not n:
        return None
    return {"rows": int(n), "bounds": (lo, hi), "earliest": pd.Timestamp(first).tz_convert("UTC"),
            "latest": pd.Timestamp(last).tz_convert("UTC"), "dropped": False}


def _write_orders(con: duckdb.DuckDBPyConnection, mapping: ColumnMapping, out: Path) -> dict[str, int]:
    """One event per order (and per cancellation): its first line's time, value Σ quantity × unit price.

    Identifiers and page are the smallest of the order's lines (deterministic); a cancellation's value
    is the cancelled amount (positive)."""
    event = (mapping.constant_event or "purchase").replace("'", "''")
    con.execute(f"""COPY (SELECT min(ts) AS ts, CASE WHEN _cancel THEN 'order_cancelled' ELSE '{event}' END AS event_type,
                          min(page) AS page, CASE WHEN _cancel THEN abs(sum(value)) ELSE sum(value) END AS value,
                          min(channel) AS channel, min(anonymous_id) AS anonymous_id, min(user_id) AS user_id,
                          min(email) AS email, max(received_at) AS received_at, min(session_id) AS session_id
                   FROM _lines GROUP BY _order, _cancel ORDER BY ts, _order, _cancel)
                   TO {sql_string(out)} (FORMAT parquet)""")
    counts = dict(con.execute(f"SELECT event_type = 'order_cancelled', count(*) FROM read_parquet({sql_string(out)}) "
                              "GROUP BY 1").fetchall())
    con.execute("DROP TABLE _lines")
    return {"orders": int(counts.get(False, 0)), "cancellations": int(counts.get(True, 0))}


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


def _joined(src: Source) -> str:
    """A row's values joined back into a line (Parquet, which has no text lines)."""
    cells = [f"COALESCE({X.text(X.col(i), t)}, '')" for i, t in enumerate(src.types)]
    return "concat_ws(',', " + ", ".join(cells) + ")"


def _write_rejects(con, src: Source, mapping: ColumnMapping, keep_pii: bool, body: Path, limits: Limits,
                   opt: EventOptions, bounds: tuple | None) -> tuple[dict[str, int], dict[str, int]]:
    """Pass 2: rows that were read but unusable (and kept rows with an emptied value), with their
    reason, source line number, raw values and raw line, appended to ``body``.

    Rows are numbered in file order (one thread); the k-th row the CSV reader produced is the k-th
    line after the header that is neither blank nor refused by the reader, which a one-column read
    of the same file numbers exactly (a quoted value spanning lines is the one thing that shifts it).
    """
    raw_cols = ", ".join(f"{_raw(src, mapping, f, keep_pii)} AS r_{f}" for f in RAW_FIELDS)
    rel, rel_params = relation(src, "rej_events_pass2", limits)
    proj, proj_params = _select(src, mapping, keep_pii, opt)
    bad = [f for f in COERCED_FIELDS if mapping.column(f)]
    finish = _finish(mapping) + ", _k, " + ", ".join(f"r_{f}" for f in RAW_FIELDS)
    extra = f", {_joined(src)} AS _joined" if src.kind == "parquet" else ""
    numbered = f"(SELECT *, row_number() OVER () AS _k{extra} FROM {rel})"
    finish += ", _joined" if extra else ""
    reason = _reason(mapping, opt, bounds)
    emptied = " ".join(f"WHEN _bad_{f} THEN '{COERCED_REASON.format(f)}'" for f in bad)
    why = f"COALESCE({reason}, CASE {emptied} END)" if bad else reason
    sql = f"SELECT {why} AS reason, * FROM ({finish} FROM ({proj}, {raw_cols}, _k{', _joined' if extra else ''} FROM {numbered}))"
    picked = f"SELECT reason, _k{', _joined' if extra else ''}, {', '.join('r_' + f for f in RAW_FIELDS)} FROM ({sql}) WHERE reason IS NOT NULL"
    email_free = (lambda e: e) if keep_pii else (lambda e: f"regexp_replace({e}, {sql_string(EMAIL_IN_TEXT)}, '<e-mail removed>', 'g')")
    part = body.with_suffix(".events.csv")
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    try:
        con.execute("SET threads = 1")  # row_number() OVER () in file order
        con.execute(f"CREATE TEMP TABLE _rej AS {picked}", proj_params + rel_params)
        if src.kind == "parquet":
            con.execute(f"COPY (SELECT 'events', reason, _k, {', '.join('r_' + f for f in RAW_FIELDS)}, "
                        f"{neutralise_sql(email_free('_joined'))} FROM _rej ORDER BY _k) "
                        f"TO {sql_string(part)} (FORMAT csv, HEADER false)")
        else:
            lines, lp = lines_relation(src, limits)
            blank = "chr(32) || chr(9) || chr(13)" if src.whitespace else "chr(13)"
            skipped = "(SELECT DISTINCT line FROM rej_events_errors)"
            try:
                con.execute(f"SELECT 1 FROM {skipped} LIMIT 1")
            except duckdb.CatalogException:
                skipped = "(SELECT CAST(NULL AS BIGINT) AS line WHERE false)"
            con.execute(f"""COPY (
                WITH good AS (SELECT n, l, row_number() OVER (ORDER BY n) AS k FROM {lines}
                              WHERE n > 1 AND l IS NOT NULL AND trim(l, {blank}) <> '' AND n NOT IN {skipped})
                SELECT 'events', r.reason, g.n, {', '.join('r.r_' + f for f in RAW_FIELDS)},
                       {neutralise_sql(email_free('g.l'))}
                FROM _rej r LEFT JOIN good g ON g.k = r._k ORDER BY r._k)
                TO {sql_string(part)} (FORMAT csv, HEADER false)""", lp)
    except duckdb.Error as exc:
        raise DataError(f"cannot read events file {src.path}: {first_line(exc)}") from None
    finally:
        con.execute(f"SET threads = {int(threads)}")
    counts = dict(con.execute("SELECT reason, count(*) FROM _rej GROUP BY 1").fetchall())
    con.execute("DROP TABLE _rej")
    append_file(part, body)
    rejected = {str(k): int(v) for k, v in counts.items() if not str(k).startswith("kept, ")}
    coerced = {f: int(counts.get(COERCED_REASON.format(f), 0)) for f in bad}
    return rejected, {f: n for f, n in coerced.items() if n}
