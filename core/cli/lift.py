"""``audience-lab lift``: the lift report on a randomised experiment CSV.

Text output is an aligned report a marketer can paste into a note, money first; ``--json`` prints
:meth:`core.measures.stats.LiftReport.to_dict` for scripts. ``--csv hillstrom`` reads the bundled
Hillstrom e-mail experiment.
"""
from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the statistics load with the command, not with --help
    from core.measures.stats import LiftReport

__all__ = ["register", "run", "format_report"]


def register(subparsers: Any) -> None:
    """Add the ``lift`` subcommand and point its ``func`` at :func:`run`."""
    p = subparsers.add_parser(
        "lift",
        help="measure campaign lift on a randomised experiment CSV",
        description="Measure the lift of a treated arm over a holdout in a CSV (one row a person).",
    )
    p.add_argument("--csv", required=True, metavar="FILE",
                   help="experiment CSV (plain or .gz), one row per person; 'hillstrom' = the bundled Hillstrom test")
    p.add_argument("--arm-column", required=True, metavar="COL", help="column naming each person's arm")
    p.add_argument("--treatment", required=True, metavar="VALUE", help="arm value of the treated group")
    p.add_argument("--control", required=True, metavar="VALUE", help="arm value of the holdout group")
    p.add_argument("--outcome", required=True, metavar="COL", help="outcome column (0/1 or a number)")
    p.add_argument("--revenue", metavar="COL", help="per-person revenue column for incremental revenue/ROI")
    p.add_argument("--cost-per-send", type=float, default=0.0, metavar="X", help="cost of one send (default 0)")
    p.add_argument("--fixed-cost", type=float, default=0.0, metavar="X",
                   help="platform/team cost of the campaign (default 0; ROI is only shown with it)")
    p.add_argument("--min-effect", type=float, metavar="X",
                   help="planned minimum effect for power, in outcome units (0.005 = +0.5 pp for a 0/1 outcome)")
    p.add_argument("--planned-control-share", type=float, metavar="S",
                   help="planned share of the two arms' people in the control arm (checks sample ratio mismatch)")
    p.add_argument("--covariate", metavar="COL", help="pre-period column for a CUPED-adjusted lift (e.g. history)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--binary", dest="binary", action="store_true", default=None,
                      help="force a 0/1 outcome (Newcombe's hybrid score interval for the difference, p-value by inverting it)")
    kind.add_argument("--continuous", dest="binary", action="store_false",
                      help="force a continuous outcome (Welch t-test; a permutation test when few non-zero outcomes are expected in the holdout)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.measures.liftcsv import hillstrom_path, lift_from_csv

    path = hillstrom_path() if args.csv == "hillstrom" else args.csv
    report = lift_from_csv(
        path, args.arm_column, args.treatment, args.control, args.outcome, args.binary,
        revenue=args.revenue, cost_per_send=args.cost_per_send, fixed_cost=args.fixed_cost,
        alpha=args.alpha, min_effect=args.min_effect, planned_control_share=args.planned_control_share,
        covariate=args.covariate,
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


def _interval(lo: float | None, hi: float | None, fmt: Any, level: str) -> str:
    return "" if lo is None or hi is None else f"   {level} [{fmt(lo)}, {fmt(hi)}]"


def format_report(r: LiftReport, outcome: str, treatment: str, control: str) -> str:
    """An aligned, plain-text lift report (labels left, values right of a fixed column), money first."""
    b = r.binary
    level = f"{1 - r.alpha:.0%} CI"
    rows: list[tuple[str, str]] = []
    if r.incremental_revenue is not None:
        rows.append(("incremental revenue", _money(r.incremental_revenue)
                     + _interval(r.incremental_revenue_ci_low, r.incremental_revenue_ci_high, _money, level)))
    rows.append((f"incremental {outcome}", f"{r.incremental_conversions:,.1f}" + _interval(
        r.incremental_conversions_ci_low, r.incremental_conversions_ci_high, lambda x: f"{x:,.1f}", level)))
    if r.cost > 0:
        rows.append(("cost", _money(r.cost)))
        roi = "n/a" if r.roi is None else f"{r.roi:+.1%}" + _interval(r.roi_ci_low, r.roi_ci_high, lambda x: f"{x:+.1%}", level)
        rows.append(("net ROI", roi))
    rows += [
        ("test", r.test),
        *([("revenue measured by", r.revenue_method)] if r.revenue_method else []),
        ("people", f"{r.n_treated:,} treated ({treatment}) vs {r.n_holdout:,} holdout ({control})"),
        (f"{outcome} {'rate' if b else 'mean'}", f"{_value(r.rate_treated, b)} vs {_value(r.rate_holdout, b)}"),
        ("absolute lift", f"{_effect(r.abs_lift, b)}   {level} [{_effect(r.abs_lift_ci_low, b)}, {_effect(r.abs_lift_ci_high, b)}]"),
        ("relative lift", f"{_pct(r.rel_lift)}" + ("" if r.rel_lift is None else f"   {level} [{_pct(r.rel_lift_ci_low)}, {_pct(r.rel_lift_ci_high)}]")),
        ("p-value", f"{_p(r.p_value)}   {'significant' if r.significant else 'not significant'} at alpha {r.alpha:g}"),
        (f"MDE ({r.power_target:.0%} power)", "n/a" if r.mde_abs is None else f"{_effect(r.mde_abs, b)} ({_pct(r.mde_rel)})"),
        ("power", "n/a (give --min-effect)" if r.power_at_effect is None
         else f"{r.power_at_effect:.1%} at the {r.power_basis} {_effect(r.power_effect, b)}"),
    ]
    if r.srm_p_value is not None:
        rows.append(("sample ratio check", f"p = {_p(r.srm_p_value)}   {'MISMATCH' if r.srm_mismatch else 'ok'} "
                     f"(planned {r.planned_holdout_share:.1%} control)"))
    if r.cuped is not None:
        c = r.cuped
        rows.append((f"CUPED on {c.covariate}", f"{_effect(c.abs_lift, b)}   {level} [{_effect(c.abs_lift_ci_low, b)}, "
                     f"{_effect(c.abs_lift_ci_high, b)}]   interval {-c.width_change:.1%} narrower"))
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"Lift of {treatment!r} over {control!r} on {outcome!r}"]
    lines += [f"  {label:<{width}}{value}" for label, value in rows]
    lines += [f"  warning: {w}" for w in r.warnings]
    lines += [f"  note: {n}" for n in ([r.rel_lift_reason] if r.rel_lift_reason else []) + list(r.notes)]
    if r.cost > 0 and r.roi_reason:
        lines.append(f"  note: no net ROI: {r.roi_reason}")
    return "\n".join(lines)
