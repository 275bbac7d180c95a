"""Built worlds and their computed results on disk, shared by every server process and restart.

Why: a workshop where 30 sessions ask for 30 different worlds overflowed the server's memory
budget, so worlds were let go and built again from scratch — generated, then every play run through
four views — on two cores, and again in every new server (bench/bench_ws_load.py: 42 of 270 steps
in 300 s). A world built once is now written here and read back (bench/bench_diskcache.py,
10,000 people: read in 0.33 s against 1.26 s to generate, and a play's results in 2 ms against
3.7 s to compute), by this server when memory let it go, and by every later
server. The in-memory :class:`core.advice.store.WorldStore` stays the first level; this is the
second.

What an entry is keyed by (a SHA-256 of canonical JSON; the full key is stored in the entry and
compared on every read, so a digest collision or a stale entry is rebuilt, never served):

- a world: its full :class:`synthetic.config.WorldConfig` (preset, seed, people, days, start, every
  knob and behaviour), :data:`synthetic.config.GENERATOR_VERSION`, and a fingerprint of the
  generator's source (``synthetic/``), so a changed generator never serves an old world even when
  its version was not bumped;
- a result: what the caller says it depends on (the dashboard: world config, engine, identity,
  activation and campaign settings, the play with its rules) and a fingerprint of ``core/`` and
  ``synthetic/`` — the code that computes it.

Bounded in bytes (``max_bytes``; the dashboard reads ``AUDIENCE_LAB_CACHE_MB``): after each write
the least recently used entries (by the time they were last read or written) are removed until the
folder fits, except entries another process is reading or building right now.

Safe under concurrent sessions and server processes, and across restarts:

- every entry has a lock file (``fcntl.flock``): readers hold it shared, a builder exclusive, so
  two processes (or threads) asking for the same missing key build it once — the second waits,
  then reads what the first wrote;
- an entry is written into a hidden temporary folder beside it (``.tmp-…``) with ``entry.json``
  last, then moved into place with one ``os.replace``: a reader sees the whole entry or none;
- a damaged entry (a truncated or missing file, a wrong checksum, another version's key, a file
  that does not parse) is removed and rebuilt; a cache that cannot be written (disk full, read-only)
  logs one warning and the value is returned anyway. The cache never turns into a traceback.

Formats: a world is the ordinary Parquet world folder (:func:`synthetic.io.write_world` /
:func:`~synthetic.io.read_world`). A result (frames with lists and dicts in their cells, a play,
nested dicts with timestamps) is a pickle, because only pickle gives back exactly the objects that
were computed (Parquet turns lists in cells into arrays; JSON loses timestamps and NaN). Unpickling
runs code named in the file, so the folder must be one only this user can write: it is created
``0o700``, every file ``0o600``, and a folder owned by another user or open to group or others is
refused (:class:`CacheRefused`). Whoever can write there can already run code as this user (edit
their shell profile), so loading it adds no power; a SHA-256 of each pickle recorded in
``entry.json`` also catches files damaged on disk before they are unpickled.

No Streamlit here: the dashboard keeps one per server (``pages/_worlds.py``), tests use a temporary
folder (``tests/conftest.py``).
"""
from __future__ import annotations

import dataclasses
import enum
import fcntl
import hashlib
import json
import logging
import math
import os
import pickle
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from synthetic.config import GENERATOR_VERSION, WorldConfig
from synthetic.io import process_alive
from synthetic.world import World

log = logging.getLogger(__name__)

#: Layout of an entry; bumped when the layout of entry.json or the payloads changes.
CACHE_FORMAT = 1
#: Default bound of the folder in MB. Assumed, sized from measurements on this machine: a
#: 10,000-person b2c-retail world takes 11 MB as Parquet and one play's results well under 1 MB,
#: so a workshop of 30 different worlds, each also with a knob that changes the world ("Poorly run
#: CDP"), needs about 60 x 12 MB = 0.7 GB; 2 GB keeps that room's worlds with space to spare.
DEFAULT_MB = 2048
#: Environment: where the cache lives ("off" disables it) and its bound in MB (0 disables it).
ENV_DIR, ENV_MB = "AUDIENCE_LAB_CACHE_DIR", "AUDIENCE_LAB_CACHE_MB"
_ENTRY = "entry.json"
_LOCKS = ".locks"
_TMP = ".tmp-"
_TRASH = ".trash-"
_MISSING = object()


