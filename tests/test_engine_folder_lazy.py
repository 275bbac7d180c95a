"""The folder engine's lazy mode (relations as views over the files, for one question about a big
world) gives the stored mode's answers: the same timelines for every library play in every view, and
the same members at several times, on a world whose tables span several part files."""
from __future__ import annotations

import pandas as pd
import pytest

from core.engine.folder import FolderEngine
from core.engine.plays import plays_for
from synthetic.io import generate_to_folder
from synthetic.presets import preset_config

PRESETS = ("b2c-retail", "b2b-saas")  # their plays use every kind of condition
VIEWS = ("truth", "crm", "cdp", "hybrid")
COLS = ["subject_id", "person_id", "enter", "exit"]


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("lazy-worlds")
    out = {}
    for preset in PRESETS:
        generate_to_folder(preset_config(preset, seed=3, people=800), root / preset)
        out[preset] = (FolderEngine(root / preset), FolderEngine(root / preset, lazy=True))
    yield out
    for stored, lazy in out.values():
        stored.close()
        lazy.close()


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return sorted(map(tuple, frame[[c for c in COLS if c in frame]].astype(str).to_numpy().tolist()))


@pytest.mark.parametrize("preset", PRESETS)
def test_lazy_views_give_the_stored_timelines_and_members(pairs, preset):
    stored, lazy = pairs[preset]
    times = [stored.world.start + pd.Timedelta(days=d) for d in (45,)]
    seen = 0
    for play in plays_for(preset):
        for view in VIEWS:
            rule = play.rule(view)
            a, b = stored.intervals(rule, view), lazy.intervals(rule, view)
            assert _rows(a) == _rows(b), (play.name, view)
            seen += len(a)
            for t in times:
                assert _rows(stored.members(rule, view, t)) == _rows(lazy.members(rule, view, t)), (play.name, view, t)
    assert seen > 100
    for view in VIEWS:
        assert stored.schema(view) == lazy.schema(view)


def test_lazy_mode_stores_no_view_tables(pairs):
    _, lazy = pairs["b2c-retail"]
    lazy.schema("cdp")
    db = lazy._database()
    stored = db.execute("SELECT table_schema, table_name FROM information_schema.tables "
                        "WHERE table_type = 'BASE TABLE' AND table_schema LIKE 'v_%'").fetchall()
    assert stored == []


def test_a_terminated_command_leaves_no_spill_folder(pairs, tmp_path):
    """SIGTERM (a stopped job) ends the command through its cleanup: the spill folder of the
    engine, which holds tens of GB for a big world, is deleted, and the exit code says why."""
    import subprocess
    import sys

    world = pairs["b2c-retail"][0].path
    script = (
        "import os, signal, sys\n"
        "from core.cli.main import _exit_on_terminate\n"
        "from core.engine.folder import FolderEngine, DuckLimits\n"
        "_exit_on_terminate()\n"
        f"engine = FolderEngine({str(world)!r}, limits=DuckLimits(temp_directory={str(tmp_path)!r}))\n"
        "try:\n"
        "    engine.schema('cdp')\n"
        "    print(engine._state['tmp'], flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    signal.pause()\n"
        "finally:\n"
        "    engine.close()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    spill = done.stdout.strip()
    assert done.returncode == 143 and spill.startswith(str(tmp_path)), done.stderr[-300:]
    assert not __import__("os").path.exists(spill)
    assert "Traceback" not in done.stderr
