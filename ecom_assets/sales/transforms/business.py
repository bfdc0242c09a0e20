"""Gold business metrics beside `sales_metrics`: categories, seasonality, customer value, products, promotions."""

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from ecom_assets.sales.rules import CategoryRules
from ecom_assets.sales.transforms.dimensions import categorized
from ecom_assets.sales.transforms.gold import MONEY_TYPE

CLV_HORIZON_DAYS = 365
MIN_OBSERVED_DAYS = 30
ACTIVITY_HALF_LIFE_DAYS = 90
"""The predicted-CLV model (see `customer_lifetime_value`)."""

TIER_CUTS = (("Star Performer", 0.50), ("High Performer", 0.80), ("Medium Performer", 0.95))
LOW_PERFORMER = "Low Performer"
"""Pareto tiers: ranked by net revenue, a product is in the first tier whose cumulative share of
all positive net revenue, counted before the product, is below the cut; products with no
positive net revenue are Low Performers."""
TIERS = (*(name for name, _ in TIER_CUTS), LOW_PERFORMER)

BASELINE_DAYS = 28
"""Promotion uplift compares promotion days with the trading days of the 28 days before the start."""

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _money(amount: Column) -> Column:
    return F.round(amount, 2).cast(MONEY_TYPE)


def _sales(lines: DataFrame) -> DataFrame:
    return lines.where(F.col("line_type") == "sale")


def category_revenue_daily(enriched: DataFrame) -> DataFrame:
    """Per order day and product category: sale revenue, distinct orders, units and lines.

    Per day, revenue sums to `sales_metrics.gross_revenue` up to rounding each category to the penny.
    """
    return (
        _sales(enriched)
        .groupBy("order_date", "product_category")
        .agg(
            _money(F.sum("line_amount")).alias("revenue"),
            F.count_distinct("invoice_no").cast("long").alias("orders"),
            F.sum("quantity").cast("long").alias("units_sold"),
            F.count("*").cast("long").alias("sale_lines"),
            _money(F.sum(F.when(F.col("is_promoted"), F.col("line_amount")).otherwise(0))).alias("promoted_revenue"),
        )
    )


def seasonal_sales(lines: DataFrame) -> DataFrame:
    """Sale revenue, orders and units per order day, hour of day and country, with month and weekday.

    The grain is additive: month × country and weekday × hour figures are sums of its rows. An
    order (invoice) is placed at the hour and in the country of its earliest line, so it is
    counted in one row even when its lines' timestamps straddle an hour (invoice 549245 of the
    real data has lines at 11:59 and 12:00).
    """
    invoice = Window.partitionBy("order_date", "invoice_no")
    sales = _sales(lines).withColumns(
        {
            "hour": F.hour(F.min("invoice_ts").over(invoice)),
            "country": F.coalesce(F.min("country").over(invoice), F.lit("Unspecified")),
        }
    )
    return (
        sales.groupBy("order_date", "hour", "country")
        .agg(
            _money(F.sum("line_amount")).alias("revenue"),
            F.count_distinct("invoice_no").cast("long").alias("orders"),
            F.sum("quantity").cast("long").alias("units_sold"),
        )
        .select(
            "order_date",
            F.date_format("order_date", "yyyy-MM").alias("year_month"),
            F.date_format("order_date", "EEEE").alias("weekday"),
            (F.weekday("order_date") + 1).cast("int").alias("weekday_number"),
            F.col("hour").cast("int").alias("hour"),
            "country",
            "revenue",
            "orders",
            "units_sold",
        )
    )


def monthly_country_sales(seasonal: DataFrame) -> DataFrame:
    """Roll `seasonal_sales` up to month × country."""
    return seasonal.groupBy("year_month", "country").agg(
        F.sum("revenue").cast(MONEY_TYPE).alias("revenue"), F.sum("orders").alias("orders")
    )


