"""The clickstream's hourly assets: silver events with sessions and bots, the catalog items' versions, the hourly
funnel.

Each run covers a range of UTC hours (a single-run backfill). A table's hours are written all or
nothing: a blocking check failing on any hour of the run leaves the table as it was, and Dagster
skips the assets downstream. Lines that cannot be events do not fail a check: they go to
`logs.etl_errors` with their reason, and the conservation check accounts for every one.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

from dagster import AssetExecutionContext
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ecom_assets.clickstream.checks import funnel_consistency
from ecom_assets.clickstream.partitions import clickstream_hours
from ecom_assets.clickstream.rules import ClickstreamRules
from ecom_assets.clickstream.schemas import DimCatalogItems, FunnelHourly, SilverClickstreamEvents
from ecom_assets.clickstream.tables import CLICKSTREAM_EVENTS, CLICKSTREAM_EVENTS_RAW, DIM_CATALOG_ITEMS, FUNNEL_HOURLY
from ecom_assets.clickstream.transforms import (
    EVENT_TYPES,
    NO_CARRIED_SESSIONS,
    accepted_events,
    catalog_item_versions,
    event_hour,
    funnel,
    hour_key_of,
    last_derived_sessions,
    lines_of_hours,
    parse_events,
    rejected_event_errors,
    silver_events,
    with_empty_windows,
    with_item_in_effect,
)
from ecom_assets.platform.checks import SCHEMA_CHECK, WARN, Check, CheckReporter
from ecom_assets.platform.columns import line_outcome
from ecom_assets.platform.dates import HOUR_KEY_FORMAT, HourRange
from ecom_assets.platform.outcomes import CheckOutcome, jsonable_rows
from ecom_assets.platform.table_asset import TableStep, staged, table_asset
from ecom_assets.platform.table_checks import conservation_outcomes, schema_outcomes
from ecom_assets.platform.tables import ETL_ERRORS
from resources import Lakehouse
from resources.lakehouse import apply_filters, utc_instant, within_hours

CLICKSTREAM_GROUP = "clickstream"

EVENT_TYPES_CHECK = Check("event_types", f"Every event's type is one of {', '.join(EVENT_TYPES)}.")
IN_PARTITION_CHECK = Check("event_time_in_partition", "Every event stored under an hour happened in that hour.")
PURCHASE_PRICE_CHECK = Check("purchase_price_positive", "Every purchase has a price > 0.")
EVENT_CONSERVATION_CHECK = Check(
    "line_conservation", "The hour's bronze lines = silver events + exact duplicates removed + lines rejected."
)
SILVER_EVENT_CHECKS = (
    SCHEMA_CHECK,
    EVENT_TYPES_CHECK,
    IN_PARTITION_CHECK,
    PURCHASE_PRICE_CHECK,
    EVENT_CONSERVATION_CHECK,
)
POINT_IN_TIME_CHECK = Check(
    "point_in_time_join",
    "Each of the hour's events joins exactly one version in effect at its time, and a purchase's price is that"
    " version's price.",
)
ITEM_VERSIONS_CHECK = Check(
    "contiguous_versions",
    "Each product's versions are numbered 1, 2, …, each ending where the next starts; one is current.",
)
FUNNEL_CONSISTENCY_CHECK = Check(
    "funnel_consistency",
    "Sessions of each step ≤ sessions; purchases ≥ purchase sessions; revenue > 0 exactly when there are purchases;"
    " bot sessions ≤ sessions.",
    WARN,
)
CONVERSION_ANOMALY_CHECK = Check(
    "conversion_rate_anomaly",
    "The hour's conversion rate against the trailing hours (median and MAD), as `ClickstreamRules` configures.",
    WARN,
)


@table_asset(
    CLICKSTREAM_EVENTS,
    group=CLICKSTREAM_GROUP,
    partitions_def=clickstream_hours,
    description="Typed web-shop events of each UTC hour, exact duplicates removed, each with its session"
    " (`user_session`, else 30 minutes of inactivity) and bot flag; lines that cannot be events go to etl_errors.",
    upstream=[CLICKSTREAM_EVENTS_RAW],
    checks=SILVER_EVENT_CHECKS,
)
def clickstream_events(
    step: TableStep,
    clickstream_rules: ClickstreamRules,
) -> None:
    """Type, de-duplicate and sessionize the hours' bronze lines, record the rejected ones, replace the hours."""
    hours = step.hours
    keys = hours.keys()
    session = step.session
    bronze = step.lakehouse.read(session, CLICKSTREAM_EVENTS_RAW)  # lines_of_hours' filter on line_hour skips files
    reporter = step.reporter
    with staged(parse_events(lines_of_hours(bronze, utc_instant(hours.start), utc_instant(hours.end)))) as parsed:
        outcomes = Counter(
            {
                (row["hour"], row["outcome"]): row["lines"]
                for row in parsed.groupBy(
                    hour_key_of(event_hour(parsed)).alias("hour"), line_outcome().alias("outcome")
                )
                .agg(F.count("*").alias("lines"))
                .collect()
            }
        )
        carried = _sessions_before(session, step.lakehouse, hours, clickstream_rules.session_gap_minutes)
        events = silver_events(
            accepted_events(parsed),
            carried,
            clickstream_rules.session_gap_minutes,
            clickstream_rules.bot_max_events_per_minute,
        )
        with staged(events) as rows:
            with reporter.computing():
                schema = schema_outcomes(SilverClickstreamEvents, rows, hour_key_of(F.col("event_hour")), keys)
                reporter.add(SCHEMA_CHECK, schema)
                _add_event_checks(reporter, rows, hours)
                errors = rejected_event_errors(parsed, CLICKSTREAM_EVENTS.full_name, step.step_name, datetime.now(UTC))
                errors_by_hour = Counter()  # one error row per rejected line (`rejected_event_errors`)
                for (hour, outcome), lines in outcomes.items():
                    if outcome not in ("kept", "duplicate"):
                        errors_by_hour[hour] += lines
                counts = {
                    key: {
                        "bronze_lines": sum(lines for (hour, _), lines in outcomes.items() if hour == key),
                        "silver_events": schema[key].observed.get("rows", 0),
                        "duplicates_removed": outcomes[(key, "duplicate")],
                        "lines_rejected": errors_by_hour[key],
                    }
                    for key in keys
                }
                reporter.add(
                    EVENT_CONSERVATION_CHECK,
                    conservation_outcomes(
                        keys, counts, "bronze_lines", ("silver_events", "duplicates_removed", "lines_rejected")
                    ),
                )
            if reporter.passes_everywhere():
                step.lakehouse.replace_hours(CLICKSTREAM_EVENTS, rows, "event_time", hours)
                if sum(errors_by_hour.values()):
                    step.lakehouse.merge_on_key(ETL_ERRORS, errors, "error_id")
                    _log_rejections(step.context, outcomes)
            for key in keys:
                step.context.add_asset_metadata(counts[key], partition_key=key)
            step.metadata.update(
                {
                    "hours_in_run": len(hours),
                    "events": sum(counts[key]["silver_events"] for key in keys),
                    "lines_rejected": sum(errors_by_hour.values()),
                    "error_table": ETL_ERRORS.full_name,
                    **step.table_metadata(rows),
                }
            )


