"""An imported (observed) world read out of core: the folder engine gives the in-memory answers.

A generated world is exported the way a tracking tool and a CRM export it (Segment-like events, a
contacts snapshot), imported, and then evaluated twice: read into pandas (``open_world`` + the
in-memory ``Engine``) and read where it lies (``FolderEngine`` over the imported Parquet files).
Every library play of the preset must give the same timelines in the CRM, CDP and hybrid views, the
identity tables must match, and ``audience-lab members`` on the imported folder must print what the
in-memory path printed, without reading the events into pandas.
"""
from __future__ import annotations

import pandas as pd
import pytest

from core.cli.main import main
from core.engine.folder import FolderEngine, folder_kind
from core.engine.plays import plays_for
from core.engine.rules import parse_rule
from core.engine.views import Engine
from core.errors import RuleError
from core.ingest import ImportOptions, import_data, open_world
from core.measures.observed import member_source_ids
from synthetic import generate, preset_config
from tests.roundtrip import crm_snapshot, segment_csv

PRESETS = ("b2c-retail", "b2b-saas")
VIEWS = ("crm", "cdp", "hybrid")
COLS = ["subject_id", "enter", "exit"]
#: audiences with many members at one time (a CRM list filters on the events its tracking sees)
RULES = {"cdp": {"name": "buyers", "all": [{"event": "purchase", "within": "30d"}]},
         "crm": {"name": "visitors", "all": [{"event": "page_view", "within": "14d"}]}}


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = tmp_path_factory.mktemp("observed-worlds")
    out = {}
    for preset in PRESETS:
        world = generate(preset_config(preset, seed=5, people=1500))
        src = segment_csv(world, root / f"{preset}-tracks.csv")
        crm = crm_snapshot(world, root / f"{preset}-contacts.csv")
        import_data(str(src), str(root / preset), ImportOptions.make(), crm=str(crm))
        out[preset] = root / preset
    return out


@pytest.fixture(scope="module")
def engines(imported):
    pairs = {p: (Engine(open_world(path)), FolderEngine(path)) for p, path in imported.items()}
    yield pairs
    for _, folder in pairs.values():
        folder.close()


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return sorted(map(tuple, frame[COLS].astype(str).to_numpy().tolist()))


def test_the_folder_is_recognised_as_observed(imported):
    assert folder_kind(imported["b2c-retail"]) == "observed"


@pytest.mark.parametrize("preset", PRESETS)
def test_every_play_has_the_same_timelines_on_the_imported_folder(engines, preset):
    memory, folder = engines[preset]
    nonempty = 0
    for play in plays_for(preset):
        for view in VIEWS:
            try:
                a = memory.intervals(play.rule(view), view)
            except RuleError as exc:  # imported data has no accounts: both engines refuse the same way
                with pytest.raises(RuleError) as caught:
                    folder.intervals(play.rule(view), view)
                assert str(caught.value) == str(exc)
                continue
            b = folder.intervals(play.rule(view), view)
            assert _rows(a) == _rows(b), (play.name, view)
            nonempty += len(a) > 0
    assert nonempty >= len(VIEWS) * 2  # the comparison is about real members, not empty sets


@pytest.mark.parametrize("preset", PRESETS)
def test_identity_in_sql_matches_the_in_memory_resolution_on_imported_data(engines, preset):
    memory, folder = engines[preset]
    cols = ["identifier_type", "identifier", "profile_id"]
    a = memory.identity()[cols].astype(str).sort_values(cols).reset_index(drop=True)
    b = folder.identity()[cols].astype(str).sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("view", ["cdp", "crm"])
def test_members_cli_on_an_imported_folder_prints_the_in_memory_answer(imported, engines, view, tmp_path, capsys,
                                                                        monkeypatch):
    memory, _ = engines["b2c-retail"]
    at = memory.world.end - pd.Timedelta(days=10)  # the import's period starts with the sparse pre-history
    spec = parse_rule(RULES[view])
    expected = memory.members(spec, view, at)
    labels = member_source_ids(memory, view, expected["subject_id"])
    assert len(expected) > 20
    rule = tmp_path / "rule.json"
    rule.write_text(spec.to_json())

    def no_pandas_world(*_a, **_k):
        raise AssertionError("the imported world was read into pandas")

    monkeypatch.setattr("core.ingest.observed.read_observed", no_pandas_world)
    out = tmp_path / "members.csv"
    assert main(["members", "--world", str(imported["b2c-retail"]), "--rule", str(rule), "--view", view,
                 "--as-of", at.isoformat(), "--out", str(out)]) == 0
    got = pd.read_csv(out, dtype={"user_id": str})
    want = pd.DataFrame({"subject_id": expected["subject_id"].to_numpy(), "user_id": labels.to_numpy()})
    key = ["subject_id", "user_id"]
    assert sorted(map(tuple, got[key].astype(str).to_numpy().tolist())) == \
        sorted(map(tuple, want[key].astype(str).to_numpy().tolist()))


def test_truth_view_and_a_damaged_file_are_one_line(imported, tmp_path, capsys):
    rule = tmp_path / "rule.json"
    rule.write_text('{"name": "buyers", "all": [{"event": "purchase", "within": "30d"}]}')
    assert main(["members", "--world", str(imported["b2c-retail"]), "--rule", str(rule), "--view", "truth"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no ground truth" in err and len(err.splitlines()) == 1
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(imported["b2c-retail"], broken)
    (broken / "events.parquet").write_bytes(b"PAR1 not really")
    assert main(["members", "--world", str(broken), "--rule", str(rule), "--view", "cdp"]) == 2
    err = capsys.readouterr().err.strip()
    assert "events.parquet" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_compare_refuses_an_imported_world_before_reading_it(imported, capsys, monkeypatch):
    def no_pandas_world(*_a, **_k):
        raise AssertionError("the imported world was read before being refused")

    monkeypatch.setattr("core.ingest.observed.read_observed", no_pandas_world)
    assert main(["compare", "--world", str(imported["b2c-retail"]), "--play", "cart-abandonment"]) == 2
    err = capsys.readouterr().err.strip()
    assert "without ground truth" in err and "audience-lab twin" in err and len(err.splitlines()) == 1
