"""The operational feeds' delivery contract: file layout, columns, the trigger file and its verification.

Other systems write to this contract (the README documents it):

- a feed file: `raw/<domain>/YYYY/MM/DD/<domain>_YYYY_MM_DD.csv`, header row, UTF-8, comma-separated,
  columns exactly `FEED_COLUMNS[domain]` in that order;
- the trigger, written last: `raw/triggers/trigger_YYYY_MM_DD.json`, naming every file of the batch
  with its data rows and SHA-256.

After a batch succeeds its files and trigger move under `archive/` with the same relative paths.
Pure Python: the feed assets and the trigger sensor share it.
"""

import contextlib
import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

from ecom_assets.platform.dates import date_in_path
from resources.landing import stream_chunks
from resources.untrusted import LandingLimits, PathRefused, safe_text

DEFAULT_LIMITS = LandingLimits()

RAW_PREFIX = "raw"
ARCHIVE_PREFIX = "archive"
TRIGGER_FOLDER = "triggers"

FEED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "customers": (
        "customer_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "date_of_birth",
        "registration_date",
        "address",
        "city",
        "state",
        "zip_code",
        "country",
        "customer_tier",
        "last_login",
        "created_timestamp",
    ),
    "products": (
        "product_id",
        "product_name",
        "category",
        "subcategory",
        "brand",
        "price",
        "currency",
        "stock_quantity",
        "weight_kg",
        "dimensions_cm",
        "color",
        "material",
        "description",
        "launch_date",
        "discontinued",
        "created_timestamp",
    ),
    "inventory": (
        "product_id",
        "stock_quantity",
        "stock_status",
        "warehouse_location",
        "last_updated",
        "created_timestamp",
    ),
    "shipping": (
        "order_id",
        "shipping_method",
        "shipping_cost",
        "currency",
        "tracking_number",
        "package_weight",
        "dimensions_cm",
        "estimated_delivery",
        "actual_delivery",
        "created_timestamp",
    ),
}
"""Each feed's columns, in the order its file must have them."""
FEED_DOMAINS = tuple(FEED_COLUMNS)
_TRIGGER_NAME = re.compile(r"(?:^|/)trigger_(\d{4})_(\d{2})_(\d{2})\.json$")


def feed_file_path(domain: str, day: date) -> str:
    """A feed file's path relative to `raw/`, as the trigger names it: `<domain>/YYYY/MM/DD/<domain>_YYYY_MM_DD.csv`."""
    return f"{domain}/{day:%Y/%m/%d}/{domain}_{day:%Y_%m_%d}.csv"


def trigger_path(day: date) -> str:
    """A day's trigger path relative to `raw/` (and to `archive/` once archived)."""
    return f"{TRIGGER_FOLDER}/trigger_{day:%Y_%m_%d}.json"


def trigger_day(path: str) -> date | None:
    """The business day a trigger file's name states (`trigger_YYYY_MM_DD.json`); None for another name."""
    return date_in_path(_TRIGGER_NAME, path)


class TriggerError(ValueError):
    """A trigger file that does not follow the contract."""


@dataclass(frozen=True)
class TriggerFile:
    """One file a trigger announces: its domain, path relative to `raw/`, data rows and SHA-256."""

    domain: str
    path: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Trigger:
    """A day's trigger: the batch it starts and the files that make it up."""

    batch_id: str
    business_date: date
    created_at: datetime
    files: tuple[TriggerFile, ...]

    def file_for(self, domain: str) -> TriggerFile | None:
        """The announced file of a domain; None when the batch has none."""
        return next((file for file in self.files if file.domain == domain), None)

    def to_json(self) -> str:
        """The trigger as the contract writes it."""
        return json.dumps(
            {
                "batch_id": self.batch_id,
                "business_date": self.business_date.isoformat(),
                "created_at": self.created_at.isoformat(),
                "files": [
                    {"domain": file.domain, "path": file.path, "rows": file.rows, "sha256": file.sha256}
                    for file in self.files
                ],
            },
            indent=2,
        )


MAX_ROWS = 10**12
"""More data rows than any file can hold: a trigger stating more is refused."""
_BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a number the contract allows")


