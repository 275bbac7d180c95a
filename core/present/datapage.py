"""Everything the "Your data" page shows, computed without Streamlit.

The page lets a person drop in an event export (and a CRM export), fix how its columns are read,
import it, and then see their own data the way the rest of the dashboard sees a synthetic world:
the import summary and the rows that were refused, what identity resolution made of the
identifiers, member counts of the library plays on the CDP and CRM views, CRM-vs-CDP overlap on
their own contacts, and a *twin* — a synthetic world with ground truth that behaves like the data
— that the other pages open as a scenario.

Nothing here re-implements the importer or the measures: it calls ``core.ingest`` (preview,
import, rejected rows), ``core.measures.observed`` / ``core.measures.profile`` and
``core.advice.twin``, and turns their answers into tables and sentences. Files live in a private
per-session folder (:class:`Workspace`) that disappears with the session; nothing leaves the
machine.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from core.advice.scenario import Scenario, default_play
from core.advice.twin import TwinFit, fit_twin
from core.engine.bestattempt import event_types_of
from core.engine.plays import PLAYS, Play
from core.engine.rules import All, Any_, Condition, Not
from core.engine.views import Engine
from core.errors import DataError, UserError
from core.ingest import (EVENT_FIELDS, FORMAT_NAMES, FORMATS, ImportOptions, ImportReport, Limits, Preview,
                         import_data, open_world, preview, rejected_rows)
from core.ingest.formats import GENERIC_COLUMNS, IDENTIFIER_FIELDS, detect_format, norm
from core.ingest.importer import time_columns
from core.ingest.sniff import inspect_source
from core.measures.observed import crm_cdp_overlap, identity_picture, play_counts
from core.measures.profile import DataProfile, profile_folder
from core.present.dataimport import ImportChoices, page_words
from core.present.urlstate import decode_link, knob_catalog, make_link
from synthetic import generate, preset_config

#: Largest upload the page takes: Streamlit's own upload limit for this app
#: (``server.maxUploadSize = 50`` in .streamlit/config.toml); bigger exports go through the CLI.
MAX_UPLOAD_MB = 50
PAGE_LIMITS = Limits(max_file_bytes=MAX_UPLOAD_MB * 1024 * 1024)
#: What a select box shows for "no column feeds this field".
NONE = "(not in the file)"
FIELD_WORDS = {
    "timestamp": "when it happened (required)", "event": "event name (required)",
    "user_id": "user id (login / customer id)", "anonymous_id": "anonymous id (device / cookie)",
    "email": "e-mail address", "session_id": "session id", "page": "page (path or URL)",
    "value": "value (order revenue)", "channel": "channel", "received_at": "when the CDP received it",
    "order_id": "order id (one purchase per order)", "quantity": "quantity (order lines)",
    "unit_price": "unit price (order lines)", "status": "order status (cancelled orders)",
}
FORMAT_WORDS = {"auto": "Detect it", **{name: f"{FORMATS[name].title} ({name})" for name in FORMAT_NAMES if name in FORMATS}}
#: Twin sizes offered (the dashboard's own world sizes; the CLI goes to 5 million).
TWIN_PEOPLE = (1_000, 2_000, 5_000, 10_000, 20_000)
#: A knob the dashboard's link rounds by more than this (relative) is named on the page.
ROUNDING_NOTE = 0.02
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


# --------------------------------------------------------------------------- files
class Workspace:
    """A private temporary folder for one browser session: uploads, the example, the imported world.

    Removed when the session's state is dropped (``weakref.finalize``) or :meth:`close` is called,
    so an abandoned tab leaves nothing behind once Streamlit forgets the session."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="audience-lab-data-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.root), True)

    def folder(self, name: str, fresh: bool = False) -> Path:
        path = self.root / name
        if fresh:
            shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        self._finalizer()

    @property
    def alive(self) -> bool:
        return self.root.is_dir()


def safe_name(name: str) -> str:
    """An upload's base name as a harmless file name (no folders, no odd characters)."""
    base = _SAFE.sub("_", os.path.basename(str(name).replace("\\", "/"))).strip(" ._")[:120]
    return base or "upload.csv"


