"""``audience-lab calibrate``: the calibration sheet — every size the simulator uses beside its benchmark.

The logic lives in :mod:`core.measures.calibration`; this module parses flags and prints.
"""
from __future__ import annotations

import argparse
import json
import sys

from core.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    from synthetic.preset_names import PRESET_NAMES

    p = sub.add_parser("calibrate", help="the calibration sheet: each anchor's source, band, the world's value and whether it is inside")
    p.add_argument("--preset", default="b2c-retail", help=f"one of: {', '.join(PRESET_NAMES)} (default b2c-retail)")
    p.add_argument("--people", type=int, default=6_000, help="people in the world (default 6000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--json", action="store_true", help='print JSON: {"preset", "anchors": [{"name", "source", "low", "high", "value", "within"}]}')
    p.set_defaults(func=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    from core.advice.scenario import Scenario, build_engine
    from core.jsonsafe import json_safe
    from core.measures.calibration import calibration_sheet
    from synthetic.presets import PRESETS

    if args.preset not in PRESETS:
        raise UserError(f"unknown preset {args.preset!r}; accepted: {', '.join(PRESETS)}")
    if not (500 <= args.people <= 200_000):
        raise UserError(f"--people must be 500 to 200000 (got {args.people})")
    scenario = Scenario.make(args.preset, args.seed, args.people, 90)
    anchors = calibration_sheet(build_engine(scenario), scenario)
    out = json_safe({"preset": args.preset, "seed": args.seed, "people": args.people,
                     "anchors": [a.to_dict() for a in anchors]})
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    outside = sum(1 for a in anchors if a.within is False)
    lines = [f"Calibration sheet: {args.preset} (seed {args.seed}, {args.people:,} people) — "
             f"{len(anchors) - outside} of {len(anchors)} anchors inside their band"]
    for a in anchors:
        mark = {True: "ok     ", False: "OUTSIDE", None: "n/a    "}[a.within]
        lines.append(f"  {mark} {a.name}: {_fmt(a.value, a.unit)}  (band {_fmt(a.low, a.unit)} – {_fmt(a.high, a.unit)})")
        lines.append(f"          source: {a.source}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    return f"{v:.2%}" if unit == "share" else f"{v:,.2f}"
