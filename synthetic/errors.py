"""Errors a person can cause, shared by the generator and the engine without either depending on the other.

``synthetic`` is the bottom of the stack, so the base classes live here; ``core.errors``
re-exports them and adds the engine's own. The CLI turns every :class:`UserError` into one line
on stderr and exit code 2; the dashboard into an ``st.error`` in place. Anything else escaping
is a bug.
"""
from __future__ import annotations


class UserError(ValueError):
    """Bad input from a person (CLI flag, rule JSON, uploaded file, knob value)."""


class ConfigError(UserError):
    """A world or engine configuration value that is unknown or out of range."""


class DataError(UserError):
    """An input file of the wrong shape (missing columns, wrong values, absent arms, damaged bytes)."""
