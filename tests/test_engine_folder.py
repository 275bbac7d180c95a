"""The DuckDB engine on a world folder (out of core) gives the in-memory engine's answers.

For every library play, on small streamed worlds of the presets that cover the library: the same
members in all four views at several times, the same timelines (exact intervals), the same
identity table; ``members`` on a generated folder answers through it without reading the world
into pandas; a memory limit too small to hold the views still gives the same members (DuckDB
spills); bad limits and damaged files are one clear line.
"""
from __future__ import annotations

import csv
import io
import os

import pandas as pd
import pytest

from tests.roundtrip import split_parts

from core.cli.main import main
from core.engine.folder import DuckLimits, FolderEngine
from core.engine.plays import PLAYS, plays_for
from core.engine.views import Engine
from core.errors import DataError, RuleError, UserError
from synthetic.config import WorldConfig
from synthetic.io import generate_to_folder, read_world
from synthetic.presets import preset_config

#: presets whose plays together cover the whole library (as in tests/test_spark.py)
PRESETS = ("b2c-retail", "b2b-saas", "plg-saas")
VIEWS = ("truth", "crm", "cdp", "hybrid")
PEOPLE = 1500


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder-worlds")
    out = {}
    for preset in PRESETS:
        # the preset's own knobs (WorldConfig(preset=...) alone keeps the default behaviour: a
        # plg-saas world without trials)
        generate_to_folder(preset_config(preset, seed=11, people=PEOPLE), root / preset)
        out[preset] = root / preset
    split_parts(out["b2c-retail"])
    return out


@pytest.fixture(scope="module")
def engines(worlds):
    pairs = {p: (Engine(read_world(path)), FolderEngine(path)) for p, path in worlds.items()}
    yield pairs
    for _, folder in pairs.values():
        folder.close()


def _cases():
    seen, cases = set(), []
    for preset in PRESETS:
        for play in plays_for(preset):
            if play.name not in seen:
                seen.add(play.name)
                cases.append((preset, play.name))
    assert seen == set(PLAYS), "the presets above must cover every library play"
    return cases


@pytest.mark.parametrize("preset, play_name", _cases())
def test_every_play_has_the_same_members_and_timelines_on_the_folder_engine(engines, preset, play_name):
    memory, folder = engines[preset]
    w = memory.world
    times = [w.start + (w.end - w.start) * q for q in (0.3, 0.65, 1.0)]
    play = PLAYS[play_name]
    compared = nonempty = 0
    for view in VIEWS:
        rule = play.rule(view)
        try:
            want = memory.members_at(rule, view, times)
        except RuleError:  # a field this world's CRM never recorded: refused the same way
            with pytest.raises(RuleError):
                folder.members_at(rule, view, times)
            continue
        pd.testing.assert_frame_equal(folder.members_at(rule, view, times), want, obj=f"{view} members_at")
        t = times[1]
        pd.testing.assert_frame_equal(folder.members(rule, view, t), memory.members(rule, view, t), obj=f"{view} members")
        timeline = memory.intervals(rule, view)
        pd.testing.assert_frame_equal(folder.intervals(rule, view), timeline, obj=f"{view} intervals")
        compared += 1
        nonempty += len(timeline) > 0
    assert compared >= 3 and nonempty >= 2, "the comparison must cover real members"


@pytest.mark.parametrize("preset", PRESETS)
def test_identity_resolved_in_sql_on_the_folder_is_the_in_memory_resolution(engines, preset):
    memory, folder = engines[preset]
    want = memory.resolution.identifiers
    key = ["identifier_type", "identifier"]
    want = want.assign(identifier_type=want["identifier_type"].astype(str), root_type=want["root_type"].astype(str)
                       ).sort_values(key).reset_index(drop=True)
    got = folder.identity().sort_values(key).reset_index(drop=True)
    assert len(want) > PEOPLE
    pd.testing.assert_frame_equal(got[list(want.columns)], want, check_dtype=False)


@pytest.mark.parametrize("log, cols", [("traits", "person_id, field, value"),
                                       ("crm_changes", "contact_id, field, value, recorded_at")])
def test_the_logs_keep_their_order_across_part_files(engines, log, cols):
    """Records that share a timestamp are ordered by their place in the log (a field set twice in
    one import keeps the later value): the folder engine's ``seq`` must follow file, then row."""
    memory, folder = engines["b2c-retail"]
    got = folder._database().execute(f"SELECT {cols} FROM main.{log} ORDER BY seq").df()
    want = getattr(memory.world, log)[[c.strip() for c in cols.split(",")]].reset_index(drop=True)
    assert len(list((folder.path / log).glob("part-*.parquet"))) == 3
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_views_and_schemas_match(engines):
    memory, folder = engines["b2b-saas"]
    for view in VIEWS:
        assert folder.schema(view) == memory.schema(view), view
        pd.testing.assert_frame_equal(folder.subjects(view), memory.subjects(view), obj=view)
    stored = folder._database().execute("SELECT schema_name, table_name FROM duckdb_tables() "
                                        "WHERE schema_name = 'v_hybrid'").fetchall()
    assert stored == [("v_hybrid", "v_fields")], "the hybrid stores only its fields; its events are the CDP's"


