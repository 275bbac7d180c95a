"""``audience-lab generate``: a world on success; on bad input exit code 2, one line on stderr that
names the problem and what is accepted, and nothing half-written left behind."""
from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from core.cli import main
from synthetic.errors import UserError
from synthetic.io import read_world
from synthetic.presets import PRESETS

SMALL = ["--people", "300", "--days", "14"]


def run(argv: list[str]) -> int:
    """The exit code, whether main returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def generate(out, *extra: str) -> int:
    return main(["generate", "--preset", "b2c-retail", *SMALL, "--out", str(out), *extra])


def listing(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n"), f"not one line: {captured.err!r}"
    assert captured.err.startswith("audience-lab: error: ")
    assert "Traceback" not in captured.err
    return captured.err


def test_generate_writes_a_readable_world(tmp_path, capsys):
    out = tmp_path / "worlds" / "retail"
    assert generate(out, "--seed", "3", "--set", "coverage_web=0.5") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["people"] == 300 and summary["preset"] == "b2c-retail"
    world = read_world(out)
    assert world.config.seed == 3 and world.config.knobs.coverage_web == 0.5 and len(world.people) == 300
    assert listing(tmp_path) == {"worlds", "worlds/retail"} | {f"worlds/retail/{p}" for p in listing(out)}
    assert {p.name for p in out.iterdir()} == {"world.json", "people", "accounts", "events", "identifiers", "crm_changes",
                                                "intent", "traits"}


def test_generate_replaces_an_existing_world(tmp_path, capsys):
    out = tmp_path / "w"
    assert generate(out, "--seed", "1") == 0
    assert generate(out, "--seed", "2") == 0
    assert read_world(out).config.seed == 2
    assert listing(tmp_path) == {"w"} | {f"w/{p}" for p in listing(out)}


@pytest.mark.parametrize("args, expected", [
    (["--preset", "nope"], ["'nope'", *PRESETS]),
    (["--set", "bogus=1"], ["'bogus'", "coverage_web", "duplicate_rate"]),
    (["--set", "coverage_web=1.5"], ["coverage_web", "between 0 and 1", "1.5"]),
    (["--set", "coverage_web=lots"], ["coverage_web", "number", "'lots'"]),
    (["--set", "coverage_web"], ["key=value", "coverage_web"]),
    (["--people", "-5"], ["people", "1 to 10000000", "-5"]),
    (["--people", "many"], ["--people", "'many'"]),
    (["--days", "3"], ["days", "7 to 730", "3"]),
    (["--seed", "-1"], ["seed", "0 to 4294967295"]),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(args, expected, tmp_path, capsys):
    out = tmp_path / "new" / "world"
    if "--preset" not in args:
        args = ["--preset", "b2c-retail", *args]
    assert run(["generate", *SMALL, *args, "--out", str(out)]) == 2
    err = one_error_line(capsys)
    for word in expected:
        assert word in err, f"{word!r} not in {err!r}"
    assert listing(tmp_path) == set(), "something was written"


def test_output_under_a_regular_file(tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me")
    assert generate(blocker / "world") == 2
    err = one_error_line(capsys)
    assert str(blocker) in err and "not a folder" in err
    assert listing(tmp_path) == {"notes.txt"} and blocker.read_text() == "keep me"


def test_output_is_a_regular_file(tmp_path, capsys):
    blocker = tmp_path / "world"
    blocker.write_text("keep me")
    assert generate(blocker) == 2
    assert "not a folder" in one_error_line(capsys)
    assert listing(tmp_path) == {"world"} and blocker.read_text() == "keep me"


def test_output_is_a_non_empty_folder_that_is_not_a_world(tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("precious")
    assert generate(tmp_path / "docs") == 2
    assert "not empty" in one_error_line(capsys)
    assert listing(tmp_path) == {"docs", "docs/thesis.tex"}


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_leaves_nothing_behind(error, tmp_path, capsys, monkeypatch):
    calls = []

    def failing_write(self, table, *a, **kw):
        calls.append(self)
        if len(calls) == 3:  # fail part-way through, after some tables are on disk
            raise error
        return real_write(self, table, *a, **kw)

    real_write = pq.ParquetWriter.write_table
    monkeypatch.setattr(pq.ParquetWriter, "write_table", failing_write)
    out = tmp_path / "new" / "deeper" / "world"
    if isinstance(error, OSError):
        assert generate(out) == 2
        assert "No space left on device" in one_error_line(capsys)
    else:  # Ctrl-C: the cleanup runs, then one line and 130 (the shell's code for SIGINT), no traceback
        assert generate(out) == 130
        assert capsys.readouterr().err == "audience-lab: interrupted\n"
    assert len(calls) == 3
    assert listing(tmp_path) == set(), "half-written world or temp folder left behind"


def test_a_failed_rewrite_keeps_no_temp_folder(tmp_path, capsys, monkeypatch):
    out = tmp_path / "w"
    assert generate(out, "--seed", "1") == 0
    capsys.readouterr()
    monkeypatch.setattr(pq.ParquetWriter, "write_table", lambda *a, **k: (_ for _ in ()).throw(OSError(5, "Input/output error")))
    assert generate(out, "--seed", "2") == 2
    one_error_line(capsys)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".world-")]
    assert read_world(out).config.seed == 1, "the previous world was damaged by a failed write"


@pytest.mark.parametrize("bad", ["0", "-2", "many"])
def test_bad_workers_exit_2_and_write_nothing(bad, tmp_path, capsys):
    assert run(["generate", "--preset", "b2c-retail", *SMALL, "--workers", bad, "--out", str(tmp_path / "w")]) == 2
    err = one_error_line(capsys)
    assert "workers" in err
    assert (repr(bad) in err) if bad == "many" else ("1 to 64" in err and bad in err)
    assert listing(tmp_path) == set()


def test_workers_and_blocks_give_the_same_world(tmp_path, capsys):
    """Units of people are generated from (seed, unit): the world does not depend on how many
    processes make it or how it is cut into part files."""
    from synthetic import preset_config
    from synthetic.io import generate_to_folder

    config = preset_config("b2b-saas", seed=3, people=9000, days=21)  # 3 units, accounts inside each
    one = generate_to_folder(config, tmp_path / "one", workers=1, block_people=4096)
    two = generate_to_folder(config, tmp_path / "two", workers=2, block_people=8192)
    assert one == two
    assert len(list((tmp_path / "one" / "events").iterdir())) == 3 and len(list((tmp_path / "two" / "events").iterdir())) == 2
    a, b = read_world(tmp_path / "one"), read_world(tmp_path / "two")
    from synthetic import generate

    memory = generate(config)
    for name, frame in a.tables().items():
        pd.testing.assert_frame_equal(frame, b.tables()[name], obj=name)
        pd.testing.assert_frame_equal(frame, memory.tables()[name], check_categorical=False, obj=name)
    assert a.summary() == one
    assert a.events["event_id"].is_unique and a.crm_changes.groupby("contact_id")["person_id"].nunique().eq(1).all()


def test_workers_start_whatever_the_main_module_is(tmp_path, monkeypatch):
    """Under a test runner or a Streamlit page, ``__main__`` is not a plain script; worker processes
    must not re-run it (they used to, and died)."""
    import sys
    import types

    from synthetic import preset_config
    from synthetic.io import generate_to_folder

    page = tmp_path / "page.py"
    page.write_text("raise SystemExit('a worker re-ran the caller script')\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake)
    summary = generate_to_folder(preset_config("b2c-retail", people=9000, days=14), tmp_path / "w", workers=2)
    assert summary["people"] == 9000 and read_world(tmp_path / "w").config.people == 9000


def test_same_folder_twice_is_byte_identical(tmp_path, capsys):
    assert generate(tmp_path / "a", "--seed", "5") == 0
    assert generate(tmp_path / "b", "--seed", "5", "--workers", "2") == 0
    files = sorted(str(p.relative_to(tmp_path / "a")) for p in (tmp_path / "a").rglob("*.parquet"))
    assert files == sorted(str(p.relative_to(tmp_path / "b")) for p in (tmp_path / "b").rglob("*.parquet"))
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


# --- kill -9 in the middle of a generate --------------------------------------------------

KILL_SCRIPT = """
import sys
from synthetic import preset_config
from synthetic.io import generate_to_folder
if __name__ == "__main__":
    generate_to_folder(preset_config("b2c-retail", seed=int(sys.argv[2]), people=60000, days=90), sys.argv[1], block_people=4096)