def save_upload(workspace: Workspace, role: str, data: BinaryIO, name: str, size: int) -> Path:
    """Copy an upload into the workspace (folder ``role``, replacing the last one), refused by size first.

    Copied in 1 MiB chunks and refused again if the stream runs past what it declared."""
    shown = safe_name(name)
    limit = PAGE_LIMITS.max_file_bytes
    if int(size) > limit:
        raise DataError(f"{role} file {shown} is {int(size) / 1024**2:,.1f} MB; this page takes files up to "
                        f"{MAX_UPLOAD_MB} MB (import larger exports with 'audience-lab import')")
    path = workspace.folder(role, fresh=True) / shown
    copied = 0
    with open(path, "xb") as out:
        if hasattr(data, "seek"):
            data.seek(0)
        while chunk := data.read(1 << 20):
            copied += len(chunk)
            if copied > limit:
                raise DataError(f"{role} file {shown} is larger than {MAX_UPLOAD_MB} MB, the most this page takes")
            out.write(chunk)
    return path


def clean_message(exc: BaseException, workspace: Workspace | None = None) -> str:
    """The importer's one-line message with the workspace's private folder taken out of file names,
    and CLI flags said as what to do on the page."""
    text = page_words(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if workspace is not None:
        text = re.sub(re.escape(str(workspace.root)) + r"/[^/\s]+/", "", text)
        text = text.replace(str(workspace.root), "the upload folder")
    return text


def main_thread_progress(draw: Callable[[str, float | None], None]) -> Callable[[str, float | None], None]:
    """A progress callback for :func:`core.ingest.import_data` that draws only on the caller's thread.

    The importer also reports DuckDB's own progress from a polling thread; a page may draw only
    from its script thread, so those reports are dropped and the stages are shown."""
    owner = threading.get_ident()

    def progress(stage: str, fraction: float | None) -> None:
        if threading.get_ident() == owner:
            draw(stage, fraction)

    return progress


# --------------------------------------------------------------------------- the example
EXAMPLE_PEOPLE = 1_500
EXAMPLE_DAYS = 60
HISTORY_DAYS = 60
#: Simulator event names → Segment e-commerce spec names (the importer's segment layout maps them back).
SEGMENT_NAMES = {"page_view": "Page Viewed", "add_to_cart": "Product Added", "checkout_started": "Checkout Started",
                 "purchase": "Order Completed", "signup": "Signed Up", "login": "Signed In",
                 "trial_started": "Trial Started", "email_open": "Email Opened", "email_click": "Email Link Clicked"}


def _iso(ts: pd.Series) -> pd.Series:
    return ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"


def _text(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), None)


def segment_tracks(ev: pd.DataFrame) -> pd.DataFrame:
    """A world's events as rows of a Segment-like tracks export (spec event names, the identifiers
    each event carried, ISO times): the layout the example export and the round-trip test write."""
    page = _text(ev["page"])
    return pd.DataFrame({
        "message_id": "m" + ev["event_id"].astype(str),
        "timestamp": _iso(ev["ts"]),
        "received_at": _iso(ev["received_at"]),
        "event": ev["event_type"].astype(str).map(lambda e: SEGMENT_NAMES.get(e, e)),
        "anonymous_id": _text(ev["anonymous_id"]),
        "user_id": _text(ev["user_id"]),
        "context_traits_email": _text(ev["email"]),
        "context_page_path": page.map(lambda p: None if p is None else "/" + p),
        "properties_revenue": ev["value"],
        "context_session_id": ev["session_id"].astype("string"),
        "channel": ev["channel"].astype(str),
    })


def crm_contacts(world) -> pd.DataFrame:
    """A CRM contacts export at the end of the period: one row per contact, the latest recorded
    value of each field, and when the contact was created and last updated (the layout the example
    export and the round-trip test write)."""
    ch = world.crm_changes
    ch = ch[ch["recorded_at"] <= world.end].sort_values(["contact_id", "field", "recorded_at"], kind="stable")
    latest = ch.drop_duplicates(["contact_id", "field"], keep="last")
    wide = latest.pivot(index="contact_id", columns="field", values="value")
    times = ch.groupby("contact_id")["recorded_at"].agg(["min", "max"])
    wide.insert(0, "created_at", _iso(times["min"]))
    wide.insert(1, "updated_at", _iso(times["max"]))
    wide.index.name = "contact_id"
    return wide.reset_index()


