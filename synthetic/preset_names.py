"""The presets' names, in :data:`synthetic.presets.PRESETS` order, without loading the generator.

The command line lists them in ``--help``; importing :mod:`synthetic.presets` would load pandas
first. ``tests/test_cli_startup.py`` keeps this tuple equal to the presets' keys.
"""
from __future__ import annotations

PRESET_NAMES: tuple[str, ...] = ("b2b-saas", "plg-saas", "b2c-retail", "omnichannel")

__all__ = ["PRESET_NAMES"]
