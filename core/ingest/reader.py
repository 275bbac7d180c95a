"""The DuckDB relation over one input file, with every read option explicit and columns renamed c0, c1, ….

CSV is read with ``read_csv(auto_detect=false)`` and every column as VARCHAR, so DuckDB neither
guesses nor casts; malformed lines (short, long, bad encoding, over-long) are skipped by DuckDB and
kept in its rejects table (``store_rejects``) with their line number and text, so the import can
count them and write them to ``rejected.csv``. Blank-separated logs (the CDNOW layout) are read one
line per row and split on runs of blanks in SQL. Parquet is read with ``read_parquet``.

Each relation exposes ``c0 … c{n-1}`` plus ``_shape`` (columns found minus columns expected:
negative for a short line, positive for extra values; always 0 where DuckDB checks it itself).
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from core.ingest.limits import Limits
from core.ingest.safecsv import neutralise_sql
from core.ingest.sniff import Source
from core.ingest.sqlexpr import col

#: DuckDB's rejects error types → the reason written to rejected.csv.
PARSER_REASONS = {
    "MISSING COLUMNS": "short line",
    "TOO MANY COLUMNS": "extra columns",
    "INVALID ENCODING": "invalid text encoding",
    "INVALID UNICODE": "invalid text encoding",
    "LINE SIZE OVER MAXIMUM": "line too long",
    "UNQUOTED VALUE": "malformed line",
    "CAST": "malformed line",
}


def relation(src: Source, rejects: str, limits: Limits) -> tuple[str, list]:
    """``(sql, params)`` of a subquery yielding ``c0 … c{n-1}, _shape`` for ``src``.

    ``rejects`` names DuckDB's rejects tables for this file (``{rejects}_errors`` / ``_scans``).
    """
    n = len(src.columns)
    names = ", ".join(col(i) for i in range(n))
    if src.kind == "parquet":
        return f"(SELECT *, 0 AS _shape FROM read_parquet(?) AS t({names}))", [src.path]
    options = ("header = true, quote = ?, escape = ?, auto_detect = false, ignore_errors = true, "
               "store_rejects = true, rejects_table = ?, rejects_scan = ?, compression = ?, encoding = ?, "
               "max_line_size = ?, delim = ?")
    params: list = [src.path]
    if src.whitespace:
        spec = "{'line': 'VARCHAR'}"
        params += ["", "", f"{rejects}_errors", f"{rejects}_scans", src.compression, src.encoding,
                   limits.max_line_bytes, "\x1f"]
        parts = "regexp_split_to_array(trim(line, ' \t\r'), '[ \t]+')"
        picks = ", ".join(f"p[{i + 1}] AS {col(i)}" for i in range(n))
        sql = (f"(SELECT {picks}, len(p) - {n} AS _shape FROM "
               f"(SELECT {parts} AS p FROM read_csv(?, columns = {spec}, {options}) WHERE trim(line) <> ''))")
        return sql, params
    spec = "{" + ", ".join(f"'{col(i)}': 'VARCHAR'" for i in range(n)) + "}"
    params += ['"', '"', f"{rejects}_errors", f"{rejects}_scans", src.compression, src.encoding,
               limits.max_line_bytes, src.delimiter]
    return f"(SELECT *, 0 AS _shape FROM read_csv(?, columns = {spec}, {options}))", params


def lines_relation(src: Source, limits: Limits) -> tuple[str, list]:
    """``(sql, params)`` of ``n, l``: every physical line of a CSV file with its number (1 = header).

    Read as one column (no quoting, an unused delimiter), so blank lines stay as rows and the
    numbers are the file's own line numbers, the ones DuckDB's rejects table reports. Numbered by
    ``row_number() OVER ()``; call it with ``threads = 1`` so the order is the file's.
    """
    spec = "{'l': 'VARCHAR'}"
    sql = ("(SELECT row_number() OVER () AS n, l FROM read_csv(?, columns = " + spec + ", header = false, "
           "auto_detect = false, quote = '', escape = '', delim = ?, compression = ?, encoding = ?, "
           "max_line_size = ?, ignore_errors = true))")
    return sql, [src.path, "\x1e", src.compression, src.encoding, limits.max_line_bytes]


EMAIL_IN_TEXT = r"""[^\s,;|"']+@[^\s,;|"']+"""


def sql_string(value: object) -> str:
    """A SQL string literal, for the few statement parts DuckDB cannot bind (COPY's target, PRAGMA values)."""
    return "'" + str(value).replace("'", "''") + "'"


def parser_rejects(con: duckdb.DuckDBPyConnection, rejects: str, label: str, width: int, keep_pii: bool,
                   body: Path) -> dict[str, int]:
    """Lines DuckDB's reader refused (one row per line, its first error), appended to ``body``.

    ``width`` is the number of columns of the rejected file: file, reason, line, …, raw_line.
    Without ``keep_pii`` every e-mail-like word of the raw line is blanked out.
    """
    raw = "csv_line" if keep_pii else f"regexp_replace(csv_line, {sql_string(EMAIL_IN_TEXT)}, '<e-mail removed>', 'g')"
    case = " ".join(f"WHEN {sql_string(k)} THEN {sql_string(v)}" for k, v in PARSER_REASONS.items())
    lines = (f"SELECT line, arg_min(error_type, column_idx) AS error_type, any_value(csv_line) AS csv_line "
             f"FROM {rejects}_errors GROUP BY line")
    sql = f"SELECT CASE error_type {case} ELSE 'malformed line' END AS reason, line, {raw} AS raw FROM ({lines})"
    try:
        counts = dict(con.execute(f"SELECT reason, count(*) FROM ({sql}) GROUP BY 1").fetchall())
    except duckdb.CatalogException:
        return {}
    if not counts:
        return {}
    nulls = ", ".join(["NULL"] * (width - 4))
    part = body.with_suffix(f".{rejects}.csv")
    con.execute(f"COPY (SELECT {sql_string(label)}, reason, line, {nulls}{', ' if nulls else ''}{neutralise_sql('raw')} "
                f"FROM ({sql}) ORDER BY line) TO {sql_string(part)} (FORMAT csv, HEADER false)")
    append_file(part, body)
    return {str(k): int(v) for k, v in counts.items()}


def append_file(part: Path, body: Path) -> None:
    """Append ``part`` to ``body`` and delete it."""
    if part.exists():
        with open(body, "ab") as out, open(part, "rb") as fh:
            while chunk := fh.read(1 << 20):
                out.write(chunk)
        part.unlink()


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]