def example_export(folder: Path, people: int = EXAMPLE_PEOPLE, days: int = EXAMPLE_DAYS, seed: int = 7,
                   preset: str = "b2c-retail") -> tuple[Path, Path]:
    """A synthetic world's *observed* data written as a Segment-like tracks export and a CRM contacts
    snapshot (``example-events.csv``, ``example-crm.csv``) — what a CDP and a CRM would export.

    Only events the CDP received are written, with the identifiers each carried (no person ids, no
    intent): the same layout as the round-trip test's oracle (tests/roundtrip.py)."""
    world = generate(preset_config(preset, seed=seed, people=people, days=days))
    ev = world.events
    # what the CDP received, from 60 days of history before the period (an export covers months, not years)
    ev = ev[ev["received_at"].notna() & (ev["ts"] >= world.start - pd.Timedelta(days=HISTORY_DAYS))]
    events = segment_tracks(ev)
    ev_path = Path(folder) / "example-events.csv"
    events.to_csv(ev_path, index=False)
    crm_path = Path(folder) / "example-crm.csv"
    crm_contacts(world).to_csv(crm_path, index=False)
    return ev_path, crm_path


# --------------------------------------------------------------------------- mapping
@dataclass(frozen=True)
class Inspection:
    """What the page knows about the events file before importing: its columns, the mapping the
    importer would use (or the one-line reason it cannot), and a guess per field for the select boxes."""

    columns: tuple[str, ...]
    preview: Preview | None
    error: str | None
    guess: dict[str, str]
    format: str

    def current(self, field_name: str) -> str:
        """The column that feeds ``field_name`` now (NONE when none does)."""
        if self.preview is not None:
            return self.preview.mapping.column(field_name) or NONE
        return self.guess.get(field_name, NONE)


def _guess(columns: tuple[str, ...], fmt: str, overrides: Mapping[str, str]) -> dict[str, str]:
    """A column per field as detection would pick it (used when the importer refuses the mapping,
    so the select boxes still start from the best guess)."""
    name = detect_format(columns) if fmt == "auto" else fmt
    layout = FORMATS[name]
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(norm(c), c)
    chosen = {k: v for k, v in overrides.items() if v}
    used = set(chosen.values())
    for f in EVENT_FIELDS:
        if f in overrides:
            continue
        cands = list(layout.columns.get(f, ()))
        if f in layout.generic_fields:
            cands += list(GENERIC_COLUMNS[f])
        for cand in cands:
            col = by_norm.get(cand)
            if col is not None and col not in used:
                chosen[f] = col
                used.add(col)
                break
    return chosen


def inspect_events(events: Path, fmt: str = "auto", overrides: Mapping[str, str] | None = None,
                   crm: Path | None = None, workspace: Workspace | None = None,
                   choices: ImportChoices = ImportChoices()) -> Inspection:
    """Read the header (never the whole file) and resolve the mapping; an unreadable file raises
    :class:`UserError` with the importer's line, a mapping it cannot use comes back in ``error``."""
    overrides = dict(overrides or {})
    try:
        src = inspect_source(events, PAGE_LIMITS, "auto", "events")
    except UserError as exc:
        raise UserError(clean_message(exc, workspace)) from None
    try:
        pv = preview(str(events), options(fmt, overrides, choices), None if crm is None else str(crm))
        return Inspection(src.columns, pv, None, {}, pv.mapping.format)
    except UserError as exc:
        guess = _guess(src.columns, fmt, overrides)
        if "timestamp" not in guess and "timestamp" not in overrides:  # as the importer does: by the values
            found = [c for c in time_columns(src, PAGE_LIMITS) if c not in guess.values()]
            if found:
                guess["timestamp"] = found[0]
        name = detect_format(src.columns) if fmt == "auto" else fmt
        return Inspection(src.columns, None, clean_message(exc, workspace), guess, name)


def options(fmt: str = "auto", overrides: Mapping[str, str] | None = None,
            choices: ImportChoices = ImportChoices()) -> ImportOptions:
    return choices.options(fmt, overrides, PAGE_LIMITS)


def overrides_from(choices: Mapping[str, str], inspection: Inspection) -> dict[str, str]:
    """``--map`` pairs from the select boxes: only the fields the person changed (empty = removed)."""
    out = {}
    for f in EVENT_FIELDS:
        chosen = choices.get(f, inspection.current(f))
        if chosen != inspection.current(f):
            out[f] = "" if chosen == NONE else chosen
    return out


def mapping_frame(inspection: Inspection) -> pd.DataFrame:
    """The mapping as a table: field, what it means, the source column, how it was chosen."""
    origin = dict(inspection.preview.mapping.origin) if inspection.preview is not None else {}
    rows = []
    for f in EVENT_FIELDS:
        col = inspection.current(f)
        rows.append({"field": f, "means": FIELD_WORDS[f], "column": None if col == NONE else col,
                     "chosen by": origin.get(f, "" if col == NONE else "guess")})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the import
