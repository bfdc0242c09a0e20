"""Quarantine and audit before publish: a bad file or a failed blocking check keeps its day out, never the run."""

from datetime import date

import pytest
from dagster import AssetCheckSpec, AssetExecutionContext, MaterializeResult, asset, materialize
from pyspark.sql import functions as F

from ecom_assets.platform.checks import Check, CheckReporter
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.outcomes import CheckOutcome
from ecom_assets.platform.tables import ETL_ERRORS, QUARANTINED_DAYS, TableName
from ecom_assets.sales.sample_data import generate
from ecom_assets.sales.tables import ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS
from ecom_assets_tests.reference import distinct_valid_lines, expected_day_status, expected_sales_metrics
from resources import Lakehouse, SparkSessionResource
from resources.landing import QUARANTINE_PREFIX, day_folder

pytestmark = pytest.mark.slow

RANGE = DateRange(date(2011, 1, 4), date(2011, 1, 6))
BAD_DAY = date(2011, 1, 5)
BRONZE = "ecommerce_catalog/raw/order_transactions"
SILVER = "ecommerce_catalog/processed/orders_cleaned"
GOLD = "ecommerce_catalog/analytics/sales_metrics"
NO_PRICE_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,CustomerID,Country\n"
NO_PRICE_LINES = (
    "537901,85123A,WHITE HEART,6,2011-01-05 08:26:00,17850.0,United Kingdom\n"
    "537901,71053,WHITE LANTERN,6,2011-01-05 08:26:00,17850.0,United Kingdom\n"
)
FIXED_FILE = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "537901,85123A,WHITE HEART,6,2011-01-05 08:26:00,2.55,17850.0,United Kingdom\n"
    "537901,71053,WHITE LANTERN,6,2011-01-05 08:26:00,3.39,17850.0,United Kingdom\n"
)


def evaluations(result) -> dict[tuple[str, str, str], object]:
    return {("/".join(e.asset_key.path), e.check_name, e.partition): e for e in result.get_asset_check_evaluations()}


def rows_by_day(spark, lakehouse, table: TableName, column: str) -> dict[date, int]:
    return dict(lakehouse.read(spark, table).groupBy(column).count().collect())


def quarantined(spark, lakehouse) -> set[tuple[str, date]]:
    if not lakehouse.exists(QUARANTINED_DAYS):
        return set()
    return {(row["asset"], row["partition_date"]) for row in lakehouse.read(spark, QUARANTINED_DAYS).collect()}


def lines_of(landing_root, day: date) -> int:
    return sum(len(path.read_text().splitlines()) - 1 for path in (landing_root / day_folder(day)).glob("*.csv"))


def test_a_bad_file_quarantines_its_day_the_other_days_reach_gold_and_a_redelivery_completes_it(
    spark, landing_root, lakehouse, run_days
):
    generate(landing_root, RANGE, seed=23)
    good_lines_on_bad_day = lines_of(landing_root, BAD_DAY)
    bad_file = landing_root / day_folder(BAD_DAY) / "till_2.csv"
    bad_file.write_text(NO_PRICE_HEADER + NO_PRICE_LINES)

    result = run_days(RANGE, raise_on_error=False)

    assert result.success, "one bad file never fails the run"
    found = evaluations(result)
    header = found[(BRONZE, "header_conformity", BAD_DAY.isoformat())]
    assert not header.passed and header.severity.value == "ERROR" and not header.blocking
    assert "lacks column(s) UnitPrice" in header.description
    for table in (BRONZE, SILVER, GOLD):
        assert not found[(table, "published", BAD_DAY.isoformat())].passed, f"{table} shows the day as not published"
        assert all(found[(table, "published", day.isoformat())].passed for day in RANGE if day != BAD_DAY)
    assert set(rows_by_day(spark, lakehouse, SALES_METRICS, "order_date")) == {date(2011, 1, 4), date(2011, 1, 6)}
    assert BAD_DAY not in rows_by_day(spark, lakehouse, ORDERS_CLEANED, "landing_date")
    assert BAD_DAY not in rows_by_day(spark, lakehouse, ORDER_TRANSACTIONS, "partition_date")
    assert quarantined(spark, lakehouse) == {
        (table.full_name, BAD_DAY) for table in (ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS)
    }
    assert not bad_file.exists(), "the unreadable file left the landing folder"
    quarantine_copy = landing_root / day_folder(BAD_DAY, QUARANTINE_PREFIX) / "till_2.csv"
    assert quarantine_copy.read_text() == NO_PRICE_HEADER + NO_PRICE_LINES
    errors = lakehouse.read(spark, ETL_ERRORS).where(F.col("partition_date") == BAD_DAY).collect()
    kinds = sorted({(e["error_type"], e["source_file_name"].rsplit("/", 1)[1]) for e in errors})
    assert ("unreadable_file", "till_2.csv") in kinds
    held = [e for e in errors if e["error_type"] == "day_quarantined"]
    assert len(held) == good_lines_on_bad_day, "each line of the day waits in the error table"
    assert all("header_conformity" in e["error_message"] for e in held)

    rerun = run_days(DateRange(BAD_DAY, BAD_DAY), raise_on_error=False)
    assert rerun.success
    assert not evaluations(rerun)[(GOLD, "published", BAD_DAY.isoformat())].passed, (
        "without a new delivery, the day stays quarantined"
    )
    assert "waits in quarantine" in evaluations(rerun)[(BRONZE, "header_conformity", BAD_DAY.isoformat())].description

    bad_file.write_text(FIXED_FILE)
    fixed = run_days(DateRange(BAD_DAY, BAD_DAY))

    assert all(e.passed for e in fixed.get_asset_check_evaluations() if e.check_name == "published")
    assert quarantined(spark, lakehouse) == set()
    assert not quarantine_copy.exists(), "the quarantined copy is released once its re-delivery is published"
    assert not lakehouse.read(spark, ETL_ERRORS).where("error_type = 'day_quarantined'").count()
    gold = {row["order_date"]: row.asDict() for row in lakehouse.read(spark, SALES_METRICS).collect()}
    expected = expected_sales_metrics(
        distinct_valid_lines(landing_root), RANGE.days(), expected_day_status(landing_root, RANGE.days())
    )
    assert gold == expected, "the re-delivered day completes gold exactly"


