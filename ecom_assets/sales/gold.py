"""Gold asset: daily `ecommerce_catalog.analytics.sales_metrics`."""

from datetime import date, timedelta
from decimal import Decimal

from dagster import AssetExecutionContext
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from ecom_assets.platform.anomaly import combined_outcome
from ecom_assets.platform.checks import SCHEMA_CHECK, WARN, Check, CheckReporter
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.platform.table_asset import TableStep, table_asset
from ecom_assets.platform.table_checks import schema_outcomes
from ecom_assets.platform.tables import ETL_ERRORS
from ecom_assets.sales.checks import non_negative_outcomes, reconciliation_outcomes, silver_sale_totals
from ecom_assets.sales.schemas import GoldSalesMetrics
from ecom_assets.sales.tables import LANDING_DELIVERIES, ORDERS_CLEANED, SALES_METRICS
from ecom_assets.sales.transforms.gold import (
    DELIVERIES_SCHEMA,
    daily_sales_metrics,
    first_sale_dates,
    restate_customer_counts,
    sale_customers,
    with_day_status,
)
from resources import Lakehouse
from resources.lakehouse import within

_METRIC_INPUT_COLUMNS = ["order_date", "invoice_no", "customer_id", "quantity", "line_amount", "line_type"]


NON_NEGATIVE_CHECK = Check("non_negative", "Every money and count figure is ≥ 0 (net revenue may be negative).")
RECONCILIATION_CHECK = Check(
    "reconciles_with_silver", "Gross revenue, units and orders equal the sums of the day's silver sale lines."
)
ANOMALY_METRICS = {
    "gross_revenue": "gross revenue",
    "order_count": "order count",
    "avg_order_value": "average order value",
    "returns_share": "returns as a share of gross revenue",
}
FIGURES_ANOMALY_CHECK = Check(
    "figures_anomaly",
    "The day's "
    + ", ".join(ANOMALY_METRICS.values())
    + ", each against its trailing window (median and MAD); one verdict, each metric's facets in its metadata.",
    WARN,
)
GOLD_CHECKS = (SCHEMA_CHECK, NON_NEGATIVE_CHECK, RECONCILIATION_CHECK, FIGURES_ANOMALY_CHECK)


@table_asset(
    SALES_METRICS,
    quarantines=True,
    group="gold",
    description=(
        "One row per day: its status (complete, closed, or why its figures are withheld), revenue, returns, orders,"
        " units, average order value, new and returning customers."
    ),
    upstream=[ORDERS_CLEANED],
    checks=GOLD_CHECKS,
)
def sales_metrics(
    step: TableStep,
    quality: DataQualityPolicy,
) -> None:
    """Compute the days' metrics from silver and replace them in gold.

    "New" customers are judged against every customer's first sale in all loaded silver
    history. When the run loads days earlier than gold rows already stored, the customer counts
    of those later rows are restated in the same run, so out-of-order backfills stay right.

    A day shows figures only when its delivery arrived, or the shop was closed (bronze records
    that in `logs.landing_deliveries`); otherwise its `day_status` says why they are withheld.
    A day quarantined upstream, or failing a blocking check here, keeps its stored row (or none).
    """
    days = step.days
    session = step.session
    lines = step.lakehouse.read(
        session,
        ORDERS_CLEANED,
        columns=_METRIC_INPUT_COLUMNS,
        filters=within("order_date", days),
    )
    history = step.lakehouse.read(
        session,
        ORDERS_CLEANED,
        columns=["customer_id", "order_date", "line_type"],
        filters=[
            ("line_type", "=", "sale"),
        ],
    )
    customer_days = sale_customers(history).cache()
    first_sales = first_sale_dates(customer_days).cache()
    reporter = step.reporter
    try:
        deliveries = _deliveries(session, step.lakehouse, days)
        daily_rows, metrics = _collected(
            session, with_day_status(daily_sales_metrics(lines, first_sales, days.days()), deliveries)
        )
        with reporter.computing():
            silver_totals = silver_sale_totals(lines).collect()
            _check_gold(session, step.lakehouse, quality, reporter, days, daily_rows, metrics, silver_totals)
        last_stored = _last_stored_day(session, step.lakehouse)
        quarantined = reporter.replace_passing_days(step.lakehouse, metrics, "order_date", days)
        step.lakehouse.delete_date_range(
            ETL_ERRORS, "partition_date", days, {"asset": SALES_METRICS.full_name}, keep_days=quarantined
        )
        restated_days = 0
        if last_stored is not None and last_stored > days.end:
            later_days = DateRange(days.end + timedelta(days=1), last_stored)
            restated_days = _restate_later_days(
                step.context, step.lakehouse, session, later_days, customer_days, first_sales
            )
    finally:
        first_sales.unpersist()
        customer_days.unpersist()
    step.add_daily_metadata(
        {row["order_date"]: _numeric_figures(row) for row in daily_rows if row["order_date"] not in quarantined},
    )
    step.metadata.update(
        {
            "days_in_run": len(days),
            "days_quarantined": len(quarantined),
            "later_days_restated": restated_days,
            **step.table_metadata(metrics),
        }
    )


