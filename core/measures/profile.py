"""The data profile: the rates a world's event stream and CRM show, computed in DuckDB.

The same SQL runs on an imported (observed) world and on a synthetic one, so a twin can be compared
with the data like for like. On a synthetic world the profile reads what the CDP *received* inside
the period (``received_at`` set, ``ts`` in [start, end)) — exactly what an export from a real CDP
would hold; on an observed world it reads every imported event.

Who is a "user": events carry identifiers, not people. Each event is given the key of the
identity it most likely belongs to with one-hop stitching — its user id; else the user id its
e-mail or anonymous id was first seen with; else its e-mail (or the e-mail its anonymous id was
first seen with, and that e-mail's user); else its anonymous id. That is the main path of a CDP's
identity resolution (see core/engine/identity.py) done with three joins, so it scales to tens of
millions of events. Sessions are the data's session ids; where a file has none, a session is a
run of one key's events without a 30-minute gap (the GA / Segment convention).

Rates (all intensive, so a twin of any size can match them):

- ``identified_event_share`` — events carrying a user id or an e-mail (only where the data has
  anonymous ids at all; an export of identified rows only says nothing about logins);
- ``sessions_per_user_week``, ``pages_per_session`` (page views per session with a page view);
- ``cart_session_share`` and ``purchase_session_share`` — sessions with an add-to-cart / a purchase;
- ``cart_to_purchase`` — purchases per add-to-cart event; ``cart_abandonment`` — sessions with an
  add-to-cart and no purchase, over sessions with an add-to-cart (Baymard's definition);
- ``purchase_rate`` — users who purchased in the period (not for a log of purchases only, where every
  user is a buyer); ``purchases_per_buyer_week``; ``average_order_value`` — mean purchase value;
- session rates only where the data shows visits (page views or its own session ids): in a purchase
  log a "session" would just be a purchase;
- ``multi_device_share`` — identified users seen on two or more anonymous ids;
- ``events_per_user_day`` — per event type; ``ad_clicks_per_session``; ``email_click_to_open``;
- CRM: contacts, field fill rates, contacts sharing an e-mail, and the update lag where the CRM
  records both when a fact changed and when it was recorded.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from core.errors import DataError
from core.ingest import is_observed, world_kind
from core.jsonsafe import json_safe

SESSION_GAP_MINUTES = 30
HEADLINE = ("sessions_per_user_week", "pages_per_session", "cart_session_share", "cart_to_purchase",
            "cart_abandonment", "purchase_rate", "average_order_value", "identified_event_share",
            "multi_device_share")


@dataclass(frozen=True)
class DataProfile:
    """What a world's data shows. ``rates`` values are None where the data cannot tell."""

    kind: str
    start: pd.Timestamp
    end: pd.Timestamp
    days: float
    counts: dict[str, int]
    rates: dict[str, float | None]
    events_by_type: dict[str, int]
    events_per_user_day: dict[str, float]
    sessions_derived: bool
    crm: dict[str, Any] | None = None
    support: dict[str, int] = field(default_factory=dict)
    """Per rate, the smaller of its numerator and denominator counts: how much data it rests on
    (a cart abandonment from 4 carts is a guess; the twin fits only rates resting on enough)."""


    def to_dict(self) -> dict[str, Any]:
        return json_safe({"kind": self.kind, "start": self.start, "end": self.end, "days": self.days,
                          "counts": self.counts, "rates": self.rates, "events_by_type": self.events_by_type,
                          "events_per_user_day": self.events_per_user_day, "sessions_derived": self.sessions_derived,
                          "support": self.support, "crm": self.crm})

    def lines(self) -> list[str]:
        c, r = self.counts, self.rates
        out = [f"Profile of {'an' if self.kind == 'observed' else 'a'} {self.kind} world: {self.start:%Y-%m-%d} → {self.end:%Y-%m-%d} ({self.days:g} days)",
               f"  events {c['events']:,}   users {c['users']:,} (identified {c['identified_users']:,})   "
               f"sessions {c['sessions']:,}{' (30-minute gaps; the data has no session ids)' if self.sessions_derived else ''}",
               f"  user ids {c['user_ids']:,}   anonymous ids {c['anonymous_ids']:,}   e-mails {c['emails']:,}"]
        labels = {
            "identified_event_share": ("identified events", "pct"),
            "sessions_per_user_week": ("sessions per user per week", "num"),
            "pages_per_session": ("page views per session", "num"),
            "cart_session_share": ("sessions with an add-to-cart", "pct"),
            "purchase_session_share": ("sessions with a purchase", "pct"),
            "cart_to_purchase": ("purchases per add-to-cart", "num"),
            "cart_abandonment": ("cart abandonment (sessions)", "pct"),
            "purchase_rate": ("users who purchased", "pct"),
            "purchases_per_buyer_week": ("purchases per buyer per week", "num"),
            "average_order_value": ("average order value", "num"),
            "multi_device_share": ("identified users on 2+ devices", "pct"),
            "anonymous_ids_per_identified_user": ("anonymous ids per identified user", "num"),
            "ad_clicks_per_session": ("ad clicks per session", "num"),
            "email_click_to_open": ("e-mail clicks per open", "num"),
        }
        for key, (label, kind) in labels.items():
            out.append(f"  {label:<36} {fmt(r.get(key), kind)}")
        if self.events_per_user_day:
            out.append("  events per user per day: " + ", ".join(
                f"{k} {v:.3g}" for k, v in sorted(self.events_per_user_day.items(), key=lambda kv: -kv[1])[:12]))
        if self.crm:
            m = self.crm
            out.append(f"  CRM: {m['contacts']:,} contacts; {fmt(m['duplicate_email_share'], 'pct')} share an e-mail; "
                       f"update lag median {fmt(m['update_lag_hours_median'], 'num')} h")
            fill = ", ".join(f"{k} {v:.0%}" for k, v in list(m["fill_rates"].items())[:12])
            out.append(f"  CRM field fill rates: {fill}")
        return out


