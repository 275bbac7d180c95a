"""The export layouts the importer recognises, and the column names it looks for in each.

A :class:`Format` names, per field, the columns a vendor's export uses, a *signature* that
recognises the layout from its header alone, and a default event map from the vendor's event
names to the simulator's vocabulary. Column names are compared *normalised* (lower case, letters
and digits only), so ``anonymousId``, ``anonymous_id`` and ``properties.$device_id`` /
``properties_device_id`` match however an export tool flattened them.

Layouts, from the vendors' own documentation:

- **segment** — Segment's warehouse ``tracks`` table: ``anonymous_id``, ``user_id``, ``event``,
  ``timestamp``, ``received_at``, ``context_*`` columns, properties flattened to snake_case
  (https://www.twilio.com/docs/segment/connections/storage/warehouses/schema). Event names from
  Segment's e-commerce spec v2 ("Product Added", "Checkout Started", "Order Completed", …;
  https://www.twilio.com/docs/segment/connections/spec/ecommerce/v2).
- **posthog** — PostHog's events table: ``uuid``, ``event``, ``properties``, ``timestamp`` (ISO
  8601), ``distinct_id``, ``session_id``, ``person_id``
  (https://posthog.com/docs/data-warehouse/sources/posthog); ``$pageview`` and other ``$`` names
  are PostHog defaults (https://posthog.com/docs/data/events). ``distinct_id`` is the anonymous
  device id until the person is identified, so it counts as a user id only where it differs from
  ``$device_id``.
- **ga4** — a flattened GA4 BigQuery export: ``event_timestamp`` in microseconds (UTC),
  ``event_name``, ``user_pseudo_id``, ``user_id``, event params such as ``ga_session_id`` and
  ``page_location`` (https://developers.google.com/analytics/bigquery/event-schema). A
  ``ga_session_id`` is unique only per ``user_pseudo_id``, so sessions are scoped by it.
- **rees46** — the REES46 / Open CDP e-commerce layout
  ``event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session``
  with event types view / cart / remove_from_cart / purchase and times in UTC
  (https://www.kaggle.com/datasets/mkechinov/ecommerce-behavior-data-from-multi-category-store).
- **generic** — no signature; common column names only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

#: Text encodings the reader accepts ("auto": UTF-8, or UTF-16 by its BOM); here, not in sniff.py, so
#: the command line lists them without loading DuckDB.
ENCODINGS: tuple[str, ...] = ("auto", "utf-8", "utf-16", "latin-1")

#: Fields an events file can map, in the order the summary prints them.
EVENT_FIELDS: tuple[str, ...] = ("timestamp", "event", "user_id", "anonymous_id", "email", "session_id",
                                 "page", "value", "channel", "received_at", "order_id", "quantity", "unit_price",
                                 "status")
#: Fields of a line-item or orders export, only ever taken from ``--map`` (never guessed from names:
#: an ``order_id`` column turns rows into orders, which must be the user's decision).
ORDER_FIELDS: tuple[str, ...] = ("order_id", "quantity", "unit_price", "status")
IDENTIFIER_FIELDS: tuple[str, ...] = ("user_id", "anonymous_id", "email")
#: Fields a CRM contacts export can map; every other column becomes a CRM field.
CRM_FIELDS: tuple[str, ...] = ("contact_id", "email", "created_at", "updated_at")


def norm(name: str) -> str:
    """Column names compared without case, spaces or punctuation."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass(frozen=True)
class Format:
    name: str
    title: str
    signature: tuple[tuple[str, ...], ...] = ()
    """Each group is a set of alternative (normalised) names; all groups must be present."""
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per field, the layout's own column names (normalised), tried before the generic ones."""
    event_map: Mapping[str, str] = field(default_factory=dict)
    """Source event name → ``event_type`` or ``event_type/page``."""
    session_scope: str | None = None
    """A field whose value must prefix the session id to make it unique (GA4: per user_pseudo_id)."""
    user_is_anonymous_when_equal: bool = False
    """PostHog: a distinct_id equal to the device id is the anonymous id, not a user id."""
    generic_fields: tuple[str, ...] = EVENT_FIELDS
    """Fields for which the generic synonyms are also tried."""


#: Column names any layout may use, per field (normalised; the first present wins).
GENERIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "eventtime", "eventtimestamp", "ts", "time", "datetime", "occurredat",
                  "originaltimestamp", "createdat", "eventdate", "date"),
    "event": ("event", "eventtype", "eventname", "eventaction", "action"),
    "user_id": ("userid", "customerid", "uid", "memberid", "customer"),
    "anonymous_id": ("anonymousid", "anonid", "deviceid", "clientid", "visitorid", "cookieid", "userpseudoid"),
    "email": ("email", "emailaddress", "useremail", "contexttraitsemail", "traitsemail", "propertiesemail",
              "personpropertiesemail"),
    "session_id": ("sessionid", "usersession", "session", "contextsessionid", "gasessionid",
                   "eventparamsgasessionid", "propertiessessionid"),
    "page": ("page", "pagepath", "path", "contextpagepath", "pageurl", "url", "pagelocation", "contextpageurl",
             "propertiespath", "propertiesurl", "propertiescurrenturl", "propertiespathname", "eventparamspagelocation"),
    "value": ("value", "revenue", "amount", "total", "price", "ordervalue", "dollarvalue", "propertiesrevenue",
              "propertiesvalue", "propertiestotal", "propertiesprice", "ecommercepurchaserevenue", "purchaserevenue",
              "eventvalueinusd"),
    "channel": ("channel", "contextchannel"),
    "received_at": ("receivedat", "insertedat", "loadedat"),
    "order_id": (), "quantity": (), "unit_price": (), "status": (),
}

