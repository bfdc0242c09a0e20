"""Operational feed assets: each day's batch (customers, products, inventory, shipping) from its trigger to silver.

A day's batch runs only when its trigger is there and every file it lists matches it (see
`feed_contract.verify_batch`). A day whose batch does not match is kept out of every feed table
with the reason (its blocking `batch_complete` check fails, the reason goes to `etl_errors`, the
run log and, through the check-failure sensor, the alert email); the run's other days go on.
Each step writes one `logs.processing_log` row per batch. The sales assets never depend on these.
"""

import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import BinaryIO

from dagster import AssetExecutionContext, AssetsDefinition
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.feeds.contract import ARCHIVE_PREFIX, RAW_PREFIX, BatchVerdict, trigger_path, verify_batch
from ecom_assets.feeds.tables import (
    CUSTOMER_FEED,
    CUSTOMER_UPDATES,
    INVENTORY_FEED,
    INVENTORY_SNAPSHOTS,
    PROCESSING_LOG,
    PRODUCT_FEED,
    PRODUCT_UPDATES,
    SHIPPING_FEED,
    SHIPPING_UPDATES,
)
from ecom_assets.feeds.transforms.records import (
    FEED_PARSERS,
    accepted,
    feed_bronze,
    read_feed_csv,
    rejected_record_errors,
)
from ecom_assets.platform.checks import Check
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.errors import ETL_ERRORS_SCHEMA, MAX_ERROR_MESSAGE_CHARS
from ecom_assets.platform.outcomes import CheckOutcome
from ecom_assets.platform.table_asset import (
    TableStep,
    staged,
    table_asset,
)
from ecom_assets.platform.table_checks import conservation_outcomes
from ecom_assets.platform.tables import ETL_ERRORS, TableName
from resources import Lakehouse, LandingZone
from resources.lakehouse import within
from resources.untrusted import PathRefused, safe_text

FEEDS_GROUP = "operational_feeds"
FOLDERS = (RAW_PREFIX, ARCHIVE_PREFIX)
"""Where a batch can be: delivered and waiting (`raw`), or processed (`archive`)."""
BATCH_INCOMPLETE = "batch_incomplete"
"""The `etl_errors` type of a day whose batch did not run: its trigger is missing or its files do not match it."""
PROCESSING_LOG_SCHEMA = (
    "log_id string, batch_id string, business_date date, step string, asset string, run_id string,"
    " started_at timestamp, ended_at timestamp, rows_in long, rows_out long, rows_rejected long,"
    " status string, message string"
)


@dataclass(frozen=True)
class Feed:
    """One operational feed: its domain and the bronze and silver tables it fills."""

    domain: str
    bronze: TableName
    silver: TableName
    key: str


FEEDS = (
    Feed("customers", CUSTOMER_FEED, CUSTOMER_UPDATES, "customer_id"),
    Feed("products", PRODUCT_FEED, PRODUCT_UPDATES, "product_id"),
    Feed("inventory", INVENTORY_FEED, INVENTORY_SNAPSHOTS, "product_id"),
    Feed("shipping", SHIPPING_FEED, SHIPPING_UPDATES, "order_id"),
)

BATCH_CHECK = Check(
    "batch_complete",
    "The day's trigger arrived and every file it lists is there with the stated row count, SHA-256 and the "
    "contract's columns; otherwise nothing of the batch is processed.",
)
BRONZE_CONSERVATION_CHECK = Check(
    "row_conservation", "Rows stored in bronze for the day = the data rows the trigger states for the domain's file."
)
SILVER_CONSERVATION_CHECK = Check(
    "row_conservation", "Bronze rows of the day = records stored in silver + records rejected with their reason."
)


@dataclass(frozen=True)
class LocatedBatch:
    """A day's batch as found: its verdict, the folder its trigger is in (`raw`, or `archive` once processed) and
    the folder each file it lists was found in."""

    verdict: BatchVerdict
    folder: str
    file_folders: Mapping[str, str]

    def path(self, relative: str) -> str:
        """A listed file's path relative to the landing root (where it was found)."""
        return f"{self.file_folders.get(relative, self.folder)}/{relative}"

    @property
    def files(self) -> list[str]:
        """The listed files' paths relative to `raw/`."""
        return [file.path for file in self.verdict.trigger.files] if self.verdict.trigger else []


