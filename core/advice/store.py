"""Built worlds and the work done on them, shared by every caller within a memory budget.

A workshop has 30 people asking one server for the same worlds and the same results, so each is
built once and shared; and a world is the memory, so what is held must have a bound that survives
30 people exploring 30 different worlds. A count of cache entries is not such a bound: worlds
differ in size, and a world stays in memory while any page still uses it, long after a cache has
let it go. The :class:`WorldStore` therefore counts every world that is *alive* — cached, in use,
or being built — and shared work in progress against one budget in megabytes:

- a key asked for by many callers at once is built once (single flight: the first caller builds,
  the others wait for its result or its error);
- before a build, cached worlds are evicted oldest first, then the build waits until worlds in
  use are released (their last reference dropped), so the estimated memory of live worlds stays
  within the budget; the estimates (:data:`KB_PER_PERSON`) are resident memory measured per
  world, and an optional ``rss_mb`` guard evicts idle worlds further while the process's real
  resident memory is above it;
- freed worlds give their memory back to the operating system (``malloc_trim``; glibc keeps
  freed memory for reuse otherwise, which made a 1.3 GB budget peak at 4.4 GB resident);
- a world the cache let go but a caller still uses is taken back instead of built twice;
- builds and shared computations run in a few slots (one per core), so 30 different worlds
  queue instead of being built at once with 30 working sets;
- what is computed *from* a world (a play's results, a page's summary) lives with that world
  (:meth:`WorldStore.memo`): it is computed once, shared, and freed with the world, so it needs
  no bound of its own beyond a count per world;
- long shared work (the fit advisor) runs in a background job (:meth:`WorldStore.job`): a caller
  that stops waiting (a page rerun, a closed tab) does not cancel it for the others.
- a store may carry a second level on disk (``disk``, :class:`core.advice.diskcache.DiskCache`):
  a world memory let go, or one an earlier server built, is read back instead of built again
  (the builds the caller passes read it: :mod:`core.advice.prebuild`).

No Streamlit here (``core`` never imports it): the dashboard keeps one store per server
(``pages/_worlds.py``), and anything else may use one too.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import gc
import os
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from core.advice.scenario import Scenario
from core.advice.stacks import ENGINE_KNOBS

#: KB of resident memory per simulated person over 90 days, per preset: what one more world adds
#: to a server's RSS with its four views, identity resolution and one play's results, measured
#: with bench/bench_world_rss.py (b2c-retail at 10,000 people: 118 MB; see docs/limits.md), plus
#: 15%. Omnichannel sends the most events per person.
KB_PER_PERSON = {"b2c-retail": 12.0, "omnichannel": 17.0, "b2b-saas": 11.0, "plg-saas": 10.0}
#: DuckDB databases (one per view) and the views' fixed structures of one world.
FIXED_MB = 25.0


def world_mb(preset: str, people: int, days: int) -> float:
    """Estimated resident memory of a built world with its four views, in MB (17 KB per person
    for a preset not measured); events grow with the days simulated."""
    return FIXED_MB + KB_PER_PERSON.get(preset, 17.0) / 1024 * people * max(days, 30) / 90


def max_people(preset: str, days: int, budget_mb: float) -> int:
    """The largest world of this preset and length that fits in ``budget_mb``."""
    return int((budget_mb - FIXED_MB) * 1024 / KB_PER_PERSON.get(preset, 17.0) * 90 / max(days, 30))


def world_key(scenario: Scenario) -> Scenario:
    """The part of a scenario that decides its world and engine: preset, seed, size, world,
    identity and engine knobs (a stack's included, expanded). Activation, campaign and yardstick
    settings only change results, so scenarios that differ in them share one world."""
    world, identity, _, _ = scenario.split()
    effective = scenario.effective_settings()
    engine = {k: effective[k] for k in ENGINE_KNOBS if k in effective}
    return Scenario.make(scenario.preset, scenario.seed, scenario.people, scenario.days,
                         {**world, **identity, **engine})


# --------------------------------------------------------------------------- process memory
def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC = _libc()
_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas, as ``MALLOC_ARENA_MAX`` does at start-up.

    Why: glibc gives each thread that contends for the heap an arena of its own (up to 8 per
    core), and a freed world's memory stays in whichever arena held it; a Streamlit server runs
    every session's script in its own thread, so freed worlds are scattered over many arenas that
    ``malloc_trim`` cannot shrink well. Takes effect for arenas created afterwards (call it before
    the threads start, or set the environment variable). False where there is no glibc."""
    if _LIBC is None or not hasattr(_LIBC, "mallopt"):
        return False
    return bool(_LIBC.mallopt(_M_ARENA_MAX, int(arenas)))


def release_memory() -> None:
    """Give freed heap memory back to the operating system (glibc ``malloc_trim``; a no-op
    elsewhere). Without it the resident size stays at its high-water mark after worlds are freed."""
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def rss_mb() -> float:
    """This process's resident memory in MB (from /proc; 0 where there is none)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def nbytes(value: Any, _depth: int = 0) -> int:
    """Approximate bytes held by a result: frames, arrays and the containers around them."""
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=False).sum())
    if isinstance(value, (pd.Series, pd.Index)):
        return int(value.memory_usage(deep=False))
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if _depth > 4:
        return sys.getsizeof(value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(nbytes(v, _depth + 1) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return sys.getsizeof(value) + sum(nbytes(v, _depth + 1) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name), _depth + 1) for f in dataclasses.fields(value))
    return sys.getsizeof(value)


# --------------------------------------------------------------------------- background jobs
#: CPU priority (nice) of background jobs and the worker processes they start. Pages run at the
#: server's own priority, so on a starved machine the page a person is looking at gets the CPU
#: first. Assumed: any positive value orders them; 10 is the conventional "background" level.
BACKGROUND_NICE = 10


def _background_priority() -> None:
    """Lower the calling thread's CPU priority (Linux: nice is per thread, and processes the
    thread starts inherit it). Elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), BACKGROUND_NICE))
    except (OSError, AttributeError):
        pass