class CacheRefused(Exception):
    """The cache folder cannot be used safely (another owner, open permissions, not a folder)."""


# --------------------------------------------------------------------------- keys
def _plain(value: Any) -> Any:
    """``value`` as JSON-able data with one spelling per value (sets sorted, dataclasses as dicts)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    text = str(value)  # timestamps, timedeltas, paths: their text is their value
    if " at 0x" in text:
        raise TypeError(f"a cache key cannot hold {type(value).__name__} (its text changes between runs)")
    return {"type": type(value).__name__, "text": text}


def canonical(key: Mapping[str, Any]) -> str:
    """The key as canonical JSON: the same key gives the same text in every process."""
    return json.dumps(_plain(key), sort_keys=True, separators=(",", ":"), allow_nan=False)


_FINGERPRINTS: dict[tuple[str, ...], str] = {}


def code_fingerprint(*packages: str) -> str:
    """SHA-256 of the Python sources of ``packages`` (folders at the repository root), computed
    once per process: results computed by other code are other entries."""
    if packages not in _FINGERPRINTS:
        root = Path(__file__).resolve().parents[2]
        digest = hashlib.sha256()
        for package in packages:
            for file in sorted((root / package).rglob("*.py")):
                digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
        _FINGERPRINTS[packages] = digest.hexdigest()[:16]
    return _FINGERPRINTS[packages]


def world_key(config: WorldConfig) -> dict[str, Any]:
    """Everything that shapes a generated world."""
    return {"config": dataclasses.asdict(config), "generator": GENERATOR_VERSION,
            "code": code_fingerprint("synthetic")}


def result_key(parts: Mapping[str, Any]) -> dict[str, Any]:
    """A computed result's key: what the caller says it depends on, and the code computing it."""
    return {"depends": dict(parts), "generator": GENERATOR_VERSION, "code": code_fingerprint("core", "synthetic")}


