"""The one rule model shared by CRM segments and CDP audiences.

A rule is plain JSON (so it can be saved, diffed and shown), parsed into frozen dataclasses (so a
rule can key a cache and cannot change under an evaluation), validated against a view's
``ViewSchema`` with errors that name the JSON path and the accepted values, printed as plain
English for people who do not read JSON, and compiled to SQL by ``core.engine.sqlcompile``. Nothing here
ever evaluates user text as code.

Grammar (see ``parse_rule``)::

    {"name": str, "description"?: str, "list"?: "active"|"static", "frozen_at"?: ISO time,
     <one condition: "all" | "any" | "not" | the keys of a single condition>}

Semantics worth stating once: ``neq`` and ``not_in`` mean "the field is set and differs"; a
subject whose field is empty matches neither ``eq`` nor ``neq`` (use ``is_not_set`` for that).
Event windows are half-open on the event time: "within 48h" at time t means ts in (t-48h, t].
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import pandas as pd

from core.errors import RuleError
from core.engine.rulelimits import LIMITS, check_json, limit_error, read_json, read_rule_text
from core.engine.schema import ViewSchema

# --------------------------------------------------------------------------- vocabulary

LIST_TYPES = ("active", "static")
COMPARE_OPS = ("eq", "neq", "gt", "gte", "lt", "lte")
COUNT_OPS = ("gte", "gt", "lte", "lt", "eq")
FIELD_OPS = (
    "eq", "neq", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "is_set", "is_not_set",
    "before", "after", "within_last_days",
)
OPS_BY_TYPE: Mapping[str, tuple[str, ...]] = {
    "text": ("eq", "neq", "in", "not_in", "contains", "is_set", "is_not_set"),
    "number": ("eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "is_set", "is_not_set"),
    "date": ("before", "after", "within_last_days", "is_set", "is_not_set"),
    "bool": ("eq", "neq", "is_set", "is_not_set"),
}
TRAITS = ("days_since_last", "count", "total_value", "first_time", "stopped")
NO_VALUE_OPS = ("is_set", "is_not_set")
LIST_OPS = ("in", "not_in")

# Spellings people type, mapped to the canonical op. Keys are compared after lower-casing and
# turning spaces / hyphens into underscores.
_OP_ALIASES = {
    "=": "eq", "==": "eq", "equals": "eq", "is": "eq",
    "!=": "neq", "<>": "neq", "ne": "neq", "not_eq": "neq", "is_not": "neq",
    ">": "gt", ">=": "gte", "<": "lt", "<=": "lte",
    "not_in": "not_in", "nin": "not_in",
    "exists": "is_set", "is_present": "is_set",
    "not_exists": "is_not_set", "is_empty": "is_not_set", "is_null": "is_not_set",
}
_DURATION_RE = re.compile(r"^(\d+)([mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
_UNIT_WORDS = {"m": "minute", "h": "hour", "d": "day"}

_GROUP_KEYS = {"all": "all", "and": "all", "any": "any", "or": "any", "not": "not"}
_SEGMENT_KEYS = ("in_segment", "member_of")
_RULE_KEYS = ("name", "description", "list", "frozen_at")
_KIND_KEYS = (*_GROUP_KEYS, "field", "first", "trait", "account", *_SEGMENT_KEYS)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Duration:
    """A window length as the user wrote it (``48h``); kept in units so it prints back unchanged."""

    amount: int
    unit: str  # 'm' | 'h' | 'd'

    @property
    def seconds(self) -> int:
        return self.amount * _UNIT_SECONDS[self.unit]

    def text(self) -> str:
        return f"{self.amount}{self.unit}"

    def english(self) -> str:
        word = _UNIT_WORDS[self.unit]
        return f"{self.amount} {word}" + ("" if self.amount == 1 else "s")


@dataclass(frozen=True)
class Where:
    """Filters on one event: any of ``pages``, any of ``channels``, and every value bound."""

    pages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    value: tuple[tuple[str, float], ...] = ()  # (op, number) pairs, op in COMPARE_OPS

    def is_empty(self) -> bool:
        return not (self.pages or self.channels or self.value)


@dataclass(frozen=True)
class EventSpec:
    """Which events a condition looks at: a type plus optional filters."""

    event: str
    where: Where = Where()


@dataclass(frozen=True)
class All:
    items: tuple["Condition", ...]


@dataclass(frozen=True)
class Any_:
    items: tuple["Condition", ...]


@dataclass(frozen=True)
class Not:
    item: "Condition"


@dataclass(frozen=True)
class FieldCond:
    """A comparison on a field's value as recorded at the evaluation time."""

    field: str
    op: str
    value: Any = None  # scalar, tuple of scalars for in/not_in, None for is_set/is_not_set


@dataclass(frozen=True)
class EventCond:
    """"Did X (at least N times) (within a window)". No window means ever, up to t."""

    spec: EventSpec
    count_op: str = "gte"
    count: int = 1
    within: Duration | None = None
    between: tuple[pd.Timestamp, pd.Timestamp] | None = None


@dataclass(frozen=True)
class Sequence:
    """A then B within d (``negated`` False) or A and no B within d afterwards (``negated`` True)."""

    first: EventSpec
    then: EventSpec
    within: Duration
    lookback: Duration = Duration(30, "d")
    negated: bool = False


