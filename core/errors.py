"""Errors a user can cause, each with a message that names the problem and what is accepted.

The base classes live in :mod:`synthetic.errors` (the bottom of the stack, so the generator
never imports the engine); this module re-exports them and adds :class:`RuleError`. The CLI
turns any :class:`UserError` into one line on stderr and exit code 2; the dashboard turns it into
an ``st.error`` in place. Anything else escaping is a bug.
"""
from __future__ import annotations

from synthetic.errors import ConfigError, DataError, UserError

__all__ = ["UserError", "ConfigError", "DataError", "RuleError"]


class RuleError(UserError):
    """A rule that cannot be parsed, validated or compiled. ``path`` points inside the rule JSON."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path or "$"
        self.detail = message
        super().__init__(f"rule {self.path}: {message}")
