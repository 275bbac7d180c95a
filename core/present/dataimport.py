"""The Your data page's import choices: everything the CLI's ``import`` can be told, in the page's words.

:class:`ImportChoices` holds what the page offers besides the column mapping — the event-name
table (your name → the lab's event), one event name for every row, the date format and time zone,
what cancelled orders become, stray times, the CRM mapping and keep-PII — and turns them into
:class:`core.ingest.ImportOptions`, so the page and the CLI import the same way.

The event-name table lists the file's own names (counted in DuckDB over the whole column) with a
suggestion for the obvious ones (``view`` → ``page_view``, ``cart`` → ``add_to_cart``), compared
without case, spaces or punctuation, so ``VIEW``, ``View`` and ``view`` become one type. Names
without a suggestion are listed as kept under their own name (usable in rules on this data; no
library play reads them).

:func:`page_words` rewrites the importer's one-line messages, which name CLI flags, into what a
person does on the page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import duckdb
import pandas as pd

from core.engine.schema import EVENT_TYPES
from core.errors import DataError
from core.ingest import ImportOptions, Limits
from core.ingest.formats import norm
from core.ingest.reader import relation
from core.ingest.sniff import Source

#: What the table offers for "leave my name as it is".
KEEP = "(keep my name)"
#: Most distinct names the table shows one by one (a log with more names is listed, not tabled).
MAX_NAMES = 40
#: Obvious event names → the lab's event (compared normalised: lower case, letters and digits only).
#: From the vendors' own names: GA4 recommended events (view_item, add_to_cart, begin_checkout,
#: purchase, sign_up, login, generate_lead; https://support.google.com/analytics/answer/9267735),
#: Segment's e-commerce spec (Product Viewed, Product Added, Order Completed), REES46 (view, cart,
#: purchase), and the plain words shops use.
SUGGESTIONS: dict[str, str] = {
    **{k: "page_view" for k in ("view", "views", "pageview", "pageviews", "page", "visit", "viewitem",
                                "productview", "productviewed", "pageviewed", "screenview", "detail")},
    **{k: "add_to_cart" for k in ("cart", "addtocart", "addcart", "addtobasket", "basket", "productadded",
                                  "addedtocart", "carted")},
    **{k: "checkout_started" for k in ("checkout", "begincheckout", "checkoutstarted", "startcheckout")},
    **{k: "purchase" for k in ("purchase", "purchased", "buy", "bought", "order", "ordercompleted",
                               "orderplaced", "transaction", "sale", "conversion")},
    **{k: "signup" for k in ("signup", "signedup", "register", "registration", "registered", "createaccount")},
    **{k: "login" for k in ("login", "signin", "signedin", "logon")},
    **{k: "form_submit" for k in ("formsubmit", "formsubmitted", "lead", "generatelead", "contactform")},
    **{k: "email_open" for k in ("emailopen", "emailopened", "open", "opened")},
    **{k: "email_click" for k in ("emailclick", "emailclicked", "emaillinkclicked", "click")},
    **{k: "ad_click" for k in ("adclick", "adclicked")},
    **{k: "trial_started" for k in ("trial", "trialstarted", "starttrial")},
    **{k: "demo_requested" for k in ("demo", "demorequest", "demorequested", "requestdemo")},
}
TIME_ZONE_DEFAULT = "UTC"
TIME_FORMAT_WORDS = {"auto": "decide from the values", "iso": "ISO 8601 (2017-10-02 10:56)",
                     "mdy": "month/day/year (10/2/2017 is 2 October)", "dmy": "day/month/year (2/10/2017 is 2 October)",
                     "epoch": "seconds, milliseconds or microseconds since 1970"}
CRM_FIELDS: tuple[str, ...] = ("contact_id", "email", "created_at", "updated_at")
CRM_WORDS = {"contact_id": "the contact's id", "email": "e-mail address", "created_at": "when the contact was created",
             "updated_at": "when the contact was last updated"}
CANCEL_WORDS = {"event": "keep them as 'order_cancelled' events", "reject": "leave them out (listed as rejected)"}


@dataclass(frozen=True)
class ImportChoices:
    """The page's import choices besides the field → column mapping (hashable: the page caches on it)."""

    event_map: tuple[tuple[str, str], ...] = ()
    constant_event: str | None = None
    time_format: str = "auto"
    timezone: str | None = None
    cancellations: str = "event"
    drop_stray_times: bool = False
    keep_pii: bool = False
    crm_mapping: tuple[tuple[str, str], ...] = field(default=())

    def options(self, fmt: str, overrides: Mapping[str, str] | None, limits: Limits) -> ImportOptions:
        return ImportOptions.make(format=fmt, mapping=dict(overrides or {}), event_map=dict(self.event_map),
                                  constant_event=(self.constant_event or "").strip() or None,
                                  crm_mapping=dict(self.crm_mapping), keep_pii=self.keep_pii, limits=limits,
                                  time_format=self.time_format, timezone=self.timezone,
                                  cancellations=self.cancellations, drop_stray_times=self.drop_stray_times)


