"""Gold business-metric assets beside `sales_metrics`.

How each table is kept current without rescanning silver history:
- `category_revenue_daily` and `seasonal_sales` replace the run's days only;
- `customer_lifetime_value` and `product_performance` are snapshots as of the latest loaded
  day, recomputed from the per-day customer and product summaries (not from silver lines);
- `promotion_uplift` is recomputed from the daily gold tables (a few thousand rows).
"""

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, ResourceParam
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.platform.checks import (
    PUBLISHED_CHECK,
    SCHEMA_CHECK,
    TABLE_SCHEMA_CHECK,
    Check,
    CheckReporter,
    check_specs,
)
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.partitions import partition_days
from ecom_assets.platform.table_asset import add_daily_metadata, partitioned_table_asset, staged, table_metadata
from ecom_assets.platform.table_checks import schema_outcomes
from ecom_assets.platform.tables import TableName
from ecom_assets.sales.business_checks import PENNY_ROUNDING, daily_totals_outcomes, reconciled
from ecom_assets.sales.business_rules import BusinessRules
from ecom_assets.sales.schemas import (
    CategoryRevenueDaily,
    CustomerLifetimeValue,
    ProductPerformance,
    PromotionUplift,
    SeasonalSales,
)
from ecom_assets.sales.tables import (
    CATEGORY_REVENUE_DAILY,
    CUSTOMER_DAILY_SALES,
    CUSTOMER_LIFETIME_VALUE,
    DIM_CUSTOMERS,
    DIM_PRODUCTS,
    DIM_PROMOTIONS,
    ORDERS_CLEANED,
    ORDERS_ENRICHED,
    PRODUCT_DAILY_SALES,
    PRODUCT_PERFORMANCE,
    PROMOTION_UPLIFT,
    SALES_METRICS,
    SEASONAL_SALES,
)
from ecom_assets.sales.transforms import business as transform
from resources import Lakehouse, SparkSessionResource
from resources.lakehouse import within

RECONCILES_WITH_GOLD = Check(
    "reconciles_with_sales_metrics",
    "Per day, the table's revenue (and orders, units where additive) sums to sales_metrics' figures.",
)
RECONCILES_WITH_GOLD_TOTAL = Check(
    "reconciles_with_sales_metrics",
    "Products' gross revenue and units sum to sales_metrics' totals over all loaded days.",
    per_partition=False,
)
RECONCILES_WITH_SILVER = Check(
    "reconciles_with_silver",
    "Customers' orders, gross sales and returns sum to silver's lines of known customers.",
    per_partition=False,
)


def _replace_days_and_reconcile(
    context: AssetExecutionContext,
    session: SparkSession,
    lakehouse: Lakehouse,
    table: TableName,
    rows: DataFrame,
    model: type,
    figures: dict[str, str],
) -> Iterator:
    """Check each of the run's days of a daily gold table (schema, sums against sales_metrics), then replace them.

    `figures` maps the table's columns to the `sales_metrics` figures their daily sums must equal;
    `revenue` sums may differ by half a penny per row (each row is rounded).
    """
    days = partition_days(context)
    metrics = lakehouse.read(session, SALES_METRICS, filters=within("order_date", days)).collect()
    reporter = CheckReporter.for_daily_table(context, table, session, lakehouse, days)
    with staged(rows) as rows:
        with reporter.computing():
            schema = schema_outcomes(model, rows, "order_date", days.days())
            reporter.add(SCHEMA_CHECK, schema)
            reporter.add(
                RECONCILES_WITH_GOLD,
                daily_totals_outcomes(table.table, rows, metrics, figures, ["revenue"], days.days()),
            )
        quarantined = reporter.replace_passing_days(lakehouse, rows, "order_date", days)
        metadata = table_metadata(lakehouse, table, rows)
    add_daily_metadata(
        context, days, {day: {"rows": schema[day].observed.get("rows", 0)} for day in days if day not in quarantined}
    )
    yield MaterializeResult(metadata={"days_in_run": len(days), **metadata})
    yield from reporter.publish(lakehouse)


@partitioned_table_asset(
    CATEGORY_REVENUE_DAILY,
    group="gold",
    description="Per day and product category: revenue, orders, units; sums to sales_metrics.gross_revenue.",
    upstream=[ORDERS_ENRICHED, SALES_METRICS],
    check_specs=check_specs(CATEGORY_REVENUE_DAILY, [SCHEMA_CHECK, RECONCILES_WITH_GOLD, PUBLISHED_CHECK]),
)
def category_revenue_daily(
    context: AssetExecutionContext, spark: SparkSessionResource, lakehouse: Lakehouse, step_launcher: ResourceParam[Any]
) -> Iterator:
    """Aggregate the days' enriched sale lines by category; reconcile each day with sales_metrics."""
    session = spark.get_session()
    lines = lakehouse.read(session, ORDERS_ENRICHED, filters=within("order_date", partition_days(context)))
    yield from _replace_days_and_reconcile(
        context,
        session,
        lakehouse,
        CATEGORY_REVENUE_DAILY,
        transform.category_revenue_daily(lines),
        CategoryRevenueDaily,
        {"revenue": "gross_revenue"},
    )


