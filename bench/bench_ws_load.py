"""Workshop load, measured at the protocol level: N sessions speak Streamlit's websocket protocol.

Each session is a :class:`scripts.stclient.Session` — the protobuf messages a browser sends
(``BackMsg.rerun_script`` with the URL's query string, the page and the widget states) and the
ForwardMsg stream it reads until ``script_finished`` — without rendering anything, so 30 of them
cost the load generator a few CPU seconds and the server gets the machine.

Scenario (one fresh server per session count, so every run starts with empty caches):

1. ``streamlit run app.py`` on 127.0.0.1 and a free port (usage statistics off, no file watcher);
2. N sessions start within ``--ramp`` seconds of each other and open the Scenario page;
3. each opens Journeys, Segments, Freshness, Overlap, Campaign lift and Fit, returns to the
   Scenario page, clicks "Poorly run CDP" (the knob change) and opens Freshness on the changed
   scenario;
4. every step is timed from the message sent to ``script_finished``; the server's process tree is
   sampled from /proc every 0.2 s for its resident memory.

``--worlds different`` gives every session its own seed (``?seed=…``): 30 people exploring 30
worlds, which is what bounds the caches. ``--warm`` lets one facilitator session open the pages
first, as at a real workshop. Every server gets a fresh, empty disk cache of worlds and results
(``AUDIENCE_LAB_CACHE_DIR``, core/advice/diskcache.py), so a run starts cold unless asked otherwise:
``--prebuild`` first runs ``audience-lab warm`` for exactly the worlds the room will open (each
session's seed, and each after the "Poorly run CDP" button) — a facilitator preparing the workshop,
or an earlier server — and reports that time apart (``prebuild_s``); ``--cache-dir`` reuses a folder.
Bounded: a fixed list of steps, a time limit per step and per session, loopback only. Not part of
CI (figures depend on the machine).

    .venv/bin/python bench/bench_ws_load.py --sessions 1,10,30
    .venv/bin/python bench/bench_ws_load.py --sessions 30 --worlds different --without Fit
    .venv/bin/python bench/bench_ws_load.py --sessions 30 --worlds different --without Fit --prebuild
    .venv/bin/python bench/bench_ws_load.py --sessions 10 --py-spy prof.txt   # needs: .venv/bin/pip install py-spy
    .venv/bin/python bench/pyspy_top.py prof.txt
"""
from __future__ import annotations

import argparse
import contextlib
import asyncio
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.browser import free_port, wait_healthy  # noqa: E402
from scripts.stclient import Session, start_streamlit  # noqa: E402

#: (kind, target): open a page by URL path, or click a button by its label on the current page.
STEPS: tuple[tuple[str, str], ...] = (
    ("open", ""), ("open", "Journeys"), ("open", "Segments"), ("open", "Freshness"), ("open", "Overlap"),
    ("open", "Campaign_lift"), ("open", "Fit"), ("open", ""), ("knob", "Poorly run CDP"), ("open", "Freshness"),
)


@dataclass
class Step:
    session: int
    index: int
    kind: str        # open | knob
    target: str
    started: float   # seconds since the first session started
    seconds: float
    status: str
    exceptions: list
    alerts: list
    page_not_found: bool
    kbytes: float
    server_cpu_s: float = float("nan")  # the server's CPU seconds during this step (alone only when one session runs)


# --------------------------------------------------------------------------- server memory


def _tree(pid: int) -> list[int]:
    """The process and its descendants, from /proc/<pid>/task/*/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                pass
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:80].strip()
    except OSError:
        return "?"


def _cpu_seconds(pid: int, children: bool = False) -> float:
    """utime + stime of a process (and of its waited-for children) in seconds, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
        return ticks / 100  # clock ticks (USER_HZ=100)
    except (OSError, IndexError):
        return float("nan")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of the server and every process it started (the fit advisor's workers, live or
    finished): the work the server did, whatever else ran on the machine meanwhile."""
    return sum(_cpu_seconds(p, children=(p == pid)) for p in _tree(pid))


def load_average() -> float:
    """The machine's 1-minute load average (runnable tasks; above the core count = contention)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