def _check_gold(
    session: SparkSession,
    lakehouse: Lakehouse,
    quality: DataQualityPolicy,
    reporter: CheckReporter,
    days: DateRange,
    daily_rows: list[Row],
    metrics: DataFrame,
    silver_totals: list[Row],
) -> None:
    """Judge the days' gold rows, before they are stored, against the schema, silver and the days before them."""
    reporter.add(SCHEMA_CHECK, schema_outcomes(GoldSalesMetrics, metrics, "order_date", days.days()))
    reporter.add(NON_NEGATIVE_CHECK, non_negative_outcomes(daily_rows, days.days()))
    reporter.add(RECONCILIATION_CHECK, reconciliation_outcomes(daily_rows, silver_totals, days.days()))
    window = DateRange(days.start - timedelta(days=quality.anomaly_window_days), days.start - timedelta(days=1))
    earlier = (
        lakehouse.read(session, SALES_METRICS, filters=within("order_date", window)).collect()
        if lakehouse.exists(SALES_METRICS)
        else []
    )
    values_by_metric = _anomaly_metric_values([*earlier, *daily_rows])
    rules = {metric: quality.anomaly_rule(metric) for metric in values_by_metric}
    reporter.add(
        FIGURES_ANOMALY_CHECK,
        {
            day: combined_outcome(
                {metric: rules[metric].judge(metric, day, values) for metric, values in values_by_metric.items()}
            )
            for day in days
        },
    )


def _anomaly_metric_values(rows: list[Row]) -> dict[str, dict[date, float]]:
    """Each anomaly metric per trading day (days without orders have none)."""
    values: dict[str, dict[date, float]] = {metric: {} for metric in ANOMALY_METRICS}
    for row in rows:
        if not row["order_count"]:
            continue
        day = row["order_date"]
        values["gross_revenue"][day] = float(row["gross_revenue"])
        values["order_count"][day] = float(row["order_count"])
        values["avg_order_value"][day] = float(row["avg_order_value"])
        if row["gross_revenue"] > 0:
            values["returns_share"][day] = float(row["returns_amount"] / row["gross_revenue"])
    return values


def _numeric_figures(metrics_row: Row) -> dict[str, float | int]:
    """A gold row's figures as plain numbers, leaving out undefined ones (no orders, no average)."""
    return {
        name: float(value) if isinstance(value, Decimal) else value
        for name, value in metrics_row.asDict().items()
        if name != "order_date" and value is not None
    }


def _collected(session: SparkSession, frame: DataFrame) -> tuple[list[Row], DataFrame]:
    """Compute a small result once: its rows, and a DataFrame over them that needs no recomputation."""
    rows = frame.collect()
    return rows, session.createDataFrame(rows, frame.schema)


def _deliveries(session: SparkSession, lakehouse: Lakehouse, days: DateRange) -> DataFrame:
    """The days' delivery status as bronze recorded it (none before bronze's first run)."""
    if not lakehouse.exists(LANDING_DELIVERIES):
        return session.createDataFrame([], DELIVERIES_SCHEMA)
    return lakehouse.read(
        session,
        LANDING_DELIVERIES,
        columns=["partition_date", "delivery_status"],
        filters=within("partition_date", days),
    )


def _last_stored_day(session: SparkSession, lakehouse: Lakehouse) -> date | None:
    """The latest day gold holds (None before its first run), from the table's file statistics."""
    if not lakehouse.exists(SALES_METRICS):
        return None
    return lakehouse.read(session, SALES_METRICS, columns=["order_date"]).agg(F.max("order_date")).first()[0]


def _restate_later_days(
    context: AssetExecutionContext,
    lakehouse: Lakehouse,
    session: SparkSession,
    later_days: DateRange,
    customer_days: DataFrame,
    first_sales: DataFrame,
) -> int:
    """Fix the new/returning counts of stored gold days in `later_days` (after the run's); returns days changed."""
    later_rows, later = _collected(
        session, lakehouse.read(session, SALES_METRICS, filters=within("order_date", later_days))
    )
    later_customers = customer_days.where(F.col("order_date") >= later_days.start)
    restated_rows, restated = _collected(session, restate_customer_counts(later, later_customers, first_sales))
    changed = len(set(restated_rows) - set(later_rows))
    if changed:
        lakehouse.replace_date_range(SALES_METRICS, restated, "order_date", later_days)
        context.log.info(f"restated new/returning customers on {changed} later day(s) in {later_days}")
    return changed
