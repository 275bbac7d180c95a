"""``audience-lab compare``: freshness, overlap and lift of a play across the models, and where the winner flips."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.cli.args import parse_number as _number, parse_sets
from core.jsonsafe import json_safe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="freshness, overlap and lift of a play across CRM, CDP and hybrid")
    p.add_argument("--world", required=True, help="world folder written by 'audience-lab generate'")
    p.add_argument("--play", required=True, help="play name (see 'audience-lab plays')")
    p.add_argument("--sweep-people", type=int, default=4000, help="people per world in the crossover sweep (0 = no sweep)")
    p.add_argument("--tornado-people", type=int, default=None,
                   help="people per world when each ops knob is moved alone (default: as --sweep-people, at most the "
                        "world's own; 0 = no tornado)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="identity, activation or campaign knob, e.g. cdp_mode=batch (repeatable)")
    p.add_argument("--ops", action="append", metavar="SIDE=LEVEL",
                   help="crm=well-run|default|poorly-run or cdp=... (repeatable): that side's activation and "
                        "sending knobs; --set still overrides single knobs; a world's recorded ops apply otherwise")
    from core.cli.args import add_stack_argument

    add_stack_argument(p)
    p.add_argument("--yardstick", default="latent", help="what truth is: latent (default), crm-rule or cdp-rule")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--engine", choices=ENGINES, default="duckdb",
                   help="what evaluates the play's rules on a generated world folder (duckdb: DuckDB over its Parquet "
                        "files, out of core; spark: a Spark session over the same files, AUDLAB_SPARK_MASTER, "
                        "AUDLAB_SPARK_MEMORY, AUDLAB_SPARK_PARTITIONS); the measures run here either way")
    p.set_defaults(func=_compare)


#: Engines that evaluate a play's rules on a world folder (``--engine``).
ENGINES: tuple[str, ...] = ("duckdb", "spark")


def _compare(args: argparse.Namespace) -> int:
    """``run_compare``, then let go of what its engine holds (a Spark session this command started
    is stopped; a DuckDB engine's spill folder deleted now rather than when it is collected)."""
    args.held = []
    try:
        return run_compare(args)
    finally:
        for release in reversed(args.held):
            release()


def _settings_from_world(world) -> dict[str, Any]:
    from dataclasses import asdict

    return {**asdict(world.config.knobs), **asdict(world.config.behaviour)}


def run_compare(args: argparse.Namespace) -> int:
    from core.advice.ops import ops_settings, parse_ops
    from core.advice.verdict import need_sensitivity, recorded_ops, yardstick_verdicts
    from core.measures.overlap import period_accuracy
    from core.engine.plays import get_play
    from core.advice.scenario import Scenario, play_results
    from core.advice.sweep import DEFAULT_SWEEPS, crossover, sweep
    from core.errors import UserError
    from core.ingest import is_observed
    from core.measures.calibration import off_target_sensitivity

    world, make_engine = _world_and_engine(args.world, getattr(args, "engine", "duckdb"), getattr(args, "held", None))
    if is_observed(world):
        raise UserError(f"{args.world} holds imported data without ground truth, and compare measures against truth; "
                        f"build a twin with 'audience-lab twin --world {args.world} --out TWIN' and compare on the twin")
    play = get_play(args.play, world.config.preset)
    extra = {k: _number(v) for k, v in parse_sets(args.set).items()}
    world_knobs = set(_settings_from_world(world))
    if world_knobs & set(extra):
        raise UserError(f"{', '.join(sorted(world_knobs & set(extra)))} shape the world itself; regenerate it with "
                        "'audience-lab generate --set ...' (compare --set takes identity, activation and campaign knobs)")
    ops = {**recorded_ops(args.world), **parse_ops(args.ops)}
    applied = {k: v for k, v in ops_settings(ops).items() if k not in world_knobs}  # the world's part is already in it
    from core.advice.stacks import parse_stacks, stack_keys, stack_settings
    from core.cli.worldmeta import check_world_matches, recorded_stacks

    given = parse_stacks(args.stack)
    check_world_matches(given, _settings_from_world(world), args.world)
    from core.advice.stacks import ROLES

    merged = {**recorded_stacks(args.world), **given}
    stacks = {role: merged[role] for role in ROLES if role in merged}
    # a product's documented figures win over an ops level (core.advice.stacks); --set wins over both
    profile = {k: v for k, v in stack_settings(stacks).items() if k not in world_knobs}
    scenario = Scenario.make(world.config.preset, world.config.seed, world.config.people, world.config.days,
                             {**_settings_from_world(world), **applied, **profile, **stack_keys(stacks), **extra,
                              "yardstick": args.yardstick})
    scenario.activation(), scenario.campaign(), scenario.engine_config(), scenario.yardstick
    engine = make_engine(scenario.engine_config())
    results = play_results(engine, play, scenario)
    crossovers = []
    if args.sweep_people > 0:
        small = Scenario.make(scenario.preset, scenario.seed, args.sweep_people, scenario.days, dict(scenario.settings))
        for knob in ("coverage_web", "cdp_build_days"):
            crossovers.append(crossover(sweep(small, play, knob, DEFAULT_SWEEPS[knob])).to_dict())
    tornado_people = args.sweep_people if args.tornado_people is None else args.tornado_people
    if tornado_people < 0:
        raise UserError(f"--tornado-people must be 0 (no tornado) or more (got {tornado_people})")
    tornado = _tornado(scenario, play.name, min(tornado_people, world.config.people))
    o = results.overlap_mid
    out = {
        "play": play.name, "preset": world.config.preset, "seed": world.config.seed, "people": world.config.people,
        "freshness": results.freshness.to_dict(orient="records"),
        "overlap_mid_period": {"t": o["t"], "truth": o["truth"], "regions": o["regions"],
                               "jaccard_crm_cdp": o["jaccard_crm_cdp"], "models": o["models"]},
        "accuracy_over_period": period_accuracy(results.overlap_series).to_dict(orient="records"),
        "ops": ops,
        "stacks": stacks,
        "yardstick": scenario.yardstick,
        "lift": results.lift.to_dict(orient="records"),
        "yardsticks": yardstick_verdicts(results.run),
        "need_sensitivity": need_sensitivity(results.run, scenario.campaign(),
                                             latent=results.lift.set_index("model")["true_net_value"].to_dict()),
        "crossovers": crossovers,
        **_login_stitching(scenario, play, args.sweep_people),
        "outcome_event": play.response.outcome_event,
        "off_target_sensitivity": off_target_sensitivity(results.run, scenario.campaign(), known=results.lift),
        "tornado": tornado["rows"] if tornado else [],
        "tornado_base": tornado["base"] if tornado else None,
    }
    _add_multiplicity(out)
    out = json_safe(out)
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(_text(out))
    return 0


def _world_and_engine(path: str, engine: str = "duckdb", held: list | None = None):
    """The world (its config) and how to make its engine: a generated world folder is read out of
    core (``FolderEngine``: DuckDB over its Parquet files, the measures' narrow reads pushed down to
    them, as ``members --world`` does), anything else (an imported world, an older single-file
    world with a wildcard in its path) in memory. ``engine="spark"``: the play's rules run in Spark
    (``SparkPlayEngine``; generated world folders only), the measures here as for DuckDB. Each
    engine made, and a Spark session started for it, puts its release on ``held``."""
    from core.engine.folder import FolderEngine, FolderWorld, compare_limits, folder_kind, is_world_folder
    from core.errors import UserError

    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}; accepted: {', '.join(ENGINES)}")
    if folder_kind(path) == "observed":  # refused from world.json, before a large import is read
        raise UserError(f"{path} holds imported data without ground truth, and compare measures against truth; "
                        f"build a twin with 'audience-lab twin --world {path} --out TWIN' and compare on the twin")
    held = [] if held is None else held
    if engine == "spark":
        make = _spark_engines(path, held)  # its refusals before FolderWorld's own about world.json
        return FolderWorld(path), make
    if is_world_folder(path):
        limits = compare_limits()

        def folder_engine(config):
            made = FolderEngine(path, config, limits)
            held.append(made.close)
            return made

        return FolderWorld(path), folder_engine
    from core.engine.views import Engine
    from core.ingest import open_world

    world = open_world(path)
    return world, lambda config: Engine(world, config)


