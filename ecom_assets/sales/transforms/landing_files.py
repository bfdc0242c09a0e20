"""What a landing file is before Spark reads it: encoding, header, data lines, and what was odd about it.

Pure Python over the file's bytes, streamed (`platform.landing_scan`): a file of any size costs the
same memory, bounded by the longest line the limits allow. The profile decides how Spark reads the file (or
that it cannot), gives the independent line count that the row-conservation check holds bronze
to, and names every quirk the pipeline tolerated so stewards see it in the error table.
"""

import csv
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

from ecom_assets.platform.landing_scan import LATIN1, UTF8, FileScan, bytes_opener, scan_file
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
EMPTY_FILE_PROBLEM = "the file is empty: no header row"

# Notices: tolerated quirks. They go to the error table as one file-level row each; no data row is lost.
HEADER_ONLY_FILE = "header_only_file"
COLUMNS_REORDERED = "columns_reordered"
EXTRA_COLUMNS_DROPPED = "extra_columns_dropped"
UTF8_BOM_REMOVED = "utf8_bom_removed"
CRLF_LINE_ENDINGS = "crlf_line_endings"
DECODED_AS_LATIN1 = "decoded_as_latin1"


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
    opener = bytes_opener(source) if isinstance(source, bytes) else source
    scan = scan_file(opener, UTF8, limits)
    if scan.utf8_error is not None:
        utf8_error = scan.utf8_error
        scan = scan_file(opener, LATIN1, limits)
        scan.utf8_error = utf8_error
    return _profile(scan, limits)


def _profile(scan: FileScan, limits: LandingLimits) -> FileProfile:
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
