"""The four views of a world, defined once in SQL over the world's own tables.

Each view (truth, CRM, CDP, hybrid) is three relations — ``v_subjects``, ``v_events``,
``v_fields`` (docs/ARCHITECTURE.md, "View relations") — written here as DuckDB-dialect SELECTs
over the tables of the documented world layout (``people``, ``accounts``, ``events``, ``traits``,
``intent``, ``crm_changes``) plus the ``identity`` table that identity resolution produces.
One definition serves three places, so they cannot drift apart:

* :class:`core.engine.views.Engine` runs it in DuckDB;
* :mod:`core.engine.spark` runs it in Spark after :mod:`core.engine.portable` transpiles it;
* ``audience-lab sql`` exports it as CTEs in front of a rule, for a warehouse.

Only constants of this module are inlined (event-type lists, field names); nothing a user typed.
The SQL is written in the subset every target dialect shares (window functions, CASE, COALESCE,
GREATEST, STRPOS/SUBSTR, a regular-expression test before each cast, since Postgres has no
TRY_CAST). ``traits`` and ``crm_changes`` need a ``seq`` column: the row's position in the log,
which orders records that share a timestamp (the loaders add it from the file's row order).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

VIEWS: tuple[str, ...] = ("truth", "crm", "cdp", "hybrid")
RELATIONS: tuple[str, ...] = ("v_subjects", "v_events", "v_fields")

#: What a marketing CRM's tracking sees: page views and form fills of tracked browsers, and the
#: e-mail engagement of the e-mails it sends. No app, store, ad or product-usage events.
CRM_EVENT_TYPES: frozenset[str] = frozenset({"page_view", "form_submit", "demo_requested", "signup",
                                             "email_open", "email_click"})
#: Events that identify a browser to the CRM without being filterable behaviour themselves: a
#: checkout form typed into a tracked page (HubSpot's collected forms, shop integrations).
CRM_IDENTIFYING_TYPES: frozenset[str] = CRM_EVENT_TYPES | {"checkout_started"}

# A value is read as a number / a time only when it looks like one: the same answer in every
# dialect (Spark would read '2026' as a timestamp; Postgres has no TRY_CAST).
_NUMBER_RE = r"^ *[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)? *$"
_TIME_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}.*$"


def _list(values) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))  # module constants only, never user text


@dataclass(frozen=True)
class Layout:
    """What the world's tables hold beyond the contract's required columns."""

    crm_received: bool = False  # events carry crm_received_at (when the CRM's own tracking got it)
    crm_identify: bool = False  # events carry crm_identify_email (the CRM script's identify on a login)
    has_person: bool = True     # events carry person_id (ground truth); an imported world does not


# --------------------------------------------------------------------------- building blocks
# name -> (sql, dependencies); the statement for a relation pulls in what it needs, in order.


def _ctes(layout: Layout) -> dict[str, tuple[str, tuple[str, ...]]]:
    crm_seen = ("crm_received_at" if layout.crm_received
                else "CASE WHEN CAST(channel AS VARCHAR) = 'email' THEN ts ELSE received_at END")
    person = "CAST(person_id AS BIGINT)" if layout.has_person else "CAST(NULL AS BIGINT)"
    # the e-mail a tracked event ties to a contact: typed (form, click) or, on a logged-in page, the
    # one the CRM's tracking script identified the visitor with (HubSpot's identify call)
    crm_key = ("COALESCE(CAST(ev.email AS VARCHAR), CAST(ev.crm_identify_email AS VARCHAR))" if layout.crm_identify
               else "CAST(ev.email AS VARCHAR)")
    return {
        # ---- truth: the latent state as field intervals (bought > in_market > cooling > none)
        "latent_bounds": ("""
            SELECT person_id, start AS t FROM intent
            UNION
            SELECT person_id, "end" AS t FROM intent""", ()),
        "latent_state": ("""
            SELECT b.person_id, b.t,
                   MAX(CASE i.state WHEN 'bought' THEN 3 WHEN 'in_market' THEN 2 WHEN 'cooling' THEN 1 ELSE 0 END) AS code,
                   MAX(CASE WHEN i.state = 'in_market' THEN i.strength END) AS s_in,
                   MAX(CASE WHEN i.state = 'cooling' THEN i.strength END) AS s_cool
            FROM latent_bounds b
            LEFT JOIN intent i ON i.person_id = b.person_id AND i.start <= b.t AND i."end" > b.t
            GROUP BY b.person_id, b.t""", ("latent_bounds",)),
        "latent_runs": ("""
            SELECT person_id, t, state, strength,
                   LAG(state) OVER (PARTITION BY person_id ORDER BY t) AS prev_state,
                   LAG(strength) OVER (PARTITION BY person_id ORDER BY t) AS prev_strength
            FROM (
                SELECT person_id, t,
                       CASE COALESCE(code, 0) WHEN 3 THEN 'bought' WHEN 2 THEN 'in_market'
                            WHEN 1 THEN 'cooling' ELSE 'none' END AS state,
                       CASE COALESCE(code, 0) WHEN 2 THEN s_in WHEN 1 THEN s_cool ELSE 0 END AS strength
                FROM latent_state) AS v""", ("latent_state",)),
        "latent": ("""
            SELECT person_id, 'intent' AS field, state AS value, t AS valid_from
            FROM latent_runs WHERE prev_state IS NULL OR state <> prev_state
            UNION ALL
            SELECT person_id, 'intent_strength' AS field,
                   CAST(CAST(strength AS DECIMAL(10, 3)) AS VARCHAR) AS value, t AS valid_from
            FROM latent_runs WHERE prev_strength IS NULL OR strength <> prev_strength""", ("latent_runs",)),
        "truth_raw": ("""
            SELECT person_id AS subject_id, field, value, effective_at AS valid_from, 0 AS src, seq
            FROM traits
            UNION ALL
            SELECT person_id AS subject_id, field, value, valid_from, 1 AS src, 0 AS seq
            FROM latent""", ("latent",)),
        # ---- CRM: contacts, their company, and the behaviour its own tracking attaches to them
        "crm_contacts": ("""
            SELECT contact_id, person_id FROM (
                SELECT contact_id, person_id, ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY seq) AS rn
                FROM crm_changes) AS c
            WHERE rn = 1""", ()),
        "crm_company": ("""
            SELECT contact_id, value AS company FROM (
                SELECT contact_id, value, ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY seq DESC) AS rn
                FROM crm_changes WHERE field = 'company') AS c
            WHERE rn = 1""", ()),
        "account_names": ("SELECT name, MIN(account_id) AS account_id FROM accounts GROUP BY name", ()),
        "crm_email": ("""
            SELECT email, contact_id, recorded_at FROM (
                SELECT value AS email, contact_id, recorded_at,
                       ROW_NUMBER() OVER (PARTITION BY value ORDER BY contact_id, recorded_at, seq) AS rn
                FROM crm_changes WHERE field = 'email' AND value IS NOT NULL) AS c
            WHERE rn = 1""", ()),
        "crm_seen": (f"""
            SELECT ev.ts, CAST(ev.event_type AS VARCHAR) AS event_type, CAST(ev.channel AS VARCHAR) AS channel,
                   CAST(ev.page AS VARCHAR) AS page, CAST(ev.value AS DOUBLE) AS value,
                   CAST(ev.anonymous_id AS VARCHAR) AS anonymous_id, ev.seen,
                   ce.contact_id AS e_contact, ce.recorded_at AS e_at
            FROM (
                SELECT *, {crm_seen} AS seen FROM events
                WHERE CAST(event_type AS VARCHAR) IN ({_list(CRM_IDENTIFYING_TYPES)})) AS ev
            LEFT JOIN crm_email ce ON ce.email = {crm_key}
            WHERE ev.seen IS NOT NULL""", ("crm_email",)),
        "crm_browser": ("""
            SELECT anonymous_id, contact_id, t FROM (
                SELECT anonymous_id, e_contact AS contact_id, GREATEST(seen, e_at) AS t,
                       ROW_NUMBER() OVER (PARTITION BY anonymous_id ORDER BY GREATEST(seen, e_at), e_contact) AS rn
                FROM crm_seen WHERE anonymous_id IS NOT NULL AND e_contact IS NOT NULL) AS b
            WHERE rn = 1""", ("crm_seen",)),
        # ---- CDP: events placed on profiles by the identity table
        "cdp_received": (f"""
            SELECT {person} AS person_id, ts, received_at, CAST(event_type AS VARCHAR) AS event_type,
                   CAST(channel AS VARCHAR) AS channel, CAST(page AS VARCHAR) AS page, CAST(value AS DOUBLE) AS value,
                   NULLIF(CAST(user_id AS VARCHAR), '') AS u, NULLIF(CAST(email AS VARCHAR), '') AS e,
                   NULLIF(CAST(anonymous_id AS VARCHAR), '') AS a
            FROM events WHERE received_at IS NOT NULL""", ()),
        "cdp_placed": ("""
            SELECT i.profile_id AS subject_id, r.person_id, r.ts, GREATEST(r.received_at, i.link_time) AS visible_at,
                   r.event_type, r.channel, r.page, r.value
            FROM cdp_received r
            JOIN identity i
              ON i.identifier_type = CASE WHEN r.u IS NOT NULL THEN 'user_id'
                                          WHEN r.e IS NOT NULL THEN 'email' ELSE 'anonymous_id' END
             AND i.identifier = COALESCE(r.u, r.e, r.a)""", ("cdp_received",)),
        # profiles none of whose identifiers' events were placed on them (the owner step needs them)
        "cdp_eventless": ("""
            SELECT i.identifier_type, i.identifier, i.profile_id
            FROM identity i LEFT JOIN (SELECT DISTINCT subject_id FROM cdp_placed) AS p ON p.subject_id = i.profile_id
            WHERE p.subject_id IS NULL""", ("cdp_placed",)),
        "cdp_carried": ("""
            SELECT l.profile_id, r.person_id FROM cdp_received r
            JOIN cdp_eventless l ON l.identifier_type = 'user_id' AND l.identifier = r.u
            UNION ALL
            SELECT l.profile_id, r.person_id FROM cdp_received r
            JOIN cdp_eventless l ON l.identifier_type = 'email' AND l.identifier = r.e
            UNION ALL
            SELECT l.profile_id, r.person_id FROM cdp_received r
            JOIN cdp_eventless l ON l.identifier_type = 'anonymous_id' AND l.identifier = r.a""",
                        ("cdp_received", "cdp_eventless")),
        # ground truth behind a profile: the majority person of its events (ties: smallest id);
        # a profile without events takes the events that carry its identifiers
        "cdp_owner": ("""
            SELECT profile_id, person_id FROM (
                SELECT profile_id, person_id,
                       ROW_NUMBER() OVER (PARTITION BY profile_id ORDER BY n DESC, person_id) AS rn
                FROM (
                    SELECT profile_id, person_id, COUNT(*) AS n FROM (
                        SELECT subject_id AS profile_id, person_id FROM cdp_placed
                        UNION ALL
                        SELECT profile_id, person_id FROM cdp_carried) AS pairs
                    WHERE person_id IS NOT NULL
                    GROUP BY profile_id, person_id) AS counted) AS ranked
            WHERE rn = 1""", ("cdp_placed", "cdp_carried")),
        # B2B CDPs match profiles to accounts by the domain of their e-mail addresses
        "cdp_account": ("""
            SELECT i.profile_id, MIN(d.account_id) AS account_id
            FROM identity i
            JOIN (SELECT domain, MIN(account_id) AS account_id FROM accounts GROUP BY domain) AS d
              ON d.domain = SUBSTR(i.identifier, STRPOS(i.identifier, '@') + 1)
            WHERE i.identifier_type = 'email'
            GROUP BY i.profile_id""", ()),
        # ---- hybrid: CRM fields joined onto the profile holding the contact's first e-mail
        "hybrid_link": ("""
            SELECT c.contact_id, i.profile_id FROM (
                SELECT contact_id, value, ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY seq) AS rn
                FROM crm_changes WHERE field = 'email') AS c
            JOIN identity i ON i.identifier_type = 'email' AND i.identifier = c.value
            WHERE c.rn = 1""", ()),
    }


def _fields(raw: str) -> str:
    """Field intervals from (subject_id, field, value, valid_from, src, seq) records."""
    return f"""
        SELECT CAST(subject_id AS BIGINT) AS subject_id, CAST(field AS VARCHAR) AS field,
               CAST(value AS VARCHAR) AS value_text,
               CASE WHEN REGEXP_MATCHES(value, '{_NUMBER_RE}') THEN TRY_CAST(value AS DOUBLE) END AS value_num,
               CASE WHEN REGEXP_MATCHES(value, '{_TIME_RE}') THEN TRY_CAST(value AS TIMESTAMPTZ) END AS value_ts,
               valid_from,
               LEAD(valid_from) OVER (PARTITION BY subject_id, field ORDER BY valid_from, src, seq) AS valid_to
        FROM ({raw}) AS raw"""


_EVENT_COLS = ("CAST(event_type AS VARCHAR) AS event_type, CAST(channel AS VARCHAR) AS channel, "
               "CAST(page AS VARCHAR) AS page, CAST(value AS DOUBLE) AS value")

_NO_FIELDS = """
        SELECT CAST(NULL AS BIGINT) AS subject_id, CAST(NULL AS VARCHAR) AS field, CAST(NULL AS VARCHAR) AS value_text,
               CAST(NULL AS DOUBLE) AS value_num, CAST(NULL AS TIMESTAMPTZ) AS value_ts,
               CAST(NULL AS TIMESTAMPTZ) AS valid_from, CAST(NULL AS TIMESTAMPTZ) AS valid_to
        WHERE 1 = 0"""

_CDP_SUBJECTS = ("""
        SELECT CAST(p.profile_id AS BIGINT) AS subject_id, CAST(COALESCE(o.person_id, 0) AS BIGINT) AS person_id,
               CAST(a.account_id AS BIGINT) AS account_id
        FROM (SELECT DISTINCT profile_id FROM identity) AS p
        LEFT JOIN cdp_owner o ON o.profile_id = p.profile_id
        LEFT JOIN cdp_account a ON a.profile_id = p.profile_id""", ("cdp_owner", "cdp_account"))
_CDP_EVENTS = ("""
        SELECT CAST(subject_id AS BIGINT) AS subject_id, ts, visible_at, event_type, channel, page, value
        FROM cdp_placed""", ("cdp_placed",))

_RELATIONS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "truth": {
        "v_subjects": ("""
        SELECT CAST(person_id AS BIGINT) AS subject_id, CAST(person_id AS BIGINT) AS person_id,
               CAST(account_id AS BIGINT) AS account_id
        FROM people""", ()),
        "v_events": (f"""
        SELECT CAST(person_id AS BIGINT) AS subject_id, ts, ts AS visible_at, {_EVENT_COLS}
        FROM events""", ()),
        "v_fields": (_fields("SELECT * FROM truth_raw"), ("truth_raw",)),
    },
    "crm": {
        "v_subjects": ("""
        SELECT CAST(c.contact_id AS BIGINT) AS subject_id, CAST(c.person_id AS BIGINT) AS person_id,
               CAST(n.account_id AS BIGINT) AS account_id
        FROM crm_contacts c
        LEFT JOIN crm_company co ON co.contact_id = c.contact_id
        LEFT JOIN account_names n ON n.name = co.company""", ("crm_contacts", "crm_company", "account_names")),
        # an event with a contact's e-mail belongs to that contact from the contact's creation; a
        # browser's events belong to the contact that first identified it, from that moment
        "v_events": (f"""
        SELECT CAST(COALESCE(s.e_contact, b.contact_id) AS BIGINT) AS subject_id, s.ts,
               GREATEST(s.seen, CASE WHEN s.e_contact IS NOT NULL THEN s.e_at ELSE b.t END) AS visible_at,
               s.event_type, s.channel, s.page, s.value
        FROM crm_seen s
        LEFT JOIN crm_browser b ON b.anonymous_id = s.anonymous_id
        WHERE COALESCE(s.e_contact, b.contact_id) IS NOT NULL
          AND s.event_type IN ({_list(CRM_EVENT_TYPES)})""", ("crm_seen", "crm_browser")),
        "v_fields": (_fields("""
            SELECT contact_id AS subject_id, field, value, recorded_at AS valid_from, 0 AS src, seq
            FROM crm_changes"""), ()),
    },
    "cdp": {"v_subjects": _CDP_SUBJECTS, "v_events": _CDP_EVENTS, "v_fields": (_NO_FIELDS, ())},
    "hybrid": {
        "v_subjects": _CDP_SUBJECTS, "v_events": _CDP_EVENTS,
        "v_fields": (_fields("""
            SELECT l.profile_id AS subject_id, ch.field, ch.value, ch.recorded_at AS valid_from, 0 AS src, ch.seq
            FROM crm_changes ch JOIN hybrid_link l ON l.contact_id = ch.contact_id"""), ("hybrid_link",)),
    },
}

#: The base tables each view reads (the identity table only for the CDP and the hybrid).
TABLES_OF: dict[str, tuple[str, ...]] = {
    "truth": ("people", "events", "traits", "intent"),
    "crm": ("crm_changes", "accounts", "events"),
    "cdp": ("events", "identity", "accounts"),
    "hybrid": ("events", "identity", "accounts", "crm_changes"),
}


def _order(names: tuple[str, ...], ctes: dict) -> list[str]:
    """The CTEs ``names`` need, dependencies first, each once."""
    out: list[str] = []

    def visit(name: str) -> None:
        if name in out:
            return
        for dep in ctes[name][1]:
            visit(dep)
        out.append(name)

    for n in names:
        visit(n)
    return out


def relation_ctes(view: str, layout: Layout = Layout(),
                  relations: tuple[str, ...] = RELATIONS) -> list[tuple[str, str]]:
    """``(name, select)`` pairs, dependencies first, ending with the view's relations: ready for
    ``WITH name AS (select), …``."""
    if view not in _RELATIONS:
        raise ValueError(f"unknown view {view!r}; accepted: {', '.join(VIEWS)}")
    ctes = _ctes(layout)
    rels = _RELATIONS[view]
    needed = tuple(d for r in relations for d in rels[r][1])
    out = [(name, ctes[name][0]) for name in _order(needed, ctes)]
    return out + [(r, rels[r][0]) for r in relations]


def relation_sql(view: str, relation: str, layout: Layout = Layout()) -> str:
    """One relation as a single SELECT (its helper CTEs in a WITH)."""
    parts = relation_ctes(view, layout, (relation,))
    helpers = parts[:-1]
    body = parts[-1][1]
    if not helpers:
        return body.strip()
    return with_clause(helpers) + "\n" + body.strip()


#: Steps that only filter and project a base table: an engine re-reads the table rather than
#: store a copy of it (the CDP's received events; the identity resolution's ``ev``).
SCANS: frozenset[str] = frozenset({"cdp_received", "ev"})


def materialised(steps: list[tuple[str, str]]) -> frozenset[str]:
    """The steps worth computing once and storing: those that later steps read two or more times
    (``FROM name`` / ``JOIN name``), scans of a base table excepted. An engine that inlines them
    (Spark's temporary views, DuckDB's views) would otherwise compute each once per reference."""
    out = set()
    for i, (name, _) in enumerate(steps):
        if name in SCANS:
            continue
        pattern = re.compile(rf"\b(?:FROM|JOIN)\s+{re.escape(name)}\b", re.IGNORECASE)
        if sum(len(pattern.findall(sql)) for _, sql in steps[i + 1:]) >= 2:
            out.add(name)
    return frozenset(out)


def with_clause(parts: list[tuple[str, str]]) -> str:
    return "WITH " + ",\n".join(f"{name} AS ({sql}\n)" for name, sql in parts)


__all__ = ["CRM_EVENT_TYPES", "CRM_IDENTIFYING_TYPES", "Layout", "RELATIONS", "SCANS", "TABLES_OF", "VIEWS",
           "materialised", "relation_ctes", "relation_sql", "with_clause"]
