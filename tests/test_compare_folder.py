"""``compare --world`` on a generated world folder runs out of core and gives the in-memory figures.

A generated folder is compared on the folder engine (DuckDB over its Parquet files; the measures'
narrow reads pushed down to the files; profiles from the SQL identity table). The same command
forced through the in-memory engine (the world read into pandas) must print the same JSON: the
play's freshness, overlap, lift, net values, yardsticks, need and off-target panels — on a B2C
world split into several part files (the logs' order then runs across files) and on a B2B world
(account view, demo funnel, one-deal cap). And the folder run never loads the event log.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.roundtrip import split_parts

from core.cli.main import main
from core.engine import folder as folder_mod
from core.engine.folder import FolderEngine, FolderWorld
from core.engine.views import Engine
from core.engine.worldread import crm_changes_of, events_of, people_columns
from synthetic.io import generate_to_folder, read_world
from synthetic.presets import preset_config

PEOPLE = 3000
CASES = {"b2c-retail": "cart-abandonment", "b2b-saas": "account-intent"}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare-folder")
    out = {}
    for preset in CASES:
        generate_to_folder(preset_config(preset, seed=5, people=PEOPLE), root / preset)
        out[preset] = root / preset
    split_parts(out["b2c-retail"])
    return out


def _compare(capsys, path, play: str) -> dict:
    assert main(["compare", "--world", str(path), "--play", play, "--sweep-people", "0", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("preset", list(CASES))
def test_folder_compare_prints_the_in_memory_figures(worlds, capsys, monkeypatch, preset):
    made: list[FolderEngine] = []
    real_init = FolderEngine.__init__

    def spy(self, *a, **k):
        real_init(self, *a, **k)
        made.append(self)

    monkeypatch.setattr(FolderEngine, "__init__", spy)
    on_folder = _compare(capsys, worlds[preset], CASES[preset])
    assert len(made) == 1, "a generated world folder is compared on the folder engine"
    assert "events" not in made[0].world._frames, "the play's measures never load the whole event log"
    monkeypatch.setattr(folder_mod, "is_world_folder", lambda path: False)  # the in-memory path
    in_memory = _compare(capsys, worlds[preset], CASES[preset])
    assert len(made) == 1
    assert on_folder["lift"][0]["sends"] > 0 and on_folder["freshness"][0]["n_qualified"] > 0  # a real play
    if preset == "b2b-saas":  # valued by the world's demo funnel, capped at one deal per account
        assert on_folder["outcome_event"] == "demo_requested"
    assert on_folder == in_memory


def test_narrow_reads_are_the_in_memory_slices(worlds):
    """Each accessor gives the in-memory world's rows, in its order, with its dtypes."""
    path = worlds["b2c-retail"]
    folder, memory = FolderWorld(path), read_world(path)
    for types, cols in ((("purchase",), ("person_id", "ts", "value")),
                        (("demo_requested", "purchase"), ("person_id", "ts", "event_type", "channel", "value", "nope"))):
        got, want = events_of(folder, types, cols), events_of(memory, types, cols)
        assert len(got) > 0
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_categorical=False)
    pd.testing.assert_frame_equal(people_columns(folder, ("person_id", "email", "account_id")).reset_index(drop=True),
                                  people_columns(memory, ("person_id", "email", "account_id")).reset_index(drop=True))
    cols = ("contact_id", "person_id", "field", "recorded_at")
    got, want = crm_changes_of(folder, ("email",), cols), crm_changes_of(memory, ("email",), cols)
    assert set(got["field"]) == {"email"}
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    assert "events" not in folder._frames and "crm_changes" not in folder._frames


def test_folder_profiles_are_the_resolved_profiles(worlds):
    """The folder engine's profiles (from the SQL identity table) are the numpy resolution's:
    same ids, roots and addressability, which activation and the address owners read."""
    path = worlds["b2b-saas"]
    folder = FolderEngine(path)
    try:
        got = folder.resolution.profiles
        want = Engine(read_world(path)).resolution.profiles
        cols = ["profile_id", "root", "addressable", "n_identifiers"]
        assert len(got) > 0 and got["addressable"].any() and not got["addressable"].all()
        pd.testing.assert_frame_equal(got[cols].reset_index(drop=True),
                                      want[cols].astype({"root": object}).reset_index(drop=True), check_dtype=False)
        assert (got["root_type"].astype(str).to_numpy() == want["root_type"].astype(str).to_numpy()).all()
        assert "events" not in folder.world._frames
    finally:
        folder.close()


def test_a_query_limit_lowers_duckdb_after_each_build_and_keeps_the_answers(worlds):
    """compare's limits: the whole limit while a view is built, the lower one while it is queried
    (DuckDB spills what no longer fits); the intervals are the same as under one limit."""
    from core.engine.folder import DuckLimits, compare_limits
    from core.engine.plays import get_play
    from core.errors import UserError

    path = worlds["b2c-retail"]
    assert compare_limits().query_limit is not None
    with pytest.raises(UserError, match="query memory limit"):
        DuckLimits(query_limit="lots").checked()
    play = get_play(CASES["b2c-retail"], "b2c-retail")
    plain = FolderEngine(path, limits=DuckLimits(memory_limit="1GB"))
    low = FolderEngine(path, limits=DuckLimits(memory_limit="1GB", query_limit="100MB"))
    try:
        for view in ("truth", "cdp"):
            got, want = low.intervals(play.rule(view), view), plain.intervals(play.rule(view), view)
            assert len(got) > 0
            pd.testing.assert_frame_equal(got, want)
        setting = lambda e: e._database().execute(  # noqa: E731
            "SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'").fetchone()[0]
        assert setting(low) != setting(plain) and "MiB" in setting(low)
    finally:
        plain.close()
        low.close()
