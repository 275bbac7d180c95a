"""Write a world folder so that an interruption — an error, Ctrl-C or ``kill -9`` — leaves the old folder or nothing.

Everything is written into a hidden sibling ``.import-<pid>-<random>`` and moved into place with
two renames at the end (old folder aside, new folder in, old folder deleted). A rename is atomic on
one file system, so at every instant the target is either the complete old world, absent (between
the two renames), or the complete new world; ``world.json`` is written last, so a staging folder
is never mistaken for a world. A process killed with ``-9`` cannot clean up, so each new import
first removes staging folders whose process no longer runs.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from core.errors import UserError
from synthetic import io as synthetic_io

PREFIX = ".import-"
_STAGE = re.compile(r"^\.import-(\d+)-")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_stale(parent: Path) -> list[Path]:
    """Delete staging folders left by import processes that are gone (killed mid-import)."""
    return synthetic_io.remove_stale(parent, _STAGE)


def check_target(out: Path, what: str = "the imported world") -> None:
    """Refuse a target that is a file, or a non-empty folder that is not a world (never clobber data)."""
    if out.exists() and not out.is_dir():
        raise UserError(f"cannot write {what} to {out}: it is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "world.json").exists():
        raise UserError(f"cannot write {what} to {out}: the folder is not empty and holds no world.json")


@contextmanager
def staged_folder(out: str | os.PathLike, what: str = "the imported world") -> Iterator[Path]:
    """Yield an empty staging folder; on a clean exit it replaces ``out``, on any exception it vanishes."""
    target = Path(out)
    check_target(target, what)
    parent = target.resolve().parent
    existing = next(p for p in (parent, *parent.parents) if p.exists())
    if not existing.is_dir():
        raise UserError(f"cannot write {what} to {target}: {existing} is a file, not a folder")
    created = None if existing == parent else existing / parent.relative_to(existing).parts[0]
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale(parent)
        stage = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=parent))
        os.chmod(stage, 0o777 & ~_umask())  # mkdtemp makes it private; the world folder should not be
    except OSError as exc:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise UserError(f"cannot write {what} to {target}: {exc.strerror or exc}") from None
    try:
        yield stage
        _swap(stage, target, parent)
    except BaseException as exc:
        shutil.rmtree(stage, ignore_errors=True)
        if created is not None and not target.exists():
            shutil.rmtree(created, ignore_errors=True)
        if isinstance(exc, OSError):
            raise UserError(f"cannot write {what} to {target}: {exc.strerror or exc}") from None
        raise


def _swap(stage: Path, target: Path, parent: Path) -> None:
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-old-", dir=parent))
        os.rmdir(old)
        os.replace(target, old)
    os.replace(stage, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
