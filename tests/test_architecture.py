"""The layout stays true: imports point down the stack of docs/ARCHITECTURE.md.

    pages/, app.py          (Streamlit views)
    core/cli, core/present  (command line; figures, URL state, exports)
    core/advice             (scenario, sweeps, fit advisor)
    core/measures           (freshness, overlap, campaigns, statistics)
    core/engine             (views, identity, rules, SQL, plays, activation)
    core/errors, jsonsafe   (shared basics)
    synthetic/              (the world generator; knows nothing of core)

Every import (top-level or inside a function) is read from the source with ``ast``, so a lazy
import cannot sneak an arrow upwards.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Rank of each room: a module may import only rooms of equal or lower rank (and never streamlit
#: below the pages). Rooms of the same rank other than itself are listed in SIBLINGS_FORBIDDEN.
RANK = {
    "synthetic": 0,
    "core": 1, "core.errors": 1, "core.jsonsafe": 1,
    "core.engine": 2, "core.ingest": 2,
    "core.measures": 3,
    "core.advice": 4,
    "core.present": 5,
    "core.cli": 6,
    "pages": 7, "app": 7,
}
SIBLINGS_FORBIDDEN = {("core.present", "core.cli"), ("core.engine", "core.ingest"), ("core.ingest", "core.engine")}


def room(module: str) -> str | None:
    """The room a dotted module name belongs to (longest matching prefix)."""
    best = None
    for name in RANK:
        if module == name or module.startswith(name + "."):
            if best is None or len(name) > len(best):
                best = name
    return best


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            out.extend(f"{node.module}.{a.name}" for a in node.names)
    return out


def source_files() -> list[Path]:
    files = [ROOT / "app.py"]
    for folder in ("core", "synthetic", "pages"):
        files.extend(sorted((ROOT / folder).rglob("*.py")))
    return files


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path):
    me = room(module_name(path))
    assert me is not None, f"{path} is in no room of docs/ARCHITECTURE.md"
    for imported in imports_of(path):
        top = imported.split(".")[0]
        if top == "streamlit":
            assert RANK[me] >= RANK["pages"], f"{path.relative_to(ROOT)} imports streamlit"
            continue
        other = room(imported)
        if other is None or other == me:
            continue
        assert RANK[other] <= RANK[me], f"{path.relative_to(ROOT)} ({me}) imports {imported} ({other}): arrow points up"
        assert (me, other) not in SIBLINGS_FORBIDDEN, f"{path.relative_to(ROOT)} imports {imported}"


def test_synthetic_never_imports_core():
    for path in sorted((ROOT / "synthetic").rglob("*.py")):
        bad = [i for i in imports_of(path) if i.split(".")[0] in ("core", "pages", "app", "streamlit")]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_core_top_level_holds_only_shared_basics():
    loose = sorted(p.name for p in (ROOT / "core").glob("*.py"))
    assert loose == ["__init__.py", "errors.py", "jsonsafe.py"], loose


def test_room_detection_is_not_vacuous():
    """The checker itself: an upward import is caught (a test that cannot fail is no test)."""
    assert room("core.engine.views") == "core.engine"
    assert room("core.measures.campaign") == "core.measures"
    assert RANK[room("core.measures.stats")] > RANK[room("core.engine.rules")]
    tree_imports = imports_of(ROOT / "core" / "advice" / "scenario.py")
    assert any(room(i) == "core.measures" for i in tree_imports)


#: The command line's shared helpers (not commands): every command may import these, and only these.
CLI_SHARED = {"core.cli", "core.cli.args", "core.cli.worldmeta", "core.cli.main"}


def test_no_command_imports_another_command():
    """Each subcommand is one module a reader follows from ``register`` to ``run``; what several need
    (argument parsing, what a world folder recorded) lives in core/cli/args.py and worldmeta.py."""
    commands = {module_name(p) for p in (ROOT / "core" / "cli").glob("*.py")} - CLI_SHARED
    assert len(commands) >= 10, commands  # the detection sees the commands
    for path in (ROOT / "core" / "cli").glob("*.py"):
        me = module_name(path)
        if me in CLI_SHARED:
            continue
        others = {m for m in imports_of(path) if m in commands and m != me}
        assert not others, f"{me} imports the command(s) {sorted(others)}; move what they share to core/cli/args.py"
