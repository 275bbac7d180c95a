"""Errors a user can cause, each with a message that names the problem and what is accepted.

The CLI turns these into one line on stderr and exit code 2; the dashboard turns them into an
``st.error`` in place. Anything else escaping is a bug.
"""
from __future__ import annotations


class UserError(ValueError):
    """Bad input from a person (CLI flag, rule JSON, uploaded file, knob value)."""


class ConfigError(UserError):
    """A world or engine configuration value that is unknown or out of range."""


class RuleError(UserError):
    """A rule that cannot be parsed, validated or compiled. ``path`` points inside the rule JSON."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path or "$"
        self.detail = message
        super().__init__(f"rule {self.path}: {message}")


class DataError(UserError):
    """An input file of the wrong shape (missing columns, wrong values, absent arms)."""