def _sessions_before(session, lakehouse: Lakehouse, hours: HourRange, gap_minutes: int) -> DataFrame:
    """Each user's latest inactivity session in the `gap_minutes` before the run's first hour, from silver."""
    if not lakehouse.exists(CLICKSTREAM_EVENTS):
        return session.createDataFrame([], NO_CARRIED_SESSIONS)
    before = HourRange(hours.start - timedelta(hours=1), hours.start)
    recent = lakehouse.read(session, CLICKSTREAM_EVENTS, filters=within_hours("event_time", before)).where(
        F.col("event_time") >= F.lit(utc_instant(hours.start - timedelta(minutes=gap_minutes))).cast("timestamp")
    )
    return last_derived_sessions(recent)


def _add_event_checks(reporter: CheckReporter, rows: DataFrame, hours: HourRange) -> None:
    """The event-type, hour and purchase-price checks, per hour of the run, in one aggregation."""
    per_hour = {
        row["hour"]: row
        for row in rows.groupBy(hour_key_of(F.col("event_hour")).alias("hour"))
        .agg(
            F.count("*").alias("events"),
            F.count_if(~F.col("event_type").isin(*EVENT_TYPES)).alias("unknown_types"),
            F.count_if(F.date_trunc("hour", "event_time") != F.col("event_hour")).alias("outside_hour"),
            F.count_if(F.col("event_type") == "purchase").alias("purchases"),
            F.count_if((F.col("event_type") == "purchase") & ~(F.col("price") > 0)).alias("unpriced_purchases"),
        )
        .collect()
    }
    keys = set(hours.keys())
    outside_the_run = sum(row["events"] for key, row in per_hour.items() if key not in keys)
    strays = ()  # a sample of the offending rows, looked up only when there are any
    if outside_the_run or any(row["outside_hour"] for row in per_hour.values()):
        strays = rows.where(~hour_key_of(F.col("event_time")).isin(*keys)).limit(5).collect()
    verdicts = {
        EVENT_TYPES_CHECK: "unknown_types",
        IN_PARTITION_CHECK: "outside_hour",
        PURCHASE_PRICE_CHECK: "unpriced_purchases",
    }
    for check, failing in verdicts.items():
        outcomes = {}
        for key in hours.keys():
            row = per_hour.get(key)
            figures = {"events": row["events"] if row else 0, failing: row[failing] if row else 0}
            if check is IN_PARTITION_CHECK:
                figures["events_outside_the_run"] = outside_the_run
            bad = figures[failing] + figures.get("events_outside_the_run", 0)
            outcomes[key] = CheckOutcome(
                bad == 0,
                f"{figures[failing]} of {figures['events']} event(s) fail"
                if bad
                else f"all {figures['events']} event(s) pass",
                figures,
                {failing: 0},
                jsonable_rows(strays) if check is IN_PARTITION_CHECK else (),
            )
        reporter.add(check, outcomes)


