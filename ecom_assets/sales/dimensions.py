"""Dimension assets: per-day product and customer summaries, SCD2 products and customers, promotions, enriched lines.

How each table is kept current without rescanning silver history:
- the per-day summaries and `orders_enriched` replace the run's days only;
- `dim_products` and `dim_customers` rebuild the history of the products and customers the
  run's days touch (sold, bought, or named by that day's feed batch), from the per-day summaries
  and the feed records, and keep every other entity's versions. They run in the sales job and
  again in the feed batch's job, so a batch arriving after its day's sales still reaches them;
  a batch that failed validation is left out;
- `dim_promotions` is rewritten from the calendar file (a few rows).
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.feeds.tables import CUSTOMER_UPDATES, PRODUCT_UPDATES, VALIDATION_RESULTS
from ecom_assets.feeds.validation import validated_updates
from ecom_assets.platform.checks import TABLE_SCHEMA_CHECK, WARN, Check, CheckReporter
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.outcomes import CheckOutcome
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.platform.table_asset import (
    TableStep,
    snapshot,
    staged,
    table_asset,
)
from ecom_assets.platform.table_checks import schema_outcomes
from ecom_assets.platform.tables import TableName
from ecom_assets.sales.business_checks import category_coverage_outcome, reconciled, scd2_outcome
from ecom_assets.sales.business_rules import BusinessRules
from ecom_assets.sales.rules import CategoryRules, Promotion
from ecom_assets.sales.schemas import (
    CustomerDailySales,
    DimCustomers,
    DimProducts,
    DimPromotions,
    OrdersEnriched,
    ProductDailySales,
)
from ecom_assets.sales.tables import (
    CUSTOMER_DAILY_SALES,
    DIM_CUSTOMERS,
    DIM_PRODUCTS,
    DIM_PROMOTIONS,
    ORDERS_CLEANED,
    ORDERS_ENRICHED,
    PRODUCT_DAILY_SALES,
    PRODUCT_FACTS,
)
from ecom_assets.sales.transforms import dimensions as transform
from ecom_assets.sales.transforms import product_history as history
from resources import Lakehouse

SCD2_CHECK = Check(
    "scd2_integrity",
    "Versions are numbered 1..n per key, chain without gaps or overlaps, and only the last is current.",
    per_partition=False,
)
CATEGORY_COVERAGE_CHECK = Check(
    "category_coverage",
    "At most the policy's share of current products falls to the 'Other' category.",
    WARN,
    per_partition=False,
)
CONSERVATION_CHECK = Check("conserves_silver", "The day's enriched lines are exactly its silver lines, one each.")

SUMMARY_INPUT_COLUMNS = (
    "order_date",
    "invoice_no",
    "stock_code",
    "description",
    "quantity",
    "unit_price",
    "line_amount",
    "customer_id",
    "country",
    "line_type",
)


def _daily_summary(step: TableStep, model: type, build: Callable[[DataFrame], DataFrame]) -> None:
    """Check, then replace, the run's days of a per-day summary built from silver lines."""
    days, reporter = step.days, step.reporter
    lines = step.read(ORDERS_CLEANED, "order_date", columns=SUMMARY_INPUT_COLUMNS)
    with staged(build(lines)) as rows:
        per_day = {row["order_date"]: row["count"] for row in rows.groupBy("order_date").count().collect()}
        with reporter.computing():
            reporter.add(TABLE_SCHEMA_CHECK, schema_outcomes(model, rows, None, [days.end]))
        quarantined = reporter.replace_passing_days(step.lakehouse, rows, "order_date", days)
        step.metadata.update(
            {"days_in_run": len(days), "rows_written": sum(per_day.values()), **step.table_metadata(rows)}
        )
    step.add_daily_metadata({day: {"rows": count} for day, count in per_day.items() if day not in quarantined})


