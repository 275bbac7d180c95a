"""Recognise an input file — kind, compression, encoding, delimiter, columns — and refuse hostile ones.

Everything here reads at most the first MiB of the file (plus, for gzip, one streaming pass that
counts decompressed bytes without keeping them), so junk is refused before DuckDB parses anything:
binary data, an encoding that is not text, a header line of ten million columns, an empty file,
a gzip bomb, a file over the size limit, a damaged Parquet footer. Each refusal is one
:class:`~core.errors.DataError` line naming the file, the problem and what is accepted.

The header is parsed here, in Python, so that DuckDB is then told every option explicitly
(``auto_detect=false``) and never guesses on a hostile file.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.errors import DataError, UserError
from core.ingest.formats import ENCODINGS
from core.ingest.limits import Limits

DELIMITERS: tuple[str, ...] = (",", "\t", ";", "|")
ACCEPTED = "accepted: CSV (UTF-8, UTF-16 or Latin-1 text), gzip'd CSV, Parquet"

_ARCHIVES = {
    b"PK\x03\x04": "a zip archive (an Excel workbook is one too); unzip it or save the sheet as CSV",
    b"BZh": "a bzip2 archive; decompress it first",
    b"\xfd7zXZ": "an xz archive; decompress it first",
    b"\x28\xb5\x2f\xfd": "a zstd archive; decompress it first",
    b"7z\xbc\xaf": "a 7-zip archive; unpack it first",
}
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Source:
    """A readable input file and every option DuckDB needs to read it without guessing."""

    path: str
    kind: str                       # 'csv' | 'parquet'
    columns: tuple[str, ...]        # header names, made unique and non-empty
    types: tuple[str, ...]          # DuckDB type per column ('VARCHAR' for CSV)
    size: int
    compression: str = "none"       # 'none' | 'gzip'
    encoding: str = "utf-8"
    delimiter: str = ","
    whitespace: bool = False        # columns separated by runs of blanks (e.g. the CDNOW log)
    newline: str = "\n"
    rows: int | None = None         # known for Parquet

    @property
    def name(self) -> str:
        return Path(self.path).name


def inspect_source(path: str | os.PathLike, limits: Limits = Limits(), encoding: str = "auto",
                   role: str = "events") -> Source:
    """Check ``path`` and describe how to read it; raise :class:`DataError` for anything unusable."""
    if encoding not in ENCODINGS:
        raise UserError(f"unknown encoding {encoding!r}; accepted: {', '.join(ENCODINGS)}")
    label = f"{role} file {path}"
    file = Path(path)
    if not file.exists():
        raise DataError(f"{label} does not exist")
    if not file.is_file():
        raise DataError(f"{label} is not a file")
    size = file.stat().st_size
    if size == 0:
        raise DataError(f"{label} is empty")
    if size > limits.max_file_bytes:
        raise DataError(f"{label} is {_gb(size)}; the import accepts files up to {_gb(limits.max_file_bytes)}")
    try:
        with open(file, "rb") as fh:
            magic = fh.read(8)
    except OSError as exc:
        raise DataError(f"cannot read {label}: {exc.strerror or exc}") from None
    if magic.startswith(b"PAR1"):
        return _inspect_parquet(file, size, label, limits)
    for sig, what in _ARCHIVES.items():
        if magic.startswith(sig):
            raise DataError(f"{label} is {what} ({ACCEPTED})")
    gz = magic.startswith(b"\x1f\x8b")
    head, total = (_gzip_head(file, size, label, limits) if gz else (_plain_head(file, limits), size))
    return _inspect_text(str(path), head, total, size, "gzip" if gz else "none", encoding, label, limits)


# --------------------------------------------------------------------------- text


def _plain_head(file: Path, limits: Limits) -> bytes:
    with open(file, "rb") as fh:
        return fh.read(limits.max_header_bytes + 4)


def _gzip_head(file: Path, size: int, label: str, limits: Limits) -> tuple[bytes, int]:
    """The first MiB of decompressed text, and the decompressed size (measured, never held).

    Streams the whole file once: a bomb is refused the moment it passes the ratio or size bound.
    """
    want = limits.max_header_bytes + 4
    head = bytearray()
    total = 0
    bound = min(limits.max_uncompressed_bytes, max(limits.bomb_floor_bytes, int(limits.max_gzip_ratio * size)))
    d = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header, automatic
    in_member = False   # fed a member that has not ended yet
    members = 0         # complete members so far
    member_out = 0      # bytes produced by the current member
    try:
        with open(file, "rb") as fh:
            while chunk := fh.read(1 << 20):
                data = chunk
                while data:
                    in_member = True
                    try:
                        out = d.decompress(data, 16 << 20)
                    except zlib.error:
                        if members and not member_out:
                            return bytes(head), total  # trailing garbage after complete members: gzip ignores it
                        raise
                    data = d.unconsumed_tail
                    total += len(out)
                    member_out += len(out)
                    if len(head) < want:
                        head += out[: want - len(head)]
                    if total > bound:
                        if total > limits.max_uncompressed_bytes:
                            raise DataError(f"{label} expands to more than {_gb(limits.max_uncompressed_bytes)}; "
                                            f"the import accepts up to {_gb(limits.max_uncompressed_bytes)} of text")
                        raise DataError(f"{label} expands more than {limits.max_gzip_ratio:.0f} times its size "
                                        f"(past {_gb(bound)}): refused as a likely zip bomb")
                    if d.eof:
                        members += 1
                        in_member, member_out = False, 0
                        data = d.unused_data
                        d = zlib.decompressobj(wbits=47)  # a further gzip member may follow
    except zlib.error as exc:
        raise DataError(f"{label} is not a valid gzip file ({exc})") from None
    except OSError as exc:
        raise DataError(f"cannot read {label}: {exc.strerror or exc}") from None
    if in_member:
        raise DataError(f"{label} is a truncated gzip file (it ends inside the compressed data)")
    if total == 0:
        raise DataError(f"{label} is empty (the gzip file holds no data)")
    return bytes(head), total


def _decode_head(head: bytes, encoding: str, label: str, truncated: bool) -> tuple[str, str]:
    """Decoded head text and the encoding to hand DuckDB."""
    if encoding == "auto":
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        else:
            encoding = "utf-8"
    if encoding in ("utf-8", "latin-1") and b"\x00" in head[:65536]:
        at = head.index(b"\x00")
        raise DataError(f"{label} is not text (a NUL byte at offset {at}): binary data, not a CSV ({ACCEPTED})")
    codec = {"utf-8": "utf-8-sig", "utf-16": "utf-16", "latin-1": "latin-1"}[encoding]
    dec = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        text = dec.decode(head, final=not truncated)
    except UnicodeDecodeError as exc:
        bad = head[exc.start:exc.start + 1].hex()
        hint = " or pass --encoding latin-1" if encoding == "utf-8" else ""
        raise DataError(f"{label} is not {encoding.upper()} text (byte 0x{bad} at offset {exc.start}); "
                        f"save it as UTF-8{hint}") from None
    sample = text[:65536]
    if sample and len(_CONTROL.findall(sample)) > max(8, len(sample) // 100):
        raise DataError(f"{label} is not text (control characters throughout): binary data, not a CSV ({ACCEPTED})")
    return text, encoding


def _inspect_text(path: str, head: bytes, total: int, size: int, compression: str, encoding: str,
                  label: str, limits: Limits) -> Source:
    truncated = total > len(head)
    text, encoding = _decode_head(head, encoding, label, truncated)
    if not text.strip():
        raise DataError(f"{label} is empty (only blank lines)")
    text = text.lstrip("\r\n")
    nl = text.find("\n")
    if nl < 0:
        if truncated or len(head) > limits.max_header_bytes:
            n = max(text.count(","), text.count("\t"), text.count(";"))
            raise DataError(f"the header line of {label} is longer than {limits.max_header_bytes // 1024} KiB "
                            f"({n:,}+ columns); at most {limits.max_columns:,} columns are accepted")
        raise DataError(f"{label} has a header line but no data rows")
    line = text[:nl]
    newline = "\r\n" if line.endswith("\r") else "\n"
    line = line.rstrip("\r")
    if len(line.encode("utf-8", "replace")) > limits.max_header_bytes:
        raise DataError(f"the header line of {label} is longer than {limits.max_header_bytes // 1024} KiB; "
                        f"at most {limits.max_columns:,} columns are accepted")
    if not text[nl + 1:].strip() and not truncated:
        raise DataError(f"{label} has a header line but no data rows")
    delimiter, whitespace = _delimiter(line)
    rough = len(line.split()) if whitespace else line.count(delimiter) + 1
    if rough > limits.max_columns:
        raise DataError(f"{label} has {rough:,} columns in its header; at most {limits.max_columns:,} are accepted")
    names = line.split() if whitespace else next(csv.reader(io.StringIO(line), delimiter=delimiter))
    columns = unique_names(names)
    return Source(path=path, kind="csv", columns=columns, types=("VARCHAR",) * len(columns), size=size,
                  compression=compression, encoding=encoding, delimiter=delimiter, whitespace=whitespace,
                  newline=newline)


def _delimiter(line: str) -> tuple[str, bool]:
    """The delimiter of a header line (the most frequent outside quotes), or whitespace runs."""
    outside = re.sub(r'"[^"]*"', "", line)
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    if counts[best]:
        return best, False
    if re.search(r"\S\s+\S", line.strip()):
        return " ", True
    return ",", False


def unique_names(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Header names stripped, blanks named ``column_N``, repeats suffixed ``_2``, ``_3``…"""
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(names, start=1):
        name = str(raw).strip().strip('"').strip() or f"column_{i}"
        base, k = name, 2
        while name.lower() in seen:
            name = f"{base}_{k}"
            k += 1
        seen.add(name.lower())
        out.append(name)
    return tuple(out)


