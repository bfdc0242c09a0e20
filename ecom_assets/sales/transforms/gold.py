"""Gold: daily sales metrics from silver order lines."""

from collections.abc import Callable, Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ecom_assets.platform.dates import DateRange
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


FIRST_SALES_SCHEMA = "customer_id string, first_sale_date date"
"""The first-sale table: each customer's first sale day over every day gold has loaded."""


def touched_first_sales(stored: DataFrame, run_customer_days: DataFrame, days: DateRange) -> DataFrame:
    """The customers a run over `days` touches, with `stored_first` and the `first_sale_date` the run's days give.

    `stored` is the first-sale table before the run (`FIRST_SALES_SCHEMA`); `run_customer_days`
    are the (customer_id, order_date) sale pairs of the run's days as silver now holds them.
    A customer is touched when it bought in the run or its stored first sale lies in the run's
    days. Its new first sale is the earlier of the stored one (when outside the run) and its first
    in the run; null for a customer whose first sale was in the run and who no longer buys there (a
    corrected file): `first_sale_changes` finds its first sale after the run.
    """
    run_firsts = run_customer_days.groupBy("customer_id").agg(F.min("order_date").alias("run_first"))
    in_run = F.col("stored_first").between(days.start, days.end)
    return (
        stored.select("customer_id", F.col("first_sale_date").alias("stored_first"))
        .join(run_firsts, "customer_id", "full_outer")
        .where(F.col("run_first").isNotNull() | in_run)
        .withColumn(
            "first_sale_date", F.when(in_run, F.col("run_first")).otherwise(F.least("stored_first", "run_first"))
        )
        .select("customer_id", "stored_first", "first_sale_date")
    )


def first_sale_changes(
    touched: DataFrame, days: DateRange, customer_days_after: Callable[[DataFrame], DataFrame]
) -> DataFrame:
    """The first-sale rows a run over `days` can move: `customer_id`, `stored_first`, `first_sale_date`.

    `touched` are the run's `touched_first_sales`; it is read twice (whether a customer lost its
    first sale, then its rows), so pass it cached. A customer whose first sale was in the run and
    who no longer buys there takes its first sale after the run, which only then is asked of
    `customer_days_after(customers)` (their sale days after the run); null when it has none left.
    The stored table holds no sale before its customers' first, so nothing before the run moves.
    """
    gone = touched.where(F.col("first_sale_date").isNull()).select("customer_id")
    if gone.isEmpty():
        return touched
    later = first_sale_dates(customer_days_after(gone).where(F.col("order_date") > days.end)).withColumnRenamed(
        "first_sale_date", "later_first"
    )
    return (
        touched.join(later, "customer_id", "left")
        .withColumn("first_sale_date", F.coalesce("first_sale_date", "later_first"))
        .drop("later_first")
    )


def moved_first_sales(changes: DataFrame) -> DataFrame:
    """The changes (see `first_sale_changes`) whose first sale day is not the stored one."""
    return changes.where(~F.col("stored_first").eqNullSafe(F.col("first_sale_date")))


def first_sales_after(stored: DataFrame, changes: DataFrame) -> DataFrame:
    """The first-sale table with the changes applied (a customer without sales left has no row)."""
    kept = stored.join(changes.select("customer_id"), "customer_id", "left_anti")
    return kept.unionByName(changes.where(F.col("first_sale_date").isNotNull()).select(*kept.columns))


def days_with_moved_first_sales(changes: DataFrame, after: date) -> list[date]:
    """The days after `after` that gained or lost a customer's first sale, in order."""
    moved = moved_first_sales(changes)
    days = moved.select(F.explode(F.array("stored_first", "first_sale_date")).alias("day")).where(
        F.col("day") > F.lit(after)
    )
    return sorted(row["day"] for row in days.distinct().collect())


def restate_new_customers(metrics: DataFrame, first_sales: DataFrame) -> DataFrame:
    """Stored gold rows with new and returning customers recounted from the first-sale table.

    A customer is new on the day of its first sale, so a day's new customers are the first-sale
    rows on that day; the active customers, the other figures, and the null counts of a day that is not
    published are kept as stored.
    """
    new = first_sales.groupBy(F.col("first_sale_date").alias("order_date")).agg(
        F.count("*").cast("long").alias("recounted_new")
    )
    published = F.col("day_status").isin(*PUBLISHED_DAY_STATUSES)
    recounted = F.coalesce(F.col("recounted_new"), F.lit(0)).cast("long")
    return (
        metrics.join(new, "order_date", "left")
        .withColumn("new_customers", F.when(published, recounted))
        .withColumn("returning_customers", F.when(published, F.col("active_customers") - recounted))
        .select(*SALES_METRICS_COLUMNS)
    )
