"""Import real data: an event export and a CRM export become an *observed world* every command can read.

Rank 2 of docs/ARCHITECTURE.md, beside ``core.engine``: may import ``synthetic`` and the shared
basics (``core.errors``, ``core.jsonsafe``); ``core.measures``, ``core.advice``, ``core.present`` and
``core.cli`` may import it.

The API a page or command needs:

- :func:`preview` — the file's layout and the mapping an import would use (nothing written);
- :func:`import_data` — write the observed world folder, return an :class:`ImportReport`;
- :func:`open_world` — read any world folder (synthetic or observed, by world.json's ``kind``);
- :func:`rejected_rows` — the rows an import refused, with their reasons.
"""
import importlib
from typing import Any

# Loaded on first use (PEP 562), so ``audience-lab import --help`` lists the formats without
# loading DuckDB's readers and pandas: name -> the module that defines it.
_EXPORTS = {
    "CRM_FIELDS": "formats", "EVENT_FIELDS": "formats", "FORMAT_NAMES": "formats", "FORMATS": "formats",
    "ImportOptions": "importer", "ImportReport": "importer", "Preview": "importer", "import_data": "importer",
    "preview": "importer", "Limits": "limits", "ColumnMapping": "mapping", "CrmMapping": "mapping",
    "parse_event_map": "mapping", "parse_pairs": "mapping", "ObservedWorld": "observed", "is_observed": "observed",
    "open_world": "observed", "read_observed": "observed", "world_kind": "observed", "rejected_rows": "rejected",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core.ingest' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"core.ingest.{module}"), name)
    globals()[name] = value
    return value


__all__ = ["CRM_FIELDS", "EVENT_FIELDS", "FORMAT_NAMES", "FORMATS", "ImportOptions", "ImportReport", "Preview",
           "import_data", "preview", "Limits", "ColumnMapping", "CrmMapping", "parse_event_map", "parse_pairs",
           "ObservedWorld", "is_observed", "open_world", "read_observed", "world_kind", "rejected_rows"]
