"""Silver asset: typed, de-duplicated `ecommerce_catalog.processed.orders_cleaned`."""

from collections import Counter
from datetime import UTC, date, datetime

from dagster import AssetExecutionContext, MaterializeResult
from pyspark.sql import Row
from pyspark.sql import functions as F

from ecom_assets.assets.common import add_daily_metadata, daily_table_asset, table_metadata
from ecom_assets.dates import DateRange
from ecom_assets.partitions import partition_days
from ecom_assets.tables import ETL_ERRORS, ORDER_TRANSACTIONS, ORDERS_CLEANED
from ecom_assets.transforms.silver import line_outcome, parse_order_lines, rejected_line_errors, silver_lines
from resources import Lakehouse, SparkSessionResource
from resources.lakehouse import within


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
        filters=within("partition_date", days),
    )
    parsed = parse_order_lines(bronze).cache()
    try:
        outcomes = (
            parsed.groupBy("landing_date", line_outcome().alias("outcome"), "line_type")
            .agg(F.count("*").alias("rows"), F.sum("line_amount").alias("amount"))
            .collect()
        )
        figures_by_day = _figures_by_landing_day(days, outcomes)
        unique = silver_lines(parsed)
        merged = lakehouse.merge_on_key(ORDERS_CLEANED, unique, "line_id", delete_unmatched_in=("landing_date", days))
        add_daily_metadata(context, days, figures_by_day)
        scope = {"asset": ORDERS_CLEANED.full_name}
        rejected = sum(figures["rows_rejected"] for figures in figures_by_day.values())
        if rejected:
            step = context.op_execution_context.op_def.name
            errors = rejected_line_errors(parsed, ORDERS_CLEANED.full_name, step, datetime.now(UTC))
            lakehouse.replace_date_range(ETL_ERRORS, errors, "partition_date", days, scope=scope)
            context.log.warning(
                f"{rejected} row(s) kept out of silver, each recorded with its reason in {ETL_ERRORS.full_name}"
            )
        else:
            lakehouse.delete_date_range(ETL_ERRORS, "partition_date", days, scope)
        return MaterializeResult(
            metadata={
                "days_in_run": len(days),
                "error_table": ETL_ERRORS.full_name,
                "merge_inserted": merged.inserted,
                "merge_updated": merged.updated,
                "merge_deleted": merged.deleted,
                **table_metadata(lakehouse, ORDERS_CLEANED, unique),
            }
        )
    finally:
        parsed.unpersist()


def _figures_by_landing_day(days: DateRange, outcomes: list[Row]) -> dict[date, Counter]:
    """Per landing day: rows in, kept, duplicates, rejected (in all and by reason), kept lines by type, sale revenue.

    `outcomes` are rows of (landing_date, outcome, line_type, rows, amount).
    """
    core = ("rows_in", "rows_out", "duplicates_removed", "rows_rejected", "sale_revenue")
    figures_by_day = {day: Counter(dict.fromkeys(core, 0)) for day in days}
    for row in outcomes:
        figures, outcome, rows = figures_by_day[row["landing_date"]], row["outcome"], row["rows"]
        figures["rows_in"] += rows
        if outcome == "kept":
            figures["rows_out"] += rows
            figures[f"lines_{row['line_type']}"] += rows
            if row["line_type"] == "sale":
                figures["sale_revenue"] += float(row["amount"])
        elif outcome == "duplicate":
            figures["duplicates_removed"] += rows
        else:
            figures["rows_rejected"] += rows
            figures[f"rows_rejected_{outcome}"] += rows
    return figures_by_day
