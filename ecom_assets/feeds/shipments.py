"""Shipments built from the shipping feed: `processed.shipments` (SCD2) and `analytics.shipping_performance`."""

from datetime import UTC, datetime

from dagster import MetadataValue
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.feeds.batches import FEEDS_GROUP
from ecom_assets.feeds.shipment_changes import shipments_to_rebuild
from ecom_assets.feeds.tables import SHIPMENTS, SHIPPING_PERFORMANCE, SHIPPING_UPDATES, VALIDATION_RESULTS
from ecom_assets.feeds.transforms.shipments import shipping_performance
from ecom_assets.platform.checks import Check
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.outcomes import CheckOutcome, jsonable_rows
from ecom_assets.platform.table_asset import TableStep, staged, table_asset
from ecom_assets.sales.tables import ORDERS_CLEANED
from resources import Lakehouse
from resources.lakehouse import within

ONE_CURRENT_CHECK = Check(
    "one_current_version",
    "Every shipment the run rebuilt has exactly one current version, and its versions do not overlap.",
    per_partition=False,
)
RATE_CHECK = Check(
    "rates_consistent",
    "Per order date and method: on_time ≤ delivered ≤ shipments, and on_time_rate = on_time ÷ delivered.",
    per_partition=False,
)


@table_asset(
    SHIPMENTS,
    group=FEEDS_GROUP,
    partitions_def=None,
    description="Each shipment's history (SCD2): a version per change of method, cost, tracking number or "
    "delivery dates, valid from the business day of the change; records validation quarantined, and batches it "
    "failed, are left out. A run rebuilds the shipments whose updates, failed batches or quarantined records "
    "changed since the table was last brought up to date (Delta's change data feed of those tables).",
    upstream=[SHIPPING_UPDATES, VALIDATION_RESULTS],
    checks=[ONE_CURRENT_CHECK],
)
def shipments(
    step: TableStep,
) -> None:
    """Rebuild the shipments whose inputs changed since the table was last brought up to date, each from its whole
    updates (so days loaded out of order give the same history), and write them when their check passes."""
    rebuild = shipments_to_rebuild(step.session, step.lakehouse)
    step.log.info(f"{'every shipment' if rebuild.whole else 'changed shipments'} rebuilt: {rebuild.reason}")
    reporter = step.reporter
    with staged(rebuild.history) as history:
        with reporter.computing():
            figures = history.agg(
                F.count_distinct("order_id").alias("shipments"),
                F.count_if("is_current").alias("current_versions"),
                F.count(F.lit(1)).alias("versions"),
            ).first()
            overlapping = (
                history.groupBy("order_id").agg(F.count_if("is_current").alias("current")).where(F.col("current") != 1)
            )
            sample = jsonable_rows(overlapping.limit(5).collect())
            passed = figures["shipments"] == figures["current_versions"] and not sample
            reporter.add(
                ONE_CURRENT_CHECK,
                {
                    datetime.now(UTC).date(): CheckOutcome(
                        passed,
                        f"{figures['shipments']} shipment(s) rebuilt{' (all)' if rebuild.whole else ''},"
                        f" {figures['versions']} version(s), {figures['current_versions']} current",
                        jsonable_rows([figures])[0],
                        {"current_versions": figures["shipments"]},
                        sample,
                    )
                },
            )
        if reporter.table_passes():
            rebuild.publish(step.lakehouse)
        step.metadata.update(
            {
                "shipments_rebuilt": figures["shipments"],
                "versions_rebuilt": figures["versions"],
                "rebuilt_whole": rebuild.whole,
                "input_versions": MetadataValue.json(rebuild.versions),
                **step.table_metadata(history),
            }
        )


def _restated_order_days(
    session: SparkSession, lakehouse: Lakehouse, days: DateRange, order_days: DataFrame
) -> DateRange | None:
    """The order dates whose shipments the run's batches created or updated (a late delivery restates its
    order's day), as the range from the earliest to the latest; None when the run's batches shipped nothing."""
    touched = lakehouse.read(session, SHIPPING_UPDATES, filters=within("business_date", days)).select("order_id")
    span = (
        touched.join(order_days, touched["order_id"] == order_days["invoice_no"])
        .agg(F.min("order_date").alias("first"), F.max("order_date").alias("last"))
        .first()
    )
    return DateRange(span["first"], span["last"]) if span["first"] else None


@table_asset(
    SHIPPING_PERFORMANCE,
    group=FEEDS_GROUP,
    description="Per order date (the invoice's day) and shipping method: shipments, delivered, on time, on-time "
    "rate, mean delivery days and shipping cost. A late delivery restates its order's date.",
    upstream=[SHIPMENTS],
    reads=[ORDERS_CLEANED],
    checks=[RATE_CHECK],
)
def shipping_performance_daily(
    step: TableStep,
) -> None:
    """Recompute every order date the run's batches touched, from the shipments' current versions."""
    days = step.days
    session = step.session
    orders = step.read(ORDERS_CLEANED).groupBy("invoice_no").agg(F.min("order_date").alias("order_date"))
    restated = _restated_order_days(session, step.lakehouse, days, orders)
    reporter = step.reporter
    if restated is None:
        step.log.info(f"the batches of {days} shipped nothing: no order date to restate")
        reporter.add(RATE_CHECK, {days.end: CheckOutcome(True, "nothing to restate")})
        step.metadata.update({"order_dates_restated": 0})
        return
    current = step.lakehouse.read(session, SHIPMENTS).where("is_current")
    in_range = orders.where(F.col("order_date").between(restated.start, restated.end))
    with staged(shipping_performance(current, in_range)) as performance:
        with reporter.computing():
            broken = performance.where(
                (F.col("on_time") > F.col("delivered"))
                | (F.col("delivered") > F.col("shipments"))
                | (F.abs(F.col("on_time_rate") - F.try_divide(F.col("on_time"), F.col("delivered"))) > 1e-4)
            )
            sample = jsonable_rows(broken.limit(5).collect())
            reporter.add(
                RATE_CHECK,
                {
                    days.end: CheckOutcome(
                        not sample, f"{len(sample)} inconsistent row(s) of {restated}", {}, {}, sample
                    )
                },
            )
        if reporter.table_passes():
            step.lakehouse.replace_date_range(SHIPPING_PERFORMANCE, performance, "order_date", restated)
        step.metadata.update(
            {
                "order_dates_restated": len(restated),
                "first_order_date": restated.start.isoformat(),
                **step.table_metadata(performance),
            }
        )