def suggest(name: str) -> str | None:
    """The lab's event for an obvious name (``VIEW``, ``Add to cart``), else None."""
    key = norm(name)
    if key in {norm(e) for e in EVENT_TYPES}:
        return next(e for e in EVENT_TYPES if norm(e) == key)
    return SUGGESTIONS.get(key)


def event_names(src: Source, column: str, limits: Limits) -> pd.DataFrame:
    """``name, rows``: every event name of ``column`` with its count, most frequent first (DuckDB)."""
    i = src.columns.index(column)
    rel, params = relation(src, "rej_names", limits)
    ref = f"CAST(c{i} AS VARCHAR)"
    con = duckdb.connect()
    try:
        con.execute("SET memory_limit = ?", [limits.memory_limit])
        rows = con.execute(f"SELECT {ref} AS name, count(*) AS rows FROM {rel} WHERE nullif(trim({ref}), '') IS NOT NULL "
                           "GROUP BY 1 ORDER BY rows DESC, name LIMIT 10000", params).df()
    except duckdb.Error as exc:
        raise DataError(f"cannot read the event names of {src.name}: {str(exc).splitlines()[0][:200]}") from None
    finally:
        con.close()
    return rows


def name_table(names: pd.DataFrame, layout_map: Mapping[str, str], chosen: Mapping[str, str]) -> pd.DataFrame:
    """``your name, rows, the lab's event, how``: what each name becomes.

    ``chosen`` are the person's picks (name → target or KEEP); otherwise the layout's own map
    (compared without case), else a suggestion, else the name is kept. Only as many rows as the
    page shows one by one (:data:`MAX_NAMES`)."""
    layout = {str(k).lower(): v for k, v in layout_map.items()}
    rows = []
    for name, n in zip(names["name"], names["rows"]):
        if name in chosen:
            target, how = chosen[name], "your choice"
        elif name.lower() in layout:
            target, how = layout[name.lower()], "the layout's name"
        elif suggest(name):
            target, how = suggest(name), "suggested"
        else:
            target, how = KEEP, "unknown to the lab: kept as it is"
        rows.append({"your name": name, "rows": int(n), "the lab's event": target, "how": how})
    return pd.DataFrame(rows, columns=["your name", "rows", "the lab's event", "how"])