class Job:
    """Shared work running in the background: its progress, and its result once done."""

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.fraction = 0.0
        self.message = "waiting for a free slot"
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def progress(self, fraction: float, message: str) -> None:
        self.fraction, self.message = min(max(float(fraction), 0.0), 1.0), str(message)

    def wait(self, timeout: float | None = None) -> bool:
        """True once the job has finished (or failed)."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def result(self) -> Any:
        """The job's value; re-raises its error."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value

    def _finish(self, value: Any = None, error: BaseException | None = None) -> None:
        self._value, self._error = value, error
        self.fraction = 1.0
        self._done.set()


_MISSING = object()


class WorkSlots:
    """Slots for heavy work (one per core), pages first.

    A page someone is looking at must not queue behind background work (preparing a workshop's
    steps builds several worlds): background work takes a slot only while no page waits for one,
    one build or computation at a time, so a page waits at most for the piece under way."""

    def __init__(self, n: int) -> None:
        self.n = max(int(n), 1)
        self.busy = 0
        self.pages_waiting = 0
        self._cond = threading.Condition()

    def acquire(self, background: bool = False) -> None:
        with self._cond:
            if not background:
                self.pages_waiting += 1
            try:
                while self.busy >= self.n or (background and self.pages_waiting):
                    self._cond.wait()
            finally:
                if not background:
                    self.pages_waiting -= 1
            self.busy += 1

    def release(self) -> None:
        with self._cond:
            self.busy -= 1
            self._cond.notify_all()

    def __enter__(self) -> "WorkSlots":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def ahead(self) -> int:
        """How many pieces of work a page asking now would wait behind (0 = a slot is free)."""
        with self._cond:
            return max(self.busy - self.n + 1, 0) + self.pages_waiting