@table_asset(
    PRODUCT_DAILY_SALES,
    quarantines=True,
    group="dimensions",
    description="Per order day and product: sales, returns, the day's description and typical price.",
    upstream=[ORDERS_CLEANED],
    checks=[TABLE_SCHEMA_CHECK],
)
def product_daily_sales(step: TableStep) -> None:
    """Summarize the days' silver lines per product; the source of `dim_products` and `product_performance`."""
    _daily_summary(step, ProductDailySales, transform.product_daily_sales)


@table_asset(
    CUSTOMER_DAILY_SALES,
    quarantines=True,
    group="dimensions",
    description="Per order day and known customer: orders, units, sales, returns and the day's country.",
    upstream=[ORDERS_CLEANED],
    checks=[TABLE_SCHEMA_CHECK],
)
def customer_daily_sales(step: TableStep) -> None:
    """Summarize the days' silver lines per customer; the source of `dim_customers` and the CLV table."""
    _daily_summary(step, CustomerDailySales, transform.customer_daily_sales)


@dataclass(frozen=True)
class RebuiltDimension:
    """A dimension's rebuild for a run: the whole table as it will read (for the checks), the rebuilt versions of
    the keys the run's days touch, those keys, and whether the whole table is rewritten (it was stored in an
    older layout)."""

    table: DataFrame
    rebuilt: DataFrame
    touched: DataFrame
    key: str
    whole: bool

    def publish(self, reporter: CheckReporter, lakehouse: Lakehouse, dimension: TableName) -> None:
        """Replace the touched keys' versions in one keyed MERGE (or the whole table in one commit), unless a blocking
        check of the table failed."""
        if not reporter.table_passes():
            return
        if self.whole:
            lakehouse.overwrite(dimension, self.table)
        else:
            lakehouse.replace_keys(dimension, self.rebuilt, [self.key, "version"], self.touched)


def _feed_updates(
    session: SparkSession, lakehouse: Lakehouse, updates: TableName, feed_key: str, key: str, schema: str
) -> DataFrame:
    """A feed's records of the batches validation let through, in the columns `schema` names (the feed's key renamed
    to the dimension's); none before the feed's first batch."""
    if not lakehouse.exists(updates):
        return session.createDataFrame([], schema)
    columns = [feed_key if name == key else name for name in session.createDataFrame([], schema).columns]
    records = lakehouse.read(session, updates, columns=columns).withColumnRenamed(feed_key, key)
    return validated_updates(session, lakehouse, records)


@contextmanager
def _rebuilt_dimension(
    session: SparkSession,
    lakehouse: Lakehouse,
    summary: TableName,
    updates: DataFrame,
    dimension: TableName,
    columns: tuple[str, ...],
    days: DateRange,
    build: Callable[[DataFrame, DataFrame], DataFrame],
) -> Iterator[tuple[RebuiltDimension, int]]:
    """The dimension with the history of every key the run's days touch rebuilt from the summary and the feed
    records, staged.

    A key is touched when the summary or the feed has it on one of the days. A dimension stored
    with other columns than `columns` (an older layout) is rebuilt whole. Yields the rebuild (the
    whole table as it will read, every other key's versions kept as stored) and how many keys
    were rebuilt; the caller checks it, then publishes it.
    """
    key = columns[0]
    summaries = lakehouse.read(session, summary)
    existing = lakehouse.read(session, dimension) if lakehouse.exists(dimension) else None
    whole = existing is not None and tuple(existing.columns) != columns
    keys = [
        summaries.select(key, F.col("order_date").alias("day")),
        updates.select(key, F.col("business_date").alias("day")),
    ]
    if not whole:
        keys = [frame.where(F.col("day").between(days.start, days.end)) for frame in keys]
    touched = keys[0].unionByName(keys[1]).select(key).distinct().cache()
    try:
        history = build(summaries.join(touched, key, "left_semi"), updates.join(touched, key, "left_semi"))
        with staged(history) as rebuilt:
            kept = None if whole else existing
            with staged(transform.rebuild_for(kept, rebuilt, touched, key)) as rows:
                yield RebuiltDimension(rows, rebuilt, touched, key, whole), touched.count()
    finally:
        touched.unpersist()