# --------------------------------------------------------------------------- the cache
class DiskCache:
    """Entries in ``root``, within ``max_bytes``, least recently used removed first.

    ``world(config, build)`` and ``value(kind, key, compute)`` return the entry for the key,
    building and writing it when it is missing or damaged. ``hits``, ``misses`` and ``dropped``
    (damaged entries removed) count what this object did."""

    def __init__(self, root: str | os.PathLike, max_bytes: int) -> None:
        self.root = Path(root).expanduser()
        self.max_bytes = int(max_bytes)
        self.hits = self.misses = self.dropped = self.evicted = 0
        self._prepare()

    # ------------------------------------------------------------------ folder
    def _prepare(self) -> None:
        """Create the folder private to this user, or refuse one that is not."""
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            (self.root / _LOCKS).mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise CacheRefused(f"cannot create the cache folder {self.root} ({exc.strerror or exc})") from None
        for folder in (self.root, self.root / _LOCKS):
            info = folder.lstat()
            if not stat.S_ISDIR(info.st_mode):
                raise CacheRefused(f"{folder} is not a folder (a symbolic link or a file is not used as a cache)")
            if info.st_uid != os.getuid():
                raise CacheRefused(f"the cache folder {folder} belongs to another user (uid {info.st_uid}); "
                                   f"set {ENV_DIR} to a folder of your own")
            if info.st_mode & 0o077:
                raise CacheRefused(f"the cache folder {folder} is open to other users (mode {oct(info.st_mode & 0o777)}); "
                                   f"run chmod 700 on it or set {ENV_DIR} to another folder")

    def _name(self, kind: str, key_text: str) -> str:
        return f"{kind}-{hashlib.sha256(key_text.encode()).hexdigest()[:32]}"

    @contextmanager
    def _lock(self, name: str, exclusive: bool, wait: bool = True) -> Iterator[bool]:
        """Hold the entry's lock file (shared or exclusive); yields False when ``wait`` is off and
        another holder has it. The file is checked after locking to be the one at the path, since
        an eviction may have removed it while this process waited on the old one."""
        path = self.root / _LOCKS / f"{name}.lock"
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if wait else fcntl.LOCK_NB)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                try:
                    fcntl.flock(fd, mode)
                except BlockingIOError:
                    yield False
                    return
                try:
                    same = os.fstat(fd).st_ino == os.stat(path).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    yield True
                    return
            finally:
                os.close(fd)  # closing releases the lock

    # ------------------------------------------------------------------ public
    def world(self, config: WorldConfig, build: Callable[[], World]) -> World:
        """The world of ``config``: read from its Parquet folder, or ``build()`` and written."""
        from synthetic.io import read_world, write_world

        def write(folder: Path, world: World) -> None:
            write_world(world, folder / "world")

        return self._get("world", world_key(config), build, write, lambda folder: read_world(folder / "world"))

    def value(self, kind: str, key: Mapping[str, Any], compute: Callable[[], Any]) -> Any:
        """A computed result (any picklable value) for ``key``, or ``compute()`` and written."""
        def write(folder: Path, value: Any) -> None:
            with open(folder / "value.pickle", "wb", opener=_private) as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)

        def read(folder: Path) -> Any:
            with open(folder / "value.pickle", "rb") as fh:
                return pickle.load(fh)

        return self._get(kind, result_key(key), compute, write, read)

    def entries(self) -> list[dict[str, Any]]:
        """Every complete entry: name, bytes, last used (seconds since the epoch)."""
        out = []
        for folder in self.root.iterdir():
            if folder.name.startswith("."):
                continue
            try:
                meta = json.loads((folder / _ENTRY).read_text())
                used = (folder / _ENTRY).stat().st_mtime
                out.append({"name": folder.name, "bytes": int(meta["bytes"]), "used": used})
            except (OSError, ValueError, KeyError, TypeError):
                out.append({"name": folder.name, "bytes": _du(folder), "used": 0.0})  # damaged: first out
        return out

    def bytes_used(self) -> int:
        return sum(e["bytes"] for e in self.entries())

    # ------------------------------------------------------------------ get
    def _get(self, kind: str, key: Mapping[str, Any], produce: Callable[[], Any],
             write: Callable[[Path, Any], None], read: Callable[[Path], Any]) -> Any:
        key_text = canonical({"kind": kind, "format": CACHE_FORMAT, **key})
        name = self._name(kind, key_text)
        value, stored = _MISSING, False
        try:
            with self._lock(name, exclusive=False):
                hit = self._load(name, key_text, read)
            if hit is not _MISSING:
                return hit
            with self._lock(name, exclusive=True):
                hit = self._load(name, key_text, read)  # built by another process meanwhile
                if hit is not _MISSING:
                    return hit
                self.misses += 1
                value = produce()
                stored = self._store(name, key_text, value, write)
            if stored:
                self._evict(keep=name)
        except OSError as exc:  # the lock folder went away or the disk failed: work without the cache
            log.warning("disk cache at %s unusable (%s); computing without it", self.root, exc)
            if value is _MISSING:
                value = produce()
        return value

    def _load(self, name: str, key_text: str, read: Callable[[Path], Any]) -> Any:
        folder = self.root / name
        meta_path = folder / _ENTRY
        if not meta_path.exists():
            return _MISSING
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("key") != key_text:
                raise ValueError("written for another key or version")
            for rel, (size, digest) in meta["files"].items():
                file = folder / rel
                if file.stat().st_size != size:
                    raise ValueError(f"{rel} has {file.stat().st_size} bytes, {size} were written")
                if digest and _sha256(file) != digest:
                    raise ValueError(f"{rel} does not match its checksum")
            value = read(folder)
        except Exception as exc:  # noqa: BLE001 — any damage means: drop it and build again
            log.warning("disk cache entry %s is damaged (%s); building it again", name, str(exc)[:160])
            self.dropped += 1
            self._remove(name)
            return _MISSING
        try:
            os.utime(meta_path)  # last used: what eviction orders by
        except OSError:
            pass
        self.hits += 1
        return value

    def _store(self, name: str, key_text: str, value: Any, write: Callable[[Path, Any], None]) -> bool:
        """Write the entry beside its place and move it in; False when it was not written."""
        tmp = self.root / f"{_TMP}{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir(mode=0o700)
            write(tmp, value)
            files = {}
            for file in sorted(p for p in tmp.rglob("*") if p.is_file()):
                rel = str(file.relative_to(tmp))
                files[rel] = [file.stat().st_size, _sha256(file) if rel.endswith(".pickle") else None]
            size = sum(s for s, _ in files.values())
            if size > self.max_bytes:
                log.warning("disk cache entry %s (%d bytes) is larger than the cache's bound; not kept", name, size)
                shutil.rmtree(tmp, ignore_errors=True)
                return False
            meta = {"key": key_text, "files": files, "bytes": size, "written": time.time()}
            with open(tmp / _ENTRY, "w", opener=_private) as fh:
                json.dump(meta, fh)
                fh.flush()
                os.fsync(fh.fileno())
            self._remove(name)  # a damaged entry in the way (we hold its lock)
            os.replace(tmp, self.root / name)
            return True
        except Exception as exc:  # noqa: BLE001 — a cache that cannot be written is not an error
            log.warning("could not write disk cache entry %s (%s)", name, str(exc)[:160])
            shutil.rmtree(tmp, ignore_errors=True)
            return False

    def _remove(self, name: str) -> None:
        """Move an entry aside (one rename: readers see it or nothing), then delete it."""
        folder = self.root / name
        if not folder.exists():
            return
        trash = self.root / f"{_TRASH}{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            os.replace(folder, trash)
        except OSError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    # ------------------------------------------------------------------ bound
    def _evict(self, keep: str) -> None:
        """Remove least recently used entries until the folder fits ``max_bytes``; an entry in use
        (its lock held by a reader or builder) is skipped, the one just written kept."""
        with self._lock(".evict", exclusive=True, wait=False) as mine:
            if not mine:
                return  # another process is evicting right now
            self._sweep()
            entries = sorted(self.entries(), key=lambda e: e["used"])
            total = sum(e["bytes"] for e in entries)
            for entry in entries:
                if total <= self.max_bytes:
                    break
                if entry["name"] == keep:
                    continue
                with self._lock(entry["name"], exclusive=True, wait=False) as free:
                    if not free:
                        continue
                    self._remove(entry["name"])
                    try:
                        (self.root / _LOCKS / f"{entry['name']}.lock").unlink()
                    except OSError:
                        pass
                total -= entry["bytes"]
                self.evicted += 1

    def _sweep(self) -> None:
        """Delete temporary and trash folders left by processes that no longer run."""
        for folder in self.root.iterdir():
            if not folder.name.startswith((_TMP, _TRASH)):
                continue
            try:
                pid = int(folder.name.rsplit("-", 2)[-2])
            except (ValueError, IndexError):
                continue
            if pid != os.getpid() and not process_alive(pid):
                shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- helpers
