"""What each system sees of a world, and who is in a segment or audience, when.

An :class:`Engine` holds one world in DuckDB (in-process) and materialises the four *view
relations* of docs/ARCHITECTURE.md for each view — truth, CRM, CDP, hybrid — so one compiled
rule runs unchanged on any of them:

- **truth**: every event under the true person, visible at once; fields from the true traits, plus
  the latent state only the simulator knows (``intent``: in_market / cooling / bought / none, and
  ``intent_strength``), so a play's yardstick can be defined from the world, not from either
  system's rule.
- **crm**: contacts (duplicates included); fields as recorded (``recorded_at``); and the behaviour a
  marketing CRM's own tracking sees of known contacts (:data:`CRM_EVENT_TYPES`): events carrying
  a contact's e-mail attach to that contact, and a browser's events attach once the browser was
  identified by a form fill or a tracked e-mail click (its past visits included, as HubSpot and
  Account Engagement associate a cookie's history with the contact on identification).
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

#: What a marketing CRM's tracking sees: page views and form fills of tracked browsers, and the
#: e-mail engagement of the e-mails it sends. No app, store, ad or product-usage events.
CRM_EVENT_TYPES: frozenset[str] = frozenset({"page_view", "form_submit", "demo_requested", "signup",
                                             "email_open", "email_click"})
#: Events that identify a browser to the CRM without being filterable behaviour themselves: a
#: checkout form typed into a tracked page (HubSpot's collected forms, shop integrations).
CRM_IDENTIFYING_TYPES: frozenset[str] = CRM_EVENT_TYPES | {"checkout_started"}
#: Latent fields of the truth view (never visible to the CRM or the CDP).
LATENT_FIELDS: dict[str, str] = {"intent": "text", "intent_strength": "number"}

#: Fields whose recorded value is a number or a date (everything else is text).
NUMBER_FIELDS = frozenset({"employees", "orders_count", "total_spend", "deal_amount", "icp_fit"})
DATE_FIELDS = frozenset({"last_purchase_date", "last_email_click_date", "trial_started_date", "abandoned_checkout_date"})


@dataclass(frozen=True)
class EngineConfig:
    """How the CDP resolves identity (the activation delays live in :mod:`core.engine.activation`)."""

    identity: IdentityConfig = field(default_factory=IdentityConfig)


def field_type(name: str) -> str:
    if name in LATENT_FIELDS:
        return LATENT_FIELDS[name]
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
        kw = {"event_types": CRM_EVENT_TYPES} if view == "crm" else {}
        return ViewSchema(name=view, fields={n: field_type(n) for n in names}, has_events=True,
                          has_accounts=b2b, **kw)

    def _truth_relations(self):
        w = self.world
        subjects = pd.DataFrame({"subject_id": w.people["person_id"], "person_id": w.people["person_id"],
                                 "account_id": w.people["account_id"]})
        ev = w.events
        events = pd.DataFrame({"subject_id": ev["person_id"], "ts": ev["ts"], "visible_at": ev["ts"],
                               "event_type": ev["event_type"], "channel": ev["channel"], "page": ev["page"], "value": ev["value"]})
        tr = w.traits
        fields = pd.DataFrame({"subject_id": tr["person_id"], "field": tr["field"], "value": tr["value"],
                               "valid_from": tr["effective_at"]})
        fields = pd.concat([fields, latent_fields(w.intent)], ignore_index=True)
        fields["seq"] = np.arange(len(fields))
        return subjects, events, fields

    def _crm_relations(self):
        ch = self.world.crm_changes
        subjects = ch[["contact_id", "person_id"]].drop_duplicates("contact_id").rename(columns={"contact_id": "subject_id"})
        subjects["account_id"] = self._crm_accounts(subjects["subject_id"])
        events = crm_events(self.world.events, ch)
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


def latent_fields(intent: pd.DataFrame) -> pd.DataFrame:
    """The latent state as field intervals: ``intent`` (bought > in_market > cooling > none) and
    ``intent_strength`` (the strength of the winning state; 0 after buying or when not in market).

    Intent rows overlap (a cooling tail under the next episode, 'bought' inside an episode), so
    the state is read at every boundary of every row with one range join in DuckDB, then runs of
    equal values are collapsed.
    """
    cols = {"subject_id": pd.Series(dtype="int64"), "field": pd.Series(dtype=object),
            "value": pd.Series(dtype=object), "valid_from": pd.Series(pd.to_datetime([], utc=True))}
    if len(intent) == 0:
        return pd.DataFrame(cols)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("intent", intent[["person_id", "start", "end", "strength", "state"]])
        df = con.execute("""
            WITH b AS (SELECT person_id, start AS t FROM intent UNION SELECT person_id, "end" FROM intent),
            s AS (
                SELECT b.person_id, b.t,
                       MAX(CASE i.state WHEN 'bought' THEN 3 WHEN 'in_market' THEN 2 WHEN 'cooling' THEN 1 ELSE 0 END) AS code,
                       MAX(CASE WHEN i.state = 'in_market' THEN i.strength END) AS s_in,
                       MAX(CASE WHEN i.state = 'cooling' THEN i.strength END) AS s_cool
                FROM b LEFT JOIN intent i ON i.person_id = b.person_id AND i.start <= b.t AND i."end" > b.t
                GROUP BY 1, 2),
            v AS (
                SELECT person_id, t,
                       CASE COALESCE(code, 0) WHEN 3 THEN 'bought' WHEN 2 THEN 'in_market' WHEN 1 THEN 'cooling' ELSE 'none' END AS state,
                       CASE COALESCE(code, 0) WHEN 2 THEN s_in WHEN 1 THEN s_cool ELSE 0 END AS strength
                FROM s),
            runs AS (
                SELECT *, LAG(state) OVER w AS prev_state, LAG(strength) OVER w AS prev_strength
                FROM v WINDOW w AS (PARTITION BY person_id ORDER BY t))
            SELECT person_id, t, state, strength,
                   prev_state IS NULL OR state <> prev_state AS new_state,
                   prev_strength IS NULL OR strength <> prev_strength AS new_strength
            FROM runs ORDER BY person_id, t""").df()
    finally:
        con.close()
    st = df[df["new_state"]]
    sg = df[df["new_strength"]]
    return pd.DataFrame({
        "subject_id": np.concatenate([st["person_id"].to_numpy(np.int64), sg["person_id"].to_numpy(np.int64)]),
        "field": np.array(["intent"] * len(st) + ["intent_strength"] * len(sg), dtype=object),
        "value": np.concatenate([st["state"].to_numpy(dtype=object),
                                 np.char.mod("%.3f", sg["strength"].to_numpy(dtype=float)).astype(object)]),
        "valid_from": pd.to_datetime(pd.concat([st["t"], sg["t"]], ignore_index=True), utc=True).array,
    })


def crm_events(events: pd.DataFrame, crm_changes: pd.DataFrame) -> pd.DataFrame:
    """The behaviour a marketing CRM attaches to its contacts (the ``crm`` view's ``v_events``).

    What the CRM's tracking received is ``crm_received_at`` when the world has it; older worlds
    without that column fall back to the CDP's web tracking (``received_at``) for page views and
    forms, and to the send itself for e-mail engagement (the CRM sends those e-mails). Rules, all
    on whole columns:

    * an event that carries an e-mail attaches to the contact recorded with that e-mail (the
      lowest contact id when an import created two with the same address), visible once the
      contact exists;
    * a browser (``anonymous_id``, the tracking cookie) is identified by the first tracked event
      that carries both the cookie and a contact's e-mail (a form fill, a tracked e-mail link
      click); from then on every tracked event of that browser, earlier ones included, belongs to
      that contact — first identification wins, as for the CDP;
    * an event becomes visible at ``max(received by the CRM, identification time)``.
    """
    empty = _empty_events()
    if len(events) == 0 or len(crm_changes) == 0:
        return empty
    ev = events[events["event_type"].isin(CRM_IDENTIFYING_TYPES).to_numpy()]
    if "crm_received_at" in ev.columns:
        seen = ev["crm_received_at"]
    else:
        own_send = ev["channel"].astype(str).eq("email").to_numpy()
        seen = ev["received_at"].where(~own_send, ev["ts"])
    ok = seen.notna().to_numpy()
    ev, seen = ev[ok], seen[ok]
    if len(ev) == 0:
        return empty
    emails = crm_changes[crm_changes["field"] == "email"]
    first = emails.sort_values(["value", "contact_id", "recorded_at"], kind="mergesort").drop_duplicates("value")
    contact_of = first.set_index("value")["contact_id"]
    email = ev["email"].astype(object)
    by_email = email.map(contact_of)
    email_ns = _ns(email.map(first.set_index("value")["recorded_at"]))
    seen_ns = seen.array.asi8
    # browsers identified by an event carrying both the cookie and a known e-mail
    ident = pd.DataFrame({"anon": ev["anonymous_id"].astype(object).to_numpy(), "contact": by_email.to_numpy(),
                          "t": np.maximum(seen_ns, email_ns)})
    ident = ident[ident["anon"].notna() & ident["contact"].notna()]
    ident = ident.sort_values(["anon", "t", "contact"], kind="mergesort").drop_duplicates("anon").set_index("anon")
    anon = ev["anonymous_id"].astype(object)
    via_browser = anon.map(ident["contact"])
    contact = by_email.where(by_email.notna(), via_browser)
    never = np.iinfo(np.int64).min
    browser_ns = anon.map(ident["t"]).astype("Int64").fillna(never).to_numpy(dtype=np.int64)
    link_ns = np.where(by_email.notna().to_numpy(), email_ns, browser_ns)
    keep = (contact.notna() & ev["event_type"].isin(CRM_EVENT_TYPES)).to_numpy()
    visible = np.maximum(seen_ns[keep], link_ns[keep])
    return pd.DataFrame({
        "subject_id": contact[keep].to_numpy(dtype=np.int64),
        "ts": ev["ts"][keep].array,
        "visible_at": pd.DatetimeIndex(visible.view("datetime64[ns]")).tz_localize("UTC"),
        "event_type": ev["event_type"][keep].array,
        "channel": ev["channel"][keep].array,
        "page": ev["page"][keep].array,
        "value": ev["value"][keep].to_numpy(dtype=float),
    })


def _ns(times: pd.Series) -> np.ndarray:
    """UTC timestamps (NaT allowed) as int64 nanoseconds, NaT as the smallest int64."""
    return pd.to_datetime(times, utc=True).array.asi8 if len(times) else np.empty(0, dtype=np.int64)


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
