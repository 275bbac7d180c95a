"""What several ``audience-lab`` commands read from their command line: ``--set`` pairs and their
values, ``--stack`` names, a rule file, an ``--as-of`` inside the world's period.

Shared here so that no command module imports another (each command stays one module a reader can
follow from ``register`` to ``run``); light on purpose — parsing a command line loads nothing heavy.
"""
from __future__ import annotations

import argparse
from typing import Any

from core.errors import UserError

def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    """``key=value`` strings → dict, with a clear message for anything else."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects key=value (got {pair!r})")
        out[key.strip()] = value.strip()
    return out


def parse_number(text: str) -> Any:
    """A ``--set`` value as bool, int or float when it reads as one, else the text."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


STACK_HELP = ("a documented product profile, one per role (crm, cdp, sending; repeatable): see "
              "'audience-lab stacks'; --set still overrides single knobs")


def add_stack_argument(p: argparse.ArgumentParser) -> None:
    """The ``--stack NAME`` option, as every command spells it."""
    p.add_argument("--stack", action="append", metavar="NAME", help=STACK_HELP)


def read_rule_file(path: str):
    """The parsed rule; the rules module refuses a file over its size limit before reading it."""
    from core.engine.rules import read_rule_file as read

    return read(path)


def check_as_of(as_of, start, end) -> None:
    """An --as-of outside the world's period would answer with an empty list that looks like a
    result; say so instead (no system has data about a time outside what it observed)."""
    if as_of is None:
        return
    from core.engine.views import _utc

    t = _utc(as_of)
    if not start <= t <= end:
        raise UserError(f"--as-of {as_of} is outside the world's period; accepted: a time from "
                        f"{start:%Y-%m-%dT%H:%M}Z to {end:%Y-%m-%dT%H:%M}Z")


__all__ = ["STACK_HELP", "add_stack_argument", "check_as_of", "parse_number", "parse_sets", "read_rule_file"]