def locate_batch(landing: LandingZone, day: date) -> LocatedBatch:
    """The day's batch: a trigger in `raw/` (a new delivery) wins over one in `archive/` (a batch processed before,
    which a rerun reads from there). Each listed file is looked for beside the trigger, then in the other folder
    (an archiving cut short leaves a batch split between them).

    Nothing here raises for what was delivered: a trigger or file that cannot be read (too large, a
    link, gone, unreadable) makes the batch incomplete, with the reason.
    """
    limits = landing.limits
    folder, trigger = RAW_PREFIX, None
    for where in FOLDERS:
        relative = f"{where}/{trigger_path(day)}"
        try:
            content = landing.read_small(relative, limits.max_trigger_bytes)
        except PathRefused as refused:
            return LocatedBatch(BatchVerdict(day, None, (f"{relative} was refused: {refused}",)), where, {})
        except Exception as error:  # noqa: BLE001 - an unreadable trigger is a refused batch, never a failed step
            problem = f"{relative} could not be read ({type(error).__name__})"
            return LocatedBatch(BatchVerdict(day, None, (problem,)), where, {})
        if content is not None:
            folder, trigger = where, content
            break
    file_folders: dict[str, str] = {}

    @contextmanager
    def open_file(relative: str) -> Iterator[BinaryIO]:
        with ExitStack() as stack:
            for where in sorted(FOLDERS, key=lambda candidate: candidate != folder):
                try:
                    stream = stack.enter_context(landing.open_relative(f"{where}/{relative}"))
                except FileNotFoundError:
                    continue
                file_folders[relative] = where
                yield stream
                return
        raise FileNotFoundError(relative)

    return LocatedBatch(verify_batch(day, trigger, open_file, folder, limits), folder, file_folders)


class BatchChanged(RuntimeError):
    """A file of a batch changed while it was being archived (a re-delivery); it was moved back to `raw/`."""


def archive_batch(landing: LandingZone, batch: LocatedBatch) -> list[str]:
    """Move a processed batch's files, then its trigger, from `raw/` to `archive/` (on S3: copy, then delete);
    returns the new paths. What is already archived stays; a rerun then reads the batch from the archive.

    Each moved file is checked against the checksum its trigger states: a file re-delivered while
    the batch was being archived is moved back to `raw/` (nothing is replaced there) for its own
    run, and `BatchChanged` stops the archiving before the trigger moves.
    """
    moved = []
    for file in batch.verdict.trigger.files:
        if batch.file_folders.get(file.path) != RAW_PREFIX:
            continue
        archived = landing.move(f"{RAW_PREFIX}/{file.path}", f"{ARCHIVE_PREFIX}/{file.path}")
        if landing.checksum(archived) != file.sha256:
            landing.move(f"{ARCHIVE_PREFIX}/{file.path}", f"{RAW_PREFIX}/{file.path}")
            raise BatchChanged(f"{RAW_PREFIX}/{file.path} changed while its batch was archived; it stays in raw/")
        moved.append(archived)
    if batch.folder == RAW_PREFIX:
        relative = trigger_path(batch.verdict.day)
        moved.append(landing.move(f"{RAW_PREFIX}/{relative}", f"{ARCHIVE_PREFIX}/{relative}"))
    return moved


def log_processing(
    lakehouse: Lakehouse,
    context: AssetExecutionContext,
    table: TableName,
    started_at: datetime,
    entries: Mapping[date, tuple[str | None, int, int, int, str, str]],
) -> None:
    """Log a step's work in `logs.processing_log`, a row per day (batch id, rows in, out, rejected, status, message).

    The rows of a run's steps are appended together when the run ends (one commit, not one per step).
    """
    step = context.op_execution_context.op_def.name
    ended_at = datetime.now(UTC)
    lakehouse.append_when_run_ends(
        PROCESSING_LOG,
        [
            (
                str(uuid.uuid4()),
                batch,
                day,
                step,
                table.full_name,
                context.run_id,
                started_at,
                ended_at,
                *figures[:-1],
                safe_text(figures[-1], MAX_ERROR_MESSAGE_CHARS),
            )
            for day, (batch, *figures) in sorted(entries.items())
        ],
        PROCESSING_LOG_SCHEMA,
    )


