"""Silver asset: typed, de-duplicated `ecommerce_catalog.processed.orders_cleaned`."""

import json
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from dagster import AssetExecutionContext
from pyspark.sql import DataFrame, Row, SparkSession

from ecom_assets.platform.checks import SCHEMA_CHECK, WARN, Check
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.platform.table_asset import (
    TableStep,
    staged,
    table_asset,
)
from ecom_assets.platform.table_checks import conservation_outcomes, schema_outcomes
from ecom_assets.platform.tables import DATA_QUALITY_RESULTS, ETL_ERRORS
from ecom_assets.sales.checks import silver_integrity_outcomes, silver_outcome_counts
from ecom_assets.sales.schemas import SilverOrdersCleaned
from ecom_assets.sales.tables import ORDER_TRANSACTIONS, ORDERS_CLEANED
from ecom_assets.sales.transforms.silver import parse_order_lines, rejected_line_errors, silver_lines
from resources import Lakehouse
from resources.lakehouse import within

INTEGRITY_CHECK = Check(
    "line_integrity",
    "invoice_no, stock_code, line_id and order_date are never null; each line_id occurs once; sale lines have "
    "quantity > 0 and unit price > 0 and every sale order totals > 0. One verdict, each facet counted in metadata.",
)
CONSERVATION_CHECK = Check(
    "row_conservation", "Bronze rows of the day = silver rows + exact duplicates removed + rows rejected."
)
REJECTED_SHARE_CHECK = Check(
    "rejected_share_anomaly",
    "The share of the day's bronze rows rejected by silver, against its trailing window (median and MAD).",
    WARN,
)
SILVER_CHECKS = (SCHEMA_CHECK, INTEGRITY_CHECK, CONSERVATION_CHECK, REJECTED_SHARE_CHECK)


@table_asset(
    ORDERS_CLEANED,
    quarantines=True,
    group="silver",
    description="Typed, classified order lines, one per distinct source line (MERGE on line_id).",
    upstream=[ORDER_TRANSACTIONS],
    checks=SILVER_CHECKS,
)
def orders_cleaned(
    step: TableStep,
    quality: DataQualityPolicy,
) -> None:
    """Parse the days' bronze rows, drop duplicates and unparseable rows, MERGE into silver on line_id; check it."""
    days = step.days
    session = step.session
    bronze = step.lakehouse.read(session, ORDER_TRANSACTIONS, filters=within("partition_date", days))
    reporter = step.reporter
    with staged(parse_order_lines(bronze)) as parsed:
        unique = silver_lines(parsed)
        with reporter.computing():
            outcomes, check_counts = silver_outcome_counts(parsed)
            schema = schema_outcomes(SilverOrdersCleaned, unique, "landing_date", days.days(), check_counts)
            line_integrity = silver_integrity_outcomes(unique, days.days(), check_counts)
        figures_by_day = _figures_by_landing_day(days, outcomes)
        errors_by_day = _record_rejected_rows(
            step.context, step.lakehouse, days, parsed, outcomes, reporter.upstream_quarantine
        )
        reporter.add(SCHEMA_CHECK, schema)
        reporter.add(INTEGRITY_CHECK, line_integrity)
        counts_by_day = {
            day: {
                "bronze_rows": figures["rows_in"],
                "silver_rows": schema[day].observed.get("rows", 0),
                "duplicates_removed": figures["duplicates_removed"],
                "rows_rejected": errors_by_day[day],
            }
            for day, figures in figures_by_day.items()
        }
        reporter.add(
            CONSERVATION_CHECK,
            conservation_outcomes(
                days.days(), counts_by_day, "bronze_rows", ("silver_rows", "duplicates_removed", "rows_rejected")
            ),
        )
        quarantined, merged = reporter.merge_passing_days(step.lakehouse, unique, "line_id", "landing_date", days)
        table = step.table_metadata(unique)
    step.add_daily_metadata({day: figures for day, figures in figures_by_day.items() if day not in quarantined})
    step.metadata.update(
        {
            "days_in_run": len(days),
            "days_quarantined": len(quarantined),
            "error_table": ETL_ERRORS.full_name,
            "merge_inserted": merged.inserted,
            "merge_updated": merged.updated,
            "merge_deleted": merged.deleted,
            **table,
        }
    )
    with reporter.computing():
        rule = quality.anomaly_rule("rejected_share")
        shares = _rejected_share_history(session, step.lakehouse, days, rule.window_days)
        shares.update(
            {
                day: figures["rows_rejected"] / figures["rows_in"]
                for day, figures in figures_by_day.items()
                if figures["rows_in"]
            }
        )
        reporter.add(REJECTED_SHARE_CHECK, {day: rule.judge("rejected_share", day, shares) for day in days})


