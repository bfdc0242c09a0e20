"""Gold from the operational feeds and the sales: stock cover per product and day, sales per customer tier."""

from datetime import date, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

COVER_WINDOW_DAYS = 28
"""Days of cover divide stock by the mean daily units sold over this many calendar days, the day included."""
GUEST_TIER = "guest"
"""The tier of sales without a customer id."""
UNKNOWN_TIER = "unknown"
"""The tier of a customer no customers feed has given a tier yet."""


def cover_window_start(day: date) -> date:
    """The first day of the sales window `inventory_daily` needs for `day`."""
    return day - timedelta(days=COVER_WINDOW_DAYS - 1)


def inventory_daily(snapshots: DataFrame, product_days: DataFrame, days: list[date]) -> DataFrame:
    """Per day with a stock snapshot and product: stock on hand (all warehouses), units sold that day, days of
    cover and a stock-out flag.

    `snapshots`: `business_date`, `product_id`, `stock_quantity` (one row per warehouse).
    `product_days`: `order_date`, `stock_code`, `units_sold`, covering the `COVER_WINDOW_DAYS` up
    to each day. Days of cover = stock ÷ (units sold over the window ÷ window days), null when
    nothing sold in the window; a stock-out is stock at or below zero.
    """
    stock = (
        snapshots.where(F.col("business_date").isin(days))
        .groupBy("business_date", "product_id")
        .agg(F.sum("stock_quantity").cast("long").alias("stock_on_hand"))
    )
    sold = product_days.select(
        F.col("order_date").alias("sold_on"), F.col("stock_code").alias("sold_product"), "units_sold"
    )
    in_window = (F.col("sold_product") == F.col("product_id")) & F.col("sold_on").between(
        F.date_sub("business_date", COVER_WINDOW_DAYS - 1), F.col("business_date")
    )
    with_sales = (
        stock.join(sold, in_window, "left")
        .groupBy("business_date", "product_id", "stock_on_hand")
        .agg(
            F.coalesce(F.sum(F.when(F.col("sold_on") == F.col("business_date"), F.col("units_sold"))), F.lit(0))
            .cast("long")
            .alias("units_sold"),
            F.coalesce(F.sum("units_sold"), F.lit(0)).cast("long").alias("units_sold_in_window"),
        )
    )
    mean_daily = F.col("units_sold_in_window") / F.lit(COVER_WINDOW_DAYS)
    return with_sales.select(
        "business_date",
        "product_id",
        "stock_on_hand",
        "units_sold",
        F.round(F.col("units_sold_in_window") / F.lit(COVER_WINDOW_DAYS), 4).alias("mean_daily_units_sold"),
        F.when(mean_daily > 0, F.round(F.greatest(F.col("stock_on_hand"), F.lit(0)) / mean_daily, 2)).alias(
            "days_of_cover"
        ),
        (F.col("stock_on_hand") <= 0).alias("stock_out"),
    )


def unexplained_stock_drops(days: DataFrame, previous: DataFrame, share: float) -> DataFrame:
    """Per day and product of `days`: stock that vanished since the day before beyond the units sold that day, where
    it is more than `share` of the day before's stock (theft, a miscount, a feed error: not sales).

    `days` and `previous` are `inventory_daily` rows; `previous` holds each judged day's day before
    (a product without one is not judged). Restocking never counts as a drop.
    """
    before = previous.select(
        F.date_add("business_date", 1).alias("business_date"),
        "product_id",
        F.col("stock_on_hand").alias("previous_stock"),
    )
    vanished = F.col("previous_stock") - F.col("stock_on_hand") - F.col("units_sold")
    return (
        days.join(before, ["business_date", "product_id"])
        .where((F.col("previous_stock") > 0) & (vanished > F.col("previous_stock") * F.lit(share)))
        .select(
            "business_date",
            "product_id",
            "previous_stock",
            "stock_on_hand",
            "units_sold",
            vanished.cast("long").alias("unexplained_drop"),
            F.round(vanished / F.col("previous_stock"), 4).alias("drop_share"),
        )
    )


def tier_as_of(lines: DataFrame, customer_history: DataFrame) -> DataFrame:
    """Sales lines with `customer_tier`: the tier of the customer's latest feed record on or before the line's
    order day (`guest` without a customer id, `unknown` before any feed gave one)."""
    tiers = customer_history.where(F.col("customer_tier").isNotNull()).select(
        F.col("customer_id").alias("tier_customer"),
        F.col("business_date").alias("tier_from"),
        F.col("created_timestamp").alias("tier_stamp"),
        F.col("customer_tier").alias("feed_tier"),
    )
    candidates = lines.withColumn("line_key", F.monotonically_increasing_id()).join(
        tiers,
        (F.col("customer_id") == F.col("tier_customer")) & (F.col("tier_from") <= F.col("order_date")),
        "left",
    )
    latest = Window.partitionBy("line_key").orderBy(
        F.col("tier_from").desc_nulls_last(), F.col("tier_stamp").desc_nulls_last()
    )
    chosen = candidates.withColumn("rank", F.row_number().over(latest)).where(F.col("rank") == 1)
    tier = (
        F.when(F.col("customer_id").isNull(), F.lit(GUEST_TIER))
        .when(F.col("feed_tier").isNotNull(), F.col("feed_tier"))
        .otherwise(F.lit(UNKNOWN_TIER))
    )
    return chosen.withColumn("customer_tier", tier).drop(
        "line_key", "tier_customer", "tier_from", "tier_stamp", "feed_tier", "rank"
    )


def segment_analysis(lines_with_tier: DataFrame) -> DataFrame:
    """Per order day and customer tier, over sale lines: `revenue` (Σ line amounts), `orders` (distinct
    invoices) and `customers` (distinct customer ids; 0 for guests)."""
    sales = lines_with_tier.where(F.col("line_type") == "sale")
    return sales.groupBy("order_date", "customer_tier").agg(
        F.sum("line_amount").cast("decimal(18,3)").alias("revenue"),
        F.count_distinct("invoice_no").cast("long").alias("orders"),
        F.count_distinct("customer_id").cast("long").alias("customers"),
    )
