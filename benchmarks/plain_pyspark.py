"""The pipeline's work as one plain PySpark script, without Dagster: the benchmark's baseline.

Reads every landing file of a date range and writes bronze, silver and gold Delta tables with
Spark's Delta writer (the same engine and session settings as the assets), but chains the
DataFrames in memory and runs no checks. Gold's day status comes from the trading calendar and
the files found, as in the pipeline.

    python benchmarks/plain_pyspark.py --landing-root DIR --warehouse-root DIR --start D --end D [--on-history]

With `--on-history` the tables already hold other days (an earlier run's), and the run replaces
its days in them, as a plain script run each day on a shop's history would: the pipeline's one
day on the full history is compared with this.
"""

import argparse
import time
from datetime import UTC, date, datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.tables import TableName
from ecom_assets.platform.trading_calendar import load_trading_calendar
from ecom_assets.sales.tables import ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS
from ecom_assets.sales.transforms.bronze import BRONZE_PARTITION_COLUMNS, read_landing_csv, to_bronze
from ecom_assets.sales.transforms.gold import (
    DELIVERIES_SCHEMA,
    daily_sales_metrics,
    first_sale_dates,
    sale_customers,
    with_day_status,
)
from ecom_assets.sales.transforms.silver import parse_order_lines, silver_lines
from resources.spark import LocalSparkSession


def _write(
    warehouse: Path,
    table: TableName,
    rows: DataFrame,
    partition_by: tuple[str, ...] = (),
    replacing: tuple[str, DateRange] | None = None,
) -> int:
    """Overwrite the table with `rows`, or with `replacing` (a date column and days) only its rows of those days;
    `rows` are cached, so the count and the write share one computation, and later reads of them too."""
    rows = rows.cache()
    written = rows.count()
    writer = rows.write.format("delta").mode("overwrite").partitionBy(*partition_by)
    if replacing:
        column, days = replacing
        writer = writer.option("replaceWhere", f"{column} >= '{days.start}' AND {column} <= '{days.end}'")
    writer.save(str(warehouse.joinpath(*table.parts)))
    return written


def _landed(spark: SparkSession, landing_root: Path, days: DateRange) -> tuple[DataFrame, DataFrame]:
    """The days' landing files as bronze rows, and each day's delivery status."""
    files_by_day = {day: sorted((landing_root / f"raw/ecommerce_sales/{day:%Y/%m/%d}").glob("*.csv")) for day in days}
    files = [str(path) for day in days for path in files_by_day[day]]
    calendar, now = load_trading_calendar(), datetime.now(UTC)
    deliveries = spark.createDataFrame(
        [(day, calendar.delivery_status(day, len(found), len(found), now)) for day, found in files_by_day.items()],
        DELIVERIES_SCHEMA,
    )
    return to_bronze(read_landing_csv(spark, files), ingestion_date=datetime.now(UTC).date()), deliveries


def run(spark: SparkSession, landing_root: Path, warehouse: Path, days: DateRange) -> dict[str, int]:
    """Run bronze, silver and gold for `days` on one Spark session; returns rows written per table."""
    bronze, deliveries = _landed(spark, landing_root, days)
    written = {"bronze": _write(warehouse, ORDER_TRANSACTIONS, bronze, BRONZE_PARTITION_COLUMNS)}
    silver = silver_lines(parse_order_lines(bronze))
    written["silver"] = _write(warehouse, ORDERS_CLEANED, silver)
    first_sales = first_sale_dates(sale_customers(silver))
    gold = with_day_status(daily_sales_metrics(silver, first_sales, days.days()), deliveries)
    written["gold"] = _write(warehouse, SALES_METRICS, gold)
    return written


def run_on_history(spark: SparkSession, landing_root: Path, warehouse: Path, days: DateRange) -> dict[str, int]:
    """Replace `days` in tables that hold other days; returns rows written per table.

    Bronze and silver replace the days' rows (silver leaves out a line stored from another day's
    delivery, as the pipeline keeps a line's first delivery); gold counts the days' new customers
    against every sale stored in silver.
    """
    bronze, deliveries = _landed(spark, landing_root, days)
    written = {"bronze": _write(warehouse, ORDER_TRANSACTIONS, bronze, replacing=("partition_date", days))}
    silver_path = str(warehouse.joinpath(*ORDERS_CLEANED.parts))
    stored_elsewhere = (
        spark.read.format("delta")
        .load(silver_path)
        .where(~F.col("landing_date").between(days.start, days.end))
        .select("line_id")
    )
    silver = silver_lines(parse_order_lines(bronze)).join(stored_elsewhere, "line_id", "left_anti")
    written["silver"] = _write(warehouse, ORDERS_CLEANED, silver, replacing=("landing_date", days))
    stored = spark.read.format("delta").load(silver_path)
    first_sales = first_sale_dates(sale_customers(stored))
    lines = stored.where(F.col("order_date").between(days.start, days.end))
    gold = with_day_status(daily_sales_metrics(lines, first_sales, days.days()), deliveries)
    written["gold"] = _write(warehouse, SALES_METRICS, gold, replacing=("order_date", days))
    return written


def main() -> None:
    """Command line entry point; prints rows written, the Spark session's start and the seconds taken."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing-root", type=Path, required=True)
    parser.add_argument("--warehouse-root", type=Path, required=True)
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--end", type=date.fromisoformat, required=True)
    parser.add_argument("--on-history", action="store_true", help="replace the days in tables holding other days")
    args = parser.parse_args()
    started = time.perf_counter()
    spark = LocalSparkSession().get_session()  # the pipeline's own local Spark settings
    spark_start = time.perf_counter() - started
    spark.sparkContext.setLogLevel("ERROR")
    days = DateRange(args.start, args.end)
    run_days = run_on_history if args.on_history else run
    written = run_days(spark, args.landing_root, args.warehouse_root.resolve(), days)
    spark.stop()
    print(f"plain_pyspark rows={written} spark_start={spark_start:.2f} seconds={time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