def weekday_hour_sales(seasonal: DataFrame) -> DataFrame:
    """Roll `seasonal_sales` up to weekday × hour."""
    return seasonal.groupBy("weekday_number", "weekday", "hour").agg(
        F.sum("revenue").cast(MONEY_TYPE).alias("revenue"), F.sum("orders").alias("orders")
    )


def customer_lifetime_value(customer_days: DataFrame, current_customers: DataFrame, as_of: date) -> DataFrame:
    """Per known customer, as of `as_of`: orders, revenue, tenure, historic and predicted CLV, segment.

    - historic CLV = net revenue to date (gross sales − returns);
    - predicted CLV (next 365 days) = max(net revenue per order, 0) × expected orders, where
      expected orders = orders / max(days from first order to `as_of` + 1, 30) × 365, weighted by
      the chance the customer is still active, 0.5 ^ (days since last order / 90). A stated
      heuristic, not a fitted model; 0 for a customer without orders.
    - country and segment are the customer's current `dim_customers` version.
    """
    totals = customer_days.groupBy("customer_id").agg(
        F.sum("orders").cast("long").alias("orders"),
        F.sum("units_sold").cast("long").alias("units_sold"),
        F.sum("gross_revenue").alias("gross"),
        F.sum("returns_amount").alias("returns"),
        F.min(F.when(F.col("orders") > 0, F.col("order_date"))).alias("first_order_date"),
        F.max(F.when(F.col("orders") > 0, F.col("order_date"))).alias("last_order_date"),
    )
    current = current_customers.select("customer_id", "country", "segment")
    as_of_date = F.lit(as_of)
    orders = F.col("orders")
    net = F.col("gross") - F.col("returns")
    observed_days = F.greatest(F.datediff(as_of_date, "first_order_date") + 1, F.lit(MIN_OBSERVED_DAYS))
    recency = F.datediff(as_of_date, "last_order_date")
    expected_orders = orders / observed_days * CLV_HORIZON_DAYS * F.pow(F.lit(0.5), recency / ACTIVITY_HALF_LIFE_DAYS)
    predicted = F.when(orders > 0, F.greatest(net / orders, F.lit(0)) * expected_orders).otherwise(0)
    return totals.join(current, "customer_id", "left").select(
        "customer_id",
        "country",
        "segment",
        "first_order_date",
        "last_order_date",
        "orders",
        "units_sold",
        _money(F.col("gross")).alias("gross_revenue"),
        _money(F.col("returns")).alias("returns_amount"),
        _money(net).alias("net_revenue"),
        F.when(orders > 0, _money(F.col("gross") / orders)).alias("avg_order_value"),
        F.datediff(as_of_date, "first_order_date").alias("tenure_days"),
        recency.alias("recency_days"),
        _money(net).alias("historic_clv"),
        _money(predicted).alias("predicted_clv_12m"),
        as_of_date.alias("as_of_date"),
    )