def _log_rejections(context: AssetExecutionContext, outcomes: Counter) -> None:
    reasons = Counter()
    for (_, outcome), lines in outcomes.items():
        if outcome not in ("kept", "duplicate"):
            reasons[outcome] += lines
    context.log.warning(
        f"{sum(reasons.values())} line(s) kept out of {CLICKSTREAM_EVENTS.full_name}, each recorded with its reason in"
        f" {ETL_ERRORS.full_name}: " + ", ".join(f"{reason} × {lines}" for reason, lines in reasons.most_common())
    )


@table_asset(
    DIM_CATALOG_ITEMS,
    group=CLICKSTREAM_GROUP,
    partitions_def=clickstream_hours,
    description="SCD2 of each product's price, category code and brand as the events observed them: a run rebuilds"
    " the versions of the products its hours saw, from all of their events.",
    upstream=[CLICKSTREAM_EVENTS],
    checks=(SCHEMA_CHECK, ITEM_VERSIONS_CHECK, POINT_IN_TIME_CHECK),
)
def dim_catalog_items(
    step: TableStep,
) -> None:
    """Rebuild the versions of the products seen in the hours; check the point-in-time join of the hours' events."""
    hours = step.hours
    keys = hours.keys()
    session = step.session
    events = step.lakehouse.read(session, CLICKSTREAM_EVENTS)
    hour_events = apply_filters(events, within_hours("event_time", hours))
    seen = hour_events.select("product_id").distinct()
    reporter = step.reporter
    with staged(catalog_item_versions(events.join(seen, "product_id", "left_semi"))) as versions:
        with reporter.computing():
            whole_run = schema_outcomes(DimCatalogItems, versions, None, ["run"])["run"]
            reporter.add(SCHEMA_CHECK, dict.fromkeys(keys, whole_run))
            reporter.add(ITEM_VERSIONS_CHECK, dict.fromkeys(keys, _contiguity_outcome(versions)))
            reporter.add(POINT_IN_TIME_CHECK, _point_in_time_outcomes(hour_events, versions, keys))
        merged = None
        if reporter.passes_everywhere():
            merged = step.lakehouse.replace_keys(DIM_CATALOG_ITEMS, versions, ["product_id", "version"], seen)
        step.metadata.update(
            {
                "products_rebuilt": versions.select("product_id").distinct().count(),  # staged: no re-read
                "versions": versions.count(),
                "merge_inserted": merged.inserted if merged else 0,
                "merge_updated": merged.updated if merged else 0,
                "merge_deleted": merged.deleted if merged else 0,
                **step.table_metadata(versions),
            }
        )


def _contiguity_outcome(versions: DataFrame) -> CheckOutcome:
    """Versions 1..n per product, each `valid_to` the next `valid_from`, exactly the last one current."""
    per_product = versions.groupBy("product_id").agg(
        F.count("*").alias("versions"),
        F.max("version").alias("last_version"),
        F.count_if(F.col("is_current")).alias("current"),
        F.count_if(F.col("valid_to").isNull()).alias("open"),
    )
    following = versions.alias("v").join(
        versions.alias("n"),
        (F.col("v.product_id") == F.col("n.product_id")) & (F.col("n.version") == F.col("v.version") + 1),
        "left",
    )
    gaps = following.where(
        F.col("v.valid_to").isNotNull()
        & (F.col("n.valid_from").isNull() | (F.col("n.valid_from") != F.col("v.valid_to")))
    ).count()
    broken = per_product.where(
        (F.col("versions") != F.col("last_version")) | (F.col("current") != 1) | (F.col("open") != 1)
    )
    sample = jsonable_rows(broken.limit(5).collect())
    products = per_product.count()
    passed = not sample and gaps == 0
    summary = (
        f"{products} product(s) have contiguous versions" if passed else f"{len(sample)}+ product(s), {gaps} gap(s)"
    )
    return CheckOutcome(passed, summary, {"products": products, "gaps": gaps}, {"gaps": 0}, sample)