def _bronze_asset(feed: Feed) -> AssetsDefinition:
    @table_asset(
        feed.bronze,
        quarantines=True,
        group=FEEDS_GROUP,
        description=f"Each day's {feed.domain} feed file as delivered (all strings), with batch id, business date "
        "and file, for days whose trigger matches its files.",
        checks=[BATCH_CHECK, BRONZE_CONSERVATION_CHECK],
    )
    def feed_bronze_asset(
        step: TableStep,
        landing: LandingZone,
    ) -> None:
        started_at = datetime.now(UTC)
        days = step.days
        session = step.session
        batches = {day: locate_batch(landing, day) for day in days}
        complete = {day: batch for day, batch in batches.items() if batch.verdict.complete}
        announced = {
            day: batch.verdict.trigger.file_for(feed.domain)
            for day, batch in complete.items()
            if batch.verdict.trigger.file_for(feed.domain)
        }
        spark_paths = {
            day: landing.spark_path(landing.relative_path(complete[day].path(file.path)))
            for day, file in announced.items()
        }
        step.log.info(
            f"{len(complete)} of {len(days)} day(s) have a complete batch; {len(announced)} carry a {feed.domain} file"
        )
        raw = read_feed_csv(session, feed.domain, list(spark_paths.values()))
        reporter = step.reporter
        with staged(feed_bronze(raw, _batch_files(session, feed, complete))) as bronze:
            with reporter.computing():
                stored = {row["business_date"]: row["rows"] for row in _rows_by_day(bronze)}
                reporter.add(BATCH_CHECK, {day: _batch_outcome(batches[day].verdict) for day in days})
                counts = {
                    day: {
                        "stated_rows": file.rows if (file := announced.get(day)) else 0,
                        "bronze_rows": stored.get(day, 0),
                    }
                    for day in complete
                }
                reporter.add(
                    BRONZE_CONSERVATION_CHECK,
                    conservation_outcomes(sorted(complete), counts, "stated_rows", ("bronze_rows",)),
                )
            quarantined = reporter.replace_passing_days(
                step.lakehouse, bronze, "business_date", days, merge_schema=True
            )
            _record_incomplete_batches(step.context, session, step.lakehouse, feed.bronze, days, batches)
            log_processing(
                step.lakehouse,
                step.context,
                feed.bronze,
                started_at,
                {day: _log_entry(batches[day], stored.get(day, 0), quarantined.get(day)) for day in days},
            )
            step.add_daily_metadata(
                {
                    day: {
                        "rows_out": 0 if day in quarantined else stored.get(day, 0),
                        "batch_complete": day in complete,
                    }
                    for day in days
                },
            )
            step.metadata.update(
                {
                    "days_in_run": len(days),
                    "days_quarantined": len(quarantined),
                    **step.table_metadata(bronze),
                }
            )

    feed_bronze_asset.__doc__ = f"Land the {feed.domain} file of each complete batch of the run's days in bronze."
    return feed_bronze_asset


def _silver_asset(feed: Feed) -> AssetsDefinition:
    @table_asset(
        feed.silver,
        quarantines=True,
        group=FEEDS_GROUP,
        description=f"Typed {feed.domain} records of each day's batch; unreadable records are in etl_errors with "
        "their reason, present-but-unreadable optional values are null and named in format_issues.",
        upstream=[feed.bronze],
        checks=[SILVER_CONSERVATION_CHECK],
    )
    def feed_silver_asset(
        step: TableStep,
    ) -> None:
        started_at = datetime.now(UTC)
        days = step.days
        session = step.session
        bronze = step.lakehouse.read(session, feed.bronze, filters=within("business_date", days))
        reporter = step.reporter
        with staged(FEED_PARSERS[feed.domain](bronze)) as parsed:
            with reporter.computing():
                counts = {
                    row["business_date"]: row
                    for row in parsed.groupBy("business_date")
                    .agg(
                        F.count(F.lit(1)).alias("bronze_rows"),
                        F.count_if(F.col("rejection_reason").isNull()).alias("silver_rows"),
                        F.count_if(F.col("rejection_reason").isNotNull()).alias("rejected_rows"),
                        F.first("batch_id").alias("batch_id"),
                    )
                    .collect()
                }
                figures = {
                    day: {
                        name: counts[day][name] if day in counts else 0
                        for name in ("bronze_rows", "silver_rows", "rejected_rows")
                    }
                    for day in days
                }
                reporter.add(
                    SILVER_CONSERVATION_CHECK,
                    conservation_outcomes(days.days(), figures, "bronze_rows", ("silver_rows", "rejected_rows")),
                )
            silver = accepted(parsed)
            quarantined = reporter.replace_passing_days(step.lakehouse, silver, "business_date", days)
            errors = rejected_record_errors(parsed, feed.silver.full_name, step.step_name, datetime.now(UTC))
            published = [day for day in days if day not in quarantined]
            if published:
                step.lakehouse.replace_scope(
                    ETL_ERRORS,
                    errors,
                    "partition_date",
                    days,
                    scope={"asset": feed.silver.full_name},
                    keep_days=quarantined,
                )
            log_processing(
                step.lakehouse,
                step.context,
                feed.silver,
                started_at,
                {
                    day: (
                        counts[day]["batch_id"] if day in counts else None,
                        figures[day]["bronze_rows"],
                        0 if day in quarantined else figures[day]["silver_rows"],
                        figures[day]["rejected_rows"],
                        "quarantined" if day in quarantined else "succeeded",
                        quarantined.get(day, ""),
                    )
                    for day in days
                    if day in counts or day in quarantined
                },
            )
            step.add_daily_metadata(
                {
                    day: {
                        "rows_in": figures[day]["bronze_rows"],
                        "rows_out": figures[day]["silver_rows"],
                        "rows_rejected": figures[day]["rejected_rows"],
                    }
                    for day in days
                    if day not in quarantined
                },
            )
            step.metadata.update(
                {
                    "days_in_run": len(days),
                    "days_quarantined": len(quarantined),
                    "error_table": ETL_ERRORS.full_name,
                    **step.table_metadata(silver),
                }
            )

    feed_silver_asset.__doc__ = f"Type the {feed.domain} records of the run's days; keep out the unreadable ones."
    return feed_silver_asset


