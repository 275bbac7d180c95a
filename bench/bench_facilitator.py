"""Facilitator mode: after "Prepare all steps", how fast does each workshop step open?

Issue 23: each workshop "Set the knobs" took 28–48 s (a world rebuilt behind a spinner) in front of
the room. At the protocol level (:class:`scripts.stclient.Session`, loopback only) one facilitator
session on a fresh server turns on Workshop mode, clicks "Prepare all steps", waits until the page
says "All steps ready" (polling by reopening the page), then for each step clicks its "Set the
knobs" and opens the page it points to. Reported: the preparation's time and, per step, the click
and the page open (target: each step ≤ 3 s on this machine).

    .venv/bin/python bench/bench_facilitator.py                 # 10,000 people, the dashboard default
    .venv/bin/python bench/bench_facilitator.py --people 2000
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_ws_load import load_average, served_app  # noqa: E402
from core.present.workshop import STEPS  # noqa: E402
from scripts.stclient import Session  # noqa: E402


async def facilitate(url: str, people: int, limit_s: float) -> dict:
    session = Session(url, f"people={people}")
    await session.connect()
    try:
        await session.open("", limit_s)
        await session.set_toggle("Workshop mode", True, limit_s)
        t0 = time.perf_counter()
        await session.click("Prepare all steps", limit_s)
        ready = False
        while time.perf_counter() - t0 < limit_s:
            run = await session.open("", limit_s)
            if any("All steps ready" in s for s in run.successes):
                ready = True
                break
            await asyncio.sleep(2.0)
        prepare_s = time.perf_counter() - t0
        steps = []
        for i, step in enumerate(STEPS):
            await session.open("", limit_s)
            knobs = await session.click_key(f"ws_{i}", limit_s)
            page = await session.open(step.page, limit_s)
            steps.append({"step": step.title, "set_knobs_s": round(knobs.seconds, 2), "open_page_s": round(page.seconds, 2),
                          "total_s": round(knobs.seconds + page.seconds, 2),
                          "errors": knobs.exceptions + knobs.alerts + page.exceptions + page.alerts})
        return {"ready": ready, "prepare_s": round(prepare_s, 1), "steps": steps}
    finally:
        await session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=900.0, help="seconds allowed for the preparation and each step")
    parser.add_argument("--json", help="write the report to this file")
    args = parser.parse_args()
    with served_app("facilitator") as (url, sampler):
        report = asyncio.run(facilitate(url, args.people, args.limit))
        report["load_average_end"] = round(load_average(), 1)
    peak, log = sampler.peak_kb, sampler.log
    report.update({"people": args.people, "server_peak_gb": round(peak / 1024 ** 2, 2), "server_log": str(log),
                   "slowest_step_s": max((s["total_s"] for s in report["steps"]), default=None)})
    print(json.dumps(report, indent=2))
    print(f"prepared in {report['prepare_s']} s; slowest step {report['slowest_step_s']} s (target ≤ 3 s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
