"""Worlds built once: the disk cache of built worlds and results (core/advice/diskcache.py).

A world is read back instead of built again only when everything that shapes it is the same; the
folder stays within its bound, least recently used out first; two processes asking for the same
missing world build it once; a damaged entry is rebuilt, never a traceback; a new server (a new
cache object on the same folder) reuses what an earlier one built; and the dashboard's figures are
the same with the cache on and off."""
from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import time
from pathlib import Path

import pandas as pd
import pytest

import core.advice.diskcache as dc
from core.advice.diskcache import CacheRefused, DiskCache, from_env
from core.advice.prebuild import result_parts, scenario_results, scenario_world, warm
from core.advice.scenario import Scenario, build_engine, build_world, default_play
from synthetic import generate, preset_config
from synthetic.config import knob_specs

TINY = dict(seed=3, people=300, days=30)


class Counter:
    """A build that counts its calls."""

    def __init__(self, make):
        self.calls, self.make = 0, make

    def __call__(self):
        self.calls += 1
        return self.make()


def tiny_config(**overrides):
    return preset_config("b2c-retail", overrides=overrides, **TINY)


@pytest.fixture()
def cache(tmp_path):
    return DiskCache(tmp_path / "cache", 64 * 2**20)


# --------------------------------------------------------------------------- keys
def test_every_world_knob_seed_size_and_preset_gives_another_key():
    base = tiny_config()
    keys = {dc.canonical(dc.world_key(base))}
    for name, spec in knob_specs().items():
        lo, hi = spec.metadata["range"]
        current = getattr(base.knobs if hasattr(base.knobs, name) else base.behaviour, name)
        other = (lo if current != lo else hi) if lo is not None and hi is not None else current + 1
        keys.add(dc.canonical(dc.world_key(dataclasses.replace(
            base, **{("knobs" if hasattr(base.knobs, name) else "behaviour"):
                     dataclasses.replace(base.knobs if hasattr(base.knobs, name) else base.behaviour, **{name: other})}))))
    for change in (dict(seed=4), dict(people=301), dict(days=31), dict(preset="omnichannel"),
                   dict(start="2026-09-01T00:00:00+00:00")):
        keys.add(dc.canonical(dc.world_key(dataclasses.replace(base, **change))))
    assert len(keys) == 1 + len(knob_specs()) + 5


def test_a_world_is_read_back_only_for_the_same_config_and_generator(cache, monkeypatch):
    build = Counter(lambda: generate(tiny_config()))
    first = cache.world(tiny_config(), build)
    again = cache.world(tiny_config(), build)
    assert build.calls == 1 and cache.hits == 1
    pd.testing.assert_frame_equal(first.events, again.events)

    changed = Counter(lambda: generate(tiny_config(coverage_web=0.5)))
    cache.world(tiny_config(coverage_web=0.5), changed)
    assert changed.calls == 1  # one knob moved: another world

    monkeypatch.setattr(dc, "GENERATOR_VERSION", "99.0.0")
    newer = Counter(lambda: generate(tiny_config()))
    cache.world(tiny_config(), newer)
    assert newer.calls == 1  # a world of another generator version is never served


def test_results_of_other_code_are_other_entries(cache, monkeypatch):
    compute = Counter(lambda: {"x": 1})
    cache.value("results", {"play": "a"}, compute)
    cache.value("results", {"play": "a"}, compute)
    assert compute.calls == 1
    monkeypatch.setitem(dc._FINGERPRINTS, ("core", "synthetic"), "changed-code")
    cache.value("results", {"play": "a"}, compute)
    assert compute.calls == 2


# --------------------------------------------------------------------------- bound
def test_the_folder_stays_within_its_bytes_least_recently_used_out_first(tmp_path):
    cache = DiskCache(tmp_path / "c", 350_000)
    blob = lambda tag: (lambda: tag.encode() * 100_000)  # noqa: E731 — about 100 KB each
    for tag in ("a", "b", "c"):
        cache.value("r", {"k": tag}, blob(tag))
        time.sleep(0.02)
    cache.value("r", {"k": "a"}, blob("a"))  # read: "a" is now the most recently used
    time.sleep(0.02)
    cache.value("r", {"k": "d"}, blob("d"))  # over the bound: "b" (least recently used) goes
    assert cache.bytes_used() <= 350_000 and cache.evicted == 1
    again = Counter(blob("x"))
    for tag in ("a", "c", "d"):
        cache.value("r", {"k": tag}, again)
    assert again.calls == 0
    cache.value("r", {"k": "b"}, again)
    assert again.calls == 1


def test_an_entry_larger_than_the_bound_is_returned_but_not_kept(tmp_path):
    cache = DiskCache(tmp_path / "c", 10_000)
    assert cache.value("r", {"k": 1}, lambda: b"x" * 50_000) == b"x" * 50_000
    assert cache.entries() == []