@dataclass
class Imported:
    """An imported world in the workspace and everything computed from it (lazily, once)."""

    folder: Path
    report: ImportReport
    events_name: str
    crm_name: str | None
    _engine: Engine | None = field(default=None, repr=False)
    _profile: DataProfile | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine(open_world(self.folder))
        return self._engine

    @property
    def profile(self) -> DataProfile:
        if self._profile is None:
            self._profile = profile_folder(self.folder)
        return self._profile

    @property
    def has_crm(self) -> bool:
        return bool(self.report.crm and self.report.crm.get("contacts"))


def run_import(workspace: Workspace, events: Path, fmt: str = "auto", overrides: Mapping[str, str] | None = None,
               crm: Path | None = None, progress: Callable[[str, float | None], None] | None = None,
               choices: ImportChoices = ImportChoices()) -> Imported:
    """Import into the workspace's world folder (replacing the last import); one-line UserError on bad input."""
    out = workspace.root / "world"
    try:
        report = import_data(str(events), str(out), options(fmt, overrides, choices), None if crm is None else str(crm),
                             progress)
    except UserError as exc:
        raise UserError(clean_message(exc, workspace)) from None
    return Imported(out, report, Path(events).name, None if crm is None else Path(crm).name)


def summary_frame(report: ImportReport) -> pd.DataFrame:
    """Rows read, kept and rejected by reason — every row accounted for."""
    rows = [("rows read", report.rows_read), ("kept", report.kept)]
    rows += [(f"rejected: {reason}", n) for reason, n in sorted(report.rejected.items(), key=lambda kv: (-kv[1], kv[0]))]
    return pd.DataFrame(rows, columns=["rows", "count"])


def facts(report: ImportReport) -> dict[str, str]:
    """The headline figures of the import, as the page's metrics show them."""
    days = (report.last - report.first).total_seconds() / 86400
    return {"Rows read": f"{report.rows_read:,}", "Rows kept": f"{report.kept:,}",
            "Rejected": f"{sum(report.rejected.values()):,}",
            "User ids": f"{report.users:,}", "Anonymous ids": f"{report.anonymous_ids:,}",
            "E-mails": f"{report.emails:,}", "Sessions": f"{report.sessions:,}",
            "Time span": f"{days:,.1f} days"}


def events_frame(report: ImportReport) -> pd.DataFrame:
    return pd.DataFrame(list(report.events_by_type.items()), columns=["event type", "events"])


def first_rejected(imported: Imported, n: int = 20) -> pd.DataFrame:
    """The first ``n`` refused rows with their reason (raw text as written, formula cells neutralised)."""
    return rejected_rows(imported.folder, limit=n)


# --------------------------------------------------------------------------- identity
def identity_frame(imported: Imported) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What identity resolution made of the identifiers (figures with what they mean) and the
    histogram of devices per reachable profile."""
    pic = identity_picture(imported.engine)
    ids = imported.engine.resolution.identifiers
    typ = ids["identifier_type"].astype(str)
    per = pd.crosstab(ids["profile_id"], typ)
    users = imported.profile.counts.get("users", 0)
    rows = [
        ("profiles", pic.get("profiles", 0), "stitched identities the CDP's identity resolution built"),
        ("reachable profiles", pic.get("addressable_profiles"), "with a user id or an e-mail: a sending tool can reach them"),
        ("anonymous profiles", pic.get("anonymous_profiles"), "devices never tied to a login or an e-mail"),
        ("profiles per stitched user", (pic.get("profiles", 0) / users) if users else None,
         f"profiles over the {users:,} users the data shows with one-hop stitching (above 1: the resolution splits people)"),
        ("profiles with 2+ user ids", int((per["user_id"] >= 2).sum()) if "user_id" in per else 0,
         "merges: several logins in one profile (shared devices or an e-mail reused)"),
        ("profiles with 2+ e-mails", pic.get("profiles_with_several_emails"), "merges by e-mail"),
        ("devices split off by a limit", pic.get("anonymous_ids_split_by_limit"),
         "anonymous ids seen with a login but left on their own profile by a per-profile limit (splits)"),
        ("devices per reachable profile", pic.get("devices_per_addressable_profile"), "anonymous ids stitched to each reachable profile"),
        ("reachable profiles on 2+ devices", pic.get("share_addressable_multi_device"), "share"),
        ("events on reachable profiles", pic.get("share_events_on_addressable_profiles"), "share of events"),
    ]
    table = pd.DataFrame(rows, columns=["figure", "value", "what it means"])
    hist = pd.DataFrame(list(pic.get("devices_histogram", {}).items()), columns=["devices", "reachable profiles"])
    return table, hist


# --------------------------------------------------------------------------- plays
def _leaves(c: Condition) -> Iterable[Condition]:
    if isinstance(c, (All, Any_)):
        for item in c.items:
            yield from _leaves(item)
    elif isinstance(c, Not):
        yield from _leaves(c.item)
    else:
        yield c


def events_needed(play: Play, model: str) -> frozenset[str]:
    """The event types a play's rule for ``model`` reads."""
    out: set[str] = set()
    for leaf in _leaves(play.rule(model).root):
        out |= event_types_of(leaf)
    return frozenset(out)


