"""Gold: daily sales metrics from silver order lines."""

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ecom_assets.platform.trading_calendar import AWAITED, CLOSED, DELIVERED, MISSING, UNREADABLE

MONEY_TYPE = "decimal(18,2)"
FIGURE_COLUMNS = (
    "gross_revenue",
    "returns_amount",
    "net_revenue",
    "order_count",
    "units_sold",
    "avg_order_value",
    "active_customers",
    "new_customers",
    "returning_customers",
)
SALES_METRICS_COLUMNS = ("order_date", "day_status", *FIGURE_COLUMNS)
CUSTOMER_COUNT_COLUMNS = ("active_customers", "new_customers", "returning_customers")
COMPLETE, NOT_LOADED = "complete", "not_loaded"
DAY_STATUS_OF_DELIVERY = {
    DELIVERED: COMPLETE,
    CLOSED: "closed",
    AWAITED: "awaiting_delivery",
    MISSING: "missing_delivery",
    UNREADABLE: "unreadable_delivery",
}
PUBLISHED_DAY_STATUSES = (COMPLETE, DAY_STATUS_OF_DELIVERY[CLOSED])
"""Day states whose figures gold shows; on every other day (`not_loaded`: bronze never recorded it) they are null."""
DAY_STATUSES = (*DAY_STATUS_OF_DELIVERY.values(), NOT_LOADED)
DELIVERIES_SCHEMA = "partition_date date, delivery_status string"


def _money(amount: Column) -> Column:
    return F.round(amount, 2).cast(MONEY_TYPE)


def sale_customers(lines: DataFrame) -> DataFrame:
    """Distinct (customer_id, order_date) pairs of sale lines with a known customer."""
    return (
        lines.where((F.col("line_type") == "sale") & F.col("customer_id").isNotNull())
        .select("customer_id", "order_date")
        .distinct()
    )


def first_sale_dates(customer_days: DataFrame) -> DataFrame:
    """Each customer's first sale day (`first_sale_date`) over the given customer days."""
    return customer_days.groupBy("customer_id").agg(F.min("order_date").alias("first_sale_date"))


def daily_customer_counts(customer_days: DataFrame, first_sales: DataFrame) -> DataFrame:
    """Per day: active customers, those whose first sale ever is that day, and the rest."""
    is_new = F.col("order_date") == F.col("first_sale_date")
    return (
        customer_days.join(first_sales, "customer_id", "left")
        .groupBy("order_date")
        .agg(
            F.count("*").cast("long").alias("active_customers"),
            F.sum(F.when(is_new, 1).otherwise(0)).cast("long").alias("new_customers"),
        )
        .withColumn("returning_customers", F.col("active_customers") - F.col("new_customers"))
    )


def _day_spine(spark: SparkSession, days: Sequence[date]) -> DataFrame:
    schema = T.StructType([T.StructField("order_date", T.DateType(), False)])
    return spark.createDataFrame([(day,) for day in days], schema)


def daily_sales_metrics(lines: DataFrame, first_sales: DataFrame, days: Sequence[date]) -> DataFrame:
    """One row per day in `days` with revenue, order, unit and customer metrics (`FIGURE_COLUMNS`).

    `lines` are silver order lines of those days; `first_sales` holds every customer's first
    sale day over all loaded history. Days without lines get zeros and a null average order
    value. Money is rounded to 2 decimals; net revenue is computed from the rounded figures so
    the row reconciles exactly.
    """
    is_sale = F.col("line_type") == "sale"
    is_return = F.col("line_type") == "return"
    totals = lines.groupBy("order_date").agg(
        F.sum(F.when(is_sale, F.col("line_amount"))).alias("gross"),
        F.sum(F.when(is_return, F.col("line_amount"))).alias("returns"),
        F.count_distinct(F.when(is_sale, F.col("invoice_no"))).cast("long").alias("order_count"),
        F.sum(F.when(is_sale, F.col("quantity"))).cast("long").alias("units_sold"),
    )
    customers = daily_customer_counts(sale_customers(lines), first_sales)
    spine = _day_spine(lines.sparkSession, days)
    joined = spine.join(totals, "order_date", "left").join(customers, "order_date", "left")
    gross = F.coalesce(F.col("gross"), F.lit(0))
    returns = -F.coalesce(F.col("returns"), F.lit(0))
    order_count = F.coalesce(F.col("order_count"), F.lit(0)).cast("long")
    return joined.select(
        "order_date",
        _money(gross).alias("gross_revenue"),
        _money(returns).alias("returns_amount"),
        (_money(gross) - _money(returns)).cast(MONEY_TYPE).alias("net_revenue"),
        order_count.alias("order_count"),
        F.coalesce(F.col("units_sold"), F.lit(0)).cast("long").alias("units_sold"),
        F.when(order_count > 0, _money(gross / order_count)).alias("avg_order_value"),
        *(F.coalesce(F.col(name), F.lit(0)).cast("long").alias(name) for name in CUSTOMER_COUNT_COLUMNS),
    ).orderBy("order_date")


def with_day_status(metrics: DataFrame, deliveries: DataFrame) -> DataFrame:
    """The metric rows with their `day_status`; the figures of a day that is not complete are null.

    `deliveries` holds each landing day's `delivery_status` (see `ecom_assets.platform.trading_calendar`).
    A delivered day is `complete`, a closed day without a file `closed` (its zeros are true);
    a day whose file is awaited, missing or unreadable, or that bronze never recorded, shows
    no figures, so no reader can take it for a day without sales.
    """
    day_status_of = F.create_map(*(F.lit(value) for pair in DAY_STATUS_OF_DELIVERY.items() for value in pair))
    status = F.coalesce(F.try_element_at(day_status_of, F.col("delivery_status")), F.lit(NOT_LOADED))
    published = F.col("day_status").isin(*PUBLISHED_DAY_STATUSES)
    statuses = deliveries.select(F.col("partition_date").alias("order_date"), "delivery_status")
    return (
        metrics.join(statuses, "order_date", "left")
        .withColumn("day_status", status)
        .select(
            "order_date",
            "day_status",
            *(F.when(published, F.col(name)).alias(name) for name in FIGURE_COLUMNS),
        )
        .orderBy("order_date")
    )


def restate_customer_counts(metrics: DataFrame, customer_days: DataFrame, first_sales: DataFrame) -> DataFrame:
    """Recompute the customer counts of stored metric rows against current first-sale dates.

    Used when an earlier range is loaded after later days: a customer first seen in that range
    stops being "new" on the later day. Other metrics, and the null counts of a day that is not
    complete, are kept as stored.
    """
    recounted = daily_customer_counts(customer_days, first_sales)
    kept = metrics.drop(*CUSTOMER_COUNT_COLUMNS)
    published = F.col("day_status").isin(*PUBLISHED_DAY_STATUSES)
    return (
        kept.join(recounted, "order_date", "left")
        .select(
            *(F.col(name) for name in kept.columns),
            *(
                F.when(published, F.coalesce(F.col(name), F.lit(0)).cast("long")).alias(name)
                for name in CUSTOMER_COUNT_COLUMNS
            ),
        )
        .select(*SALES_METRICS_COLUMNS)
    )