def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _du(folder: Path) -> int:
    try:
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    except OSError:
        return 0




def default_root() -> Path:
    """``$XDG_CACHE_HOME/audience-lab`` (``~/.cache/audience-lab`` when it is not set)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "audience-lab"


def from_env(environ: Mapping[str, str] | None = None) -> DiskCache | None:
    """The cache the environment asks for: ``AUDIENCE_LAB_CACHE_DIR`` (default
    :func:`default_root`; ``off`` disables it) within ``AUDIENCE_LAB_CACHE_MB`` (default
    :data:`DEFAULT_MB`; 0 disables it). None when disabled. Raises :class:`CacheRefused` for a
    folder that is not safe to use, ValueError for a bound that is not a number."""
    env = os.environ if environ is None else environ
    where = env.get(ENV_DIR, "").strip()
    if where.lower() in ("off", "none", "0", "false"):
        return None
    raw = env.get(ENV_MB, "").strip() or str(DEFAULT_MB)
    try:
        mb = float(raw)
    except ValueError:
        raise ValueError(f"{ENV_MB} must be a number of megabytes (got {raw!r}); 0 turns the disk cache off") from None
    if not math.isfinite(mb) or mb < 0:
        raise ValueError(f"{ENV_MB} must be a number of megabytes, 0 or more (got {raw!r})")
    if mb == 0:
        return None
    return DiskCache(where or default_root(), int(mb * 2**20))


__all__ = ["CACHE_FORMAT", "CacheRefused", "DEFAULT_MB", "DiskCache", "ENV_DIR", "ENV_MB", "canonical",
           "code_fingerprint", "default_root", "from_env", "result_key", "world_key"]