def _batch_outcome(verdict: BatchVerdict) -> CheckOutcome:
    if verdict.complete:
        trigger = verdict.trigger
        return CheckOutcome(
            True,
            f"batch {trigger.batch_id}: {len(trigger.files)} file(s) match the trigger",
            {
                "batch_id": trigger.batch_id,
                "files": len(trigger.files),
                "rows": sum(file.rows for file in trigger.files),
                "trigger_sha256": verdict.trigger_sha256,
            },
        )
    return CheckOutcome(False, f"batch not processed: {verdict.reason}", {"problems": list(verdict.problems)})


def _log_entry(
    batch: LocatedBatch, rows: int, quarantine_reason: str | None
) -> tuple[str | None, int, int, int, str, str]:
    """A bronze step's processing-log figures for a day: bronze rejects no row, only whole batches."""
    trigger = batch.verdict.trigger
    batch_id = trigger.batch_id if trigger else None
    if not batch.verdict.complete:
        return batch_id, 0, 0, 0, "rejected", batch.verdict.reason
    if quarantine_reason:
        return batch_id, rows, 0, 0, "quarantined", quarantine_reason
    return batch_id, rows, rows, 0, "succeeded", f"read from {batch.folder}/"


def _rows_by_day(bronze: DataFrame) -> list:
    return bronze.groupBy("business_date").agg(F.count(F.lit(1)).alias("rows")).collect()


def _batch_files(session: SparkSession, feed: Feed, complete: Mapping[date, LocatedBatch]) -> DataFrame:
    """The feed's file of each complete batch: relative path, batch id, business date (see `feed_bronze`)."""
    rows = [
        (file.path, batch.verdict.trigger.batch_id, day, batch.verdict.trigger_sha256)
        for day, batch in complete.items()
        if (file := batch.verdict.trigger.file_for(feed.domain))
    ]
    return session.createDataFrame(
        rows, "relative_path string, batch_id string, business_date date, trigger_sha256 string"
    )


def _record_incomplete_batches(
    context: AssetExecutionContext,
    session: SparkSession,
    lakehouse: Lakehouse,
    table: TableName,
    days: DateRange,
    batches: Mapping[date, LocatedBatch],
) -> None:
    """Replace the table's `batch_incomplete` rows of `etl_errors` for the run's days with the days whose batch did
    not run, each with the reason."""
    step = context.op_execution_context.op_def.name
    now = datetime.now(UTC)
    rows = [
        (
            f"{table.full_name}|{BATCH_INCOMPLETE}|{day}",
            now,
            table.full_name,
            step,
            day,
            trigger_path(day).rsplit("/", 1)[-1],
            BATCH_INCOMPLETE,
            batch.verdict.reason[:4000],
            None,
        )
        for day, batch in sorted(batches.items())
        if not batch.verdict.complete
    ]
    lakehouse.replace_scope(
        ETL_ERRORS,
        session.createDataFrame(rows, ETL_ERRORS_SCHEMA),
        "partition_date",
        days,
        scope={"asset": table.full_name},
    )


FEED_BRONZE_ASSETS = [_bronze_asset(feed) for feed in FEEDS]
FEED_SILVER_ASSETS = [_silver_asset(feed) for feed in FEEDS]
