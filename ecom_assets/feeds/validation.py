"""The feed batches' validation across feeds and sales (`logs.validation_results`), and their archiving."""

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from functools import reduce

from dagster import AssetExecutionContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.feeds.batches import (
    FEEDS,
    FEEDS_GROUP,
    BatchChanged,
    LocatedBatch,
    archive_batch,
    locate_batch,
    log_processing,
)
from ecom_assets.feeds.tables import VALIDATION_RESULTS
from ecom_assets.feeds.transforms.validation import (
    FLAG_COLUMNS,
    QUARANTINING_RULES,
    batch_scores,
    findings,
    format_flags,
    inventory_product_flags,
    negative_stock_flags,
    rejected_flags,
    sales_flags,
    shipment_order_flags,
)
from ecom_assets.platform.checks import Check
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.errors import as_error_rows
from ecom_assets.platform.outcomes import CheckOutcome, jsonable
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.platform.table_asset import TableStep, staged, table_asset
from ecom_assets.platform.tables import ETL_ERRORS, QUARANTINED_DAYS
from ecom_assets.sales.tables import ORDERS_CLEANED
from resources import Lakehouse, LandingZone
from resources.lakehouse import within

HIGH_FINDINGS_CHECK = Check(
    "high_findings",
    "The share of the batch's feed records with a HIGH finding stays within the quality policy's "
    "max_high_finding_share; a batch beyond it is not archived.",
)
SUMMARY_RULE = "batch_summary"
"""The `rule` of the row each validated batch has, whatever it found: its score and totals."""


def _feed_rows(session: SparkSession, lakehouse: Lakehouse, days: DateRange) -> dict[str, DataFrame]:
    return {feed.domain: lakehouse.read(session, feed.silver, filters=within("business_date", days)) for feed in FEEDS}


def _history(session: SparkSession, lakehouse: Lakehouse, table, days: DateRange) -> DataFrame:
    return lakehouse.read(session, table, filters=[("business_date", "<=", days.end)])


def _sales(session: SparkSession, lakehouse: Lakehouse, days: DateRange) -> tuple[DataFrame, DataFrame]:
    """The days' sales lines, and (invoice, order day) of every invoice; empty when silver does not exist yet."""
    if not lakehouse.exists(ORDERS_CLEANED):
        lines = session.createDataFrame(
            [],
            "line_id string, invoice_no string, stock_code string, customer_id string, order_date date,"
            " line_type string",
        )
        return lines, lines.select("invoice_no", "order_date")
    orders = lakehouse.read(session, ORDERS_CLEANED)
    lines = orders.where(F.col("order_date").between(days.start, days.end)).select(
        "line_id", "invoice_no", "stock_code", "customer_id", "order_date", "line_type"
    )
    return lines, orders.groupBy("invoice_no").agg(F.min("order_date").alias("order_date"))


def _feed_errors(session: SparkSession, lakehouse: Lakehouse, days: DateRange) -> DataFrame:
    assets = [feed.silver.full_name for feed in FEEDS]
    errors = lakehouse.read(session, ETL_ERRORS, filters=within("partition_date", days))
    return errors.where(F.col("asset").isin(assets))


def _counts(frames: list[DataFrame]) -> DataFrame:
    return (
        reduce(DataFrame.unionByName, [frame.select("business_date") for frame in frames])
        .groupBy("business_date")
        .agg(F.count(F.lit(1)).alias("records"))
    )


