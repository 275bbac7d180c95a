"""The shared world store: 30 callers asking for one world build it once, and the memory of live
worlds — cached, in use or being built — never passes the budget, however many different worlds
are asked for at once."""
from __future__ import annotations

import threading
import time

import pytest

from core.advice.store import KB_PER_PERSON, WorldStore, max_people, world_mb


class Blob:
    """A stand-in world that counts how many instances are alive."""

    alive = 0
    lock = threading.Lock()

    def __init__(self, name: str) -> None:
        self.name = name
        with Blob.lock:
            Blob.alive += 1

    def __del__(self) -> None:
        with Blob.lock:
            Blob.alive -= 1


def builder(name: str, seconds: float = 0.05):
    def build():
        time.sleep(seconds)
        return Blob(name)
    return build


def test_many_callers_asking_at_once_build_once():
    store = WorldStore(budget_mb=10, slots=2)
    got, barrier = [], threading.Barrier(30)

    def ask():
        barrier.wait()
        got.append(store.get("default", builder("default", 0.3), mb=1))

    threads = [threading.Thread(target=ask) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert store.builds == 1 and len(got) == 30 and len({id(g) for g in got}) == 1


def test_live_worlds_never_pass_the_budget_with_thirty_different_worlds():
    """Each caller holds its world while it 'renders' (a page run), as a Streamlit session does."""
    store = WorldStore(budget_mb=3, slots=2, admit_wait_s=30)
    before, peak = Blob.alive, []

    def session(i: int):
        world = store.get(f"seed-{i}", builder(f"seed-{i}", 0.02), mb=1)
        with Blob.lock:
            peak.append(Blob.alive - before)
        time.sleep(0.05)  # the page uses it
        name = world.name
        del world
        assert name == f"seed-{i}"

    threads = [threading.Thread(target=session, args=(i,)) for i in range(30)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert store.builds == 30 and time.monotonic() - started < 20  # nobody waited for the safety valve
    assert store.peak_mb <= 3 and max(peak) <= 3


def test_a_world_in_use_is_taken_back_not_built_twice():
    store = WorldStore(budget_mb=2, slots=1, admit_wait_s=0.5)
    held = store.get("a", builder("a"), mb=1)
    store.get("b", builder("b"), mb=1)
    store.get("c", builder("c"), mb=1)  # evicts "a" from the cache; the caller still holds it
    assert "a" not in store.cached_keys()
    again = store.get("a", builder("a"), mb=1)
    assert again is held and store.builds == 3


def test_a_released_world_is_freed_and_rebuilt_when_asked_again():
    store = WorldStore(budget_mb=1, slots=1)
    store.get("a", builder("a"), mb=1)
    alive = Blob.alive
    store.get("b", builder("b"), mb=1)  # "a" is held by nobody: evicting frees it
    assert Blob.alive == alive and store.used_mb() == pytest.approx(1)
    store.get("a", builder("a"), mb=1)
    assert store.builds == 3


def test_shared_work_runs_once_and_reserves_its_memory_while_it_runs():
    store = WorldStore(budget_mb=5, slots=2)
    seen, calls = [], []

    def compute():
        calls.append(1)
        seen.append(store.used_mb())
        time.sleep(0.2)
        return {"advice": "hybrid"}

    results = []
    threads = [threading.Thread(target=lambda: results.append(store.shared("answers", compute, mb=2)))
               for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and seen == [2] and store.used_mb() == 0
    assert all(r is results[0] for r in results)


def test_a_failed_build_releases_its_reservation():
    store = WorldStore(budget_mb=1, slots=1)

    def broken():
        raise ValueError("bad knob")

    with pytest.raises(ValueError):
        store.get("x", broken, mb=1)
    assert store.used_mb() == 0
    assert store.get("y", builder("y"), mb=1).name == "y"


def test_world_size_estimates():
    assert world_mb("omnichannel", 5000, 90) > world_mb("b2c-retail", 5000, 90) > world_mb("plg-saas", 5000, 90)
    assert world_mb("b2c-retail", 20_000, 90) > 2 * world_mb("b2c-retail", 10_000, 90) - 100
    assert world_mb("b2c-retail", 10_000, 180) > world_mb("b2c-retail", 10_000, 90)
    for preset in KB_PER_PERSON:
        most = max_people(preset, 90, 1300)
        assert world_mb(preset, most, 90) <= 1300 < world_mb(preset, most + 100, 90)


# ------------------------------------------------------------------ pages first (issue 23)
def test_a_waiting_page_builds_before_background_work():
    """Preparing the workshop's steps in the background never makes a page wait behind it: with
    the only slot busy, a page that asks after the background job still builds first."""
    store = WorldStore(budget_mb=100, slots=1)
    order: list[str] = []
    first_started, let_first_finish = threading.Event(), threading.Event()

    def first_build():
        first_started.set()
        let_first_finish.wait(10)
        order.append("page A")
        return Blob("a")

    a = threading.Thread(target=lambda: store.get("a", first_build, 1))
    a.start()
    first_started.wait(10)
    job = store.job("prepare", lambda tick: store.get("bg", lambda: order.append("background") or Blob("bg"), 1),
                    background=True)
    time.sleep(0.2)  # the background build now waits for the slot
    b = threading.Thread(target=lambda: store.get("b", lambda: order.append("page B") or Blob("b"), 1))
    b.start()
    while not store.slots.pages_waiting:
        time.sleep(0.01)
    let_first_finish.set()
    job.result(), a.join(10), b.join(10)
    assert order == ["page A", "page B", "background"]


def test_background_work_waits_while_a_page_waits():
    slots = __import__("core.advice.store", fromlist=["WorkSlots"]).WorkSlots(1)
    slots.acquire()                      # a page builds
    got: list[str] = []
    page = threading.Thread(target=lambda: (slots.acquire(), got.append("page"), slots.release()))
    page.start()
    while not slots.pages_waiting:
        time.sleep(0.01)
    job = threading.Thread(target=lambda: (slots.acquire(background=True), got.append("job"), slots.release()))
    job.start()
    time.sleep(0.1)
    slots.release()
    page.join(5), job.join(5)
    assert got == ["page", "job"]


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="per-thread priority is Linux's")
def test_background_jobs_run_at_a_lower_cpu_priority():
    import os
    store = WorldStore(budget_mb=10, slots=1)
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    job = store.job("nice", lambda tick: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), background=True)
    assert job.result() >= max(mine, 10)
    watched = store.job("watched", lambda tick: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    assert watched.result() == mine, "a job a page waits for keeps the server's priority"
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine, "the caller's priority is unchanged"


def test_a_page_sees_how_much_work_is_ahead_of_it():
    """The spinner's queue position: 0 with a free slot, then one per busy slot beyond the
    last and one per page already waiting."""
    from core.advice.store import WorkSlots
    slots = WorkSlots(1)
    assert slots.ahead() == 0
    slots.acquire()
    assert slots.ahead() == 1
    waiter = threading.Thread(target=lambda: (slots.acquire(), slots.release()))
    waiter.start()
    while not slots.pages_waiting:
        time.sleep(0.01)
    assert slots.ahead() == 2
    slots.release()
    waiter.join(5)
    assert slots.ahead() == 0
