"""The command line answers ``--help`` and argument errors before any heavy library loads.

Speed is measured by ``bench/bench_cli_start.py`` (README); here we check the cause behaviourally:
parsing the command line, for every subcommand, imports none of pandas, numpy, DuckDB, sqlglot,
pyarrow or scipy.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "numpy", "duckdb", "sqlglot", "pyarrow", "scipy", "pyspark", "streamlit")

PROBE = """
import importlib, json, sys
main = importlib.import_module("core.cli.main")
argv = json.loads(sys.argv[1])
code = main.main(argv)
print(json.dumps({"code": code, "heavy": sorted(m for m in %r if m in sys.modules)}), file=sys.stderr)
""" % (HEAVY,)


def _probe(argv: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    return json.loads(proc.stderr.strip().splitlines()[-1])


def _commands() -> list[str]:
    main = __import__("importlib").import_module("core.cli.main")
    return [m.rsplit(".", 1)[1].rstrip("_").replace("simulate", "simulate-lift") for m in main.COMMAND_MODULES]


def test_top_level_help_loads_nothing_heavy():
    out = _probe(["--help"])
    assert out == {"code": 0, "heavy": []}


@pytest.mark.parametrize("command", _commands())
def test_each_subcommand_help_and_bad_flag_load_nothing_heavy(command):
    assert _probe([command, "--help"]) == {"code": 0, "heavy": []}
    assert _probe([command, "--no-such-flag"]) == {"code": 2, "heavy": []}


def test_preset_names_match_the_presets():
    from synthetic.preset_names import PRESET_NAMES
    from synthetic.presets import PRESETS

    assert PRESET_NAMES == tuple(PRESETS)
