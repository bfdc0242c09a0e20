"""Dimensions: per-day product and customer summaries, SCD Type 2 history, promotions, enriched silver lines.

Products and customers are first summarized per day (`product_daily_sales`,
`customer_daily_sales`). Their SCD2 history is built from those summaries: the attributes
observed on each day, with a new version whenever they differ from the previous observed day.
A day's version therefore depends only on that day's own lines, so loading days out of order
gives the same history as loading them in order.

The operational feeds' records (`customer_updates`, `product_updates`) add their attributes: each
day carries the key's latest feed record on or before it, a feed day is an observed day too, and
an attribute the feeds give wins over the one inferred from sales (which fills in where no feed
record has it).
"""

import functools
import operator
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import Window

from ecom_assets.feeds.transforms.records import MONEY_TYPE as FEED_MONEY_TYPE
from ecom_assets.sales.rules import ALL_PRODUCTS, CategoryRules, Promotion
from ecom_assets.sales.transforms.silver import FEE_STOCK_CODES, LINE_AMOUNT_TYPE, SILVER_COLUMNS, UNIT_PRICE_TYPE

SEGMENT_THRESHOLDS = (
    ("VIP", 5000, 12),
    ("High Value", 1500, 5),
    ("Medium Value", 500, 2),
)
"""(segment, net revenue in pounds, orders): a customer is in the first segment whose net revenue
OR order count, cumulated up to the day, reaches the threshold; below all of them, `LOW_VALUE`.
On the 2010-12..2011-09 data this puts about 5 % of customers in VIP and 25 % in VIP or High."""
LOW_VALUE = "Low Value"
SEGMENTS = (*(name for name, _, _ in SEGMENT_THRESHOLDS), LOW_VALUE)

DISCOUNT_TYPE = "decimal(4,3)"


def categorized(description: Column, rules: CategoryRules) -> Column:
    """Struct (category, subcategory) of a description by the first matching keyword rule; 'Other' at worst."""
    text = F.upper(F.coalesce(description, F.lit("")))
    other = F.struct(F.lit(rules.other_category).alias("category"), F.lit(rules.other_category).alias("subcategory"))
    result = other
    for rule in reversed(rules.rules):
        matched = F.struct(F.lit(rule.category).alias("category"), F.lit(rule.subcategory).alias("subcategory"))
        result = F.when(text.rlike(rule.pattern), matched).otherwise(result)
    return result


def price_band(price: Column, rules: CategoryRules) -> Column:
    """The name of the band a unit price falls in (null for a null price)."""
    band = F.lit(None).cast("string")
    for candidate in rules.price_bands:
        band = F.when(price >= F.lit(candidate.lower), F.lit(candidate.name)).otherwise(band)
    return F.when(price.isNotNull(), band)


def _amount(total: Column) -> Column:
    return F.coalesce(total, F.lit(0)).cast(LINE_AMOUNT_TYPE)


def _count(total: Column) -> Column:
    return F.coalesce(total, F.lit(0)).cast("long")


def product_daily_sales(lines: DataFrame) -> DataFrame:
    """Per order day and product (fees and charges excluded): sales, returns and the day's description and price.

    `description` is the day's most frequent description among sale lines (among return lines
    on a day without sales); `typical_unit_price` the most frequent sale price, null without
    sales. Ties go to the smallest value. Amounts keep silver's precision.
    """
    is_sale = F.col("line_type") == "sale"
    is_return = F.col("line_type") == "return"
    products = lines.where((is_sale | is_return) & ~F.col("stock_code").isin(*FEE_STOCK_CODES))
    return products.groupBy("order_date", "stock_code").agg(
        F.coalesce(
            F.mode(F.when(is_sale, F.col("description")), deterministic=True),
            F.mode("description", deterministic=True),
        ).alias("description"),
        F.mode(F.when(is_sale, F.col("unit_price")), deterministic=True)
        .cast(UNIT_PRICE_TYPE)
        .alias("typical_unit_price"),
        _count(F.count_if(is_sale)).alias("sale_lines"),
        _count(F.count_distinct(F.when(is_sale, F.col("invoice_no")))).alias("orders"),
        _count(F.sum(F.when(is_sale, F.col("quantity")))).alias("units_sold"),
        _amount(F.sum(F.when(is_sale, F.col("line_amount")))).alias("gross_revenue"),
        _count(-F.sum(F.when(is_return, F.col("quantity")))).alias("returned_units"),
        _amount(-F.sum(F.when(is_return, F.col("line_amount")))).alias("returns_amount"),
    )