# --------------------------------------------------------------------------- processes
def _slow_build(root: str, counter: str, start) -> int:
    start.wait(30)

    def build():
        with open(counter, "a") as fh:
            fh.write("built\n")
        time.sleep(0.5)  # long enough that the other process asks while this one builds
        return list(range(1000))

    return len(DiskCache(root, 2**20).value("r", {"k": "shared"}, build))


def test_two_processes_asking_for_the_same_key_build_it_once(tmp_path):
    ctx = multiprocessing.get_context("fork")
    counter, start = tmp_path / "builds.txt", ctx.Event()
    procs = [ctx.Process(target=_slow_build, args=(str(tmp_path / "c"), str(counter), start)) for _ in range(2)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    assert counter.read_text().count("built") == 1
    assert DiskCache(tmp_path / "c", 2**20).value("r", {"k": "shared"}, lambda: None) == list(range(1000))


def test_sessions_asking_at_once_in_one_server_build_once(cache):
    """Threads too (each session's page run is one): the file lock is per open file, not per process."""
    import threading

    build = Counter(lambda: (time.sleep(0.3), [1, 2, 3])[1])
    barrier, got = threading.Barrier(8), []

    def ask():
        barrier.wait()
        got.append(cache.value("r", {"k": "once"}, build))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert build.calls == 1 and got == [[1, 2, 3]] * 8


def test_an_entry_another_server_is_reading_is_not_evicted_under_it(tmp_path):
    import fcntl

    cache = DiskCache(tmp_path / "c", 250_000)
    cache.value("r", {"k": "old"}, lambda: b"o" * 100_000)
    (old,) = cache.entries()
    time.sleep(0.02)
    with open(cache.root / ".locks" / f"{old['name']}.lock", "a") as reading:
        fcntl.flock(reading, fcntl.LOCK_SH)  # another process is reading it right now
        cache.value("r", {"k": "new1"}, lambda: b"a" * 100_000)
        cache.value("r", {"k": "new2"}, lambda: b"b" * 100_000)
        assert old["name"] in {e["name"] for e in cache.entries()}
    cache.value("r", {"k": "new3"}, lambda: b"c" * 100_000)  # read finished: now it can go
    assert old["name"] not in {e["name"] for e in cache.entries()} and cache.bytes_used() <= 250_000


def test_a_new_cache_on_the_same_folder_reuses_what_an_earlier_one_built(tmp_path):
    DiskCache(tmp_path / "c", 64 * 2**20).world(tiny_config(), lambda: generate(tiny_config()))
    later = DiskCache(tmp_path / "c", 64 * 2**20)  # a restarted server
    build = Counter(lambda: generate(tiny_config()))
    world = later.world(tiny_config(), build)
    assert build.calls == 0 and later.hits == 1 and len(world.people) == TINY["people"]


# --------------------------------------------------------------------------- damage
def _entry(cache: DiskCache) -> Path:
    (entry,) = [cache.root / e["name"] for e in cache.entries()]
    return entry


def test_a_truncated_world_file_is_dropped_and_built_again(cache, caplog):
    cache.world(tiny_config(), lambda: generate(tiny_config()))
    part = sorted((_entry(cache) / "world" / "events").glob("*.parquet"))[0]
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    build = Counter(lambda: generate(tiny_config()))
    world = cache.world(tiny_config(), build)
    assert build.calls == 1 and cache.dropped == 1 and len(world.people) == TINY["people"]
    assert "damaged" in caplog.text
    assert cache.world(tiny_config(), build) is not None and build.calls == 1  # the rebuilt entry is good


def test_a_damaged_or_foreign_result_is_rebuilt_never_a_traceback(cache):
    cache.value("r", {"k": 1}, lambda: {"a": 1})
    pickled = _entry(cache) / "value.pickle"
    pickled.write_bytes(b"\x80\x05garbage" + pickled.read_bytes()[10:])  # same size, wrong bytes
    assert cache.value("r", {"k": 1}, lambda: {"a": 2}) == {"a": 2}
    meta_path = _entry(cache) / "entry.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "key": meta["key"].replace('"format":1', '"format":0')}))
    assert cache.value("r", {"k": 1}, lambda: {"a": 3}) == {"a": 3}
    meta_path = _entry(cache) / "entry.json"
    meta_path.write_text("{not json")
    assert cache.value("r", {"k": 1}, lambda: {"a": 4}) == {"a": 4}
    assert cache.dropped == 3


def test_a_half_written_entry_is_never_seen_and_is_swept(cache):
    leftover = cache.root / ".tmp-r-deadbeef-999999999-abcd1234"  # a writer killed mid-write (no such pid)
    leftover.mkdir()
    (leftover / "value.pickle").write_bytes(b"half")
    assert cache.entries() == []
    cache.value("r", {"k": 1}, lambda: 1)
    assert not leftover.exists()


# --------------------------------------------------------------------------- folder
def test_a_folder_other_users_can_open_is_refused(tmp_path):
    open_folder = tmp_path / "shared"
    open_folder.mkdir(mode=0o777)
    os.chmod(open_folder, 0o777)
    with pytest.raises(CacheRefused, match="open to other users"):
        DiskCache(open_folder, 2**20)
    made = DiskCache(tmp_path / "new" / "cache", 2**20)
    assert made.root.stat().st_mode & 0o777 == 0o700


def test_the_environment_moves_bounds_or_turns_off_the_cache(tmp_path, monkeypatch):
    assert from_env({"AUDIENCE_LAB_CACHE_DIR": "off"}) is None
    assert from_env({"AUDIENCE_LAB_CACHE_DIR": str(tmp_path / "c"), "AUDIENCE_LAB_CACHE_MB": "0"}) is None
    cache = from_env({"AUDIENCE_LAB_CACHE_DIR": str(tmp_path / "c"), "AUDIENCE_LAB_CACHE_MB": "5"})
    assert cache.root == tmp_path / "c" and cache.max_bytes == 5 * 2**20
    with pytest.raises(ValueError, match="AUDIENCE_LAB_CACHE_MB"):
        from_env({"AUDIENCE_LAB_CACHE_DIR": str(tmp_path / "c"), "AUDIENCE_LAB_CACHE_MB": "lots"})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert dc.default_root() == tmp_path / "xdg" / "audience-lab"


# --------------------------------------------------------------------------- the dashboard's path
def test_the_dashboard_path_gives_the_same_results_with_the_cache_on_and_off(tmp_path):
    s = Scenario.make("b2c-retail", 11, 1500, 45)
    p = default_play(s.preset)
    cold = result_parts(build_engine(s, build_world(s)), s, p)  # no cache at all

    warm(DiskCache(tmp_path / "c", 64 * 2**20), [(s, p)])        # a facilitator warmed it (another object)
    cache = DiskCache(tmp_path / "c", 64 * 2**20)
    world = scenario_world(cache, s)
    read = scenario_results(cache, build_engine(s, world), s, p)
    assert cache.hits == 2 and cache.misses == 0

    assert read.keys() == cold.keys()
    for name in ("truth", "freshness", "curves", "lift", "overlap_series"):
        pd.testing.assert_frame_equal(read[name], cold[name])
    for model in cold["members"]:
        pd.testing.assert_frame_equal(read["members"][model], cold["members"][model])
        pd.testing.assert_frame_equal(read["active"][model], cold["active"][model])
    assert read["overlap_mid"] == cold["overlap_mid"] and read["play"] == cold["play"]
    # and what is computed on the world read back is what the generated world gives
    recomputed = result_parts(build_engine(s, world), s, p)
    pd.testing.assert_frame_equal(recomputed["freshness"], cold["freshness"])
    pd.testing.assert_frame_equal(recomputed["lift"], cold["lift"])


def test_a_warmed_link_and_its_ops_button_open_in_the_dashboard_without_building(tmp_path, monkeypatch):
    """``audience-lab warm`` builds what the pages ask for, under the same keys: the room's pages
    then read every world and result from disk (a later server), the knob change included."""
    from streamlit.testing.v1 import AppTest

    import pages._worlds as worlds
    from core.advice.store import WorldStore
    from core.cli.main import main

    monkeypatch.setenv("AUDIENCE_LAB_CACHE_DIR", str(tmp_path / "c"))
    assert main(["warm", "?seed=5&people=500&days=30", "--ops", "cdp=poorly-run"]) == 0
    assert main(["warm", "--seeds", "many"]) == 2
    store = WorldStore(2000, slots=2, admit_wait_s=20, disk=DiskCache(tmp_path / "c", 64 * 2**20))
    monkeypatch.setattr(worlds, "_store", lambda: store)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300)
    at.query_params.update({"seed": "5", "people": "500", "days": "30"})
    at.run()
    at.switch_page("pages/4_Freshness.py").run()
    at.switch_page("pages/1_Scenario.py").run()
    next(b for b in at.button if b.label == "Poorly run CDP").click().run()
    at.switch_page("pages/4_Freshness.py").run()
    assert not at.exception, at.exception
    assert store.builds == 2 and store.disk.misses == 0 and store.disk.hits == 4  # two worlds, two results


def test_a_server_whose_cache_folder_is_unsafe_runs_without_it_and_says_why(tmp_path, monkeypatch, caplog):
    import pages._worlds as worlds

    open_folder = tmp_path / "shared"
    open_folder.mkdir()
    os.chmod(open_folder, 0o777)
    monkeypatch.setenv("AUDIENCE_LAB_CACHE_DIR", str(open_folder))
    assert worlds._disk_cache() is None
    assert "disk cache off" in caplog.text and "open to other users" in caplog.text
    monkeypatch.setenv("AUDIENCE_LAB_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("AUDIENCE_LAB_CACHE_MB", "-3")
    assert worlds._disk_cache() is None and "AUDIENCE_LAB_CACHE_MB" in caplog.text
    monkeypatch.setenv("AUDIENCE_LAB_CACHE_MB", "64")
    assert worlds._disk_cache().root == tmp_path / "mine"