def _point_in_time_outcomes(events: DataFrame, versions: DataFrame, keys: list[str]) -> dict[str, CheckOutcome]:
    """Per hour: events matching no or several versions, and purchases whose price is not the version's."""
    joined = with_item_in_effect(events, versions)
    per_event = joined.groupBy("event_id", "event_hour", "event_type", "price").agg(
        F.count("item_version").alias("versions_in_effect"), F.first("item_price").alias("item_price")
    )
    per_hour = {
        row["hour"]: row
        for row in per_event.groupBy(hour_key_of(F.col("event_hour")).alias("hour"))
        .agg(
            F.count("*").alias("events"),
            F.count_if(F.col("versions_in_effect") != 1).alias("events_without_one_version"),
            F.count_if((F.col("event_type") == "purchase") & (F.col("price") != F.col("item_price"))).alias(
                "purchases_at_another_price"
            ),
        )
        .collect()
    }
    outcomes = {}
    for key in keys:
        row = per_hour.get(key)
        figures = {
            "events": row["events"] if row else 0,
            "events_without_one_version": row["events_without_one_version"] if row else 0,
            "purchases_at_another_price": row["purchases_at_another_price"] if row else 0,
        }
        bad = figures["events_without_one_version"] + figures["purchases_at_another_price"]
        summary = f"all {figures['events']} event(s) join one version" if not bad else f"{bad} event(s) do not"
        outcomes[key] = CheckOutcome(
            not bad, summary, figures, {"events_without_one_version": 0, "purchases_at_another_price": 0}
        )
    return outcomes


@table_asset(
    FUNNEL_HOURLY,
    group=CLICKSTREAM_GROUP,
    partitions_def=clickstream_hours,
    description="The conversion funnel of each UTC hour (`hour`: its start): sessions, sessions per step, purchases,"
    " revenue, the three rates and bot sessions; an hour without traffic has a row of zeros.",
    upstream=[CLICKSTREAM_EVENTS],
    checks=(SCHEMA_CHECK, FUNNEL_CONSISTENCY_CHECK, CONVERSION_ANOMALY_CHECK),
)
def funnel_hourly(
    step: TableStep,
    clickstream_rules: ClickstreamRules,
) -> None:
    """Compute the hours' funnels from silver, check them, replace the hours."""
    hours = step.hours
    keys = hours.keys()
    session = step.session
    events = step.lakehouse.read(session, CLICKSTREAM_EVENTS, filters=within_hours("event_time", hours))
    figures = with_empty_windows(
        funnel(events.withColumn("hour", F.col("event_hour")), "hour"),
        "hour",
        [utc_instant(hour) for hour in hours.hours()],
    )
    reporter = step.reporter
    with staged(figures) as rows:
        collected = {row["key"]: row for row in rows.withColumn("key", hour_key_of(F.col("hour"))).collect()}
        with reporter.computing():
            reporter.add(SCHEMA_CHECK, schema_outcomes(FunnelHourly, rows, hour_key_of(F.col("hour")), keys))
            reporter.add(FUNNEL_CONSISTENCY_CHECK, {key: funnel_consistency(collected[key].asDict()) for key in keys})
            reporter.add(
                CONVERSION_ANOMALY_CHECK,
                _conversion_outcomes(session, step.lakehouse, clickstream_rules, hours, collected),
            )
        if reporter.passes_everywhere():
            step.lakehouse.replace_hours(FUNNEL_HOURLY, rows, "hour", hours)
        for key in keys:
            row = collected[key]
            step.context.add_asset_metadata(
                {
                    name: float(row[name]) if row[name] is not None else None
                    for name in ("sessions", "purchases", "revenue", "conversion_rate")
                },
                partition_key=key,
            )
        step.metadata.update({"hours_in_run": len(hours), **step.table_metadata(rows)})


def _conversion_outcomes(
    session, lakehouse: Lakehouse, rules: ClickstreamRules, hours: HourRange, collected: dict
) -> dict[str, CheckOutcome]:
    """Each hour's conversion rate against the stored rates of the trailing hours and the run's earlier hours."""
    rule = rules.conversion_anomaly_rule()
    rates = {}
    if lakehouse.exists(FUNNEL_HOURLY):
        window = HourRange(hours.start - rule.period * rule.window_days, hours.start)
        stored = lakehouse.read(session, FUNNEL_HOURLY, filters=within_hours("hour", window)).select(
            hour_key_of(F.col("hour")).alias("key"), "conversion_rate"
        )
        rates = {row["key"]: row["conversion_rate"] for row in stored.collect()}
    rates.update({key: row["conversion_rate"] for key, row in collected.items()})
    by_hour = {datetime.strptime(key, HOUR_KEY_FORMAT): rate for key, rate in rates.items() if rate is not None}
    return {
        key: rule.judge("conversion_rate", datetime.strptime(key, HOUR_KEY_FORMAT), by_hour) for key in hours.keys()
    }
