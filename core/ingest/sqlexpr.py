"""The SQL expressions that turn raw source columns into world columns, evaluated by DuckDB on whole columns.

Every expression refers to source columns only by generated positional names (``c0``, ``c1`` …),
never by the file's own header text, and every user value (event names, pages) is a bound
parameter, so nothing from a file reaches SQL as code.

Timestamps (any of these, per row; the result is UTC):

- ISO 8601 with or without an offset (``2026-09-01T12:00:00Z``, ``2026-09-01 12:00:00+02:00``,
  ``2026-09-01T12:00:00.123``) — a time without an offset is read as UTC;
- ``YYYY-MM-DD HH:MM:SS UTC`` (REES46) and other zone names DuckDB knows;
- ISO 8601 basic dates and times (``19970101``, ``20260901T120000Z``);
- epoch numbers, the unit told by magnitude: below 1e11 seconds, below 1e14 milliseconds,
  below 1e17 microseconds (GA4), else nanoseconds. (1e11 seconds is the year 5138 and 1e11
  milliseconds is March 1973, so real data never sits on a boundary.)

A time outside 1990-01-01 .. 2100-01-01 is rejected as out of range (epoch 0, a 1970 default or a
misread unit).
"""
from __future__ import annotations

EARLIEST = "1990-01-01 00:00:00+00"
LATEST = "2100-01-01 00:00:00+00"

#: Placeholder strings that mean "no identifier" in real exports.
ID_PLACEHOLDERS = ("", "null", "none", "undefined", "nan", "n/a")

_INT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
              "UBIGINT", "UHUGEINT")
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL")


def col(i: int) -> str:
    return f"c{int(i)}"


def _epoch(v: str) -> str:
    """Seconds / ms / µs / ns since 1970 (a DOUBLE expression) → TIMESTAMPTZ, by magnitude."""
    us = (f"CASE WHEN abs({v}) < 1e11 THEN {v} * 1e6 WHEN abs({v}) < 1e14 THEN {v} * 1e3 "
          f"WHEN abs({v}) < 1e17 THEN {v} ELSE {v} / 1e3 END")
    return f"CASE WHEN isfinite({v}) THEN CAST(make_timestamp(TRY_CAST(round({us}) AS BIGINT)) AS TIMESTAMPTZ) END"


def _patterns_sql(patterns: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in patterns) + "]"


#: A text time that carries its own offset or zone (``Z``, ``+02:00``, ``-0500``, `` UTC``) after a clock time.
_HAS_OFFSET = r"[0-9]:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\s*([zZ]|[+-][0-9]{2}(:?[0-9]{2})?|\s[A-Za-z][A-Za-z_/+-]*)$"


def _local(expr: str, ref: str, tz: str | None, always: bool = False) -> str:
    """``expr`` (read as UTC) re-read as wall-clock time in ``tz`` where the text has no offset of its own."""
    if tz is None:
        return expr
    shifted = f"timezone('{tz.replace(chr(39), '')}', CAST({expr} AS TIMESTAMP))"
    if always:
        return shifted
    # an offset, a zone name, or an epoch number (digits, not an 8-digit basic ISO date) is absolute
    epoch = f"(regexp_matches({ref}, '^\\s*[+-]?[0-9]+(\\.[0-9]*)?([eE][+-]?[0-9]+)?\\s*$') AND length(trim({ref})) <> 8)"
    return f"CASE WHEN regexp_matches({ref}, '{_HAS_OFFSET}') OR {epoch} THEN {expr} ELSE {shifted} END"


def timestamp(ref: str, duck_type: str = "VARCHAR", fmt: str = "auto", tz: str | None = None) -> str:
    """A TIMESTAMPTZ expression (NULL when unreadable) for a source column of ``duck_type``.

    ``fmt`` is a :data:`core.ingest.timeparse.TIME_FORMATS` name or a checked strptime pattern;
    ``tz`` a checked IANA name for times without an offset (None: UTC).
    """
    t = duck_type.upper()
    if t.startswith("TIMESTAMP WITH") or t == "TIMESTAMPTZ":
        return f"CAST({ref} AS TIMESTAMPTZ)"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return _local(f"CAST({ref} AS TIMESTAMPTZ)", ref, tz, always=True)
    if t in _INT_TYPES or t in _FLOAT_TYPES or t.startswith("DECIMAL"):
        return _epoch(f"CAST({ref} AS DOUBLE)")
    if t != "VARCHAR":
        return "CAST(NULL AS TIMESTAMPTZ)"
    if fmt == "epoch":
        return _epoch(f"TRY_CAST({ref} AS DOUBLE)")
    auto = _local(auto_timestamp(ref), ref, tz)
    if fmt in ("auto", "iso"):
        return auto
    from core.ingest.timeparse import date_patterns

    patterns = date_patterns(fmt) if fmt in ("mdy", "dmy") else [fmt]
    written = _local(f"CAST(TRY_STRPTIME(trim({ref}), {_patterns_sql(patterns)}) AS TIMESTAMPTZ)", ref, tz,
                     always="%z" not in fmt and "%Z" not in fmt)
    return f"CASE WHEN regexp_matches({ref}, '^\\s*[0-9]{{4}}-') THEN {auto} ELSE {written} END"


