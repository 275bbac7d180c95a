"""``audience-lab sql``: a rule as one self-contained query for a warehouse's SQL dialect."""
from __future__ import annotations

import argparse
import sys

from core.engine.dialects import DIALECTS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sql", help="print a rule as one query (view CTEs + rule) in a warehouse's SQL dialect")
    p.add_argument("--rule", required=True, help="rule JSON file")
    p.add_argument("--view", required=True, choices=("truth", "crm", "cdp", "hybrid"))
    p.add_argument("--dialect", required=True, choices=DIALECTS)
    p.add_argument("--as-of", help="ISO time (default: the world's end with --world, else the warehouse's "
                                   "CURRENT_TIMESTAMP)")
    p.add_argument("--world", help="world folder: check field names against it and match its table layout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.cli.args import read_rule_file
    from core.engine.portable import portable_sql

    rule = read_rule_file(args.rule)
    kw = {}
    as_of = args.as_of
    if args.world:
        from core.engine.views import Engine, world_layout
        from core.ingest import open_world

        world = open_world(args.world)
        engine = Engine(world)
        kw = {"schema": engine.schema(args.view), "layout": world_layout(world)}
        as_of = as_of or world.end
    sys.stdout.write(portable_sql(rule, args.view, args.dialect, as_of, **kw) + ";\n")
    return 0
