"""Read back the rows an import refused (``rejected.csv``), for the page and the tests."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from core.errors import DataError
from core.ingest.events import REJECT_COLUMNS


def rejected_rows(world_dir: str | os.PathLike, limit: int | None = 1000) -> pd.DataFrame:
    """The first ``limit`` rejected rows (all when None) with ``file, reason, line``, raw values and raw line.

    Every cell is text exactly as written (formula-looking cells carry their leading apostrophe).
    """
    file = Path(world_dir) / "rejected.csv"
    if not file.is_file():
        raise DataError(f"{world_dir} has no rejected.csv (is it an imported world?)")
    try:
        return pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""], nrows=limit)
    except (ValueError, OSError) as exc:
        raise DataError(f"cannot read {file}: {exc}") from None


__all__ = ["rejected_rows", "REJECT_COLUMNS"]
