"""Gold asset: daily `ecommerce_catalog.analytics.sales_metrics`."""

from datetime import timedelta

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.assets.common import daily_table_asset, preview
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

_METRIC_INPUT_COLUMNS = ["order_date", "invoice_no", "customer_id", "quantity", "line_amount", "line_type"]
_SUMMED_METRICS = ("gross_revenue", "returns_amount", "net_revenue", "order_count", "units_sold", "new_customers")


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
        filters=[
            ("order_date", ">=", days.start),
            ("order_date", "<=", days.end),
        ],
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
        metrics = _materialized(session, daily_sales_metrics(lines, first_sales, days.days()))
        lakehouse.replace_date_range(SALES_METRICS, metrics, "order_date", days)
        restated_days = _restate_later_days(context, lakehouse, session, days, customer_days, first_sales)
    finally:
        first_sales.unpersist()
        customer_days.unpersist()
    totals = metrics.agg(*(F.sum(name).alias(name) for name in _SUMMED_METRICS)).first()
    return MaterializeResult(
        metadata={
            "days": len(days),
            "rows_out": len(days),
            **{
                name: float(totals[name]) if "revenue" in name or "amount" in name else int(totals[name])
                for name in _SUMMED_METRICS
            },
            "later_days_restated": restated_days,
            "table": SALES_METRICS.full_name,
            "location": MetadataValue.path(lakehouse.location(SALES_METRICS)),
            "preview": preview(metrics),
        }
    )


def _materialized(session: SparkSession, rows: DataFrame) -> DataFrame:
    """Compute a small result once and keep it on the driver, so later uses run no Spark job."""
    return session.createDataFrame(rows.collect(), rows.schema)


def _restate_later_days(context, lakehouse, session, days, customer_days, first_sales) -> int:
    """Fix new/returning counts of stored gold days after this run's range; returns days changed."""
    later = _materialized(session, lakehouse.read(session, SALES_METRICS, filters=[("order_date", ">", days.end)]))
    if later.isEmpty():
        return 0
    restated = _materialized(
        session, restate_customer_counts(later, customer_days.where(F.col("order_date") > days.end), first_sales)
    )
    changed = restated.exceptAll(later).count()
    if changed:
        last_day = later.agg(F.max("order_date")).first()[0]
        lakehouse.replace_date_range(
            SALES_METRICS, restated, "order_date", DateRange(days.end + timedelta(days=1), last_day)
        )
        context.log.info(f"restated new/returning customers on {changed} later day(s)")
    return changed
