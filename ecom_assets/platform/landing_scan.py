"""Reading a delivered text file as a stream: its hash, charset, line breaks, lines and the first line over a limit.

Pure Python over the file's bytes, streamed in chunks: a file of any size costs the same memory,
bounded by the longest line the limits allow. Lines split as Spark's line reader splits them
(CR, LF or CRLF); the first line is the header, and the other non-blank lines are data lines.
"""

import codecs
import contextlib
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

from resources.landing import CHUNK_BYTES
from resources.untrusted import LandingLimits

DEFAULT_LIMITS = LandingLimits()


UTF8 = "UTF-8"


LATIN1 = "ISO-8859-1"


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""Line breaks as Spark's line reader splits them (not `str.splitlines`, which also splits on NEL etc.)."""


UTF8_BOM = b"\xef\xbb\xbf"


def count_file_data_lines(
    opener: Callable[[], AbstractContextManager[BinaryIO]], limits: LandingLimits = DEFAULT_LIMITS
) -> int:
    """The data lines of a file (non-blank lines after the first), streamed as `profile_landing_file` counts them."""
    scan = scan_file(opener, UTF8, limits)
    return (scan_file(opener, LATIN1, limits) if scan.utf8_error is not None else scan).data_lines


def bytes_opener(content: bytes) -> Callable[[], AbstractContextManager[BinaryIO]]:
    return lambda: contextlib.nullcontext(io.BytesIO(content))


@dataclass
class FileScan:
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


def scan_file(opener: Callable[[], AbstractContextManager[BinaryIO]], encoding: str, limits: LandingLimits) -> FileScan:
    """One pass: hash, BOM, line breaks, the header line, the data lines and the first line over the limit.

    A pass as UTF-8 stops at the first byte that is not UTF-8 (recorded in `utf8_error`).
    """
    scan = FileScan(encoding)
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


def _count_lines(scan: FileScan, lines: list[str], limit: int) -> None:
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


def _count_long_line(scan: FileScan, blank: bool) -> None:
    """Count a line over the limit whose text was dropped (the header's, if it is the first)."""
    if scan.lines == 0:
        scan.header_line = None
    elif not blank:
        scan.data_lines += 1
    scan.lines += 1
