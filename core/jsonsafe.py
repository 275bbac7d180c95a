"""Make results JSON-safe for the CLI and downloads: NaN/inf become null, numpy scalars plain
numbers, timestamps ISO strings, mapping keys strings."""
from __future__ import annotations

import math
import sys
from typing import Any


def json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    pd = sys.modules.get("pandas")  # no pandas loaded, no Timestamp to meet: the CLI's --help stays light
    if pd is not None and isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return json_safe(value.item())
    return value
