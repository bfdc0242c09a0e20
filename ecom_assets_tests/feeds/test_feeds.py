"""Operational feed batches through real runs: trigger verification, typing, validation, archiving, the log."""

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from dagster import DagsterInstance, Definitions, ResourceDefinition, build_sensor_context, materialize
from pyspark.sql import functions as F

from ecom_assets.api_sources.standins import free_port
from ecom_assets.feeds.batches import BATCH_INCOMPLETE
from ecom_assets.feeds.contract import feed_file_path, trigger_path
from ecom_assets.feeds.definitions import FEED_ASSETS
from ecom_assets.feeds.jobs import feed_trigger_sensor, operational_feeds_job
from ecom_assets.feeds.sample_data import write_batch, write_feeds_for_sales
from ecom_assets.feeds.tables import (
    CUSTOMER_FEED,
    CUSTOMER_UPDATES,
    INVENTORY_DAILY,
    INVENTORY_SNAPSHOTS,
    PROCESSING_LOG,
    SEGMENT_ANALYSIS,
    SHIPMENTS,
    SHIPPING_PERFORMANCE,
    VALIDATION_RESULTS,
)
from ecom_assets.platform.alerts import check_failure_email_sensor
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.platform.tables import ETL_ERRORS, asset_key
from ecom_assets.sales.bronze import order_transactions
from ecom_assets.sales.business_rules import BusinessRules
from ecom_assets.sales.dimensions import customer_daily_sales, dim_customers, dim_products, product_daily_sales
from ecom_assets.sales.sample_data import HEADER, generate
from ecom_assets.sales.silver import orders_cleaned
from ecom_assets.sales.tables import DIM_CUSTOMERS, DIM_PRODUCTS
from ecom_assets_tests.conftest import fresh_dagster_home
from ecom_assets_tests.mail import smtp_server, tick
from ecom_assets_tests.runs import evaluations, run_log, write_day
from resources import Lakehouse, LocalLandingZone

pytestmark = pytest.mark.slow

DAY = date(2011, 1, 4)
NEXT_DAY = date(2011, 1, 5)
BOTH_DAYS = DateRange(DAY, NEXT_DAY)
SALES_WITH_DIMENSIONS = [
    order_transactions,
    orders_cleaned,
    product_daily_sales,
    customer_daily_sales,
    dim_products,
    dim_customers,
]
SALES = (
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2011-01-04 08:26:00,2.55,17850.0,United Kingdom",
    "536366,71053,WHITE METAL LANTERN,2,2011-01-04 09:00:00,3.39,13047.0,United Kingdom",
    "536367,21730,GLASS STAR FROSTED,4,2011-01-04 10:00:00,4.25,12583.0,France",
)


def _first_batch() -> dict[str, list[dict]]:
    return {
        "customers": [
            {
                "customer_id": "17850",
                "email": "ann@example.com",
                "phone": "+44 20 7946 0958",
                "customer_tier": "Silver",
                "registration_date": "01/12/2010",
                "country": "United Kingdom",
            },
            {"customer_id": "13047", "email": "not-an-address", "customer_tier": "gold", "date_of_birth": "1980-02-11"},
        ],
        "products": [
            {"product_id": "85123A", "product_name": "White hanging heart", "price": "2.55", "discontinued": "FALSE"},
            {"product_id": "71053", "product_name": "White metal lantern", "price": "3.39", "discontinued": "0"},
        ],
        "inventory": [
            {"product_id": "85123A", "stock_quantity": "40", "warehouse_location": "UK-1"},
            {"product_id": "71053", "stock_quantity": "-3", "warehouse_location": "UK-1"},
        ],
        "shipping": [
            {
                "order_id": "536365",
                "shipping_method": "Standard",
                "shipping_cost": "4.95",
                "estimated_delivery": "07/01/2011",
            },
            {
                "order_id": "999999",
                "shipping_method": "express",
                "shipping_cost": "9.95",
                "estimated_delivery": "2011-01-06",
            },
        ],
    }


@pytest.fixture
def feeds_landed(landing_root, run_days):
    """Sales of DAY in silver; DAY's batch complete; NEXT_DAY's customers file changed after its trigger."""
    write_day(landing_root, "sales.csv", ("\n".join([",".join(HEADER), *SALES]) + "\n").encode(), DAY)
    run_days(DateRange(DAY, DAY), assets=[order_transactions, orders_cleaned])
    write_batch(landing_root, DAY, _first_batch(), batch_id="b-0104")
    write_batch(landing_root, NEXT_DAY, {"customers": [{"customer_id": "17850", "customer_tier": "gold"}]})
    customers = landing_root / "raw" / feed_file_path("customers", NEXT_DAY)
    customers.write_text(customers.read_text() + "12583,,,,,,,,,,,,bronze,,\n")
    return landing_root


