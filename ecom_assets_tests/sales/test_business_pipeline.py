"""Dimensions and business metrics materialized with the pipeline over generated landing data."""

from collections import Counter
from datetime import date

import pytest
from dagster import AssetCheckSeverity

from ecom_assets.api_sources.definitions import PAYMENTS_ASSETS, SHOPIFY_ASSETS, STRIPE_ASSETS
from ecom_assets.clickstream.definitions import CLICKSTREAM_ASSETS
from ecom_assets.definitions import defs
from ecom_assets.feeds.definitions import FEED_ASSETS
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.tables import DATA_QUALITY_RESULTS, ETL_ERRORS, asset_key
from ecom_assets.sales.business_rules import BusinessRules
from ecom_assets.sales.definitions import SALES_ASSETS as TABLE_ASSETS
from ecom_assets.sales.sample_data import generate
from ecom_assets.sales.tables import (
    CATEGORY_REVENUE_DAILY,
    CUSTOMER_LIFETIME_VALUE,
    DIM_CUSTOMERS,
    DIM_PRODUCTS,
    LANDING_DELIVERIES,
    ORDER_TRANSACTIONS,
    ORDERS_CLEANED,
    ORDERS_ENRICHED,
    PRODUCT_FACTS,
    PRODUCT_PERFORMANCE,
    PROMOTION_UPLIFT,
    SALES_METRICS,
    SEASONAL_SALES,
)
from ecom_assets_tests.conftest import day_runner
from ecom_assets_tests.reference import distinct_valid_lines, expected_customer_totals, expected_product_totals
from resources import Lakehouse, LocalLandingZone

pytestmark = pytest.mark.slow

JANUARY_SALE = DateRange(date(2010, 12, 23), date(2011, 1, 8))
"""Covers the start of the shipped calendar's January sale (from 2011-01-04) and the last trading day before the
Christmas shutdown (2010-12-23), its one baseline day."""
SNAPSHOTS = ("dim_promotions", "customer_lifetime_value", "product_performance", "promotion_uplift")


def rows_of(spark, lakehouse, table, key):
    return {tuple(row[k] for k in key): row.asDict() for row in lakehouse.read(spark, table).collect()}


def failed_checks(result):
    return [
        (e.asset_key.path[-1], e.check_name, e.partition, e.description)
        for e in (
            event.event_specific_data
            for event in result.all_events
            if event.event_type_value == "ASSET_CHECK_EVALUATION"
        )
        if not e.passed and e.severity == AssetCheckSeverity.ERROR
    ]


@pytest.fixture(scope="module")
def january_sale(spark, test_spark, tmp_path_factory):
    """Every asset materialized over the January sale in one run: (its result, its landing root, its lakehouse)."""
    root = tmp_path_factory.mktemp("january_sale")
    generate(root / "landing", JANUARY_SALE, seed=11)
    run = day_runner(test_spark, root / "landing", Lakehouse(warehouse_root=str(root / "warehouse")))
    return run(JANUARY_SALE, assets=TABLE_ASSETS), root / "landing", run.lakehouse


def test_every_business_table_is_built_checked_and_agrees_with_an_independent_computation(spark, january_sale):
    result, landing_root, lakehouse = january_sale

    assert result.success and failed_checks(result) == []
    lines = distinct_valid_lines(landing_root)
    clv = rows_of(spark, lakehouse, CUSTOMER_LIFETIME_VALUE, ["customer_id"])
    expected_customers = expected_customer_totals(lines)
    assert {c: {k: row[k] for k in ("orders", "gross_revenue", "returns_amount")} for (c,), row in clv.items()} == (
        expected_customers
    )
    assert {row["as_of_date"] for row in clv.values()} == {date(2011, 1, 7)}, "the last trading day loaded"
    products = rows_of(spark, lakehouse, PRODUCT_PERFORMANCE, ["stock_code"])
    assert {
        code: {k: row[k] for k in ("units_sold", "gross_revenue", "returned_units")}
        for (code,), row in products.items()
    } == expected_product_totals(lines)

    categories = lakehouse.read(spark, CATEGORY_REVENUE_DAILY).groupBy("order_date").sum("revenue").collect()
    gold = {row["order_date"]: row["gross_revenue"] for row in lakehouse.read(spark, SALES_METRICS).collect()}
    for row in categories:
        assert abs(row["sum(revenue)"] - gold[row["order_date"]]) <= 0.05
    seasonal_orders = lakehouse.read(spark, SEASONAL_SALES).groupBy("order_date").sum("orders").collect()
    order_counts = {row["order_date"]: row["order_count"] for row in lakehouse.read(spark, SALES_METRICS).collect()}
    assert {row["order_date"]: row["sum(orders)"] for row in seasonal_orders} == {
        day: count for day, count in order_counts.items() if count
    }

    enriched = lakehouse.read(spark, ORDERS_ENRICHED)
    assert enriched.count() == lakehouse.read(spark, ORDERS_CLEANED).count()
    promoted_days = {row["order_date"] for row in enriched.where("is_promoted").select("order_date").collect()}
    assert promoted_days == {day for day in JANUARY_SALE if day >= date(2011, 1, 4) and order_counts[day]}
    uplift = rows_of(spark, lakehouse, PROMOTION_UPLIFT, ["promotion_name"])[("January sale",)]
    assert uplift["promotion_days"] == 4 and uplift["baseline_days"] == 1

    current_products = lakehouse.read(spark, DIM_PRODUCTS).where("is_current").count()
    assert current_products == len([code for code, p in expected_product_totals(lines).items() if p["units_sold"]])
    assert lakehouse.read(spark, DIM_CUSTOMERS).where("is_current").count() == len(expected_customers)


