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
from core.ingest.formats import CRM_FIELDS, EVENT_FIELDS, FORMAT_NAMES, FORMATS
from core.ingest.importer import ImportOptions, ImportReport, Preview, import_data, preview
from core.ingest.limits import Limits
from core.ingest.mapping import ColumnMapping, CrmMapping, parse_event_map, parse_pairs
from core.ingest.observed import ObservedWorld, is_observed, open_world, read_observed, world_kind
from core.ingest.rejected import rejected_rows

__all__ = ["CRM_FIELDS", "EVENT_FIELDS", "FORMAT_NAMES", "FORMATS", "ImportOptions", "ImportReport", "Preview",
           "import_data", "preview", "Limits", "ColumnMapping", "CrmMapping", "parse_event_map", "parse_pairs",
           "ObservedWorld", "is_observed", "open_world", "read_observed", "world_kind", "rejected_rows"]
