"""Gold asset: daily `ecommerce_catalog.analytics.sales_metrics`."""

from datetime import timedelta
from decimal import Decimal

from dagster import AssetExecutionContext, MaterializeResult
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from ecom_assets.assets.common import add_daily_metadata, daily_table_asset, table_metadata
from ecom_assets.dates import DateRange
from ecom_assets.partitions import partition_days
from ecom_assets.tables import ORDERS_CLEANED, SALES_METRICS
from ecom_assets.transforms.gold import (
    daily_sales_metrics,
    first_sale_dates,
    restate_customer_counts,
    sale_customers,
)
from resources import Lakehouse, SparkSessionResource
from resources.lakehouse import within

_METRIC_INPUT_COLUMNS = ["order_date", "invoice_no", "customer_id", "quantity", "line_amount", "line_type"]


@daily_table_asset(
    SALES_METRICS,
    group="gold",
    description="One row per day: revenue, returns, orders, units, average order value, new and returning customers.",
    upstream=[ORDERS_CLEANED],
)
def sales_metrics(
    context: AssetExecutionContext, spark: SparkSessionResource, lakehouse: Lakehouse
) -> MaterializeResult:
    """Compute the days' metrics from silver and replace them in gold.

    "New" customers are judged against every customer's first sale in all loaded silver
    history. When the run loads days earlier than gold rows already stored, the customer counts
    of those later rows are restated in the same run, so out-of-order backfills stay right.
    """
    days = partition_days(context)
    session = spark.get_session()
    lines = lakehouse.read(
        session,
        ORDERS_CLEANED,
        columns=_METRIC_INPUT_COLUMNS,
        filters=within("order_date", days),
    )
    history = lakehouse.read(
        session,
        ORDERS_CLEANED,
        columns=["customer_id", "order_date", "line_type"],
        filters=[
            ("line_type", "=", "sale"),
        ],
    )
    customer_days = sale_customers(history).cache()
    first_sales = first_sale_dates(customer_days).cache()
    try:
        daily_rows, metrics = _collected(session, daily_sales_metrics(lines, first_sales, days.days()))
        lakehouse.replace_date_range(SALES_METRICS, metrics, "order_date", days)
        restated_days = _restate_later_days(context, lakehouse, session, days, customer_days, first_sales)
    finally:
        first_sales.unpersist()
        customer_days.unpersist()
    add_daily_metadata(context, days, {row["order_date"]: _numeric_figures(row) for row in daily_rows})
    return MaterializeResult(
        metadata={
            "days_in_run": len(days),
            "later_days_restated": restated_days,
            **table_metadata(lakehouse, SALES_METRICS, metrics),
        }
    )


def _numeric_figures(metrics_row: Row) -> dict[str, float | int]:
    """A gold row's figures as plain numbers, leaving out undefined ones (no orders, no average)."""
    return {
        name: float(value) if isinstance(value, Decimal) else value
        for name, value in metrics_row.asDict().items()
        if name != "order_date" and value is not None
    }


def _collected(session: SparkSession, frame: DataFrame) -> tuple[list[Row], DataFrame]:
    """Compute a small result once: its rows, and a DataFrame over them that needs no recomputation."""
    rows = frame.collect()
    return rows, session.createDataFrame(rows, frame.schema)


def _restate_later_days(
    context: AssetExecutionContext,
    lakehouse: Lakehouse,
    session: SparkSession,
    days: DateRange,
    customer_days: DataFrame,
    first_sales: DataFrame,
) -> int:
    """Fix new/returning counts of stored gold days after this run's range; returns days changed."""
    later_rows, later = _collected(
        session, lakehouse.read(session, SALES_METRICS, filters=[("order_date", ">", days.end)])
    )
    if not later_rows:
        return 0
    later_customers = customer_days.where(F.col("order_date") > days.end)
    restated_rows, restated = _collected(session, restate_customer_counts(later, later_customers, first_sales))
    changed = len(set(restated_rows) - set(later_rows))
    if changed:
        last_day = max(row["order_date"] for row in later_rows)
        later_range = DateRange(days.end + timedelta(days=1), last_day)
        lakehouse.replace_date_range(SALES_METRICS, restated, "order_date", later_range)
        context.log.info(f"restated new/returning customers on {changed} later day(s) in {later_range}")
    return changed