"""


def _generate_and_kill(out, seed: int, tmp_path) -> None:
    """Start a generate into ``out`` in a child process and kill -9 it once part files are on disk."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = tmp_path / "gen_child.py"
    script.write_text(KILL_SCRIPT)
    root = Path(__file__).resolve().parents[1]
    child = subprocess.Popen([sys.executable, str(script), str(out), str(seed)], cwd=root,
                             env={**os.environ, "PYTHONPATH": str(root)}, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            staged = [p for p in out.parent.iterdir() if p.name.startswith(".world-")]
            if any(len(list((s / "events").glob("part-*"))) >= 2 for s in staged if (s / "events").is_dir()):
                break
            assert child.poll() is None, f"the child ended before it was killed: {child.stderr.read().decode()[-500:]}"
            time.sleep(0.05)
        else:
            raise AssertionError("the child never wrote a part file")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL


def test_kill_9_while_replacing_leaves_the_old_world(tmp_path, capsys):
    out = tmp_path / "worlds" / "w"
    assert generate(out, "--seed", "1") == 0
    capsys.readouterr()
    _generate_and_kill(out, 2, tmp_path)
    assert read_world(out).config.seed == 1, "the old world was damaged by a killed generate"
    leftovers = [p for p in out.parent.iterdir() if p.name.startswith(".world-")]
    assert leftovers, "expected the killed writer's staging folder"
    with pytest.raises(UserError):
        read_world(leftovers[0])  # a staging folder is never a world (world.json is written last)
    assert generate(out, "--seed", "3") == 0  # the next run cleans up and succeeds
    assert read_world(out).config.seed == 3
    assert sorted(p.name for p in out.parent.iterdir()) == ["w"]


def test_kill_9_on_a_new_folder_leaves_nothing_readable(tmp_path):
    out = tmp_path / "worlds" / "new"
    out.parent.mkdir()
    _generate_and_kill(out, 2, tmp_path)
    assert not out.exists()
    with pytest.raises(UserError, match="not a world folder"):
        read_world(out)
