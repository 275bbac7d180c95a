"""The engine's SQL on a real Spark cluster, not only in local mode: a standalone master and one
worker started on 127.0.0.1 from the pyspark package itself (scripts/spark_cluster.py), the
``members`` command pointed at it with ``AUDLAB_SPARK_MASTER``, and the same members as the
in-process DuckDB engine. The test stops what it started, and checks that it did.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli.main import main
from core.engine.plays import PLAYS
from core.engine.spark import spark_available
from scripts.spark_cluster import StandaloneCluster
from synthetic.config import WorldConfig
from synthetic.io import generate_to_folder

pytestmark = [pytest.mark.spark, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_members_on_a_standalone_cluster_equal_duckdb(tmp_path, capsys):
    reason = spark_available()
    if reason:
        pytest.skip(reason)
    world = tmp_path / "world"
    generate_to_folder(WorldConfig(preset="b2c-retail", seed=5, people=1500), world)
    # two views (identity resolution on the cluster for the CDP; the CRM's recorded fields), one driver each
    cases = [("cart-abandonment", "cdp", "2026-10-20T00:00:00Z"), ("win-back", "crm", "2026-10-15T12:00:00Z")]
    expected = {}
    for play, view, as_of in cases:
        path = tmp_path / f"{play}-{view}.json"
        path.write_text(PLAYS[play].rule(view).to_json())
        assert main(["members", "--world", str(world), "--rule", str(path), "--view", view, "--as-of", as_of]) == 0
        expected[(play, view)] = capsys.readouterr().out
        assert expected[(play, view)].count("\n") > 5, "a test on empty audiences would prove nothing"

    with StandaloneCluster(worker_cores=1, worker_memory="1g") as cluster:
        assert cluster.alive_workers() == 1
        env = dict(os.environ, AUDLAB_SPARK_MASTER=cluster.master_url, AUDLAB_SPARK_MEMORY="1g",
                   PYTHONPATH=str(ROOT))
        for play, view, as_of in cases:
            out = subprocess.run(
                [sys.executable, "-m", "core.cli.main", "members", "--world", str(world), "--rule",
                 str(tmp_path / f"{play}-{view}.json"), "--view", view, "--as-of", as_of, "--engine", "spark"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
            assert out.returncode == 0, out.stderr[-2000:]
            assert out.stdout == expected[(play, view)], f"{play} on {view}: the cluster's members differ"
        # the work ran on the cluster (each command registered an application there), not in local mode
        assert len(cluster.completed_apps()) == len(cases)
        ports = (cluster.port, cluster.ui_port)
    assert not cluster.running()
    assert not any(_port_open(p) for p in ports)
    assert not cluster.workdir.exists()  # logs and application folders gone with the cluster
