"""CDP identity resolution as SQL with window functions, for engines that cannot run numpy on the data.

The same rules as :func:`core.engine.identity.resolve` (read its docstring for the why), written
as joins, GROUP BYs and ``ROW_NUMBER`` windows so that a distributed engine (Spark) resolves a
world without collecting it to one machine:

1. first-seen time of every identifier; edges email->user, anonymous->user, anonymous->email
   with the first time each pair was received;
2. an email's parent is the user of its earliest edge (ties: the parent's hash); only the first
   ``max_emails_per_profile`` emails of a user (by link time, then hash) merge;
3. an anonymous id's parent is its first user, else its first email's root; its link time is the
   earliest complete path to that root; only the first ``max_anonymous_ids_per_profile`` merge;
4. the profile id is the keyed SipHash of the root identifier, exactly as in numpy, computed by a
   vectorised UDF ``audlab_id(type_index, identifier)`` that each engine registers
   (:func:`hash_ids`), so profile ids are identical across engines.

Written in DuckDB's dialect; :mod:`core.engine.portable` transpiles it for Spark. The output is
the ``identity`` table of the world layout: identifier_type, identifier, profile_id, link_time,
root_type, first_seen.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.engine.identity import IDENTIFIER_TYPES, IdentityConfig, _hash_ids
from core.engine.viewsql import with_clause

UDF_NAME = "audlab_id"


def hash_ids(type_index: np.ndarray, identifier: np.ndarray) -> np.ndarray:
    """The profile id of each (type index 0/1/2 = user_id/email/anonymous_id, identifier) pair:
    the same SipHash the numpy resolution uses. Vectorised per type."""
    type_index = np.asarray(type_index, dtype=np.int64)
    identifier = np.asarray(identifier, dtype=object)
    out = np.zeros(len(identifier), dtype=np.int64)
    for k in range(len(IDENTIFIER_TYPES)):
        m = type_index == k
        if m.any():
            out[m] = _hash_ids(identifier[m], k)
    return out


def register_duckdb(con) -> None:
    """Register ``audlab_id`` on a DuckDB connection (an Arrow-vectorised Python function)."""
    import pyarrow as pa

    def fn(k, ident):
        ids = hash_ids(k.to_numpy(zero_copy_only=False), ident.to_numpy(zero_copy_only=False))
        return pa.array(ids, type=pa.int64())

    con.create_function(UDF_NAME, fn, ["INTEGER", "VARCHAR"], "BIGINT", type="arrow")


def _events(as_of: str | None) -> str:
    cutoff = "" if as_of is None else f" AND received_at <= CAST('{pd.Timestamp(as_of).isoformat()}' AS TIMESTAMPTZ)"
    return f"""
    SELECT received_at AS t, NULLIF(CAST(user_id AS VARCHAR), '') AS u,
           NULLIF(CAST(email AS VARCHAR), '') AS e, NULLIF(CAST(anonymous_id AS VARCHAR), '') AS a
    FROM events WHERE received_at IS NOT NULL{cutoff}"""


def resolution_ctes(config: IdentityConfig = IdentityConfig(), as_of: str | None = None) -> list[tuple[str, str]]:
    """The resolution as named steps, each a SELECT over the ``events`` table and earlier steps,
    ending with ``identity`` (the identity table): ready for ``WITH name AS (select), …``, or for
    an engine that materialises some steps (:func:`core.engine.viewsql.materialised` says which).

    ``as_of`` (an ISO time from the caller's own code, never user text) keeps only events received
    by then. ``ids`` is every identifier seen (k: 0 user_id, 1 email, 2 anonymous_id) with its
    first-seen time and its hash ``h``: the one step that calls the UDF.
    """
    max_e, max_a = int(config.max_emails_per_profile), int(config.max_anonymous_ids_per_profile)
    merge = "" if config.merge_on_email else " AND FALSE"
    return [
        ("ev", _events(as_of)),
        ("ids", f"""
    SELECT k, id, fs, {UDF_NAME}(k, id) AS h FROM (
        SELECT 0 AS k, u AS id, MIN(t) AS fs FROM ev WHERE u IS NOT NULL GROUP BY u
        UNION ALL SELECT 1 AS k, e AS id, MIN(t) AS fs FROM ev WHERE e IS NOT NULL GROUP BY e
        UNION ALL SELECT 2 AS k, a AS id, MIN(t) AS fs FROM ev WHERE a IS NOT NULL GROUP BY a) AS seen"""),
        ("eu", f"SELECT e AS c, u AS p, MIN(t) AS w FROM ev WHERE e IS NOT NULL AND u IS NOT NULL{merge} GROUP BY e, u"),
        ("au", "SELECT a AS c, u AS p, MIN(t) AS w FROM ev WHERE a IS NOT NULL AND u IS NOT NULL GROUP BY a, u"),
        ("ae", "SELECT a AS c, e AS p, MIN(t) AS w FROM ev WHERE a IS NOT NULL AND e IS NOT NULL GROUP BY a, e"),
        ("e_first", """
    SELECT c, p, w FROM (
        SELECT eu.c, eu.p, eu.w, ROW_NUMBER() OVER (PARTITION BY eu.c ORDER BY eu.w, hp.h) AS rn
        FROM eu JOIN ids hp ON hp.k = 0 AND hp.id = eu.p) AS x
    WHERE rn = 1"""),
        ("e_kept", f"""
    SELECT c, p, w FROM (
        SELECT f.c, f.p, f.w, ROW_NUMBER() OVER (PARTITION BY f.p ORDER BY f.w, hc.h) AS rn
        FROM e_first f JOIN ids hc ON hc.k = 1 AND hc.id = f.c) AS x
    WHERE rn <= {max_e}"""),
        ("emails", """
    SELECT i.id, i.fs,
           CASE WHEN k.p IS NOT NULL THEN 0 ELSE 1 END AS root_k,
           COALESCE(k.p, i.id) AS root,
           COALESCE(k.w, i.fs) AS link
    FROM ids i LEFT JOIN e_kept k ON k.c = i.id
    WHERE i.k = 1"""),
        ("a_user", """
    SELECT c, p, w FROM (
        SELECT au.c, au.p, au.w, ROW_NUMBER() OVER (PARTITION BY au.c ORDER BY au.w, hp.h) AS rn
        FROM au JOIN ids hp ON hp.k = 0 AND hp.id = au.p) AS x
    WHERE rn = 1"""),
        ("a_email", """
    SELECT c, p, w FROM (
        SELECT ae.c, ae.p, ae.w, ROW_NUMBER() OVER (PARTITION BY ae.c ORDER BY ae.w, hp.h) AS rn
        FROM ae JOIN ids hp ON hp.k = 1 AND hp.id = ae.p) AS x
    WHERE rn = 1"""),
        ("anon0", """
    SELECT i.id, i.fs, i.h,
           CASE WHEN u.p IS NOT NULL THEN 0 WHEN m.p IS NOT NULL THEN em.root_k ELSE 2 END AS root_k,
           CASE WHEN u.p IS NOT NULL THEN u.p WHEN m.p IS NOT NULL THEN em.root ELSE i.id END AS root,
           CASE WHEN u.p IS NOT NULL THEN u.w WHEN m.p IS NOT NULL THEN GREATEST(m.w, em.link) ELSE i.fs END AS link0
    FROM ids i
    LEFT JOIN a_user u ON u.c = i.id
    LEFT JOIN a_email m ON m.c = i.id
    LEFT JOIN emails em ON em.id = m.p
    WHERE i.k = 2"""),
        ("shortcut", """
    SELECT ae.c, MIN(GREATEST(ae.w, em.link)) AS l
    FROM ae JOIN emails em ON em.id = ae.p JOIN anon0 a ON a.id = ae.c
    WHERE a.root_k <> 2 AND em.root_k = a.root_k AND em.root = a.root
    GROUP BY ae.c"""),
        ("anon_ranked", """
    SELECT id, fs, root_k, root, link,
           ROW_NUMBER() OVER (PARTITION BY root_k, root ORDER BY link, h) AS rn
    FROM (
        SELECT a.id, a.fs, a.h, a.root_k, a.root,
               CASE WHEN s.l IS NOT NULL AND s.l < a.link0 THEN s.l ELSE a.link0 END AS link
        FROM anon0 a LEFT JOIN shortcut s ON s.c = a.id) AS anon1"""),
        ("resolved", f"""
    SELECT 0 AS k, id, 0 AS root_k, id AS root, fs AS link, fs FROM ids WHERE k = 0
    UNION ALL SELECT 1 AS k, id, root_k, root, link, fs FROM emails
    UNION ALL
    SELECT 2 AS k, id,
           CASE WHEN root_k <> 2 AND rn > {max_a} THEN 2 ELSE root_k END AS root_k,
           CASE WHEN root_k <> 2 AND rn > {max_a} THEN id ELSE root END AS root,
           CASE WHEN root_k <> 2 AND rn > {max_a} THEN fs ELSE link END AS link,
           fs
    FROM anon_ranked"""),
        ("identity", """
    SELECT CASE r.k WHEN 0 THEN 'user_id' WHEN 1 THEN 'email' ELSE 'anonymous_id' END AS identifier_type,
           r.id AS identifier, CAST(h.h AS BIGINT) AS profile_id, r.link AS link_time,
           CASE r.root_k WHEN 0 THEN 'user_id' WHEN 1 THEN 'email' ELSE 'anonymous_id' END AS root_type,
           r.fs AS first_seen
    FROM resolved r JOIN ids h ON h.k = r.root_k AND h.id = r.root"""),
    ]


def resolution_sql(config: IdentityConfig = IdentityConfig(), as_of: str | None = None) -> str:
    """The identity table from the ``events`` table, as one DuckDB-dialect query (see
    :func:`resolution_ctes`)."""
    steps = resolution_ctes(config, as_of)
    return with_clause(steps[:-1]) + "\n" + steps[-1][1].strip()


__all__ = ["UDF_NAME", "hash_ids", "register_duckdb", "resolution_ctes", "resolution_sql"]
