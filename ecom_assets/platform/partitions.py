"""The partitionings: UTC days from the first day of the sales data; the clickstream's UTC hours and days."""

from datetime import UTC, timedelta

from dagster import AssetExecutionContext, BackfillPolicy, DailyPartitionsDefinition

from ecom_assets.platform.dates import DateRange, HourRange

FIRST_DAY = "2010-12-01"


daily_partitions = DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC")
single_run_backfill = BackfillPolicy.single_run()
"""Any range of days, up to the whole history, materializes as one run on one Spark session."""


def partition_days(context: AssetExecutionContext) -> DateRange:
    """The days of the partitions this run materializes (for hourly partitions, the days their hours touch)."""
    window = context.partition_time_window
    return DateRange(window.start.date(), (window.end - timedelta(microseconds=1)).date())


def partition_hours(context: AssetExecutionContext) -> HourRange:
    """The UTC hours of the partitions this run materializes."""
    window = context.partition_time_window
    return HourRange(window.start.astimezone(UTC).replace(tzinfo=None), window.end.astimezone(UTC).replace(tzinfo=None))
