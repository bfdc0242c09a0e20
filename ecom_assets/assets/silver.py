"""Silver asset: typed, de-duplicated `ecommerce_catalog.processed.orders_cleaned`."""

from collections import Counter

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue
from pyspark.sql import functions as F

from ecom_assets.assets.common import daily_table_asset, preview
from ecom_assets.partitions import partition_days
from ecom_assets.tables import ORDER_TRANSACTIONS, ORDERS_CLEANED
from ecom_assets.transforms.silver import line_outcome, parse_order_lines, silver_lines
from resources import Lakehouse, SparkSessionResource


@daily_table_asset(
    ORDERS_CLEANED,
    group="silver",
    description="Typed, classified order lines, one per distinct source line (MERGE on line_id).",
    upstream=[ORDER_TRANSACTIONS],
)
def orders_cleaned(
    context: AssetExecutionContext, spark: SparkSessionResource, lakehouse: Lakehouse
) -> MaterializeResult:
    """Parse the days' bronze rows, drop duplicates and unparseable rows, MERGE into silver on line_id."""
    days = partition_days(context)
    bronze = lakehouse.read(
        spark.get_session(),
        ORDER_TRANSACTIONS,
        filters=[
            ("partition_date", ">=", days.start),
            ("partition_date", "<=", days.end),
        ],
    )
    parsed = parse_order_lines(bronze).cache()
    try:
        outcomes = (
            parsed.groupBy(line_outcome().alias("outcome"), "line_type")
            .agg(F.count("*").alias("rows"), F.sum("line_amount").alias("amount"))
            .collect()
        )
        rows_by_outcome = Counter()
        kept_by_line_type = {}
        for row in outcomes:
            rows_by_outcome[row["outcome"]] += row["rows"]
            if row["outcome"] == "kept":
                kept_by_line_type[row["line_type"]] = (row["rows"], row["amount"])
        rejected = {reason: n for reason, n in rows_by_outcome.items() if reason not in ("kept", "duplicate")}
        unique = silver_lines(parsed)
        merged = lakehouse.merge_on_key(ORDERS_CLEANED, unique, "line_id", delete_unmatched_in=("landing_date", days))
        if rejected:
            context.log.warning(f"rows kept out of silver, by reason: {rejected}")
        return MaterializeResult(
            metadata={
                "rows_in": rows_by_outcome.total(),
                "rows_out": rows_by_outcome["kept"],
                "duplicates_removed": rows_by_outcome["duplicate"],
                "rows_rejected": sum(rejected.values()),
                **{f"rows_rejected_{reason}": count for reason, count in sorted(rejected.items())},
                **{f"lines_{line_type}": lines for line_type, (lines, _) in sorted(kept_by_line_type.items())},
                "sale_revenue": float(kept_by_line_type.get("sale", (0, 0))[1] or 0),
                "merge_inserted": merged.inserted,
                "merge_updated": merged.updated,
                "merge_deleted": merged.deleted,
                "table": ORDERS_CLEANED.full_name,
                "location": MetadataValue.path(lakehouse.location(ORDERS_CLEANED)),
                "preview": preview(unique),
            }
        )
    finally:
        parsed.unpersist()
