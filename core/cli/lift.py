"""``audience-lab lift``: the lift report on a randomised experiment CSV.

Text output is an aligned report a marketer can paste into a note; ``--json`` prints
:meth:`core.measures.stats.LiftReport.to_dict` for scripts.
"""
from __future__ import annotations

import argparse
import json
import math
from typing import Any

from core.measures.liftcsv import lift_from_csv
from core.measures.stats import LiftReport

__all__ = ["register", "run", "format_report"]


def register(subparsers: Any) -> None:
    """Add the ``lift`` subcommand and point its ``func`` at :func:`run`."""
    p = subparsers.add_parser(
        "lift",
        help="measure campaign lift on a randomised experiment CSV",
        description="Measure the lift of a treated arm over a holdout in a CSV (one row a person).",
    )
    p.add_argument("--csv", required=True, metavar="FILE", help="experiment CSV, one row per person")
    p.add_argument("--arm-column", required=True, metavar="COL", help="column naming each person's arm")
    p.add_argument("--treatment", required=True, metavar="VALUE", help="arm value of the treated group")
    p.add_argument("--control", required=True, metavar="VALUE", help="arm value of the holdout group")
    p.add_argument("--outcome", required=True, metavar="COL", help="outcome column (0/1 or a number)")
    p.add_argument("--revenue", metavar="COL", help="per-person revenue column for incremental revenue/ROI")
    p.add_argument("--cost-per-send", type=float, default=0.0, metavar="X", help="cost of one send (default 0)")
    p.add_argument("--fixed-cost", type=float, default=0.0, metavar="X", help="fixed campaign cost (default 0)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--binary", dest="binary", action="store_true", default=None,
                      help="force a 0/1 outcome (two-proportion z-test)")
    kind.add_argument("--continuous", dest="binary", action="store_false",
                      help="force a continuous outcome (Welch t-test)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = lift_from_csv(
        args.csv, args.arm_column, args.treatment, args.control, args.outcome, args.binary,
        revenue=args.revenue, cost_per_send=args.cost_per_send, fixed_cost=args.fixed_cost,
        alpha=args.alpha,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, allow_nan=False))
    else:
        print(format_report(report, args.outcome, args.treatment, args.control))
    return 0


def _value(x: float, binary: bool) -> str:
    return f"{x:.2%}" if binary else f"{x:,.4f}"


def _effect(x: float, binary: bool) -> str:
    return f"{x * 100:+.2f} pp" if binary else f"{x:+,.4f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def _p(p: float) -> str:
    return "< 1e-300" if p < 1e-300 else (f"{p:.2e}" if p < 1e-4 else f"{p:.4f}")


def _money(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.2f}"


def format_report(r: LiftReport, outcome: str, treatment: str, control: str) -> str:
    """An aligned, plain-text lift report (labels left, values right of a fixed column)."""
    b = r.binary
    level = f"{1 - r.alpha:.0%} CI"
    rows: list[tuple[str, str]] = [
        ("test", r.test),
        ("people", f"{r.n_treated:,} treated ({treatment}) vs {r.n_holdout:,} holdout ({control})"),
        (f"{outcome} {'rate' if b else 'mean'}", f"{_value(r.rate_treated, b)} vs {_value(r.rate_holdout, b)}"),
        ("absolute lift", f"{_effect(r.abs_lift, b)}   {level} [{_effect(r.abs_lift_ci_low, b)}, {_effect(r.abs_lift_ci_high, b)}]"),
        ("relative lift", f"{_pct(r.rel_lift)}   {level} [{_pct(r.rel_lift_ci_low)}, {_pct(r.rel_lift_ci_high)}]"),
        ("p-value", f"{_p(r.p_value)}   {'significant' if r.significant else 'not significant'} at alpha {r.alpha:g}"),
        (f"MDE ({r.power_target:.0%} power)", "n/a" if r.mde_abs is None else f"{_effect(r.mde_abs, b)} ({_pct(r.mde_rel)})"),
        ("power at observed", f"{r.power_at_observed:.1%}"),
        (f"incremental {outcome}", f"{r.incremental_conversions:,.1f}"),
    ]
    if r.incremental_revenue is not None:
        ci = ""
        if r.incremental_revenue_ci_low is not None:
            ci = f"   {level} [{_money(r.incremental_revenue_ci_low)}, {_money(r.incremental_revenue_ci_high)}]"
        rows.append(("incremental revenue", _money(r.incremental_revenue) + ci))
    if r.cost > 0:
        rows.append(("cost", _money(r.cost)))
        rows.append(("ROI", "n/a" if r.roi is None or not math.isfinite(r.roi) else f"{r.roi:+.1%}"))
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"Lift of {treatment!r} over {control!r} on {outcome!r}"]
    lines += [f"  {label:<{width}}{value}" for label, value in rows]
    lines += [f"  warning: {r.warning}"] if r.warning else []
    lines += [f"  note: {n}" for n in r.notes]
    return "\n".join(lines)
