"""What a view lets a rule talk about: its fields (with types), event types, pages and channels.

The rule validator checks every name a user wrote against a ``ViewSchema`` before the SQL compiler
sees it, so names that reach SQL are always ones the view declared. The schema is frozen and
hashable so it can key caches (e.g. Streamlit's ``st.cache_data``) and be shared across threads.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

ViewName = Literal["truth", "crm", "cdp", "hybrid"]
FieldType = Literal["text", "number", "date", "bool"]

VIEW_NAMES: frozenset[str] = frozenset({"truth", "crm", "cdp", "hybrid"})
FIELD_TYPES: frozenset[str] = frozenset({"text", "number", "date", "bool"})

# The event vocabulary of the simulated worlds (synthetic/ generates exactly these).
EVENT_TYPES: frozenset[str] = frozenset({
    "page_view", "form_submit", "demo_requested", "webinar_attended", "signup", "login",
    "trial_started", "feature_used", "add_to_cart", "checkout_started", "purchase", "email_open",
    "email_click", "ad_click", "sales_meeting", "upgrade", "store_visit",
})
PAGES: frozenset[str] = frozenset({
    "home", "product", "category", "pricing", "docs", "blog", "case_study", "cart", "checkout",
    "signup",
})
CHANNELS: frozenset[str] = frozenset({"web", "app", "email", "ads", "sales", "store", "webinar"})


class FieldTypes(Mapping[str, str]):
    """An immutable, hashable ``field name -> type`` mapping.

    A plain dict would make the frozen dataclass unhashable; a MappingProxyType is not hashable
    either. Stored as a sorted tuple of pairs so equal schemas hash equal regardless of the
    order in which fields were declared.
    """

    __slots__ = ("_pairs", "_map")

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = tuple(sorted(dict(items).items()))
        for name, ftype in pairs:
            if ftype not in FIELD_TYPES:
                raise ValueError(
                    f"field {name!r} has type {ftype!r}; accepted: {', '.join(sorted(FIELD_TYPES))}"
                )
        self._pairs = pairs
        self._map = dict(pairs)

    def __getitem__(self, key: str) -> str:
        return self._map[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._pairs)

    def __hash__(self) -> int:
        return hash(self._pairs)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._map) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FieldTypes({self._map!r})"


@dataclass(frozen=True)
class ViewSchema:
    """The names one view exposes to rules.

    ``has_events`` is False for the CRM view, whose ``v_events`` is empty: event conditions there
    would silently select nobody, so the validator rejects them with a message instead.
    """

    name: str
    fields: Mapping[str, str] = field(default_factory=FieldTypes)
    event_types: frozenset[str] = EVENT_TYPES
    pages: frozenset[str] = PAGES
    channels: frozenset[str] = CHANNELS
    has_events: bool = True
    has_accounts: bool = False

    def __post_init__(self) -> None:
        if self.name not in VIEW_NAMES:
            raise ValueError(f"view {self.name!r}; accepted: {', '.join(sorted(VIEW_NAMES))}")
        if not isinstance(self.fields, FieldTypes):
            object.__setattr__(self, "fields", FieldTypes(self.fields))
        for attr in ("event_types", "pages", "channels"):
            value = getattr(self, attr)
            if not isinstance(value, frozenset):
                object.__setattr__(self, attr, frozenset(value))