@partitioned_table_asset(
    SEASONAL_SALES,
    group="gold",
    description="Per day, hour and country: revenue, orders, units, with month and weekday for seasonal roll-ups.",
    upstream=[ORDERS_CLEANED, SALES_METRICS],
    check_specs=check_specs(SEASONAL_SALES, [SCHEMA_CHECK, RECONCILES_WITH_GOLD, PUBLISHED_CHECK]),
)
def seasonal_sales(
    context: AssetExecutionContext, spark: SparkSessionResource, lakehouse: Lakehouse, step_launcher: ResourceParam[Any]
) -> Iterator:
    """Aggregate the days' silver sale lines by hour and country; reconcile each day with sales_metrics."""
    session = spark.get_session()
    lines = lakehouse.read(
        session,
        ORDERS_CLEANED,
        columns=["order_date", "invoice_ts", "invoice_no", "quantity", "line_amount", "line_type", "country"],
        filters=within("order_date", partition_days(context)),
    )
    yield from _replace_days_and_reconcile(
        context,
        session,
        lakehouse,
        SEASONAL_SALES,
        transform.seasonal_sales(lines),
        SeasonalSales,
        {"revenue": "gross_revenue", "orders": "order_count", "units_sold": "units_sold"},
    )


def _latest_day(frame: DataFrame, days: DateRange) -> date:
    """The latest order day of a table (the run's last day when it is empty)."""
    return frame.agg(F.max("order_date")).first()[0] or days.end


@partitioned_table_asset(
    CUSTOMER_LIFETIME_VALUE,
    group="gold",
    description="Per customer, as of the latest loaded day: orders, revenue, tenure, historic and predicted CLV.",
    upstream=[CUSTOMER_DAILY_SALES, DIM_CUSTOMERS],
    check_specs=check_specs(CUSTOMER_LIFETIME_VALUE, [TABLE_SCHEMA_CHECK, RECONCILES_WITH_SILVER]),
)
def customer_lifetime_value(
    context: AssetExecutionContext, spark: SparkSessionResource, lakehouse: Lakehouse, step_launcher: ResourceParam[Any]
) -> Iterator:
    """Recompute the CLV snapshot from the per-day customer summaries and the current customer versions."""
    days = partition_days(context)
    session = spark.get_session()
    inputs = lakehouse.pin([CUSTOMER_DAILY_SALES, DIM_CUSTOMERS])
    summaries = inputs.read(session, CUSTOMER_DAILY_SALES)
    as_of = _latest_day(summaries, days)
    current = inputs.read(session, DIM_CUSTOMERS).where("is_current")
    reporter = CheckReporter(context, CUSTOMER_LIFETIME_VALUE)
    with staged(transform.customer_lifetime_value(summaries, current, as_of)) as stored:
        with reporter.computing():
            totals = stored.agg(
                F.count("*").alias("customers"),
                F.sum("orders").alias("orders"),
                F.sum("gross_revenue").alias("gross_revenue"),
                F.sum("returns_amount").alias("returns_amount"),
                F.sum("predicted_clv_12m").alias("predicted_clv_12m"),
            ).first()
            silver = _known_customer_totals(session, lakehouse)
            tolerance = PENNY_ROUNDING * totals["customers"]
            reporter.add(TABLE_SCHEMA_CHECK, schema_outcomes(CustomerLifetimeValue, stored, None, [days.end]))
            reporter.add(
                RECONCILES_WITH_SILVER,
                {
                    days.end: reconciled(
                        "customer lifetime values",
                        {name: totals[name] or 0 for name in ("orders", "gross_revenue", "returns_amount")},
                        silver,
                        {"gross_revenue": tolerance, "returns_amount": tolerance},
                    )
                },
            )
        reporter.overwrite_if_passing(lakehouse, stored, inputs.built_from)
        metadata = table_metadata(lakehouse, CUSTOMER_LIFETIME_VALUE, stored.orderBy(F.desc("net_revenue")))
    yield MaterializeResult(
        metadata={
            "as_of_date": as_of.isoformat(),
            "customers": totals["customers"],
            "predicted_clv_12m_total": float(totals["predicted_clv_12m"] or 0),
            **metadata,
        }
    )
    yield from reporter.publish(lakehouse)


def _known_customer_totals(session: SparkSession, lakehouse: Lakehouse) -> dict[str, Decimal | int]:
    """Orders, gross sales and returns of known customers, straight from every silver line."""
    lines = lakehouse.read(session, ORDERS_CLEANED, columns=["customer_id", "invoice_no", "line_amount", "line_type"])
    is_sale = F.col("line_type") == "sale"
    totals = (
        lines.where(F.col("customer_id").isNotNull())
        .agg(
            F.count_distinct(F.when(is_sale, F.col("invoice_no"))).alias("orders"),
            F.sum(F.when(is_sale, F.col("line_amount"))).alias("gross_revenue"),
            (-F.sum(F.when(F.col("line_type") == "return", F.col("line_amount")))).alias("returns_amount"),
        )
        .first()
    )
    return {name: totals[name] or 0 for name in ("orders", "gross_revenue", "returns_amount")}


