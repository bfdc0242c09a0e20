"""The clickstream's daily tables, each UTC day mapped from its 24 hourly partitions.

A day's figures say how many of its hours were in (`hours_processed`, the hours `funnel_hourly`
holds) and are `complete` only when all 24 were; otherwise `partial`, never shown as the whole day.
"""

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.clickstream.checks import funnel_consistency
from ecom_assets.clickstream.hourly import FUNNEL_CONSISTENCY_CHECK
from ecom_assets.clickstream.partitions import clickstream_days
from ecom_assets.clickstream.schemas import CategoryFunnelDaily, FunnelDaily, ProductFunnelDaily
from ecom_assets.clickstream.tables import (
    CATEGORY_FUNNEL_DAILY,
    CLICKSTREAM_EVENTS,
    DIM_CATALOG_ITEMS,
    FUNNEL_DAILY,
    FUNNEL_HOURLY,
    PRODUCT_FUNNEL_DAILY,
)
from ecom_assets.clickstream.transforms import (
    category_funnel,
    funnel,
    product_funnel,
    with_attributes_at_day_end,
    with_day_status,
    with_empty_windows,
)
from ecom_assets.platform.checks import SCHEMA_CHECK, Check
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.outcomes import CheckOutcome, jsonable
from ecom_assets.platform.table_asset import TableStep, staged, table_asset
from ecom_assets.platform.table_checks import schema_outcomes
from resources import Lakehouse
from resources.lakehouse import within

CLICKSTREAM_DAILY_GROUP = "clickstream_daily"
RECONCILES_CHECK = Check(
    "reconciles_with_funnel_hourly", "The day's purchases and revenue equal the sums over its hours in funnel_hourly."
)


def _day_inputs(session: SparkSession, lakehouse: Lakehouse, day_range: DateRange) -> tuple[DataFrame, dict]:
    """The days' silver events, and per day the hourly funnel's hour count, purchases and revenue."""
    events = lakehouse.read(session, CLICKSTREAM_EVENTS, filters=within("event_date", day_range))
    hourly = {}
    if lakehouse.exists(FUNNEL_HOURLY):
        rows = (
            lakehouse.read(session, FUNNEL_HOURLY)
            .where(F.to_date("hour").between(F.lit(day_range.start), F.lit(day_range.end)))
            .groupBy(F.to_date("hour").alias("day"))
            .agg(F.count("*").alias("hours"), F.sum("purchases").alias("purchases"), F.sum("revenue").alias("revenue"))
            .collect()
        )
        hourly = {row["day"]: row.asDict() for row in rows}
    return events, hourly


def _per_day(figures: DataFrame, days: DateRange, hourly: dict) -> DataFrame:
    """The figures with each day's `hours_processed` and `day_status`."""
    counts = figures.sparkSession.createDataFrame(
        [(day, int(hourly.get(day, {}).get("hours", 0))) for day in days], "event_date date, hours_processed int"
    )
    return with_day_status(figures, counts)


def _publish_days(step: TableStep, rows: DataFrame) -> None:
    """Replace the run's days, unless a blocking check failed on any of them (the table is published all or
    nothing)."""
    if step.reporter.passes_everywhere():
        step.lakehouse.replace_date_range(step.table, rows, "event_date", step.days)
    step.metadata.update({"days_in_run": len(step.days), **step.table_metadata(rows)})


@table_asset(
    FUNNEL_DAILY,
    group=CLICKSTREAM_DAILY_GROUP,
    partitions_def=clickstream_days,
    description="The conversion funnel of each UTC day (`event_date`), with how many of its 24 hours were processed"
    " and whether the day is complete.",
    upstream=[CLICKSTREAM_EVENTS, FUNNEL_HOURLY],
    checks=(SCHEMA_CHECK, FUNNEL_CONSISTENCY_CHECK, RECONCILES_CHECK),
)
def funnel_daily(
    step: TableStep,
) -> None:
    """Compute the days' funnels from silver, reconcile them with the hourly funnel, replace the days."""
    days = step.days
    session = step.session
    events, hourly = _day_inputs(session, step.lakehouse, days)
    figures = with_empty_windows(funnel(events, "event_date"), "event_date", [day.isoformat() for day in days])
    reporter = step.reporter
    with staged(_per_day(figures, days, hourly)) as rows:
        collected = {row["event_date"]: row.asDict() for row in rows.collect()}
        with reporter.computing():
            reporter.add(SCHEMA_CHECK, schema_outcomes(FunnelDaily, rows, "event_date", days.days()))
            reporter.add(FUNNEL_CONSISTENCY_CHECK, {day: funnel_consistency(collected[day]) for day in days})
            reporter.add(RECONCILES_CHECK, {day: _reconciliation(collected[day], hourly.get(day, {})) for day in days})
        for day in days:
            figures_of_day = collected[day]
            step.context.add_asset_metadata(
                {
                    "sessions": figures_of_day["sessions"],
                    "purchases": figures_of_day["purchases"],
                    "revenue": float(figures_of_day["revenue"]),
                    "hours_processed": figures_of_day["hours_processed"],
                    "day_status": figures_of_day["day_status"],
                },
                partition_key=day.isoformat(),
            )
        _publish_days(step, rows)