def _table(spark, lakehouse, table):
    return lakehouse.read(spark, table)


def test_a_batch_whose_file_changed_after_its_trigger_is_kept_out_with_the_reason_and_the_other_day_flows(
    spark, feeds_landed, lakehouse, run_days
):
    run_days.resources["quality"] = DataQualityPolicy(max_high_finding_share=0.5)
    result = run_days(BOTH_DAYS, assets=FEED_ASSETS)

    checks = evaluations(result)
    bronze = "/".join(CUSTOMER_FEED.parts)
    assert checks[(bronze, "batch_complete", DAY.isoformat())].passed
    refused = checks[(bronze, "batch_complete", NEXT_DAY.isoformat())]
    assert (
        not refused.passed
        and "has SHA-256" in refused.description
        and "has 2 data rows, the trigger states 1" in refused.description
    )
    assert {row["business_date"] for row in _table(spark, lakehouse, CUSTOMER_FEED).collect()} == {DAY}
    errors = _table(spark, lakehouse, ETL_ERRORS).where(F.col("error_type") == BATCH_INCOMPLETE).collect()
    assert {(row["asset"].split(".")[-1], row["partition_date"]) for row in errors} == {
        (name, NEXT_DAY) for name in ("customer_feed", "product_feed", "inventory_feed", "shipping_feed")
    }
    assert all("trigger states 1" in row["error_message"] for row in errors)
    assert "batch not processed" in run_log(run_days, result)
    # nothing of the refused batch moved; the processed one is archived, trigger included
    assert (feeds_landed / "raw" / trigger_path(NEXT_DAY)).exists()
    assert not (feeds_landed / "raw" / trigger_path(DAY)).exists()
    assert (feeds_landed / "archive" / trigger_path(DAY)).exists()
    assert (feeds_landed / "archive" / feed_file_path("shipping", DAY)).exists()


def test_validation_scores_the_batch_and_names_each_finding_with_its_severity_and_samples(
    spark, feeds_landed, lakehouse, run_days
):
    run_days.resources["quality"] = DataQualityPolicy(max_high_finding_share=0.5)
    run_days(DateRange(DAY, DAY), assets=FEED_ASSETS)

    found = {
        row["rule"]: row
        for row in _table(spark, lakehouse, VALIDATION_RESULTS).where(F.col("business_date") == DAY).collect()
    }
    assert (found["negative_stock"]["severity"], found["negative_stock"]["flagged_records"]) == ("HIGH", 1)
    assert found["shipment_without_order"]["severity"] == "HIGH"
    assert found["shipment_without_order"]["samples"] == [
        "order 999999 (no tracking number) is no invoice of the sales files"
    ]
    assert (found["invalid_email"]["severity"], found["invalid_email"]["category"]) == ("MEDIUM", "format")
    assert found["sale_unknown_product"]["flagged_records"] == 1  # 21730 is in no products feed
    assert found["sale_unknown_customer"]["flagged_records"] == 1  # 12583 is in no customers feed
    summary = found["batch_summary"]
    # 8 feed records + 3 sales lines checked; flags: 2 HIGH, 1 MEDIUM, 2 LOW → 100 × (1 − 10/33)
    assert summary["records_checked"] == 11 and summary["batch_id"] == "b-0104"
    assert summary["validation_score"] == pytest.approx(round(100 * (1 - 10 / 33), 2))
    assert summary["high_share"] == pytest.approx(2 / 8)
    # the HIGH records are kept out of what is built from the feeds, with their rule
    kept_out = _table(spark, lakehouse, ETL_ERRORS).where(F.col("asset") == VALIDATION_RESULTS.full_name).collect()
    assert {row["error_type"] for row in kept_out} == {"negative_stock", "shipment_without_order"}
    customers = {row["customer_id"]: row for row in _table(spark, lakehouse, CUSTOMER_UPDATES).collect()}
    assert customers["17850"]["customer_tier"] == "silver" and customers["17850"]["phone"] == "+442079460958"
    assert customers["17850"]["registration_date"] == date(2010, 12, 1)
    assert customers["13047"]["email"] is None


