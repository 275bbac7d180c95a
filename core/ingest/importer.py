"""``import_data``: an events export (and optionally a CRM export) → an observed world folder.

The folder holds ``world.json`` (``"kind": "observed"``, the mapping used, the summary),
``events.parquet``, ``crm_changes.parquet`` and ``contacts.parquet`` (empty without a CRM file) and
``rejected.csv`` (every unusable row with its reason; only a header when there were none). It is
written in a staging folder and renamed into place at the end (:mod:`core.ingest.staging`), so an
error or a kill leaves the old folder or nothing. DuckDB runs with a memory limit and spills into
the staging folder.

The page calls :func:`preview` (what would be read, and how) before :func:`import_data`; both take
the same :class:`ImportOptions`.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import duckdb
import pandas as pd

from core.errors import DataError, UserError
from core.ingest.crm import CrmResult, import_crm
from core.ingest import sqlexpr as X
from core.ingest.events import CANCELLATIONS, REJECT_COLUMNS, STRAY_REASON, EventOptions, import_events
from core.ingest.limits import Limits
from core.ingest.mapping import ColumnMapping, CrmMapping, resolve_crm_mapping, resolve_mapping
from core.ingest.reader import relation, sql_string
from core.ingest.safecsv import neutralise
from core.ingest.sniff import Source, inspect_source
from core.ingest.timeparse import DATED, TIME_FORMAT_WORDS, check_time_format, check_timezone, decide_format
from core.ingest.staging import staged_folder
from core.jsonsafe import json_safe

FORMAT_VERSION = 1
Progress = Callable[[str, "float | None"], None]


@dataclass(frozen=True)
class ImportOptions:
    """Everything an import can be told besides the files. Hashable, so a page can cache on it."""

    format: str = "auto"
    mapping: tuple[tuple[str, str], ...] = ()        # --map FIELD=COLUMN
    event_map: tuple[tuple[str, str], ...] = ()      # --event-map SOURCE=TARGET[/PAGE]
    constant_event: str | None = None                # --event NAME
    crm_mapping: tuple[tuple[str, str], ...] = ()    # --crm-map FIELD=COLUMN
    keep_pii: bool = False
    encoding: str = "auto"
    limits: Limits = field(default_factory=Limits)
    time_format: str = "auto"                        # --time-format: auto, iso, mdy, dmy, epoch or a pattern
    timezone: str | None = None                      # --timezone: IANA name for times without an offset
    cancellations: str = "event"                     # --cancellations event|reject (orders imports)
    drop_stray_times: bool = False                   # --drop-stray-times

    @classmethod
    def make(cls, format: str = "auto", mapping: Mapping[str, str] | None = None,
             event_map: Mapping[str, str] | None = None, constant_event: str | None = None,
             crm_mapping: Mapping[str, str] | None = None, keep_pii: bool = False, encoding: str = "auto",
             limits: Limits | None = None, time_format: str = "auto", timezone: str | None = None,
             cancellations: str = "event", drop_stray_times: bool = False) -> "ImportOptions":
        return cls(format, tuple((mapping or {}).items()), tuple((event_map or {}).items()), constant_event,
                   tuple((crm_mapping or {}).items()), bool(keep_pii), encoding, limits or Limits(),
                   check_time_format(time_format), timezone or None, cancellations, bool(drop_stray_times))


@dataclass(frozen=True)
class Preview:
    """What an import would read: the file's layout and the mapping it would use (nothing written)."""

    source: Source
    mapping: ColumnMapping
    crm_source: Source | None = None
    crm_mapping: CrmMapping | None = None


def preview(events: str, options: ImportOptions = ImportOptions(), crm: str | None = None) -> Preview:
    """Inspect the files and resolve the mappings; raises the same one-line errors as the import."""
    src = inspect_source(events, options.limits, options.encoding, "events")
    check_time_format(options.time_format)  # also when ImportOptions was built without make()
    if options.cancellations not in CANCELLATIONS:
        raise UserError(f"--cancellations {options.cancellations!r}; accepted: {', '.join(CANCELLATIONS)}")
    args = (src.columns, options.format, dict(options.mapping), dict(options.event_map), options.constant_event,
            f"events file {events}")
    try:
        mapping = resolve_mapping(*args)
    except DataError as exc:
        if "cannot find a time column" not in str(exc):
            raise
        found = time_columns(src, options.limits)
        if not found:
            raise
        mapping = resolve_mapping(*args, time_columns=found)
    crm_src = crm_mapping = None
    if crm is not None:
        crm_src = inspect_source(crm, options.limits, options.encoding, "CRM")
        crm_mapping = resolve_crm_mapping(crm_src.columns, dict(options.crm_mapping), f"CRM file {crm}")
    elif options.crm_mapping:
        from core.errors import UserError

        raise UserError("--crm-map needs --crm FILE")
    return Preview(src, mapping, crm_src, crm_mapping)


