"""Bronze asset: landing CSV files into `ecommerce_catalog.raw.order_transactions`."""

import functools
from collections import Counter, defaultdict
from datetime import UTC, datetime

from dagster import AssetExecutionContext, MaterializeResult
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.assets.common import add_daily_metadata, daily_table_asset, table_metadata
from ecom_assets.dates import DateRange
from ecom_assets.partitions import partition_days
from ecom_assets.tables import ETL_ERRORS, ORDER_TRANSACTIONS
from ecom_assets.transforms.bronze import (
    BRONZE_PARTITION_COLUMNS,
    UNREADABLE_FILE,
    header_problem,
    read_landing_csv,
    rejected_file_errors,
    to_bronze,
)
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
    session = spark.get_session()
    raw, problems = _read_readable_files(session, landing, files)
    bronze = to_bronze(raw, ingestion_date=datetime.now(UTC).date())
    rows_by_day = lakehouse.replace_date_range(
        ORDER_TRANSACTIONS, bronze, "partition_date", days, partition_by=BRONZE_PARTITION_COLUMNS
    )
    rejected_by_day = _record_rejected_files(context, session, lakehouse, days, problems)
    add_daily_metadata(
        context,
        days,
        {
            day: {
                "files_read": len(files_by_day.get(day, [])),
                "files_rejected": sum(1 for path in problems if path in files_by_day.get(day, [])),
                "rows_in": rows_by_day[day] + rejected_by_day[day],
                "rows_out": rows_by_day[day],
                "rows_rejected": rejected_by_day[day],
            }
            for day in days
        },
    )
    return MaterializeResult(
        metadata={
            "days_in_run": len(days),
            "error_table": ETL_ERRORS.full_name,
            **table_metadata(lakehouse, ORDER_TRANSACTIONS, bronze),
        }
    )


def _read_readable_files(session: SparkSession, landing: LandingZone, files: list[str]) -> tuple[DataFrame, dict]:
    """Read every file whose header names the source columns (one Spark read per distinct header).

    Returns the rows and, for the other files, why each cannot be read. A bad file never stops
    the others.
    """
    headers = {path: tuple(landing.read_header(path)) for path in files}
    problems = {path: problem for path, header in headers.items() if (problem := header_problem(header))}
    files_by_header = defaultdict(list)
    for path in files:
        if path not in problems:
            files_by_header[headers[path]].append(path)
    raw = functools.reduce(
        DataFrame.unionByName,
        [read_landing_csv(session, paths, header) for header, paths in files_by_header.items()],
        read_landing_csv(session, []),
    )
    return raw, problems


def _record_rejected_files(
    context: AssetExecutionContext,
    session: SparkSession,
    lakehouse: Lakehouse,
    days: DateRange,
    problems: dict[str, str],
) -> Counter:
    """Log unreadable files, replace this asset's error rows for the days; returns data rows rejected per day."""
    for path, problem in sorted(problems.items()):
        context.log.error(f"skipped landing file {path}: {problem}")
    asset_name = ORDER_TRANSACTIONS.full_name
    scope = {"asset": asset_name}
    if not problems:
        lakehouse.delete_date_range(ETL_ERRORS, "partition_date", days, scope)
        return Counter()
    step = context.op_execution_context.op_def.name
    errors = rejected_file_errors(session, problems, asset_name, step, datetime.now(UTC)).cache()
    try:
        lakehouse.replace_date_range(ETL_ERRORS, errors, "partition_date", days, scope=scope)
        rejected_lines = errors.where(F.col("error_type") == UNREADABLE_FILE).groupBy("partition_date").count()
        return Counter({row["partition_date"]: row["count"] for row in rejected_lines.collect()})
    finally:
        errors.unpersist()
