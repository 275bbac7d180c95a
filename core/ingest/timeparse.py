"""Which time format a column holds, decided from its values, and the time zone of times without an offset.

Spreadsheets re-save ISO times as ``10/2/2017 10:56``: month/day in the US, day/month in most
other places. The values decide: a first number above 12 can only be a day (D/M/Y), a second
number above 12 only a day (M/D/Y). When no value says (every first and second number is 12 or
less), the import refuses in one line, quoting a value and the formats it tried, rather than guess
and silently swap months and days on a third of the rows; ``--time-format mdy|dmy`` settles it.

Everything runs in DuckDB over the whole column (one aggregate scan, only when a sample shows the
column is not ISO 8601 or epoch), never per row in Python. The expressions themselves live in
:mod:`core.ingest.sqlexpr`.

Time zones: ``--timezone NAME`` (an IANA name such as ``Europe/London``; DuckDB's ICU time zones,
so summer and winter time are both right) says where times without an offset were recorded. Times
with an offset, ``Z``, a zone name, or epoch numbers are absolute and unaffected.
"""
from __future__ import annotations

import functools
import re

import duckdb

from core.errors import DataError, UserError

#: ``--time-format`` values besides a strptime pattern (``%d.%m.%Y %H:%M``).
TIME_FORMATS: tuple[str, ...] = ("auto", "iso", "mdy", "dmy", "epoch")
TIME_FORMAT_WORDS = {"auto": "decide from the values", "iso": "ISO 8601 (2017-10-02 10:56)",
                     "mdy": "month/day/year (10/2/2017 = 2 October)", "dmy": "day/month/year (2/10/2017 = 2 October)",
                     "epoch": "epoch seconds / ms / µs"}
#: A strptime pattern a user may give: directives and plain separators only (it reaches SQL as a
#: quoted literal, so nothing else is allowed in it).
_PATTERN = re.compile(r"^[%A-Za-z0-9 :/.,_T-]{2,60}$")
_DIRECTIVES = set("YymdHIMSfpbBzZjaA")
#: A date written with slashes, dots or dashes, day or month first (not ISO's year first).
DATED = r"^\s*[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{2,4}([ T].*)?$"


def check_time_format(value: str | None) -> str:
    """``value`` if it is a known format name or a safe strptime pattern; one line otherwise."""
    value = (value or "auto").strip()
    if value in TIME_FORMATS:
        return value
    if "%" in value and _PATTERN.match(value) and all(d in _DIRECTIVES for d in re.findall(r"%(.)", value)):
        return value
    raise UserError(f"--time-format {value!r}: accepted: {', '.join(TIME_FORMATS)}, or a pattern such as "
                    "'%d.%m.%Y %H:%M' (directives %Y %y %m %d %H %I %M %S %f %p %b %z)")


def check_timezone(con: duckdb.DuckDBPyConnection, name: str | None) -> str | None:
    """An IANA time-zone name DuckDB (ICU) knows, or None for UTC; one line otherwise."""
    if name is None or not str(name).strip() or str(name).strip().upper() == "UTC":
        return None
    name = str(name).strip()
    found = con.execute("SELECT name FROM pg_timezone_names() WHERE lower(name) = lower(?) ORDER BY name = ? DESC LIMIT 1",
                        [name, name]).fetchone()
    if found is None:
        raise UserError(f"--timezone {name!r} is not a time-zone name; accepted: IANA names such as "
                        "Europe/London, America/Sao_Paulo, America/New_York, Asia/Tokyo (or UTC)")
    return str(found[0])


@functools.lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """The IANA names the import accepts (for the page's select box; read once)."""
    con = duckdb.connect()
    try:
        names = [r[0] for r in con.execute("SELECT name FROM pg_timezone_names() WHERE name LIKE '%/%' "
                                           "AND name NOT LIKE 'Etc/%' AND name NOT LIKE 'SystemV/%' ORDER BY 1").fetchall()]
    finally:
        con.close()
    return ("UTC", *names)


def decide_format(con: duckdb.DuckDBPyConnection, rel: str, params: list, ref: str, parses: str,
                  column: str, label: str) -> tuple[str, str | None]:
    """``(format, sample)`` for a text time column, from its values (``auto`` when ISO/epoch read them).

    ``parses`` is the SQL of the automatic expression (ISO, epoch, basic ISO) on ``ref``. A first
    query reads 2,000 rows; only if some value there is not read by it does one aggregate scan of
    the column count what each position of a written date can hold.
    """
    head = con.execute(f"SELECT count(*) FILTER (nullif(trim({ref}), '') IS NOT NULL AND ({parses}) IS NULL) "
                       f"FROM (SELECT * FROM {rel} LIMIT 2000)", params).fetchone()[0]
    if not head:
        return "auto", None
    dated, p1, p2, sample, other = con.execute(
        f"SELECT count(*) FILTER (regexp_matches({ref}, ?)), "
        f"max(TRY_CAST(regexp_extract({ref}, '^\\s*([0-9]{{1,2}})[./-]', 1) AS INTEGER)) FILTER (regexp_matches({ref}, ?)), "
        f"max(TRY_CAST(regexp_extract({ref}, '^\\s*[0-9]{{1,2}}[./-]([0-9]{{1,2}})[./-]', 1) AS INTEGER)) FILTER (regexp_matches({ref}, ?)), "
        f"min({ref}) FILTER (regexp_matches({ref}, ?)), "
        f"min({ref}) FILTER (nullif(trim({ref}), '') IS NOT NULL AND ({parses}) IS NULL) "
        f"FROM {rel}", [DATED, DATED, DATED, DATED] + params).fetchone()
    if not dated:
        return "auto", other
    if p1 > 12 and p2 <= 12:
        return "dmy", sample
    if p2 > 12 and p1 <= 12:
        return "mdy", sample
    if p1 <= 12 and p2 <= 12:
        raise DataError(f"cannot tell the date format of the time column {column!r} in {label}: values such as "
                        f"{sample!r} read as month/day/year or day/month/year (no value has a day above 12 to "
                        "decide); formats tried: ISO 8601, epoch, M/D/Y, D/M/Y; say which with "
                        "--time-format mdy or --time-format dmy")
    return "auto", sample


def date_patterns(order: str) -> list[str]:
    """strptime patterns for ``mdy`` / ``dmy`` dates with or without a time (2-digit years first:
    ``%Y`` would read ``17`` as the year 17, ``%y`` refuses ``2017``)."""
    day_month = {"mdy": ("%m", "%d"), "dmy": ("%d", "%m")}[order]
    times = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p", "T%H:%M", "T%H:%M:%S")
    out = []
    for year in ("%y", "%Y"):
        for sep in ("/", ".", "-"):
            date = f"{day_month[0]}{sep}{day_month[1]}{sep}{year}"
            out += [date + t for t in times]
    return out