def _reconciliation(daily: dict, hourly: dict) -> CheckOutcome:
    """The day's purchases and revenue against the sums of its hours in `funnel_hourly`."""
    observed = {"purchases": daily["purchases"], "revenue": jsonable(daily["revenue"])}
    expected = {"purchases": int(hourly.get("purchases") or 0), "revenue": jsonable(hourly.get("revenue") or 0)}
    passed = daily["purchases"] == expected["purchases"] and daily["revenue"] == (hourly.get("revenue") or 0)
    summary = (
        f"{daily['purchases']} purchase(s), revenue {daily['revenue']}: equal to the hours' sums"
        if passed
        else f"day {observed} ≠ sum of its {hourly.get('hours', 0)} hour(s) {expected}"
    )
    return CheckOutcome(passed, summary, observed, expected)


@table_asset(
    PRODUCT_FUNNEL_DAILY,
    group=CLICKSTREAM_DAILY_GROUP,
    partitions_def=clickstream_days,
    description="Per UTC day and product: views, carts, purchases, revenue, view-to-purchase rate, and the brand,"
    " category and price of the catalog item version in effect when the day closed (point in time).",
    upstream=[CLICKSTREAM_EVENTS, DIM_CATALOG_ITEMS, FUNNEL_HOURLY],
    checks=(SCHEMA_CHECK, RECONCILES_CHECK),
)
def product_funnel_daily(
    step: TableStep,
) -> None:
    """Per product and day from silver, with the item version in effect at the day's end; replace the days."""
    days = step.days
    session = step.session
    events, hourly = _day_inputs(session, step.lakehouse, days)
    versions = step.lakehouse.read(session, DIM_CATALOG_ITEMS)
    figures = with_attributes_at_day_end(product_funnel(events), versions)
    reporter = step.reporter
    with staged(_per_day(figures, days, hourly).select(*ProductFunnelDaily.to_schema().columns)) as rows:
        with reporter.computing():
            reporter.add(SCHEMA_CHECK, schema_outcomes(ProductFunnelDaily, rows, "event_date", days.days()))
            reporter.add(RECONCILES_CHECK, _sums_reconcile(rows, days, hourly, "purchases"))
        _publish_days(step, rows)


def _sums_reconcile(rows: DataFrame, days: DateRange, hourly: dict, purchases: str | None) -> dict:
    """Per day: the rows' revenue (and purchases, when the table has them) against the hourly funnel's sums."""
    sums = [F.sum("revenue").alias("revenue")] + ([F.sum(purchases).alias("purchases")] if purchases else [])
    totals = {row["event_date"]: row.asDict() for row in rows.groupBy("event_date").agg(*sums).collect()}
    outcomes = {}
    for day in days:
        daily = {"purchases": 0, "revenue": 0, **{k: v or 0 for k, v in totals.get(day, {}).items()}}
        hours = dict(hourly.get(day, {}))
        if not purchases:
            hours["purchases"] = 0
        outcomes[day] = _reconciliation(daily, hours)
    return outcomes


@table_asset(
    CATEGORY_FUNNEL_DAILY,
    group=CLICKSTREAM_DAILY_GROUP,
    partitions_def=clickstream_days,
    description="Per UTC day and top-level category (first segment of category_code, `unknown` when empty):"
    " sessions, purchase sessions, revenue.",
    upstream=[CLICKSTREAM_EVENTS, FUNNEL_HOURLY],
    checks=(SCHEMA_CHECK, RECONCILES_CHECK),
)
def category_funnel_daily(
    step: TableStep,
) -> None:
    """Per top-level category and day from silver; replace the days."""
    days = step.days
    session = step.session
    events, hourly = _day_inputs(session, step.lakehouse, days)
    reporter = step.reporter
    with staged(_per_day(category_funnel(events), days, hourly)) as rows:
        with reporter.computing():
            reporter.add(SCHEMA_CHECK, schema_outcomes(CategoryFunnelDaily, rows, "event_date", days.days()))
            reporter.add(RECONCILES_CHECK, _sums_reconcile(rows, days, hourly, None))
        _publish_days(step, rows)
