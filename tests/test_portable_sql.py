"""Portable SQL: one query per rule that parses in six dialects and, run on the world's tables in
DuckDB, returns exactly the engine's members; the CLI prints it; user values are quoted by sqlglot."""
from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest
import sqlglot

from core.cli.main import main
from core.errors import RuleError
from core.engine.identity_sql import register_duckdb, resolution_sql
from core.engine.plays import plays_for
from core.engine.portable import DIALECTS, portable_sql
from core.engine.views import Engine, identity_table, with_seq, world_layout
from synthetic import generate
from synthetic.config import WorldConfig
from synthetic.io import write_world

TABLES = ("people", "accounts", "events", "traits", "intent", "crm_changes")


@pytest.fixture(scope="module", params=["b2c-retail", "b2b-saas", "plg-saas"])
def setup(request):
    """An engine on a small world, and a DuckDB holding only the world's tables and its identity table."""
    engine = Engine(generate(WorldConfig(preset=request.param, seed=5, people=1500)))
    w = engine.world
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in TABLES:
        frame = getattr(w, name)
        con.register(name, with_seq(frame) if name in ("traits", "crm_changes") else frame)
    con.register("identity", identity_table(engine.resolution))
    return engine, con


def test_every_play_in_every_dialect_parses_and_duckdb_gives_the_engines_members(setup):
    engine, con = setup
    w = engine.world
    layout = world_layout(w)
    for play in plays_for(w.config.preset):
        for view in ("truth", "crm", "cdp", "hybrid"):
            rule = play.rule(view)
            try:
                engine.members(rule, view, w.end)
            except RuleError:  # a field this world's CRM never recorded: refused the same way
                with pytest.raises(RuleError):
                    portable_sql(rule, view, "duckdb", w.end, schema=engine.schema(view))
                continue
            for d in DIALECTS:
                sqlglot.parse_one(portable_sql(rule, view, d, w.end, layout=layout), read=d)
            for t in (w.start + (w.end - w.start) * 0.6, w.end):
                got = [r[0] for r in con.execute(portable_sql(rule, view, "duckdb", t, layout=layout)).fetchall()]
                assert got == list(engine.members(rule, view, t)["subject_id"]), (play.name, view, t)


def test_identity_sql_builds_the_same_identity_table(setup):
    """The identity table a warehouse would hold, resolved by the SQL version, equals the engine's."""
    engine, con = setup
    register_duckdb(con)
    got = con.execute(resolution_sql(engine.config.identity)).df()
    want = identity_table(engine.resolution)
    key = ["identifier_type", "identifier"]
    got = got.sort_values(key).reset_index(drop=True)
    want = want.assign(identifier_type=want["identifier_type"].astype(str), root_type=want["root_type"].astype(str)
                       ).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[list(want.columns)], want, check_dtype=False)


def test_user_values_become_quoted_literals_in_each_dialect():
    evil = "x' OR '1'='1"
    rule = {"name": "r", "all": [{"field": "industry", "op": "eq", "value": evil},
                                 {"field": "industry", "op": "contains", "value": "back\\slash"}]}
    for d in DIALECTS:
        sql = portable_sql(rule, "crm", d, "2026-10-01T00:00:00Z")
        tree = sqlglot.parse_one(sql, read=d)
        strings = {lit.this for lit in tree.find_all(sqlglot.exp.Literal) if lit.is_string}
        assert evil in strings and "back\\slash" in strings, d  # one literal each, not split into SQL
        # no parameter marker is left for the warehouse to fill (a '?' inside a regex literal is fine)
        assert not list(tree.find_all(sqlglot.exp.Placeholder, sqlglot.exp.Parameter)), d


def test_without_a_time_the_query_runs_at_the_warehouses_now():
    sql = portable_sql({"name": "r", "event": "login", "within": "7d"}, "cdp", "snowflake")
    assert "CURRENT_TIMESTAMP" in sql.upper() and "1900" not in sql


def test_unknown_dialect_or_view_is_one_clear_line():
    from core.errors import UserError

    with pytest.raises(UserError, match="unknown dialect 'oracle'; accepted: duckdb, spark"):
        portable_sql({"name": "r", "event": "login"}, "cdp", "oracle")
    with pytest.raises(UserError, match="unknown view 'erp'"):
        portable_sql({"name": "r", "event": "login"}, "erp", "duckdb")


def test_cli_prints_one_query_that_duckdb_runs(tmp_path, capsys):
    world = generate(WorldConfig(preset="b2c-retail", seed=5, people=800))
    write_world(world, tmp_path / "w")
    rule = plays_for("b2c-retail")[0].rule("cdp")
    (tmp_path / "r.json").write_text(rule.to_json())
    assert main(["sql", "--rule", str(tmp_path / "r.json"), "--view", "cdp", "--dialect", "bigquery",
                 "--world", str(tmp_path / "w")]) == 0
    out = capsys.readouterr().out
    sqlglot.parse_one(out.rstrip().rstrip(";"), read="bigquery")
    assert main(["sql", "--rule", str(tmp_path / "r.json"), "--view", "cdp", "--dialect", "duckdb",
                 "--world", str(tmp_path / "w"), "--as-of", "2026-10-15T12:00:00Z"]) == 0
    sql = capsys.readouterr().out
    engine = Engine(world)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in TABLES:
        con.register(name, getattr(world, name))
    con.register("identity", identity_table(engine.resolution))
    got = [r[0] for r in con.execute(sql.rstrip().rstrip(";")).fetchall()]
    assert got == list(engine.members(rule, "cdp", "2026-10-15T12:00:00Z")["subject_id"])
    assert main(["sql", "--rule", str(tmp_path / "r.json"), "--view", "cdp", "--dialect", "mysql"]) == 2
    assert "invalid choice: 'mysql'" in capsys.readouterr().err


def test_cli_bad_time_is_one_line(tmp_path, capsys):
    (tmp_path / "r.json").write_text(json.dumps({"name": "r", "event": "login"}))
    assert main(["sql", "--rule", str(tmp_path / "r.json"), "--view", "cdp", "--dialect", "spark",
                 "--as-of", "yesterday-ish"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot read time 'yesterday-ish'" in err


def test_segments_page_prints_each_play_for_a_chosen_warehouse():
    """The Segments page's dialect selector shows the same self-contained query as `audience-lab sql`,
    which parses in that dialect; the engine's own SQL stays the default."""
    from tests.test_pages import assert_clean, run_page

    at = run_page("pages/3_Segments.py")
    assert_clean(at)
    engine_sql = [c.value for c in at.code]
    assert len(engine_sql) == 2 and not any(q.lstrip().upper().startswith("WITH") for q in engine_sql)
    at.selectbox(key="sql_dialect").set_value("snowflake").run()
    assert_clean(at)
    crm, cdp = (c.value for c in at.code[:2])
    for sql in (crm, cdp):
        assert sql.lstrip().upper().startswith("WITH")
        sqlglot.parse_one(sql, read="snowflake")
    assert "crm_changes" in crm and "identity" in cdp