def customer_daily_sales(lines: DataFrame) -> DataFrame:
    """Per order day and known customer: orders, units, gross sales, returns, and the day's country.

    Gross sales and orders count sale lines; returns count every return line (as a positive
    amount), as `sales_metrics` does. `country` is the day's most frequent one.
    """
    is_sale = F.col("line_type") == "sale"
    is_return = F.col("line_type") == "return"
    customers = lines.where((is_sale | is_return) & F.col("customer_id").isNotNull())
    return customers.groupBy("order_date", "customer_id").agg(
        F.mode("country", deterministic=True).alias("country"),
        _count(F.count_distinct(F.when(is_sale, F.col("invoice_no")))).alias("orders"),
        _count(F.sum(F.when(is_sale, F.col("quantity")))).alias("units_sold"),
        _amount(F.sum(F.when(is_sale, F.col("line_amount")))).alias("gross_revenue"),
        _amount(-F.sum(F.when(is_return, F.col("line_amount")))).alias("returns_amount"),
    )


def scd2_versions(
    states: DataFrame, key: str, day: str, attributes: Sequence[str], version_figures: Sequence[Column] = ()
) -> DataFrame:
    """SCD Type 2 history from observed states (one row per key and day).

    A version starts on the first day and on every day whose attributes differ from the
    previous observed day's (nulls compare equal); a change back opens a new version. Each
    version has `version` (1, 2, ... per key), `effective_from`, `effective_to` (the day before
    the next version starts, null for the current one) and `is_current`. `version_figures` are
    aggregations over the version's state rows.
    """
    by_day = Window.partitionBy(key).orderBy(day)
    same_as_before = functools.reduce(
        operator.and_, (F.col(name).eqNullSafe(F.lag(name).over(by_day)) for name in attributes)
    )
    starts_version = F.lag(day).over(by_day).isNull() | ~same_as_before
    numbered = states.withColumn(
        "version",
        F.sum(F.when(starts_version, 1).otherwise(0)).over(by_day.rowsBetween(Window.unboundedPreceding, 0)),
    )
    versions = numbered.groupBy(key, "version").agg(
        F.min(day).alias("effective_from"),
        *(F.first(name, ignorenulls=True).alias(name) for name in attributes),
        *version_figures,
    )
    next_start = F.lead("effective_from").over(Window.partitionBy(key).orderBy("effective_from"))
    return versions.withColumns(
        {
            "version": F.col("version").cast("int"),
            "effective_to": F.date_sub(next_start, 1),
            "is_current": next_start.isNull(),
        }
    )


PRODUCT_FEED_SCHEMA = (
    f"stock_code string, product_name string, category string, subcategory string, brand string, "
    f"price {FEED_MONEY_TYPE}, discontinued boolean, business_date date, created_timestamp timestamp"
)
"""The `product_updates` columns `product_history` reads (`product_id` renamed to the dimension's key)."""
CUSTOMER_FEED_SCHEMA = (
    "customer_id string, email string, city string, country string, customer_tier string, "
    "business_date date, created_timestamp timestamp"
)
"""The `customer_updates` columns `customer_versions` reads."""
FEED = "feed"
INFERRED = "inferred"
"""`attribute_source`: whether a feed record stood behind the version, or every attribute was inferred from sales."""


def latest_feed_record_per_day(updates: DataFrame, key: str) -> DataFrame:
    """Per key and business day, the day's last feed record (by `created_timestamp`) as the struct `feed`."""
    attributes = [name for name in updates.columns if name not in (key, "business_date")]
    record = F.struct(*attributes)
    last_of_day = Window.partitionBy(key, "business_date").orderBy(
        F.col("created_timestamp").desc_nulls_last(), F.to_json(record).desc()
    )
    return (
        updates.withColumn("rank", F.row_number().over(last_of_day))
        .where(F.col("rank") == 1)
        .select(key, F.col("business_date").alias("order_date"), record.alias("feed"))
    )


