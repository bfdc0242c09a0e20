"""The operational feeds' delivery contract: file layout, columns, the trigger file and its verification.

Other systems write to this contract (the README documents it):

- a feed file: `raw/<domain>/YYYY/MM/DD/<domain>_YYYY_MM_DD.csv`, header row, UTF-8, comma-separated,
  columns exactly `FEED_COLUMNS[domain]` in that order;
- the trigger, written last: `raw/triggers/trigger_YYYY_MM_DD.json`, naming every file of the batch
  with its data rows and SHA-256.

After a batch succeeds its files and trigger move under `archive/` with the same relative paths.
Pure Python: the feed assets and the trigger sensor share it.
"""

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ecom_assets.dates import date_in_path

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


def parse_trigger(content: bytes) -> Trigger:
    """Read a trigger file; raises `TriggerError` saying what breaks the contract."""
    try:
        document = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TriggerError(f"trigger is not UTF-8 JSON: {error}") from error
    if not isinstance(document, dict):
        raise TriggerError("trigger is not a JSON object")
    missing = [name for name in ("batch_id", "business_date", "created_at", "files") if name not in document]
    if missing:
        raise TriggerError(f"trigger lacks {', '.join(missing)}")
    try:
        business_date = date.fromisoformat(document["business_date"])
        created_at = datetime.fromisoformat(document["created_at"])
    except (TypeError, ValueError) as error:
        raise TriggerError(f"trigger has a bad business_date or created_at: {error}") from error
    if not isinstance(document["files"], list) or not document["files"]:
        raise TriggerError("trigger lists no files")
    files = []
    for entry in document["files"]:
        try:
            files.append(
                TriggerFile(str(entry["domain"]), str(entry["path"]), int(entry["rows"]), str(entry["sha256"]))
            )
        except (KeyError, TypeError, ValueError) as error:
            raise TriggerError(f"trigger file entry {entry!r} lacks domain, path, rows or sha256") from error
    return Trigger(str(document["batch_id"]), business_date, created_at, tuple(files))


def data_rows(content: bytes) -> int:
    """Records after the header row of a CSV file (quoted line breaks stay inside their record)."""
    reader = csv.reader(io.StringIO(content.decode("utf-8", errors="replace"), newline=""))
    return max(sum(1 for record in reader if record) - 1, 0)


def header_of(content: bytes) -> tuple[str, ...]:
    """The header row's column names (a UTF-8 byte-order mark dropped)."""
    text = content.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = next(csv.reader(io.StringIO(text, newline="")), [])
    return tuple(name.strip() for name in first)


@dataclass(frozen=True)
class BatchVerdict:
    """Whether a day's batch may run, and if not, every reason why."""

    day: date
    trigger: Trigger | None
    problems: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """The trigger is there, follows the contract, and every file it lists matches it."""
        return self.trigger is not None and not self.problems

    @property
    def reason(self) -> str:
        """The problems as one line ("" when complete)."""
        return "; ".join(self.problems)


def verify_batch(
    day: date,
    trigger_content: bytes | None,
    read_file: Callable[[str], bytes | None],
    folder: str = RAW_PREFIX,
) -> BatchVerdict:
    """Judge a day's batch: the trigger (None: not delivered) and each file it lists, read by `read_file` (path
    relative to `raw/` → content, None when absent), against the stated rows, checksum and the contract's columns.

    `folder` is where the batch was found (`raw`, or `archive` for a batch processed before), for the messages.
    """
    if trigger_content is None:
        return BatchVerdict(day, None, (f"no trigger {RAW_PREFIX}/{trigger_path(day)} was delivered",))
    try:
        trigger = parse_trigger(trigger_content)
    except TriggerError as error:
        return BatchVerdict(day, None, (f"{folder}/{trigger_path(day)}: {error}",))
    problems = []
    if trigger.business_date != day:
        problems.append(f"trigger of {day} says business_date {trigger.business_date}")
    for file in trigger.files:
        problems.extend(_file_problems(file, read_file(file.path), folder))
    return BatchVerdict(day, trigger, tuple(problems))


def _file_problems(file: TriggerFile, content: bytes | None, folder: str) -> list[str]:
    where = f"{folder}/{file.path}"
    if file.domain not in FEED_COLUMNS:
        return [f"{where}: unknown domain {file.domain!r} (expected one of {', '.join(FEED_DOMAINS)})"]
    if content is None:
        return [f"{where} is missing"]
    problems = []
    checksum = hashlib.sha256(content).hexdigest()
    if checksum != file.sha256.lower():
        problems.append(f"{where} has SHA-256 {checksum[:12]}…, the trigger states {file.sha256[:12]}…")
    rows = data_rows(content)
    if rows != file.rows:
        problems.append(f"{where} has {rows} data rows, the trigger states {file.rows}")
    header = header_of(content)
    if header != FEED_COLUMNS[file.domain]:
        problems.append(
            f"{where} has columns {', '.join(header)}; the contract's are {', '.join(FEED_COLUMNS[file.domain])}"
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
