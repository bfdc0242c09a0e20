"""The daily partitioning shared by every asset: UTC days from the first day of the data."""

from datetime import timedelta

from dagster import AssetExecutionContext, BackfillPolicy, DailyPartitionsDefinition

from ecom_assets.dates import DateRange

FIRST_DAY = "2010-12-01"

daily_partitions = DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC")
single_run_backfill = BackfillPolicy.single_run()
"""Any range of days, up to the whole history, materializes as one run on one Spark session."""


def partition_days(context: AssetExecutionContext) -> DateRange:
    """The days of the partitions this run materializes."""
    window = context.partition_time_window
    return DateRange(window.start.date(), (window.end - timedelta(days=1)).date())
