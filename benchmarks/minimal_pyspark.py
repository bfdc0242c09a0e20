"""The least a script can do to get the same daily gold figures: the floor the plain script is profiled against.

Reads every landing file of a date range with Spark's CSV reader, writes them as bronze (strings,
with the file's name), types them with `try_cast` (a value that does not cast becomes null and its
line is dropped), removes exact duplicate lines, writes silver, and aggregates gold per day:
revenue, returns, orders, units, active and new customers. No line ids over normalized values, no
exact decimals (doubles), no classification of fees and adjustments, no day status, no checks.
What it leaves out is what `plain_pyspark.py` does beyond it; the benchmark prints both.

    python benchmarks/minimal_pyspark.py --landing-root DIR --warehouse-root DIR --start D --end D
"""

import argparse
import time
from datetime import date
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.tables import TableName
from ecom_assets.sales.tables import ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS
from resources.spark import LocalSparkSession


def _write(warehouse: Path, table: TableName, rows: DataFrame) -> None:
    rows.write.format("delta").mode("overwrite").save(str(warehouse.joinpath(*table.parts)))


def run(spark: SparkSession, landing_root: Path, warehouse: Path, days: DateRange) -> None:
    """Bronze, silver and gold for `days`, each written once."""
    files = [
        str(path) for day in days for path in sorted(landing_root.glob(f"raw/ecommerce_sales/{day:%Y/%m/%d}/*.csv"))
    ]
    bronze = spark.read.option("header", "true").csv(files).withColumn("source_file_name", F.input_file_name())
    _write(warehouse, ORDER_TRANSACTIONS, bronze)
    typed = (
        spark.read.format("delta")
        .load(str(warehouse.joinpath(*ORDER_TRANSACTIONS.parts)))
        .select(
            F.col("InvoiceNo").alias("invoice_no"),
            F.col("StockCode").alias("stock_code"),
            F.expr("try_cast(Quantity AS int)").alias("quantity"),
            F.to_date(
                F.coalesce(F.try_to_timestamp("InvoiceDate"), F.try_to_timestamp("InvoiceDate", F.lit("M/d/yyyy H:mm")))
            ).alias("order_date"),
            F.expr("try_cast(UnitPrice AS double)").alias("unit_price"),
            F.col("CustomerID").alias("customer_id"),
            F.col("Country").alias("country"),
        )
    )
    silver = typed.dropna(subset=["invoice_no", "quantity", "order_date", "unit_price"]).dropDuplicates()
    _write(warehouse, ORDERS_CLEANED, silver)
    lines = spark.read.format("delta").load(str(warehouse.joinpath(*ORDERS_CLEANED.parts)))
    lines = lines.withColumn("amount", F.col("quantity") * F.col("unit_price"))
    is_sale = F.col("quantity") > 0
    first_sales = (
        lines.where(is_sale & F.col("customer_id").isNotNull())
        .groupBy("customer_id")
        .agg(F.min("order_date").alias("first_sale_date"))
    )
    gold = (
        lines.join(first_sales, "customer_id", "left")
        .groupBy("order_date")
        .agg(
            F.sum(F.when(is_sale, F.col("amount"))).alias("gross_revenue"),
            (-F.sum(F.when(~is_sale, F.col("amount")))).alias("returns_amount"),
            F.count_distinct(F.when(is_sale, F.col("invoice_no"))).alias("order_count"),
            F.sum(F.when(is_sale, F.col("quantity"))).alias("units_sold"),
            F.count_distinct(F.when(is_sale, F.col("customer_id"))).alias("active_customers"),
            F.count_distinct(
                F.when(is_sale & (F.col("order_date") == F.col("first_sale_date")), F.col("customer_id"))
            ).alias("new_customers"),
        )
        .where(F.col("order_date").between(days.start, days.end))
    )
    _write(warehouse, SALES_METRICS, gold)


def main() -> None:
    """Command line entry point; prints the seconds taken."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing-root", type=Path, required=True)
    parser.add_argument("--warehouse-root", type=Path, required=True)
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--end", type=date.fromisoformat, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    spark = LocalSparkSession().get_session()
    spark.sparkContext.setLogLevel("ERROR")
    run(spark, args.landing_root, args.warehouse_root.resolve(), DateRange(args.start, args.end))
    spark.stop()
    print(f"minimal_pyspark seconds={time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