class MemorySampler(threading.Thread):
    """Peak resident memory of a process tree, sampled every ``every`` seconds."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_kb = 0
        self.peak_parts: dict[str, int] = {}  # process → MB at the peak
        self.samples: list[tuple[float, int]] = []
        self.loads: list[float] = []          # the machine's load average, every second
        self._halt = threading.Event()

    def run(self) -> None:
        t0 = time.perf_counter()
        while not self._halt.is_set():
            parts = {p: _status_kb(p, "VmRSS") for p in _tree(self.pid)}
            kb = sum(parts.values())
            if kb > self.peak_kb:
                self.peak_kb = kb
                self.peak_parts = {f"{p} {_name(p)}": round(v / 1024) for p, v in parts.items()}
            self.samples.append((round(time.perf_counter() - t0, 1), kb))
            if len(self.samples) % max(1, round(1 / self.every)) == 1:
                self.loads.append(load_average())
            self._halt.wait(self.every)

    def stop(self) -> int:
        self._halt.set()
        self.join(5)
        return max(self.peak_kb, _status_kb(self.pid, "VmHWM"))


@contextlib.contextmanager
def served_app(prefix: str):
    """A dashboard server on a free 127.0.0.1 port with its memory sampled: yields ``(url, sampler)``,
    then stops the server (TERM, KILL after 20 s) and the sampler (``sampler.peak_kb`` is the tree's peak).
    Every bench that drives the server goes through here, so each one starts and stops it the same way."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkstemp(prefix=f"{prefix}-", suffix=".log")[1])
    server = start_streamlit(ROOT / "app.py", port, log)
    sampler = MemorySampler(server.pid)
    sampler.log = log  # the server's log; ``sampler.pid`` is the server's pid
    sampler.start()
    try:
        if not wait_healthy(url, timeout=120):
            raise SystemExit(f"streamlit did not become healthy; see {log}")
        yield url, sampler
    finally:
        server.terminate()
        try:
            server.wait(20)
        except Exception:
            server.kill()
        sampler.peak_kb = sampler.stop()


# --------------------------------------------------------------------------- sessions


async def one_session(i: int, url: str, query: str, delay: float, t0: float, args, server_pid: int = 0) -> list[Step]:
    """One participant: wait for its turn, then the fixed steps, each under a time limit."""
    await asyncio.sleep(delay)
    think = random.Random(i)  # seeded: the same pauses on every run
    steps: list[Step] = []
    session = Session(url, query)
    deadline = time.perf_counter() + args.session_timeout
    try:
        await session.connect()
        plan = [(k, t) for k, t in STEPS if t not in args.without][:args.steps]
        for index, (kind, target) in enumerate(plan):
            left = deadline - time.perf_counter()
            if left <= 0:
                steps.append(Step(i, index, kind, target, time.perf_counter() - t0, 0.0, "session_timeout", [], [], False, 0))
                break
            started = time.perf_counter() - t0
            cpu0 = tree_cpu_seconds(server_pid) if server_pid else float("nan")
            try:
                run = await (session.open(target, min(left, args.step_timeout)) if kind == "open"
                             else session.click(target, min(left, args.step_timeout)))
            except KeyError as exc:  # the button was not on the page: the page did not render
                steps.append(Step(i, index, kind, target, started, 0.0, "no_button", [str(exc)[:200]], [], False, 0))
                break
            steps.append(Step(i, index, kind, target, started, run.seconds, run.status, run.exceptions,
                              run.alerts, run.page_not_found, run.bytes / 1024,
                              round(tree_cpu_seconds(server_pid) - cpu0, 2) if server_pid else float("nan")))
            if run.status != "ok":
                break
            if args.think:  # a participant reads the page before the next click
                await asyncio.sleep(args.think * think.uniform(0.5, 1.5))
    except (OSError, asyncio.TimeoutError) as exc:
        steps.append(Step(i, 0, "connect", "", time.perf_counter() - t0, 0.0, f"connect: {exc}"[:200], [], [], False, 0))
    finally:
        await session.close()
    return steps


async def all_sessions(url: str, n: int, args, server_pid: int = 0) -> list[Step]:
    t0 = time.perf_counter()
    jobs = []
    for i in range(n):
        query = f"seed={args.seed_base + i}" if args.worlds == "different" else ""
        delay = args.ramp * i / max(n - 1, 1)
        jobs.append(one_session(i, url, query, delay, t0, args, server_pid))
    limit = args.session_timeout + args.ramp + 60
    results = await asyncio.wait_for(asyncio.gather(*jobs), limit)
    return [s for steps in results for s in steps]


async def warm_up(url: str, args) -> float:
    """The facilitator walks through the workshop (every page, the knob change) before the room
    joins, as at a real workshop: the worlds and results everyone will ask for are then built."""
    t0 = time.perf_counter()
    session = Session(url)
    await session.connect()
    try:
        for kind, target in STEPS:
            if target in args.without:
                continue
            if kind == "open":
                await session.open(target, args.step_timeout)
            elif target in session.buttons:
                await session.click(target, args.step_timeout)
    finally:
        await session.close()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- summary


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q, method="higher")), 2) if values else None


