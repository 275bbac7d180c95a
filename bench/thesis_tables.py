"""Regenerate the README's thesis tables (defaults and ops corners, named stacks) as markdown.

Issue 18 item 7: after the sizes change, the lead re-runs this on the merged code and pastes the
tables. Each row is what ``audience-lab compare --json`` reports for that world (the same
Scenario → play_results path, with ``--ops`` levels applied to the world and the campaign), plus
the winner when a message to someone without an open need does nothing / Hillstrom's / twice.

    PYTHONPATH=. .venv/bin/python bench/thesis_tables.py --people 20000 --seed 7
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.advice.ops import ops_settings  # noqa: E402
from core.advice.scenario import Scenario, build_engine, play_results  # noqa: E402
from core.advice.stacks import stack_keys  # noqa: E402
from core.engine.plays import get_play  # noqa: E402
from core.measures.calibration import off_target_sensitivity  # noqa: E402
from core.measures.response import period_revenue  # noqa: E402

#: The README's rows: (preset, play) × how each side is run.
OPS_PLAYS = (("b2c-retail", "cart-abandonment"), ("b2c-retail", "win-back"),
             ("b2b-saas", "pricing-intent"), ("b2b-saas", "mql-nurture"))
OPS_ROWS = (("preset defaults", {}), ("CRM well run, CDP poorly run", {"crm": "well-run", "cdp": "poorly-run"}),
            ("CRM poorly run, CDP well run", {"crm": "poorly-run", "cdp": "well-run"}))


def _row(preset: str, play_name: str, seed: int, people: int, settings: dict) -> dict:
    scenario = Scenario.make(preset, seed, people, 90, settings)
    engine = build_engine(scenario)
    play = get_play(play_name, preset)
    res = play_results(engine, play, scenario)
    timely = res.freshness.set_index("model")["share_within_window"]
    lift = res.lift.set_index("model")
    band = off_target_sensitivity(res.run, scenario.campaign())
    net = lift["true_net_value"]
    return {"timely": timely, "revenue": lift["true_incremental_revenue"], "net": net,
            "world_revenue": period_revenue(engine.world),
            "winner": "CRM" if net["crm"] > net["cdp"] else "CDP",
            "band": " / ".join(b["winner"] for b in band)}


def ops_table(seed: int, people: int) -> str:
    rows = ["| preset · play | how each side is run | timely reach CRM / CDP | true incremental revenue CRM / CDP / hybrid / blast "
            "(world's revenue) | net value CRM / CDP / hybrid / blast | winner, CRM vs CDP | best of all, off-target none / Hillstrom / 2× |",
            "|---|---|---|---|---|---|---|"]
    for preset, play in OPS_PLAYS:
        for i, (name, levels) in enumerate(OPS_ROWS):
            r = _row(preset, play, seed, people, ops_settings(levels))
            t, v, n = r["timely"], r["revenue"], r["net"]
            rows.append(f"| {f'{preset} · {play}' if i == 0 else ''} | {name} | {t['crm']:.0%} / {t['cdp']:.0%} | "
                        f"{' / '.join(f'{v[m]:,.0f}' for m in ('crm', 'cdp', 'hybrid', 'blast'))} ({r['world_revenue']:,.0f}) | "
                        f"{' / '.join(f'{n[m]:,.0f}' for m in ('crm', 'cdp', 'hybrid', 'blast'))} | {r['winner']} | {r['band']} |")
    return "\n".join(rows)


def stacks_table(seed: int, people: int) -> str:
    from tests.test_stack_thesis import CASES

    rows = ["| preset · play | CRM · CDP | timely reach CRM / CDP / hybrid | true incremental revenue CRM / CDP / hybrid / blast "
            "| net value CRM / CDP / hybrid / blast | winner | best of all, off-target none / Hillstrom / 2× |",
            "|---|---|---|---|---|---|---|"]
    for case, (preset, play, stacks, extra) in CASES.items():
        r = _row(preset, play, seed, people, {**stack_keys(stacks), **extra})
        t, v, n = r["timely"], r["revenue"], r["net"]
        best = max(("crm", "cdp", "hybrid"), key=lambda m: n[m])
        rows.append(f"| {preset} · {play} | {' · '.join(stacks)}{' (windows real time)' if extra else ''} | "
                    f"{' / '.join(f'{t[m]:.0%}' for m in ('crm', 'cdp', 'hybrid'))} | "
                    f"{' / '.join(f'{v[m]:,.0f}' for m in ('crm', 'cdp', 'hybrid', 'blast'))} | "
                    f"{' / '.join(f'{n[m]:,.0f}' for m in ('crm', 'cdp', 'hybrid', 'blast'))} | {best} | {r['band']} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=("ops", "stacks"), help="print one table only")
    args = parser.parse_args()
    t0 = time.perf_counter()
    if args.only != "stacks":
        print(f"**Ops corners** (seed {args.seed}, {args.people:,} people, 90 days)\n\n{ops_table(args.seed, args.people)}\n")
    if args.only != "ops":
        print(f"**Named stacks** (seed {args.seed}, {args.people:,} people, 90 days)\n\n{stacks_table(args.seed, args.people)}\n")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
