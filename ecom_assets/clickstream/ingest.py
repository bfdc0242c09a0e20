"""The clickstream's assets: the web shop's event files streamed into bronze.

The ingestion asset is unpartitioned: the stream's checkpoint, not a partition, decides what is new.
"""

from datetime import UTC, datetime

from dagster import (
    MetadataValue,
)
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ecom_assets.clickstream.partitions import CLICKSTREAM_FIRST_HOUR, clickstream_hours
from ecom_assets.clickstream.tables import CLICKSTREAM_EVENTS_RAW
from ecom_assets.clickstream.transforms import (
    EVENT_FILES_GLOB,
    EVENT_FOLDER,
    bronze_event_lines,
    event_file_relative_path,
    event_file_stream,
    hour_key_of,
)
from ecom_assets.platform.checks import Check
from ecom_assets.platform.landing_scan import count_file_data_lines
from ecom_assets.platform.outcomes import CheckOutcome
from ecom_assets.platform.table_asset import TableStep, table_asset
from resources import Lakehouse, LandingZone
from resources.untrusted import PathRefused

CLICKSTREAM_INGEST_GROUP = "clickstream_ingest"
CLICKSTREAM_QUARANTINE = "quarantine/clickstream"
EVERY_LINE_INGESTED = "every_line_ingested"
HOURS_APPENDED = "hours_appended"
"""Materialization metadata: the hourly partition keys the run appended lines to (the hourly sensor reads it)."""


EVERY_LINE_CHECK = Check(
    EVERY_LINE_INGESTED,
    "Conservation: each file the run appended has as many bronze rows as it has data lines.",
    per_partition=False,
)


@table_asset(
    CLICKSTREAM_EVENTS_RAW,
    group=CLICKSTREAM_INGEST_GROUP,
    partitions_def=None,
    description="Every line of the web shop's event files (`raw/clickstream/YYYY/MM/DD/HH/*.csv`) as delivered, "
    "appended once by Structured Streaming (trigger availableNow, checkpoint beside the table); a line that does "
    "not split into the export's nine fields is kept whole in `corrupt_record`.",
    checks=[EVERY_LINE_CHECK],
)
def clickstream_events_raw(step: TableStep, landing: LandingZone) -> None:
    """Append the event files that landed since the last run; a run with nothing new appends nothing.

    Spark lists the event folder itself and would follow a symbolic link out of the landing root,
    so links found there are first moved to `quarantine/clickstream/` (never followed).
    """
    for link in landing.links_under(EVENT_FOLDER):
        moved = landing.move(link, f"{CLICKSTREAM_QUARANTINE}/{link.removeprefix(EVENT_FOLDER + '/')}")
        step.log.error(f"{link} is a symbolic link: never followed, moved to {moved}")
    files = landing.spark_path(landing.full_path(EVENT_FILES_GLOB))
    started = datetime.now(UTC)
    appended = step.lakehouse.append_new_from_stream(
        CLICKSTREAM_EVENTS_RAW, bronze_event_lines(event_file_stream(step.session, files))
    )
    step.log.info(f"appended {appended.rows} line(s) in {appended.batches} micro-batch(es) from {files}")
    hours = _hours_appended(step.session, step.lakehouse, started) if appended.rows else []
    outside = [hour for hour in hours if not clickstream_hours.has_partition_key(hour)]
    if outside:
        step.log.warning(
            f"lines of {len(outside)} hour(s) outside the hourly partitions (from {CLICKSTREAM_FIRST_HOUR} to the"
            f" current hour), e.g. {outside[:3]}: they stay in bronze, but no hourly run reads them"
        )
    outcome = every_line_ingested(step.session, step.lakehouse, landing, started) if appended.rows else _nothing_new()
    step.reporter.add(EVERY_LINE_CHECK, {started.date(): outcome})
    step.metadata.update(
        {
            HOURS_APPENDED: MetadataValue.json(hours),
            "hours_outside_partitions": MetadataValue.json(outside),
            "rows_appended": appended.rows,
            "micro_batches": appended.batches,
            "source": MetadataValue.path(files),
            "table": CLICKSTREAM_EVENTS_RAW.full_name,
            "checkpoint": MetadataValue.path(step.lakehouse.checkpoint_location(CLICKSTREAM_EVENTS_RAW)),
        }
    )


def _hours_appended(session: SparkSession, lakehouse: Lakehouse, started: datetime) -> list[str]:
    """The hourly partition keys of the lines this run appended: the silver hours that must be (re)computed."""
    appended = lakehouse.read(session, CLICKSTREAM_EVENTS_RAW).where(F.col("ingested_at") >= F.lit(started))
    hours = appended.select(hour_key_of("line_hour").alias("hour")).distinct()
    return sorted(row["hour"] for row in hours.collect() if row["hour"] is not None)


def every_line_ingested(
    session: SparkSession, lakehouse: Lakehouse, landing: LandingZone, started: datetime
) -> CheckOutcome:
    """Compare, for each file the run appended, its bronze rows with its data lines as the landing holds it now."""
    appended = (
        lakehouse.read(session, CLICKSTREAM_EVENTS_RAW)
        .where(F.col("ingested_at") >= F.lit(started))
        .groupBy("source_file")
        .count()
        .collect()
    )
    bronze_rows = {event_file_relative_path(row["source_file"]): row["count"] for row in appended}
    differing = {}
    for relative, rows in sorted(bronze_rows.items()):
        lines = _data_lines_now(landing, f"{EVENT_FOLDER}/{relative}")  # only the run's files, no listing
        if lines != rows:
            differing[relative] = {"bronze_rows": rows, "lines_in_file": lines}
    summary = f"{len(bronze_rows)} file(s), {sum(bronze_rows.values())} line(s) appended"
    return CheckOutcome(
        not differing,
        summary if not differing else f"{len(differing)} file(s) differ from what was appended",
        {
            "files": len(bronze_rows),
            "bronze_rows": sum(bronze_rows.values()),
            "differing_files": dict(list(differing.items())[:5]),
        },
    )


def _data_lines_now(landing: LandingZone, relative: str) -> int | None:
    """The data lines of an event file as the landing holds it now, streamed; None when it is gone or refused."""
    try:
        return count_file_data_lines(lambda: landing.open_relative(relative), landing.limits)
    except (FileNotFoundError, PathRefused):
        return None


def _nothing_new() -> CheckOutcome:
    return CheckOutcome(True, "no new file", {"files": 0, "bronze_rows": 0})