def test_a_batch_beyond_the_high_findings_share_fails_its_blocking_check_and_stays_in_raw(
    spark, feeds_landed, lakehouse, run_days
):
    result = run_days(DateRange(DAY, DAY), assets=FEED_ASSETS)

    check = evaluations(result)[("/".join(VALIDATION_RESULTS.parts), "high_findings", DAY.isoformat())]
    assert not check.passed and "2 of 8 feed record(s) have a HIGH finding" in check.description
    assert (feeds_landed / "raw" / trigger_path(DAY)).exists()
    log = {
        row["asset"]: row for row in _table(spark, lakehouse, PROCESSING_LOG).collect() if row["business_date"] == DAY
    }
    assert log[VALIDATION_RESULTS.full_name]["status"] == "quarantined"


def test_a_processed_batch_reruns_from_the_archive_without_doubling_and_every_step_is_logged(
    spark, feeds_landed, lakehouse, run_days
):
    run_days.resources["quality"] = DataQualityPolicy(max_high_finding_share=0.5)
    run_days(DateRange(DAY, DAY), assets=FEED_ASSETS)
    assert not (feeds_landed / "raw" / feed_file_path("inventory", DAY)).exists()

    run_days(DateRange(DAY, DAY), assets=FEED_ASSETS)

    assert _table(spark, lakehouse, INVENTORY_SNAPSHOTS).count() == 2
    log = [row for row in _table(spark, lakehouse, PROCESSING_LOG).collect() if row["business_date"] == DAY]
    bronze_rows = sorted(
        (row["started_at"], row) for row in log if row["asset"] == "ecommerce_catalog.raw.inventory_feed"
    )
    assert [row["message"] for _, row in bronze_rows] == ["read from raw/", "read from archive/"]
    assert all(row["status"] == "succeeded" and row["ended_at"] >= row["started_at"] for row in log)
    assert {(row["rows_in"], row["rows_out"]) for _, row in bronze_rows} == {(2, 2)}
    assert len({row["step"] for row in log}) == 9  # four bronze, four silver, validation log their batches
    assert json.loads((feeds_landed / "archive" / trigger_path(DAY)).read_text())["batch_id"] == "b-0104"


