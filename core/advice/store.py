"""Built worlds shared by every caller, within a memory budget.

A workshop has 30 people asking one server for the same worlds and the same results, so each is
built once and shared; and a world is the memory (tens of KB per simulated person), so what is
held must have a bound that survives 30 people exploring 30 different worlds. A count of cache
entries is not such a bound: worlds differ in size, and a world stays in memory while any page
still uses it, long after a cache has let it go. The :class:`WorldStore` therefore counts every
world that is *alive* — cached, in use, or being built — and shared work in progress against one
budget in megabytes:

- a key asked for by many callers at once is built once (a lock per key; the others wait);
- before a build, cached worlds are evicted oldest first, then the build waits until worlds in
  use are released (their last reference dropped), so the *estimated* memory of live worlds
  stays within the budget. The process's resident memory can still exceed it: a build's working
  set is larger than the world it leaves, and the allocator keeps freed memory for reuse
  (measured: 30 sessions on 30 worlds peaked at 4.4 GB with a 1.3 GB budget — see
  bench/bench_ws_load.py --worlds different);
- a world the cache let go but a caller still uses is taken back instead of built twice;
- builds and shared computations run in a few slots (one per core), so 30 different worlds
  queue instead of being built at once with 30 working sets.

No Streamlit here (``core`` never imports it): the dashboard keeps one store per server
(``pages/__init__.py``), and anything else may use one too.
"""
from __future__ import annotations

import gc
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

#: KB of resident memory per simulated person over 90 days, per preset: the RSS a world adds with
#: its four views and one play's results, measured at 5,000 people (b2c-retail also at 10,000 and
#: 20,000: 234 and 508 MB), plus 10%. Omnichannel sends the most events per person.
KB_PER_PERSON = {"b2c-retail": 20.0, "omnichannel": 29.0, "b2b-saas": 19.0, "plg-saas": 16.0}
#: DuckDB connections and the views' fixed structures of one world.
FIXED_MB = 60.0


def world_mb(preset: str, people: int, days: int) -> float:
    """Estimated resident memory of a built world with its four views, in MB (30 KB per person
    for a preset not measured); events grow with the days simulated."""
    return FIXED_MB + KB_PER_PERSON.get(preset, 30.0) / 1024 * people * max(days, 30) / 90


def max_people(preset: str, days: int, budget_mb: float) -> int:
    """The largest world of this preset and length that fits in ``budget_mb``."""
    return int((budget_mb - FIXED_MB) * 1024 / KB_PER_PERSON.get(preset, 30.0) * 90 / max(days, 30))


class WorldStore:
    """Objects built once per key and shared, with every live one counted against ``budget_mb``.

    ``get(key, build, mb)`` returns the object for ``key``, building it with ``build()`` (in a
    work slot) when no live one exists; ``mb`` is its estimated memory. ``shared(key, compute,
    mb)`` does the same for results that are small once computed but need ``mb`` of working
    memory while they run (kept ``keep_values`` at a time, not counted once done).

    ``admit_wait_s`` is a safety valve: a build waits at most that long for worlds in use to be
    released, then goes over the budget rather than stall. A caller never waits for a world while
    holding another (pages ask for one world per run), so in practice the wait ends when a page
    run ends.
    """

    def __init__(self, budget_mb: float, slots: int = 2, admit_wait_s: float = 600.0,
                 keep_values: int = 16) -> None:
        self.budget_mb = float(budget_mb)
        self.admit_wait_s = admit_wait_s
        self.keep_values = keep_values
        self.slots = threading.BoundedSemaphore(slots)
        self._cond = threading.Condition(threading.RLock())
        self._cached: OrderedDict[Hashable, Any] = OrderedDict()   # least recently used first
        self._alive: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._alive_mb: dict[int, float] = {}      # id of a live object -> MB, dropped when freed
        self._reserved: dict[Hashable, float] = {}  # builds and shared work in progress
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self.builds = 0                              # how many objects were built (for tests, logs)
        self.peak_mb = 0.0                           # the most ever counted at once

    # ------------------------------------------------------------------ accounting
    def used_mb(self) -> float:
        """Estimated MB of every live object plus work in progress."""
        with self._cond:
            return sum(self._alive_mb.values()) + sum(self._reserved.values())

    def cached_keys(self) -> list:
        with self._cond:
            return list(self._cached)

    def _lock_for(self, key: Hashable) -> threading.Lock:
        with self._cond:
            return self._key_locks.setdefault(key, threading.Lock())

    def _reserve(self, key: Hashable, mb: float) -> None:
        """Evict cached objects (oldest first), then wait for live ones to be released, until
        ``mb`` more fits in the budget."""
        deadline = time.monotonic() + self.admit_wait_s
        rounds = 0
        while True:
            with self._cond:
                while self._cached and self.used_mb() + mb > self.budget_mb:
                    self._cached.popitem(last=False)  # freed now unless a caller still holds it
                fits = self.used_mb() + mb <= self.budget_mb or not (self._alive_mb or self._reserved)
                if fits or time.monotonic() > deadline:
                    self._reserved[key] = mb
                    self.peak_mb = max(self.peak_mb, self.used_mb())
                    return
                self._cond.wait(0.5)
            rounds += 1
            if rounds % 4 == 0:
                # A world released inside a reference cycle (a traceback holding a page's frame)
                # is freed only by the collector; run it outside the lock, where finalizers of
                # other threads' objects can take the lock too.
                gc.collect()

    def _release(self, key: Hashable) -> None:
        with self._cond:
            self._reserved.pop(key, None)
            self._cond.notify_all()

    def _freed(self, object_id: int) -> None:
        with self._cond:
            self._alive_mb.pop(object_id, None)
            self._cond.notify_all()

    # ------------------------------------------------------------------ objects
    def get(self, key: Hashable, build: Callable[[], Any], mb: float) -> Any:
        """The live object for ``key``, built once by whichever caller comes first."""
        with self._cond:
            if key in self._cached:
                self._cached.move_to_end(key)
                return self._cached[key]
        with self._lock_for(key):
            with self._cond:
                value = self._cached.get(key)
                if value is None:
                    value = self._alive.get(key)  # let go by the cache, still used by someone
                if value is not None:
                    self._cached[key] = value
                    self._cached.move_to_end(key)
                    return value
            self._reserve(key, mb)
            try:
                with self.slots:
                    value = build()
            finally:
                self._release(key)
            with self._cond:
                self._alive[key] = value
                self._alive_mb[id(value)] = mb
                weakref.finalize(value, self._freed, id(value))
                self._cached[key] = value
                self.builds += 1
            return value

    def shared(self, key: Hashable, compute: Callable[[], Any], mb: float = 0.0) -> Any:
        """``compute()`` once per key for every caller; ``mb`` of working memory is reserved while
        it runs. The last ``keep_values`` results are kept."""
        with self._cond:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        with self._lock_for(("shared", key)):
            with self._cond:
                if key in self._values:
                    return self._values[key]
            work = ("work", key)
            self._reserve(work, mb)
            try:
                with self.slots:
                    value = compute()
            finally:
                self._release(work)
            with self._cond:
                self._values[key] = value
                while len(self._values) > self.keep_values:
                    self._values.popitem(last=False)
            return value


__all__ = ["FIXED_MB", "KB_PER_PERSON", "WorldStore", "max_people", "world_mb"]