def product_performance(
    product_days: DataFrame, current_products: DataFrame, rules: CategoryRules, as_of: date
) -> DataFrame:
    """Per product, as of `as_of`: revenue, orders, units, returns, return rate and Pareto tier (see `TIER_CUTS`).

    Description and category are the product's current `dim_products` version; a product only
    ever returned (sold before the loaded history) is categorized from its latest description.
    Return rate = units returned / units sold.
    """
    totals = product_days.groupBy("stock_code").agg(
        F.sum("orders").cast("long").alias("orders"),
        F.sum("units_sold").cast("long").alias("units_sold"),
        F.sum("gross_revenue").alias("gross"),
        F.sum("returned_units").cast("long").alias("returned_units"),
        F.sum("returns_amount").alias("returns"),
        F.max_by("description", "order_date").alias("latest_description"),
    )
    current = current_products.select("stock_code", "description", "category", "subcategory", "first_seen", "last_seen")
    fallback = categorized(F.col("latest_description"), rules)
    net = F.col("gross") - F.col("returns")
    tier = F.lit(LOW_PERFORMER)
    for name, cut in reversed(TIER_CUTS):
        tier = F.when(F.col("_share_before") < cut, F.lit(name)).otherwise(tier)
    ranked = with_net_revenue_share_before(totals.withColumn("_net", net), "_net", "stock_code", "_share_before")
    return ranked.join(current, "stock_code", "left").select(
        "stock_code",
        F.coalesce(F.col("description"), F.col("latest_description")).alias("description"),
        F.coalesce(F.col("category"), fallback["category"]).alias("category"),
        F.coalesce(F.col("subcategory"), fallback["subcategory"]).alias("subcategory"),
        "first_seen",
        "last_seen",
        "orders",
        "units_sold",
        _money(F.col("gross")).alias("gross_revenue"),
        "returned_units",
        _money(F.col("returns")).alias("returns_amount"),
        _money(net).alias("net_revenue"),
        F.when(F.col("units_sold") > 0, F.round(F.col("returned_units") / F.col("units_sold"), 4)).alias("return_rate"),
        F.when(net > 0, tier).otherwise(F.lit(LOW_PERFORMER)).alias("tier"),
        F.lit(as_of).alias("as_of_date"),
    )


NET_BUCKETS_PER_DOUBLING = 4
"""Ranking by net revenue runs one window per band of net revenue (a quarter of a doubling wide), not over all rows."""


def with_net_revenue_share_before(rows: DataFrame, net: str, tie_breaker: str, share_column: str) -> DataFrame:
    """Add `share_column`: the share of the positive total of `net` held by the rows ranked before each row
    (ranked by `net` descending, then `tie_breaker`), the Pareto position of a row.

    A window over all rows would move every row to one partition. Rows are instead ranked
    within bands of `net` (equal values share a band, higher bands hold higher values), and each
    band starts from the positive total of the bands above it, summed on the small table of band
    totals. Rows with no positive `net` add nothing to anyone's share.
    """
    positive = F.greatest(F.col(net), F.lit(0))
    band = F.when(F.col(net) > 0, F.floor(F.log2(F.col(net)) * NET_BUCKETS_PER_DOUBLING)).otherwise(F.lit(-(2**62)))
    banded = rows.withColumn("_band", band)
    band_totals = banded.groupBy("_band").agg(F.sum(positive).alias("_band_total"))
    above, below = band_totals.alias("above"), band_totals.alias("below")
    band_starts = (
        below.join(above, F.col("above._band") > F.col("below._band"), "left")
        .groupBy(F.col("below._band").alias("_band"))
        .agg(F.coalesce(F.sum("above._band_total"), F.lit(0)).alias("_band_start"))
    )
    positive_total = band_totals.agg(F.sum("_band_total").alias("_positive_total"))
    within_band = (
        Window.partitionBy("_band")
        .orderBy(F.col(net).desc(), F.col(tie_breaker))
        .rowsBetween(Window.unboundedPreceding, -1)
    )
    before = F.col("_band_start") + F.coalesce(F.sum(positive).over(within_band), F.lit(0))
    return (
        banded.join(F.broadcast(band_starts), "_band")
        .crossJoin(F.broadcast(positive_total))
        .withColumn(share_column, F.try_divide(before, F.col("_positive_total")))
        .drop("_band", "_band_start", "_positive_total")
    )