@dataclass(frozen=True)
class ImportReport:
    """The import summary: what was read, kept, rejected and why, and what the kept data holds."""

    out: str
    events_file: str
    mapping: ColumnMapping
    rows_read: int
    kept: int
    rejected: dict[str, int]
    users: int
    anonymous_ids: int
    emails: int
    sessions: int
    first: pd.Timestamp
    last: pd.Timestamp
    start: pd.Timestamp
    end: pd.Timestamp
    events_by_type: dict[str, int]
    received_at_missing: int
    keep_pii: bool
    crm_file: str | None = None
    crm_mapping: CrmMapping | None = None
    crm: dict[str, Any] | None = None
    time_format: str = "auto"                 # how text times were read (decided from the values or told)
    time_format_decided: bool = False         # True when the values decided it
    timezone: str | None = None
    coerced: dict[str, int] = field(default_factory=dict)     # field → kept rows whose value was emptied
    orders: dict[str, int] | None = None      # orders / cancellations written (an orders import)
    cancellations: str = "event"
    stray: dict[str, Any] | None = None       # rows with times far from the rest (count, bounds, dropped)
    time_sample: str | None = None            # an unparsable time as written (the first rejected one)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "out": self.out, "events_file": self.events_file, "mapping": self.mapping.to_dict(),
            "rows_read": self.rows_read, "kept": self.kept, "rejected": dict(self.rejected),
            "users": self.users, "anonymous_ids": self.anonymous_ids, "emails": self.emails,
            "sessions": self.sessions, "first": self.first, "last": self.last, "start": self.start,
            "end": self.end, "days": round((self.last - self.first).total_seconds() / 86400, 2),
            "events_by_type": dict(self.events_by_type), "received_at_missing": self.received_at_missing,
            "pii": "kept" if self.keep_pii else "sha256",
            "crm_file": self.crm_file, "crm_mapping": self.crm_mapping.to_dict() if self.crm_mapping else None,
            "crm": self.crm, "time_format": self.time_format, "time_format_decided": self.time_format_decided,
            "timezone": self.timezone or "UTC", "coerced": dict(self.coerced), "orders": self.orders,
            "cancellations": self.cancellations if self.orders else None,
            "stray_times": None if not self.stray else {k: v for k, v in self.stray.items() if k != "bounds"}
            | {"kept_from": self.stray["bounds"][0], "kept_to": self.stray["bounds"][1]},
        })

    def lines(self) -> list[str]:
        """The summary a person reads after an import."""
        rej = sum(self.rejected.values())
        out = [f"Imported {self.events_file} into {self.out}",
               f"  rows read {self.rows_read:,}   kept {self.kept:,}   rejected {rej:,}"
               + (" (see rejected.csv)" if rej else "")]
        for reason, n in sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
            hint = _time_hint(self.time_sample, self.time_format) if reason == "unparsable time" and self.time_sample else ""
            out.append(f"    {reason}: {n:,}{hint}")
        days = (self.last - self.first).total_seconds() / 86400
        out.append(f"  users (user ids) {self.users:,}   anonymous ids {self.anonymous_ids:,}   "
                   f"e-mails {self.emails:,}{' (SHA-256 hashed)' if self.emails and not self.keep_pii else ''}   "
                   f"sessions {self.sessions:,}" + ("" if self.sessions else " (no session column)"))
        out.append(f"  time span {self.first:%Y-%m-%d %H:%M} → {self.last:%Y-%m-%d %H:%M} UTC ({days:,.1f} days)")
        out += self.detail_lines()
        if self.received_at_missing and self.mapping.column("received_at"):
            out.append(f"  received_at missing or unreadable on {self.received_at_missing:,} rows (the event time is used)")
        top = list(self.events_by_type.items())
        out.append("  events by type: " + ", ".join(f"{k} {v:,}" for k, v in top[:20])
                   + (f", … (+{len(top) - 20} more types)" if len(top) > 20 else ""))
        if self.crm:
            c = self.crm
            out.append(f"  CRM {self.crm_file}: {c['contacts']:,} contacts, {c['fields']} fields, "
                       f"{c['changes']:,} values; {c['duplicate_emails']:,} contacts share an e-mail"
                       + (f"; {c['undated']:,} without a readable date (dated at the period's end)" if c["undated"] else "")
                       + (f"; {sum(c['rejected'].values()):,} lines rejected" if c["rejected"] else ""))
        return out


    def _order_value_words(self) -> str:
        if self.mapping.column("unit_price"):
            return "sum of quantity x unit price" if self.mapping.column("quantity") else "sum of unit prices"
        return "sum of the lines' values" if self.mapping.column("value") else "none in the file"

    def detail_lines(self) -> list[str]:
        """How times, orders, emptied values and stray times were handled (CLI words)."""
        out = []
        if self.time_format != "auto" or self.timezone:
            how = ("written (ISO 8601 or epoch)" if self.time_format == "auto"
                   else TIME_FORMAT_WORDS.get(self.time_format, f"the pattern {self.time_format!r}"))
            out.append(f"  times read as {how}" + (" (decided from the values)" if self.time_format_decided else "")
                       + (f"; times without an offset are {self.timezone} time" if self.timezone else ""))
        if self.orders is not None:
            what = (f"{self.orders['cancellations']:,} cancellations became order_cancelled events"
                    if self.cancellations == "event" else
                    "cancellations rejected as 'cancelled order' (--cancellations event keeps them as order_cancelled events)")
            out.append(f"  orders: {self.kept:,} lines became {self.orders['orders']:,} purchases "
                       f"(value = {self._order_value_words()}); {what}")
        for name, n in self.coerced.items():
            out.append(f"  {name}: {n:,} unreadable values emptied (the rows are kept; listed in rejected.csv)")
        if self.stray:
            s = self.stray
            if s["dropped"]:
                out.append(f"  {s['rows']:,} rows with times far from the rest (before {s['bounds'][0]:%Y-%m-%d} or after "
                           f"{s['bounds'][1]:%Y-%m-%d}) rejected as '{STRAY_REASON}'")
            else:
                out.append(f"  WARNING: {s['rows']:,} rows have times far from the rest ({s['earliest']:%Y-%m-%d} … "
                           f"{s['latest']:%Y-%m-%d}; the bulk lies between {s['bounds'][0]:%Y-%m-%d} and "
                           f"{s['bounds'][1]:%Y-%m-%d}); they stretch the period; drop them with --drop-stray-times")
        return out