@table_asset(
    VALIDATION_RESULTS,
    quarantines=True,
    group=FEEDS_GROUP,
    description="Each feed batch validated across feeds and sales: per rule its severity, flagged records and "
    "samples, and per batch a validation score (row `batch_summary`). A batch that passes is archived.",
    upstream=[feed.silver for feed in FEEDS],
    reads=[ORDERS_CLEANED],
    checks=[HIGH_FINDINGS_CHECK],
)
def validation_results(
    step: TableStep,
    landing: LandingZone,
    quality: DataQualityPolicy,
) -> None:
    """Validate the run's batches, write their findings, quarantine flagged records, archive the batches that pass.

    Records a rule quarantines (`QUARANTINING_RULES`) go to `etl_errors` under this table with the
    rule as their type; what is built from the feeds leaves them out.
    """
    started_at = datetime.now(UTC)
    days = step.days
    session = step.session
    feeds = _feed_rows(session, step.lakehouse, days)
    products = _history(session, step.lakehouse, FEEDS[1].silver, days)
    customers = _history(session, step.lakehouse, FEEDS[0].silver, days)
    sales, order_days = _sales(session, step.lakehouse, days)
    rejected = _feed_errors(session, step.lakehouse, days)
    flag_frames = [
        *(format_flags(feeds[feed.domain], feed.domain, feed.key) for feed in FEEDS),
        rejected_flags(rejected, {feed.silver.full_name: feed.domain for feed in FEEDS}),
        negative_stock_flags(feeds["inventory"]),
        inventory_product_flags(feeds["inventory"], products),
        shipment_order_flags(feeds["shipping"], order_days),
        sales_flags(sales, products, customers),
    ]
    flags = reduce(DataFrame.unionByName, [frame.select(*FLAG_COLUMNS) for frame in flag_frames])
    feed_records = _counts([*feeds.values(), rejected.withColumnRenamed("partition_date", "business_date")])
    checked = _counts(
        [
            *feeds.values(),
            rejected.withColumnRenamed("partition_date", "business_date"),
            sales.withColumnRenamed("order_date", "business_date"),
        ]
    )
    complete = _complete_batches(landing, days)
    loaded = _loaded_triggers(session, step.lakehouse, days)
    batch_ids = {day: batch.verdict.trigger.batch_id for day, batch in complete.items()}
    reporter = step.reporter
    with staged(flags) as flags:
        with reporter.computing():
            computed = {
                row["business_date"]: row.asDict() for row in batch_scores(flags, checked, feed_records).collect()
            }
            validated = [day for day in days if day in batch_ids]
            scores = {day: computed.get(day, _EMPTY_BATCH_SCORE | {"business_date": day}) for day in validated}
            limit = quality.max_high_finding_share
            reporter.add(
                HIGH_FINDINGS_CHECK,
                {day: _high_outcome(scores[day], limit) for day in validated},
            )
        found = findings(flags)
        results = _results(session, found, scores, batch_ids, step.context.run_id)
        quarantined = reporter.replace_passing_days(step.lakehouse, results, "business_date", days)
        kept_out = as_error_rows(
            flags.where(F.col("rule").isin(*QUARANTINING_RULES)),
            asset=VALIDATION_RESULTS.full_name,
            step=step.step_name,
            occurred_at=datetime.now(UTC),
            identity=[F.col("business_date").cast("string"), F.col("domain"), F.col("rule"), F.col("record_key")],
            partition_date=F.col("business_date"),
            source_file_name=F.lit(None).cast("string"),
            error_type=F.col("rule"),
            error_message=F.col("sample"),
            record=F.col("record_key"),
        )
        step.lakehouse.replace_scope(
            ETL_ERRORS, kept_out, "partition_date", days, scope={"asset": VALIDATION_RESULTS.full_name}
        )
        archived = {}
        for day in validated:
            if day not in quarantined:
                archived[day] = _archive_if_loaded(step.context, landing, complete[day], loaded.get(day, {}))
        log_processing(
            step.lakehouse,
            step.context,
            VALIDATION_RESULTS,
            started_at,
            {
                day: (
                    batch_ids[day],
                    scores[day]["records_checked"],
                    scores[day]["records_checked"] - scores[day]["high_feed_records"],
                    scores[day]["high_feed_records"],
                    "quarantined" if day in quarantined else "succeeded",
                    quarantined.get(
                        day, f"score {scores[day]['validation_score']}; {archived.get(day, 0)} file(s) archived"
                    ),
                )
                for day in validated
            },
        )
        step.add_daily_metadata(
            {
                day: {
                    "validation_score": float(scores[day]["validation_score"]),
                    "high_share": float(scores[day]["high_share"]),
                    "archived_files": archived.get(day, 0),
                }
                for day in validated
            },
        )
        step.metadata.update(
            {
                "days_in_run": len(days),
                "batches_validated": len(validated),
                "days_quarantined": len(quarantined),
                **step.table_metadata(results),
            }
        )


_EMPTY_BATCH_SCORE = {
    "records_checked": 0,
    "feed_records": 0,
    "high_flags": 0,
    "medium_flags": 0,
    "low_flags": 0,
    "high_feed_records": 0,
    "high_share": 0.0,
    "validation_score": 100.0,
}
"""The score of a complete batch with no records and no sales that day: nothing checked, nothing found."""


def _complete_batches(landing: LandingZone, days: DateRange) -> dict[date, LocatedBatch]:
    """The days whose batch is complete (its files may all be empty), each located once: validated, then archived."""
    batches = {day: locate_batch(landing, day) for day in days}
    return {day: batch for day, batch in batches.items() if batch.verdict.complete}


def _loaded_triggers(session: SparkSession, lakehouse: Lakehouse, days: DateRange) -> dict[date, dict[str, set]]:
    """The SHA-256 of the trigger whose files each feed's bronze holds, by day and domain (one Spark job)."""
    frames = [
        lakehouse.read(session, feed.bronze, filters=within("business_date", days))
        .select("business_date", F.lit(feed.domain).alias("domain"), "trigger_sha256")
        .distinct()
        for feed in FEEDS
        if lakehouse.exists(feed.bronze)
    ]
    loaded: dict[date, dict[str, set]] = {}
    for row in reduce(DataFrame.unionByName, frames).collect() if frames else []:
        loaded.setdefault(row["business_date"], {}).setdefault(row["domain"], set()).add(row["trigger_sha256"])
    return loaded