def fmt(value: float | None, kind: str = "num") -> str:
    if value is None:
        return "— (not in the data)"
    return f"{value:.1%}" if kind == "pct" else f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


# --------------------------------------------------------------------------- entry points


def profile_world(world, crm: bool = True) -> DataProfile:
    """Profile a world held in memory (synthetic :class:`~synthetic.world.World` or observed).

    ``crm=False`` skips the CRM part (the twin's fitting rounds need only the event rates).
    """
    observed = is_observed(world)
    con = _connect()
    try:
        ev = world.events
        cols = ["ts", "event_type", "user_id", "anonymous_id", "email", "session_id", "value", "received_at"]
        # Arrow keeps categoricals as dictionaries: DuckDB scans them without a Python string per row.
        con.register("ev_src", pa.Table.from_pandas(ev[cols], preserve_index=False))
        _events_view(con, "ev_src", observed, world.start, world.end)
        ch = world.crm_changes
        crm_source = None
        if crm and len(ch):
            con.register("crm_src", pa.Table.from_pandas(ch[["contact_id", "field", "value", "effective_at", "recorded_at"]],
                                                         preserve_index=False))
            crm_source = "crm_src"
        return _profile(con, "observed" if observed else "synthetic", world.start, world.end, crm_source)
    finally:
        con.close()


def profile_folder(path: str | os.PathLike) -> DataProfile:
    """Profile a world folder straight from its Parquet files (no pandas load: fast on 10M events)."""
    root = Path(path)
    kind = world_kind(root)
    start, end = _period(root, kind)
    events = _table(root, "events")
    if events is None:
        raise DataError(f"{root} is not a complete world: the events table is missing")
    con = _connect()
    try:
        try:
            con.execute(f"CREATE VIEW ev_src AS SELECT * FROM read_parquet({_literal(events)})")
            con.execute("SELECT ts, event_type, user_id, anonymous_id, email, session_id, value, received_at FROM ev_src LIMIT 0")
        except duckdb.Error as exc:
            raise DataError(f"{events} is not a readable events table ({str(exc).splitlines()[0][:200]})") from None
        _events_view(con, "ev_src", kind == "observed", start, end)
        crm = None
        changes = _table(root, "crm_changes")
        if changes is not None:
            con.execute(f"CREATE VIEW crm_src AS SELECT * FROM read_parquet({_literal(changes)})")
            if con.execute("SELECT count(*) FROM crm_src").fetchone()[0]:
                crm = "crm_src"
        return _profile(con, kind, start, end, crm)
    finally:
        con.close()


def _table(root: Path, name: str) -> str | None:
    """The Parquet file (or part-file glob) of a table: ``name/part-*.parquet`` or ``name.parquet``."""
    folder = root / name
    if folder.is_dir() and any(folder.glob("part-*.parquet")):
        return str(folder / "part-*.parquet")
    single = root / f"{name}.parquet"
    return str(single) if single.is_file() else None


