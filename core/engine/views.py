"""What each system sees of a world, and who is in a segment or audience, when.

An :class:`Engine` holds one world in DuckDB (in-process) and materialises the four *view
relations* of docs/ARCHITECTURE.md for each view — truth, CRM, CDP, hybrid — so one compiled
rule runs unchanged on any of them:

- **truth**: every event under the true person, visible at once; fields from the true traits.
- **crm**: contacts (duplicates included); fields as recorded (``recorded_at``); no event stream.
- **cdp**: profiles from identity resolution; an event is visible once received *and* attached to
  its profile; no CRM fields.
- **hybrid**: the CDP's profiles and events plus CRM fields joined on the contact's email.

Membership over a period is computed exactly at the rule's change points (no grid), then turned
into activation intervals by each model's processing and sync delays (:mod:`core.engine.activation`).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from core.errors import UserError
from core.engine.identity import IdentityConfig, Resolution, resolve
from core.engine.rules import Rule, parse_rule
from core.engine.schema import ViewSchema
from core.engine.sqlcompile import compile_change_points, compile_membership, explain_sql
from synthetic.world import World

VIEWS: tuple[str, ...] = ("truth", "crm", "cdp", "hybrid")
MODELS: tuple[str, ...] = ("crm", "cdp", "hybrid")

#: Fields whose recorded value is a number or a date (everything else is text).
NUMBER_FIELDS = frozenset({"employees", "orders_count", "total_spend", "deal_amount", "icp_fit"})
DATE_FIELDS = frozenset({"last_purchase_date", "last_email_click_date", "trial_started_date", "abandoned_checkout_date"})


@dataclass(frozen=True)
class EngineConfig:
    """How the CDP resolves identity (the activation delays live in :mod:`core.engine.activation`)."""

    identity: IdentityConfig = field(default_factory=IdentityConfig)


def field_type(name: str) -> str:
    if name in NUMBER_FIELDS:
        return "number"
    if name in DATE_FIELDS:
        return "date"
    return "text"


class Engine:
    """One world loaded into DuckDB, with a lazily built relation set per view.

    Each view gets its own DuckDB connection so the fixed relation names (``v_events`` …) never
    clash; a lock serialises queries per engine because dashboard sessions share cached engines.
    """

    def __init__(self, world: World, config: EngineConfig | None = None) -> None:
        self.world = world
        self.config = config or EngineConfig()
        self._cons: dict[str, duckdb.DuckDBPyConnection] = {}
        self._schemas: dict[str, ViewSchema] = {}
        self._lock = threading.RLock()
        self._resolution: Resolution | None = None

    # ------------------------------------------------------------------ identity
    @property
    def resolution(self) -> Resolution:
        """Identity resolution over every received event (the end-of-period profile graph)."""
        if self._resolution is None:
            self._resolution = resolve(self.world.events, None, self.config.identity)
        return self._resolution

    # ------------------------------------------------------------------ views
    def schema(self, view: str) -> ViewSchema:
        self._connection(view)
        return self._schemas[view]

    def _connection(self, view: str) -> duckdb.DuckDBPyConnection:
        if view not in VIEWS:
            raise UserError(f"unknown view {view!r}; accepted: {', '.join(VIEWS)}")
        with self._lock:
            if view not in self._cons:
                con = duckdb.connect()
                con.execute("SET TimeZone = 'UTC'")
                con.execute("SET enable_progress_bar = false")  # never draw on a CLI's stdout
                subjects, events, fields = getattr(self, f"_{view}_relations")()
                self._install(con, subjects, events, fields)
                self._schemas[view] = self._make_schema(view, fields)
                self._cons[view] = con
            return self._cons[view]

    @staticmethod
    def _install(con: duckdb.DuckDBPyConnection, subjects: pd.DataFrame, events: pd.DataFrame, fields: pd.DataFrame) -> None:
        con.register("_subjects", subjects)
        con.register("_events", events)
        con.register("_fields", fields)
        con.execute("""CREATE TABLE v_subjects AS SELECT CAST(subject_id AS BIGINT) AS subject_id,
                       CAST(person_id AS BIGINT) AS person_id, CAST(account_id AS BIGINT) AS account_id FROM _subjects""")
        con.execute("""CREATE TABLE v_events AS SELECT CAST(subject_id AS BIGINT) AS subject_id, ts, visible_at,
                       CAST(event_type AS VARCHAR) AS event_type, CAST(channel AS VARCHAR) AS channel,
                       CAST(page AS VARCHAR) AS page, CAST(value AS DOUBLE) AS value
                       FROM _events ORDER BY subject_id, ts""")
        con.execute("""CREATE TABLE v_fields AS
            SELECT CAST(subject_id AS BIGINT) AS subject_id, CAST(field AS VARCHAR) AS field,
                   CAST(value AS VARCHAR) AS value_text, TRY_CAST(value AS DOUBLE) AS value_num,
                   TRY_CAST(value AS TIMESTAMPTZ) AS value_ts, valid_from,
                   LEAD(valid_from) OVER (PARTITION BY subject_id, field ORDER BY valid_from, seq) AS valid_to
            FROM _fields""")
        for name in ("_subjects", "_events", "_fields"):
            con.unregister(name)

    def _make_schema(self, view: str, fields: pd.DataFrame) -> ViewSchema:
        names = sorted(set(fields["field"].astype(str).unique())) if len(fields) else []
        b2b = len(self.world.accounts) > 0
        return ViewSchema(name=view, fields={n: field_type(n) for n in names}, has_events=view != "crm",
                          has_accounts=b2b and view != "crm")

    def _truth_relations(self):
        w = self.world
        subjects = pd.DataFrame({"subject_id": w.people["person_id"], "person_id": w.people["person_id"],
                                 "account_id": w.people["account_id"]})
        ev = w.events
        events = pd.DataFrame({"subject_id": ev["person_id"], "ts": ev["ts"], "visible_at": ev["ts"],
                               "event_type": ev["event_type"], "channel": ev["channel"], "page": ev["page"], "value": ev["value"]})
        tr = w.traits
        fields = pd.DataFrame({"subject_id": tr["person_id"], "field": tr["field"], "value": tr["value"],
                               "valid_from": tr["effective_at"], "seq": np.arange(len(tr))})
        return subjects, events, fields

    def _crm_relations(self):
        ch = self.world.crm_changes
        subjects = ch[["contact_id", "person_id"]].drop_duplicates("contact_id").rename(columns={"contact_id": "subject_id"})
        subjects["account_id"] = self._crm_accounts(subjects["subject_id"])
        events = _empty_events()
        fields = pd.DataFrame({"subject_id": ch["contact_id"], "field": ch["field"], "value": ch["value"],
                               "valid_from": ch["recorded_at"], "seq": np.arange(len(ch))})
        return subjects, events, fields

    def _cdp_relations(self):
        res = self.resolution
        ev = self.world.events
        placed = res.events[res.events["profile_id"].notna()]
        # Keep categorical columns categorical: DuckDB scans them as enums, object arrays crawl.
        events = ev.loc[placed.index, ["ts", "event_type", "channel", "page", "value"]].reset_index(drop=True)
        events.insert(0, "subject_id", placed["profile_id"].to_numpy(dtype="int64"))
        events.insert(2, "visible_at", placed["attached_at"].array)
        prof = res.profiles
        subjects = pd.DataFrame({"subject_id": prof["profile_id"].astype("int64"), "person_id": prof["person_id"].astype("Int64").fillna(0).astype("int64")})
        subjects["account_id"] = self._profile_accounts(subjects["subject_id"])
        return subjects, events, _empty_fields()

    def _hybrid_relations(self):
        subjects, events, _ = self._cdp_relations()
        ch = self.world.crm_changes
        emails = ch[ch["field"] == "email"][["contact_id", "value"]].drop_duplicates("contact_id")
        ids = self.resolution.identifiers
        em = ids[ids["identifier_type"] == "email"][["identifier", "profile_id"]]
        link = emails.merge(em, left_on="value", right_on="identifier")[["contact_id", "profile_id"]]
        f = ch.merge(link, on="contact_id")
        fields = pd.DataFrame({"subject_id": f["profile_id"].astype("int64"), "field": f["field"], "value": f["value"],
                               "valid_from": f["recorded_at"], "seq": np.arange(len(f))})
        return subjects, events, fields

    def _crm_accounts(self, contacts: pd.Series) -> pd.Series:
        """The company a contact is associated with, by its recorded company name (B2B only)."""
        acc = self.world.accounts
        if len(acc) == 0:
            return pd.Series(pd.NA, index=contacts.index, dtype="Int64")
        ch = self.world.crm_changes
        company = ch[ch["field"] == "company"].drop_duplicates("contact_id", keep="last").set_index("contact_id")["value"]
        by_name = acc.drop_duplicates("name").set_index("name")["account_id"]
        return pd.Series(contacts.map(company).map(by_name).to_numpy(), index=contacts.index, dtype="Int64")

    def _profile_accounts(self, profiles: pd.Series) -> pd.Series:
        """B2B CDPs match profiles to accounts by the domain of their email addresses."""
        acc = self.world.accounts
        if len(acc) == 0 or "domain" not in acc:
            return pd.Series(pd.NA, index=profiles.index, dtype="Int64")
        ids = self.resolution.identifiers
        em = ids[ids["identifier_type"] == "email"]
        domain = em["identifier"].astype(str).str.split("@").str[-1]
        account = domain.map(acc.drop_duplicates("domain").set_index("domain")["account_id"])
        per_profile = pd.DataFrame({"profile_id": em["profile_id"].to_numpy(), "account_id": account.to_numpy()}).dropna()
        first = per_profile.groupby("profile_id")["account_id"].min()
        return pd.Series(profiles.map(first).to_numpy(), index=profiles.index, dtype="Int64")

    # ------------------------------------------------------------------ evaluation
    def members(self, rule: Rule | dict | str, view: str, as_of: pd.Timestamp | str | None = None,
                registry: dict[str, Rule] | None = None) -> pd.DataFrame:
        """Members at one time: ``subject_id, person_id`` (the true person behind each member)."""
        rule = rule if isinstance(rule, Rule) else parse_rule(rule)
        t = _utc(as_of) if as_of is not None else self.world.end
        if rule.list_type == "static" and rule.frozen_at is not None and t < rule.frozen_at:
            return pd.DataFrame({"subject_id": pd.Series(dtype="int64"), "person_id": pd.Series(dtype="int64")})
        con = self._connection(view)
        compiled = compile_membership(rule, self._schemas[view], registry)
        with self._lock:
            con.execute("CREATE OR REPLACE TEMP TABLE v_at AS SELECT subject_id, CAST(? AS TIMESTAMPTZ) AS t FROM v_subjects", [t])
            out = con.execute(f"SELECT m.subject_id, s.person_id FROM ({compiled.sql}) m JOIN v_subjects s USING (subject_id) ORDER BY 1",
                              list(compiled.params)).df()
        return out

    def sql(self, rule: Rule | dict | str, view: str, registry: dict[str, Rule] | None = None) -> str:
        """The compiled SQL with its parameters shown inline (for display, never executed)."""
        rule = rule if isinstance(rule, Rule) else parse_rule(rule)
        return explain_sql(rule, self.schema(view), registry)

    def intervals(self, rule: Rule | dict | str, view: str, registry: dict[str, Rule] | None = None,
                  start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> pd.DataFrame:
        """Exact membership intervals over the period: ``subject_id, person_id, enter, exit``.

        ``exit`` is NaT while still a member at the end. Evaluated at every change point of the rule.
        """
        rule = rule if isinstance(rule, Rule) else parse_rule(rule)
        start = start or self.world.start
        end = end or self.world.end
        con = self._connection(view)
        schema = self._schemas[view]
        points = compile_change_points(rule, schema, start, end, registry)
        member = compile_membership(rule, schema, registry)
        with self._lock:
            con.execute(f"CREATE OR REPLACE TEMP TABLE v_at AS {points.sql}", list(points.params))
            sql = f"""
                WITH m AS ({member.sql}),
                flagged AS (
                    SELECT a.subject_id, a.t, (m.subject_id IS NOT NULL) AS is_member
                    FROM v_at a LEFT JOIN m ON m.subject_id = a.subject_id AND m.t = a.t),
                changes AS (
                    SELECT subject_id, t, is_member,
                           LAG(is_member, 1, FALSE) OVER (PARTITION BY subject_id ORDER BY t) AS was_member
                    FROM flagged),
                edges AS (SELECT subject_id, t, is_member FROM changes WHERE is_member <> was_member),
                paired AS (
                    SELECT subject_id, t AS enter, is_member,
                           LEAD(t) OVER (PARTITION BY subject_id ORDER BY t) AS exit
                    FROM edges)
                SELECT p.subject_id, s.person_id, p.enter, p.exit
                FROM paired p JOIN v_subjects s USING (subject_id)
                WHERE p.is_member
                ORDER BY p.subject_id, p.enter"""
            out = con.execute(sql, list(member.params)).df()
        for col in ("enter", "exit"):
            out[col] = pd.to_datetime(out[col], utc=True).dt.as_unit("ns")
        return out

    def counts_over_time(self, intervals: pd.DataFrame, freq: str = "1D") -> pd.DataFrame:
        """Members (subjects) at each grid time from exact intervals — for charts only."""
        grid = pd.date_range(self.world.start, self.world.end, freq=freq)
        enter = np.sort(intervals["enter"].to_numpy(dtype="datetime64[ns]"))
        exits = intervals["exit"].fillna(self.world.end + pd.Timedelta(days=1)).to_numpy(dtype="datetime64[ns]")
        exits = np.sort(exits)
        g = grid.to_numpy(dtype="datetime64[ns]")
        count = np.searchsorted(enter, g, side="right") - np.searchsorted(exits, g, side="right")
        return pd.DataFrame({"t": grid, "members": count})


def _utc(ts) -> pd.Timestamp:
    try:
        t = pd.Timestamp(ts)
    except (ValueError, TypeError):
        raise UserError(f"cannot read time {ts!r}; use an ISO time such as 2026-10-15T12:00:00Z") from None
    if t is pd.NaT:
        raise UserError(f"cannot read time {ts!r}; use an ISO time such as 2026-10-15T12:00:00Z")
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _empty_events() -> pd.DataFrame:
    ts = pd.Series(pd.to_datetime([], utc=True))
    return pd.DataFrame({"subject_id": pd.Series(dtype="int64"), "ts": ts, "visible_at": ts,
                         "event_type": pd.Series(dtype=object), "channel": pd.Series(dtype=object),
                         "page": pd.Series(dtype=object), "value": pd.Series(dtype=float)})


def _empty_fields() -> pd.DataFrame:
    return pd.DataFrame({"subject_id": pd.Series(dtype="int64"), "field": pd.Series(dtype=object),
                         "value": pd.Series(dtype=object), "valid_from": pd.Series(pd.to_datetime([], utc=True)),
                         "seq": pd.Series(dtype="int64")})
