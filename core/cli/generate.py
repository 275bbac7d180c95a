"""``audience-lab generate``: write one synthetic world to a folder."""
from __future__ import annotations

import argparse
import json
import sys

from core.cli.args import parse_sets


def register(sub: argparse._SubParsersAction) -> None:
    from synthetic.preset_names import PRESET_NAMES

    p = sub.add_parser("generate", help="generate a world (Parquet tables + world.json)")
    p.add_argument("--preset", required=True, help=f"one of: {', '.join(PRESET_NAMES)}")
    p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same world)")
    p.add_argument("--people", type=int, default=20_000, help="number of people (default 20000)")
    p.add_argument("--days", type=int, default=90, help="length of the observed period in days (default 90)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a knob, e.g. coverage_web=0.5 (repeatable)")
    p.add_argument("--ops", action="append", metavar="SIDE=LEVEL",
                   help="how well a side is run: crm=well-run|default|poorly-run, cdp=… (repeatable); sets that "
                        "side's world knobs and is recorded in world.json, where compare applies the rest")
    from core.cli.args import add_stack_argument

    add_stack_argument(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes generating units of people in parallel (default 1; same world either way)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Stream the world to ``--out`` unit by unit, so memory stays flat however many people."""
    from core.advice.ops import ops_settings, parse_ops
    from core.advice.stacks import parse_stacks, stack_settings
    from core.cli.worldmeta import record_meta, world_part
    from synthetic import preset_config
    from synthetic.io import generate_to_folder

    ops = parse_ops(getattr(args, "ops", None))
    stacks = parse_stacks(getattr(args, "stack", None))
    # as in compare: a product's documented figures win over an ops level; --set wins over both
    overrides = {**world_part(ops_settings(ops)), **world_part(stack_settings(stacks)), **parse_sets(args.set)}
    config = preset_config(args.preset, seed=args.seed, people=args.people, days=args.days, overrides=overrides)
    summary = generate_to_folder(config, args.out, workers=args.workers)
    # compare applies the recorded levels' and profiles' activation and sending settings by default
    recorded = {k: v for k, v in (("ops", ops), ("stacks", stacks)) if v}
    if recorded:
        record_meta(args.out, recorded)
        summary = {**summary, **recorded}
    json.dump({"out": str(args.out), **summary}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