def _dimension_metadata(scd2: CheckOutcome) -> dict:
    """The table's keys and versions, as the SCD2 check counted them over the rows published."""
    return {"keys": scd2.observed["keys"], "versions": scd2.observed["versions"]}


@dataclass(frozen=True)
class ContinuedProducts:
    """`dim_products` for a run: the whole table as it will read (for the checks), the versions written, the facts
    rows written, the products processed (with the first version each replaces), and whether both tables are
    rewritten whole."""

    table: DataFrame
    versions: DataFrame
    facts: DataFrame
    processed: DataFrame
    whole: bool

    def publish(self, reporter: CheckReporter, lakehouse: Lakehouse) -> None:
        """Write the versions, then the facts noted with the dimension's version they follow, unless a blocking
        check of the table failed."""
        if not reporter.table_passes():
            return
        if self.whole:
            lakehouse.overwrite(DIM_PRODUCTS, self.table)
        else:
            lakehouse.replace_keys(
                DIM_PRODUCTS, self.versions, ["stock_code", "version"], self.processed, replaced_from="first_version"
            )
        with lakehouse.noting_commits(_facts_note(lakehouse)):
            if self.whole:
                lakehouse.overwrite(PRODUCT_FACTS, self.facts)
            else:
                lakehouse.replace_keys(PRODUCT_FACTS, self.facts, ["stock_code"], self.processed)


def _facts_note(lakehouse: Lakehouse) -> str:
    """What `product_facts` commits say: the `dim_products` version they follow (the facts are valid for it only)."""
    latest = lakehouse.last_data_commit(DIM_PRODUCTS)
    return f"follows {DIM_PRODUCTS.full_name} version {latest.version if latest else None}"


def _facts_follow_dimension(lakehouse: Lakehouse, stored: DataFrame | None) -> bool:
    """Whether `product_facts` was last written right after `dim_products`' latest rows (`stored`, None when the
    table does not exist), in the current layout."""
    facts = lakehouse.last_data_commit(PRODUCT_FACTS)
    return (
        facts is not None
        and stored is not None
        and facts.user_metadata == _facts_note(lakehouse)
        and tuple(stored.columns) == transform.DIM_PRODUCTS_COLUMNS
    )


@contextmanager
def _continued_products(step: TableStep, rules: CategoryRules) -> Iterator[tuple[ContinuedProducts, int, int]]:
    """`dim_products` carried forward over the run's days from `product_facts`, staged.

    Products the run observes carry their stored state forward (see `product_history.run_seeds`);
    a run before a product's later history rebuilds that product from its whole history; without
    facts that follow the dimension's latest rows (a first run, an older layout, a failure between
    the two commits), every product is rebuilt and both tables are rewritten. Yields the rebuild,
    how many products it processed and how many of them it rebuilt from their whole history.
    """
    session, lakehouse, days = step.session, step.lakehouse, step.days
    key = history.KEY
    feed = _feed_updates(session, lakehouse, PRODUCT_UPDATES, "product_id", "stock_code", transform.PRODUCT_FEED_SCHEMA)
    sales = lakehouse.read(
        session, PRODUCT_DAILY_SALES, columns=[key, "order_date", "description", "typical_unit_price"]
    ).where(F.col("typical_unit_price").isNotNull())
    stored = lakehouse.read(session, DIM_PRODUCTS) if lakehouse.exists(DIM_PRODUCTS) else None
    whole = not _facts_follow_dimension(lakehouse, stored)
    if whole:
        facts, new_days = None, None
        touched = history.observed_days(sales, feed).select(key)
    else:
        facts = lakehouse.read(session, PRODUCT_FACTS)
        in_run = days.start, days.end
        new_days = history.observed_days(
            sales.where(F.col("order_date").between(*in_run)), feed.where(F.col("business_date").between(*in_run))
        )
        touched = new_days.select(key)
    with snapshot(history.run_seeds(facts, touched, days.start, days.end)) as seeds:
        rebuilds = seeds.where("rebuild").count()
        whole_history = history.observed_days(sales, feed) if rebuilds or whole else None
        applied = history.days_to_apply(seeds, new_days, whole_history)
        run = history.continue_products(seeds.select(key, "seed"), applied, rules)
        replaced = history.first_replaced_versions(seeds)
        with ExitStack() as shared:
            for frame in run.shared:
                shared.enter_context(staged(frame))
            new_versions = shared.enter_context(snapshot(run.versions))
            new_facts = shared.enter_context(snapshot(run.facts))
            table = new_versions if whole else history.with_versions_replaced(stored, replaced, new_versions)
            with staged(table) as rows:
                yield ContinuedProducts(rows, new_versions, new_facts, replaced, whole), seeds.count(), rebuilds


