"""Gold asset: daily `ecommerce_catalog.analytics.sales_metrics`."""

from datetime import date, timedelta
from decimal import Decimal

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
from ecom_assets.sales.tables import CUSTOMER_FIRST_SALES, LANDING_DELIVERIES, ORDERS_CLEANED, SALES_METRICS
from ecom_assets.sales.transforms.gold import (
    DELIVERIES_SCHEMA,
    FIRST_SALES_SCHEMA,
    daily_sales_metrics,
    days_with_moved_first_sales,
    first_sale_changes,
    first_sale_dates,
    first_sales_after,
    moved_first_sales,
    restate_new_customers,
    sale_customers,
    touched_first_sales,
    with_day_status,
)
from resources import Lakehouse
from resources.lakehouse import within

FIRST_SALES_SCHEMA_COLUMNS = [field.split()[0] for field in FIRST_SALES_SCHEMA.split(", ")]
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

    "New" customers are judged against each customer's first sale over every day loaded, kept in
    `analytics.customer_first_sales` and updated from the run's days only (see
    `first_sale_changes`), so a day's cost does not grow with the history. When the run moves a
    customer's first sale (an earlier day loaded late, a corrected file), the new and returning
    counts of the later stored days that gained or lost it are restated in the same run, so
    out-of-order backfills stay right.

    A day shows figures only when its delivery arrived, or the shop was closed (bronze records
    that in `logs.landing_deliveries`); otherwise its `day_status` says why they are withheld.
    A day quarantined upstream, or failing a blocking check here, keeps its stored row (or none).
    """
    days = step.days
    session = step.session
    lakehouse = step.lakehouse
    lines = lakehouse.read(
        session,
        ORDERS_CLEANED,
        columns=_METRIC_INPUT_COLUMNS,
        filters=within("order_date", days),
    ).persist()
    seeding = not lakehouse.exists(CUSTOMER_FIRST_SALES)
    stored_first_sales = _stored_first_sales(step, seeding).persist()
    touched = touched_first_sales(stored_first_sales, sale_customers(lines), days).persist()
    changes = first_sale_changes(touched, days, lambda customers: _sale_days_after(step, customers)).persist()
    reporter = step.reporter
    try:
        deliveries = _deliveries(session, lakehouse, days)
        daily_rows, metrics = _collected(
            session,
            with_day_status(
                daily_sales_metrics(lines, changes.select("customer_id", "first_sale_date"), days.days()), deliveries
            ),
        )
        with reporter.computing():
            silver_totals = silver_sale_totals(lines).collect()
            _check_gold(session, lakehouse, quality, reporter, days, daily_rows, metrics, silver_totals)
        quarantined = reporter.replace_passing_days(lakehouse, metrics, "order_date", days)
        lakehouse.delete_date_range(
            ETL_ERRORS, "partition_date", days, {"asset": SALES_METRICS.full_name}, keep_days=quarantined
        )
        restated_days = _restate_later_days(step, stored_first_sales, changes)
        moved_customers = _store_first_sales(lakehouse, stored_first_sales, changes, seeding)
    finally:
        for cached in (changes, touched, stored_first_sales, lines):
            cached.unpersist()
    step.add_daily_metadata(
        {row["order_date"]: _numeric_figures(row) for row in daily_rows if row["order_date"] not in quarantined},
    )
    step.metadata.update(
        {
            "days_in_run": len(days),
            "days_quarantined": len(quarantined),
            "later_days_restated": restated_days,
            "first_sales_moved": moved_customers,
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


def _stored_first_sales(step: TableStep, seeding: bool) -> DataFrame:
    """The first-sale table as the run found it (its latest version, pinned); while it does not exist yet, what it
    would hold: each customer's first sale in silver (a full read of silver, once)."""
    if not seeding:
        return step.lakehouse.pin([CUSTOMER_FIRST_SALES]).read(step.session, CUSTOMER_FIRST_SALES)
    history = step.lakehouse.read(step.session, ORDERS_CLEANED, columns=["customer_id", "order_date", "line_type"])
    return first_sale_dates(sale_customers(history)).select(*FIRST_SALES_SCHEMA_COLUMNS)


def _sale_days_after(step: TableStep, customers: DataFrame) -> DataFrame:
    """The sale days, after the run's, of `customers`: read from silver only when a rerun took a customer's first
    sale away."""
    later = step.lakehouse.read(
        step.session,
        ORDERS_CLEANED,
        columns=["customer_id", "order_date", "line_type"],
        filters=[("order_date", ">", step.days.end), ("line_type", "=", "sale")],
    )
    return sale_customers(later.join(customers, "customer_id", "left_semi"))


def _restate_later_days(step: TableStep, stored_first_sales: DataFrame, changes: DataFrame) -> int:
    """Fix the new/returning counts of stored gold days after the run's whose first sales moved; returns days
    changed."""
    moved = days_with_moved_first_sales(changes, step.days.end)
    if not moved or not step.lakehouse.exists(SALES_METRICS):
        return 0
    later_days = DateRange(moved[0], moved[-1])
    session = step.session
    stored_rows, stored = _collected(
        session, step.lakehouse.read(session, SALES_METRICS, filters=within("order_date", later_days))
    )
    later_rows = [row for row in stored_rows if row["order_date"] in moved]
    if not later_rows:
        return 0
    first_sales = first_sales_after(stored_first_sales, changes).where(F.col("first_sale_date").isin(moved))
    is_moved = F.col("order_date").isin(moved)
    restated_rows, restated = _collected(session, restate_new_customers(stored.where(is_moved), first_sales))
    changed = len(set(restated_rows) - set(later_rows))
    if changed:
        rows = stored.where(~is_moved).unionByName(restated)
        step.lakehouse.replace_date_range(SALES_METRICS, rows, "order_date", later_days)
        step.log.info(f"restated new/returning customers on {changed} later day(s) in {later_days}")
    return changed


def _store_first_sales(lakehouse: Lakehouse, stored: DataFrame, changes: DataFrame, seeding: bool) -> int:
    """Write the run's moved first sales to the first-sale table (the whole table when `seeding` it), after gold: a
    failed run leaves it as it was, so a rerun finds the same moves. No commit when none moved. Returns how many
    customers moved."""
    moved = moved_first_sales(changes).persist()
    try:
        count = moved.count()
        if seeding:
            lakehouse.overwrite(CUSTOMER_FIRST_SALES, first_sales_after(stored, changes))
        elif count:
            rows = moved.where(F.col("first_sale_date").isNotNull()).select(*FIRST_SALES_SCHEMA_COLUMNS)
            lakehouse.replace_keys(CUSTOMER_FIRST_SALES, rows, ["customer_id"], moved)
        return count
    finally:
        moved.unpersist()
