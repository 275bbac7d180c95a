"""``audience-lab stacks``: the documented product profiles, and ``--stack NAME`` for other commands.

    audience-lab stacks [--role crm|cdp|sending] [--json]

lists every profile (``name, role, label, settings, sources`` with each source as ``{url, claim}``,
plus the date read and the documented settings the simulator does not model). Other commands take
``--stack NAME`` (repeatable, one per role) wherever they take ``--set``; ``--set`` still overrides
single knobs. ``generate --stack`` records the names in the world's ``world.json`` so ``compare``
applies the same profiles unless told otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping

from core.errors import UserError

STACK_HELP = ("a documented product profile, one per role (crm, cdp, sending; repeatable): see "
              "'audience-lab stacks'; --set still overrides single knobs")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stacks", help="list the documented CRM, CDP and sending-tool profiles (--stack NAME)")
    p.add_argument("--role", choices=("crm", "cdp", "sending"), help="only the profiles of one role")
    p.add_argument("--json", action="store_true", help="print JSON: name, role, label, settings, sources [{url, claim}]")
    p.set_defaults(func=run)


def add_stack_argument(p: argparse.ArgumentParser) -> None:
    """The ``--stack NAME`` option, as every command spells it."""
    p.add_argument("--stack", action="append", metavar="NAME", help=STACK_HELP)


def run(args: argparse.Namespace) -> int:
    from core.advice.stacks import ROLES, STACKS, stacks_for, validate_catalogue

    validate_catalogue()
    profiles = stacks_for(args.role) if args.role else list(STACKS.values())
    if args.json:
        json.dump([p.to_dict() for p in profiles], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    lines: list[str] = []
    for role in ROLES:
        group = [p for p in profiles if p.role == role]
        if not group:
            continue
        lines.append(f"{role.upper()}")
        for p in group:
            lines.append(f"  {p.name:32} {p.label}")
            lines.append("      sets " + ", ".join(f"{k}={_text(v)}" for k, v in p.settings))
            for n in p.not_modelled:
                lines.append(f"      not modelled: {n.knob}={_text(n.value)} ({n.why})")
            for s in p.sources:
                lines.append(f"      - {s.claim}\n        {s.url}")
        lines.append("")
    sys.stdout.write("\n".join(lines))
    return 0


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return str(value)


# --------------------------------------------------------------------------- world.json
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