def event_map_of(table: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """The ``--event-map`` pairs a table asks for (names kept as they are need none)."""
    return tuple((str(a), str(b)) for a, b in zip(table["your name"], table["the lab's event"])
                 if b != KEEP and str(a) != str(b))


def unknown_names(table: pd.DataFrame) -> list[str]:
    """Names the lab does not know and the table keeps as they are."""
    keep = table[(table["the lab's event"] == KEEP) & ~table["your name"].isin(sorted(EVENT_TYPES))]
    return keep["your name"].tolist()


def target_options() -> list[str]:
    """What a name can become: the lab's events (and product / category / cart page views)."""
    return [KEEP] + sorted(EVENT_TYPES) + ["page_view/product", "page_view/category", "page_view/cart"]


# --------------------------------------------------------------------------- messages
_PAGE_WORDS: tuple[tuple[str, str], ...] = (
    (r"name it with --map timestamp=COLUMN", "choose its column for 'timestamp' under Fix the mapping"),
    (r"name it with --map event=COLUMN, or give every row one name with --event NAME \(e\.g\. a purchase log\)",
     "choose its column for 'event' under Fix the mapping, or give every row one event name there (e.g. a purchase log)"),
    (r"name one with --map user_id=COLUMN, --map anonymous_id=COLUMN or --map email=COLUMN",
     "choose a column for user_id, anonymous_id or email under Fix the mapping"),
    (r"say which with --time-format mdy or --time-format dmy", "choose the date format under Dates and times"),
    (r"say it with --time-format", "choose the date format under Dates and times"),
    (r"--map (\w+)=([^:]*): ", r"the column chosen for \1 (\2): "),
    (r"--crm-map (\w+)=([^:]*): ", r"the CRM column chosen for \1 (\2): "),
    (r"name one with --crm-map contact_id=COLUMN or --crm-map email=COLUMN",
     "choose the CRM's contact id or e-mail column under CRM contacts"),
    (r" or pass --encoding latin-1", ""),
    (r"--timezone '([^']*)' is not", r"the time zone '\1' is not"),
    (r"import larger exports with 'audience-lab import'", "import larger exports on the command line"),
)


def page_words(message: str) -> str:
    """The importer's message with CLI flags replaced by what to do on the page."""
    for pattern, repl in _PAGE_WORDS:
        message = re.sub(pattern, repl, message)
    return message


def stray_sentence(stray: Mapping, dropped_now: bool) -> str:
    """What the page says about rows whose times lie far from the rest."""
    n = int(stray["rows"])
    rows = f"{n:,} row{'s' if n != 1 else ''}"
    lo, hi = stray["bounds"]
    if dropped_now:
        return (f"{rows} with times far from the rest (before {lo:%Y-%m-%d} or after {hi:%Y-%m-%d}) "
                "were left out and are listed as rejected ('time far from the rest').")
    return (f"{rows} {'has' if n == 1 else 'have'} a time far from the rest of your data "
            f"({stray['earliest']:%Y-%m-%d} … {stray['latest']:%Y-%m-%d}; the bulk lies between {lo:%Y-%m-%d} and "
            f"{hi:%Y-%m-%d}). {'It stretches' if n == 1 else 'They stretch'} the period every chart and the twin use.")


def report_notes(report) -> list[str]:
    """How the import read times, orders and unreadable values, in the page's words."""
    out = []
    if report.time_format != "auto":
        words = TIME_FORMAT_WORDS.get(report.time_format, f"the pattern {report.time_format}")
        out.append(f"Times were read as {words}" + (", decided from your values." if report.time_format_decided else "."))
    if report.timezone:
        out.append(f"Times without an offset were read as {report.timezone} time (summer time included).")
    if report.orders is not None:
        cancelled = (f"{report.orders['cancellations']:,} cancelled orders became 'order_cancelled' events"
                     if report.cancellations == "event" else "cancelled orders were left out (listed as rejected)")
        out.append(f"{report.kept:,} order lines became {report.orders['orders']:,} purchases; {cancelled}.")
    for name, n in report.coerced.items():
        out.append(f"{name}: {n:,} unreadable values were emptied (the rows are kept and listed with the rejected rows).")
    return out


def timezone_choices() -> list[str]:
    from core.ingest.timeparse import timezone_names

    return list(timezone_names())


def file_source(path: Path, limits: Limits) -> Source:
    from core.ingest.sniff import inspect_source

    return inspect_source(path, limits, "auto", "events")