class WorldStore:
    """Objects built once per key and shared, with every live one counted against ``budget_mb``.

    - ``get(key, build, mb)`` returns the object for ``key``, building it with ``build()`` (in a
      work slot) when no live one exists; ``mb`` is its estimated memory.
    - ``memo(owner, key, compute)`` computes something derived from a live object once and keeps
      it as long as the owner lives (at most ``keep_per_owner`` per owner, least recently used
      dropped). The value must not refer to the owner, or the owner would never be freed.
    - ``shared(key, compute, mb)`` computes a result once for every caller; ``mb`` of working
      memory is reserved while it runs; finished values are kept within ``values_mb`` and
      ``keep_values`` (least recently used dropped).
    - ``job(key, compute, mb)`` is ``shared`` in a background thread, with progress.

    ``admit_wait_s`` is a safety valve: a build waits at most that long for worlds in use to be
    released, then goes over the budget rather than stall (counted in ``deadline_hits``, and
    :meth:`admitted_late` lets the page say so). A caller never waits for a world while holding
    another (pages ask for one world per run, and a finished page run lets go of its worlds), so
    in practice the wait ends when a page run ends; the dashboard waits a few seconds. ``rss_mb`` (optional) is the process's resident size above which idle cached worlds
    are evicted before a build even when the estimates say they fit.
    ``disk`` (optional) is the second level the callers' builds read and write
    (:class:`core.advice.diskcache.DiskCache`); the store only carries it, one per server.
    """

    def __init__(self, budget_mb: float, slots: int = 2, admit_wait_s: float = 600.0,
                 keep_values: int = 16, values_mb: float = 200.0, keep_per_owner: int = 32,
                 rss_mb: float | None = None, disk: Any = None) -> None:
        self.budget_mb = float(budget_mb)
        self.disk = disk  # second level: a DiskCache of built worlds and results, or None
        self.admit_wait_s = admit_wait_s
        self.keep_values = keep_values
        self.values_mb = float(values_mb)
        self.keep_per_owner = keep_per_owner
        self.rss_limit_mb = rss_mb
        self.slots = WorkSlots(slots)
        self._local = threading.local()             # .background: this thread runs a background job
        self._cond = threading.Condition(threading.RLock())
        self._cached: OrderedDict[Hashable, Any] = OrderedDict()   # least recently used first
        self._alive: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._alive_mb: dict[int, float] = {}      # id of a live object -> MB, dropped when freed
        self._reserved: dict[Hashable, float] = {}  # builds and shared work in progress
        self._inflight: dict[Hashable, Future] = {}  # single flight: one producer per key
        self._values: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()  # value, bytes
        self._memos: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # owner -> OrderedDict
        self._jobs: dict[Hashable, Job] = {}
        self.builds = 0                              # how many objects were built (for tests, logs)
        self.computed = 0                            # how many shared / memo values were computed
        self.peak_mb = 0.0                           # the most ever counted at once
        self.deadline_hits = 0                       # admissions that waited the whole admit_wait_s
        self.slowest_admit_s = 0.0                   # the longest any admission waited for memory
        self._late: OrderedDict[Hashable, float] = OrderedDict()  # admitted at the deadline -> MB counted then

    # ------------------------------------------------------------------ accounting
    def used_mb(self) -> float:
        """Estimated MB of every live object plus work in progress."""
        with self._cond:
            return sum(self._alive_mb.values()) + sum(self._reserved.values())

    def values_held_mb(self) -> float:
        with self._cond:
            return sum(b for _, b in self._values.values()) / 2**20

    def admitted_late(self, key: Hashable) -> float | None:
        """MB counted when ``key`` was admitted, if its build waited the whole ``admit_wait_s`` and
        went over the budget (a page says so), else None."""
        with self._cond:
            return self._late.get(key)

    def cached_keys(self) -> list:
        with self._cond:
            return list(self._cached)

    def _over_rss(self, mb: float) -> bool:
        return self.rss_limit_mb is not None and rss_mb() + mb > self.rss_limit_mb

    def _reserve(self, key: Hashable, mb: float) -> None:
        """Evict cached objects (oldest first), then wait for live ones to be released, until
        ``mb`` more fits in the budget."""
        deadline = time.monotonic() + self.admit_wait_s
        rounds = 0
        while True:
            evicted = False
            with self._cond:
                while self._cached and (self.used_mb() + mb > self.budget_mb or self._over_rss(mb)):
                    self._cached.popitem(last=False)  # freed now unless a caller still holds it
                    evicted = True
                fits = self.used_mb() + mb <= self.budget_mb or not (self._alive_mb or self._reserved)
                late = time.monotonic() > deadline
                if fits or late:
                    self._reserved[key] = mb
                    self.peak_mb = max(self.peak_mb, self.used_mb())
                    if late and not fits:
                        self.deadline_hits += 1
                        self._late[key] = self.used_mb()
                        while len(self._late) > 64:
                            self._late.popitem(last=False)
                    self.slowest_admit_s = max(self.slowest_admit_s, time.monotonic() - deadline + self.admit_wait_s)
            if evicted:
                release_memory()
            with self._cond:
                if key in self._reserved:
                    return
                if rounds:
                    self._cond.wait(0.5)
            if rounds % 4 == 0:
                # A world released inside a reference cycle (a traceback holding a page's frame)
                # is freed only by the collector: run it at once (an evicted world in a cycle
                # would otherwise cost every build a wait) and every 2 s after, outside the lock,
                # where finalizers of other threads' objects can take the lock too.
                gc.collect()
            rounds += 1

    def _release(self, key: Hashable) -> None:
        with self._cond:
            self._reserved.pop(key, None)
            self._cond.notify_all()

    def _freed(self, object_id: int) -> None:
        with self._cond:
            self._alive_mb.pop(object_id, None)
            self._cond.notify_all()
        release_memory()

    # ------------------------------------------------------------------ single flight
    def _once(self, flight: Hashable, lookup: Callable[[], Any], produce: Callable[[], Any]) -> Any:
        """``lookup()`` (under the lock) or, when it finds nothing, ``produce()`` by exactly one
        of the callers asking at once; the others wait for its value or its error."""
        while True:
            with self._cond:
                hit = lookup()
                if hit is not _MISSING:
                    return hit
                future = self._inflight.get(flight)
                mine = future is None
                if mine:
                    future = self._inflight[flight] = Future()
            if not mine:
                try:
                    return future.result()
                except _Retry:
                    continue  # the producer was interrupted (not failed): try again
            try:
                value = produce()
            except Exception as exc:
                future.set_exception(exc)
                raise
            except BaseException:
                future.set_exception(_Retry())
                raise
            else:
                future.set_result(value)
                return value
            finally:
                with self._cond:
                    self._inflight.pop(flight, None)

    # ------------------------------------------------------------------ objects
    def get(self, key: Hashable, build: Callable[[], Any], mb: float) -> Any:
        """The live object for ``key``, built once by whichever caller comes first."""
        def lookup():
            value = self._cached.get(key)
            if value is None:
                value = self._alive.get(key)  # let go by the cache, still used by someone
            if value is None:
                return _MISSING
            self._cached[key] = value
            self._cached.move_to_end(key)
            return value

        def produce():
            self._reserve(key, mb)
            try:
                with self._slot():
                    value = build()
            except BaseException:
                self._release(key)
                raise
            with self._cond:
                # the reservation turns into the live world in one step: released first, a waiting
                # build would see the memory as free and both would count (a race seen in CI)
                self._reserved.pop(key, None)
                self._alive[key] = value
                self._alive_mb[id(value)] = mb
                weakref.finalize(value, self._freed, id(value))
                self._cached[key] = value
                self.builds += 1
                self.peak_mb = max(self.peak_mb, self.used_mb())
                self._cond.notify_all()
            return value

        return self._once(("get", key), lookup, produce)

    def memo(self, owner: Any, key: Hashable, compute: Callable[[], Any], slot: bool = False) -> Any:
        """``compute()`` once per (owner, key) for every caller, kept while ``owner`` lives.

        ``slot`` runs it in a work slot (heavy work: a play through four views)."""
        def lookup():
            table = self._memos.get(owner)
            if table is None or key not in table:
                return _MISSING
            table.move_to_end(key)
            return table[key]

        def produce():
            if slot:
                with self._slot():
                    value = compute()
            else:
                value = compute()
            with self._cond:
                table = self._memos.get(owner)
                if table is None:
                    table = self._memos[owner] = OrderedDict()
                table[key] = value
                while len(table) > self.keep_per_owner:
                    table.popitem(last=False)
                self.computed += 1
            return value

        return self._once(("memo", id(owner), key), lookup, produce)

    def shared(self, key: Hashable, compute: Callable[[], Any], mb: float = 0.0) -> Any:
        """``compute()`` once per key for every caller; ``mb`` of working memory is reserved while
        it runs. Finished values are kept within ``keep_values`` and ``values_mb``."""
        def lookup():
            if key not in self._values:
                return _MISSING
            self._values.move_to_end(key)
            return self._values[key][0]

        def produce():
            work = ("work", key)
            self._reserve(work, mb)
            try:
                with self._slot():
                    value = compute()
            finally:
                self._release(work)
            self._keep(key, value)
            return value

        return self._once(("shared", key), lookup, produce)

    def _keep(self, key: Hashable, value: Any) -> None:
        size = nbytes(value)
        with self._cond:
            self._values[key] = (value, size)
            self.computed += 1
            while len(self._values) > 1 and (len(self._values) > self.keep_values
                                             or self.values_held_mb() > self.values_mb):
                self._values.popitem(last=False)

    def job(self, key: Hashable, compute: Callable[[Callable[[float, str], None]], Any], mb: float = 0.0,
            background: bool = False) -> Job:
        """Start ``compute(progress)`` once per key in a background thread, or join the one
        running; a finished value is kept like :meth:`shared`'s. A failed job is forgotten, so
        asking again retries it.

        ``background`` is for work nobody is watching yet (preparing a workshop's steps): it runs
        at a lower CPU priority and holds no slot of its own; each build or computation it asks
        the store for waits behind every page waiting for a slot. A job
        a page waits for (the fit advisor) is not background: lowering it starved it behind every
        other process on a busy machine."""
        with self._cond:
            if key in self._values:
                self._values.move_to_end(key)
                done = Job(key)
                done._finish(self._values[key][0])
                return done
            running = self._jobs.get(key)
            if running is not None:
                return running
            job = self._jobs[key] = Job(key)

        def work() -> None:
            if background:
                # no slot of its own: each build or computation it asks for waits for a slot as
                # background work (behind every waiting page), one at a time
                _background_priority()
                self._local.background = True
            try:
                self._reserve(("job", key), mb)
                try:
                    if not background:
                        self.slots.acquire()
                    try:
                        job.progress(0.0, "starting")
                        value = compute(job.progress)
                    finally:
                        if not background:
                            self.slots.release()
                finally:
                    self._release(("job", key))
                self._keep(key, value)
                job._finish(value)
            except BaseException as exc:  # handed to every waiter; the job thread ends here
                job._finish(error=exc)
            finally:
                with self._cond:
                    self._jobs.pop(key, None)

        threading.Thread(target=work, name=f"store-job-{hash(key) & 0xffff:x}", daemon=True).start()
        return job


    @contextmanager
    def _slot(self):
        """A work slot for the calling thread: a background job's thread waits behind pages."""
        background = getattr(self._local, "background", False)
        self.slots.acquire(background=background)
        try:
            yield
        finally:
            self.slots.release()


class _Retry(Exception):
    """The producer of a single-flight value was interrupted; a waiter produces it instead."""


__all__ = ["FIXED_MB", "KB_PER_PERSON", "Job", "WorkSlots", "WorldStore", "limit_malloc_arenas", "max_people", "nbytes",
           "release_memory", "rss_mb", "world_key", "world_mb"]
