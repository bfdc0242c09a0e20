"""Gold built from the operational feeds with the sales: `analytics.inventory_daily`, `analytics.segment_analysis`."""

from datetime import date, timedelta
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.feeds.batches import FEEDS_GROUP
from ecom_assets.feeds.tables import (
    CUSTOMER_UPDATES,
    INVENTORY_DAILY,
    INVENTORY_SNAPSHOTS,
    SEGMENT_ANALYSIS,
    VALIDATION_RESULTS,
)
from ecom_assets.feeds.transforms.gold import (
    cover_window_start,
    inventory_daily,
    segment_analysis,
    tier_as_of,
    unexplained_stock_drops,
)
from ecom_assets.feeds.validation import quarantined_records
from ecom_assets.platform.checks import WARN, Check
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.outcomes import SAMPLE_ROWS, CheckOutcome, jsonable_rows
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.platform.table_asset import (
    TableStep,
    staged,
    table_asset,
)
from ecom_assets.sales.tables import ORDERS_CLEANED, PRODUCT_DAILY_SALES
from resources import Lakehouse
from resources.lakehouse import within

COVER_CHECK = Check(
    "cover_consistent",
    "Per day and product: units sold ≥ 0, and days of cover is null exactly when nothing sold in the window.",
)
INVENTORY_DROP_CHECK = Check(
    "no_unexplained_stock_drop",
    "No product's stock falls from one day to the next by more than the quality policy's `inventory_drop_share` of "
    "the day before's stock beyond the units sold that day; a failure is mailed with the products.",
    severity=WARN,
)
SEGMENT_RECONCILIATION_CHECK = Check(
    "reconciles_with_silver",
    "The day's revenue summed over tiers equals the revenue of the day's sale lines in silver.",
)


def _inventory_kept_out(session: SparkSession, lakehouse: Lakehouse, days: DateRange) -> DataFrame:
    """(day, product, warehouse) of inventory records validation quarantined (negative stock)."""
    parts = F.split("record", r"\|")
    return quarantined_records(session, lakehouse, ["negative_stock"], days).select(
        "business_date", parts[0].alias("product_id"), parts[1].alias("warehouse_location")
    )


@table_asset(
    INVENTORY_DAILY,
    quarantines=True,
    group=FEEDS_GROUP,
    description="Per day and product: stock on hand over warehouses, units sold, days of cover (stock ÷ mean daily "
    "units sold over the trailing 28 days) and a stock-out flag; records validation quarantined are left out.",
    upstream=[INVENTORY_SNAPSHOTS, VALIDATION_RESULTS],
    reads=[PRODUCT_DAILY_SALES],
    checks=[COVER_CHECK, INVENTORY_DROP_CHECK],
)
def inventory_daily_asset(step: TableStep, quality: DataQualityPolicy) -> None:
    """Replace the run's days with each product's stock and cover; warn of stock that vanished without sales."""
    days = step.days
    session = step.session
    snapshots = step.lakehouse.read(session, INVENTORY_SNAPSHOTS, filters=within("business_date", days)).join(
        _inventory_kept_out(session, step.lakehouse, days),
        ["business_date", "product_id", "warehouse_location"],
        "left_anti",
    )
    window = DateRange(cover_window_start(days.start), days.end)
    sold = (
        step.lakehouse.read(session, PRODUCT_DAILY_SALES, filters=within("order_date", window))
        if step.lakehouse.exists(PRODUCT_DAILY_SALES)
        else session.createDataFrame([], "order_date date, stock_code string, units_sold long")
    )
    reporter = step.reporter
    with staged(inventory_daily(snapshots, sold, days.days())) as rows:
        with reporter.computing():
            figures = {
                row["business_date"]: row
                for row in rows.groupBy("business_date")
                .agg(
                    F.count(F.lit(1)).alias("products"),
                    F.count_if("stock_out").alias("stock_outs"),
                    F.count_if(
                        (F.col("units_sold") < 0)
                        | (F.col("days_of_cover").isNull() != (F.col("mean_daily_units_sold") == 0))
                    ).alias("inconsistent"),
                )
                .collect()
            }
            reporter.add(
                COVER_CHECK,
                {
                    day: CheckOutcome(
                        not figures[day]["inconsistent"],
                        f"{figures[day]['products']} product(s), {figures[day]['stock_outs']} out of stock, "
                        f"{figures[day]['inconsistent']} inconsistent",
                        jsonable_rows([figures[day]])[0],
                        {"inconsistent": 0},
                    )
                    for day in days
                    if day in figures
                },
            )
            reporter.add(
                INVENTORY_DROP_CHECK, _stock_drop_outcomes(step, rows, sorted(figures), quality.inventory_drop_share)
            )
        quarantined = reporter.replace_passing_days(step.lakehouse, rows, "business_date", days)
        step.add_daily_metadata(
            {
                day: {"products": figures[day]["products"], "stock_outs": figures[day]["stock_outs"]}
                for day in figures
                if day not in quarantined
            },
        )
        step.metadata.update({"days_quarantined": len(quarantined), **step.table_metadata(rows)})


