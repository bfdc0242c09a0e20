"""What a landing file is before Spark reads it: encoding, header, data lines, and what was odd about it.

Pure Python over the file's bytes, streamed in chunks: a file of any size costs the same memory,
bounded by the longest line the limits allow. The profile decides how Spark reads the file (or
that it cannot), gives the independent line count that the row-conservation check holds bronze
to, and names every quirk the pipeline tolerated so stewards see it in the error table.
"""

import codecs
import contextlib
import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

from resources.landing import CHUNK_BYTES
from resources.untrusted import LandingLimits, safe_text

SOURCE_COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
UTF8 = "UTF-8"
LATIN1 = "ISO-8859-1"
EMPTY_FILE_PROBLEM = "the file is empty: no header row"

# Notices: tolerated quirks. They go to the error table as one file-level row each; no data row is lost.
HEADER_ONLY_FILE = "header_only_file"
COLUMNS_REORDERED = "columns_reordered"
EXTRA_COLUMNS_DROPPED = "extra_columns_dropped"
UTF8_BOM_REMOVED = "utf8_bom_removed"
CRLF_LINE_ENDINGS = "crlf_line_endings"
DECODED_AS_LATIN1 = "decoded_as_latin1"

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""Line breaks as Spark's line reader splits them (not `str.splitlines`, which also splits on NEL etc.)."""


@dataclass(frozen=True)
class FileProfile:
    """A landing file as found: its header, the charset to read it with, its data lines and quirks.

    `problem` says why the file cannot be read as the source format (None when it can);
    `notices` are (type, message) pairs for quirks that were handled.
    """

    header: tuple[str, ...]
    header_line: str
    encoding: str
    data_lines: int
    problem: str | None
    notices: tuple[tuple[str, str], ...]
    sha256: str = ""
    size: int = 0
    lines_kept_with_file: bool = False
    """A line is too long to be copied to the error table: the file's lines stay in the quarantined file."""
    readable: bool = True
    """False when the file was refused before a byte was read (a link, a folder, a file that vanished)."""


UTF8_BOM = b"\xef\xbb\xbf"
DEFAULT_LIMITS = LandingLimits()


def clean_header(header: Sequence[str]) -> tuple[str, ...]:
    """Header names without a byte-order mark or surrounding blanks."""
    return tuple(name.strip().lstrip("\ufeff").strip() for name in header)


def header_problem(header: Sequence[str], limits: LandingLimits = DEFAULT_LIMITS) -> str | None:
    """Why a file with this header row cannot be read as the source format; None when it can.

    Column order does not matter and extra columns are ignored (columns are matched by name);
    a byte-order mark and surrounding blanks are tolerated. The text names what was found, cut to
    `limits.max_message_chars`.
    """
    names = clean_header(header)
    if not names or names == ("",):
        return EMPTY_FILE_PROBLEM
    if len(names) > limits.max_columns:
        return f"the header names {len(names)} columns, more than the limit of {limits.max_columns}"
    missing = [name for name in SOURCE_COLUMNS if name not in names]
    if missing:
        return safe_text(
            f"the header lacks column(s) {', '.join(missing)}; it has {len(names)} column(s): {','.join(names)}",
            limits.max_message_chars,
        )
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        return safe_text(f"the header repeats column(s) {', '.join(repeated)}", limits.max_message_chars)
    return None


def profile_landing_file(
    source: bytes | Callable[[], AbstractContextManager[BinaryIO]], limits: LandingLimits = DEFAULT_LIMITS
) -> FileProfile:
    """Profile a landing file as a stream (bytes, or a function opening one): decode, count lines, check the
    header, list the quirks, hash it. Memory stays bounded by `limits.max_line_chars` whatever the file's size.

    The file is read once when it is UTF-8; a file that is not is read a second time as Latin-1.
    """
    opener = _bytes_opener(source) if isinstance(source, bytes) else source
    scan = _scan(opener, UTF8, limits)
    if scan.utf8_error is not None:
        utf8_error = scan.utf8_error
        scan = _scan(opener, LATIN1, limits)
        scan.utf8_error = utf8_error
    return _profile(scan, limits)


def count_file_data_lines(
    opener: Callable[[], AbstractContextManager[BinaryIO]], limits: LandingLimits = DEFAULT_LIMITS
) -> int:
    """The data lines of a file (non-blank lines after the first), streamed as `profile_landing_file` counts them."""
    scan = _scan(opener, UTF8, limits)
    return (_scan(opener, LATIN1, limits) if scan.utf8_error is not None else scan).data_lines


def _bytes_opener(content: bytes) -> Callable[[], AbstractContextManager[BinaryIO]]:
    return lambda: contextlib.nullcontext(io.BytesIO(content))


@dataclass
class _Scan:
    """What one streaming pass over a file found."""

    encoding: str
    sha256: str = ""
    size: int = 0
    bom: bool = False
    crlf: bool = False
    header_line: str | None = None
    lines: int = 0
    data_lines: int = 0
    long_line: int | None = None
    utf8_error: tuple[int, int] | None = None
    """(byte, offset) of the first byte that is not UTF-8."""


