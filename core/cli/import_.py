"""``audience-lab import``: an event export (and a CRM export) → an observed world folder."""
from __future__ import annotations

import argparse
import json
import sys

from core.jsonsafe import json_safe


def register(sub: argparse._SubParsersAction) -> None:
    from core.ingest import EVENT_FIELDS, FORMAT_NAMES
    from core.ingest.formats import CRM_FIELDS
    from core.ingest.formats import ENCODINGS

    p = sub.add_parser("import", help="import an event export (CSV, gzip'd CSV or Parquet) and a CRM export into a world folder")
    p.add_argument("--events", required=True, metavar="FILE", help="the event export")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write (replaced atomically if it holds a world)")
    p.add_argument("--format", default="auto", choices=FORMAT_NAMES, help="layout of the events file (default: detect it)")
    p.add_argument("--map", action="extend", nargs="+", metavar="FIELD=COLUMN", default=[],
                   help=f"source column of a field (wins over detection; FIELD= removes one); FIELD in: {', '.join(EVENT_FIELDS)}; "
                        "order_id turns order lines into one purchase per order (value = sum of quantity x unit_price)")
    p.add_argument("--event-map", action="extend", nargs="+", metavar="SOURCE=TARGET", default=[],
                   help="rename events, e.g. view=page_view cart=add_to_cart; TARGET may carry a page: 'Product Viewed=page_view/product'")
    p.add_argument("--event", metavar="NAME", help="every row is this event (a log without an event column, e.g. purchases)")
    p.add_argument("--crm", metavar="FILE", help="a CRM contacts export (contact id, e-mail, created/updated times; other columns become fields)")
    p.add_argument("--crm-map", action="extend", nargs="+", metavar="FIELD=COLUMN", default=[],
                   help=f"source column of a CRM field; FIELD in: {', '.join(CRM_FIELDS)}")
    p.add_argument("--keep-pii", action="store_true", help="store e-mail addresses as they are (default: SHA-256 hashes)")
    p.add_argument("--encoding", default="auto", choices=ENCODINGS, help="text encoding (default: UTF-8, or UTF-16 by its BOM)")
    p.add_argument("--time-format", default="auto", metavar="FORMAT",
                   help="how text times are written: auto (decided from the values), iso, mdy (10/2/2017 = 2 Oct), "
                        "dmy (2/10/2017 = 2 Oct), epoch, or a pattern such as '%%d.%%m.%%Y %%H:%%M'")
    p.add_argument("--timezone", metavar="NAME", help="IANA time zone of times without an offset, e.g. Europe/London, "
                   "America/Sao_Paulo (default: UTC; summer time handled)")
    p.add_argument("--cancellations", default="event", choices=("event", "reject"),
                   help="orders imports (--map order_id=…): cancelled orders (negative quantity, a C-prefixed "
                        "invoice, a cancelled status) become order_cancelled events (default) or rejected rows")
    p.add_argument("--drop-stray-times", action="store_true",
                   help="reject rows whose time lies far outside the rest of the data (e.g. one 1999 row in 2025 data)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.ingest import ImportOptions, import_data, parse_event_map, parse_pairs, preview

    options = ImportOptions.make(
        format=args.format, mapping=parse_pairs(args.map, "--map", "FIELD", "COLUMN"),
        event_map=parse_event_map(args.event_map), constant_event=args.event,
        crm_mapping=parse_pairs(args.crm_map, "--crm-map", "FIELD", "COLUMN"), keep_pii=args.keep_pii,
        encoding=args.encoding, time_format=args.time_format, timezone=args.timezone,
        cancellations=args.cancellations, drop_stray_times=args.drop_stray_times)
    pv = preview(args.events, options, args.crm)
    if not args.json:  # the mapping first, so a wrong guess shows before a long read
        sys.stdout.write("\n".join(pv.mapping.lines() + (pv.crm_mapping.lines() if pv.crm_mapping else [])) + "\n")
        sys.stdout.flush()
    progress = _progress if sys.stderr.isatty() and not args.json else None
    report = import_data(args.events, args.out, options, args.crm, progress)
    if progress:
        sys.stderr.write("\r" + " " * 60 + "\r")
    if args.json:
        json.dump(json_safe(report.to_dict()), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(report.lines()) + "\n")
    return 0


def _progress(stage: str, fraction: float | None) -> None:
    pct = "" if fraction is None else f" {fraction:.0%}"
    sys.stderr.write(f"\r{stage}{pct}".ljust(60))
    sys.stderr.flush()