def _archive_if_loaded(
    context: AssetExecutionContext, landing: LandingZone, batch: LocatedBatch, loaded: Mapping[str, set]
) -> int:
    """Archive the batch if it is still the one bronze loaded; returns how many files moved.

    Bronze holds, for each domain with rows, the SHA-256 of the trigger it verified; a file of no
    rows leaves none, and then only a file the trigger also states empty matches. A batch delivered
    again since (another trigger) stays in `raw/` for its own run, as does a file re-delivered while
    the batch is being archived.
    """
    verdict = batch.verdict
    differing = [
        file.domain
        for file in verdict.trigger.files
        if loaded.get(file.domain, set()) != {verdict.trigger_sha256} and (loaded.get(file.domain) or file.rows)
    ]
    if differing:
        context.log.warning(
            f"the batch of {verdict.day} in {batch.folder}/ is not the one bronze loaded ({', '.join(differing)}"
            " differ): a re-delivery, left for its own run; nothing archived"
        )
        return 0
    try:
        moved = archive_batch(landing, batch)
    except BatchChanged as changed:
        context.log.warning(f"the batch of {verdict.day} was not archived: {changed}")
        return 0
    if moved:
        context.log.info(f"archived the batch of {verdict.day}: {len(moved)} file(s) moved to archive/")
    return len(moved)


def _high_outcome(score: dict, limit: float) -> CheckOutcome:
    observed = {name: jsonable(value) for name, value in score.items()}
    share = score["high_share"]
    passed = share <= limit
    verdict = "within" if passed else "beyond"
    return CheckOutcome(
        passed,
        f"{observed.get('high_feed_records', 0)} of {observed.get('feed_records', 0)} feed record(s) have a HIGH "
        f"finding ({share:.1%}), {verdict} the limit of {limit:.1%}; score {observed.get('validation_score', 100)}",
        observed,
        {"max_high_finding_share": limit},
    )


def _results(session: SparkSession, found: DataFrame, scores: dict, batch_ids: dict, run_id: str) -> DataFrame:
    """Findings and one summary row per batch, each with the batch's id, score and records checked."""
    summary_rows = [
        (
            day,
            "batch",
            SUMMARY_RULE,
            "summary",
            "INFO",
            int(row["high_flags"] + row["medium_flags"] + row["low_flags"]),
            [],
        )
        for day, row in scores.items()
        if day in batch_ids
    ]
    summaries = session.createDataFrame(
        summary_rows,
        "business_date date, domain string, rule string, category string, severity string, flagged_records long,"
        " samples array<string>",
    )
    score_rows = session.createDataFrame(
        [
            (day, batch_ids[day], row["records_checked"], float(row["validation_score"]), float(row["high_share"]))
            for day, row in scores.items()
            if day in batch_ids
        ],
        "business_date date, batch_id string, records_checked long, validation_score double, high_share double",
    )
    return (
        found.unionByName(summaries)
        .join(score_rows, "business_date")
        .withColumns({"run_id": F.lit(run_id), "validated_at": F.current_timestamp()})
    )


def validated_updates(
    session: SparkSession, lakehouse: Lakehouse, updates: DataFrame, version: int | None = None
) -> DataFrame:
    """The updates of batches validation did not keep out (a batch failing `high_findings` is left out whole), as
    `logs.quarantined_days` says at `version` (the latest when None; -1: before the table existed)."""
    if version == -1 or not lakehouse.exists(QUARANTINED_DAYS):
        return updates
    failed = failed_batches_in(lakehouse.read(session, QUARANTINED_DAYS, version=version))
    return updates.join(failed.select(F.col("partition_date").alias("business_date")), "business_date", "left_anti")


def failed_batches_in(quarantined_days: DataFrame) -> DataFrame:
    """The rows of `logs.quarantined_days` (or of its changes) that record a feed batch validation failed."""
    return quarantined_days.where(F.col("asset") == VALIDATION_RESULTS.full_name)


def quarantined_records(
    session: SparkSession,
    lakehouse: Lakehouse,
    rules: Sequence[str],
    days: DateRange | None = None,
    version: int | None = None,
) -> DataFrame:
    """(`business_date`, `record`) of the feed records validation quarantined under `rules` (in `days`, or all), as
    `logs.etl_errors` holds them at `version` (the latest when None; -1: before the table existed)."""
    if version == -1 or not lakehouse.exists(ETL_ERRORS):
        return session.createDataFrame([], "business_date date, record string")
    errors = lakehouse.read(
        session, ETL_ERRORS, filters=within("partition_date", days) if days else (), version=version
    )
    return quarantined_in(errors, rules).select(F.col("partition_date").alias("business_date"), "record")


def quarantined_in(errors: DataFrame, rules: Sequence[str]) -> DataFrame:
    """The rows of `logs.etl_errors` (or of its changes) that record feed records validation quarantined under
    `rules`."""
    return errors.where((F.col("asset") == VALIDATION_RESULTS.full_name) & F.col("error_type").isin(*rules))