@table_asset(
    DIM_PRODUCTS,
    group="dimensions",
    description="Products with SCD2 history of description, category, subcategory and price band, and of the "
    "products feed's name, catalog category, brand, list price and discontinued flag.",
    upstream=[PRODUCT_DAILY_SALES],
    reads=[PRODUCT_UPDATES, VALIDATION_RESULTS],
    checks=[TABLE_SCHEMA_CHECK, SCD2_CHECK, CATEGORY_COVERAGE_CHECK],
)
def dim_products(
    step: TableStep,
    business_rules: BusinessRules,
    quality: DataQualityPolicy,
) -> None:
    """Carry the products observed in the run's days forward from `product_facts`; categories come from the rules
    file.

    After editing the rules, re-materialize the whole history so every product is recategorized.
    """
    days = step.days
    rules = business_rules.category_rules()
    reporter = step.reporter
    with _continued_products(step, rules) as (products, processed, rebuilt):
        stored = products.table
        current = stored.where("is_current")
        with reporter.computing():
            coverage = category_coverage_outcome(current, rules.other_category, quality.max_other_category_share)
            reporter.add(TABLE_SCHEMA_CHECK, schema_outcomes(DimProducts, stored, None, [days.end]))
            scd2 = scd2_outcome(stored, "stock_code")
            reporter.add(SCD2_CHECK, {days.end: scd2})
            reporter.add(CATEGORY_COVERAGE_CHECK, {days.end: coverage})
        preview = step.table_metadata(stored.orderBy("stock_code", "version"))
        products.publish(reporter, step.lakehouse)
        step.metadata.update(
            {
                **_dimension_metadata(scd2),
                "products_processed": processed,
                "products_rebuilt_from_history": rebuilt,
                "rewritten_whole": products.whole,
                "products_in_other": coverage.observed["other_products"],
                "other_share": coverage.observed["other_share"],
                **preview,
            }
        )


@table_asset(
    DIM_CUSTOMERS,
    group="dimensions",
    description="Customers with SCD2 history of country, value segment and the customers feed's tier, email and "
    "city; first and last order dates.",
    upstream=[CUSTOMER_DAILY_SALES],
    reads=[CUSTOMER_UPDATES, VALIDATION_RESULTS],
    checks=[TABLE_SCHEMA_CHECK, SCD2_CHECK],
)
def dim_customers(step: TableStep) -> None:
    """Rebuild the versions of the customers active or fed in the run's days (segments by `SEGMENT_THRESHOLDS`)."""
    days = step.days
    session = step.session
    reporter = step.reporter
    updates = _feed_updates(
        session, step.lakehouse, CUSTOMER_UPDATES, "customer_id", "customer_id", transform.CUSTOMER_FEED_SCHEMA
    )
    with _rebuilt_dimension(
        session,
        step.lakehouse,
        CUSTOMER_DAILY_SALES,
        updates,
        DIM_CUSTOMERS,
        transform.DIM_CUSTOMERS_COLUMNS,
        days,
        transform.customer_versions,
    ) as (rebuild, touched):
        stored = rebuild.table
        segments = {
            f"current_{row['segment'].lower().replace(' ', '_')}": row["count"]
            for row in stored.where("is_current").groupBy("segment").count().collect()
        }
        with reporter.computing():
            reporter.add(TABLE_SCHEMA_CHECK, schema_outcomes(DimCustomers, stored, None, [days.end]))
            scd2 = scd2_outcome(stored, "customer_id")
            reporter.add(SCD2_CHECK, {days.end: scd2})
        rebuild.publish(reporter, step.lakehouse, DIM_CUSTOMERS)
        step.metadata.update(
            {
                **_dimension_metadata(scd2),
                "customers_rebuilt": touched,
                **segments,
                **step.table_metadata(stored.orderBy("customer_id", "version")),
            }
        )