def auto_timestamp(ref: str) -> str:
    """ISO 8601, zone names, basic ISO and epoch numbers (see the module docstring), read as UTC."""
    # ISO first, and the other styles only for the rows it could not read: a CASE evaluates its ELSE
    # branch on those rows alone (a COALESCE of CASEs was measured 3x slower on 10M rows)
    iso = f"TRY_CAST({ref} AS TIMESTAMPTZ)"
    rest = ("COALESCE("
            f"CASE WHEN length({ref}) = 8 THEN CAST(TRY_STRPTIME({ref}, '%Y%m%d') AS TIMESTAMPTZ) END, "
            f"CASE WHEN length({ref}) = 16 THEN CAST(TRY_STRPTIME({ref}, '%Y%m%dT%H%M%SZ') AS TIMESTAMPTZ) END, "
            f"{_epoch(f'TRY_CAST({ref} AS DOUBLE)')}, "
            f"TRY_CAST(regexp_replace(trim({ref}), '\\s+([+-][0-9]{{2}}:?[0-9]{{2}}|Z)$', '\\1') AS TIMESTAMPTZ))")
    return f"CASE WHEN {iso} IS NOT NULL THEN {iso} ELSE {rest} END"


def in_range(ts: str) -> str:
    return f"({ts} >= TIMESTAMPTZ '{EARLIEST}' AND {ts} < TIMESTAMPTZ '{LATEST}')"


def text(ref: str, duck_type: str = "VARCHAR") -> str:
    return ref if duck_type.upper() == "VARCHAR" else f"CAST({ref} AS VARCHAR)"


def _placeholders() -> str:
    return "[" + ", ".join(f"'{p}'" for p in ID_PLACEHOLDERS) + "]"


def missing(ref: str, duck_type: str = "VARCHAR", email: bool = False) -> str:
    """True where a raw identifier is absent: NULL, empty or a placeholder such as 'null'.

    ``list_contains`` rather than ``IN (...)``: DuckDB plans a long IN list as a join per column,
    which was measured to cost more than reading the file.
    """
    v = text(ref, duck_type)
    if email:
        v = f"lower(trim({v}))"
        return f"({v} IS NULL OR list_contains({_placeholders()}, {v}))"
    return f"({v} IS NULL OR (length({v}) <= 9 AND list_contains({_placeholders()}, lower({v}))))"


def identifier(ref: str, duck_type: str = "VARCHAR") -> str:
    """An identifier string, NULL when empty or a placeholder such as 'null' or 'undefined'."""
    v = text(ref, duck_type)
    return f"CASE WHEN {missing(ref, duck_type)} THEN NULL ELSE {v} END"


def email(ref: str, keep_pii: bool, duck_type: str = "VARCHAR") -> str:
    """E-mail normalised (trimmed, lower case) and, unless ``keep_pii``, SHA-256 hashed.

    The same expression runs on the events and the CRM export, so a CRM contact and a CDP profile
    with the same address meet in the hybrid view. A value that already is a 64-hex-digit hash is
    kept as it is rather than hashed twice.
    """
    e = f"lower(trim({text(ref, duck_type)}))"
    if keep_pii:
        value = e
    else:
        value = f"CASE WHEN length({e}) = 64 AND NOT contains({e}, '@') THEN {e} ELSE sha256({e}) END"
    return f"CASE WHEN {missing(ref, duck_type, email=True)} THEN NULL ELSE {value} END"


def page(ref: str, duck_type: str = "VARCHAR") -> str:
    """A page name from a path or URL: scheme, host, query and fragment dropped, slashes trimmed.

    ``https://shop.example/pricing?x=1`` → ``pricing``; ``/products/blue/`` → ``products/blue``;
    the site root ``/`` → ``home``. Plain names (``pricing``) stay as they are.
    """
    v = text(ref, duck_type)
    # the common case, a plain path such as /pricing, takes the cheap branch; URLs, queries,
    # fragments and trailing or doubled slashes take the full one
    inner = (f"CASE WHEN contains({v}, '://') THEN regexp_extract({v}, '^[^:]+://[^/?#]*([^?#]*)', 1) "
             f"ELSE split_part(split_part({v}, '#', 1), '?', 1) END")
    full = f"COALESCE(NULLIF(trim({inner}, '/'), ''), 'home')"
    slow = (f"contains({v}, '://') OR contains({v}, '?') OR contains({v}, '#') OR ends_with({v}, '/') "
            f"OR starts_with({v}, '//')")
    return (f"CASE WHEN {v} = '' THEN NULL WHEN {slow} THEN {full} "
            f"WHEN starts_with({v}, '/') THEN substr({v}, 2) ELSE {v} END")


def number(ref: str, duck_type: str = "VARCHAR", decimal_comma: bool = False) -> str:
    """A DOUBLE (NULL when unreadable). With ``decimal_comma`` (a semicolon-separated European export)
    ``1.234,50`` and ``12,5`` read as 1234.5 and 12.5: dots are thousands, the comma is the decimal point."""
    t = duck_type.upper()
    if t in _INT_TYPES or t in _FLOAT_TYPES or t.startswith("DECIMAL"):
        return f"CAST({ref} AS DOUBLE)"
    v = text(ref, duck_type)
    if decimal_comma:
        v = (f"CASE WHEN regexp_matches({v}, '^\\s*[+-]?[0-9.]*,[0-9]+\\s*$') "
             f"THEN replace(replace({v}, '.', ''), ',', '.') ELSE {v} END")
    return f"TRY_CAST({v} AS DOUBLE)"


def case_map(ref: str, pairs: list[tuple[str, str]], default: str) -> tuple[str, list[str]]:
    """``CASE ref WHEN ? THEN ? … ELSE default END`` with the pairs as bound parameters."""
    if not pairs:
        return default, []
    whens = " ".join("WHEN ? THEN ?" for _ in pairs)
    params: list[str] = []
    for a, b in pairs:
        params += [a, b]
    return f"CASE {ref} {whens} ELSE {default} END", params
