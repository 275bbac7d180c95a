"""The world generator: synthetic B2B and B2C customers with ground truth. Knows nothing of segments.

The public names are loaded on first use (PEP 562): ``synthetic.errors`` sits under every error
class of the product, so importing it must not pull in pandas and numpy — the command line answers
``--help`` and argument errors before any of them loads.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Behaviour": "synthetic.config",
    "Knobs": "synthetic.config",
    "WorldConfig": "synthetic.config",
    "generate": "synthetic.generator",
    "PRESETS": "synthetic.presets",
    "preset_config": "synthetic.presets",
    "World": "synthetic.world",
}

__all__ = ["Behaviour", "Knobs", "WorldConfig", "World", "PRESETS", "generate", "preset_config"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:  # a submodule (``synthetic.io``) read as an attribute, as before
        try:
            return importlib.import_module(f"synthetic.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module 'synthetic' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
