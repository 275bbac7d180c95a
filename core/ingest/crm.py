"""CRM contacts export → ``crm_changes.parquet`` and ``contacts.parquet``, in DuckDB.

A contacts export is a snapshot: one row per contact with the *current* value of each column. It
says what each field holds now, not since when, so every field is dated at the contact's last
update (the ``updated_at`` column), the e-mail at the contact's creation (``created_at``); without
those columns, or where they are unreadable, at the end of the event period. The CRM view then
knows each value from that time on — honest about what a snapshot can tell.

Contact ids stay as they are when every id is a whole number, else contacts are numbered 1…n in
id order (the source id is kept in ``contacts.parquet``); without an id column each row is a
contact. The e-mail is normalised and hashed exactly as in the events, so the hybrid view can join
CRM contacts to CDP profiles by e-mail.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from core.errors import DataError
from core.ingest import sqlexpr as X
from core.ingest.events import RAW_FIELDS, REJECT_COLUMNS
from core.ingest.limits import Limits
from core.ingest.mapping import CrmMapping
from core.ingest.reader import EMAIL_IN_TEXT, append_file, first_line, parser_rejects, relation, sql_string
from core.ingest.safecsv import neutralise_sql
from core.ingest.sniff import Source
from core.ingest.timeparse import decide_format


@dataclass(frozen=True)
class CrmResult:
    contacts: int
    rows: int                 # data rows read (kept as contacts)
    changes: int              # field values written
    fields: int
    undated: int              # contacts dated at the end of the period (no readable time)
    duplicate_emails: int     # contacts whose e-mail another contact also has
    rejected: dict[str, int]


def _shape_rejects(con: duckdb.DuckDBPyConnection, keep_pii: bool, body: Path) -> dict[str, int]:
    """Lines of a blank-separated export with too few or too many values (counted, written, never kept)."""
    counts = dict(con.execute("SELECT CASE WHEN _shape < 0 THEN 'short line' ELSE 'extra columns' END, count(*) "
                              "FROM crm_all WHERE _shape <> 0 GROUP BY 1").fetchall())
    if counts:
        raw = "_raw" if keep_pii else f"regexp_replace(_raw, {sql_string(EMAIL_IN_TEXT)}, '<e-mail removed>', 'g')"
        nulls = ", ".join(["NULL"] * len(RAW_FIELDS))
        part = body.with_suffix(".crm_shape.csv")
        con.execute(f"""COPY (SELECT 'crm', CASE WHEN _shape < 0 THEN 'short line' ELSE 'extra columns' END, NULL,
                              {nulls}, {neutralise_sql(raw)} FROM crm_all WHERE _shape <> 0 ORDER BY _row)
                       TO {sql_string(part)} (FORMAT csv, HEADER false)""")
        append_file(part, body)
    return {str(k): int(v) for k, v in counts.items()}


def import_crm(con: duckdb.DuckDBPyConnection, src: Source, mapping: CrmMapping, keep_pii: bool,
               stage: Path, rejected_body: Path, period_end: pd.Timestamp, limits: Limits,
               time_format: str = "auto", tz: str | None = None) -> CrmResult:
    """Write ``stage/crm_changes.parquet`` and ``stage/contacts.parquet``; append refused lines to ``rejected_body``.

    Created / updated times are read like the events' (``time_format`` told, or decided from each
    column's values; ``tz`` for times without an offset)."""
    rel, params = relation(src, "rej_crm", limits)

    def ref(name: str) -> tuple[str, str] | None:
        column = mapping.column(name)
        if column is None:
            return None
        i = src.columns.index(column)
        return X.col(i), src.types[i]

    rid, rem, rcr, rup = ref("contact_id"), ref("email"), ref("created_at"), ref("updated_at")
    source_id = X.identifier(*rid) if rid else "CAST(NULL AS VARCHAR)"
    email = X.email(rem[0], keep_pii, rem[1]) if rem else "CAST(NULL AS VARCHAR)"
    def when(r: tuple[str, str] | None, name: str) -> str:
        if r is None:
            return "CAST(NULL AS TIMESTAMPTZ)"
        fmt = time_format
        if fmt == "auto" and r[1].upper() == "VARCHAR":
            sniff, sp = relation(src, f"rej_crm_sniff_{name}", limits)
            fmt, _ = decide_format(con, sniff, sp, r[0], X.auto_timestamp(r[0]), mapping.column(name),
                                   f"CRM file {src.path}")
        return X.timestamp(r[0], r[1], fmt, tz)

    created, updated = when(rcr, "created_at"), when(rup, "updated_at")
    field_cols = []
    for name, column in mapping.fields:
        i = src.columns.index(column)
        field_cols.append((name, X.text(X.col(i), src.types[i])))
    picks = ", ".join(f"{expr} AS f{k}" for k, (_, expr) in enumerate(field_cols))
    raw_line = "concat_ws(' ', " + ", ".join(X.text(X.col(i), t) for i, t in enumerate(src.types)) + ")"
    try:
        con.execute(
            f"CREATE TEMP TABLE crm_all AS SELECT row_number() OVER () AS _row, {source_id} AS source_id, "
            f"{email} AS email, {created} AS created_at, {updated} AS updated_at"
            f"{', ' + picks if picks else ''}, _shape, {raw_line} AS _raw FROM {rel}", params)
    except duckdb.Error as exc:
        raise DataError(f"cannot read CRM file {src.path}: {first_line(exc)}") from None
    rejected = parser_rejects(con, "rej_crm", "crm", len(REJECT_COLUMNS), keep_pii, rejected_body) if src.kind == "csv" else {}
    rejected.update(_shape_rejects(con, keep_pii, rejected_body))
    con.execute("CREATE TEMP TABLE crm_raw AS SELECT * EXCLUDE (_shape, _raw) FROM crm_all WHERE _shape = 0")
    con.execute("DROP TABLE crm_all")
    n_rows = con.execute("SELECT count(*) FROM crm_raw").fetchone()[0]
    if n_rows == 0:
        raise DataError(f"CRM file {src.path} has no usable rows")
    numeric, top, distinct = con.execute(
        "SELECT bool_and(TRY_CAST(source_id AS BIGINT) IS NOT NULL), max(TRY_CAST(source_id AS BIGINT)), "
        "count(DISTINCT source_id) FROM crm_raw").fetchone()
    # rows without an id are contacts of their own, numbered after every id
    if not rid:
        cid = "_row"
    elif numeric:
        cid = f"COALESCE(CAST(source_id AS BIGINT), {int(top or 0)} + _row)"
    else:
        cid = (f"COALESCE(CASE WHEN source_id IS NOT NULL THEN dense_rank() OVER (ORDER BY source_id NULLS LAST) END, "
               f"{int(distinct)} + _row)")
    end = period_end
    con.execute(f"""CREATE TEMP TABLE crm AS
        SELECT {cid} AS contact_id, COALESCE(source_id, 'row-' || _row) AS source_id, * EXCLUDE (source_id),
               COALESCE(created_at, updated_at, CAST(? AS TIMESTAMPTZ)) AS t_email,
               COALESCE(updated_at, created_at, CAST(? AS TIMESTAMPTZ)) AS t_field
        FROM crm_raw""", [end, end])
    parts = ["SELECT contact_id, 'email' AS field, email AS value, t_email AS t FROM crm WHERE email IS NOT NULL"]
    fparams: list = []
    for k, (name, _) in enumerate(field_cols):
        parts.append(f"SELECT contact_id, ? AS field, f{k} AS value, t_field AS t FROM crm WHERE f{k} IS NOT NULL AND f{k} <> ''")
        fparams.append(name)
    for name, column in (("created_at", "created_at"), ("updated_at", "updated_at")):
        if (rcr if name == "created_at" else rup):
            parts.append(f"SELECT contact_id, '{name}' AS field, strftime({column}, '%Y-%m-%dT%H:%M:%SZ') AS value, "
                         f"t_field AS t FROM crm WHERE {column} IS NOT NULL")
    union = " UNION ALL ".join(parts)
    changes = stage / "crm_changes.parquet"
    con.execute(f"""COPY (SELECT contact_id, CAST(NULL AS BIGINT) AS person_id, field, value, t AS effective_at,
                          t AS recorded_at, 'import' AS source
                   FROM ({union}) ORDER BY contact_id, field, value) TO {sql_string(changes)} (FORMAT parquet)""", fparams)
    contacts = stage / "contacts.parquet"
    con.execute(f"""COPY (SELECT contact_id, source_id, email, created_at, updated_at FROM crm ORDER BY contact_id)
                   TO {sql_string(contacts)} (FORMAT parquet)""")
    n_changes = con.execute(f"SELECT count(*) FROM read_parquet({sql_string(changes)})").fetchone()[0]
    contacts_n, undated, dups = con.execute("""
        SELECT count(DISTINCT contact_id),
               count(*) FILTER (created_at IS NULL AND updated_at IS NULL),
               (SELECT count(*) FROM crm c WHERE email IS NOT NULL
                  AND email IN (SELECT email FROM crm GROUP BY email HAVING count(DISTINCT contact_id) > 1))
        FROM crm""").fetchone()
    con.execute("DROP TABLE crm_raw")
    con.execute("DROP TABLE crm")
    return CrmResult(contacts=int(contacts_n), rows=int(n_rows), changes=int(n_changes), fields=len(field_cols),
                     undated=int(undated), duplicate_emails=int(dups), rejected=rejected)
