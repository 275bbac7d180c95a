"""The lift calculator on a real randomised experiment stored as a CSV (e.g. Hillstrom's).

The same :func:`core.measures.stats.lift_report` that reads simulated campaigns reads real ones, so a
user can check the calculator against published figures before trusting it on synthetic worlds.
The Hillstrom MineThatData e-mail test ships with the package (:func:`hillstrom_path`).

Files come from strangers (the dashboard's upload box), so :func:`inspect_csv` looks at every file
before pandas does, in bounded chunks, and turns each way a file can be hostile or broken into one
:class:`DataError` line that names the file and the problem:

* a file larger than :data:`MAX_FILE_BYTES` (refused from its size alone, before reading a byte);
* a gzip file (detected by its magic bytes, whatever its name) whose content grows past
  :data:`MAX_TEXT_BYTES` — a decompression bomb is refused after reading at most that much;
* binary junk (a NUL byte), UTF-16/32 text, or bytes that are not UTF-8;
* an empty file, a header line longer than :data:`MAX_HEADER_BYTES` (e.g. 10 million columns) or
  with more than :data:`MAX_COLUMNS` columns, a file with a header and no rows.

Nothing here writes anything.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from core.errors import DataError
from core.measures.stats import LiftReport, lift_report

__all__ = [
    "lift_from_csv", "read_arms", "inspect_csv", "read_preview", "check_upload_size", "hillstrom_path",
    "CsvInfo", "MAX_FILE_BYTES", "MAX_TEXT_BYTES", "MAX_HEADER_BYTES", "MAX_COLUMNS",
]

#: Largest file accepted (Streamlit's default upload limit is the same 200 MB).
MAX_FILE_BYTES = 200 * 1024**2
#: Largest text a file may hold once decompressed: a gzip bomb stops here.
MAX_TEXT_BYTES = 200 * 1024**2
#: Longest header line: 1 MiB is tens of thousands of ordinary column names.
MAX_HEADER_BYTES = 1024**2
#: Most columns accepted: an experiment export has a handful; a spreadsheet's maximum is 16,384.
MAX_COLUMNS = 10_000
#: Bytes read (or decompressed) per step while inspecting a file.
READ_CHUNK = 1024**2

_GZIP_MAGIC = b"\x1f\x8b"
_UTF16_32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")


def hillstrom_path() -> Path:
    """The bundled Hillstrom e-mail experiment (gzip'd CSV; source and attribution in data/SOURCE.txt)."""
    return Path(str(resources.files("core.measures") / "data" / "hillstrom.csv.gz"))


def _mb(n: float) -> str:
    return f"{n / 1024**2:,.0f} MB" if n >= 1024**2 else f"{n / 1024:,.0f} KB"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def check_upload_size(n_bytes: int, name: str = "upload") -> None:
    """Refuse a file from its size alone (the dashboard calls this before reading an upload)."""
    if n_bytes > MAX_FILE_BYTES:
        raise DataError(f"{name} is {_mb(n_bytes)}; the limit is {_mb(MAX_FILE_BYTES)} — "
                        "export only the arm, outcome and revenue columns")
    if n_bytes == 0:
        raise DataError(f"{name} is empty (0 bytes); expected a CSV with a header line and one row per person")


@dataclass(frozen=True)
class CsvInfo:
    """What :func:`inspect_csv` learned: how to open the file and its columns."""

    path: Path
    compression: str | None   # "gzip" or None
    columns: tuple[str, ...]  # names with surrounding spaces stripped
    raw_columns: tuple[str, ...]  # names exactly as in the header
    text_bytes: int           # size once decompressed


def _open(path: Path) -> tuple[BinaryIO, str | None]:
    raw = open(path, "rb")  # noqa: SIM115 — closed by the caller
    magic = raw.read(2)
    raw.seek(0)
    if magic == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb"), "gzip"
    return raw, None


def _scan(stream: BinaryIO, name: str, gz: bool) -> tuple[bytes, int]:
    """Read the whole text in chunks: its size, NUL bytes, UTF-8 validity; returns (header, size)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    header = bytearray()
    header_done = False
    total = 0
    first = True
    while True:
        try:
            chunk = stream.read(READ_CHUNK)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{name} is a damaged gzip file ({_one_line(exc)})") from None
        if not chunk:
            break
        if first:
            if chunk.startswith(_UTF16_32_BOMS):
                raise DataError(f"{name} is UTF-16/UTF-32 text; save it as UTF-8 CSV (in Excel: 'CSV UTF-8')")
            if chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8):]
            first = False
        total += len(chunk)
        if total > MAX_TEXT_BYTES:
            what = "decompresses to" if gz else "holds"
            raise DataError(f"{name} {what} more than {_mb(MAX_TEXT_BYTES)} of text (the limit)"
                            + ("; refusing a possible decompression bomb" if gz else ""))
        nul = chunk.find(b"\x00")
        if nul >= 0:
            raise DataError(f"{name} is not a text CSV: binary data (a NUL byte) at byte {total - len(chunk) + nul:,}")
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            at = total - len(chunk) + exc.start
            raise DataError(f"{name} is not UTF-8 text (byte 0x{chunk[exc.start]:02x} at offset {at:,}); "
                            "save it as UTF-8 CSV (in Excel: 'CSV UTF-8')") from None
        if not header_done:
            end = chunk.find(b"\n")
            header += chunk if end < 0 else chunk[:end]
            header_done = end >= 0
            if len(header) > MAX_HEADER_BYTES:
                raise DataError(f"{name} has a header line longer than {_mb(MAX_HEADER_BYTES)} "
                                f"(at most {MAX_COLUMNS:,} columns are accepted)")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise DataError(f"{name} is not UTF-8 text (it ends inside a multi-byte character); save it as UTF-8 CSV") from None
    return bytes(header), total


def inspect_csv(path: str | Path) -> CsvInfo:
    """Check a CSV (plain or gzip) before parsing it; one DataError naming the file and the problem."""
    path = Path(path)
    name = f"CSV {path.name}"
    if not path.exists():
        raise DataError(f"CSV file not found: {path}")
    if not path.is_file():
        raise DataError(f"not a file: {path}")
    size = path.stat().st_size
    check_upload_size(size, name)
    try:
        stream, compression = _open(path)
    except OSError as exc:
        raise DataError(f"cannot read {name}: {_one_line(exc)}") from None
    with stream:
        header, total = _scan(stream, name, compression == "gzip")
    if total == 0:
        raise DataError(f"{name} is empty; expected a header line and one row per person")
    text = header.decode("utf-8").rstrip("\r")
    if not text.strip():
        raise DataError(f"{name} has an empty first line; expected the column names there")
    columns = next(csv.reader(io.StringIO(text)))
    if len(columns) > MAX_COLUMNS:
        raise DataError(f"{name} has {len(columns):,} columns; at most {MAX_COLUMNS:,} are accepted")
    if total - len(header) <= 1:  # nothing after the header but its line break
        raise DataError(f"{name} has a header line but no rows")
    return CsvInfo(path, compression, tuple(c.strip() for c in columns), tuple(columns), total)


def _read(info: CsvInfo, **kwargs: Any) -> pd.DataFrame:
    """pandas on a file :func:`inspect_csv` accepted; parser errors become one DataError line.

    The whole-file read uses pyarrow's parser, which rejects a row with more fields than the
    header (pandas' own parser silently drops the extras when only some columns are read).
    """
    try:
        frame = pd.read_csv(info.path, compression=info.compression, encoding="utf-8-sig", **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError(f"CSV {info.path.name} has a header line but no rows") from None
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError, OSError, EOFError, zlib.error) as exc:
        text = _one_line(exc)
        raise DataError(f"cannot read CSV {info.path.name}: {text[:200]}{'…' if len(text) > 200 else ''}") from None
    return frame.rename(columns=dict(zip(info.raw_columns, info.columns)))


def read_preview(path: str | Path, nrows: int = 2000) -> pd.DataFrame:
    """The first ``nrows`` rows (all columns as text), for choosing arms and outcomes on a page."""
    info = inspect_csv(path)
    return _read(info, nrows=int(nrows), dtype=str)


def _check_columns(found: tuple[str, ...], wanted: list[str], path: Path) -> None:
    missing = [c for c in wanted if c not in found]
    if missing:
        shown = ", ".join(found[:30]) + (f", … ({len(found):,} in all)" if len(found) > 30 else "")
        raise DataError(
            f"column(s) {', '.join(repr(c) for c in missing)} not in {path.name}; columns found: {shown}"
        )


def _numeric(column: pd.Series, name: str) -> np.ndarray:
    """Numbers, or a DataError that quotes a few offending cells."""
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        shown = ", ".join(repr(str(v)[:40]) for v in column[bad].unique()[:3])
        raise DataError(f"column {name!r} must be numeric; found {shown}")
    if values.isna().any():
        raise DataError(f"column {name!r} has {int(values.isna().sum())} empty value(s) in the arms compared")
    out = values.to_numpy(dtype=float)
    if not np.isfinite(out).all():
        raise DataError(f"column {name!r} has infinite values in the arms compared")
    return out


def read_arms(
    path: str | Path, arm_column: str, treatment: str, control: str, columns: list[str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{column: (treated values, control values)}`` for the requested numeric columns.

    Arm labels are compared as text (stripped), so ``--treatment 1`` matches a numeric 1 column.
    """
    path = Path(path)
    if str(treatment).strip() == str(control).strip():
        raise DataError(f"treatment and control are the same arm ({treatment!r}); pick two arms")
    info = inspect_csv(path)
    _check_columns(info.columns, [arm_column, *columns], path)
    raw = dict(zip(info.columns, info.raw_columns))
    usecols = list(dict.fromkeys(raw[c] for c in [arm_column, *columns]))
    frame = _read(info, usecols=usecols, dtype={raw[arm_column]: str}, engine="pyarrow")
    arms = frame[arm_column].fillna("").str.strip()
    is_t, is_c = arms == str(treatment).strip(), arms == str(control).strip()
    for label, mask in ((treatment, is_t), (control, is_c)):
        if not mask.any():
            present = ", ".join(repr(v[:40]) for v in sorted(arms.unique())[:20])
            raise DataError(f"arm {label!r} not found in column {arm_column!r}; values present: {present}")
    return {c: (_numeric(frame.loc[is_t, c], c), _numeric(frame.loc[is_c, c], c)) for c in columns}


def lift_from_csv(
    path: str | Path,
    arm_column: str,
    treatment: str,
    control: str,
    outcome: str,
    binary: bool | None = None,
    *,
    revenue: str | None = None,
    cost_per_send: float = 0.0,
    fixed_cost: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
    min_effect: float | None = None,
    planned_control_share: float | None = None,
    covariate: str | None = None,
) -> LiftReport:
    """Lift of ``treatment`` over ``control`` on ``outcome`` (optionally money from ``revenue``).

    ``min_effect`` is the planned minimum effect (outcome units: 0.005 = +0.5 pp for a 0/1 outcome)
    at which power is judged; ``planned_control_share`` is the planned share of the two arms' units
    in ``control`` (0.5 for Hillstrom's equal thirds) and turns on the sample-ratio-mismatch check;
    ``covariate`` is a pre-period column (Hillstrom: ``history``) for a CUPED-adjusted lift.
    """
    wanted = [outcome] + [c for c in (revenue, covariate) if c is not None]
    columns = list(dict.fromkeys(wanted))
    arms = read_arms(path, arm_column, treatment, control, columns)
    y1, y0 = arms[outcome]
    r1, r0 = arms[revenue] if revenue is not None else (None, None)
    x1, x0 = arms[covariate] if covariate is not None else (None, None)
    try:
        return lift_report(
            y1, y0, binary=binary, alpha=alpha, power=power,
            revenue_treated=r1, revenue_control=r0,
            cost_per_send=cost_per_send, fixed_cost=fixed_cost,
            planned_abs_lift=min_effect, planned_holdout_share=planned_control_share,
            covariate_treated=x1, covariate_control=x0, covariate_name=covariate or "covariate",
        )
    except DataError as exc:
        raise DataError(f"outcome {outcome!r}: {exc}") from None