def test_a_memory_limit_smaller_than_the_views_spills_and_gives_the_same_members(worlds, engines, tmp_path):
    memory, _ = engines["b2c-retail"]
    spill = tmp_path / "spill"
    spill.mkdir()
    # the four views of this world take about 32 MB in DuckDB's buffers with no limit
    small = FolderEngine(worlds["b2c-retail"], limits=DuckLimits(memory_limit="48MB", temp_directory=str(spill)))
    try:
        for view in VIEWS:
            rule = PLAYS["win-back"].rule(view)
            pd.testing.assert_frame_equal(small.intervals(rule, view), memory.intervals(rule, view), obj=view)
        db = small._database()
        spilled = db.execute("SELECT SUM(temporary_storage_bytes) FROM duckdb_memory()").fetchone()[0]
        assert spilled > 0, "the views did not fit in 48 MB, so some of them live in the spill files"
        assert len(list(spill.iterdir())) == 1  # the engine's own spill folder, inside the one given
    finally:
        small.close()
    assert list(spill.iterdir()) == [], "closing the engine deletes its spill folder"


def test_members_cli_reads_a_generated_folder_without_loading_the_world(worlds, engines, tmp_path, capsys, monkeypatch):
    memory, _ = engines["b2c-retail"]
    rule = PLAYS["cart-abandonment"].rule("cdp")
    (tmp_path / "r.json").write_text(rule.to_json())
    t = "2026-10-15T12:00:00Z"
    want = memory.members(rule, "cdp", t)

    def refuse(*args, **kwargs):
        raise AssertionError("members read the whole world into pandas")

    monkeypatch.setattr("synthetic.io.read_world", refuse)
    args = ["members", "--world", str(worlds["b2c-retail"]), "--rule", str(tmp_path / "r.json"), "--view", "cdp", "--as-of", t]
    assert main(args) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["person_id", "profile_id"]
    assert [int(r[1]) for r in rows[1:]] == list(want["subject_id"]) and len(rows) > 10
    assert [int(r[0]) for r in rows[1:]] == list(want["person_id"])


def test_a_folder_whose_path_has_wildcards_is_still_answered(worlds, tmp_path, capsys):
    """read_parquet expands * ? [ ] in a path, which could read another world's files: such a
    folder is refused by the folder engine and answered by the in-memory one, with the same rows."""
    import shutil

    rule = tmp_path / "r.json"
    rule.write_text(PLAYS["cart-abandonment"].rule("cdp").to_json())
    odd = tmp_path / "w[1]"
    shutil.copytree(worlds["b2c-retail"], odd)
    with pytest.raises(UserError, match="wildcard"):
        FolderEngine(odd).members(PLAYS["win-back"].rule("crm"), "crm")
    outs = []
    for world in (worlds["b2c-retail"], odd):
        assert main(["members", "--world", str(world), "--rule", str(rule), "--view", "cdp",
                     "--as-of", "2026-10-15T12:00:00Z"]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and outs[0].count("\n") > 10


def test_bad_limits_and_damaged_files_are_one_line(worlds, tmp_path, capsys, monkeypatch):
    with pytest.raises(UserError, match="memory limit"):
        FolderEngine(worlds["plg-saas"], limits=DuckLimits(memory_limit="lots"))
    with pytest.raises(UserError, match="temp directory"):
        FolderEngine(worlds["plg-saas"], limits=DuckLimits(temp_directory=str(tmp_path / "absent")))
    starved = FolderEngine(worlds["b2c-retail"], limits=DuckLimits(memory_limit="8MB"))
    with pytest.raises(UserError, match="AUDLAB_DUCKDB_MEMORY"):  # out of memory: say which knob to turn
        starved.members(PLAYS["win-back"].rule("cdp"), "cdp")
    starved.close()
    broken = tmp_path / "broken"
    generate_to_folder(WorldConfig(preset="b2c-retail", seed=2, people=300, days=14), broken)
    part = sorted((broken / "events").glob("part-*.parquet"))[0]
    part.write_bytes(part.read_bytes()[: os.path.getsize(part) // 2])
    engine = FolderEngine(broken)
    with pytest.raises(DataError, match="events"):
        engine.members(PLAYS["win-back"].rule("truth"), "truth")
    engine.close()
    rule = tmp_path / "r.json"
    rule.write_text(PLAYS["win-back"].rule("cdp").to_json())
    monkeypatch.setenv("AUDLAB_DUCKDB_MEMORY", "12 parsecs")
    assert main(["members", "--world", str(worlds["plg-saas"]), "--rule", str(rule), "--view", "cdp"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "AUDLAB_DUCKDB_MEMORY" in err and "GB" in err
