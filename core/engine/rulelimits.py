"""Limits on rules, and a JSON reader that cannot recurse without bound.

A rule reaches the engine from a file, from JSON pasted into the Segments page or from a URL, so
its size is chosen by whoever typed it. Without limits, a rule nested 900 levels deep ends in
Python's ``RecursionError`` and 2,000 OR-ed conditions in the database's expression-depth error —
tracebacks instead of one line that says what is wrong. Every limit here is checked *before* any
SQL is compiled, and each ``RuleError`` names the limit and the JSON path where it was exceeded.

The values are generous for real use (a marketer's most complex audience is a few dozen
conditions two or three groups deep; the plays of :mod:`core.engine.plays` have at most three)
and are explained with their sources in ``docs/limits.md``.

Two checks never recurse: :func:`check_text` measures bracket depth of raw JSON text with numpy
(string literals masked out) before ``json.loads`` sees it, and :func:`check_json` walks an
already-parsed object with an explicit stack. Only after both pass does the recursive rule parser
run, so its recursion is bounded by ``max_json_depth``.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import RuleError, UserError


@dataclass(frozen=True)
class Limits:
    """Every limit on a rule, by the name its error message uses (see docs/limits.md)."""

    max_text_bytes: int = 1_048_576     # a rule file or pasted JSON text: 1 MiB
    max_json_depth: int = 64            # nested JSON objects/lists, counted on the raw text
    max_json_values: int = 50_000       # objects, lists, strings, numbers in one rule
    max_string_chars: int = 2_000       # any one string: a name, key, value or description
    max_conditions: int = 100           # leaf conditions, segments included once inlined
    max_condition_depth: int = 10       # all / any / not groups inside each other
    max_list_values: int = 1_000        # values of one in / not_in list, pages, channels
    max_window_days: int = 1_095        # within, lookback, before, days, within_last_days: 3 years
    max_count: int = 1_000_000          # count bounds, trait counts, min_people
    max_abs_number: float = 1e15        # any number: beyond this a float loses whole units
    max_segment_depth: int = 8          # in_segment references followed inside each other


LIMITS = Limits()


def limit_error(path: str, what: str, limit: str, hint: str = "") -> RuleError:
    """A RuleError that states the finding, the limit's value and its name."""
    value = getattr(LIMITS, limit)
    shown = f"{value:,}" if isinstance(value, int) else f"{value:g}"
    return RuleError(short_path(path), f"{what}; the limit is {shown} ({limit}){hint}")


def short_path(path: str, width: int = 120) -> str:
    """A JSON path that fits on one line: a path 64 levels deep keeps its start and its end."""
    if len(path) <= width:
        return path
    return f"{path[:40]}…{path[-(width - 41):]}"


# --------------------------------------------------------------------------- raw text


def check_text(text: str | bytes) -> str:
    """Size and bracket depth of JSON text, checked without parsing it; returns the text as str.

    Depth is the running sum of +1 for ``[``/``{`` and -1 for ``]``/``}`` outside string literals.
    Strings are masked with numpy: a quote counts unless an odd run of backslashes precedes it,
    and everything between an odd and the next even quote is inside a string. One pass of array
    operations, no Python loop per character, so a 1 MiB text costs a few milliseconds.
    """
    if isinstance(text, (bytes, bytearray)):
        if len(text) > LIMITS.max_text_bytes:
            raise limit_error("$", f"rule text is {len(text):,} bytes", "max_text_bytes")
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise RuleError("$", "rule text is not UTF-8") from None
    if len(text) > LIMITS.max_text_bytes:  # chars <= bytes: a cheap first test
        raise limit_error("$", f"rule text is {len(text):,} characters", "max_text_bytes")
    data = text.encode("utf-8", errors="surrogatepass")
    if len(data) > LIMITS.max_text_bytes:
        raise limit_error("$", f"rule text is {len(data):,} bytes", "max_text_bytes")
    depth = _bracket_depth(np.frombuffer(data, dtype=np.uint8))
    if len(depth) and int(depth.max()) > LIMITS.max_json_depth:
        at = int(np.argmax(depth > LIMITS.max_json_depth))
        line, column = _line_column(data, at)
        raise limit_error("$", f"JSON nested more than {LIMITS.max_json_depth} levels deep "
                               f"(line {line}, column {column})", "max_json_depth")
    return text