def parse_trigger(content: bytes, limits: LandingLimits = DEFAULT_LIMITS) -> Trigger:
    """Read a trigger file; raises `TriggerError` saying what breaks the contract (never quoting its bytes).

    Whatever the bytes (too large, nested too deep, `Infinity`, huge numbers, wrong types), the
    answer is a `Trigger` or a `TriggerError`.
    """
    if len(content) > limits.max_trigger_bytes:
        raise TriggerError(f"trigger is {len(content)} bytes, more than the limit of {limits.max_trigger_bytes}")
    try:
        document = json.loads(content.decode("utf-8"), parse_constant=_no_constants)
    except RecursionError:
        raise TriggerError("trigger is nested deeper than a trigger can be") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise TriggerError(f"trigger is not UTF-8 JSON: {safe_text(error, 200)}") from None
    except Exception as error:  # noqa: BLE001 - any failure of the reader is a refused trigger
        raise TriggerError(f"trigger cannot be read ({type(error).__name__})") from None
    if not isinstance(document, dict):
        raise TriggerError("trigger is not a JSON object")
    missing = [name for name in ("batch_id", "business_date", "created_at", "files") if name not in document]
    if missing:
        raise TriggerError(f"trigger lacks {', '.join(missing)}")
    batch_id, files = document["batch_id"], document["files"]
    if not isinstance(batch_id, str) or not _BATCH_ID.fullmatch(batch_id):
        raise TriggerError("trigger's batch_id is not 1-128 letters, digits or ._:@+- (starting with one of the first)")
    try:
        business_date = date.fromisoformat(document["business_date"])
        created_at = datetime.fromisoformat(document["created_at"])
    except (TypeError, ValueError) as error:
        raise TriggerError(f"trigger has a bad business_date or created_at: {safe_text(error, 200)}") from None
    if not isinstance(files, list) or not files:
        raise TriggerError("trigger lists no files")
    if len(files) > limits.max_files_per_trigger:
        raise TriggerError(f"trigger lists {len(files)} files, more than the limit of {limits.max_files_per_trigger}")
    entries = tuple(_trigger_file(index, entry) for index, entry in enumerate(files, 1))
    return Trigger(batch_id, business_date, created_at, entries)


def _trigger_file(index: int, entry: object) -> TriggerFile:
    """A file entry of a trigger, its types checked (its domain and path are judged by `verify_batch`)."""
    where = f"trigger file entry {index}"
    if not isinstance(entry, dict):
        raise TriggerError(f"{where} is not a JSON object")
    missing = [name for name in ("domain", "path", "rows", "sha256") if name not in entry]
    if missing:
        raise TriggerError(f"{where} lacks {', '.join(missing)}")
    domain, path, rows, sha256 = entry["domain"], entry["path"], entry["rows"], entry["sha256"]
    if not isinstance(domain, str) or not isinstance(path, str):
        raise TriggerError(f"{where}: domain and path must be strings")
    if type(rows) is not int or not 0 <= rows <= MAX_ROWS:
        raise TriggerError(f"{where}: rows must be a whole number from 0 to {MAX_ROWS}")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise TriggerError(f"{where}: sha256 must be 64 hexadecimal digits")
    return TriggerFile(domain, path, rows, sha256.lower())


@dataclass(frozen=True)
class FeedFileFacts:
    """A feed file as streamed: its SHA-256, data rows (CSV records after the header) and header; `problem` says
    why it could not be read to its end (the other facts are then incomplete)."""

    sha256: str
    rows: int
    header: tuple[str, ...]
    problem: str | None = None


