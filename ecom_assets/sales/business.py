"""Gold business-metric assets beside `sales_metrics`.

How each table is kept current without rescanning silver history:
- `category_revenue_daily` and `seasonal_sales` replace the run's days only;
- `customer_lifetime_value` and `product_performance` are snapshots as of the latest loaded
  day, recomputed from the per-day customer and product summaries (not from silver lines);
- `promotion_uplift` is recomputed from the daily gold tables (a few thousand rows).
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.platform.checks import (
    SCHEMA_CHECK,
    TABLE_SCHEMA_CHECK,
    Check,
)
from ecom_assets.platform.table_asset import TableStep, input_versions, staged, table_asset
from ecom_assets.platform.table_checks import schema_outcomes
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
    PRODUCT_FACTS,
    PRODUCT_PERFORMANCE,
    PROMOTION_UPLIFT,
    SALES_METRICS,
    SEASONAL_SALES,
)
from ecom_assets.sales.transforms import business as transform
from resources.lakehouse import PinnedTables

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


def _replace_days_and_reconcile(step: TableStep, rows: DataFrame, model: type, figures: dict[str, str]) -> None:
    """Check each of the run's days of a daily gold table (schema, sums against sales_metrics), then replace them.

    `figures` maps the table's columns to the `sales_metrics` figures their daily sums must equal;
    `revenue` sums may differ by half a penny per row (each row is rounded).
    """
    days, reporter = step.days, step.reporter
    metrics = step.read(SALES_METRICS, "order_date").collect()
    with staged(rows) as rows:
        with reporter.computing():
            schema = schema_outcomes(model, rows, "order_date", days.days())
            reporter.add(SCHEMA_CHECK, schema)
            reporter.add(
                RECONCILES_WITH_GOLD,
                daily_totals_outcomes(step.table.table, rows, metrics, figures, ["revenue"], days.days()),
            )
        quarantined = reporter.replace_passing_days(step.lakehouse, rows, "order_date", days)
        step.metadata.update({"days_in_run": len(days), **step.table_metadata(rows)})
    step.add_daily_metadata(
        {day: {"rows": schema[day].observed.get("rows", 0)} for day in days if day not in quarantined}
    )


@table_asset(
    CATEGORY_REVENUE_DAILY,
    quarantines=True,
    group="gold",
    description="Per day and product category: revenue, orders, units; sums to sales_metrics.gross_revenue.",
    upstream=[ORDERS_ENRICHED, SALES_METRICS],
    checks=[SCHEMA_CHECK, RECONCILES_WITH_GOLD],
)
def category_revenue_daily(step: TableStep) -> None:
    """Aggregate the days' enriched sale lines by category; reconcile each day with sales_metrics."""
    lines = step.read(ORDERS_ENRICHED, "order_date")
    _replace_days_and_reconcile(
        step,
        transform.category_revenue_daily(lines),
        CategoryRevenueDaily,
        {"revenue": "gross_revenue"},
    )


@table_asset(
    SEASONAL_SALES,
    quarantines=True,
    group="gold",
    description="Per day, hour and country: revenue, orders, units, with month and weekday for seasonal roll-ups.",
    upstream=[ORDERS_CLEANED, SALES_METRICS],
    checks=[SCHEMA_CHECK, RECONCILES_WITH_GOLD],
)
def seasonal_sales(step: TableStep) -> None:
    """Aggregate the days' silver sale lines by hour and country; reconcile each day with sales_metrics."""
    columns = ["order_date", "invoice_ts", "invoice_no", "quantity", "line_amount", "line_type", "country"]
    lines = step.read(ORDERS_CLEANED, "order_date", columns=columns)
    _replace_days_and_reconcile(
        step,
        transform.seasonal_sales(lines),
        SeasonalSales,
        {"revenue": "gross_revenue", "orders": "order_count", "units_sold": "units_sold"},
    )


def _latest_day(frame: DataFrame) -> date:
    """The latest order day of a table (today, UTC, when it is empty): the day a snapshot is "as of"."""
    return frame.agg(F.max("order_date")).first()[0] or datetime.now(UTC).date()


