"""``audience-lab stacks``: the documented product profiles, and ``--stack NAME`` for other commands.

    audience-lab stacks [--role crm|cdp|sending] [--json]

lists every profile (``name, role, label, settings, sources`` with each source as ``{url, claim}``,
plus the date read and the documented settings the simulator does not model). Other commands take
``--stack NAME`` (repeatable, one per role) wherever they take ``--set``; ``--set`` still overrides
single knobs. ``generate --stack`` records the names in the world's ``world.json`` so ``compare``
applies the same profiles unless told otherwise. The ``--stack`` argument and what a world folder
recorded live in :mod:`core.cli.args` and :mod:`core.cli.worldmeta`, shared by every command.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stacks", help="list the documented CRM, CDP and sending-tool profiles (--stack NAME)")
    p.add_argument("--role", choices=("crm", "cdp", "sending"), help="only the profiles of one role")
    p.add_argument("--json", action="store_true", help="print JSON: name, role, label, settings, sources [{url, claim}]")
    p.set_defaults(func=run)


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