def materialized(result) -> Counter:
    """How many materializations a run reported, by table and partition (None for an unpartitioned asset)."""
    return Counter(
        (event.asset_key.path[-1], event.partition)
        for event in (e.event_specific_data.materialization for e in result.get_asset_materialization_events())
    )


def test_a_range_run_builds_each_snapshot_once_and_each_daily_table_once_per_day(january_sale):
    result, _, _ = january_sale
    built = materialized(result)
    per_table = Counter(table for table, _ in built.elements())

    assert {table: built[(table, None)] for table in SNAPSHOTS} == dict.fromkeys(SNAPSHOTS, 1), "no day key"
    daily = {table for table in per_table if table not in SNAPSHOTS}
    assert {per_table[table] for table in daily} == {len(JANUARY_SALE)}, "a daily table: one per day"


def test_a_30_day_backfill_builds_a_snapshot_once(spark, run_days):
    month = DateRange(date(2011, 1, 3), date(2011, 2, 1))

    result = run_days(month, assets=[next(a for a in TABLE_ASSETS if a.key.path[-1] == "dim_promotions")])

    assert len(month) == 30 and materialized(result) == Counter({("dim_promotions", None): 1})


def test_each_dimensions_materialization_states_the_keys_and_versions_it_stored(spark, january_sale):
    result, _, lakehouse = january_sale

    for table, key in ((DIM_PRODUCTS, "stock_code"), (DIM_CUSTOMERS, "customer_id")):
        stored = lakehouse.read(spark, table)
        metadata = result.asset_materializations_for_node(asset_key(table).to_python_identifier())[-1].metadata
        assert metadata["keys"].value == stored.select(key).distinct().count() > 0
        assert metadata["versions"].value == stored.count()


def test_the_log_tables_are_assets_downstream_of_every_asset_that_wrote_them(spark, january_sale):
    _, _, lakehouse = january_sale
    graph = defs.resolve_asset_graph()

    def table_name(key):
        return ".".join(key.path)

    def writers_in_graph(log_table):
        return {table_name(key) for key in graph.get(asset_key(log_table)).parent_keys}

    def writers_in_table(log_table):
        return {row["asset"] for row in lakehouse.read(spark, log_table).select("asset").distinct().collect()}

    every_table = {table_name(key) for assets_def in TABLE_ASSETS for key in assets_def.keys}
    feed_tables = {table_name(key) for assets_def in FEED_ASSETS for key in assets_def.keys}
    clickstream_tables = {table_name(key) for assets_def in CLICKSTREAM_ASSETS[1:] for key in assets_def.keys}
    api_tables = {
        table_name(key)
        for assets_def in [*STRIPE_ASSETS[1:], *SHOPIFY_ASSETS[1:], *PAYMENTS_ASSETS]
        for key in assets_def.keys
    }
    others = feed_tables | clickstream_tables | api_tables  # the ingestion's own check reports in Dagster only
    assert writers_in_table(DATA_QUALITY_RESULTS) == every_table, "the run's tables, the sales pipeline's"
    assert writers_in_graph(DATA_QUALITY_RESULTS) == every_table | others, "every table has checks"
    assert writers_in_graph(ETL_ERRORS) == every_table | others, "any table's step records its failure there"
    assert lakehouse.read(spark, LANDING_DELIVERIES).count() == len(JANUARY_SALE)
    assert writers_in_graph(LANDING_DELIVERIES) == {ORDER_TRANSACTIONS.full_name}
    for log_table in (ETL_ERRORS, DATA_QUALITY_RESULTS, LANDING_DELIVERIES):
        node = graph.get(asset_key(log_table))
        assert node.group_name == "logs" and not node.is_executable, "Dagster shows, never runs, a log table"