@table_asset(
    CUSTOMER_LIFETIME_VALUE,
    group="gold",
    partitions_def=None,
    description="Per customer, as of the latest loaded day: orders, revenue, tenure, historic and predicted CLV.",
    upstream=[CUSTOMER_DAILY_SALES, DIM_CUSTOMERS],
    reads=[ORDERS_CLEANED],
    checks=[TABLE_SCHEMA_CHECK, RECONCILES_WITH_SILVER],
)
def customer_lifetime_value(step: TableStep) -> None:
    """Recompute the CLV snapshot from the per-day customer summaries and the current customer versions."""
    inputs = step.lakehouse.pin([CUSTOMER_DAILY_SALES, DIM_CUSTOMERS, ORDERS_CLEANED])
    summaries = inputs.read(step.session, CUSTOMER_DAILY_SALES)
    as_of = _latest_day(summaries)
    current = inputs.read(step.session, DIM_CUSTOMERS).where("is_current")
    reporter = step.reporter
    with staged(transform.customer_lifetime_value(summaries, current, as_of)) as stored:
        with reporter.computing():
            totals = stored.agg(
                F.count("*").alias("customers"),
                F.sum("orders").alias("orders"),
                F.sum("gross_revenue").alias("gross_revenue"),
                F.sum("returns_amount").alias("returns_amount"),
                F.sum("predicted_clv_12m").alias("predicted_clv_12m"),
            ).first()
            silver = _known_customer_totals(step.session, inputs)
            tolerance = PENNY_ROUNDING * totals["customers"]
            reporter.add(TABLE_SCHEMA_CHECK, schema_outcomes(CustomerLifetimeValue, stored, None, [as_of]))
            reporter.add(
                RECONCILES_WITH_SILVER,
                {
                    as_of: reconciled(
                        "customer lifetime values",
                        {name: totals[name] or 0 for name in ("orders", "gross_revenue", "returns_amount")},
                        silver,
                        {"gross_revenue": tolerance, "returns_amount": tolerance},
                    )
                },
            )
        reporter.overwrite_if_passing(step.lakehouse, stored, inputs.built_from)
        step.metadata.update(
            {
                "as_of_date": as_of.isoformat(),
                "customers": totals["customers"],
                "predicted_clv_12m_total": float(totals["predicted_clv_12m"] or 0),
                **input_versions(inputs),
                **step.table_metadata(stored.orderBy(F.desc("net_revenue"))),
            }
        )


def _known_customer_totals(session: SparkSession, inputs: PinnedTables) -> dict[str, Decimal | int]:
    """Orders, gross sales and returns of known customers, straight from every silver line (at its pinned version)."""
    lines = inputs.read(session, ORDERS_CLEANED, columns=["customer_id", "invoice_no", "line_amount", "line_type"])
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


@table_asset(
    PRODUCT_PERFORMANCE,
    group="gold",
    partitions_def=None,
    description="Per product, as of the latest loaded day: revenue, orders, units, return rate, performance tier.",
    upstream=[PRODUCT_DAILY_SALES, DIM_PRODUCTS, SALES_METRICS],
    reads=[PRODUCT_FACTS],
    checks=[TABLE_SCHEMA_CHECK, RECONCILES_WITH_GOLD_TOTAL],
)
def product_performance(step: TableStep, business_rules: BusinessRules) -> None:
    """Recompute the product snapshot from the per-day product summaries and the current product versions."""
    session = step.session
    inputs = step.lakehouse.pin([PRODUCT_DAILY_SALES, DIM_PRODUCTS, PRODUCT_FACTS, SALES_METRICS])
    summaries = inputs.read(session, PRODUCT_DAILY_SALES)
    as_of = _latest_day(summaries)
    seen = inputs.read(session, PRODUCT_FACTS, columns=["stock_code", "first_seen", "last_seen"])
    current = inputs.read(session, DIM_PRODUCTS).where("is_current").join(seen, "stock_code", "left")
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
    reporter = step.reporter
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
            reporter.add(TABLE_SCHEMA_CHECK, schema_outcomes(ProductPerformance, stored, None, [as_of]))
            reporter.add(
                RECONCILES_WITH_GOLD_TOTAL,
                {
                    as_of: reconciled(
                        "product performance",
                        {name: observed[name] or 0 for name in figures},
                        {name: gold[name] or 0 for name in figures},
                        {"gross_revenue": tolerance},
                    )
                },
            )
        reporter.overwrite_if_passing(step.lakehouse, stored, inputs.built_from)
        step.metadata.update(
            {
                "as_of_date": as_of.isoformat(),
                "products": observed["products"],
                **tiers,
                **input_versions(inputs),
                **step.table_metadata(stored.orderBy(F.desc("net_revenue"))),
            }
        )


@table_asset(
    PROMOTION_UPLIFT,
    group="gold",
    partitions_def=None,
    description="Per promotion: in-scope revenue and orders per trading day, against comparable days before it.",
    upstream=[DIM_PROMOTIONS, CATEGORY_REVENUE_DAILY, SALES_METRICS],
    checks=[TABLE_SCHEMA_CHECK],
)
def promotion_uplift(step: TableStep) -> None:
    """Recompute every promotion's uplift from the daily gold tables."""
    session = step.session
    inputs = step.lakehouse.pin([SALES_METRICS, DIM_PROMOTIONS, CATEGORY_REVENUE_DAILY])
    daily = inputs.read(session, SALES_METRICS, columns=["order_date", "gross_revenue", "order_count"])
    as_of = _latest_day(daily)
    uplift = transform.promotion_uplift(
        inputs.read(session, DIM_PROMOTIONS), inputs.read(session, CATEGORY_REVENUE_DAILY), daily, as_of
    )
    with staged(uplift) as stored:
        with step.reporter.computing():
            schema = schema_outcomes(PromotionUplift, stored, None, [as_of])
            step.reporter.add(TABLE_SCHEMA_CHECK, schema)
        step.reporter.overwrite_if_passing(step.lakehouse, stored, inputs.built_from)
        step.metadata.update(
            {
                "as_of_date": as_of.isoformat(),
                "promotions": schema[as_of].observed.get("rows", 0),
                **input_versions(inputs),
                **step.table_metadata(stored.orderBy("start_date")),
            }
        )
