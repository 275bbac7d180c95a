"""``audience-lab twin``: a synthetic world, with ground truth, that behaves like an imported one."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("twin", help="fit a synthetic twin (preset and knobs) to a world's data profile and write it")
    p.add_argument("--world", required=True, metavar="DIR", help="the world to imitate (usually one written by 'audience-lab import')")
    p.add_argument("--out", required=True, metavar="TWIN", help="folder for the twin world")
    p.add_argument("--people", type=int, help="people in the twin (default: the data's identified users, 1,000 to 20,000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same twin)")
    p.add_argument("--json", action="store_true", help="print the fit as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.advice.twin import fit_twin
    from core.errors import UserError
    from core.ingest.staging import check_target
    from core.measures.profile import profile_folder
    from synthetic.io import write_world

    if args.seed is not None and not 0 <= args.seed < 2**32:
        raise UserError(f"--seed must be a whole number from 0 to 4294967295 (got {args.seed})")
    check_target(Path(args.out), "the twin")  # refuse a bad target before a minute of fitting
    data = profile_folder(args.world)
    fit, twin = fit_twin(data, people=args.people, seed=args.seed)
    write_world(twin, args.out)
    if args.json:
        json.dump({"out": args.out, **fit.to_dict()}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(fit.lines() + [f"Wrote the twin to {args.out}"]) + "\n")
    return 0