def states_with_feed(sales_states: DataFrame, key: str, updates: DataFrame) -> DataFrame:
    """Observed states on the union of the key's sales days and feed days.

    `sales_states` has one row per key and `order_date`; `updates` the feed records (key,
    `business_date`, `created_timestamp` and attributes). Each day carries `is_sales_day`, the
    sales state's columns as of its latest sales day on or before it, and `feed`: the latest feed
    record on or before it (null before the first). Days before the key's first sales day are left
    out: the dimensions hold what was sold or bought.
    """
    feed = latest_feed_record_per_day(updates, key)
    state_columns = [name for name in sales_states.columns if name not in (key, "order_date")]
    sales = sales_states.select(key, "order_date", F.struct(*state_columns).alias("sales"))
    days = sales.select(key, "order_date").unionByName(feed.select(key, "order_date")).distinct()
    to_date = Window.partitionBy(key).orderBy("order_date").rowsBetween(Window.unboundedPreceding, 0)
    observed = days.join(sales, [key, "order_date"], "left").join(feed, [key, "order_date"], "left")
    filled = observed.select(
        key,
        "order_date",
        F.col("sales").isNotNull().alias("is_sales_day"),
        F.last("sales", ignorenulls=True).over(to_date).alias("sales"),
        F.last("feed", ignorenulls=True).over(to_date).alias("feed"),
    )
    return filled.where(F.col("sales").isNotNull()).select(
        key, "order_date", "is_sales_day", *(F.col(f"sales.{name}").alias(name) for name in state_columns), "feed"
    )


def _source() -> Column:
    return F.when(F.col("feed").isNotNull(), F.lit(FEED)).otherwise(F.lit(INFERRED))


DIM_PRODUCTS_ATTRIBUTES = (
    "description",
    "category",
    "subcategory",
    "price_band",
    "typical_unit_price",
    "product_name",
    "catalog_category",
    "catalog_subcategory",
    "brand",
    "list_price",
    "is_discontinued",
    "attribute_source",
)
DIM_PRODUCTS_COLUMNS = (
    "stock_code",
    "version",
    *DIM_PRODUCTS_ATTRIBUTES,
    "effective_from",
    "effective_to",
    "is_current",
)


def customer_segment(orders: Column, net_revenue: Column) -> Column:
    """The value segment for cumulative orders and net revenue (see `SEGMENT_THRESHOLDS`)."""
    segment = F.lit(LOW_VALUE)
    for name, revenue, order_count in reversed(SEGMENT_THRESHOLDS):
        segment = F.when((net_revenue >= F.lit(revenue)) | (orders >= F.lit(order_count)), F.lit(name)).otherwise(
            segment
        )
    return segment


CUSTOMER_ATTRIBUTES = ("country", "segment", "customer_tier", "email", "city", "attribute_source")
DIM_CUSTOMERS_COLUMNS = (
    "customer_id",
    "version",
    *CUSTOMER_ATTRIBUTES,
    "first_order_date",
    "last_order_date",
    "effective_from",
    "effective_to",
    "is_current",
)


def customer_versions(customer_days: DataFrame, customer_updates: DataFrame) -> DataFrame:
    """`dim_customers` rows: SCD2 over the days the customer bought or returned and customers-feed days.

    The segment of a day comes from the customer's orders and net revenue cumulated up to and
    including its latest sales day. The country is the feed's where it has one, else that of the
    latest sales day; `customer_tier`, `email` and `city` come from the feed only.
    `first_order_date` and `last_order_date` are the customer's first and last days with a sale
    (null for a customer seen only returning goods).
    """
    to_date = Window.partitionBy("customer_id").orderBy("order_date").rowsBetween(Window.unboundedPreceding, 0)
    sales_states = customer_days.select(
        "customer_id",
        "order_date",
        "country",
        customer_segment(
            F.sum("orders").over(to_date), F.sum(F.col("gross_revenue") - F.col("returns_amount")).over(to_date)
        ).alias("segment"),
    )
    states = states_with_feed(sales_states, "customer_id", customer_updates).select(
        "customer_id",
        "order_date",
        F.coalesce(F.col("feed.country"), F.col("country")).alias("country"),
        "segment",
        F.col("feed.customer_tier").alias("customer_tier"),
        F.col("feed.email").alias("email"),
        F.col("feed.city").alias("city"),
        _source().alias("attribute_source"),
    )
    versions = scd2_versions(states, "customer_id", "order_date", list(CUSTOMER_ATTRIBUTES))
    ordered = customer_days.groupBy("customer_id").agg(
        F.min(F.when(F.col("orders") > 0, F.col("order_date"))).alias("first_order_date"),
        F.max(F.when(F.col("orders") > 0, F.col("order_date"))).alias("last_order_date"),
    )
    return versions.join(ordered, "customer_id").select(*DIM_CUSTOMERS_COLUMNS)