# --------------------------------------------------------------------------- parquet


def _inspect_parquet(file: Path, size: int, label: str, limits: Limits) -> Source:
    try:
        with open(file, "rb") as fh:
            if size < 12:
                raise DataError(f"{label} is a damaged Parquet file (too short)")
            fh.seek(size - 8)
            tail = fh.read(8)
    except OSError as exc:
        raise DataError(f"cannot read {label}: {exc.strerror or exc}") from None
    footer = struct.unpack("<i", tail[:4])[0]
    if tail[4:] != b"PAR1" or footer <= 0 or footer > size - 12:
        raise DataError(f"{label} is a damaged Parquet file (truncated or corrupt footer)")
    if footer > 64 * 1024 * 1024:
        raise DataError(f"{label} has a Parquet footer of {footer / 2**20:.0f} MiB; refused (at most 64 MiB)")
    con = duckdb.connect()
    try:
        con.execute("SET memory_limit = ?", [limits.memory_limit])
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(file)]).fetchall()
        if len(described) > limits.max_columns:
            raise DataError(f"{label} has {len(described):,} columns; at most {limits.max_columns:,} are accepted")
        rows = con.execute("SELECT COALESCE(sum(num_rows), 0) FROM parquet_file_metadata(?)", [str(file)]).fetchone()[0]
    except duckdb.Error as exc:
        raise DataError(f"{label} is not a readable Parquet file ({_first_line(exc)})") from None
    finally:
        con.close()
    if rows == 0:
        raise DataError(f"{label} holds no rows")
    names = unique_names([d[0] for d in described])
    return Source(path=str(file), kind="parquet", columns=names, types=tuple(str(d[1]) for d in described),
                  size=size, rows=int(rows))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _gb(n: int) -> str:
    return f"{n / 1024**3:.1f} GiB" if n >= 1024**3 else f"{n / 1024**2:.1f} MiB"
