"""Bronze asset: landing CSV files into `ecommerce_catalog.raw.order_transactions`."""

from datetime import UTC, datetime

from dagster import AssetExecutionContext, MaterializeResult

from ecom_assets.assets.common import add_daily_metadata, daily_table_asset, table_metadata
from ecom_assets.partitions import partition_days
from ecom_assets.tables import ORDER_TRANSACTIONS
from ecom_assets.transforms.bronze import BRONZE_PARTITION_COLUMNS, read_landing_csv, to_bronze
from resources import Lakehouse, LandingZone, SparkSessionResource


@daily_table_asset(
    ORDER_TRANSACTIONS,
    group="bronze",
    description="Each day's landing rows one-to-one, as strings, with ingestion date, file and partition date.",
)
def order_transactions(
    context: AssetExecutionContext,
    spark: SparkSessionResource,
    landing: LandingZone,
    lakehouse: Lakehouse,
) -> MaterializeResult:
    """Read the days' landing files and replace those days in bronze (reruns never duplicate)."""
    days = partition_days(context)
    files_by_day = landing.files_by_day(days)
    files = [path for day_files in files_by_day.values() for path in day_files]
    context.log.info(f"{len(files)} landing file(s) on {len(files_by_day)} of {len(days)} day(s) in {days}")
    bronze = to_bronze(read_landing_csv(spark.get_session(), files), ingestion_date=datetime.now(UTC).date())
    rows_by_day = lakehouse.replace_date_range(
        ORDER_TRANSACTIONS, bronze, "partition_date", days, partition_by=BRONZE_PARTITION_COLUMNS
    )
    add_daily_metadata(
        context,
        days,
        {
            day: {
                "files_read": len(files_by_day.get(day, [])),
                "rows_in": rows_by_day[day],
                "rows_out": rows_by_day[day],
            }
            for day in days
        },
    )
    return MaterializeResult(
        metadata={"days_in_run": len(days), **table_metadata(lakehouse, ORDER_TRANSACTIONS, bronze)}
    )
