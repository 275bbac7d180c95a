"""Which source column feeds which field, and how event names translate: detected, then overridden.

``--map FIELD=COLUMN`` always wins over detection (``--map FIELD=`` removes a detected field);
``--event-map SOURCE=TARGET`` adds to or replaces the layout's default event map, where TARGET is
an event type, optionally with a page (``"Product Viewed=page_view/product"``). Event names not in
the map are kept under their own names. The result is a frozen value, so the dashboard can show it
in select boxes, let a person fix it and hand it back unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from core.errors import DataError, UserError
from core.ingest.formats import (CRM_FIELDS, EVENT_FIELDS, FORMAT_NAMES, FORMATS, GENERIC_COLUMNS,
                                 GENERIC_CRM_COLUMNS, IDENTIFIER_FIELDS, detect_format, norm)

MAX_NAME = 200


def parse_pairs(items: Iterable[str] | None, flag: str, key_name: str, value_name: str,
                split_last: bool = False) -> dict[str, str]:
    """``KEY=VALUE`` strings → dict (later ones win), with one clear line for anything else."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"{flag} expects {key_name}={value_name} (got {item!r})")
        key, _, value = item.rpartition("=") if split_last else item.partition("=")
        key, value = key.strip(), value.strip()
        if not key:
            raise UserError(f"{flag} expects {key_name}={value_name} (got {item!r}: the {key_name} is empty)")
        if len(key) > MAX_NAME or len(value) > MAX_NAME:
            raise UserError(f"{flag} {item[:40]!r}…: names are limited to {MAX_NAME} characters")
        out[key] = value
    return out


def parse_event_map(items: Iterable[str] | None) -> dict[str, str]:
    """``--event-map SOURCE=TARGET[/PAGE]`` → dict; the target must name an event."""
    pairs = parse_pairs(items, "--event-map", "SOURCE", "TARGET", split_last=True)
    for source, target in pairs.items():
        event, _, page = target.partition("/")
        if not event.strip():
            raise UserError(f"--event-map {source}={target}: the target event is empty (e.g. {source}=page_view)")
    return pairs


@dataclass(frozen=True)
class ColumnMapping:
    """The mapping one import uses: ``field → source column`` plus the event-name translation."""

    format: str
    detected: bool                                   # True when --format auto chose the layout
    columns: tuple[tuple[str, str], ...]             # (field, source column), in EVENT_FIELDS order
    origin: tuple[tuple[str, str], ...]              # (field, 'layout' | 'common name' | '--map')
    event_map: tuple[tuple[str, str], ...] = ()      # (source name, target 'type' or 'type/page')
    constant_event: str | None = None                # every row is this event (a log without event names)
    unused: tuple[str, ...] = ()                     # source columns no field reads
    session_scope: str | None = None
    user_is_anonymous_when_equal: bool = False

    def column(self, name: str) -> str | None:
        return dict(self.columns).get(name)

    def targets(self) -> list[tuple[str, str, str | None]]:
        """``(source, event_type, page or None)`` for every event-map entry."""
        out = []
        for source, target in self.event_map:
            event, _, page = target.partition("/")
            out.append((source, event.strip(), page.strip() or None))
        return out

    def lines(self) -> list[str]:
        """The mapping as a person reads it (printed by the CLI, shown by the page)."""
        how = "detected" if self.detected else "chosen"
        out = [f"format: {self.format} ({FORMATS[self.format].title}; {how})"]
        origin = dict(self.origin)
        for name, col in self.columns:
            out.append(f"  {name:<13} <- {col}  [{origin.get(name, '')}]")
        if self.constant_event:
            out.append(f"  {'event':<13} <- every row is {self.constant_event!r}  [--event]")
        if self.event_map:
            shown = ", ".join(f"{s} -> {t}" for s, t in self.event_map[:12])
            more = f" (+{len(self.event_map) - 12} more)" if len(self.event_map) > 12 else ""
            out.append(f"  event names: {shown}{more}; other names kept as they are")
        if self.unused:
            shown = ", ".join(self.unused[:15]) + (f" (+{len(self.unused) - 15} more)" if len(self.unused) > 15 else "")
            out.append(f"  columns not used: {shown}")
        return out

    def to_dict(self) -> dict:
        return {"format": self.format, "detected": self.detected, "columns": dict(self.columns),
                "origin": dict(self.origin), "event_map": dict(self.event_map),
                "constant_event": self.constant_event, "unused": list(self.unused)}