def test_the_trigger_sensor_starts_each_batch_once_and_a_refused_batch_reaches_the_alert_email(tmp_path, test_spark):
    smtp_port = free_port()
    landing_root = tmp_path / "landing"
    days = DateRange(date(2011, 1, 4), date(2011, 1, 5))
    generate(landing_root, days)
    triggers = write_feeds_for_sales(landing_root)
    assert [trigger.business_date for trigger in triggers] == list(days)
    first_inventory = (landing_root / "raw" / feed_file_path("inventory", date(2011, 1, 4))).read_text()
    inventory = landing_root / "raw" / feed_file_path("inventory", NEXT_DAY)
    inventory.write_text(inventory.read_text().replace(",UK-1,", ",UK-2,", 1))  # changed after its trigger
    landing = LocalLandingZone(root=str(landing_root))
    resources = {
        "spark": test_spark,
        "landing": landing,
        "lakehouse": Lakehouse(warehouse_root=str(tmp_path / "warehouse")),
        "quality": DataQualityPolicy(),
        "business_rules": BusinessRules(),
        "step_launcher": ResourceDefinition.none_resource(),
    }
    with fresh_dagster_home(tmp_path) as dagster_home:
        instance = DagsterInstance.local_temp(str(dagster_home))
        materialize(
            SALES_WITH_DIMENSIONS,
            instance=instance,
            resources=resources,
            tags={
                "dagster/asset_partition_range_start": "2011-01-04",
                "dagster/asset_partition_range_end": "2011-01-05",
            },
        )
        feeds_job = Definitions(
            assets=[*SALES_WITH_DIMENSIONS, *FEED_ASSETS], jobs=[operational_feeds_job], resources=resources
        ).resolve_job_def(operational_feeds_job.name)

        requests = feed_trigger_sensor(
            build_sensor_context(instance=instance, resources={"landing": landing})
        ).run_requests
        assert {(r.partition_key, r.tags["ecom/batch_complete"]) for r in requests} == {
            ("2011-01-04", "true"),
            ("2011-01-05", "false"),
        }
        for request in requests:
            tags = {**request.tags, "dagster/sensor_name": "feed_trigger_sensor", "dagster/run_key": request.run_key}
            assert feeds_job.execute_in_process(
                instance=instance, partition_key=request.partition_key, tags=tags
            ).success

        again = feed_trigger_sensor(
            build_sensor_context(instance=instance, resources={"landing": landing})
        ).run_requests
        refused_key = next(r.run_key for r in requests if r.partition_key == "2011-01-05")
        assert [r.run_key for r in again] == [refused_key], "the processed batch left raw/; the refused one waits"
        first_day = date(2011, 1, 4)
        stock = lakehouse_rows(resources["lakehouse"], test_spark, INVENTORY_DAILY)
        snapshot = resources["lakehouse"].read(test_spark.get_session(), INVENTORY_SNAPSHOTS)
        delivered = list(csv.DictReader(io.StringIO(first_inventory)))
        negative = {row["product_id"] for row in delivered if int(row["stock_quantity"]) < 0}
        counted = {row["product_id"] for row in delivered} - negative
        assert {row["product_id"] for row in stock} == counted, "every product of the day's file once, but negatives"
        assert len(stock) == len(counted) and snapshot.select("product_id").distinct().count() == len(
            counted | negative
        )
        quarantined = (
            resources["lakehouse"].read(test_spark.get_session(), ETL_ERRORS).where("error_type = 'negative_stock'")
        )
        assert {row["record"].split("|")[0] for row in quarantined.collect()} == negative, "held back with a reason"
        assert {row["business_date"] for row in stock} == {first_day}, "the refused batch's day has no stock"
        tiers = lakehouse_rows(resources["lakehouse"], test_spark, SEGMENT_ANALYSIS)
        assert {row["customer_tier"] for row in tiers if row["order_date"] == first_day} <= {
            "bronze",
            "silver",
            "gold",
            "platinum",
            "guest",
        }, "every customer buying on a batch's day has its tier from that batch"
        scores = lakehouse_rows(resources["lakehouse"], test_spark, VALIDATION_RESULTS)
        assert [(row["business_date"], row["rule"]) for row in scores if row["rule"] == "batch_summary"] == [
            (date(2011, 1, 4), "batch_summary")
        ]
        with smtp_server(smtp_port) as inbox:
            tick(instance, smtp_port, None, check_failure_email_sensor)
        [message] = inbox.messages
        text = message.get_body(("plain",)).get_content()
        assert "batch_complete" in text and "2011-01-05" in text and "inventory_2011_01_05.csv has SHA-256" in text
        instance.dispose()


def lakehouse_rows(lakehouse, test_spark, table):
    return lakehouse.read(test_spark.get_session(), table).collect()


def test_a_late_delivery_in_a_later_batch_makes_a_new_shipment_version_and_restates_its_order_date(
    spark, landing_root, lakehouse, run_days
):
    write_day(landing_root, "sales.csv", ("\n".join([",".join(HEADER), *SALES]) + "\n").encode(), DAY)
    run_days(DateRange(DAY, DAY), assets=[order_transactions, orders_cleaned])
    ship = {
        "order_id": "536365",
        "shipping_method": "standard",
        "shipping_cost": "4.95",
        "estimated_delivery": "2011-01-07",
    }
    write_batch(landing_root, DAY, {"shipping": [ship]})
    write_batch(landing_root, NEXT_DAY, {"shipping": []})
    run_days(DateRange(DAY, NEXT_DAY), assets=FEED_ASSETS)
    [before] = _table(spark, lakehouse, SHIPPING_PERFORMANCE).collect()
    assert (before["order_date"], before["shipments"], before["delivered"], before["on_time_rate"]) == (DAY, 1, 0, None)

    later = date(2011, 1, 10)
    write_batch(landing_root, later, {"shipping": [ship | {"actual_delivery": "09/01/2011"}]})
    result = run_days(DateRange(later, later), assets=FEED_ASSETS)

    rebuilt = result.asset_materializations_for_node(asset_key(SHIPMENTS).to_python_identifier())[-1].metadata
    assert (rebuilt["rebuilt_whole"].value, rebuilt["shipments_rebuilt"].value) == (False, 1)

    versions = sorted(_table(spark, lakehouse, SHIPMENTS).collect(), key=lambda row: row["version"])
    assert [(v["valid_from"], v["valid_to"], v["actual_delivery"]) for v in versions] == [
        (DAY, later, None),
        (later, None, date(2011, 1, 9)),
    ]
    [after] = _table(spark, lakehouse, SHIPPING_PERFORMANCE).collect()
    assert (after["order_date"], after["delivered"], after["on_time"], after["on_time_rate"]) == (DAY, 1, 0, 0.0)
    assert after["avg_delivery_days"] == 5.0