class _LineTooLong(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _text_lines(chunks: Iterable[bytes], digest: "hashlib._Hash", limit: int) -> Iterator[str]:
    """The stream's lines (each with its line feed) as UTF-8 text (bad bytes replaced), hashing every byte;
    raises `_LineTooLong` once a line passes `limit` bytes, before it is held whole."""
    carry = b""
    number = 0
    for chunk in chunks:
        digest.update(chunk)
        lines = (carry + chunk).split(b"\n")
        carry = lines.pop()
        for line in lines:
            number += 1
            if len(line) > limit:
                raise _LineTooLong(number)
            yield line.decode("utf-8", errors="replace") + "\n"
        if len(carry) > limit:
            raise _LineTooLong(number + 1)
    if carry:
        yield carry.decode("utf-8", errors="replace")


def feed_file_facts(chunks: Iterable[bytes], limits: LandingLimits = DEFAULT_LIMITS) -> FeedFileFacts:
    """Hash and count a feed file streamed in `chunks`, in memory bounded by `limits.max_line_chars`: records
    after the header row (quoted line breaks stay inside their record) and the header's names (a byte-order mark
    dropped)."""
    digest = hashlib.sha256()
    reader = csv.reader(_text_lines(chunks, digest, limits.max_line_chars))
    header: tuple[str, ...] = ()
    rows = 0
    try:
        first = next(reader, [])
        if len(first) > limits.max_columns:
            return FeedFileFacts("", 0, (), f"its header names {len(first)} columns, more than {limits.max_columns}")
        header = tuple(name.strip() for name in first)
        if header:
            header = (header[0].lstrip("\ufeff").strip(), *header[1:])
        rows = sum(1 for record in reader if record)
    except _LineTooLong as error:
        return FeedFileFacts("", 0, header, f"line {error.line} is longer than the limit of {limits.max_line_chars}")
    except csv.Error as error:
        return FeedFileFacts("", 0, header, safe_text(f"record {reader.line_num} cannot be read: {error}", 200))
    return FeedFileFacts(digest.hexdigest(), rows, header)


def data_rows(content: bytes) -> int:
    """Records after the header row of a CSV file (quoted line breaks stay inside their record)."""
    return feed_file_facts([content]).rows


def header_of(content: bytes) -> tuple[str, ...]:
    """The header row's column names (a UTF-8 byte-order mark dropped)."""
    return feed_file_facts([content]).header


FileOpener = Callable[[str], AbstractContextManager[BinaryIO]]
"""Opens a file by its path relative to `raw/` as a stream; raises `FileNotFoundError` when it is not there and
`PathRefused` for a link or anything but a regular file."""


def bytes_opener(files: Mapping[str, bytes]) -> FileOpener:
    """A `FileOpener` over files held in memory (path relative to `raw/` -> content)."""

    def open_file(relative: str) -> AbstractContextManager[BinaryIO]:
        if relative not in files:
            raise FileNotFoundError(relative)
        return contextlib.nullcontext(io.BytesIO(files[relative]))

    return open_file


@dataclass(frozen=True)
class BatchVerdict:
    """Whether a day's batch may run, and if not, every reason why."""

    day: date
    trigger: Trigger | None
    problems: tuple[str, ...]
    trigger_sha256: str = ""
    """The SHA-256 of the trigger file as verified ("" when there was none)."""

    @property
    def complete(self) -> bool:
        """The trigger is there, follows the contract, and every file it lists matches it."""
        return self.trigger is not None and not self.problems

    @property
    def reason(self) -> str:
        """The problems as one line ("" when complete), cut to a bounded length."""
        return safe_text("; ".join(self.problems), DEFAULT_LIMITS.max_message_chars)


def verify_batch(
    day: date,
    trigger_content: bytes | None,
    open_file: FileOpener,
    folder: str = RAW_PREFIX,
    limits: LandingLimits = DEFAULT_LIMITS,
) -> BatchVerdict:
    """Judge a day's batch: the trigger (None: not delivered) and each file it lists, opened by `open_file`,
    against the stated rows, checksum and the contract's columns.

    A listed file is opened only when its domain is a feed's and its path is the contract's own
    (`feed_file_path` of its domain and the trigger's business date), so a trigger can never make
    the pipeline read anything else. Any failure to read a file is a problem of the batch, never
    an exception. `folder` is where the batch was found (`raw`, or `archive` for a batch processed
    before), for the messages.
    """
    if trigger_content is None:
        return BatchVerdict(day, None, (f"no trigger {RAW_PREFIX}/{trigger_path(day)} was delivered",))
    trigger_sha256 = hashlib.sha256(trigger_content).hexdigest()
    try:
        trigger = parse_trigger(trigger_content, limits)
    except TriggerError as error:
        return BatchVerdict(day, None, (f"{folder}/{trigger_path(day)}: {error}",), trigger_sha256)
    problems = []
    if trigger.business_date != day:
        problems.append(f"trigger of {day} says business_date {trigger.business_date}")
    seen: set[str] = set()
    for file in trigger.files:
        problems.extend(_file_problems(file, trigger.business_date, seen, open_file, folder, limits))
    return BatchVerdict(day, trigger, tuple(problems), trigger_sha256)


def _file_problems(
    file: TriggerFile, business_date: date, seen: set[str], open_file: FileOpener, folder: str, limits: LandingLimits
) -> list[str]:
    if file.domain not in FEED_COLUMNS:
        return [f"unknown domain {safe_text(file.domain, 60)!r} (expected one of {', '.join(FEED_DOMAINS)})"]
    if file.domain in seen:
        return [f"the trigger lists the {file.domain} domain twice"]
    seen.add(file.domain)
    expected_path = feed_file_path(file.domain, business_date)
    if file.path != expected_path:
        return [
            f"the {file.domain} entry names {safe_text(file.path, 120)!r}, not the contract's path"
            f" {RAW_PREFIX}/{expected_path};"
            " it was not opened"
        ]
    where = f"{folder}/{file.path}"
    try:
        with open_file(file.path) as stream:
            facts = feed_file_facts(stream_chunks(stream), limits)
    except FileNotFoundError:
        return [f"{where} is missing"]
    except PathRefused as refused:
        return [f"{where} was refused: {safe_text(refused, 200)}"]
    except Exception as error:  # noqa: BLE001 - one unreadable file is one problem of its batch
        return [f"{where} could not be read ({type(error).__name__})"]
    if facts.problem:
        return [f"{where}: {facts.problem}"]
    problems = []
    if facts.sha256 != file.sha256:
        problems.append(f"{where} has SHA-256 {facts.sha256[:12]}…, the trigger states {file.sha256[:12]}…")
    if facts.rows != file.rows:
        problems.append(f"{where} has {facts.rows} data rows, the trigger states {file.rows}")
    if facts.header != FEED_COLUMNS[file.domain]:
        problems.append(
            safe_text(
                f"{where} has columns {', '.join(facts.header)}; the contract's are"
                f" {', '.join(FEED_COLUMNS[file.domain])}",
                limits.max_message_chars,
            )
        )
    return problems


def trigger_for(batch_id: str, day: date, files: Sequence[tuple[str, str, bytes]], created_at: datetime) -> Trigger:
    """The trigger announcing `files` (domain, path relative to `raw/`, content) as they are."""
    return Trigger(
        batch_id,
        day,
        created_at,
        tuple(
            TriggerFile(domain, path, data_rows(content), hashlib.sha256(content).hexdigest())
            for domain, path, content in files
        ),
    )