def _bracket_depth(b: np.ndarray) -> np.ndarray:
    """Nesting depth after each byte, ignoring brackets inside string literals."""
    quote = b == ord('"')
    backslash = b == ord("\\")
    if backslash.any():
        count = np.cumsum(backslash)
        # backslashes in the run ending at each byte (0 where the byte is not a backslash)
        run = count - np.maximum.accumulate(np.where(backslash, 0, count))
        before = np.concatenate(([0], run[:-1]))
        quote &= before % 2 == 0
    inside = np.cumsum(quote) % 2 == 1
    opening = ((b == ord("[")) | (b == ord("{"))) & ~inside
    closing = ((b == ord("]")) | (b == ord("}"))) & ~inside
    return np.cumsum(opening.astype(np.int64) - closing.astype(np.int64))


def _line_column(data: bytes, at: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, at) + 1
    start = data.rfind(b"\n", 0, at) + 1
    return line, len(data[start:at + 1].decode("utf-8", errors="replace"))


def read_json(text: str | bytes) -> Any:
    """Rule JSON text → Python object, never recursing without bound and never raising anything
    but ``RuleError`` (bad JSON, too big, too deep, a 5,000-digit number)."""
    text = check_text(text)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleError("$", f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        if "digits" in str(exc):  # Python refuses integers of more than 4,300 digits
            raise RuleError("$", "invalid JSON: a number with more than 4,300 digits") from None
        raise RuleError("$", f"invalid JSON: {str(exc).splitlines()[0][:200]}") from None
    check_json(obj)
    return obj


# --------------------------------------------------------------------------- parsed objects


def check_json(obj: Any) -> None:
    """Depth, size, string lengths and numbers of an already-parsed rule, walked with an explicit
    stack (a Python caller can hand over a dict nested 100,000 deep, or one that contains itself)."""
    stack: list[tuple[Any, str, int]] = [(obj, "$", 1)]
    seen = 0
    while stack:
        node, path, depth = stack.pop()
        seen += 1
        if seen > LIMITS.max_json_values:
            raise limit_error("$", f"rule has more than {LIMITS.max_json_values:,} JSON values",
                              "max_json_values")
        if isinstance(node, Mapping) or isinstance(node, (list, tuple)):
            if depth > LIMITS.max_json_depth:
                raise limit_error(path, f"JSON nested more than {LIMITS.max_json_depth} levels deep",
                                  "max_json_depth")
            if len(node) > LIMITS.max_json_values:
                raise limit_error(path, f"{len(node):,} entries in one object or list", "max_json_values")
            children = []
            if isinstance(node, Mapping):
                for key, value in node.items():
                    if isinstance(key, str) and len(key) > LIMITS.max_string_chars:
                        raise limit_error(path, f"a key of {len(key):,} characters", "max_string_chars")
                    children.append((value, f"{path}.{_short(key)}", depth + 1))
            else:
                children = [(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(node)]
            stack.extend(reversed(children))  # popped in document order: the first offender is named
        else:
            _check_scalar(node, path)


def _short(key: Any) -> str:
    text = str(key)
    return text if len(text) <= 40 else text[:40] + "…"


def _check_scalar(v: Any, path: str) -> None:
    if isinstance(v, str):
        if len(v) > LIMITS.max_string_chars:
            raise limit_error(path, f"a string of {len(v):,} characters", "max_string_chars")
    elif isinstance(v, float) and not math.isfinite(v):
        raise RuleError(path, f"numbers must be finite, got {v!r}")
    elif isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) > LIMITS.max_abs_number:
        raise limit_error(path, f"the number {v:.3g} is too large", "max_abs_number")


# --------------------------------------------------------------------------- files


def read_rule_text(path: str | Path) -> str:
    """The text of a rule file, refusing files over ``max_text_bytes`` before reading them."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"rule file {path} does not exist")
    try:
        size = file.stat().st_size
        if size > LIMITS.max_text_bytes:
            raise UserError(f"rule file {path} is {size:,} bytes; the limit is "
                            f"{LIMITS.max_text_bytes:,} (max_text_bytes)")
        with file.open("rb") as fh:
            data = fh.read(LIMITS.max_text_bytes + 1)  # the file may have grown since stat
    except OSError as exc:
        raise UserError(f"cannot read rule file {path}: {exc.strerror or exc}") from None
    if len(data) > LIMITS.max_text_bytes:
        raise UserError(f"rule file {path} is larger than {LIMITS.max_text_bytes:,} bytes (max_text_bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"cannot read rule file {path}: it is not UTF-8 text") from None


__all__ = ["LIMITS", "Limits", "check_json", "check_text", "limit_error", "read_json", "read_rule_text"]
