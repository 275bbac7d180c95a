"""Null simulations of the revenue test (issue 20): false "treated better" and coverage, measured.

Both arms from one zero-inflated lognormal (5% buyers, sigma 1.5), at the issue's three designs and
at the edge where the report goes back to Welch's t (50 buyers expected in the holdout). Prints a
markdown table for docs/statistics.md. Target: false "treated better" <= 3.5%, coverage >= 93%.

    PYTHONPATH=. .venv/bin/python bench/bench_revenue_null.py --repeats 2000
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = ((5000, 100), (2000, 200), (1900, 100), (20000, 1000))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from core.measures.nullsim import revenue_null

    print("| treated / held out | buyers expected in holdout | test used | false 'treated better' | "
          "false 'holdout better' | coverage (MCSE) | Welch: false 'treated better' | Welch: coverage | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n1, n0 in DESIGNS:
        t0 = time.perf_counter()
        s = revenue_null(n1, n0, args.repeats, args.seed)
        used = ", ".join(f"{k.split(' (')[0]} {v / s.repeats:.0%}" for k, v in s.methods.items())
        print(f"| {n1:,} / {n0:,} | {0.05 * n0:.0f} | {used} | {s.false_treated_better:.2%} | "
              f"{s.false_holdout_better:.2%} | {s.coverage:.1%} ({s.coverage_mcse:.1%}) | "
              f"{s.welch_false_treated_better:.1%} | {s.welch_coverage:.1%} | {time.perf_counter() - t0:.0f} |",
              flush=True)
    print(f"\n{args.repeats:,} repeats per design, seed {args.seed}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