@partitioned_table_asset(
    PRODUCT_PERFORMANCE,
    group="gold",
    description="Per product, as of the latest loaded day: revenue, orders, units, return rate, performance tier.",
    upstream=[PRODUCT_DAILY_SALES, DIM_PRODUCTS, SALES_METRICS],
    check_specs=check_specs(PRODUCT_PERFORMANCE, [TABLE_SCHEMA_CHECK, RECONCILES_WITH_GOLD_TOTAL]),
)
def product_performance(
    context: AssetExecutionContext,
    spark: SparkSessionResource,
    lakehouse: Lakehouse,
    business_rules: BusinessRules,
    step_launcher: ResourceParam[Any],
) -> Iterator:
    """Recompute the product snapshot from the per-day product summaries and the current product versions."""
    days = partition_days(context)
    session = spark.get_session()
    inputs = lakehouse.pin([PRODUCT_DAILY_SALES, DIM_PRODUCTS, SALES_METRICS])
    summaries = inputs.read(session, PRODUCT_DAILY_SALES)
    as_of = _latest_day(summaries, days)
    current = inputs.read(session, DIM_PRODUCTS).where("is_current")
    rules = business_rules.category_rules()
    gold = (
        inputs.read(session, SALES_METRICS)
        .agg(
            F.sum("gross_revenue").alias("gross_revenue"),
            F.sum("units_sold").alias("units_sold"),
            F.count("*").alias("days"),
        )
        .first()
    )
    reporter = CheckReporter(context, PRODUCT_PERFORMANCE)
    with staged(transform.product_performance(summaries, current, rules, as_of)) as stored:
        tiers = {
            f"{row['tier'].lower().replace(' ', '_')}s": row["count"]
            for row in stored.groupBy("tier").count().collect()
        }
        with reporter.computing():
            observed = stored.agg(
                F.count("*").alias("products"),
                F.sum("gross_revenue").alias("gross_revenue"),
                F.sum("units_sold").alias("units_sold"),
            ).first()
            figures = ("gross_revenue", "units_sold")
            tolerance = PENNY_ROUNDING * (observed["products"] + gold["days"])
            reporter.add(TABLE_SCHEMA_CHECK, schema_outcomes(ProductPerformance, stored, None, [days.end]))
            reporter.add(
                RECONCILES_WITH_GOLD_TOTAL,
                {
                    days.end: reconciled(
                        "product performance",
                        {name: observed[name] or 0 for name in figures},
                        {name: gold[name] or 0 for name in figures},
                        {"gross_revenue": tolerance},
                    )
                },
            )
        reporter.overwrite_if_passing(lakehouse, stored, inputs.built_from)
        metadata = table_metadata(lakehouse, PRODUCT_PERFORMANCE, stored.orderBy(F.desc("net_revenue")))
    yield MaterializeResult(
        metadata={"as_of_date": as_of.isoformat(), "products": observed["products"], **tiers, **metadata}
    )
    yield from reporter.publish(lakehouse)


@partitioned_table_asset(
    PROMOTION_UPLIFT,
    group="gold",
    description="Per promotion: in-scope revenue and orders per trading day, against comparable days before it.",
    upstream=[DIM_PROMOTIONS, CATEGORY_REVENUE_DAILY, SALES_METRICS],
    check_specs=check_specs(PROMOTION_UPLIFT, [TABLE_SCHEMA_CHECK]),
)
def promotion_uplift(
    context: AssetExecutionContext, spark: SparkSessionResource, lakehouse: Lakehouse, step_launcher: ResourceParam[Any]
) -> Iterator:
    """Recompute every promotion's uplift from the daily gold tables."""
    days = partition_days(context)
    session = spark.get_session()
    inputs = lakehouse.pin([SALES_METRICS, DIM_PROMOTIONS, CATEGORY_REVENUE_DAILY])
    daily = inputs.read(session, SALES_METRICS, columns=["order_date", "gross_revenue", "order_count"])
    as_of = _latest_day(daily, days)
    uplift = transform.promotion_uplift(
        inputs.read(session, DIM_PROMOTIONS), inputs.read(session, CATEGORY_REVENUE_DAILY), daily, as_of
    )
    reporter = CheckReporter(context, PROMOTION_UPLIFT)
    with staged(uplift) as stored:
        with reporter.computing():
            schema = schema_outcomes(PromotionUplift, stored, None, [days.end])
            reporter.add(TABLE_SCHEMA_CHECK, schema)
        reporter.overwrite_if_passing(lakehouse, stored, inputs.built_from)
        metadata = table_metadata(lakehouse, PROMOTION_UPLIFT, stored.orderBy("start_date"))
    yield MaterializeResult(
        metadata={"as_of_date": as_of.isoformat(), "promotions": schema[days.end].observed.get("rows", 0), **metadata}
    )
    yield from reporter.publish(lakehouse)
