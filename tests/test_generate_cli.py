"""``audience-lab generate``: a world on success; on bad input exit code 2, one line on stderr that
names the problem and what is accepted, and nothing half-written left behind."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from core.cli import main
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
    assert listing(tmp_path) == {"worlds", "worlds/retail"} | {f"worlds/retail/{p.name}" for p in out.iterdir()}


def test_generate_replaces_an_existing_world(tmp_path, capsys):
    out = tmp_path / "w"
    assert generate(out, "--seed", "1") == 0
    assert generate(out, "--seed", "2") == 0
    assert read_world(out).config.seed == 2
    assert listing(tmp_path) == {"w"} | {f"w/{p.name}" for p in out.iterdir()}


@pytest.mark.parametrize("args, expected", [
    (["--preset", "nope"], ["'nope'", *PRESETS]),
    (["--set", "bogus=1"], ["'bogus'", "coverage_web", "duplicate_rate"]),
    (["--set", "coverage_web=1.5"], ["coverage_web", "between 0 and 1", "1.5"]),
    (["--set", "coverage_web=lots"], ["coverage_web", "number", "'lots'"]),
    (["--set", "coverage_web"], ["key=value", "coverage_web"]),
    (["--people", "-5"], ["people", "1 to 5000000", "-5"]),
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

    def failing_write(table, where, **kw):
        calls.append(where)
        if len(calls) == 3:  # fail part-way through, after some tables are on disk
            raise error
        return real_write(table, where, **kw)

    real_write = pq.write_table
    monkeypatch.setattr(pq, "write_table", failing_write)
    out = tmp_path / "new" / "deeper" / "world"
    if isinstance(error, OSError):
        assert generate(out) == 2
        assert "No space left on device" in one_error_line(capsys)
    else:
        with pytest.raises(KeyboardInterrupt):
            generate(out)
    assert len(calls) == 3
    assert listing(tmp_path) == set(), "half-written world or temp folder left behind"


def test_a_failed_rewrite_keeps_no_temp_folder(tmp_path, capsys, monkeypatch):
    out = tmp_path / "w"
    assert generate(out, "--seed", "1") == 0
    capsys.readouterr()
    monkeypatch.setattr(pq, "write_table", lambda *a, **k: (_ for _ in ()).throw(OSError(5, "Input/output error")))
    assert generate(out, "--seed", "2") == 2
    one_error_line(capsys)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".world-")]
    assert read_world(out).config.seed == 1, "the previous world was damaged by a failed write"
