"""``audience-lab simulate-lift``: one simulated campaign of a play through one model, measured against its holdout."""
from __future__ import annotations

import argparse
import json
import sys

from core.cli.generate import parse_number as _number, parse_sets
from core.jsonsafe import json_safe


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("simulate-lift", help="simulate one campaign on a generated world")
    s.add_argument("--preset", required=True)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--people", type=int, default=20_000)
    s.add_argument("--days", type=int, default=90)
    s.add_argument("--play", required=True)
    s.add_argument("--model", required=True, choices=("crm", "cdp", "hybrid"))
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="override any knob (world, identity, activation, campaign)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from core.measures.campaign import simulate
    from core.engine.playrun import run_play
    from core.engine.plays import get_play
    from core.advice.scenario import Scenario, build_engine

    play = get_play(args.play, args.preset)
    scenario = Scenario.make(args.preset, args.seed, args.people, args.days,
                             {k: _number(v) for k, v in parse_sets(args.set).items()})
    engine = build_engine(scenario)
    run = run_play(engine, play, scenario.activation(), models=(args.model,))
    result = simulate(run, args.model, scenario.campaign())
    out = json_safe({"preset": args.preset, "seed": args.seed, "play": play.name, **result.to_dict()})
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for k, v in out.items():
            sys.stdout.write(f"{k:32} {v}\n")
    return 0
