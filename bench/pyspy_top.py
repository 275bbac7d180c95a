"""Which project functions a py-spy profile spends its time in (inclusive and self samples).

``bench/bench_ws_load.py --py-spy prof.txt`` writes collapsed stacks ("frame;frame;… count");
this folds them per function so the report can name the function that dominates, e.g.:

    .venv/bin/python bench/pyspy_top.py prof.txt --top 25
"""
from __future__ import annotations

import argparse
import re
from collections import Counter

#: A frame as py-spy writes it: "function (path/to/file.py:line)".
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+):\d+\)$")
PROJECT = ("core/", "synthetic/", "pages/", "app.py")


def _short(path: str) -> str:
    """py-spy writes paths relative to sys.path ("core/engine/views.py", "pandas/core/frame.py");
    an absolute path is cut to the project's part when it has one."""
    if path.startswith("/") and "site-packages/" not in path:
        return next((path[path.rfind(p):] for p in PROJECT if p in path), path)
    return path.split("site-packages/")[-1]


def fold(lines) -> tuple[Counter, Counter, int]:
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        names = []
        for frame in stack.split(";"):
            m = FRAME.match(frame.strip())
            if m:
                names.append(f"{_short(m['file'])}:{m['func']}")
        for name in set(names):
            inclusive[name] += n
        if names:
            own[names[-1]] += n
    return inclusive, own, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--all", action="store_true", help="not only project functions")
    args = parser.parse_args()
    with open(args.profile) as fh:
        inclusive, own, total = fold(fh)
    keep = (lambda k: True) if args.all else (lambda k: k.startswith(PROJECT))
    print(f"{total} samples")
    print("inclusive  self  function")
    for name, n in [(k, v) for k, v in inclusive.most_common() if keep(k)][:args.top]:
        print(f"{100 * n / total:8.1f}% {100 * own[name] / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
