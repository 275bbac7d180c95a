"""Formula-safe CSV cells for files the importer writes (``rejected.csv``).

The rule is the one of :mod:`core.present.export` (OWASP CSV injection): a text cell starting with
``= + - @`` TAB or CR may run as a formula in a spreadsheet, so it gets a leading apostrophe.
``core.ingest`` sits below ``core.present`` and may not import it, so the rule is restated here as a
DuckDB expression (rejected rows can number millions; they are written by DuckDB, not Python).
A cell starting with + or - that reads as a plain number (``-5``, ``+3.2``) is data, not a
formula, and stays as it is.
"""
from __future__ import annotations

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise_sql(expr: str) -> str:
    """``expr`` (VARCHAR) with a leading apostrophe where a spreadsheet could read a formula."""
    always = " OR ".join(f"starts_with({expr}, chr({ord(p)}))" for p in ("=", "@", "\t", "\r"))
    signed = f"(starts_with({expr}, '+') OR starts_with({expr}, '-')) AND TRY_CAST({expr} AS DOUBLE) IS NULL"
    return f"CASE WHEN {always} OR ({signed}) THEN chr(39) || {expr} ELSE {expr} END"


def neutralise(value: str) -> str:
    """The same rule for one Python string (header cells)."""
    if value.startswith(("=", "@", "\t", "\r")):
        return "'" + value
    if value.startswith(("+", "-")):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value
