"""Shipments: each shipment's history as SCD Type 2, and shipping performance per order date and method."""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from ecom_assets.platform.scd2 import state_changes

TRACKED_ATTRIBUTES = ("shipping_method", "shipping_cost", "tracking_number", "estimated_delivery", "actual_delivery")
"""A change in any of these makes a new version of the shipment."""
SHIPMENT_COLUMNS = (
    "order_id",
    "version",
    "shipping_method",
    "shipping_cost",
    "currency",
    "tracking_number",
    "package_weight",
    "estimated_delivery",
    "actual_delivery",
    "valid_from",
    "valid_to",
    "is_current",
    "batch_id",
)


def shipment_history(updates: DataFrame, kept_out: DataFrame) -> DataFrame:
    """SCD2 of each shipment from every shipping update, whatever order the days were loaded in.

    `updates`: silver shipping records (`order_id`, the tracked attributes, `business_date`,
    `created_timestamp`, `batch_id`, ...). `kept_out`: (`order_id`, `business_date`) of records
    validation quarantined, which are left out. Per order and day the latest record counts; an
    update without `actual_delivery` keeps the one an earlier update gave. A version starts on the
    business day its attributes changed (`valid_from`) and ends where the next starts (`valid_to`,
    exclusive; null for the current one).
    """
    valid = updates.join(kept_out, ["order_id", "business_date"], "left_anti")
    latest_per_day = Window.partitionBy("order_id", "business_date").orderBy(
        F.col("created_timestamp").desc_nulls_last(), F.col("batch_id").desc()
    )
    daily = valid.withColumn("rank", F.row_number().over(latest_per_day)).where(F.col("rank") == 1).drop("rank")
    by_day = Window.partitionBy("order_id").orderBy("business_date")
    so_far = by_day.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    carried = daily.withColumn("actual_delivery", F.last("actual_delivery", ignorenulls=True).over(so_far))
    changes = state_changes(carried, by_day, TRACKED_ATTRIBUTES)
    return changes.select(
        "order_id",
        F.row_number().over(by_day).alias("version"),
        *[name for name in SHIPMENT_COLUMNS[2:9]],
        F.col("business_date").alias("valid_from"),
        F.lead("business_date").over(by_day).alias("valid_to"),
        F.lead("business_date").over(by_day).isNull().alias("is_current"),
        "batch_id",
    )


def shipping_performance(current_shipments: DataFrame, order_days: DataFrame) -> DataFrame:
    """Per order date (the invoice's day) and shipping method, over each shipment's current version.

    `shipments`; `delivered` (with an actual delivery); `on_time` (delivered on or before the
    estimated day); `on_time_rate` = on_time ÷ delivered (null when none delivered);
    `avg_delivery_days` (actual delivery − order date, over the delivered); `avg_shipping_cost`.
    `order_days`: `invoice_no`, `order_date`. A shipment of no known invoice is not counted.
    """
    joined = current_shipments.join(order_days, current_shipments["order_id"] == order_days["invoice_no"])
    delivered = F.col("actual_delivery").isNotNull()
    on_time = delivered & (F.col("actual_delivery") <= F.col("estimated_delivery"))
    figures = joined.groupBy("order_date", "shipping_method").agg(
        F.count(F.lit(1)).alias("shipments"),
        F.count_if(delivered).alias("delivered"),
        F.count_if(on_time).alias("on_time"),
        F.avg(F.when(delivered, F.datediff("actual_delivery", "order_date"))).alias("avg_delivery_days"),
        F.avg("shipping_cost").cast("decimal(12,2)").alias("avg_shipping_cost"),
    )
    return figures.select(
        "order_date",
        "shipping_method",
        "shipments",
        "delivered",
        "on_time",
        F.round(F.try_divide(F.col("on_time"), F.col("delivered")), 4).alias("on_time_rate"),
        F.round("avg_delivery_days", 2).alias("avg_delivery_days"),
        "avg_shipping_cost",
    )
