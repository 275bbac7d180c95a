"""``audience-lab simulate-lift``: one simulated campaign of a play through one model, measured
against its holdout — and, with ``--repeats N``, the same campaign's test repeated N times to show
how often it tells the truth (coverage, bias, power, type S/M), with ``--versus MODEL`` how often a
comparison of two models picks the one that truly adds more, and a design plan (``design``)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.cli.generate import parse_number as _number, parse_sets
from core.errors import DataError
from core.jsonsafe import json_safe

MODELS = ("crm", "cdp", "hybrid", "blast")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"must be 1 to 100000 (got {value})")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("simulate-lift", help="simulate one campaign on a generated world (and repeat its test)")
    s.add_argument("--preset", required=True)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--people", type=int, default=20_000)
    s.add_argument("--days", type=int, default=90)
    s.add_argument("--play", required=True)
    s.add_argument("--model", required=True, choices=MODELS)
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="override any knob (world, identity, activation, campaign)")
    s.add_argument("--ops", action="append", metavar="SIDE=LEVEL",
                   help="crm=well-run|default|poorly-run or cdp=... (repeatable): that side's knobs; --set overrides single knobs")
    from core.cli.stacks import add_stack_argument

    add_stack_argument(s)
    s.add_argument("--repeats", type=_positive_int, metavar="N",
                   help="repeat the holdout test N times (new holdout and outcomes each time) and report how often it tells the truth")
    s.add_argument("--versus", choices=MODELS, metavar="MODEL",
                   help="also compare with this model over the repeats: how often the measured winner is the true one")
    s.add_argument("--min-effect", type=float, metavar="X",
                   help="planned minimum effect (absolute, 0.005 = +0.5 pp) for the design plan")
    s.add_argument("--cuped", choices=("visits", "spend"),
                   help="with --repeats: also measure CUPED with each person's pre-period visits or spend")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run_simulate)


#: Pre-period for CUPED: the 28 days before each unit's message (assumed: four weekly cycles; Deng et
#: al. 2013 report that longer pre-periods help, with diminishing returns after a few weeks).
PRE_PERIOD_DAYS = 28.0


def _with_pre_period(world: Any, targets: Any, which: str) -> tuple[Any, str]:
    """The targets with each unit's owner's visits or spend in the 28 days before that unit's send."""
    from core.measures.cuped import pre_period_covariates

    if "send_at" not in targets.columns:
        raise DataError("--cuped needs the campaign's send times (a send_at column in its targets)")
    pre = pre_period_covariates(world.events, targets["send_at"], person_ids=targets["person_id"],
                                lookback_days=PRE_PERIOD_DAYS)
    column = f"pre_{which}"
    return targets.assign(**{column: pre[column].to_numpy()}), column


def run_simulate(args: argparse.Namespace) -> int:
    from core.advice.scenario import Scenario, build_engine
    from core.engine.playrun import run_play
    from core.engine.plays import get_play
    from core.measures.campaign import simulate
    from core.measures.design import plan_experiment
    from core.measures.repeats import compare_models, repeat_experiment

    if args.versus and args.versus == args.model:
        raise DataError(f"--versus must name another model than --model ({args.model}); accepted: {', '.join(MODELS)}")
    if (args.versus or args.cuped) and not args.repeats:
        raise DataError("--versus and --cuped need --repeats N (e.g. --repeats 1000)")
    play = get_play(args.play, args.preset)
    from core.advice.ops import ops_settings, parse_ops
    from core.advice.stacks import parse_stacks, stack_keys, stack_settings

    stacks = parse_stacks(args.stack)  # a product's documented figures win over an ops level; --set over both
    scenario = Scenario.make(args.preset, args.seed, args.people, args.days,
                             {**ops_settings(parse_ops(args.ops)), **stack_settings(stacks), **stack_keys(stacks),
                              **{k: _number(v) for k, v in parse_sets(args.set).items()}})
    engine = build_engine(scenario)
    wanted = tuple(dict.fromkeys(m for m in (args.model, args.versus) if m and m != "blast")) or ("crm",)
    run = run_play(engine, play, scenario.activation(), models=wanted)
    cfg = scenario.campaign()
    result = simulate(run, args.model, cfg)
    out: dict[str, Any] = {"preset": args.preset, "seed": args.seed, "play": play.name, **result.to_dict()}
    if stacks:
        out["stacks"] = stacks
    if args.repeats:
        targets = result.targets
        if len(targets) < 2:
            raise DataError(f"the {args.model.upper()} campaign targeted {len(targets)} unit(s): there is no test to repeat; "
                            "widen the rule, improve tracking or lengthen the period")
        covariate = None
        if args.cuped:
            targets, covariate = _with_pre_period(engine.world, targets, args.cuped)
        summary = repeat_experiment(targets, cfg.holdout_share, args.repeats, cfg.seed, covariate=covariate)
        out.update(summary.to_dict())
        weeks = max(args.days / 7.0, 1e-9)
        out["design"] = plan_experiment(
            float(targets["p0"].mean()), holdout_share=cfg.holdout_share, true_effect=summary.true_abs_lift,
            min_effect=args.min_effect, audience_size=len(targets), arrivals_per_week=len(targets) / weeks,
        ).to_dict()
        if args.versus:
            other = simulate(run, args.versus, cfg)
            if len(other.targets) < 2:
                raise DataError(f"the {args.versus.upper()} campaign targeted {len(other.targets)} unit(s): nothing to compare")
            out["comparison"] = compare_models(result.targets, other.targets, cfg.holdout_share, args.repeats, cfg.seed,
                                               labels=(args.model, args.versus)).to_dict()
    out = json_safe(out)
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for k, v in out.items():
            if k in ("draws", "comparison", "design"):
                continue
            sys.stdout.write(f"{k:32} {v}\n")
        if "design" in out:
            for e in out["design"]["effects"]:
                sys.stdout.write(f"{'design (' + e['label'] + ')':32} {e['sentence']}\n")
        if "comparison" in out:
            c = out["comparison"]
            sys.stdout.write(f"{'comparison':32} true winner {c['true_winner']}; the measured comparison picked it in "
                             f"{(c['right_winner_share'] or 0):.0%} of {c['repeats']} tests\n")
    return 0
