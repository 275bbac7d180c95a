"""A Spark standalone cluster on this machine — one master, one worker, both on 127.0.0.1 — started
from the pyspark package itself (its ``bin/spark-class``; nothing downloaded) and stopped again.

It is how the cluster test proves that the engine's SQL runs on a cluster and not only in local
mode, and the first step of the recipe in docs/scale.md: with the cluster up, any command runs
there by pointing ``AUDLAB_SPARK_MASTER`` at it.

    .venv/bin/python scripts/spark_cluster.py            # start, print the master URL, stop on Ctrl-C
    AUDLAB_SPARK_MASTER=spark://127.0.0.1:PORT .venv/bin/audience-lab members --engine spark ...

Everything listens on 127.0.0.1 only; both JVMs run in their own process group, so ``stop`` ends
them and every child they started, and a context manager stops them even when a test fails.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_home() -> Path:
    """The Spark distribution inside PyPI's pyspark package (``bin/spark-class`` and the jars)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


class StandaloneCluster:
    """``with StandaloneCluster() as c: ...`` — ``c.master_url`` is ``spark://127.0.0.1:PORT``.

    ``worker_cores`` and ``worker_memory`` size the one worker; the defaults fit a 2-core test
    machine beside the driver.
    """

    def __init__(self, worker_cores: int = 1, worker_memory: str = "1g", start_timeout_s: float = 120.0) -> None:
        self.worker_cores = worker_cores
        self.worker_memory = worker_memory
        self.start_timeout_s = start_timeout_s
        self.port = free_port()
        self.ui_port = free_port()
        self.master_url = f"spark://127.0.0.1:{self.port}"
        self.workdir = Path(tempfile.mkdtemp(prefix="audlab-spark-cluster-"))
        self.procs: list[subprocess.Popen] = []

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "StandaloneCluster":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(SPARK_HOME=str(spark_home()), SPARK_LOCAL_IP="127.0.0.1", SPARK_MASTER_HOST="127.0.0.1",
                   SPARK_LOG_DIR=str(self.workdir), SPARK_WORKER_DIR=str(self.workdir / "work"),
                   SPARK_NO_DAEMONIZE="1")
        return env

    def _launch(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([str(spark_home() / "bin" / "spark-class"), *args], env=self._env(),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def start(self) -> None:
        self._launch("master", [MASTER_CLASS, "--host", "127.0.0.1", "--port", str(self.port),
                                "--webui-port", str(self.ui_port)])
        self._wait(lambda: self._status() is not None, "the master to listen")
        self._launch("worker", [WORKER_CLASS, self.master_url, "--host", "127.0.0.1",
                                "--cores", str(self.worker_cores), "--memory", self.worker_memory,
                                "--webui-port", str(free_port()), "--work-dir", str(self.workdir / "work")])
        self._wait(lambda: self.alive_workers() >= 1, "the worker to register")

    def stop(self) -> None:
        """End both JVMs (their whole process groups): TERM, then KILL after 20 s; then delete the
        working folder (logs, the worker's application folders), so every run leaves nothing behind."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- what the master says ----------------------------------------------------------------
    def _status(self) -> dict | None:
        """The master's JSON status page (127.0.0.1 only), or None while it is not up."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=2) as resp:
                return json.loads(resp.read().decode())
        except (OSError, ValueError):
            return None

    def alive_workers(self) -> int:
        status = self._status() or {}
        return int(status.get("aliveworkers", 0))

    def completed_apps(self) -> list[str]:
        """Names of the applications that ran on this cluster and finished."""
        status = self._status() or {}
        return [app.get("name", "") for app in status.get("completedapps", [])]

    def running(self) -> bool:
        return any(p.poll() is None for p in self.procs)

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                break
            if ready():
                return
            time.sleep(0.5)
        logs = " | ".join((self.workdir / f"{n}.log").read_text(errors="replace")[-400:]
                          for n in ("master", "worker") if (self.workdir / f"{n}.log").exists())
        self.stop()
        raise RuntimeError(f"Spark standalone cluster: timed out waiting for {what}; logs: {logs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=1)
    parser.add_argument("--memory", default="1g")
    args = parser.parse_args()
    with StandaloneCluster(args.cores, args.memory) as cluster:
        print(f"master {cluster.master_url} (status http://127.0.0.1:{cluster.ui_port}); Ctrl-C stops it", flush=True)
        try:
            while cluster.running():
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