def _record_rejected_rows(
    context: AssetExecutionContext,
    lakehouse: Lakehouse,
    days: DateRange,
    parsed: DataFrame,
    outcomes: list[Row],
    upstream: Mapping[date, str],
) -> Counter:
    """Replace this asset's error rows for the days with the rows kept out of silver; returns rows written per day.

    Days quarantined upstream keep their error rows as they were, like their silver rows.

    `outcomes` are the parse outcome counts (see `_figures_by_landing_day`); the run log gets one
    line per rejection reason with an example. The rows written are counted on the error rows
    themselves, so row conservation holds the error table to what the parse outcomes say.
    """
    scope = {"asset": ORDERS_CLEANED.full_name}
    reasons = Counter()
    examples = {}
    for row in outcomes:
        if row["outcome"] not in ("kept", "duplicate") and row["landing_date"] not in upstream:
            reasons[row["outcome"]] += row["rows"]
            examples.setdefault(row["outcome"], f"{row['example']} ({row['file']})")
    if not reasons:
        lakehouse.delete_date_range(ETL_ERRORS, "partition_date", days, scope, keep_days=upstream)
        return Counter()
    step = context.op_execution_context.op_def.name
    errors = rejected_line_errors(parsed, ORDERS_CLEANED.full_name, step, datetime.now(UTC))
    written = Counter(dict(errors.groupBy("partition_date").count().collect()))
    lakehouse.replace_date_range(ETL_ERRORS, errors, "partition_date", days, scope=scope, keep_days=upstream)
    context.log.warning(
        f"{sum(reasons.values())} row(s) kept out of silver, each recorded with its reason in {ETL_ERRORS.full_name}:\n"
        + "\n".join(f"  {reason} × {rows}, e.g. {examples[reason]}" for reason, rows in reasons.most_common())
    )
    return written


def _rejected_share_history(
    session: SparkSession, lakehouse: Lakehouse, days: DateRange, window_days: int
) -> dict[date, float]:
    """The rejected-row share of each day in the window before the run, as last recorded by this check."""
    if not lakehouse.exists(DATA_QUALITY_RESULTS):
        return {}
    window = DateRange(days.start - timedelta(days=window_days), days.start - timedelta(days=1))
    results = lakehouse.read(
        session,
        DATA_QUALITY_RESULTS,
        columns=["partition_date", "observed", "evaluated_at"],
        filters=[
            *within("partition_date", window),
            ("asset", "=", ORDERS_CLEANED.full_name),
            ("check_name", "=", REJECTED_SHARE_CHECK.name),
        ],
    ).collect()
    latest = {}
    for row in sorted(results, key=lambda row: row["evaluated_at"]):
        value = json.loads(row["observed"])["observed"].get("value")
        if value is not None:
            latest[row["partition_date"]] = value
        else:
            latest.pop(row["partition_date"], None)
    return latest


def _figures_by_landing_day(days: DateRange, outcomes: list[Row]) -> dict[date, Counter]:
    """Per landing day: rows in, kept, duplicates, rejected (in all and by reason), kept lines by type, sale revenue.

    `outcomes` are rows of (landing_date, outcome, line_type, rows, amount, example, file).
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