def test_a_tier_change_in_a_later_batch_gives_the_customer_a_second_dimension_version(
    spark, landing_root, lakehouse, run_days
):
    write_day(landing_root, "sales.csv", ("\n".join([",".join(HEADER), *SALES]) + "\n").encode(), DAY)
    run_days(DateRange(DAY, DAY), assets=SALES_WITH_DIMENSIONS)
    stored = lakehouse.read(spark, DIM_CUSTOMERS)
    lakehouse.overwrite(DIM_CUSTOMERS, stored.drop("customer_tier", "email", "city", "attribute_source"))
    first = {"customer_id": "17850", "customer_tier": "silver", "city": "London", "country": "United Kingdom"}
    product = {"product_id": "85123A", "product_name": "Heart holder", "category": "Home", "brand": "Acme"}
    write_batch(landing_root, DAY, {"customers": [first], "products": [product | {"price": "2.55"}]})
    write_batch(landing_root, NEXT_DAY, {"customers": [first | {"customer_tier": "gold"}], "products": []})
    run_days(BOTH_DAYS, assets=[*FEED_ASSETS, dim_customers, dim_products])

    customers = sorted(
        _table(spark, lakehouse, DIM_CUSTOMERS).collect(), key=lambda r: (r["customer_id"], r["version"])
    )
    assert [
        (r["customer_id"], r["version"], r["customer_tier"], r["city"], r["effective_from"], r["is_current"])
        for r in customers
    ] == [
        ("12583", 1, None, None, DAY, True),
        ("13047", 1, None, None, DAY, True),
        ("17850", 1, "silver", "London", DAY, False),
        ("17850", 2, "gold", "London", NEXT_DAY, True),
    ], "the table stored before the tier columns existed was rebuilt whole, the feed's customer got two versions"
    [heart] = _table(spark, lakehouse, DIM_PRODUCTS).where("stock_code = '85123A'").collect()
    assert (heart["product_name"], heart["catalog_category"], heart["brand"], heart["list_price"]) == (
        "Heart holder",
        "Home",
        "Acme",
        Decimal("2.55"),
    )
    assert heart["description"] == "WHITE HANGING HEART T-LIGHT HOLDER" and heart["attribute_source"] == "feed"


def test_stock_that_vanishes_without_sales_warns_on_its_day_and_reaches_the_alert_email(
    spark, landing_root, lakehouse, run_days
):
    write_day(landing_root, "sales.csv", ("\n".join([",".join(HEADER), *SALES]) + "\n").encode(), DAY)
    stock = {"85123A": ("40", "30"), "71053": ("30", "25"), "21730": ("50", "15")}
    for index, day in enumerate((DAY, NEXT_DAY)):
        counts = [
            {"product_id": product, "stock_quantity": levels[index], "warehouse_location": "UK-1"}
            for product, levels in stock.items()
        ]
        write_batch(landing_root, day, {"inventory": counts})
    next_day_sales = "536370,21730,GLASS STAR FROSTED,6,2011-01-05 10:00:00,4.25,12583.0,France"
    write_day(landing_root, "sales.csv", ("\n".join([",".join(HEADER), next_day_sales]) + "\n").encode(), NEXT_DAY)
    run_days(BOTH_DAYS, assets=[order_transactions, orders_cleaned, product_daily_sales])

    result = run_days(BOTH_DAYS, assets=FEED_ASSETS)

    verdicts = evaluations(result)
    check = (INVENTORY_DAILY.full_name.replace(".", "/"), "no_unexplained_stock_drop")
    assert verdicts[(*check, DAY.isoformat())].passed, "the first day has no day before to fall from"
    dropped = verdicts[(*check, NEXT_DAY.isoformat())]
    assert (dropped.passed, dropped.severity.value) == (False, "WARN")
    failing = dropped.metadata["failing_rows"].value
    assert [(row["product_id"], row["unexplained_drop"]) for row in failing] == [("21730", 29)], (
        "85123A fell by a quarter (under the half the policy allows); 21730 fell 35, of which 6 were sold"
    )
    smtp_port = free_port()
    with smtp_server(smtp_port) as inbox:
        tick(run_days.instance, smtp_port, None, check_failure_email_sensor)
    [message] = inbox.messages
    text = message.get_body(("plain",)).get_content()
    assert "no_unexplained_stock_drop" in text and NEXT_DAY.isoformat() in text