def _scan(opener: Callable[[], AbstractContextManager[BinaryIO]], encoding: str, limits: LandingLimits) -> _Scan:
    """One pass: hash, BOM, line breaks, the header line, the data lines and the first line over the limit.

    A pass as UTF-8 stops at the first byte that is not UTF-8 (recorded in `utf8_error`).
    """
    scan = _Scan(encoding)
    limit = limits.max_line_chars
    decoder = codecs.getincrementaldecoder("utf-8" if encoding == UTF8 else "latin-1")("strict")
    digest = hashlib.sha256()
    carry = ""
    skipping = False  # inside a line over the limit: its text is dropped up to its end
    skipped_text = False
    with opener() as handle:
        for chunk, final in _chunks_with_end(handle):
            offset = scan.size
            digest.update(chunk)
            scan.size += len(chunk)
            if offset == 0 and chunk.startswith(UTF8_BOM):
                scan.bom, chunk, offset = True, chunk[len(UTF8_BOM) :], len(UTF8_BOM)
            pending_bytes = len(decoder.getstate()[0])
            try:
                text = decoder.decode(chunk, final)
            except UnicodeDecodeError as error:
                scan.utf8_error = (error.object[error.start], offset - pending_bytes + error.start)
                return scan
            text = carry + text
            carry = ""
            if not final and text.endswith("\r"):
                text, carry = text[:-1], "\r"  # a CRLF may be split between chunks
            scan.crlf = scan.crlf or "\r\n" in text
            if skipping:
                end = _LINE_BREAK.search(text)
                if end is None:
                    skipped_text = skipped_text or bool(text.strip())
                    continue
                skipped_text = skipped_text or bool(text[: end.start()].strip())
                _count_long_line(scan, not skipped_text)
                text, skipping = text[end.end() :], False
            lines = _LINE_BREAK.split(text)
            rest = lines.pop()
            if final and rest:
                lines.append(rest)
                rest = ""
            _count_lines(scan, lines, limit)
            if len(rest) > limit:
                scan.long_line = scan.long_line or scan.lines + 1
                skipping, skipped_text = True, bool(rest.strip())
            else:
                carry = rest + carry
        if skipping:
            _count_long_line(scan, not skipped_text)
    scan.sha256 = digest.hexdigest()
    return scan


def _chunks_with_end(handle: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """The stream's chunks, each with whether it is the last; the first holds at least the byte-order mark's
    length (a short read is topped up), and an empty stream gives one empty last chunk."""
    current = handle.read(CHUNK_BYTES)
    while 0 < len(current) < len(UTF8_BOM):
        more = handle.read(CHUNK_BYTES)
        if not more:
            break
        current += more
    while True:
        following = handle.read(CHUNK_BYTES) if current else b""
        yield current, not following
        if not following:
            return
        current = following


def _count_lines(scan: _Scan, lines: list[str], limit: int) -> None:
    """Count complete lines: the first is the header, the non-blank others data lines; note the first too long."""
    if not lines:
        return
    data = sum(map(bool, map(str.strip, lines)))
    if scan.lines == 0:
        scan.header_line = lines[0] if len(lines[0]) <= limit else None
        data -= 1 if lines[0].strip() else 0
    if scan.long_line is None and max(map(len, lines)) > limit:
        scan.long_line = scan.lines + next(number for number, line in enumerate(lines, 1) if len(line) > limit)
    scan.lines += len(lines)
    scan.data_lines += data


def _count_long_line(scan: _Scan, blank: bool) -> None:
    """Count a line over the limit whose text was dropped (the header's, if it is the first)."""
    if scan.lines == 0:
        scan.header_line = None
    elif not blank:
        scan.data_lines += 1
    scan.lines += 1


def _profile(scan: _Scan, limits: LandingLimits) -> FileProfile:
    header_line = scan.header_line or ""
    problem = None
    header: tuple[str, ...] = ()
    if scan.long_line is not None:
        problem = (
            f"line {scan.long_line} is longer than the limit of {limits.max_line_chars} characters: the file is"
            " kept whole in quarantine, none of its lines is read"
        )
    elif header_line.strip():
        try:
            header = clean_header(next(csv.reader([header_line]), []))
        except csv.Error as error:
            problem = safe_text(f"the header cannot be split into columns: {error}", limits.max_message_chars)
    data_lines = scan.data_lines
    if problem is None:
        problem = header_problem(header, limits)
    notices = []
    if scan.utf8_error is not None:
        byte, offset = scan.utf8_error
        notices.append(
            (
                DECODED_AS_LATIN1,
                f"the file is not valid UTF-8 (byte 0x{byte:02X} at offset {offset}); read as Latin-1 (ISO-8859-1)",
            )
        )
    if scan.bom:
        notices.append((UTF8_BOM_REMOVED, "the file starts with a UTF-8 byte-order mark; it was ignored"))
    if scan.crlf:
        notices.append((CRLF_LINE_ENDINGS, "the file has Windows (CRLF) line endings; read as ordinary lines"))
    if problem is None:
        extra = [name for name in header if name not in SOURCE_COLUMNS]
        if extra:
            notices.append(
                (
                    EXTRA_COLUMNS_DROPPED,
                    safe_text(
                        f"{len(extra)} column(s) are not source columns; their values were dropped: {', '.join(extra)}",
                        limits.max_message_chars,
                    ),
                )
            )
        if tuple(name for name in header if name in SOURCE_COLUMNS) != SOURCE_COLUMNS:
            notices.append(
                (
                    COLUMNS_REORDERED,
                    safe_text(f"columns arrive in another order ({','.join(header)}); read by name", 400),
                )
            )
        if not data_lines:
            notices.append((HEADER_ONLY_FILE, "the file has a header but no data rows: a day without sales"))
    return FileProfile(
        header,
        safe_text(header_line, limits.max_message_chars),
        scan.encoding,
        data_lines,
        problem,
        tuple(notices),
        sha256=scan.sha256,
        size=scan.size,
        lines_kept_with_file=scan.long_line is not None,
    )


def refused_file_profile(problem: str) -> FileProfile:
    """The profile of a file that was not read at all (a link, a folder, a file that vanished): only why."""
    return FileProfile((), "", UTF8, 0, problem, (), readable=False)
