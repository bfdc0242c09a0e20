"""Silver asset: typed, de-duplicated `ecommerce_catalog.processed.orders_cleaned`."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from pyspark.sql import functions as F

from ecom_assets.assets.metadata import asset_key, preview
from ecom_assets.partitions import daily_partitions, partition_days, single_run_backfill
from ecom_assets.tables import ORDER_TRANSACTIONS, ORDERS_CLEANED
from ecom_assets.transforms.silver import drop_duplicate_lines, parse_order_lines, valid_lines
from resources import Lakehouse, SparkSessionResource


@asset(
    key=asset_key(ORDERS_CLEANED),
    deps=[asset_key(ORDER_TRANSACTIONS)],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    group_name="silver",
    kinds={"spark", "delta"},
    description="Typed, classified order lines, one per distinct source line (MERGE on line_id).",
)
def orders_cleaned(context: AssetExecutionContext, spark: SparkSessionResource, lakehouse: Lakehouse) -> MaterializeResult:
    """Parse the days' bronze rows, drop duplicates and unparseable rows, MERGE into silver on line_id."""
    days = partition_days(context)
    bronze = lakehouse.read(spark.get_session(), ORDER_TRANSACTIONS, filters=[
        ("partition_date", ">=", days.start), ("partition_date", "<=", days.end),
    ])
    parsed = parse_order_lines(bronze).cache()
    unique = drop_duplicate_lines(valid_lines(parsed)).cache()
    try:
        rows_by_reason = {row["rejection_reason"]: row["count"] for row in parsed.groupBy("rejection_reason").count().collect()}
        rows_valid = rows_by_reason.pop(None, 0)
        by_line_type = unique.groupBy("line_type").agg(F.count("*").alias("lines"), F.sum("line_amount").alias("amount"))
        line_types = {row["line_type"]: (row["lines"], row["amount"]) for row in by_line_type.collect()}
        rows_out = sum(lines for lines, _ in line_types.values())
        merged = lakehouse.merge_on_key(ORDERS_CLEANED, unique, "line_id", delete_unmatched_in=("landing_date", days))
        if rows_by_reason:
            context.log.warning(f"rows kept out of silver, by reason: {rows_by_reason}")
        return MaterializeResult(
            metadata={
                "rows_in": rows_valid + sum(rows_by_reason.values()),
                "rows_out": rows_out,
                "duplicates_removed": rows_valid - rows_out,
                "rows_rejected": sum(rows_by_reason.values()),
                **{f"rows_rejected_{reason}": count for reason, count in sorted(rows_by_reason.items())},
                **{f"lines_{line_type}": lines for line_type, (lines, _) in sorted(line_types.items())},
                "sale_revenue": float(line_types.get("sale", (0, 0))[1] or 0),
                "merge_inserted": merged.inserted,
                "merge_updated": merged.updated,
                "merge_deleted": merged.deleted,
                "table": ORDERS_CLEANED.full_name,
                "location": MetadataValue.path(lakehouse.location(ORDERS_CLEANED)),
                "preview": preview(unique),
            }
        )
    finally:
        unique.unpersist()
        parsed.unpersist()