def import_data(events: str, out: str, options: ImportOptions = ImportOptions(), crm: str | None = None,
                progress: Progress | None = None) -> ImportReport:
    """Import ``events`` (and ``crm``) into the folder ``out``; see the module docstring."""
    pv = preview(events, options, crm)
    report = _Reporter(progress)
    with staged_folder(out) as stage:
        con = _connect(stage, options.limits)
        try:
            body = stage / ".rejected.body"
            body.touch()
            report("reading events", 0.0)
            tz = check_timezone(con, options.timezone)
            tfmt, decided = _time_format(con, pv, options)
            opt = EventOptions(time_format=tfmt, timezone=tz, cancellations=options.cancellations,
                               drop_stray=options.drop_stray_times,
                               decimal_comma=pv.source.kind == "csv" and pv.source.delimiter == ";")
            with report.watch(con, "reading events"):
                ev = import_events(con, pv.source, pv.mapping, options.keep_pii, stage, body, options.limits, opt)
            rows_read = ev.kept + sum(ev.rejected.values())
            sample = _unparsable_sample(con, body, options.limits) if ev.rejected.get("unparsable time") else None
            if ev.kept == 0:
                reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(ev.rejected.items(), key=lambda kv: -kv[1]))
                raise DataError(f"no usable rows in events file {events}: {rows_read:,} rows read, all rejected ({reasons})"
                                + (_time_hint(sample, tfmt) if sample else ""))
            report("summarising", None)
            summary = _summarise(con, stage / "events.parquet")
            crm_result: CrmResult | None = None
            if pv.crm_source is not None:
                report("reading CRM contacts", None)
                crm_result = import_crm(con, pv.crm_source, pv.crm_mapping, options.keep_pii, stage, body,
                                        summary["end"], options.limits, options.time_format, tz)
            else:
                _empty_crm(con, stage)
            _write_rejected(stage / "rejected.csv", body)
            result = ImportReport(
                out=str(out), events_file=str(events), mapping=pv.mapping, rows_read=rows_read, kept=ev.kept,
                rejected=dict(ev.rejected), keep_pii=options.keep_pii, crm_file=crm, crm_mapping=pv.crm_mapping,
                crm=None if crm_result is None else {
                    "contacts": crm_result.contacts, "rows": crm_result.rows, "changes": crm_result.changes,
                    "fields": crm_result.fields, "undated": crm_result.undated,
                    "duplicate_emails": crm_result.duplicate_emails, "rejected": crm_result.rejected},
                time_format=tfmt, time_format_decided=decided, timezone=tz, coerced=dict(ev.coerced),
                orders=ev.orders, cancellations=options.cancellations, stray=ev.stray, time_sample=sample,
                **summary)
            meta = {"kind": "observed", "format_version": FORMAT_VERSION, "created_by": "audience-lab import",
                    "start": result.start.isoformat(), "end": result.end.isoformat(),
                    "pii": "kept" if options.keep_pii else "sha256",
                    "tables": ["events", "crm_changes", "contacts"], "summary": result.to_dict()}
            (stage / "world.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        finally:
            con.close()
            shutil.rmtree(stage / ".spill", ignore_errors=True)
            for junk in (".profile.json", ".rejected.body"):
                (stage / junk).unlink(missing_ok=True)
    report("done", 1.0)
    return result


#: What the import tries on a text time, as the error messages say it.
FORMATS_TRIED = "ISO 8601 (with or without an offset), epoch seconds/ms/µs, YYYYMMDD, M/D/Y and D/M/Y (decided from the values)"


def _time_hint(sample: str, fmt: str) -> str:
    tried = FORMATS_TRIED if fmt == "auto" else f"{TIME_FORMAT_WORDS.get(fmt, repr(fmt))} and ISO 8601"
    return f"; e.g. {sample[:60]!r}; formats tried: {tried}; say it with --time-format"


def _unparsable_sample(con: duckdb.DuckDBPyConnection, body: Path, limits: Limits) -> str | None:
    """The raw text of the first row rejected as 'unparsable time' (rejected.csv's timestamp column)."""
    spec = "{" + ", ".join(f"'k{i}': 'VARCHAR'" for i in range(len(REJECT_COLUMNS))) + "}"
    try:
        row = con.execute(f"SELECT k3 FROM read_csv(?, columns = {spec}, header = false, auto_detect = false, "
                          "quote = '\"', escape = '\"', delim = ',', max_line_size = ?) "
                          "WHERE k1 = 'unparsable time' AND k3 IS NOT NULL LIMIT 1",
                          [str(body), 4 * limits.max_line_bytes]).fetchone()
    except duckdb.Error:
        return None
    return None if row is None else str(row[0]).lstrip("'")


def _time_format(con: duckdb.DuckDBPyConnection, pv: Preview, options: ImportOptions) -> tuple[str, bool]:
    """The told time format, or the one the time column's values decide (text columns only)."""
    if options.time_format != "auto":
        return options.time_format, False
    src = pv.source
    i = src.columns.index(pv.mapping.column("timestamp"))
    if src.types[i].upper() != "VARCHAR":
        return "auto", False
    rel, params = relation(src, "rej_sniff_time", options.limits)
    ref = X.col(i)
    fmt, _ = decide_format(con, rel, params, ref, X.auto_timestamp(ref), src.columns[i], f"events file {src.path}")
    return fmt, fmt != "auto"


def time_columns(src: Source, limits: Limits, rows: int = 500) -> tuple[str, ...]:
    """Columns whose first ``rows`` values read as times from 1990 to 2100 (four in five or more: a repeated header or a few blanks do not hide it)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        rel, params = relation(src, "rej_sniff_cols", limits)
        checks = []
        for i, t in enumerate(src.types):
            ref = X.col(i)
            expr = X.timestamp(ref, t, "auto") if t.upper() != "VARCHAR" else (
                f"COALESCE({X.auto_timestamp(ref)}, CASE WHEN regexp_matches({ref}, '{DATED}') THEN TIMESTAMPTZ '2000-01-01' END)")
            present = f"{X.text(ref, t)} IS NOT NULL AND trim({X.text(ref, t)}) <> ''"
            checks.append(f"count(*) FILTER ({present}), count(*) FILTER ({present} AND {X.in_range(expr)})")
        row = con.execute(f"SELECT {', '.join(checks)} FROM (SELECT * FROM {rel} LIMIT {int(rows)})", params).fetchone()
    except duckdb.Error:
        return ()
    finally:
        con.close()
    return tuple(c for i, c in enumerate(src.columns) if row[2 * i] and row[2 * i + 1] >= 0.8 * row[2 * i])


def _connect(stage: Path, limits: Limits) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"memory_limit": limits.memory_limit, "temp_directory": str(stage / ".spill"),
                                 "preserve_insertion_order": True})
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def _summarise(con: duckdb.DuckDBPyConnection, events: Path) -> dict[str, Any]:
    """Counts the summary prints, read back from the written events (columnar, one pass per query)."""
    f = sql_string(events)
    n, first, last, missing = con.execute(
        f"SELECT count(*), min(ts), max(ts), count(*) - count(received_at) FROM read_parquet({f})").fetchone()
    distinct = {}
    for name in ("user_id", "anonymous_id", "email", "session_id"):
        distinct[name] = con.execute(
            f"SELECT count(*) FROM (SELECT {name} FROM read_parquet({f}) WHERE {name} IS NOT NULL GROUP BY 1)").fetchone()[0]
    by_type = con.execute(f"SELECT event_type, count(*) AS n FROM read_parquet({f}) GROUP BY 1 ORDER BY n DESC, event_type").fetchall()
    first, last = pd.Timestamp(first).tz_convert("UTC"), pd.Timestamp(last).tz_convert("UTC")
    return {"users": int(distinct["user_id"]), "anonymous_ids": int(distinct["anonymous_id"]),
            "emails": int(distinct["email"]), "sessions": int(distinct["session_id"]),
            "first": first, "last": last, "start": first.floor("D"), "end": last.floor("D") + pd.Timedelta(days=1),
            "events_by_type": {str(k): int(v) for k, v in by_type}, "received_at_missing": int(missing)}


def _empty_crm(con: duckdb.DuckDBPyConnection, stage: Path) -> None:
    con.execute(f"""COPY (SELECT CAST(NULL AS BIGINT) AS contact_id, CAST(NULL AS BIGINT) AS person_id,
                          CAST(NULL AS VARCHAR) AS field, CAST(NULL AS VARCHAR) AS value,
                          CAST(NULL AS TIMESTAMPTZ) AS effective_at, CAST(NULL AS TIMESTAMPTZ) AS recorded_at,
                          CAST(NULL AS VARCHAR) AS source LIMIT 0) TO {sql_string(stage / 'crm_changes.parquet')} (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT CAST(NULL AS BIGINT) AS contact_id, CAST(NULL AS VARCHAR) AS source_id,
                          CAST(NULL AS VARCHAR) AS email, CAST(NULL AS TIMESTAMPTZ) AS created_at,
                          CAST(NULL AS TIMESTAMPTZ) AS updated_at LIMIT 0) TO {sql_string(stage / 'contacts.parquet')} (FORMAT parquet)""")


def _write_rejected(path: Path, body: Path) -> None:
    """``rejected.csv``: a header line, then the rows DuckDB wrote."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([neutralise(c) for c in REJECT_COLUMNS])
    with open(path, "wb") as out:
        out.write(buf.getvalue().encode("utf-8"))
        with open(body, "rb") as fh:
            while chunk := fh.read(1 << 20):
                out.write(chunk)


class _Reporter:
    """Calls ``progress(stage, fraction)``; while a long query runs, polls DuckDB's own progress."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def __call__(self, stage: str, fraction: float | None) -> None:
        if self.progress is not None:
            self.progress(stage, fraction)

    def watch(self, con: duckdb.DuckDBPyConnection, stage: str):
        reporter = self

        class _Watch:
            def __enter__(self):
                self.stop = threading.Event()
                if reporter.progress is None:
                    self.thread = None
                    return self
                self.thread = threading.Thread(target=self._poll, daemon=True)
                self.thread.start()
                return self

            def _poll(self):
                while not self.stop.wait(0.5):
                    try:
                        pct = con.query_progress()
                    except Exception:  # progress is a courtesy; never let it break an import
                        return
                    if pct is not None and pct >= 0:
                        reporter(stage, min(pct, 100.0) / 100.0)

            def __exit__(self, *exc):
                self.stop.set()
                if self.thread is not None:
                    self.thread.join()
                return False

        return _Watch()
