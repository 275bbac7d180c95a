"""The ``audience-lab`` command line: ``main`` plus one module per subcommand.

May import every room of ``core`` and ``synthetic``; nothing imports the CLI.
"""
from core.cli.main import main

__all__ = ["main"]
