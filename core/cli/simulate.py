"""``audience-lab simulate-lift``: one simulated campaign of a play through one model, measured
against its holdout — and, with ``--repeats N``, the same campaign's test repeated N times to show
how often it tells the truth (coverage, bias, power, type S/M), with ``--versus MODEL`` how often a
comparison of two models picks the one that truly adds more, and a design plan (``design``)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.cli.args import parse_number as _number, parse_sets
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
    from core.cli.args import add_stack_argument

    add_stack_argument(s)
    s.add_argument("--repeats", type=_positive_int, metavar="N",
                   help="repeat the holdout test N times (new holdout and outcomes each time) and report how often it tells the truth")
    s.add_argument("--versus", choices=MODELS, metavar="MODEL",
                   help="also compare with this model over the repeats: how often the measured winner is the true one")
    s.add_argument("--min-effect", type=float, metavar="X",
                   help="planned minimum effect (absolute, 0.005 = +0.5 pp) for the design plan")
    s.add_argument("--cuped", choices=("visits", "spend"),
                   help="with --repeats: also measure CUPED with each person's pre-period visits or spend")
    s.add_argument("--peek", choices=("weekly",),
                   help="with --repeats: also read each repeated test every week and compare the fixed-horizon "
                        "interval's coverage with the always-valid (mixture SPRT) interval's")
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


def _repeat(args: argparse.Namespace, engine: Any, run: Any, cfg: Any, result: Any, out: dict[str, Any]) -> None:
    """Repeat the test on the campaign's units (contacts/profiles: what is randomised and what the
    single report measures), so the repeats, the design and the comparison share one estimand."""
    from core.measures.campaign import simulate
    from core.measures.design import plan_experiment
    from core.measures.repeats import compare_models, repeat_experiment
    from core.present.liftview import campaign_units

    units = campaign_units(result.targets)
    if len(units) < 2:
        raise DataError(f"the {args.model.upper()} campaign targeted {len(units)} contact(s)/profile(s): there is no "
                        "test to repeat; widen the rule, improve tracking or lengthen the period")
    targets, covariate = units, None
    if args.cuped:
        targets, covariate = _with_pre_period(engine.world, units, args.cuped)
    summary = repeat_experiment(targets, cfg.holdout_share, args.repeats, cfg.seed, covariate=covariate,
                                peek="send_at" if args.peek else None)
    out.update(summary.to_dict())
    weeks = max(args.days / 7.0, 1e-9)
    out["design"] = plan_experiment(
        float(units["p0"].mean()), holdout_share=cfg.holdout_share, true_effect=summary.true_abs_lift,
        min_effect=args.min_effect, audience_size=len(units), arrivals_per_week=len(units) / weeks,
    ).to_dict()
    if args.versus:
        other = campaign_units(simulate(run, args.versus, cfg).targets)
        if len(other) < 2:
            raise DataError(f"the {args.versus.upper()} campaign targeted {len(other)} unit(s): nothing to compare")
        cols = ["unit_id", "person_id", "key", "p0", "p1", "value"]
        out["comparison"] = compare_models(units[cols], other[cols], cfg.holdout_share, args.repeats, cfg.seed,
                                           labels=(args.model, args.versus)).to_dict()


def run_simulate(args: argparse.Namespace) -> int:
    from core.advice.scenario import Scenario, build_engine
    from core.engine.playrun import run_play
    from core.engine.plays import get_play
    from core.measures.campaign import simulate

    if args.versus and args.versus == args.model:
        raise DataError(f"--versus must name another model than --model ({args.model}); accepted: {', '.join(MODELS)}")
    if (args.versus or args.cuped or args.peek) and not args.repeats:
        raise DataError("--versus, --cuped and --peek need --repeats N (e.g. --repeats 1000)")
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
        _repeat(args, engine, run, cfg, result, out)
    out = json_safe(out)
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for k, v in out.items():
            if k in ("draws", "comparison", "design", "peeking"):
                continue
            sys.stdout.write(f"{k:32} {v}\n")
        if "design" in out:
            for e in out["design"]["effects"]:
                sys.stdout.write(f"{'design (' + e['label'] + ')':32} {e['sentence']}\n")
        if out.get("peeking"):
            pk = out["peeking"]
            f, q = pk["fixed_horizon"], pk["sequential"]
            sys.stdout.write(f"{'read weekly (' + str(pk['looks']) + ' looks)':32} covers the truth at every look: "
                             f"fixed-horizon {f['coverage_every_look']:.1%}, always-valid (mSPRT) "
                             f"{q['coverage_every_look']:.1%}; ever significant {f['ever_significant']:.1%} vs "
                             f"{q['ever_significant']:.1%}\n")
        if "comparison" in out:
            c = out["comparison"]
            sys.stdout.write(f"{'comparison':32} true winner {c['true_winner']}: significant and right in "
                             f"{(c['significant_right_share'] or 0):.0%}, significant and wrong in "
                             f"{(c['significant_wrong_share'] or 0):.0%}, inconclusive in "
                             f"{(c['inconclusive_share'] or 0):.0%} of {c['repeats']} tests (sign alone right in "
                             f"{(c['right_winner_share'] or 0):.0%})\n")
    return 0
