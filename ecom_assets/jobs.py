"""Jobs and schedules: the daily pipeline at 03:00 UTC, the feeds, the clickstream and the weekly table maintenance."""

from datetime import UTC, datetime, timedelta
from typing import Any

from dagster import (
    AssetObservation,
    AssetSelection,
    Config,
    OpExecutionContext,
    ResourceParam,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    job,
    op,
    schedule,
)
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from pydantic import Field

from ecom_assets.assets.clickstream import CLICKSTREAM_INGEST_GROUP
from ecom_assets.assets.clickstream_daily import CLICKSTREAM_DAILY_GROUP
from ecom_assets.assets.clickstream_hourly import CLICKSTREAM_GROUP
from ecom_assets.assets.common import asset_key
from ecom_assets.assets.feeds import FEEDS_GROUP
from ecom_assets.partitions import clickstream_days, clickstream_hours, daily_partitions
from ecom_assets.run_coverage import run_covering
from ecom_assets.tables import DIM_CUSTOMERS, DIM_PRODUCTS, TableName, tables_owned
from resources import Lakehouse, LandingZone

FEED_FED_DIMENSIONS = (DIM_PRODUCTS, DIM_CUSTOMERS)
"""The sales pipeline's dimensions that take feed attributes: the feed batch's job rebuilds them too."""

daily_sales_job = define_asset_job(
    "daily_sales_job",
    selection=AssetSelection.groups("bronze", "silver", "dimensions", "gold"),
    partitions_def=daily_partitions,
    description="Bronze → silver → dimensions → gold for one day (or a range, as one run).",
)

operational_feeds_job = define_asset_job(
    "operational_feeds_job",
    selection=AssetSelection.groups(FEEDS_GROUP) | AssetSelection.assets(*map(asset_key, FEED_FED_DIMENSIONS)),
    partitions_def=daily_partitions,
    description="A day's feed batch (customers, products, inventory, shipping): bronze → silver → validation →"
    " archive → shipments, stock cover, sales per tier, and the product and customer dimensions of the keys it"
    " names. Started by the feed trigger sensor; the sales job never waits for it.",
)


clickstream_ingest_job = define_asset_job(
    "clickstream_ingest_job",
    selection=AssetSelection.groups(CLICKSTREAM_INGEST_GROUP),
    description="Stream the web shop's event files that landed since the last run into bronze, each file once.",
)

clickstream_hourly_job = define_asset_job(
    "clickstream_hourly_job",
    selection=AssetSelection.groups(CLICKSTREAM_GROUP),
    partitions_def=clickstream_hours,
    description="Silver events, catalog item versions and the hourly funnel for a range of UTC hours, as one run."
    " Started by the clickstream hours sensor for the hours an ingestion appended lines to.",
)

clickstream_daily_job = define_asset_job(
    "clickstream_daily_job",
    selection=AssetSelection.groups(CLICKSTREAM_DAILY_GROUP),
    partitions_def=clickstream_days,
    description="The daily funnel, product funnel and category funnel of a UTC day, from its hours. Started by"
    " clickstream_days_sensor when an hourly run of an ended day succeeds.",
)


@schedule(
    cron_schedule="5 1 * * *",
    job=clickstream_hourly_job,
    execution_timezone="UTC",
    description="Every day at 01:05 UTC, the day before's 24 hours as one run, hours without any file included (they"
    " get a funnel row of zeros), so the day can be complete; `clickstream_days_sensor` then builds the day.",
)
def clickstream_day_close_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Request the previous UTC day's 24 hours."""
    day = context.scheduled_execution_time.astimezone(UTC).date() - timedelta(days=1)
    return RunRequest(
        run_key=f"clickstream-day-close:{day}",
        tags={ASSET_PARTITION_RANGE_START_TAG: f"{day}-00:00", ASSET_PARTITION_RANGE_END_TAG: f"{day}-23:00"},
    )


clickstream_hourly_schedule = ScheduleDefinition(
    name="clickstream_hourly_schedule",
    job=clickstream_ingest_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    description="Every hour at :05 UTC, ingest the event files the file sensor has not started a run for "
    "(a run with nothing new appends nothing).",
)


@schedule(
    cron_schedule="0 3 * * *",
    job=daily_sales_job,
    execution_timezone="UTC",
    name="daily_sales_schedule",
    description=(
        "Every day at 03:00 UTC, materialize the previous UTC day, unless a run of it already covers its latest"
        " delivery (the landing sensor usually got there first)."
    ),
)
def daily_sales_schedule(context: ScheduleEvaluationContext, landing: LandingZone) -> RunRequest | SkipReason:
    """Request the previous day's run, once per day (its run key), skipped when a run for that day's current
    delivery is queued, running or succeeded: the schedule and the landing sensor never run one delivery twice."""
    tick = context.scheduled_execution_time or datetime.now(UTC)
    day = (tick.astimezone(UTC) - timedelta(days=1)).date()
    covering = run_covering(context.instance, daily_sales_job.name, day, landing.delivered_at(day))
    if covering is not None:
        return SkipReason(f"{day} already has run {covering.run_id} ({covering.status.value}) for its latest delivery")
    return RunRequest(run_key=day.isoformat(), partition_key=day.isoformat())


MAINTAINED_TABLES: tuple[TableName, ...] = tables_owned()


class MaintenanceConfig(Config):
    """How long each table keeps files no longer referenced by its current version (its time-travel reach).

    It becomes the table's `delta.deletedFileRetentionDuration`, which VACUUM honours.
    """

    retention_hours: int = Field(default=168, ge=0)


@op(description="OPTIMIZE (compact small files) and VACUUM every pipeline table; reports files before and after.")
def compact_and_vacuum_tables(
    context: OpExecutionContext, config: MaintenanceConfig, lakehouse: Lakehouse, step_launcher: ResourceParam[Any]
) -> None:
    """Compact and vacuum each existing table, recording the file counts as an observation of its asset."""
    for table in MAINTAINED_TABLES:
        if not lakehouse.exists(table):
            context.log.info(f"{table.full_name} does not exist yet; nothing to maintain")
            continue
        report = lakehouse.compact_and_vacuum(table, config.retention_hours)
        context.log.info(f"{table.full_name}: {report}")
        context.log_event(
            AssetObservation(
                asset_key=asset_key(table),
                metadata={
                    "files_before": report.files_before,
                    "files_after": report.files_after,
                    "files_vacuumed": report.files_vacuumed,
                    "retention_hours": config.retention_hours,
                },
            )
        )


@job(description="Weekly Delta table maintenance: OPTIMIZE and VACUUM.")
def lakehouse_maintenance_job() -> None:
    """Compact and vacuum the pipeline's tables."""
    compact_and_vacuum_tables()


lakehouse_maintenance_schedule = ScheduleDefinition(
    name="lakehouse_maintenance_schedule",
    job=lakehouse_maintenance_job,
    cron_schedule="0 5 * * 0",
    execution_timezone="UTC",
    description="Sundays at 05:00 UTC, after the daily run.",
)