def _find(columns: tuple[str, ...], wanted: str) -> str | None:
    """A source column by exact, then case-insensitive, then normalised name."""
    if wanted in columns:
        return wanted
    low = [c for c in columns if c.lower() == wanted.lower()]
    if low:
        return low[0]
    n = norm(wanted)
    same = [c for c in columns if norm(c) == n] if n else []
    return same[0] if same else None


def _listing(columns: tuple[str, ...]) -> str:
    shown = ", ".join(columns[:40])
    return shown + (f", … ({len(columns)} columns)" if len(columns) > 40 else "")


def resolve_mapping(columns: tuple[str, ...], fmt: str = "auto", overrides: Mapping[str, str] | None = None,
                    event_overrides: Mapping[str, str] | None = None, constant_event: str | None = None,
                    label: str = "the events file", time_columns: tuple[str, ...] = ()) -> ColumnMapping:
    """Detect (or take) the layout, pick a column per field, apply ``--map`` and ``--event-map``.

    Raises a one-line error when a required field cannot be found: a timestamp, an event name (or
    ``constant_event``, or an order id: every order is a purchase), and at least one identifier.
    ``time_columns`` are columns whose values read as times (:func:`core.ingest.importer.preview`
    finds them), used for the timestamp when no column name says it.
    """
    if fmt not in FORMAT_NAMES:
        raise UserError(f"unknown format {fmt!r}; accepted: {', '.join(FORMAT_NAMES)}")
    overrides = dict(overrides or {})
    bad = [k for k in overrides if k not in EVENT_FIELDS]
    if bad:
        raise UserError(f"--map {bad[0]}=…: unknown field {bad[0]!r}; accepted: {', '.join(EVENT_FIELDS)}")
    if constant_event is not None:
        constant_event = constant_event.strip()
        if not constant_event or len(constant_event) > MAX_NAME:
            raise UserError("--event needs an event name, e.g. --event purchase")
        if overrides.get("event"):
            raise UserError("use either --map event=COLUMN or --event NAME, not both")
    detected = fmt == "auto"
    name = detect_format(columns) if detected else fmt
    layout = FORMATS[name]
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(norm(c), c)
    chosen: dict[str, str] = {}
    origin: dict[str, str] = {}
    for field_name, column in overrides.items():  # explicit first, so detection never takes their columns
        if not column:
            continue
        found = _find(columns, column)
        if found is None:
            raise DataError(f"--map {field_name}={column}: {label} has no column {column!r}; "
                            f"columns found: {_listing(columns)}")
        chosen[field_name], origin[field_name] = found, "--map"
    used = set(chosen.values())
    for field_name in EVENT_FIELDS:
        if field_name in overrides or (field_name == "event" and constant_event):
            continue
        candidates = [(c, "layout") for c in layout.columns.get(field_name, ())]
        if field_name in layout.generic_fields:
            candidates += [(c, "common name") for c in GENERIC_COLUMNS[field_name]]
        for cand, how in candidates:
            col = by_norm.get(cand)
            if col is not None and col not in used:
                chosen[field_name], origin[field_name] = col, how
                used.add(col)
                break
    if "timestamp" not in chosen and "timestamp" not in overrides:
        free = [c for c in time_columns if c not in used]
        if free:
            chosen["timestamp"], origin["timestamp"] = free[0], "its values"
            used.add(free[0])
    if "timestamp" not in chosen:
        raise DataError(f"cannot find a time column in {label} (columns found: {_listing(columns)}); "
                        "name it with --map timestamp=COLUMN")
    if "order_id" in chosen and "event" in chosen and "event" not in overrides:
        used.discard(chosen.pop("event"))  # rows are order lines: every order is one purchase
        origin.pop("event", None)
    if "event" not in chosen and not constant_event and "order_id" not in chosen:
        raise DataError(f"cannot find an event-name column in {label} (columns found: {_listing(columns)}); "
                        "name it with --map event=COLUMN, or give every row one name with --event NAME (e.g. a purchase log)")
    if not any(f in chosen for f in IDENTIFIER_FIELDS):
        raise DataError(f"cannot find an identifier column in {label} (columns found: {_listing(columns)}); "
                        "name one with --map user_id=COLUMN, --map anonymous_id=COLUMN or --map email=COLUMN")
    events = dict(layout.event_map)
    events.update(event_overrides or {})
    ordered = tuple((f, chosen[f]) for f in EVENT_FIELDS if f in chosen)
    return ColumnMapping(
        format=name, detected=detected, columns=ordered,
        origin=tuple((f, origin[f]) for f, _ in ordered),
        event_map=tuple(sorted(events.items())), constant_event=constant_event,
        unused=tuple(c for c in columns if c not in used),
        session_scope=layout.session_scope if layout.session_scope in chosen and "session_id" in chosen else None,
        user_is_anonymous_when_equal=layout.user_is_anonymous_when_equal and "anonymous_id" in chosen and "user_id" in chosen,
    )


