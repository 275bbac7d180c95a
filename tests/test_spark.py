"""Spark as an engine: from the world's Parquet files to members, identity resolution included, the
same members as DuckDB for every library play at several times, and the same timeline.

One local Spark session for the whole run (session fixture); small worlds (2,000 people) so the
suite stays quick. Select with ``-m spark``; ``make test`` runs them (scripts/ensure_system.sh
installs Java 17).
"""
from __future__ import annotations

import pandas as pd
import pytest

from core.cli.main import main
from core.engine.plays import PLAYS, plays_for
from core.engine.spark import SparkEngine, spark_available, spark_session
from core.engine.views import Engine
from core.errors import RuleError, UserError
from synthetic.io import generate_to_folder, read_world
from synthetic.config import WorldConfig

pytestmark = pytest.mark.spark

#: presets whose plays together cover the whole library (each play tested once)
PRESETS = ("b2c-retail", "b2b-saas", "plg-saas")
MODELS = ("truth", "crm", "cdp", "hybrid")


@pytest.fixture(scope="session")
def spark():
    reason = spark_available()
    if reason:
        pytest.skip(reason)
    session = spark_session("audience-lab-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def worlds(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark-worlds")
    out = {}
    for preset in PRESETS:
        generate_to_folder(WorldConfig(preset=preset, seed=3, people=2000), root / preset)
        out[preset] = root / preset
    return out


def _cases():
    seen, cases = set(), []
    for preset in PRESETS:
        for play in plays_for(preset):
            if play.name not in seen:
                seen.add(play.name)
                cases.append((preset, play.name))
    assert seen == set(PLAYS), "the presets above must cover every library play"
    return cases


@pytest.fixture(scope="session")
def engines(spark, worlds):
    return {p: (Engine(read_world(path)), SparkEngine(path, spark)) for p, path in worlds.items()}


@pytest.mark.parametrize("preset, play_name", _cases())
def test_every_play_has_the_same_members_on_spark_and_duckdb(engines, preset, play_name):
    duck, spark_engine = engines[preset]
    w = duck.world
    times = [w.start + (w.end - w.start) * q for q in (0.35, 0.7, 1.0)]
    play = PLAYS[play_name]
    compared = 0
    for model in MODELS:
        rule = play.rule(model)
        try:
            want = {t: list(duck.members(rule, model, t)["subject_id"]) for t in times}
        except RuleError:  # a field this world's CRM never recorded: Spark refuses it the same way
            with pytest.raises(RuleError):
                spark_engine.members_at(rule, model, times)
            continue
        got = spark_engine.members_at(rule, model, times)
        for t in times:
            assert list(got.loc[got["t"] == t, "subject_id"]) == want[t], (model, t)
        person = duck.members(rule, model, times[1])
        assert spark_engine.members(rule, model, times[1]).equals(person), model
        compared += 1
    assert compared >= 3


def test_a_timeline_is_the_same_on_spark(engines):
    duck, spark_engine = engines["b2c-retail"]
    rule = PLAYS["cart-abandonment"].rule("cdp")
    want = duck.intervals(rule, "cdp")
    got = spark_engine.intervals(rule, "cdp")
    assert len(want) > 20
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_identity_resolution_in_spark_gives_the_same_profiles(engines, spark):
    duck, spark_engine = engines["b2c-retail"]
    spark_engine.schema("cdp")
    # each engine keeps its tables in a Spark session of its own (two worlds never mix)
    got = spark_engine.spark.sql("SELECT identifier_type, identifier, profile_id FROM identity").toPandas()
    want = duck.resolution.identifiers[["identifier_type", "identifier", "profile_id"]]
    key = ["identifier_type", "identifier"]
    want = want.assign(identifier_type=want["identifier_type"].astype(str)).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True), want, check_dtype=False)


def test_members_cli_on_spark_prints_what_duckdb_prints(engines, worlds, tmp_path, capsys):
    rule = PLAYS["win-back"].rule("cdp")
    (tmp_path / "r.json").write_text(rule.to_json())
    args = ["members", "--world", str(worlds["b2c-retail"]), "--rule", str(tmp_path / "r.json"), "--view", "cdp",
            "--as-of", "2026-10-15T12:00:00Z"]
    assert main(args) == 0
    duck_out = capsys.readouterr().out
    assert main(args + ["--engine", "spark"]) == 0
    assert capsys.readouterr().out == duck_out
    assert duck_out.count("\n") > 10


def test_spark_engine_refuses_what_it_cannot_read(spark, tmp_path):
    with pytest.raises(UserError):
        SparkEngine(tmp_path, spark)
