"""The SQL dialects the engine can print a rule in (names as sqlglot knows them).

Kept apart from :mod:`core.engine.portable` so the command line can list them without loading
sqlglot: ``audience-lab sql --help`` answers before any heavy import.
"""
from __future__ import annotations

DIALECTS: tuple[str, ...] = ("duckdb", "spark", "databricks", "bigquery", "snowflake", "postgres")

__all__ = ["DIALECTS"]