def _spark_engines(path: str, held: list):
    """How to make a Spark play engine for a generated world folder, refused in one line when Spark
    cannot start here or the path is not such a folder; the session starts with the first engine
    (after compare's own checks) and is stopped at the end unless it was running before."""
    from core.engine.folder import is_world_folder
    from core.engine.spark import spark_available
    from core.errors import UserError

    reason = spark_available()
    if reason:
        raise UserError(f"--engine spark cannot run here: {reason}; accepted: --engine {' or '.join(ENGINES)} "
                        "(duckdb needs no Java)")
    if not is_world_folder(path):
        raise UserError(f"--engine spark reads a generated world folder (written by 'audience-lab generate') and {path} "
                        f"is not one; accepted: --engine {' or '.join(ENGINES)} (duckdb reads any world)")

    def spark_engine(config):
        from pyspark.sql import SparkSession

        from core.engine.spark import spark_session
        from core.engine.sparkplay import SparkPlayEngine

        running = SparkSession.getActiveSession() is not None
        spark = spark_session()
        if not running:
            held.append(spark.stop)
        made = SparkPlayEngine(path, config, spark)
        held.append(made.close)
        return made

    return spark_engine


def _add_multiplicity(out: dict) -> None:
    """Several lift tests shown at once: a BH-adjusted p beside each and how many are significant by chance."""
    from core.measures.multiplicity import multiplicity

    m = multiplicity([r.get("p_value") for r in out["lift"]])
    for row, adj in zip(out["lift"], m.p_adjusted):
        row["p_value_bh"] = adj
    out["multiplicity"] = m.to_dict()


