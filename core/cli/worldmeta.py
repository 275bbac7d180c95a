"""What a world folder recorded about how it was made — the stack profiles and ops levels
``generate`` wrote into ``world.json`` — and what commands on that world do with it (check that a
``--stack`` agrees with the world, the engine settings of its profiles).

Shared by ``generate``, ``members`` and ``compare``, so that no command module imports another.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

from core.errors import UserError

def recorded_stacks(world_dir: str | os.PathLike) -> dict[str, str]:
    """The profiles ``generate --stack`` recorded in a world folder (empty when none)."""
    from synthetic.io import recorded

    return recorded(world_dir, "stacks")


def record_stacks(world_dir: str | os.PathLike, stacks: Mapping[str, str]) -> None:
    """Add ``"stacks": {role: name}`` to a written world's ``world.json`` (see :func:`record_meta`)."""
    record_meta(world_dir, {"stacks": dict(stacks)})


def record_meta(world_dir: str | os.PathLike, entries: Mapping[str, Any]) -> None:
    """Add ``entries`` (the stacks and ops levels a world was made with) to its ``world.json``, atomically.

    The generator offers no metadata hook, so the CLI rewrites the file after the world is in
    place: a sibling temporary file, then ``os.replace`` — a reader sees the old or the new file,
    never half of one. (If the process dies between the world's swap and this replace, the world
    is complete and only the names are missing.)"""
    path = Path(world_dir) / "world.json"
    try:
        meta = json.loads(path.read_text())
        meta.update({key: dict(value) for key, value in entries.items()})
        fd, tmp = tempfile.mkstemp(prefix=".world.json-", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(json.dumps(meta, indent=2, sort_keys=True))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except (OSError, ValueError) as exc:
        raise UserError(f"the world is written, but the stacks and ops levels it was made with could not be recorded in {path}: {exc}") from None


def world_part(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that shape the world itself (for ``generate``)."""
    from core.advice.stacks import knob_destination

    return {k: v for k, v in settings.items() if knob_destination(k) == "world"}


def check_world_matches(stacks: Mapping[str, str], world_settings: Mapping[str, Any], world_dir: str) -> None:
    """A profile given to a command on an existing world must agree with how the world was made."""
    from core.advice.stacks import STACKS

    for role, name in stacks.items():
        for knob, value in world_part(STACKS[name].settings_dict).items():
            have = world_settings.get(knob)
            if have is not None and float(have) != float(value):
                raise UserError(f"--stack {name} sets {knob}={value}, but {world_dir} was generated with {knob}={have}; "
                                f"regenerate it with 'audience-lab generate --stack {name} ...' or drop that --stack")


def stack_engine_config(world_dir: str, names: list[str] | None):
    """The engine settings (identity resolution, CRM event types) of a world's recorded profiles,
    overridden per role by ``--stack`` names: what ``members`` evaluates a rule with."""
    from core.advice.stacks import engine_knobs, knob_destination, parse_stacks, stack_settings
    from core.engine.identity import IdentityConfig
    from core.engine.views import EngineConfig

    settings = stack_settings({**recorded_stacks(world_dir), **parse_stacks(names)})
    identity = {k: v for k, v in settings.items() if knob_destination(k) == "identity"}
    return EngineConfig(identity=IdentityConfig(**identity), **engine_knobs(settings))


__all__ = ["check_world_matches", "record_meta", "record_stacks", "recorded_stacks", "stack_engine_config", "world_part"]
