"""Benchmark repeated experiments (issue 13): 1,000 repeats of a campaign's holdout test.

On the dashboard's default world (b2c-retail, seed 7, 10,000 people, 90 days, cart abandonment),
builds the world and the play once, simulates each model's campaign once, then times:
- ``repeat_experiment`` with 1,000 repeats per model (target: under 10 s);
- the same with CUPED on each unit's pre-period visits (computed from the event log);
- ``compare_models`` CDP vs CRM with 1,000 repeats;
and prints the coverage, power and right-winner share it measured, so the figures in the README can
be reproduced. Every test runs on the campaign's units (contacts/profiles: what is randomised and
what the single report measures, issue 20), and each repeated test is also read every week with
the fixed-horizon and the always-valid (mSPRT) interval: the peeking table in docs/statistics.md. Peak memory (ru_maxrss) is the whole process's, world included.

    .venv/bin/python bench/bench_experiment.py
    .venv/bin/python bench/bench_experiment.py --people 20000 --repeats 2000 --play cart-abandonment
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="b2c-retail")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--people", type=int, default=10_000)
    ap.add_argument("--play", default="cart-abandonment")
    ap.add_argument("--repeats", type=int, default=1000)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))

    from core.advice.scenario import Scenario, build_engine
    from core.engine.playrun import run_play
    from core.engine.plays import get_play
    from core.measures.campaign import simulate
    from core.measures.cuped import pre_period_covariates
    from core.measures.repeats import compare_models, repeat_experiment
    from core.present.liftview import campaign_units

    out: dict = {"preset": args.preset, "seed": args.seed, "people": args.people, "play": args.play,
                 "repeats": args.repeats}
    t = time.perf_counter()
    scenario = Scenario.make(args.preset, args.seed, args.people)
    engine = build_engine(scenario)
    play = get_play(args.play, args.preset)
    run = run_play(engine, play, scenario.activation())
    cfg = scenario.campaign()
    results = {m: simulate(run, m, cfg) for m in (*run.models, "blast")}
    units = {m: campaign_units(r.targets) for m, r in results.items()}
    out["setup_s"] = round(time.perf_counter() - t, 2)

    rows = []
    for model, res in results.items():
        targets = units[model]
        if len(targets) < 2:
            rows.append({"model": model, "units": len(targets), "note": "nothing to repeat"})
            continue
        t = time.perf_counter()
        rep = repeat_experiment(targets, cfg.holdout_share, args.repeats, cfg.seed)
        plain_s = time.perf_counter() - t
        peek = repeat_experiment(targets, cfg.holdout_share, args.repeats, cfg.seed, peek="send_at").peeking
        t = time.perf_counter()
        pre = pre_period_covariates(engine.world.events, targets["send_at"], person_ids=targets["person_id"],
                                    lookback_days=28)
        with_cov = targets.assign(pre_visits=pre["pre_visits"].to_numpy())
        cup = repeat_experiment(with_cov, cfg.holdout_share, args.repeats, cfg.seed, covariate="pre_visits")
        cuped_s = time.perf_counter() - t
        rows.append({"model": model, "units": len(targets), "repeat_s": round(plain_s, 3),
                     "repeat_cuped_s": round(cuped_s, 3), "true_abs_lift": round(rep.true_abs_lift, 5),
                     "coverage": rep.coverage, "power": rep.power, "type_m": rep.type_m,
                     "holdout_too_small_share": rep.holdout_too_small_share,
                     "cuped_width_change": cup.cuped_summary and round(cup.cuped_summary["mean_width_change"], 4),
                     "significant_right": rep.significant_right_share, "significant_wrong": rep.significant_wrong_share,
                     "inconclusive": rep.inconclusive_share, "sign_right": rep.sign_right_share, "peeking": peek})
    out["models"] = rows
    if {"crm", "cdp"} <= set(results) and min(len(units[m]) for m in ("crm", "cdp")) >= 2:
        t = time.perf_counter()
        cols = ["unit_id", "person_id", "key", "p0", "p1", "value"]
        cmp = compare_models(units["cdp"][cols], units["crm"][cols], cfg.holdout_share, args.repeats,
                             cfg.seed, labels=("cdp", "crm"))
        out["compare_s"] = round(time.perf_counter() - t, 3)
        out["compare"] = {k: v for k, v in cmp.to_dict(include_draws=False).items()
                          if k in ("true_winner", "true_diff", "right_winner_share", "significant_right_share",
                                   "significant_wrong_share", "inconclusive_share", "coverage_paired")}
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    print(json.dumps(out, indent=2, default=float))
    print(f"\n{'model':8} {'units':>7} {'repeats s':>13} {'+CUPED s':>9} {'coverage':>9} {'power':>6}")
    for r in rows:
        if "repeat_s" in r:
            print(f"{r['model']:8} {r['units']:>7,} {r['repeat_s']:>13.2f} {r['repeat_cuped_s']:>9.2f} "
                  f"{r['coverage']:>9.3f} {r['power'] if r['power'] is None else round(r['power'], 3)!s:>6}")
    print("\n| model | units | weekly looks | fixed: covers at every look | always-valid: covers at every look "
          "| fixed: ever significant | always-valid: ever significant | last-look width, always-valid / fixed |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        pk = r.get("peeking")
        if pk:
            f, q = pk["fixed_horizon"], pk["sequential"]
            print(f"| {r['model']} | {r['units']:,} | {pk['looks']} | {f['coverage_every_look']:.1%} | "
                  f"{q['coverage_every_look']:.1%} | {f['ever_significant']:.1%} | {q['ever_significant']:.1%} | "
                  f"{q['final_width'] / f['final_width']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
