"""One session through 30 different worlds against a small world budget, with and without a CPU hog.

Issue 23: on a busy workshop server, after about eight worlds in one browser session, a page sat on
"Building the world…" for the world store's whole admission wait (600 s). This replays that at the
protocol level (:class:`scripts.stclient.Session`, loopback only): one fresh server with a small
budget (``AUDIENCE_LAB_WORLDS_MB``), one session that asks for 30 different worlds in a row —
seeds, presets, the ops buttons, stacks and the four workshop steps (as links, the way a shared
link or a "Set the knobs" button sets them), pages other than the Scenario page, then Fit — and
reports every step's time, the slowest step, and any "built beyond the budget" warning.

``--hog N`` runs N busy-loop processes beside the server (each ending by itself after 300 s,
restarted while the run lasts, killed at the end), the starved machine of the issue.

    .venv/bin/python bench/bench_session_worlds.py                # quiet, then with two hogs
    .venv/bin/python bench/bench_session_worlds.py --hogs 0       # quiet only
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_ws_load import load_average, served_app  # noqa: E402
from core.advice.scenario import Scenario, default_play  # noqa: E402
from core.present.stackview import with_stack  # noqa: E402
from core.present.urlstate import encode  # noqa: E402
from core.present.workshop import STEPS as WORKSHOP  # noqa: E402
from scripts.stclient import Session  # noqa: E402

STACKS = (("crm", "hubspot-active-lists"), ("cdp", "segment-realtime"), ("cdp", "segment-batch"),
          ("crm", "sales-crm-nightly-import"), ("cdp", "posthog-cohorts"), ("cdp", "hightouch-hourly"))


def plan(people: int, days: int) -> list[tuple[str, str, str]]:
    """(label, page, query or button): 30 different worlds, then Fit."""
    def link(preset: str = "b2c-retail", seed: int = 7, settings: dict | None = None, play: str | None = None) -> str:
        s = Scenario.make(preset, seed, people, days, settings or {})
        params = encode(s, play or default_play(preset).name)
        return urlencode(params)

    out = [(f"seed {k}", "", link(seed=k)) for k in range(1, 9)]
    out += [(f"preset {p}", "", link(p)) for p in ("b2b-saas", "plg-saas", "omnichannel")]
    out.append(("back to b2c-retail", "", link()))
    out += [(f"button {b}", "", f"click:{b}") for b in ("Well-run CRM", "Poorly run CRM", "Well-run CDP", "Poorly run CDP")]
    out += [(f"stack {role} {name}", "", link(settings=with_stack({}, role, name))) for role, name in STACKS]
    out += [(f"workshop step {i + 1}", step.page, link(settings=dict(step.settings),
                                                     play=step.play_for("b2c-retail")))
            for i, step in enumerate(WORKSHOP)]
    out += [(f"seed {k} on {page}", page, link(seed=k)) for k, page in
            zip(range(11, 19), ("Freshness", "Overlap", "Campaign_lift", "Journeys", "Segments", "Freshness",
                                "Overlap", "Campaign_lift"))]
    out.append(("Fit", "Fit", f"sim_people={min(people, 2000)}&sim_days=30"))
    return out


class Hogs:
    """N busy loops beside the server, each ending by itself after ``each_s``, restarted while the
    run lasts, killed at the end."""

    def __init__(self, n: int, each_s: int = 300) -> None:
        self.n, self.each_s = n, each_s
        self.procs: list[subprocess.Popen] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, daemon=True)

    def _spawn(self) -> subprocess.Popen:
        # bounded by itself (not by a `timeout` wrapper: killing the wrapper orphaned the loop)
        loop = f"import time\nend = time.monotonic() + {self.each_s}\nwhile time.monotonic() < end: pass"
        return subprocess.Popen([sys.executable, "-c", loop])

    def _keep(self) -> None:
        while not self._stop.wait(1.0):
            self.procs = [p if p.poll() is None else self._spawn() for p in self.procs]

    def __enter__(self) -> "Hogs":
        self.procs = [self._spawn() for _ in range(self.n)]
        if self.n:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.n:
            self._thread.join(5)
        for p in self.procs:
            p.kill()
            p.wait(10)


async def walk(url: str, steps: list[tuple[str, str, str]], step_timeout: float) -> list[dict]:
    session = Session(url)
    await session.connect()
    out = []
    try:
        for label, page, what in steps:
            if what.startswith("click:"):
                run = await session.click(what[len("click:"):], step_timeout)
            else:
                session.query = what
                run = await session.open(page, step_timeout)
            out.append({"step": label, "seconds": round(run.seconds, 2), "status": run.status,
                        "errors": run.exceptions + run.alerts,
                        "over_budget": [w[:120] for w in run.warnings if "beyond the budget" in w]})
            if run.status != "ok":
                break
    finally:
        await session.close()
    return out


def run_once(args, hogs: int) -> dict:
    os.environ["AUDIENCE_LAB_WORLDS_MB"] = str(args.worlds_mb)
    with served_app("session-worlds") as (url, sampler):
        with Hogs(hogs):
            t0 = time.perf_counter()
            steps = asyncio.run(walk(url, plan(args.people, args.days), args.step_timeout))
            wall = time.perf_counter() - t0
            load = load_average()
    peak, log = sampler.peak_kb, sampler.log
    secs = [s["seconds"] for s in steps if s["status"] == "ok"]
    slowest = max(steps, key=lambda s: s["seconds"]) if steps else None
    return {"hogs": hogs, "people": args.people, "worlds_mb": args.worlds_mb, "steps": len(steps),
            "steps_ok": sum(s["status"] == "ok" and not s["errors"] for s in steps), "wall_s": round(wall, 1),
            "p50_s": round(float(np.percentile(secs, 50)), 2) if secs else None,
            "p95_s": round(float(np.percentile(secs, 95)), 2) if secs else None,
            "slowest": slowest, "over_budget_steps": [s["step"] for s in steps if s["over_budget"]],
            "load_average_end": round(load, 1), "server_peak_gb": round(peak / 1024 ** 2, 2),
            "server_log": str(log), "all_steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--worlds-mb", type=float, default=150.0, help="the server's world budget (small on purpose)")
    parser.add_argument("--hogs", default="0,2", help="comma-separated busy-loop counts, one fresh server each")
    parser.add_argument("--step-timeout", type=float, default=300.0)
    parser.add_argument("--json", help="write the reports to this file")
    args = parser.parse_args()
    reports = []
    for n in (int(x) for x in args.hogs.split(",")):
        report = run_once(args, n)
        print(json.dumps({k: v for k, v in report.items() if k != "all_steps"}), flush=True)
        reports.append(report)
    print("| CPU hogs | steps ok | p50 / p95 (s) | slowest step (s) | over budget | server peak |")
    print("|---|---|---|---|---|---|")
    for r in reports:
        s = r["slowest"] or {"step": "—", "seconds": float("nan")}
        print(f"| {r['hogs']} | {r['steps_ok']} of {r['steps']} | {r['p50_s']} / {r['p95_s']} | "
              f"{s['seconds']:.1f} ({s['step']}) | {len(r['over_budget_steps'])} | {r['server_peak_gb']:.2f} GB |")
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2))


if __name__ == "__main__":
    main()