def promotion_uplift(
    promotions: DataFrame, category_daily: DataFrame, daily_metrics: DataFrame, as_of: date
) -> DataFrame:
    """Per promotion, as of `as_of`: in-scope revenue and orders per trading day during it, against comparable days.

    Comparable (baseline) days are the trading days (days with orders in `daily_metrics`) of the
    `BASELINE_DAYS` before the promotion starts on which no other promotion overlapping its scope
    ran. In-scope figures are the category's (`category_daily`) or, for scope `all`, the day's
    (`daily_metrics`). Uplift = promotion mean / baseline mean − 1, null without both. Category
    orders are invoices with a line of the category. Promotions after the loaded days get zero days.
    """
    trading = daily_metrics.where(F.col("order_count") > 0).select(
        F.col("order_date").alias("day"),
        F.col("gross_revenue").alias("all_revenue"),
        F.col("order_count").alias("all_orders"),
    )
    categories = category_daily.select(
        F.col("order_date").alias("day"), F.col("product_category").alias("scope"), "revenue", "orders"
    )
    promotion = promotions.alias("p")
    candidate_days = trading.crossJoin(promotion).where(
        F.col("day").between(F.date_sub("start_date", BASELINE_DAYS), F.col("end_date"))
    )
    others = promotions.select(
        F.col("promotion_name").alias("other_name"),
        F.col("start_date").alias("other_start"),
        F.col("end_date").alias("other_end"),
        F.col("scope").alias("other_scope"),
    )
    overlapping_scope = (
        (F.col("scope") == "all") | (F.col("other_scope") == "all") | (F.col("scope") == F.col("other_scope"))
    )
    clashes = candidate_days.join(
        others,
        (F.col("other_name") != F.col("promotion_name"))
        & F.col("day").between(F.col("other_start"), F.col("other_end"))
        & overlapping_scope,
        "left_semi",
    )
    in_promotion = F.col("day").between(F.col("start_date"), F.col("end_date"))
    labelled = (
        candidate_days.join(
            clashes.select("promotion_name", "day").withColumn("clash", F.lit(True)), ["promotion_name", "day"], "left"
        )
        .where(in_promotion | F.col("clash").isNull())
        .join(categories, ["day", "scope"], "left")
        .withColumns(
            {
                "period": F.when(in_promotion, "promotion").otherwise("baseline"),
                "in_scope_revenue": F.when(F.col("scope") == "all", F.col("all_revenue")).otherwise(
                    F.coalesce(F.col("revenue"), F.lit(0))
                ),
                "in_scope_orders": F.when(F.col("scope") == "all", F.col("all_orders")).otherwise(
                    F.coalesce(F.col("orders"), F.lit(0))
                ),
            }
        )
    )
    is_promotion = F.col("period") == "promotion"
    is_baseline = F.col("period") == "baseline"
    figures = labelled.groupBy("promotion_name").agg(
        F.count_if(is_promotion).cast("long").alias("promotion_days"),
        F.count_if(is_baseline).cast("long").alias("baseline_days"),
        F.avg(F.when(is_promotion, F.col("in_scope_revenue"))).alias("promo_revenue"),
        F.avg(F.when(is_baseline, F.col("in_scope_revenue"))).alias("base_revenue"),
        F.avg(F.when(is_promotion, F.col("in_scope_orders"))).alias("promo_orders"),
        F.avg(F.when(is_baseline, F.col("in_scope_orders"))).alias("base_orders"),
    )

    def uplift(during: str, before: str) -> Column:
        return F.when(F.col(before) > 0, F.round(F.col(during) / F.col(before) - 1, 4).cast("double"))

    return promotions.join(figures, "promotion_name", "left").select(
        "promotion_name",
        "scope",
        "start_date",
        "end_date",
        "discount",
        F.coalesce(F.col("promotion_days"), F.lit(0)).cast("long").alias("promotion_days"),
        F.coalesce(F.col("baseline_days"), F.lit(0)).cast("long").alias("baseline_days"),
        _money(F.col("promo_revenue")).alias("revenue_per_day"),
        _money(F.col("base_revenue")).alias("baseline_revenue_per_day"),
        uplift("promo_revenue", "base_revenue").alias("revenue_uplift"),
        F.round(F.col("promo_orders"), 2).cast("double").alias("orders_per_day"),
        F.round(F.col("base_orders"), 2).cast("double").alias("baseline_orders_per_day"),
        uplift("promo_orders", "base_orders").alias("orders_uplift"),
        F.lit(as_of).alias("as_of_date"),
    )