def _stats(values: list[float]) -> dict:
    return {"n": len(values), "p50": _pct(values, 50), "p95": _pct(values, 95),
            "max": round(max(values), 2) if values else None}


def summarise(steps: list[Step], n: int, steps_per_session: int = len(STEPS)) -> dict:
    steps_n = steps_per_session
    ok = [s for s in steps if s.status == "ok" and not s.exceptions and not s.page_not_found]
    first = [s.seconds for s in ok if s.index == 0]
    opens = [s.seconds for s in ok if s.kind == "open"]
    knobs = [s.seconds for s in ok if s.kind == "knob"]
    by_page: dict[str, list[float]] = {}
    for s in ok:
        by_page.setdefault(f"{s.kind}:{s.target or 'Scenario'}", []).append(s.seconds)
    failed = [s for s in steps if s not in ok]
    return {
        "sessions": n,
        "sessions_completed": len({s.session for s in ok if s.index == steps_n - 1}),
        "steps_ok": len(ok), "steps_expected": n * steps_n,
        "first_open": _stats(first), "page_opens": _stats(opens), "knob_changes": _stats(knobs),
        "by_step": {k: _stats(v) for k, v in by_page.items()},
        # the server's CPU seconds per step (mean); it is that step's own cost only when one session runs
        "by_step_server_cpu_s": {k: round(float(np.nanmean([s.server_cpu_s for s in ok if f"{s.kind}:{s.target or 'Scenario'}" == k])), 3)
                                 for k in by_page} if n == 1 else None,
        "errors": len(failed),
        "error_examples": sorted({f"{s.kind}:{s.target or 'Scenario'} {s.status} {'; '.join(s.exceptions)[:160]}"
                                  + (" page not found" if s.page_not_found else "") for s in failed})[:5],
        "st_error_alerts": sum(len(s.alerts) for s in steps),
        "alert_examples": sorted({a[:160] for s in steps for a in s.alerts})[:3],
    }


def prebuild(n: int, args) -> float:
    """``audience-lab warm`` for the worlds the room will open, before the server starts: every
    session's link and the same after the "Poorly run CDP" button (the knob step). Seconds taken."""
    seeds = ["--seeds", f"{args.seed_base}-{args.seed_base + n - 1}"] if args.worlds == "different" else []
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-W", "ignore::RuntimeWarning", "-m", "core.cli.main", "warm", *seeds,
                    "--ops", "cdp=poorly-run", "--workers", str(args.prebuild_workers)],
                   cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _entries(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else 0


def run_count(n: int, args) -> dict:
    cache = Path(args.cache_dir) if args.cache_dir else Path(tempfile.mkdtemp(prefix="ws-load-cache-"))
    os.environ["AUDIENCE_LAB_CACHE_DIR"] = str(cache)  # the server inherits it
    built = prebuild(n, args) if args.prebuild else None
    entries_before = _entries(cache)
    with served_app("ws-load") as (url, sampler):
        log, pid = sampler.log, sampler.pid
        warm = asyncio.run(warm_up(url, args)) if args.warm else None
        profiler = _start_profiler(pid, args.py_spy) if args.py_spy else None
        cpu0, server_cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), tree_cpu_seconds(pid), time.perf_counter()
        loads_before = len(sampler.loads)
        steps = asyncio.run(all_sessions(url, n, args, pid))
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu = tree_cpu_seconds(pid) - server_cpu0
        loads = sampler.loads[loads_before:] or [load_average()]
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            profiler.wait(60)
        report = summarise(steps, n, min(args.steps, len([t for _, t in STEPS if t not in args.without])))
        report.update({
            "worlds": args.worlds, "think_s": args.think, "without": sorted(args.without), "warm_up_s": round(warm, 1) if warm is not None else None,
            "prebuild_s": round(built, 1) if built is not None else None, "cache_dir": str(cache),
            "cache_entries_before": entries_before, "cache_entries_built_by_room": _entries(cache) - entries_before,
            "wall_s": round(time.perf_counter() - wall0, 1),
            "client_cpu_s": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 2),
            "server_cpu_s": round(server_cpu, 1),
            "server_cpu_s_per_step": round(server_cpu / max(report["steps_ok"], 1), 3),
            "load_average": {"mean": round(float(np.mean(loads)), 1), "max": round(float(np.max(loads)), 1),
                             "cores": os.cpu_count()},
            "tracebacks_in_server_log": log.read_text(errors="replace").count("Traceback"),
        })
        if args.steps_out:
            with open(args.steps_out, "a") as fh:
                for s in steps:
                    fh.write(json.dumps({"sessions": n, "worlds": args.worlds, **asdict(s)}) + "\n")
    if not args.cache_dir:
        shutil.rmtree(cache, ignore_errors=True)  # a fresh folder per server: the next run starts cold too
    report["server_peak_gb"] = round(sampler.peak_kb / 1024 ** 2, 2)
    report["server_peak_processes_mb"] = sampler.peak_parts
    report["server_log"] = str(log)
    return report