def _literal(path: Path | str) -> str:
    """A quoted SQL string for a file path (a view cannot hold a bound parameter)."""
    return "'" + str(path).replace("'", "''") + "'"


def _period(root: Path, kind: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    import json

    meta = json.loads((root / "world.json").read_text())
    try:
        if kind == "observed":
            start, end = pd.Timestamp(meta["start"]), pd.Timestamp(meta["end"])
        else:
            cfg = meta["config"]
            start = pd.Timestamp(cfg["start"])
            start = start.tz_localize("UTC") if start.tzinfo is None else start
            end = start + pd.Timedelta(days=int(cfg["days"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise DataError(f"{root / 'world.json'} does not say the world's period ({exc})") from None
    return start.tz_convert("UTC"), end.tz_convert("UTC")


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"memory_limit": "1536MB", "preserve_insertion_order": False})
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def _events_view(con, source: str, observed: bool, start: pd.Timestamp, end: pd.Timestamp) -> None:
    """``ev``: the events the profile reads (a synthetic world: received, inside the period)."""
    # the period bounds are Timestamps formatted here (never user text), so they can be inlined in a view
    where = "" if observed else (f"WHERE received_at IS NOT NULL AND ts >= TIMESTAMPTZ '{pd.Timestamp(start).isoformat()}' "
                                 f"AND ts < TIMESTAMPTZ '{pd.Timestamp(end).isoformat()}'")
    con.execute(f"""CREATE TEMP VIEW ev AS
        SELECT ts, CAST(event_type AS VARCHAR) AS event_type, CAST(user_id AS VARCHAR) AS user_id,
               CAST(anonymous_id AS VARCHAR) AS anonymous_id, CAST(email AS VARCHAR) AS email,
               CAST(session_id AS VARCHAR) AS session_id, CAST(value AS DOUBLE) AS value
        FROM {source} {where}""")


# --------------------------------------------------------------------------- the SQL


def _combos(con) -> None:
    """``combo``: one row per distinct (user id, anonymous id, e-mail) seen together, with its key.

    Stitching works on these combinations, not on events: a few hundred thousand rows instead of
    tens of millions, and each carries its first time (for "first seen wins"), whether it bought and
    its event count, which is all the user-level rates need.
    """
    con.execute("""CREATE TEMP TABLE combo AS
        SELECT user_id, anonymous_id, email, min(ts) AS first_ts, count(*) AS n,
               bool_or(event_type = 'purchase') AS bought, hash(user_id, anonymous_id, email) AS combo_h
        FROM ev GROUP BY 1, 2, 3""")
    con.execute("""CREATE OR REPLACE TEMP TABLE combo AS
        WITH au AS (SELECT anonymous_id, arg_min(user_id, first_ts) AS u FROM combo
                    WHERE anonymous_id IS NOT NULL AND user_id IS NOT NULL GROUP BY 1),
             eu AS (SELECT email, arg_min(user_id, first_ts) AS u FROM combo
                    WHERE email IS NOT NULL AND user_id IS NOT NULL GROUP BY 1),
             ae AS (SELECT anonymous_id, arg_min(email, first_ts) AS e FROM combo
                    WHERE anonymous_id IS NOT NULL AND email IS NOT NULL GROUP BY 1)
        SELECT c.*,
               CASE WHEN c.user_id IS NOT NULL THEN 'u' || c.user_id
                    WHEN eu1.u IS NOT NULL THEN 'u' || eu1.u
                    WHEN au.u IS NOT NULL THEN 'u' || au.u
                    WHEN c.email IS NOT NULL THEN 'e' || c.email
                    WHEN eu2.u IS NOT NULL THEN 'u' || eu2.u
                    WHEN ae.e IS NOT NULL THEN 'e' || ae.e
                    ELSE 'a' || c.anonymous_id END AS key
        FROM combo c
        LEFT JOIN eu eu1 ON c.email = eu1.email
        LEFT JOIN au ON c.anonymous_id = au.anonymous_id
        LEFT JOIN ae ON c.anonymous_id = ae.anonymous_id
        LEFT JOIN eu eu2 ON ae.e = eu2.email""")


def _sessions(con) -> tuple[tuple[int, ...], bool]:
    """Session counts: all, with a page view, page views in them, with a cart, with a purchase,
    with a cart and no purchase. Derived from 30-minute gaps per key when the data has no session ids."""
    has_ids = con.execute("SELECT count(session_id) > 0 FROM ev").fetchone()[0]
    if has_ids:
        source, derived = "SELECT session_id AS s, event_type FROM ev WHERE session_id IS NOT NULL", False
    else:
        source, derived = f"""
            SELECT hash(key, sum(new) OVER (PARTITION BY key ORDER BY ts ROWS UNBOUNDED PRECEDING)) AS s, event_type
            FROM (SELECT c.key, e.ts, e.event_type,
                         CASE WHEN e.ts - lag(e.ts) OVER (PARTITION BY c.key ORDER BY e.ts)
                                   <= INTERVAL {SESSION_GAP_MINUTES} MINUTE THEN 0 ELSE 1 END AS new
                  FROM ev e JOIN combo c ON hash(e.user_id, e.anonymous_id, e.email) = c.combo_h)""", True
    row = con.execute(f"""
        SELECT count(*), count(*) FILTER (views > 0), COALESCE(sum(views), 0), count(*) FILTER (carts > 0),
               count(*) FILTER (buys > 0), count(*) FILTER (carts > 0 AND buys = 0)
        FROM (SELECT s, count(*) FILTER (event_type = 'page_view') AS views,
                     count(*) FILTER (event_type = 'add_to_cart') AS carts,
                     count(*) FILTER (event_type = 'purchase') AS buys
              FROM ({source}) GROUP BY s)""").fetchone()
    return tuple(int(v or 0) for v in row), derived


def _ratio(a: float | int | None, b: float | int | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return float(a) / float(b)


def _profile(con, kind: str, start: pd.Timestamp, end: pd.Timestamp, crm: str | None) -> DataProfile:
    days = max((end - start).total_seconds() / 86400.0, 1e-9)
    by_type = dict(con.execute("SELECT event_type, count(*) FROM ev GROUP BY 1 ORDER BY 2 DESC, 1").fetchall())
    n_events = sum(by_type.values())
    if n_events == 0:
        raise DataError("the world has no events to profile (a synthetic world: none received in its period)")
    identified_events, aov = con.execute("""
        SELECT count(*) FILTER (user_id IS NOT NULL OR email IS NOT NULL),
               avg(value) FILTER (event_type = 'purchase' AND value > 0) FROM ev""").fetchone()
    _combos(con)
    n_users, n_anon, n_emails, users, identified_users, purchasers = con.execute("""
        SELECT count(DISTINCT user_id), count(DISTINCT anonymous_id), count(DISTINCT email), count(DISTINCT key),
               count(DISTINCT key) FILTER (NOT starts_with(key, 'a')), count(DISTINCT key) FILTER (bought)
        FROM combo""").fetchone()
    multi, ident_keys, anon_per = con.execute("""
        SELECT count(*) FILTER (n >= 2), count(*), avg(n)
        FROM (SELECT key, count(DISTINCT anonymous_id) AS n FROM combo WHERE NOT starts_with(key, 'a') GROUP BY 1)""").fetchone()
    (sessions, view_sessions, views_in_sessions, cart_sessions, buy_sessions, abandoned), derived = _sessions(con)
    identifiers = (n_users, n_anon, n_emails)
    has_anon_ids = identifiers[1] > 0 and identified_users > 0
    carts, buys = by_type.get("add_to_cart", 0), by_type.get("purchase", 0)
    # Session rates need visits: a purchase log's "sessions" are its purchases, not visits.
    visits = sessions > 0 and (by_type.get("page_view", 0) > 0 or not derived)
    browsing = any(t != "purchase" for t in by_type)  # a purchase log makes every user a buyer
    weeks = days / 7.0
    rates: dict[str, float | None] = {
        # without anonymous ids the export holds only identified traffic (a purchase log, a CRM-keyed
        # stream): its identified share says what was exported, not how many visitors log in
        "identified_event_share": _ratio(identified_events, n_events) if identifiers[1] else None,
        "sessions_per_user_week": _ratio(sessions, users * weeks) if visits else None,
        "pages_per_session": _ratio(views_in_sessions, view_sessions) if visits else None,
        "cart_session_share": _ratio(cart_sessions, sessions) if carts and visits else None,
        "purchase_session_share": _ratio(buy_sessions, sessions) if buys and visits else None,
        "cart_to_purchase": _ratio(buys, carts) if carts and buys else None,
        "cart_abandonment": _ratio(abandoned, cart_sessions) if carts and buys and visits else None,
        "purchase_rate": _ratio(purchasers, users) if buys and browsing else None,
        "purchases_per_buyer_week": _ratio(buys, purchasers * weeks) if buys else None,
        "average_order_value": float(aov) if aov is not None else None,
        "multi_device_share": _ratio(multi, ident_keys) if has_anon_ids else None,
        "anonymous_ids_per_identified_user": float(anon_per) if has_anon_ids and anon_per is not None else None,
        "ad_clicks_per_session": _ratio(by_type.get("ad_click", 0), sessions) if by_type.get("ad_click") and visits else None,
        "email_click_to_open": _ratio(by_type.get("email_click", 0), by_type.get("email_open", 0))
        if by_type.get("email_click") and by_type.get("email_open") else None,
    }
    priced = con.execute("SELECT count(*) FROM ev WHERE event_type = 'purchase' AND value > 0").fetchone()[0]
    support = {
        "identified_event_share": min(identified_events, n_events), "sessions_per_user_week": min(sessions, users),
        "pages_per_session": view_sessions, "cart_session_share": cart_sessions, "purchase_session_share": buy_sessions,
        "cart_to_purchase": min(buys, carts), "cart_abandonment": min(abandoned, cart_sessions - abandoned),
        "purchase_rate": purchasers, "purchases_per_buyer_week": purchasers, "average_order_value": priced,
        "multi_device_share": min(multi, ident_keys - multi), "anonymous_ids_per_identified_user": ident_keys,
        "ad_clicks_per_session": by_type.get("ad_click", 0),
        "email_click_to_open": min(by_type.get("email_click", 0), by_type.get("email_open", 0)),
    }
    per_day = {str(t): n / users / days for t, n in by_type.items() if t is not None and users}
    counts = {"events": int(n_events), "users": int(users), "identified_users": int(identified_users),
              "user_ids": int(identifiers[0]), "anonymous_ids": int(identifiers[1]), "emails": int(identifiers[2]),
              "sessions": int(sessions), "purchases": int(buys), "add_to_carts": int(carts),
              "purchasers": int(purchasers)}
    crm_part = _crm(con, crm, end) if crm else None
    return DataProfile(kind=kind, start=start, end=end, days=round(days, 4), counts=counts, rates=rates,
                       events_by_type={str(k): int(v) for k, v in by_type.items()},
                       events_per_user_day=per_day, sessions_derived=derived, crm=crm_part,
                       support={k: int(v or 0) for k, v in support.items()})


def _crm(con, source: str, end: pd.Timestamp) -> dict[str, Any] | None:
    """Contacts known by the end, their fields' fill rates, shared e-mails and the update lag."""
    con.execute(f"""CREATE TEMP TABLE crm_now AS
        SELECT contact_id, CAST(field AS VARCHAR) AS field, arg_max(CAST(value AS VARCHAR), recorded_at) AS value
        FROM {source} WHERE recorded_at <= ? GROUP BY 1, 2""", [end])
    contacts = con.execute("SELECT count(DISTINCT contact_id) FROM crm_now").fetchone()[0]
    if not contacts:
        return None
    fill = dict(con.execute("""SELECT field, count(*) FILTER (value IS NOT NULL) / ? FROM crm_now
                               GROUP BY 1 ORDER BY 2 DESC, 1""", [float(contacts)]).fetchall())
    dup = con.execute("""SELECT count(*) FROM crm_now WHERE field = 'email' AND value IS NOT NULL AND value IN
                         (SELECT value FROM crm_now WHERE field = 'email' AND value IS NOT NULL
                          GROUP BY 1 HAVING count(*) > 1)""").fetchone()[0]
    lag = con.execute(f"""SELECT median(h), quantile_cont(h, 0.9), count(*) FILTER (h > 0) FROM
                          (SELECT epoch(recorded_at - effective_at) / 3600.0 AS h FROM {source} WHERE recorded_at <= ?)""",
                      [end]).fetchone()
    timed = lag[2] > 0
    return {"contacts": int(contacts), "fill_rates": {str(k): float(v) for k, v in fill.items()},
            "duplicate_email_share": dup / contacts,
            "update_lag_hours_median": float(lag[0]) if timed else None,
            "update_lag_hours_p90": float(lag[1]) if timed else None}
