"""What a landing file is before Spark reads it: encoding, header, data lines, and what was odd about it.

Pure Python over the file's bytes. The profile decides how Spark reads the file (or that it
cannot), gives the independent line count that the row-conservation check holds bronze to,
and names every quirk the pipeline tolerated so stewards see it in the error table.
"""

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass

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
_BLANK_LINE_START = re.compile(r"\n(?=[^\S\n]*(?:\n|\Z))")
"""A line feed that starts a blank line (only whitespace up to the next line feed or the end of the text)."""


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


UTF8_BOM = b"\xef\xbb\xbf"


def decode(content: bytes) -> tuple[str, str, str | None]:
    """The file's text without a leading UTF-8 byte-order mark, the charset it was read with, and a notice when it
    was not UTF-8.

    The mark is set aside before the charset is judged: an exporter may write it in front of
    Latin-1 bytes, and the file is then read as Latin-1 rather than rejected.
    """
    body = content.removeprefix(UTF8_BOM)
    try:
        return body.decode("utf-8"), UTF8, None
    except UnicodeDecodeError as error:
        offset = error.start + len(content) - len(body)
        notice = (
            f"the file is not valid UTF-8 (byte 0x{content[offset]:02X} at offset {offset}); "
            "read as Latin-1 (ISO-8859-1)"
        )
        return body.decode("latin-1"), LATIN1, notice


def text_lines(text: str) -> list[str]:
    """The file's lines as Spark splits them, line breaks removed."""
    lines = _LINE_BREAK.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def data_lines(text: str) -> list[str]:
    """The non-blank lines after the header: what Spark's CSV reader turns into rows."""
    return [line for line in text_lines(text)[1:] if line.strip()]


def count_data_lines(text: str) -> int:
    """How many lines `data_lines` returns, counted without building them (a landing file holds up to millions).

    Line breaks become line feeds; the data lines are then the line feeds after the header's,
    less those starting a blank line.
    """
    body = text.replace("\r\n", "\n").replace("\r", "\n").removesuffix("\n")
    header_end = body.find("\n")
    if header_end < 0:
        return 0
    after_header = body[header_end:]
    return after_header.count("\n") - len(_BLANK_LINE_START.findall(after_header))


def clean_header(header: Sequence[str]) -> tuple[str, ...]:
    """Header names without a byte-order mark or surrounding blanks."""
    return tuple(name.strip().lstrip("\ufeff").strip() for name in header)


def header_problem(header: Sequence[str]) -> str | None:
    """Why a file with this header row cannot be read as the source format; None when it can.

    Column order does not matter and extra columns are ignored (columns are matched by name);
    a byte-order mark and surrounding blanks are tolerated.
    """
    names = clean_header(header)
    if not names or names == ("",):
        return EMPTY_FILE_PROBLEM
    missing = [name for name in SOURCE_COLUMNS if name not in names]
    if missing:
        return f"the header lacks column(s) {', '.join(missing)}; header was: {','.join(names)}"
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        return f"the header repeats column(s) {', '.join(repeated)}"
    return None


def profile_landing_file(content: bytes) -> FileProfile:
    """Profile a landing file's bytes: decode, split lines, check the header, list the quirks."""
    text, encoding, encoding_notice = decode(content)
    header_line = _LINE_BREAK.split(text, maxsplit=1)[0]
    header = clean_header(next(csv.reader([header_line]), [])) if header_line.strip() else ()
    rows = count_data_lines(text)
    problem = header_problem(header)
    notices = []
    if encoding_notice:
        notices.append((DECODED_AS_LATIN1, encoding_notice))
    if content.startswith(UTF8_BOM):
        notices.append((UTF8_BOM_REMOVED, "the file starts with a UTF-8 byte-order mark; it was ignored"))
    if "\r\n" in text:
        notices.append((CRLF_LINE_ENDINGS, "the file has Windows (CRLF) line endings; read as ordinary lines"))
    if problem is None:
        extra = [name for name in header if name not in SOURCE_COLUMNS]
        if extra:
            notices.append(
                (
                    EXTRA_COLUMNS_DROPPED,
                    f"column(s) {', '.join(extra)} are not source columns; their values were dropped",
                )
            )
        if tuple(name for name in header if name in SOURCE_COLUMNS) != SOURCE_COLUMNS:
            notices.append((COLUMNS_REORDERED, f"columns arrive in another order ({','.join(header)}); read by name"))
        if not rows:
            notices.append((HEADER_ONLY_FILE, "the file has a header but no data rows: a day without sales"))
    return FileProfile(header, header_line, encoding, rows, problem, tuple(notices))
