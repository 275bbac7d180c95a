"""How fast the command line answers before doing any work: ``--help`` and an argument error.

Target (issue 21): under 0.5 s each. Prints the median and the worst of N runs per call.

    .venv/bin/python bench/bench_cli_start.py [--runs 11]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CALLS = (["--help"], ["compare", "--help"], ["import", "--help"], ["generate", "--no-such-flag"],
         ["simulate-lift", "--repeats", "many"])


def _command() -> list[str]:
    """The installed console script a user types (beside this Python), else ``python -m``."""
    script = Path(sys.executable).with_name("audience-lab")
    return [str(script)] if script.exists() else [sys.executable, "-m", "core.cli.main"]


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([*_command(), *argv], cwd=ROOT, capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    print("| call | median s | worst s |\n|---|---|---|")
    for argv in CALLS:
        times = [_time(argv) for _ in range(args.runs)]
        print(f"| audience-lab {' '.join(argv)} | {statistics.median(times):.2f} | {max(times):.2f} |")


if __name__ == "__main__":
    main()