def test_loading_days_out_of_order_gives_the_same_dimensions_and_snapshots(spark, january_sale, run_days):
    _, in_order_landing, in_order = january_sale
    run_days.resources["landing"] = LocalLandingZone(root=str(in_order_landing))
    later = DateRange(date(2011, 1, 6), JANUARY_SALE.end)
    earlier_and_a_loaded_day = DateRange(JANUARY_SALE.start, date(2011, 1, 6))  # 2011-01-06 runs a second time
    assert run_days(later, assets=TABLE_ASSETS).success
    assert run_days(earlier_and_a_loaded_day, assets=TABLE_ASSETS).success
    out_of_order = run_days.lakehouse

    for table, key in (
        (DIM_PRODUCTS, ["stock_code", "version"]),
        (DIM_CUSTOMERS, ["customer_id", "version"]),
        (CUSTOMER_LIFETIME_VALUE, ["customer_id"]),
        (PRODUCT_PERFORMANCE, ["stock_code"]),
        (PROMOTION_UPLIFT, ["promotion_name"]),
        (CATEGORY_REVENUE_DAILY, ["order_date", "product_category"]),
        (ORDERS_ENRICHED, ["line_id"]),
    ):
        assert rows_of(spark, out_of_order, table, key) == rows_of(spark, in_order, table, key), table.full_name


def test_days_loaded_one_by_one_carry_products_forward_to_the_same_dimension_as_one_run(spark, january_sale, run_days):
    _, in_order_landing, in_order = january_sale
    run_days.resources["landing"] = LocalLandingZone(root=str(in_order_landing))
    steps = [a for a in TABLE_ASSETS if a.key.path[-1] in ("order_transactions", "orders_cleaned")]
    steps += [a for a in TABLE_ASSETS if a.key.path[-1] in ("product_daily_sales", "dim_products")]
    last_days = [date(2011, 1, 6), date(2011, 1, 7), date(2011, 1, 8)]
    assert run_days(DateRange(JANUARY_SALE.start, date(2011, 1, 5)), assets=steps).success

    for day in last_days:
        result = run_days(DateRange(day, day), assets=steps)
        metadata = result.asset_materializations_for_node("ecommerce_catalog__processed__dim_products")[-1].metadata
        assert (metadata["rewritten_whole"].value, metadata["products_rebuilt_from_history"].value) == (False, 0)

    key = ["stock_code", "version"]
    assert rows_of(spark, run_days.lakehouse, DIM_PRODUCTS, key) == rows_of(spark, in_order, DIM_PRODUCTS, key)
    facts = ["stock_code", "first_seen", "last_seen", "state"]
    assert sorted(run_days.lakehouse.read(spark, PRODUCT_FACTS).select(*facts).collect()) == sorted(
        in_order.read(spark, PRODUCT_FACTS).select(*facts).collect()
    )


def test_a_bad_promotions_calendar_fails_its_step_with_the_entry_named_and_is_recorded(
    spark, landing_root, lakehouse, run_days, tmp_path
):
    calendar = tmp_path / "promotions.yaml"
    calendar.write_text("promotions: [{name: Oops, start: 2011-01-09, end: 2011-01-01, discount: 0.1, scope: all}]\n")
    days = DateRange(date(2011, 1, 3), date(2011, 1, 4))
    generate(landing_root, days, seed=11)
    run_days.resources["business_rules"] = BusinessRules(promotions_path=str(calendar))
    result = run_days(days, assets=TABLE_ASSETS, raise_on_error=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert (
        "dim_promotions" in failure.step_key and "promotion 1 (Oops)" in failure.event_specific_data.error.to_string()
    )
    for downstream in ("orders_enriched", "category_revenue_daily", "promotion_uplift"):
        node = next(a.node_def.name for a in TABLE_ASSETS if a.key.path[-1] == downstream)
        assert result.asset_materializations_for_node(node) == [], f"{downstream} must not run"
    assert result.success is False and lakehouse.read(spark, SALES_METRICS).count() == len(days)
    errors = lakehouse.read(spark, ETL_ERRORS).where("error_type = 'step_failed'").collect()
    assert {row["partition_date"] for row in errors} == set(days)