def _start_profiler(pid: int, out: str) -> subprocess.Popen:
    """py-spy sampling the server (all threads) while the sessions run: where the time goes."""
    exe = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(exe), "record", "--pid", str(pid), "--output", out, "--format", "raw",
                             "--rate", "25", "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def table(reports: list[dict]) -> str:
    def f(s: dict) -> str:
        return "—" if not s["n"] else f"{s['p50']:.1f} / {s['p95']:.1f} / {s['max']:.1f}"
    lines = ["| sessions | worlds | first open p50 / p95 / max (s) | page opens p50 / p95 / max (s) | "
             "knob change p50 / p95 / max (s) | server peak | errors | server CPU per step | load (2 cores) | client CPU |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in reports:
        ready = (" (warm)" if r["warm_up_s"] is not None else "") + \
            (f" (prebuilt in {r['prebuild_s']:.0f} s)" if r.get("prebuild_s") is not None else "")
        lines.append(f"| {r['sessions']} | {r['worlds']}{ready} | "
                     f"{f(r['first_open'])} | {f(r['page_opens'])} | {f(r['knob_changes'])} | "
                     f"{r['server_peak_gb']:.2f} GB | {r['errors']} | {r['server_cpu_s_per_step']:.2f} s | "
                     f"{r['load_average']['mean']:.0f} (max {r['load_average']['max']:.0f}) | {r['client_cpu_s']:.1f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,10,30", help="comma-separated session counts, one fresh server each")
    parser.add_argument("--worlds", choices=("same", "different"), default="same",
                        help="same: everyone on the default world; different: one seed per session")
    parser.add_argument("--warm", action="store_true", help="a facilitator session opens every page first")
    parser.add_argument("--prebuild", action="store_true",
                        help="audience-lab warm the room's worlds into the server's disk cache first (timed apart)")
    parser.add_argument("--prebuild-workers", type=int, default=2, help="processes for --prebuild (default 2)")
    parser.add_argument("--cache-dir", help="the server's disk cache folder (default: a fresh empty one per server)")
    parser.add_argument("--ramp", type=float, default=3.0, help="seconds over which the sessions join")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a participant reads a page before the next step (0 = none, the worst case)")
    parser.add_argument("--without", default="", type=lambda v: set(filter(None, v.split(","))),
                        help="comma-separated page paths to leave out, e.g. Fit")
    parser.add_argument("--steps", type=int, default=len(STEPS), help=f"steps per session (at most {len(STEPS)})")
    parser.add_argument("--step-timeout", type=float, default=300.0)
    parser.add_argument("--session-timeout", type=float, default=1200.0)
    parser.add_argument("--seed-base", type=int, default=1000)
    parser.add_argument("--json", help="write the reports to this file")
    parser.add_argument("--steps-out", help="append every step as a JSON line to this file")
    parser.add_argument("--py-spy", help="profile the server with py-spy into this file (collapsed stacks)")
    args = parser.parse_args()
    reports = []
    for n in (int(x) for x in args.sessions.split(",")):
        report = run_count(n, args)
        print(json.dumps(report), flush=True)
        reports.append(report)
    print(table(reports))
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2))


if __name__ == "__main__":
    main()