GENERIC_CRM_COLUMNS: dict[str, tuple[str, ...]] = {
    "contact_id": ("contactid", "id", "recordid", "hsobjectid", "contact", "customerid", "userid"),
    "email": ("email", "emailaddress", "primaryemail", "workemail"),
    "created_at": ("createdat", "createdate", "createddate", "created", "createdon", "signupdate"),
    "updated_at": ("updatedat", "lastmodifieddate", "lastmodified", "modifiedat", "updated", "modifiedon",
                   "systemmodstamp", "lastupdated"),
}

# Event names shared by Segment's and PostHog's e-commerce specs and their email / B2B SaaS specs.
_SPEC_EVENTS = {
    "Page Viewed": "page_view",
    "Loaded a Page": "page_view",
    "Product Viewed": "page_view/product",
    "Product List Viewed": "page_view/category",
    "Cart Viewed": "page_view/cart",
    "Product Added": "add_to_cart",
    "Checkout Started": "checkout_started",
    "Order Completed": "purchase",
    "Signed Up": "signup",
    "Signed In": "login",
    "Trial Started": "trial_started",
    "Email Opened": "email_open",
    "Email Link Clicked": "email_click",
}

FORMATS: dict[str, Format] = {f.name: f for f in (
    Format(
        name="ga4", title="GA4 BigQuery export (flattened)",
        signature=(("eventname",), ("userpseudoid",)),
        columns={"timestamp": ("eventtimestamp",), "event": ("eventname",), "anonymous_id": ("userpseudoid",),
                 "user_id": ("userid",), "session_id": ("gasessionid", "eventparamsgasessionid"),
                 "page": ("pagelocation", "eventparamspagelocation"),
                 "value": ("ecommercepurchaserevenue", "purchaserevenue", "eventvalueinusd", "eventparamsvalue")},
        event_map={"begin_checkout": "checkout_started", "sign_up": "signup", "generate_lead": "form_submit",
                   "view_item": "page_view/product", "view_item_list": "page_view/category", "view_cart": "page_view/cart"},
        session_scope="anonymous_id"),
    Format(
        name="posthog", title="PostHog events export",
        signature=(("distinctid",), ("event",), ("timestamp",)),
        columns={"timestamp": ("timestamp",), "event": ("event",), "user_id": ("distinctid",),
                 "anonymous_id": ("propertiesdeviceid", "deviceid"),
                 "session_id": ("propertiessessionid", "sessionid"),
                 "page": ("propertiespathname", "propertiescurrenturl", "pathname", "currenturl"),
                 "email": ("personpropertiesemail", "propertiesemail", "propertiessetemail", "email")},
        event_map={"$pageview": "page_view", "$screen": "page_view", **_SPEC_EVENTS},
        user_is_anonymous_when_equal=True,
        generic_fields=("value", "channel", "received_at")),
    Format(
        name="segment", title="Segment tracks export",
        signature=(("event",), ("anonymousid",), ("receivedat", "messageid", "sentat", "originaltimestamp")),
        columns={"timestamp": ("timestamp", "originaltimestamp"), "received_at": ("receivedat",),
                 "event": ("event", "eventtext"), "anonymous_id": ("anonymousid",), "user_id": ("userid",),
                 "email": ("contexttraitsemail", "traitsemail", "email", "propertiesemail"),
                 "page": ("contextpagepath", "propertiespath", "contextpageurl", "propertiesurl"),
                 "value": ("propertiesrevenue", "propertiestotal", "propertiesvalue", "propertiesprice"),
                 "session_id": ("contextsessionid", "propertiessessionid", "sessionid")},
        event_map=dict(_SPEC_EVENTS)),
    Format(
        name="rees46", title="REES46 / Open CDP e-commerce layout",
        signature=(("eventtime",), ("eventtype",), ("usersession",)),
        columns={"timestamp": ("eventtime",), "event": ("eventtype",), "user_id": ("userid",),
                 "session_id": ("usersession",), "value": ("price",)},
        event_map={"view": "page_view/product", "cart": "add_to_cart", "purchase": "purchase"}),
    Format(name="generic", title="generic event table (common column names)"),
)}

FORMAT_NAMES: tuple[str, ...] = ("auto", *FORMATS)


def detect_format(columns: tuple[str, ...] | list[str]) -> str:
    """The first layout whose signature the header carries, else ``generic``."""
    present = {norm(c) for c in columns}
    for fmt in FORMATS.values():
        if fmt.signature and all(any(n in present for n in group) for group in fmt.signature):
            return fmt.name
    return "generic"
