"""The bounds an import enforces before DuckDB reads a byte, so a hostile file fails fast and clearly.

Each limit is generous for real exports and tight enough that a junk file cannot exhaust memory or
disk: the header line is read by Python (so a 10-million-column header is refused after 1 MiB, not
parsed), a gzip'd file is measured while it is decompressed (so a zip bomb is refused, not
expanded), and DuckDB itself runs with a memory limit and spills to a folder inside the staging
folder, which disappears with it.
"""
from __future__ import annotations

from dataclasses import dataclass

GIB = 1024 ** 3


@dataclass(frozen=True)
class Limits:
    """Bounds of one import. The CLI uses the defaults; the dashboard passes a smaller file size."""

    max_file_bytes: int = 20 * GIB
    """Largest input file on disk. 10 million events as CSV are about 1.1 GB."""

    max_uncompressed_bytes: int = 50 * GIB
    """Largest size a gzip'd file may expand to."""

    max_gzip_ratio: float = 100.0
    """A gzip'd file that expands more than this many times *and* past ``bomb_floor_bytes`` is a bomb.
    Real CSV exports compress 5-20x; only crafted or degenerate files exceed 100x."""

    bomb_floor_bytes: int = 1 * GIB

    max_header_bytes: int = 1024 * 1024
    """The header line must end within this many bytes."""

    max_columns: int = 2000
    """Most columns a file may have (real exports: a few dozen; flattened GA4: a few hundred)."""

    max_line_bytes: int = 8 * 1024 * 1024
    """Longest data line DuckDB accepts; longer lines are rejected rows ("line too long")."""

    memory_limit: str = "1GB"
    """DuckDB's memory limit during the import; above it DuckDB spills to disk."""

    head_bytes: int = 64 * 1024
    """How much of the file is read to recognise its kind, encoding and layout."""

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_uncompressed_bytes", "bomb_floor_bytes", "max_header_bytes",
                     "max_columns", "max_line_bytes", "head_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive whole number, got {value!r}")