@dataclass(frozen=True)
class PlayCounts:
    counts: pd.DataFrame        # play, title, view, t, members
    skipped: pd.DataFrame       # play, view, reason
    peaks: pd.DataFrame         # title, view, peak members, members at the end


def plays_over_time(imported: Imported, plays: Iterable[Play] | None = None) -> PlayCounts:
    """Member counts of the library plays over the period on the CDP view (and the CRM view when a
    CRM export was imported). A play is left out of a view, with the reason, when its rule reads an
    event the data does not have or a field the CRM export does not have."""
    have = set(imported.report.events_by_type)
    chosen, skipped = {}, []
    for play in (plays if plays is not None else PLAYS.values()):
        views = []
        for view in ("cdp", "crm"):
            if view == "crm" and not imported.has_crm:
                skipped.append({"play": play.title, "view": "crm", "reason": "no CRM export was imported"})
                continue
            missing = sorted(events_needed(play, view) - have)
            if missing:
                skipped.append({"play": play.title, "view": view,
                                "reason": f"needs {', '.join(missing)} events, which the data does not have "
                                          "(if yours go by other names, map them under Event names)"})
                continue
            views.append(view)
        if views:
            chosen[play.name] = (play, tuple(views))
    frames = []
    for name, (play, views) in chosen.items():
        c, why = play_counts(imported.engine, [play], views)
        skipped += [{"play": play.title, "view": s["view"], "reason": s["reason"]} for s in why]
        if len(c):
            c.insert(1, "title", play.title)
            frames.append(c)
    counts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["play", "title", "view", "t", "members"])
    if len(counts):
        g = counts.sort_values("t").groupby(["title", "view"], sort=False)["members"]
        peaks = pd.DataFrame({"peak members": g.max(), "members at the end": g.last()}).reset_index()
    else:
        peaks = pd.DataFrame(columns=["title", "view", "peak members", "members at the end"])
    return PlayCounts(counts, pd.DataFrame(skipped, columns=["play", "view", "reason"]), peaks)


def overlap_frame(imported: Imported, counted: PlayCounts, t: pd.Timestamp | None = None) -> pd.DataFrame:
    """CRM segment vs CDP audience of every play counted on both views, matched by e-mail, at ``t``
    (the end of the data by default)."""
    both = counted.counts.groupby("play")["view"].nunique()
    rows = []
    for name in both[both == 2].index:
        o = crm_cdp_overlap(imported.engine, PLAYS[name], t)
        rows.append({"play": PLAYS[name].title, "CRM contacts": o["crm_members"], "CDP profiles": o["cdp_members"],
                     "both": o["both"], "CRM only": o["crm_only"], "CDP only": o["cdp_only"],
                     "CRM contacts no profile holds": o["crm_without_cdp_profile"],
                     "Jaccard": None if o["jaccard"] is None else round(o["jaccard"], 3)})
    return pd.DataFrame(rows, columns=["play", "CRM contacts", "CDP profiles", "both", "CRM only", "CDP only",
                                       "CRM contacts no profile holds", "Jaccard"])


# --------------------------------------------------------------------------- the twin
def default_twin_people(profile: DataProfile) -> int:
    """The CLI's default size (the data's identified users, 1,000 to 20,000) on the page's size steps."""
    want = min(max(profile.counts.get("identified_users") or profile.counts.get("users", 0), 1000), 20_000)
    return max(p for p in TWIN_PEOPLE if p <= max(want, TWIN_PEOPLE[0]))


@dataclass(frozen=True)
class TwinView:
    fit: TwinFit
    rates: pd.DataFrame          # rate, data, twin, error, fitted, note
    knobs: pd.DataFrame          # knob, preset value, twin value, link value
    link: dict[str, str] | None  # query parameters that open the twin on the other pages
    notes: tuple[str, ...]       # how the linked scenario differs from the twin (or why there is no link)