@dataclass(frozen=True)
class CrmMapping:
    """The CRM export's id, e-mail and time columns; every other column becomes a field."""

    columns: tuple[tuple[str, str], ...]
    origin: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, str], ...] = field(default=())   # (field name, source column)

    def column(self, name: str) -> str | None:
        return dict(self.columns).get(name)

    def lines(self) -> list[str]:
        origin = dict(self.origin)
        out = ["CRM contacts:"]
        out += [f"  {n:<13} <- {c}  [{origin.get(n, '')}]" for n, c in self.columns]
        names = ", ".join(f for f, _ in self.fields[:15]) + (f" (+{len(self.fields) - 15} more)" if len(self.fields) > 15 else "")
        out.append(f"  fields: {names or '(none besides the e-mail)'}")
        return out

    def to_dict(self) -> dict:
        return {"columns": dict(self.columns), "origin": dict(self.origin), "fields": dict(self.fields)}


def field_name(column: str) -> str:
    """A CRM column header as a rule-friendly field name: ``Lifecycle Stage`` → ``lifecycle_stage``."""
    import re

    name = re.sub(r"[^0-9a-zA-Z]+", "_", column.strip()).strip("_").lower()
    return (name or "field")[:MAX_NAME]


def resolve_crm_mapping(columns: tuple[str, ...], overrides: Mapping[str, str] | None = None,
                        label: str = "the CRM file") -> CrmMapping:
    """Pick the contact id, e-mail and time columns; name a field for every other column."""
    overrides = dict(overrides or {})
    bad = [k for k in overrides if k not in CRM_FIELDS]
    if bad:
        raise UserError(f"--crm-map {bad[0]}=…: unknown field {bad[0]!r}; accepted: {', '.join(CRM_FIELDS)}")
    chosen: dict[str, str] = {}
    origin: dict[str, str] = {}
    for name, column in overrides.items():
        if not column:
            continue
        found = _find(columns, column)
        if found is None:
            raise DataError(f"--crm-map {name}={column}: {label} has no column {column!r}; columns found: {_listing(columns)}")
        chosen[name], origin[name] = found, "--crm-map"
    used = set(chosen.values())
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(norm(c), c)
    for name in CRM_FIELDS:
        if name in overrides:
            continue
        for cand in GENERIC_CRM_COLUMNS[name]:
            col = by_norm.get(cand)
            if col is not None and col not in used:
                chosen[name], origin[name] = col, "common name"
                used.add(col)
                break
    if "email" not in chosen and "contact_id" not in chosen:
        raise DataError(f"cannot find a contact id or e-mail column in {label} (columns found: {_listing(columns)}); "
                        "name one with --crm-map contact_id=COLUMN or --crm-map email=COLUMN")
    fields: list[tuple[str, str]] = []
    taken = {"email"}
    for c in columns:
        if c in used:
            continue
        name = field_name(c)
        base, k = name, 2
        while name in taken:
            name = f"{base}_{k}"
            k += 1
        taken.add(name)
        fields.append((name, c))
    ordered = tuple((n, chosen[n]) for n in CRM_FIELDS if n in chosen)
    return CrmMapping(columns=ordered, origin=tuple((n, origin[n]) for n, _ in ordered), fields=tuple(fields))