def test_a_blocked_redelivery_leaves_readers_on_the_previous_version_until_a_steward_accepts_the_day(
    spark, landing_root, lakehouse, run_days
):
    day = DateRange(BAD_DAY, BAD_DAY)
    generate(landing_root, day, seed=29)
    run_days(day)
    published = {
        table: sorted(map(tuple, lakehouse.read(spark, table).drop("ingestion_date").collect()))
        for table in (ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS)
    }
    (landing_root / day_folder(BAD_DAY) / "resent.csv").write_text("")

    result = run_days(day, raise_on_error=False)

    assert result.success
    header = evaluations(result)[(BRONZE, "header_conformity", BAD_DAY.isoformat())]
    assert not header.passed and "empty" in header.description
    for table, rows in published.items():
        stored = sorted(map(tuple, lakehouse.read(spark, table).drop("ingestion_date").collect()))
        assert stored == rows, f"{table.full_name} still shows the day as last published"

    (landing_root / day_folder(BAD_DAY, QUARANTINE_PREFIX) / "resent.csv").unlink()  # the steward accepts the day
    accepted = run_days(day)

    assert all(e.passed for e in accepted.get_asset_check_evaluations() if e.check_name == "published")
    assert quarantined(spark, lakehouse) == set()


GATED = TableName("ecommerce_catalog", "processed", "gated_snapshot")
WHOLE_TABLE_CHECK = Check("whole_table", "The snapshot holds no negative value.", per_partition=False)


@asset(key=GATED.parts, check_specs=[AssetCheckSpec(WHOLE_TABLE_CHECK.name, asset=GATED.parts, blocking=True)])
def gated_snapshot(context: AssetExecutionContext, spark: SparkSessionResource, lakehouse: Lakehouse):
    """A snapshot of the rows in the run's config, published only when none is negative."""
    session = spark.get_session()
    values = context.run.tags["values"].split(",")
    rows = session.createDataFrame([(int(value),) for value in values], "value int")
    reporter = CheckReporter(context, GATED)
    negative = [value for value in values if int(value) < 0]
    reporter.add(WHOLE_TABLE_CHECK, {date(2011, 1, 5): CheckOutcome(not negative, f"negative: {negative}")})
    reporter.overwrite_if_passing(lakehouse, rows)
    yield MaterializeResult()
    yield from reporter.publish(lakehouse)


def test_a_table_checked_as_a_whole_is_not_written_when_its_blocking_check_fails(spark, test_spark, lakehouse):
    def run(values: str):
        return materialize(
            [gated_snapshot],
            resources={"spark": test_spark, "lakehouse": lakehouse},
            tags={"values": values},
            raise_on_error=False,
        )

    assert run("1,2").success
    version = lakehouse.history(GATED, limit=1)[0].version

    failed = run("3,-4")

    assert not failed.success, "the failed blocking check fails the step"
    assert lakehouse.history(GATED, limit=1)[0].version == version, "no commit was made"
    assert sorted(row["value"] for row in lakehouse.read(spark, GATED).collect()) == [1, 2]