@dataclass(frozen=True)
class Trait:
    """A computed per-subject property compared to a number (or a first-time / stopped test).

    ``kind`` is one of TRAITS; unused attributes stay None so one frozen class covers them all.
    """

    kind: str
    spec: EventSpec
    op: str | None = None
    value: float | None = None
    days: int | None = None
    within: Duration | None = None
    before: Duration | None = None


@dataclass(frozen=True)
class AccountCond:
    """Account-level intent: at least ``min_people`` people of the subject's account did the event
    within the window (B2B buying committees act together; one reader is noise, three is a signal)."""

    spec: EventSpec
    within: Duration
    min_people: int = 2


@dataclass(frozen=True)
class InSegment:
    """Membership of another named rule, resolved through a registry and compiled inline."""

    name: str


Condition = Union[All, Any_, Not, FieldCond, EventCond, Sequence, Trait, AccountCond, InSegment]


@dataclass(frozen=True)
class Rule:
    """A named segment or audience. Static lists are evaluated once, at ``frozen_at``."""

    name: str
    root: Condition
    description: str = ""
    list_type: str = "active"
    frozen_at: pd.Timestamp | None = None

    def to_dict(self) -> dict:
        """Canonical JSON-able form; ``parse_rule(r.to_dict()) == r``."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.list_type != "active":
            out["list"] = self.list_type
        if self.frozen_at is not None:
            out["frozen_at"] = self.frozen_at.isoformat()
        out.update(condition_to_dict(self.root))
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_english(self) -> str:
        """One readable sentence, e.g. "People who viewed the pricing page at least 2 times ..."."""
        if isinstance(self.root, All):
            body = ", and ".join(_english(c, True) for c in self.root.items)
        elif isinstance(self.root, Any_):
            body = "either " + ", or ".join(_english(c, True) for c in self.root.items)
        else:
            body = _english(self.root, True)
        text = f"People who {body}"
        if self.list_type == "static" and self.frozen_at is not None:
            text += f" (static list, frozen at {_fmt_ts(self.frozen_at)})"
        return text


# --------------------------------------------------------------------------- parsing


def parse_rule(obj: dict | str) -> Rule:
    """Parse rule JSON (a dict or JSON text) into a ``Rule``; raise ``RuleError`` with a path.

    The limits of :mod:`core.engine.rulelimits` are checked first, without recursion, so the
    recursive descent below never meets a structure deeper than ``max_json_depth``.
    """
    if isinstance(obj, (str, bytes, bytearray)):
        obj = read_json(obj)
    else:
        check_json(obj)
    if not isinstance(obj, Mapping):
        raise RuleError("$", f"a rule must be a JSON object, got {_type_name(obj)}")
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleError("$.name", "every rule needs a non-empty \"name\" string")
    description = obj.get("description", "")
    if not isinstance(description, str):
        raise RuleError("$.description", "description must be a string")
    list_type = obj.get("list", "active")
    if list_type not in LIST_TYPES:
        raise RuleError("$.list", f"unknown list type {list_type!r}; accepted: {', '.join(LIST_TYPES)}")
    frozen_at = None
    if obj.get("frozen_at") is not None:
        frozen_at = _parse_ts(obj["frozen_at"], "$.frozen_at")
    if list_type == "static" and frozen_at is None:
        raise RuleError("$.frozen_at", "a static list needs \"frozen_at\" (the ISO time it was frozen)")
    if list_type == "active" and frozen_at is not None:
        raise RuleError("$.frozen_at", "frozen_at only applies to \"list\": \"static\"")
    cond_part = {k: v for k, v in obj.items() if k not in _RULE_KEYS}
    if not cond_part:
        raise RuleError("$", "rule has no condition; " + _KINDS_HINT)
    root = _parse_condition(cond_part, "$", top=True)
    _check_condition_limits(root)
    return Rule(name=name, root=root, description=description, list_type=list_type,
                frozen_at=frozen_at)


def read_rule_file(path: str | Path) -> Rule:
    """Parse a rule file, refusing one over ``max_text_bytes`` before reading it into memory."""
    return parse_rule(read_rule_text(path))


def _check_condition_limits(root: Condition) -> None:
    """Number of leaf conditions and depth of all/any/not groups, walked with an explicit stack."""
    stack: list[tuple[Condition, str, int]] = [(root, "$", 0)]
    leaves = 0
    while stack:
        c, path, depth = stack.pop()
        if isinstance(c, (All, Any_, Not)):
            depth += 1
            if depth > LIMITS.max_condition_depth:
                raise limit_error(path, f"groups (all / any / not) nested more than "
                                        f"{LIMITS.max_condition_depth} deep", "max_condition_depth")
            if isinstance(c, Not):
                stack.append((c.item, f"{path}.not", depth))
            else:
                key = "all" if isinstance(c, All) else "any"
                children = [(item, f"{path}.{key}[{i}]", depth) for i, item in enumerate(c.items)]
                stack.extend(reversed(children))  # document order: the first condition over is named
        else:
            leaves += 1
            if leaves > LIMITS.max_conditions:
                raise limit_error(path, f"rule has more than {LIMITS.max_conditions} conditions",
                                  "max_conditions", "; split it into segments combined with in_segment")


_KINDS_HINT = ("expected one of: all, any, not, field, event, first (sequence), trait, in_segment")


def _parse_condition(obj: Any, path: str, top: bool = False) -> Condition:
    """Dispatch on the keys present; each kind checks its own keys so typos are reported."""
    if not isinstance(obj, Mapping):
        raise RuleError(path, f"a condition must be a JSON object, got {_type_name(obj)}")
    kinds = [k for k in obj if k in _KIND_KEYS]
    if len(kinds) > 1:
        raise RuleError(path, f"ambiguous condition with keys {', '.join(kinds)}; use one per "
                              "object and combine with all/any")
    kind = kinds[0] if kinds else ("event" if "event" in obj else None)
    if kind is None:
        extra = " (rule keys: name, description, list, frozen_at)" if top else ""
        raise RuleError(path, f"unrecognised condition keys {sorted(obj)}; {_KINDS_HINT}{extra}")
    if kind in _GROUP_KEYS:
        return _parse_group(obj, kind, path)
    if kind == "field":
        return _parse_field(obj, path)
    if kind == "event":
        return _parse_event(obj, path)
    if kind == "first":
        return _parse_sequence(obj, path)
    if kind == "trait":
        return _parse_trait(obj, path)
    if kind == "account":
        return _parse_account(obj, path)
    return _parse_segment(obj, kind, path)


def _parse_account(obj: Mapping, path: str) -> AccountCond:
    """``{"account": {"event": ..., "where": ...}, "within": "7d", "min_people": 3}``."""
    _check_keys(obj, ("account", "within", "min_people"), path, "an account condition")
    spec = _parse_eventspec_obj(obj["account"], _key_path(path, "account"))
    if "within" not in obj:
        raise RuleError(_key_path(path, "within"), "an account condition needs a window, e.g. \"within\": \"7d\"")
    within = _parse_duration(obj["within"], _key_path(path, "within"))
    people = _check_whole(obj.get("min_people", 2), _key_path(path, "min_people"),
                          "min_people must be a whole number of at least 1", 1, limit="max_count")
    return AccountCond(spec=spec, within=within, min_people=people)


def _check_keys(obj: Mapping, allowed: tuple[str, ...], path: str, what: str) -> None:
    for key in obj:
        if key not in allowed:
            raise RuleError(_key_path(path, key),
                            f"unknown key {key!r} in {what}; accepted: {', '.join(allowed)}")


def _parse_group(obj: Mapping, key: str, path: str) -> Condition:
    _check_keys(obj, (key,), path, f"a {_GROUP_KEYS[key]!r} group")
    canon = _GROUP_KEYS[key]
    sub = _key_path(path, canon)
    if canon == "not":
        return Not(_parse_condition(obj[key], sub))
    items = obj[key]
    if not isinstance(items, list):
        raise RuleError(sub, f"{canon!r} needs a list of conditions, got {_type_name(items)}")
    if not items:
        raise RuleError(sub, f"empty {canon!r} group; give at least one condition")
    parsed = tuple(_parse_condition(c, f"{sub}[{i}]") for i, c in enumerate(items))
    return All(parsed) if canon == "all" else Any_(parsed)


def _parse_field(obj: Mapping, path: str) -> FieldCond:
    _check_keys(obj, ("field", "op", "value"), path, "a field condition")
    name = obj["field"]
    if not isinstance(name, str) or not name:
        raise RuleError(_key_path(path, "field"), "field must be a non-empty string")
    if "op" not in obj:
        raise RuleError(path, f"field condition needs \"op\"; accepted: {', '.join(FIELD_OPS)}")
    op = _norm_op(obj["op"], FIELD_OPS, _key_path(path, "op"))
    vpath = _key_path(path, "value")
    value = obj.get("value")
    if op in NO_VALUE_OPS:
        if value is not None:
            raise RuleError(vpath, f"{op} takes no value")
        return FieldCond(name, op, None)
    if "value" not in obj or value is None:
        raise RuleError(vpath, f"op {op!r} needs a value")
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            raise RuleError(vpath, f"op {op!r} needs a non-empty list of values")
        if len(value) > LIMITS.max_list_values:
            raise limit_error(vpath, f"{len(value):,} values in one list", "max_list_values")
        for i, v in enumerate(value):
            _check_scalar(v, f"{vpath}[{i}]")
        return FieldCond(name, op, tuple(value))
    _check_scalar(value, vpath)
    if op in ("before", "after"):
        _parse_ts(value, vpath)
    if op == "within_last_days":
        _check_whole(value, vpath, "within_last_days needs a whole number of days > 0", minimum=1,
                     limit="max_window_days")
    return FieldCond(name, op, value)


def _parse_event(obj: Mapping, path: str) -> EventCond:
    _check_keys(obj, ("event", "where", "count", "within", "between"), path, "an event condition")
    spec = _parse_spec(obj, path)
    count_op, count = "gte", 1
    if "count" in obj:
        count_op, count = _parse_count(obj["count"], _key_path(path, "count"))
    if "within" in obj and "between" in obj:
        raise RuleError(path, "use either \"within\" or \"between\", not both")
    within = _parse_duration(obj["within"], _key_path(path, "within")) if "within" in obj else None
    between = _parse_between(obj["between"], _key_path(path, "between")) if "between" in obj else None
    return EventCond(spec, count_op, count, within, between)


def _parse_spec(obj: Mapping, path: str) -> EventSpec:
    event = obj.get("event")
    if not isinstance(event, str) or not event:
        raise RuleError(_key_path(path, "event"), "event must be a non-empty event type string")
    where = _parse_where(obj["where"], _key_path(path, "where")) if "where" in obj else Where()
    return EventSpec(event, where)


def _parse_eventspec_obj(obj: Any, path: str) -> EventSpec:
    if not isinstance(obj, Mapping):
        raise RuleError(path, f"expected an event spec object like {{\"event\": \"add_to_cart\"}}, "
                              f"got {_type_name(obj)}")
    _check_keys(obj, ("event", "where"), path, "an event spec")
    return _parse_spec(obj, path)


def _parse_where(obj: Any, path: str) -> Where:
    if not isinstance(obj, Mapping):
        raise RuleError(path, f"where must be an object, got {_type_name(obj)}")
    _check_keys(obj, ("page", "channel", "value"), path, "where")
    pages = _str_or_list(obj["page"], _key_path(path, "page")) if "page" in obj else ()
    channels = _str_or_list(obj["channel"], _key_path(path, "channel")) if "channel" in obj else ()
    bounds: tuple[tuple[str, float], ...] = ()
    if "value" in obj:
        vpath = _key_path(path, "value")
        raw = obj["value"]
        if not isinstance(raw, Mapping) or not raw:
            raise RuleError(vpath, "value filter must be an object like {\"gte\": 100}; "
                                   f"accepted ops: {', '.join(COMPARE_OPS)}")
        out = []
        for k, v in raw.items():
            op = _norm_op(k, COMPARE_OPS, _key_path(vpath, str(k)))
            if not _is_number(v):
                raise RuleError(_key_path(vpath, str(k)), f"value bound must be a number, got {v!r}")
            out.append((op, v))
        bounds = tuple(out)
    return Where(pages, channels, bounds)


def _parse_sequence(obj: Mapping, path: str) -> Sequence:
    negated = "then_not" in obj
    if negated and "then" in obj:
        raise RuleError(path, "use either \"then\" or \"then_not\", not both")
    second = "then_not" if negated else "then"
    _check_keys(obj, ("first", second, "within", "lookback"), path, "a sequence")
    if second not in obj:
        raise RuleError(path, "a sequence needs \"then\" or \"then_not\" after \"first\"")
    if "within" not in obj:
        raise RuleError(path, "a sequence needs \"within\" (e.g. \"1h\")")
    first = _parse_eventspec_obj(obj["first"], _key_path(path, "first"))
    then = _parse_eventspec_obj(obj[second], _key_path(path, second))
    within = _parse_duration(obj["within"], _key_path(path, "within"))
    lookback = Duration(30, "d")
    if "lookback" in obj:
        lookback = _parse_duration(obj["lookback"], _key_path(path, "lookback"))
    if negated and lookback.seconds <= within.seconds:
        raise RuleError(_key_path(path, "lookback"),
                        f"lookback ({lookback.text()}) must be longer than within ({within.text()}) "
                        "or no first event can have passed its deadline")
    return Sequence(first, then, within, lookback, negated)


_TRAIT_KEYS = {
    "days_since_last": (("op", "value"), ()),
    "count": (("days", "op", "value"), ()),
    "total_value": (("op", "value"), ("days",)),
    "first_time": (("within",), ()),
    "stopped": (("within", "before"), ()),
}


def _parse_trait(obj: Mapping, path: str) -> Trait:
    kind = obj["trait"]
    tpath = _key_path(path, "trait")
    if kind not in TRAITS:
        raise RuleError(tpath, f"unknown trait {kind!r}; accepted: {', '.join(TRAITS)}")
    required, optional = _TRAIT_KEYS[kind]
    _check_keys(obj, ("trait", "event", "where", *required, *optional), path, f"trait {kind!r}")
    for key in ("event", *required):
        if key not in obj:
            raise RuleError(path, f"trait {kind!r} needs {key!r}")
    spec = _parse_spec(obj, path)
    op = value = days = within = before = None
    if "op" in obj:
        op = _norm_op(obj["op"], COMPARE_OPS, _key_path(path, "op"))
        value = obj["value"]
        vpath = _key_path(path, "value")
        if kind in ("days_since_last", "count"):
            _check_whole(value, vpath, f"{kind} value must be a whole number >= 0", minimum=0,
                         limit="max_window_days" if kind == "days_since_last" else "max_count")
        elif not _is_number(value):
            raise RuleError(vpath, f"{kind} value must be a number, got {value!r}")
    if "days" in obj:
        days = _check_whole(obj["days"], _key_path(path, "days"),
                            "days must be a whole number > 0", minimum=1, limit="max_window_days")
    if "within" in obj:
        within = _parse_duration(obj["within"], _key_path(path, "within"))
    if "before" in obj:
        before = _parse_duration(obj["before"], _key_path(path, "before"))
    return Trait(kind, spec, op, value, days, within, before)


def _parse_segment(obj: Mapping, key: str, path: str) -> InSegment:
    _check_keys(obj, (key,), path, "a segment reference")
    name = obj[key]
    if not isinstance(name, str) or not name:
        raise RuleError(_key_path(path, key), "in_segment needs the name of another rule")
    return InSegment(name)


# --------------------------------------------------------------------------- parse helpers


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}"


def _type_name(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_scalar(v: Any, path: str) -> None:
    if not isinstance(v, (str, int, float, bool)):
        raise RuleError(path, f"expected a string, number or boolean, got {_type_name(v)}")


def _check_whole(v: Any, path: str, message: str, minimum: int, limit: str | None = None) -> int:
    """A whole number >= ``minimum`` and, given ``limit`` (a Limits name), at most that limit."""
    if not _is_number(v) or not math.isfinite(v) or int(v) != v or v < minimum:
        raise RuleError(path, f"{message}, got {v!r}")
    if limit is not None and v > getattr(LIMITS, limit):
        unit = " days" if limit == "max_window_days" else ""
        raise limit_error(path, f"{int(v):,}{unit} is too many", limit)
    return int(v)


def _str_or_list(v: Any, path: str) -> tuple[str, ...]:
    items = v if isinstance(v, list) else [v]
    if not items:
        raise RuleError(path, "needs a string or a non-empty list of strings")
    if len(items) > LIMITS.max_list_values:
        raise limit_error(path, f"{len(items):,} values in one list", "max_list_values")
    for i, item in enumerate(items):
        if not isinstance(item, str):
            sub = f"{path}[{i}]" if isinstance(v, list) else path
            raise RuleError(sub, f"expected a string, got {_type_name(item)}")
    return tuple(items)


def _norm_op(raw: Any, accepted: tuple[str, ...], path: str) -> str:
    if not isinstance(raw, str):
        raise RuleError(path, f"op must be a string; accepted: {', '.join(accepted)}")
    key = re.sub(r"[\s\-]+", "_", raw.strip().lower())
    op = _OP_ALIASES.get(key, key)
    if op not in accepted:
        raise RuleError(path, f"unknown op {raw!r}; accepted: {', '.join(accepted)}")
    return op


def _parse_count(raw: Any, path: str) -> tuple[str, int]:
    if _is_number(raw):  # "count": 2 is read as "at least 2"
        return "gte", _check_whole(raw, path, "count must be a whole number >= 0", minimum=0,
                                   limit="max_count")
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise RuleError(path, "count must be an object with one bound, e.g. {\"gte\": 2}; "
                              f"accepted: {', '.join(COUNT_OPS)}")
    (key, value), = raw.items()
    op = _norm_op(key, COUNT_OPS, _key_path(path, str(key)))
    n = _check_whole(value, _key_path(path, str(key)), "count must be a whole number >= 0", minimum=0,
                     limit="max_count")
    return op, n


def _parse_duration(raw: Any, path: str) -> Duration:
    """Only ``<int><m|h|d>``: one obvious spelling, so a window can never be misread."""
    m = _DURATION_RE.match(raw.strip()) if isinstance(raw, str) else None
    if m is None:
        raise RuleError(path, f"unparseable duration {raw!r}; use a whole number followed by m, h "
                              "or d (e.g. 30m, 48h, 7d)")
    amount = int(m.group(1))  # at most max_string_chars digits, far below Python's 4,300
    if amount <= 0:
        raise RuleError(path, f"duration {raw!r} must be greater than zero")
    duration = Duration(amount, m.group(2))
    if duration.seconds > LIMITS.max_window_days * 86400:
        shown = raw.strip() if len(raw) <= 24 else raw.strip()[:20] + "…"
        raise limit_error(path, f"window {shown!r} is longer than {LIMITS.max_window_days:,} days",
                          "max_window_days")
    return duration


def _parse_ts(raw: Any, path: str) -> pd.Timestamp:
    """ISO time -> UTC timestamp; naive times are read as UTC."""
    if isinstance(raw, dt.datetime):  # Python callers may pass a datetime / pd.Timestamp
        raw = pd.Timestamp(raw).isoformat()
    if not isinstance(raw, str):
        raise RuleError(path, f"expected an ISO date/time string like \"2024-05-01T00:00:00Z\", got {raw!r}")
    try:
        ts = pd.Timestamp(raw)
    except (ValueError, TypeError, OverflowError):
        ts = None
    if ts is None or ts is pd.NaT:
        raise RuleError(path, f"unparseable date/time {raw!r}; use ISO 8601, e.g. \"2024-05-01\" or "
                              "\"2024-05-01T12:00:00Z\"")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _parse_between(raw: Any, path: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    if not isinstance(raw, list) or len(raw) != 2:
        raise RuleError(path, "between needs a list of two ISO times [start, end]")
    start = _parse_ts(raw[0], f"{path}[0]")
    end = _parse_ts(raw[1], f"{path}[1]")
    if not start < end:
        raise RuleError(path, "between start must be before its end")
    return start, end


# --------------------------------------------------------------------------- to_dict


def iter_conditions(c: Condition):
    """Every condition in a tree, depth first (segment references are not followed)."""
    yield c
    if isinstance(c, (All, Any_)):
        for item in c.items:
            yield from iter_conditions(item)
    elif isinstance(c, Not):
        yield from iter_conditions(c.item)


def condition_to_dict(c: Condition) -> dict:
    """Canonical JSON for one condition (canonical keys, canonical ops)."""
    if isinstance(c, All):
        return {"all": [condition_to_dict(i) for i in c.items]}
    if isinstance(c, Any_):
        return {"any": [condition_to_dict(i) for i in c.items]}
    if isinstance(c, Not):
        return {"not": condition_to_dict(c.item)}
    if isinstance(c, FieldCond):
        out: dict[str, Any] = {"field": c.field, "op": c.op}
        if c.value is not None:
            out["value"] = list(c.value) if isinstance(c.value, tuple) else c.value
        return out
    if isinstance(c, EventCond):
        out = _spec_to_dict(c.spec)
        if (c.count_op, c.count) != ("gte", 1):
            out["count"] = {c.count_op: c.count}
        if c.within is not None:
            out["within"] = c.within.text()
        if c.between is not None:
            out["between"] = [c.between[0].isoformat(), c.between[1].isoformat()]
        return out
    if isinstance(c, Sequence):
        out = {"first": _spec_to_dict(c.first),
               ("then_not" if c.negated else "then"): _spec_to_dict(c.then),
               "within": c.within.text()}
        if c.lookback != Duration(30, "d"):
            out["lookback"] = c.lookback.text()
        return out
    if isinstance(c, Trait):
        out = {"trait": c.kind, **_spec_to_dict(c.spec)}
        for key in ("days", "op", "value"):
            if getattr(c, key) is not None:
                out[key] = getattr(c, key)
        for key in ("within", "before"):
            if getattr(c, key) is not None:
                out[key] = getattr(c, key).text()
        return out
    if isinstance(c, AccountCond):
        return {"account": _spec_to_dict(c.spec), "within": c.within.text(), "min_people": c.min_people}
    if isinstance(c, InSegment):
        return {"in_segment": c.name}
    raise TypeError(f"not a condition: {c!r}")


def _spec_to_dict(spec: EventSpec) -> dict:
    out: dict[str, Any] = {"event": spec.event}
    w = spec.where
    if not w.is_empty():
        where: dict[str, Any] = {}
        if w.pages:
            where["page"] = w.pages[0] if len(w.pages) == 1 else list(w.pages)
        if w.channels:
            where["channel"] = w.channels[0] if len(w.channels) == 1 else list(w.channels)
        if w.value:
            where["value"] = dict(w.value)
        out["where"] = where
    return out


# --------------------------------------------------------------------------- validation


def validate(rule: Rule, schema: ViewSchema, registry: Mapping[str, Rule] | None = None) -> None:
    """Check every name against the view and every segment reference against the registry.

    Done separately from parsing because the same rule is evaluated on several views (a field
    known to the CRM may not exist in the CDP view) and because SQL only ever receives names that
    passed this check.
    """
    _validate(rule.root, "$", schema, registry or {}, (rule.name,), [0])


def _validate(c: Condition, path: str, schema: ViewSchema, registry: Mapping[str, Rule],
              stack: tuple[str, ...], leaves: list[int]) -> None:
    """``leaves`` counts conditions with segments inlined, as the compiler will inline them: a
    segment used 100 times by a segment used 100 times would otherwise compile to 10,000."""
    if isinstance(c, (All, Any_)):
        key = "all" if isinstance(c, All) else "any"
        for i, item in enumerate(c.items):
            _validate(item, f"{path}.{key}[{i}]", schema, registry, stack, leaves)
        return
    if isinstance(c, Not):
        _validate(c.item, f"{path}.not", schema, registry, stack, leaves)
        return
    if not isinstance(c, InSegment):
        leaves[0] += 1
        if leaves[0] > LIMITS.max_conditions:
            raise limit_error(path, f"with its segments inlined the rule has more than "
                                    f"{LIMITS.max_conditions} conditions", "max_conditions")
    if isinstance(c, FieldCond):
        _validate_field(c, path, schema)
    elif isinstance(c, EventCond):
        _require_events(path, schema)
        _validate_spec(c.spec, path, schema)
    elif isinstance(c, Sequence):
        _require_events(path, schema)
        _validate_spec(c.first, f"{path}.first", schema)
        _validate_spec(c.then, f"{path}.then_not" if c.negated else f"{path}.then", schema)
    elif isinstance(c, Trait):
        _require_events(path, schema)
        _validate_spec(c.spec, path, schema)
    elif isinstance(c, AccountCond):
        _require_events(path, schema)
        if not schema.has_accounts:
            raise RuleError(path, f"the {schema.name} view does not know which account people belong to")
        _validate_spec(c.spec, f"{path}.account", schema)
    elif isinstance(c, InSegment):
        _validate_segment(c, path, schema, registry, stack, leaves)
    else:
        raise RuleError(path, f"not a condition: {c!r}")


def _accepted(values: Any, given: Any = None) -> str:
    """The sorted accepted names, plus a "did you mean" when the typo is close to one."""
    if not values:
        return "(none)"
    text = ", ".join(sorted(values))
    if isinstance(given, str):
        close = difflib.get_close_matches(given, sorted(values), n=1, cutoff=0.75)
        if close:
            text += f" (did you mean {close[0]!r}?)"
    return text


def _require_events(path: str, schema: ViewSchema) -> None:
    if not schema.has_events:
        raise RuleError(path, f"the {schema.name} view has no event stream; use field conditions")


def _validate_spec(spec: EventSpec, path: str, schema: ViewSchema) -> None:
    if spec.event not in schema.event_types:
        raise RuleError(f"{path}.event", f"unknown event type {spec.event!r}; accepted: "
                                         f"{_accepted(schema.event_types, spec.event)}")
    w = spec.where
    for i, page in enumerate(w.pages):
        if page not in schema.pages:
            sub = f"{path}.where.page" + (f"[{i}]" if len(w.pages) > 1 else "")
            raise RuleError(sub, f"unknown page {page!r}; accepted: {_accepted(schema.pages, page)}")
    for i, channel in enumerate(w.channels):
        if channel not in schema.channels:
            sub = f"{path}.where.channel" + (f"[{i}]" if len(w.channels) > 1 else "")
            raise RuleError(sub, f"unknown channel {channel!r}; accepted: "
                                 f"{_accepted(schema.channels, channel)}")


def _validate_field(c: FieldCond, path: str, schema: ViewSchema) -> None:
    if c.field not in schema.fields:
        raise RuleError(f"{path}.field", f"unknown field {c.field!r} in the {schema.name} view; "
                                         f"accepted: {_accepted(schema.fields, c.field)}")
    ftype = schema.fields[c.field]
    ops = OPS_BY_TYPE[ftype]
    if c.op not in ops:
        raise RuleError(f"{path}.op", f"op {c.op!r} is not valid for {ftype} field {c.field!r}; "
                                      f"accepted: {', '.join(ops)}")
    if c.op in NO_VALUE_OPS:
        return
    vpath = f"{path}.value"
    values = c.value if isinstance(c.value, tuple) else (c.value,)
    for i, v in enumerate(values):
        sub = f"{vpath}[{i}]" if isinstance(c.value, tuple) else vpath
        _check_field_value(v, ftype, c, sub)


def _check_field_value(v: Any, ftype: str, c: FieldCond, path: str) -> None:
    ok = {
        "text": isinstance(v, str),
        "number": _is_number(v),
        "bool": isinstance(v, bool),
        "date": (_is_number(v) if c.op == "within_last_days" else isinstance(v, str)),
    }[ftype]
    if not ok:
        want = {"text": "a string", "number": "a number", "bool": "true or false",
                "date": "a whole number of days" if c.op == "within_last_days" else "an ISO date"}
        raise RuleError(path, f"{ftype} field {c.field!r} needs {want[ftype]}, got {v!r}")


def _validate_segment(c: InSegment, path: str, schema: ViewSchema, registry: Mapping[str, Rule],
                      stack: tuple[str, ...], leaves: list[int]) -> None:
    if c.name in stack:
        cycle = " -> ".join((*stack[stack.index(c.name):], c.name))
        raise RuleError(f"{path}.in_segment", f"circular segment reference: {cycle}")
    if len(stack) > LIMITS.max_segment_depth:
        raise limit_error(f"{path}.in_segment", f"segments reference each other more than "
                                                f"{LIMITS.max_segment_depth} deep", "max_segment_depth")
    if c.name not in registry:
        raise RuleError(f"{path}.in_segment", f"unknown segment {c.name!r}; accepted: "
                                              f"{_accepted(registry, c.name)}")
    ref = registry[c.name]
    try:
        _validate(ref.root, "$", schema, registry, (*stack, c.name), leaves)
    except RuleError as exc:
        if exc.detail.startswith(("circular segment reference", "segments reference each other",
                                  "with its segments inlined")):
            raise RuleError(f"{path}.in_segment", exc.detail) from None
        raise RuleError(f"{path}.in_segment",
                        f"in segment {c.name!r} at {exc.path}: {exc.detail}") from None


def resolve_segment(name: str, registry: Mapping[str, Rule] | None) -> Rule:
    """The rule a reference points at (after ``validate`` this cannot fail)."""
    if not registry or name not in registry:
        raise RuleError("$", f"unknown segment {name!r}; accepted: {_accepted(registry or {})}")
    return registry[name]


# --------------------------------------------------------------------------- English

# event type -> (past tense, base form) of a verb phrase, e.g. "started checkout"
_VERBS = {
    "page_view": ("viewed", "view"),
    "form_submit": ("submitted a form", "submit a form"),
    "demo_requested": ("requested a demo", "request a demo"),
    "webinar_attended": ("attended a webinar", "attend a webinar"),
    "signup": ("signed up", "sign up"),
    "login": ("logged in", "log in"),
    "trial_started": ("started a trial", "start a trial"),
    "feature_used": ("used a feature", "use a feature"),
    "add_to_cart": ("added to cart", "add to cart"),
    "checkout_started": ("started checkout", "start checkout"),
    "purchase": ("purchased", "purchase"),
    "email_open": ("opened an email", "open an email"),
    "email_click": ("clicked an email", "click an email"),
    "ad_click": ("clicked an ad", "click an ad"),
    "sales_meeting": ("had a sales meeting", "have a sales meeting"),
    "upgrade": ("upgraded", "upgrade"),
    "store_visit": ("visited a store", "visit a store"),
}
_CMP_WORDS = {"eq": "exactly", "neq": "other than", "gt": "more than", "gte": "at least",
              "lt": "fewer than", "lte": "at most"}
_NUM_WORDS = {"eq": "equal to", "neq": "not equal to", "gt": "greater than", "gte": "at least",
              "lt": "less than", "lte": "at most"}


def _fmt_ts(ts: pd.Timestamp) -> str:
    if ts == ts.normalize():
        return ts.strftime("%Y-%m-%d")
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f"\"{v}\""
    return f"{v:g}" if isinstance(v, float) else str(v)


def _or_list(items: tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _spec_phrase(spec: EventSpec, negative: bool) -> str:
    """"viewed the pricing page" / "did not start checkout" plus channel and value filters."""
    past, base = _VERBS.get(spec.event, (f"performed {spec.event}", f"perform {spec.event}"))
    if spec.event == "page_view":
        obj = f" the {_or_list(spec.where.pages)} page" if spec.where.pages else " a page"
        past, base = past + obj, base + obj
    text = f"did not {base}" if negative else past
    if spec.where.channels:
        text += f" via {_or_list(spec.where.channels)}"
    for op, v in spec.where.value:
        text += f" with value {_NUM_WORDS[op]} {_fmt_value(v)}"
    if spec.where.pages and spec.event != "page_view":
        text += f" on the {_or_list(spec.where.pages)} page"
    return text


def _window_phrase(c: EventCond) -> str:
    if c.within is not None:
        return f" in the last {c.within.english()}"
    if c.between is not None:
        return f" between {_fmt_ts(c.between[0])} and {_fmt_ts(c.between[1])}"
    return ""


def _count_phrase(op: str, n: int) -> str:
    if (op, n) == ("gte", 1):
        return ""
    return f" {_CMP_WORDS[op]} {n} time" + ("" if n == 1 else "s")


def _field_phrase(c: FieldCond, negative: bool) -> str:
    name = c.field
    have = "do not have" if negative else "have"
    v = c.value
    if c.op == "is_set":
        return f"{have} {name} set"
    if c.op == "is_not_set":
        return f"have {name} set" if negative else f"do not have {name} set"
    rest = {
        "eq": lambda: f"equal to {_fmt_value(v)}",
        "neq": lambda: f"set and not equal to {_fmt_value(v)}",
        "in": lambda: "equal to " + _or_list(tuple(_fmt_value(x) for x in v)),
        "not_in": lambda: "set and not equal to " + _or_list(tuple(_fmt_value(x) for x in v)),
        "contains": lambda: f"containing {_fmt_value(v)}",
        "gt": lambda: f"greater than {_fmt_value(v)}",
        "gte": lambda: f"at least {_fmt_value(v)}",
        "lt": lambda: f"less than {_fmt_value(v)}",
        "lte": lambda: f"at most {_fmt_value(v)}",
        "before": lambda: f"before {v}",
        "after": lambda: f"after {v}",
        "within_last_days": lambda: f"within the last {v} day" + ("" if v == 1 else "s"),
    }[c.op]()
    return f"{have} {name} {rest}"


def _trait_phrase(c: Trait, negative: bool) -> str:
    noun = c.spec.event.replace("_", " ")
    if c.spec.where.pages:
        noun += f" ({_or_list(c.spec.where.pages)} page)"
    if c.spec.where.channels:
        noun += f" via {_or_list(c.spec.where.channels)}"
    have = "do not have" if negative else "have"
    if c.kind == "days_since_last":
        return f"{have} days since last {noun} {_NUM_WORDS[c.op]} {_fmt_value(c.value)}"
    if c.kind == "count":
        return (f"{have} a count of {noun} in the last {c.days} day{'s' if c.days != 1 else ''} "
                f"{_NUM_WORDS[c.op]} {_fmt_value(c.value)}")
    if c.kind == "total_value":
        span = f" in the last {c.days} day{'s' if c.days != 1 else ''}" if c.days else ""
        return f"{have} a total {noun} value{span} {_NUM_WORDS[c.op]} {_fmt_value(c.value)}"
    past = _spec_phrase(c.spec, False)
    if c.kind == "first_time":
        text = f"{past} for the first time in the last {c.within.english()}"
        return f"did not satisfy: {text}" if negative else text
    text = (f"stopped: {past} in the {c.before.english()} before the last {c.within.english()}, "
            f"but not in the last {c.within.english()}")
    return f"did not satisfy: {text}" if negative else text


def _english(c: Condition, positive: bool) -> str:
    """A verb phrase that completes "People who ..."; ``positive`` False gives its negation."""
    if isinstance(c, Not):
        return _english(c.item, not positive)
    if isinstance(c, (All, Any_)):
        joiner = " and " if isinstance(c, All) else " or "
        inner = "(" + joiner.join(_english(i, True) for i in c.items) + ")"
        if positive:
            return inner if len(c.items) > 1 else inner[1:-1]
        return ("do not match all of " if isinstance(c, All) else "match none of ") + inner
    if isinstance(c, FieldCond):
        return _field_phrase(c, not positive)
    if isinstance(c, EventCond):
        return (_spec_phrase(c.spec, not positive) + _count_phrase(c.count_op, c.count)
                + _window_phrase(c))
    if isinstance(c, Sequence):
        lead = "did not satisfy: " if not positive else ""
        second = _spec_phrase(c.then, c.negated)
        if c.negated:
            second += f" within {c.within.english()} afterwards"
        else:
            second = "then " + second + f" within {c.within.english()}"
        return (f"{lead}{_spec_phrase(c.first, False)} and {second} "
                f"(first event in the last {c.lookback.english()})")
    if isinstance(c, Trait):
        return _trait_phrase(c, not positive)
    if isinstance(c, AccountCond):
        lead = "" if positive else "do not "
        return (f"{lead}work at an account where at least {c.min_people} people "
                f"{_spec_phrase(c.spec, False)} in the last {c.within.english()}")
    if isinstance(c, InSegment):
        return f"are in segment \"{c.name}\"" if positive else f"are not in segment \"{c.name}\""
    raise TypeError(f"not a condition: {c!r}")


__all__ = [
    "AccountCond", "All", "Any_", "Condition", "Duration", "EventCond", "EventSpec", "FieldCond", "InSegment",
    "Not", "Rule", "Sequence", "Trait", "Where", "condition_to_dict", "iter_conditions", "parse_rule",
    "read_rule_file", "resolve_segment", "validate", "LIMITS", "COMPARE_OPS", "COUNT_OPS", "FIELD_OPS", "OPS_BY_TYPE",
    "TRAITS",
]
