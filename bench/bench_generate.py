"""Benchmark the world generator: time and peak memory per world size.

Each size runs in its own child process, so its peak memory is that world's own. Two ways:

- ``memory``: ``synthetic.generate(config)`` — the whole world as DataFrames (the dashboard's way;
  the workshop world of 20,000 people, target under 3 s);
- ``folder``: ``synthetic.io.generate_to_folder(config, dir, workers=N)`` — units of people streamed
  to partitioned Parquet (the CLI's way; 1M people under 120 s and 3 GB, and a peak that does not
  grow with the number of people: 1M vs 5M).

Peak memory is sampled every 0.1 s from /proc as the summed resident memory of the whole process
tree (the child, the forkserver and the workers). Summing counts pages the workers share with the
forkserver once per process, so it is an upper bound. "CPU s" is the CPU time of the whole tree: on
a shared machine it says what the run costs when the wall-clock time is inflated by other work
(2 free cores: wall ≈ CPU s / 2 at best).

    .venv/bin/python bench/bench_generate.py                             # workshop, 1M and 5M, 2 workers
    .venv/bin/python bench/bench_generate.py --sizes 100000 --workers 1  # other sizes / workers
    .venv/bin/python bench/bench_generate.py --no-workshop --sizes 1000000

The machine may be shared: figures are upper bounds.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKSHOP_PEOPLE = 20_000
TARGETS = {"workshop_s": 3.0, "1m_s": 120.0, "1m_gb": 3.0}


_TICK = os.sysconf("SC_CLK_TCK")


def _tree(root_pid: int) -> tuple[int, dict[int, float]]:
    """Resident memory (kB) of a process and all its descendants, and each one's CPU seconds so far."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                text = fh.read()
        except OSError:
            continue
        ppid = int(text.split("PPid:")[1].split()[0])
        children.setdefault(ppid, []).append(int(entry))
        if "VmRSS:" in text:
            rss[int(entry)] = int(text.split("VmRSS:")[1].split()[0])
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children.get(pid, []))
    return total, cpu


class PeakSampler:
    """Samples the process tree's memory in a background thread; ``peak_gb`` after ``stop``."""

    def __init__(self, interval: float = 0.1) -> None:
        self.peak_kb = 0
        self.cpu: dict[int, float] = {}  # last CPU seconds seen per process of the tree
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(interval)

    def _sample(self) -> None:
        rss, cpu = _tree(os.getpid())
        self.peak_kb = max(self.peak_kb, rss)
        self.cpu.update(cpu)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        return self.peak_kb / 1024**2

    @property
    def cpu_seconds(self) -> float:
        """CPU time of every process of the tree (workers counted up to their last sample)."""
        return sum(self.cpu.values())


def child(mode: str, preset: str, people: int, days: int, seed: int, workers: int) -> None:
    """Generate one world and print one JSON line with its size, time and peak memory."""
    sys.path.insert(0, str(ROOT))
    from synthetic import generate, preset_config
    from synthetic.io import generate_to_folder

    config = preset_config(preset, seed=seed, people=people, days=days)
    sampler = PeakSampler()
    out = Path(tempfile.mkdtemp(prefix="bench-world-")) / "w"
    try:
        t0 = time.perf_counter()
        if mode == "memory":
            events = len(generate(config).events)
        else:
            events = generate_to_folder(config, out, workers=workers)["events"]
        seconds = time.perf_counter() - t0
        disk = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) if out.exists() else 0
    finally:
        peak = sampler.stop()
        shutil.rmtree(out.parent, ignore_errors=True)
    print(json.dumps({"mode": mode, "preset": preset, "people": people, "days": days, "workers": workers,
                      "events": int(events), "seconds": seconds, "peak_gb": peak, "disk_gb": disk / 1024**3,
                      "cpu_s": sampler.cpu_seconds}))


def run_child(mode: str, preset: str, people: int, days: int, seed: int, workers: int) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--preset", preset, "--days", str(days), "--seed", str(seed),
           "--sizes", str(people), "--workers", str(workers)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0"})
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child for {people} people failed:\n{proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000], help="people per streamed world")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for streamed worlds (default 2)")
    parser.add_argument("--preset", default="b2c-retail")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-workshop", action="store_true", help="skip the 20,000-person in-memory world")
    parser.add_argument("--child", choices=("memory", "folder"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.preset, args.sizes[0], args.days, args.seed, args.workers)
        return 0

    jobs = [] if args.no_workshop else [("memory", WORKSHOP_PEOPLE, 1)]
    jobs += [("folder", n, args.workers) for n in args.sizes]
    print(f"{'how':<8}{'people':>11}{'workers':>8}{'events':>13}{'seconds':>9}{'CPU s':>8}{'events/s':>11}{'peak GB':>9}{'disk GB':>9}")
    rows = []
    for mode, people, workers in jobs:
        r = run_child(mode, args.preset, people, args.days, args.seed, workers)
        rows.append(r)
        print(f"{mode:<8}{people:>11,}{workers:>8}{r['events']:>13,}{r['seconds']:>9.1f}{r['cpu_s']:>8.0f}{r['events'] / r['seconds']:>11,.0f}"
              f"{r['peak_gb']:>9.2f}{r['disk_gb']:>9.2f}", flush=True)
    for r in rows:
        if r["mode"] == "memory" and r["people"] == WORKSHOP_PEOPLE:
            print(f"workshop world {r['seconds']:.2f} s (target < {TARGETS['workshop_s']:.0f} s): "
                  f"{'OK' if r['seconds'] < TARGETS['workshop_s'] else 'MISSED'}")
        if r["mode"] == "folder" and r["people"] == 1_000_000:
            print(f"1M people {r['seconds']:.1f} s (target < {TARGETS['1m_s']:.0f} s): {'OK' if r['seconds'] < TARGETS['1m_s'] else 'MISSED'}; "
                  f"peak {r['peak_gb']:.2f} GB (target < {TARGETS['1m_gb']:.0f} GB): {'OK' if r['peak_gb'] < TARGETS['1m_gb'] else 'MISSED'}")
    streamed = sorted((r for r in rows if r["mode"] == "folder"), key=lambda r: r["people"])
    for a, b in zip(streamed, streamed[1:]):
        print(f"peak memory {b['people']:,} vs {a['people']:,} people: x{b['peak_gb'] / a['peak_gb']:.2f} "
              f"(1.0 = flat); time per person x{(b['seconds'] / b['people']) / (a['seconds'] / a['people']):.2f} (1.0 = linear)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
