"""Gold asset: daily `ecommerce_catalog.analytics.sales_metrics`."""

from datetime import timedelta

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from pyspark.sql import functions as F

from ecom_assets.assets.metadata import asset_key, preview
from ecom_assets.dates import DateRange
from ecom_assets.partitions import daily_partitions, partition_days, single_run_backfill
from ecom_assets.tables import ORDERS_CLEANED, SALES_METRICS
from ecom_assets.transforms.gold import (
    daily_sales_metrics,
    first_sale_dates,
    restate_customer_counts,
    sale_customers,
)
from resources import Lakehouse, SparkSessionResource

_METRIC_INPUT_COLUMNS = ["order_date", "invoice_no", "customer_id", "quantity", "line_amount", "line_type"]


@asset(
    key=asset_key(SALES_METRICS),
    deps=[asset_key(ORDERS_CLEANED)],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="gold",
    kinds={"spark", "delta"},
    description="One row per day: revenue, returns, orders, units, average order value, new and returning customers.",
)
def sales_metrics(context: AssetExecutionContext, spark: SparkSessionResource, lakehouse: Lakehouse) -> MaterializeResult:
    """Compute the days' metrics from silver and replace them in gold.

    "New" customers are judged against every customer's first sale in all loaded silver
    history. When the run loads days earlier than gold rows already stored, the customer counts
    of those later rows are restated in the same run, so out-of-order backfills stay right.
    """
    days = partition_days(context)
    session = spark.get_session()
    lines = lakehouse.read(session, ORDERS_CLEANED, columns=_METRIC_INPUT_COLUMNS, filters=[
        ("order_date", ">=", days.start), ("order_date", "<=", days.end),
    ])
    history = lakehouse.read(session, ORDERS_CLEANED, columns=["customer_id", "order_date", "line_type"], filters=[
        ("line_type", "=", "sale"),
    ])
    customer_days = sale_customers(history).cache()
    first_sales = first_sale_dates(customer_days).cache()
    metrics = daily_sales_metrics(lines, first_sales, days.days()).cache()
    try:
        lakehouse.replace_date_range(SALES_METRICS, metrics, "order_date", days)
        restated_days = _restate_later_days(context, lakehouse, session, days, customer_days, first_sales)
        totals = metrics.agg(
            *(F.sum(name).alias(name) for name in (
                "gross_revenue", "returns_amount", "net_revenue", "order_count", "units_sold", "new_customers",
            ))
        ).first()
        return MaterializeResult(
            metadata={
                "days": len(days),
                "rows_out": len(days),
                "gross_revenue": float(totals["gross_revenue"]),
                "returns_amount": float(totals["returns_amount"]),
                "net_revenue": float(totals["net_revenue"]),
                "order_count": int(totals["order_count"]),
                "units_sold": int(totals["units_sold"]),
                "new_customers": int(totals["new_customers"]),
                "later_days_restated": restated_days,
                "table": SALES_METRICS.full_name,
                "location": MetadataValue.path(lakehouse.location(SALES_METRICS)),
                "preview": preview(metrics),
            }
        )
    finally:
        for cached in (metrics, first_sales, customer_days):
            cached.unpersist()


def _restate_later_days(context, lakehouse, session, days, customer_days, first_sales) -> int:
    """Fix new/returning counts of stored gold days after this run's range; returns days changed."""
    later = lakehouse.read(session, SALES_METRICS, filters=[("order_date", ">", days.end)]).localCheckpoint()
    if later.isEmpty():
        return 0
    restated = restate_customer_counts(
        later, customer_days.where(F.col("order_date") > days.end), first_sales
    ).localCheckpoint()
    changed = restated.exceptAll(later).count()
    if changed:
        last_day = later.agg(F.max("order_date")).first()[0]
        lakehouse.replace_date_range(SALES_METRICS, restated, "order_date", DateRange(days.end + timedelta(days=1), last_day))
        context.log.info(f"restated new/returning customers on {changed} later day(s)")
    return changed
