"""The ``audience-lab`` command line.

Each subcommand lives in its own ``core.cmd_*`` module exposing ``register(subparsers)``; the
module sets ``func`` on its parser. Every :class:`core.errors.UserError` becomes one line on
stderr and exit code 2, so a person never sees a traceback for a mistake they made.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from core.errors import UserError

#: Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "core.cli.generate",
    "core.cli.members",
    "core.cli.sql",
    "core.cli.plays",
    "core.cli.lift",
    "core.cli.compare",
    "core.cli.simulate",
    "core.cli.advise",
    "core.cli.import_",
    "core.cli.profile",
    "core.cli.twin",
    "core.cli.stacks",
    "core.cli.calibrate",
    "core.cli.warm",
)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad flags already; keep its message to one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"audience-lab: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="audience-lab", description="Audience Lab: CRM segments vs CDP audiences on synthetic or imported worlds.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # subcommand not built yet
                continue
            raise
        module.register(sub)
    return parser


def _exit_on_terminate() -> None:
    """SIGTERM (a stopped job, ``kill``, a CI timeout) as an ordinary exit: the ``finally`` blocks
    run, so an out-of-core engine deletes its spill folder — tens of GB for a big world — and an
    import its staging folder, instead of leaving them on the disk."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


def main(argv: Sequence[str] | None = None) -> int:
    _exit_on_terminate()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a bad flag (its one line is written) or --help: the same code either way
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        sys.stderr.write(f"audience-lab: error: {exc}\n")
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:  # Ctrl-C: the cleanup ran on the way out; one line, not a traceback
        sys.stderr.write("audience-lab: interrupted\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