@table_asset(
    DIM_PROMOTIONS,
    group="dimensions",
    partitions_def=None,
    description="The promotions calendar (name, dates, discount, scope) from the shipped configuration.",
    checks=[TABLE_SCHEMA_CHECK],
)
def dim_promotions(
    step: TableStep,
    business_rules: BusinessRules,
) -> None:
    """Write the validated promotions calendar; a bad calendar file fails here, naming the entry at fault."""
    promotions = business_rules.promotions()
    with staged(transform.promotions_frame(step.session, promotions)) as stored:
        with step.reporter.computing():
            today = datetime.now(UTC).date()
            step.reporter.add(TABLE_SCHEMA_CHECK, schema_outcomes(DimPromotions, stored, None, [today]))
        step.reporter.overwrite_if_passing(step.lakehouse, stored)
        step.metadata.update(
            {
                "promotions": len(promotions),
                "calendar": business_rules.promotions_path,
                **step.table_metadata(stored.orderBy("start_date")),
            }
        )


def stored_promotions(session: SparkSession, lakehouse: Lakehouse) -> list[Promotion]:
    """The calendar as stored in `dim_promotions`."""
    return [
        Promotion(row["promotion_name"], row["start_date"], row["end_date"], row["discount"], row["scope"])
        for row in lakehouse.read(session, DIM_PROMOTIONS).collect()
    ]


@table_asset(
    ORDERS_ENRICHED,
    quarantines=True,
    group="silver",
    description="Silver lines with the product category and promotion in effect on their order day.",
    upstream=[ORDERS_CLEANED, DIM_PRODUCTS, DIM_PROMOTIONS],
    checks=[TABLE_SCHEMA_CHECK, CONSERVATION_CHECK],
)
def orders_enriched(
    step: TableStep,
    business_rules: BusinessRules,
) -> None:
    """Enrich the days' silver lines point in time: `dim_products` version and promotions of the order day."""
    days, session = step.days, step.session
    lines = step.read(ORDERS_CLEANED, "order_date")
    silver_rows = {row["order_date"]: row["count"] for row in lines.groupBy("order_date").count().collect()}
    enriched = transform.enrich_lines(
        lines,
        step.lakehouse.read(session, DIM_PRODUCTS),
        stored_promotions(session, step.lakehouse),
        business_rules.category_rules(),
    )
    reporter = step.reporter
    with staged(enriched) as stored:
        with reporter.computing():
            counts = {
                row["order_date"]: row
                for row in stored.groupBy("order_date")
                .agg(
                    F.count("*").alias("lines"),
                    F.count_distinct("line_id").alias("distinct_line_ids"),
                    F.count_if("is_promoted").alias("promoted_lines"),
                )
                .collect()
            }
            reporter.add(TABLE_SCHEMA_CHECK, schema_outcomes(OrdersEnriched, stored, None, [days.end]))
            figures = ("lines", "distinct_line_ids")
            reporter.add(
                CONSERVATION_CHECK,
                {
                    day: reconciled(
                        "enriched lines",
                        {name: counts[day][name] if day in counts else 0 for name in figures},
                        dict.fromkeys(figures, silver_rows.get(day, 0)),
                        {},
                    )
                    for day in days
                },
            )
        quarantined = reporter.replace_passing_days(step.lakehouse, stored, "order_date", days)
        step.metadata.update(
            {
                "days_in_run": len(days),
                "lines": sum(row["lines"] for row in counts.values()),
                **step.table_metadata(stored),
            }
        )
    step.add_daily_metadata(
        {
            day: {"lines": row["lines"], "promoted_lines": row["promoted_lines"]}
            for day, row in counts.items()
            if day not in quarantined
        },
    )
