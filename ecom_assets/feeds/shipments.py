"""Shipments built from the shipping feed: `processed.shipments` (SCD2) and `analytics.shipping_performance`."""

from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, ResourceParam
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.feeds.batches import FEEDS_GROUP
from ecom_assets.feeds.tables import SHIPMENTS, SHIPPING_PERFORMANCE, SHIPPING_UPDATES, VALIDATION_RESULTS
from ecom_assets.feeds.transforms.shipments import shipment_history, shipping_performance
from ecom_assets.feeds.transforms.validation import QUARANTINING_RULES
from ecom_assets.feeds.validation import quarantined_records, validated_updates
from ecom_assets.platform.checks import Check, CheckReporter, check_specs
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.outcomes import CheckOutcome, jsonable_rows
from ecom_assets.platform.partitions import partition_days
from ecom_assets.platform.table_asset import partitioned_table_asset, staged, table_metadata
from ecom_assets.sales.tables import ORDERS_CLEANED
from resources import Lakehouse, SparkSessionResource
from resources.lakehouse import within

ONE_CURRENT_CHECK = Check(
    "one_current_version",
    "Every shipment has exactly one current version, and its versions do not overlap.",
    per_partition=False,
)
RATE_CHECK = Check(
    "rates_consistent",
    "Per order date and method: on_time ≤ delivered ≤ shipments, and on_time_rate = on_time ÷ delivered.",
    per_partition=False,
)


@partitioned_table_asset(
    SHIPMENTS,
    group=FEEDS_GROUP,
    description="Each shipment's history (SCD2): a version per change of method, cost, tracking number or "
    "delivery dates, valid from the business day of the change; records validation quarantined, and batches it "
    "failed, are left out.",
    upstream=[SHIPPING_UPDATES, VALIDATION_RESULTS],
    check_specs=check_specs(SHIPMENTS, [ONE_CURRENT_CHECK]),
)
def shipments(
    context: AssetExecutionContext,
    spark: SparkSessionResource,
    lakehouse: Lakehouse,
    step_launcher: ResourceParam[Any],
) -> Iterator:
    """Rebuild the shipments' history from every shipping update (so days loaded out of order give the same
    history) and replace the table when its check passes."""
    session = spark.get_session()
    updates = validated_updates(session, lakehouse, lakehouse.read(session, SHIPPING_UPDATES))
    reporter = CheckReporter(context, SHIPMENTS)
    with staged(
        shipment_history(
            updates,
            quarantined_records(session, lakehouse, QUARANTINING_RULES).withColumnRenamed("record", "order_id"),
        )
    ) as history:
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
                    partition_days(context).end: CheckOutcome(
                        passed,
                        f"{figures['shipments']} shipment(s), {figures['versions']} version(s), "
                        f"{figures['current_versions']} current",
                        jsonable_rows([figures])[0],
                        {"current_versions": figures["shipments"]},
                        sample,
                    )
                },
            )
        reporter.overwrite_if_passing(lakehouse, history)
        yield MaterializeResult(
            metadata={
                "shipments": figures["shipments"],
                "versions": figures["versions"],
                **table_metadata(lakehouse, SHIPMENTS, history),
            }
        )
    yield from reporter.publish(lakehouse)


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


@partitioned_table_asset(
    SHIPPING_PERFORMANCE,
    group=FEEDS_GROUP,
    description="Per order date (the invoice's day) and shipping method: shipments, delivered, on time, on-time "
    "rate, mean delivery days and shipping cost. A late delivery restates its order's date.",
    upstream=[SHIPMENTS],
    reads=[ORDERS_CLEANED],
    check_specs=check_specs(SHIPPING_PERFORMANCE, [RATE_CHECK]),
)
def shipping_performance_daily(
    context: AssetExecutionContext,
    spark: SparkSessionResource,
    lakehouse: Lakehouse,
    step_launcher: ResourceParam[Any],
) -> Iterator:
    """Recompute every order date the run's batches touched, from the shipments' current versions."""
    days = partition_days(context)
    session = spark.get_session()
    orders = lakehouse.read(session, ORDERS_CLEANED).groupBy("invoice_no").agg(F.min("order_date").alias("order_date"))
    restated = _restated_order_days(session, lakehouse, days, orders)
    reporter = CheckReporter(context, SHIPPING_PERFORMANCE)
    if restated is None:
        context.log.info(f"the batches of {days} shipped nothing: no order date to restate")
        reporter.add(RATE_CHECK, {days.end: CheckOutcome(True, "nothing to restate")})
        yield MaterializeResult(metadata={"order_dates_restated": 0})
        yield from reporter.publish(lakehouse)
        return
    current = lakehouse.read(session, SHIPMENTS).where("is_current")
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
            lakehouse.replace_date_range(SHIPPING_PERFORMANCE, performance, "order_date", restated)
        yield MaterializeResult(
            metadata={
                "order_dates_restated": len(restated),
                "first_order_date": restated.start.isoformat(),
                **table_metadata(lakehouse, SHIPPING_PERFORMANCE, performance),
            }
        )
    yield from reporter.publish(lakehouse)