def _login_stitching(scenario, play, people: int) -> dict[str, Any]:
    """The verdict with and without login stitching on each side (issue 19); at the sweep size,
    none when the sweep is off."""
    from core.advice.stitching import login_stitching

    return {"login_stitching": login_stitching(scenario, play, people)} if people > 0 else {}


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "—"
    if pct:
        return f"{v:.1%}"
    return f"{v:,.2f}" if isinstance(v, float) else str(v)


def _text(out: dict) -> str:
    lines = [f"Play {out['play']} on {out['preset']} (seed {out['seed']}, {out['people']:,} people)"]
    if out.get("stacks"):
        lines.append("Stack: " + ", ".join(f"{role} {name}" for role, name in out["stacks"].items()))
    lines += ["", "Freshness"]
    for f in out["freshness"]:
        lines.append(f"  {f['model']:7} qualified {f['n_qualified']:6}  within {f['action_window_hours']:.0f}h {_fmt(f['share_within_window'], True):>6}"
                     f"  never {_fmt(f['share_never'], True):>6}  median {_fmt(f['median_hours'])}h  p90 {_fmt(f['p90_hours'])}h  stale {f['n_stale_people']}")
    o = out["overlap_mid_period"]
    lines += ["", f"Overlap at {o['t']} (truly qualifying: {o['truth']}; Jaccard CRM–CDP {_fmt(o['jaccard_crm_cdp'])})",
              "  " + ", ".join(f"{k} {v}" for k, v in o["regions"].items())]
    for m, v in o["models"].items():
        lines.append(f"  {m:7} reachable {v['reachable_persons']:6}  precision {_fmt(v['precision'], True):>6}  recall {_fmt(v['recall'], True):>6}"
                     f"  (members {v['members_persons']}, recall {_fmt(v['membership_recall'], True)})  duplicate reach {v['duplicate_reach']}")
    pipeline = out.get("outcome_event") == "demo_requested"
    money = "expected pipeline value" if pipeline else "true incremental revenue"
    lines += ["", f"Campaign (true net value = {money} − sends − unsubscribes; measured lift vs true)"]
    for r in out["lift"]:
        what = (f"expected pipeline value {r['true_incremental_revenue']:,.0f} from {r['true_incremental_conversions']:,.1f} extra demo requests"
                if pipeline else f"revenue {r['true_incremental_revenue']:,.0f}")
        head = (f"  {r['model']:7} sends {r['sends']:7}  true net value {r['true_net_value']:>12,.0f}"
                f"  ({what}, fatigue {r['fatigue_cost']:,.0f})")
        if r.get("abs_lift") is None:
            lines.append(f"{head}  {r.get('message') or 'not measurable'}")
            continue
        lines.append(f"{head}  lift {r['abs_lift']:+.2%} [{r['abs_lift_ci_low']:+.2%}, {r['abs_lift_ci_high']:+.2%}]"
                     f" vs true {r['true_abs_lift']:+.2%}  p {r['p_value']:.3g} (BH {r['p_value_bh']:.3g})")
    if out.get("multiplicity"):
        lines.append("  " + out["multiplicity"]["sentence"])
    lines += ["", "Other yardsticks: timely reach judged on each truth (money follows the need, not the yardstick)"]
    for y in out["yardsticks"]:
        reach = ", ".join(f"{m} {v:.1%}" for m, v in y.get("timely_reach", {}).items())
        lines.append(f"  {y['yardstick']:9} timely reach {reach}")
    lines += _need_lines(out.get("need_sensitivity") or [])
    lines += _sensitivity_text(out.get("off_target_sensitivity") or [])
    lines += _tornado_lines(out.get("tornado") or [], out.get("tornado_base"))
    if out["crossovers"]:
        lines += ["", "Where the winner flips (CDP vs CRM, true net value)"]
        for c in out["crossovers"]:
            where = f"at {c['value']:.3g}" if c["value"] is not None else "never in the swept range"
            lines.append(f"  {c['knob']}: {c['winner_low']} → {c['winner_high']} {where}")
    if out.get("login_stitching"):
        from core.advice.stitching import stitching_lines

        lines += ["", "With and without login stitching (each side's identify-on-login, same world)"]
        lines += stitching_lines(out["login_stitching"])
    return "\n".join(lines) + "\n"


