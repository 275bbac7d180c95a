"""``audience-lab profile``: the rates a world's data shows (an imported world or a synthetic one)."""
from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="the rates a world's data shows: users, sessions, carts, purchases, devices, CRM fill")
    p.add_argument("--world", required=True, metavar="DIR", help="a world folder ('audience-lab import' or 'generate')")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.measures.profile import profile_folder

    profile = profile_folder(args.world)
    if args.json:
        json.dump(profile.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(profile.lines()) + "\n")
    return 0