def promotions_frame(spark: SparkSession, promotions: Sequence[Promotion]) -> DataFrame:
    """`dim_promotions` rows: the calendar as a table."""
    schema = T.StructType(
        [
            T.StructField("promotion_name", T.StringType(), False),
            T.StructField("start_date", T.DateType(), False),
            T.StructField("end_date", T.DateType(), False),
            T.StructField("discount", T.DecimalType(4, 3), False),
            T.StructField("scope", T.StringType(), False),
        ]
    )
    rows = [(p.name, p.start, p.end, p.discount, p.scope) for p in promotions]
    return spark.createDataFrame(rows, schema)


def _promotion_in_effect(order_date: Column, category: Column, promotions: Sequence[Promotion]) -> Column:
    """Struct (name, discount) of the promotion covering the line, null if none; the largest discount wins."""
    in_effect = F.lit(None).cast(f"struct<name:string,discount:{DISCOUNT_TYPE}>")
    for promotion in sorted(promotions, key=lambda p: (p.discount, p.name)):
        covers = order_date.between(F.lit(promotion.start), F.lit(promotion.end))
        if promotion.scope != ALL_PRODUCTS:
            covers = covers & (category == F.lit(promotion.scope))
        offer = F.struct(
            F.lit(promotion.name).alias("name"), F.lit(promotion.discount).cast(DISCOUNT_TYPE).alias("discount")
        )
        in_effect = F.when(covers, offer).otherwise(in_effect)
    return in_effect


def enrich_lines(
    lines: DataFrame, dim_products: DataFrame, promotions: Sequence[Promotion], rules: CategoryRules
) -> DataFrame:
    """Silver lines with the product category and promotion in effect on their order day.

    The category is that of the product's `dim_products` version effective on the order date;
    lines of products without one (fees, returns of products never sold in the loaded history)
    are categorized from their own description by the same rules. A line is promoted when a
    promotion covering its category (or all products) runs on its order date.
    """
    versions = dim_products.select(
        F.col("stock_code").alias("version_stock_code"),
        F.col("category").alias("version_category"),
        F.col("subcategory").alias("version_subcategory"),
        "effective_from",
        "effective_to",
    )
    in_effect = (
        (F.col("stock_code") == F.col("version_stock_code"))
        & (F.col("order_date") >= F.col("effective_from"))
        & (F.col("effective_to").isNull() | (F.col("order_date") <= F.col("effective_to")))
    )
    own = categorized(F.col("description"), rules)
    with_category = lines.join(versions, in_effect, "left").select(
        *SILVER_COLUMNS,
        F.coalesce(F.col("version_category"), own["category"]).alias("product_category"),
        F.coalesce(F.col("version_subcategory"), own["subcategory"]).alias("product_subcategory"),
    )
    with_promotion = with_category.withColumn(
        "promotion", _promotion_in_effect(F.col("order_date"), F.col("product_category"), promotions)
    )
    return with_promotion.select(
        *SILVER_COLUMNS,
        "product_category",
        "product_subcategory",
        F.col("promotion.name").cast("string").alias("promotion_name"),
        F.col("promotion.discount").cast(DISCOUNT_TYPE).alias("promotion_discount"),
        F.col("promotion").isNotNull().alias("is_promoted"),
    )


def rebuild_for(existing: DataFrame | None, rebuilt: DataFrame, touched: DataFrame, key: str) -> DataFrame:
    """The stored dimension with the touched keys' versions replaced by their rebuilt history."""
    if existing is None:
        return rebuilt
    kept = existing.join(touched, key, "left_anti")
    return kept.unionByName(rebuilt.select(*existing.columns))