def _stock_drop_outcomes(
    step: TableStep, rows: DataFrame, judged: list[date], share: float
) -> dict[date, CheckOutcome]:
    """Each `judged` day's unexplained stock drops against the day before (the run's own rows, or the stored day
    before the run's first day)."""
    day_before = step.days.start - timedelta(days=1)
    stored = (
        step.lakehouse.read(step.session, INVENTORY_DAILY, filters=[("business_date", "=", day_before)])
        if step.lakehouse.exists(INVENTORY_DAILY)
        else rows.limit(0)
    )
    drops = unexplained_stock_drops(rows, rows.unionByName(stored), share).orderBy(F.desc("drop_share")).collect()
    outcomes = {}
    for day in judged:
        found = [row for row in drops if row["business_date"] == day]
        summary = (
            f"{len(found)} product(s) lost more than {share:.0%} of their stock without matching sales"
            if found
            else f"no product lost more than {share:.0%} of its stock without matching sales"
        )
        outcomes[day] = CheckOutcome(
            not found,
            summary,
            {"products_dropped": len(found)},
            {"largest_unexplained_share": share},
            jsonable_rows(found[:SAMPLE_ROWS]),
        )
    return outcomes


@table_asset(
    SEGMENT_ANALYSIS,
    quarantines=True,
    group=FEEDS_GROUP,
    description="Per order day and customer tier (as the customers feed stated it on that day; 'unknown' before "
    "it did, 'guest' without a customer id): revenue, orders and customers of the day's sales.",
    upstream=[ORDERS_CLEANED],
    reads=[CUSTOMER_UPDATES],
    checks=[SEGMENT_RECONCILIATION_CHECK],
)
def segment_analysis_asset(
    step: TableStep,
) -> None:
    """Replace the run's days with their sales per tier. Runs with each feed batch, which the trigger sensor starts
    only once the day's sales are loaded; the sales job never waits for it."""
    days = step.days
    session = step.session
    lines = step.lakehouse.read(session, ORDERS_CLEANED, filters=within("order_date", days))
    history = (
        step.lakehouse.read(session, CUSTOMER_UPDATES, filters=[("business_date", "<=", days.end)])
        if step.lakehouse.exists(CUSTOMER_UPDATES)
        else session.createDataFrame(
            [], "customer_id string, customer_tier string, business_date date, created_timestamp timestamp"
        )
    )
    reporter = step.reporter
    with staged(segment_analysis(tier_as_of(lines, history))) as rows:
        with reporter.computing():
            by_tier = _revenue_by_day(rows, "order_date", "revenue")
            in_silver = _revenue_by_day(lines.where(F.col("line_type") == "sale"), "order_date", "line_amount")
            reporter.add(
                SEGMENT_RECONCILIATION_CHECK,
                {day: _reconciled(by_tier.get(day, 0), in_silver.get(day, 0)) for day in days},
            )
        quarantined = reporter.replace_passing_days(step.lakehouse, rows, "order_date", days)
        step.metadata.update({"days_quarantined": len(quarantined), **step.table_metadata(rows)})


def _revenue_by_day(rows: DataFrame, day: str, amount: str) -> dict[date, Any]:
    return {row[0]: row[1] for row in rows.groupBy(day).agg(F.sum(amount)).collect()}


def _reconciled(by_tier, in_silver) -> CheckOutcome:
    passed = by_tier == in_silver
    return CheckOutcome(
        passed,
        f"revenue over tiers {by_tier} {'=' if passed else '≠'} silver's sale lines {in_silver}",
        {"revenue_over_tiers": float(by_tier), "silver_sale_revenue": float(in_silver)},
    )