def _by_model(values: dict[str, float]) -> str:
    """``crm 1,234, cdp 2,345``: one money figure per model, as every verdict line prints them."""
    return ", ".join(f"{m} {v:,.0f}" for m, v in values.items())


def _sensitivity_text(band: list[dict]) -> list[str]:
    """The off-target sensitivity band (issue 18): the verdict when a message to someone without an
    open need does nothing, what Hillstrom measured, or twice that."""
    if not band:
        return []
    lines = ["", "If a message moves people without an open need (true net value; Hillstrom's untargeted e-mail = 1×)"]
    for b in band:
        lines.append(f"  {b['scale']:.0f}× Hillstrom  {_by_model(b['true_net_value'])}  → {b['winner']}")
    return lines


def _need_lines(rows: list[dict]) -> list[str]:
    """The need-sensitivity panel: who wins on money when the need is defined another way."""
    if not rows:
        return []
    out = ["", "Need on trial: true net value when a message helps only people with this need"]
    for r in rows:
        out.append(f"  {r['need']:10} {_by_model(r['net_value'])}  → {r['winner']}")
    return out


def _tornado(scenario, play_name: str, people: int) -> dict | None:
    """Each ops knob moved alone (core.advice.tornado), on a world of ``people`` (None when 0)."""
    if people <= 0:
        return None
    from core.advice.tornado import ops_tornado

    return ops_tornado(scenario, play_name, people)


def _tornado_lines(rows: list[dict], base: dict | None) -> list[str]:
    """Which single ops knob flips the verdict, and the widest movers."""
    if not rows or base is None:
        return []
    flips = [r for r in rows if r["flips"]]
    out = ["", f"One knob at a time (as set: {base['winner']} wins by {abs(base['gap']):,.0f}); "
               f"{len(flips)} single move(s) flip it"]
    for r in (flips or rows[:4])[:10]:
        out.append(f"  {r['side']} {r['knob']} → {r['level']} ({r['value']}): CRM {r['net_value']['crm']:,.0f}, "
                   f"CDP {r['net_value']['cdp']:,.0f}  → {r['winner']}")
    return out