def build_twin(imported: Imported, people: int, seed: int = 7) -> TwinView:
    """Fit the twin (core.advice.twin) and say how to open it on the other pages."""
    fit, _world = fit_twin(imported.profile, people=int(people), seed=int(seed))
    rates = pd.DataFrame([{"rate": r["label"], "your data": r["data"], "twin": r["twin"], "error": r["error"],
                           "fitted": r["fitted"], "note": r["note"] or ("within ±15%" if r["within"] else "outside ±15%")}
                          for r in fit.rows if r["data"] is not None])
    link, notes, carried = twin_link(fit)
    knobs = pd.DataFrame([{"knob": k, "preset value": fit.defaults.get(k), "twin value": v,
                           "the link opens": carried.get(k)} for k, v in fit.overrides.items()])
    return TwinView(fit, rates, knobs, link, notes)


def twin_verdict(fit: TwinFit) -> str:
    """The sentence beside the twin: ±15% is claimed only when it is true of at least one fitted rate."""
    if not fit.fitted:
        return ("No rate could be fitted (too few observations, or no knob drives them): the twin is the "
                f"{fit.preset} preset as it is.")
    if fit.within:
        return f"Every fitted rate ({fit.fitted}) is within ±15%."
    off = sum(1 for r in fit.rows if r["fitted"] and not r["within"])
    return f"{off} of {fit.fitted} fitted rates are outside ±15%: see the table."


def twin_link(fit: TwinFit) -> tuple[dict[str, str] | None, tuple[str, ...], dict[str, Any]]:
    """URL parameters that open the twin as a scenario, what differs, and each knob as the link opens it.

    The dashboard's scenarios are a preset, seed, size, period length and knob settings, which is
    what a twin is — except that the twin starts on the data's first day (a scenario starts on the
    preset's date) and that a link's knob values are read on the dashboard's knob steps. Both are
    said in the notes; where the scenario cannot carry the twin at all there is no link."""
    catalog = knob_catalog()
    missing = [k for k in fit.overrides if k not in catalog]
    if missing:
        return None, (f"The twin sets {', '.join(missing)}, which the dashboard's scenarios do not offer; "
                      "open it with the CLI ('audience-lab twin --out DIR' and 'audience-lab compare --world DIR').",), {}
    scenario = Scenario.make(fit.preset, fit.seed, fit.people, fit.days, fit.overrides)
    enc = make_link(scenario, default_play(fit.preset).name)
    link = decode_link(enc.params)
    carried = dict(link.scenario.settings)
    if link.scenario.days != fit.days:
        return None, (f"The dashboard cannot open this twin: it covers {fit.days} days, longer than a scenario on "
                      f"these pages can run ({'; '.join(link.warnings) or 'the period does not fit'}). If a few stray "
                      "dates stretch your data, leave them out under What was imported and build the twin again; "
                      "otherwise compare it on the command line ('audience-lab twin --out DIR', then "
                      "'audience-lab compare --world DIR').",), carried
    if link.warnings or link.scenario.people != fit.people:
        why = "; ".join(link.warnings) or "the link cannot carry its size or period"
        return None, (f"The dashboard cannot open this twin as a scenario ({why}); use the CLI "
                      "('audience-lab twin --out DIR', then 'audience-lab compare --world DIR').",), carried
    notes = [f"The scenario starts on the {fit.preset} preset's own date, not on your data's first day "
             f"({fit.start[:10]}); the period is the same length ({fit.days} days)."]
    rounded = []
    for k, v in fit.overrides.items():
        got = carried.get(k, fit.defaults.get(k))
        if isinstance(got, (int, float)) and v and abs(float(got) / float(v) - 1.0) > ROUNDING_NOTE:
            rounded.append(f"{k} {v:.4g} → {float(got):.4g}")
    if rounded:
        notes.append("The dashboard reads knobs on its own steps, so the link opens these knobs rounded "
                     "(the rates they drive move with them): " + "; ".join(rounded) + ".")
    return dict(enc.params), tuple(notes), carried


def query_string(params: Mapping[str, str]) -> str:
    from urllib.parse import urlencode

    return "?" + urlencode(dict(params))


def rates_for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The rate table with errors as signed percentages (the numbers stay numbers)."""
    out = frame.copy()
    out["error"] = [None if e is None or (isinstance(e, float) and np.isnan(e)) else f"{e:+.1%}" for e in out["error"]]
    return out
