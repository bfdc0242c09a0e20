"""Two months of the real Online Retail data through every asset, when ../shared holds it (skipped elsewhere)."""

from datetime import date

import pytest
from dagster import AssetCheckSeverity

from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.trading_calendar import load_trading_calendar
from ecom_assets.sales.definitions import SALES_ASSETS as TABLE_ASSETS
from ecom_assets.sales.sample_data import import_days
from ecom_assets.sales.tables import (
    CUSTOMER_LIFETIME_VALUE,
    DIM_PRODUCTS,
    ORDER_TRANSACTIONS,
    ORDERS_CLEANED,
    PRODUCT_PERFORMANCE,
    SALES_METRICS,
)
from ecom_assets_tests.conftest import SHARED_DAYS
from ecom_assets_tests.reference import (
    distinct_valid_lines,
    expected_customer_totals,
    expected_day_status,
    expected_product_totals,
    expected_sales_metrics,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SHARED_DAYS.is_dir(), reason=f"real data not present at {SHARED_DAYS}"),
]
DECEMBER_AND_JANUARY = DateRange(date(2010, 12, 1), date(2011, 1, 31))


def test_two_months_of_real_data_match_the_reference_through_every_asset_and_pass_every_blocking_check(
    spark, tmp_path, landing_root, lakehouse, run_days
):
    source = tmp_path / "days"
    source.mkdir()
    for path in [*SHARED_DAYS.glob("2010-12-*.csv"), *SHARED_DAYS.glob("2011-01-*.csv")]:
        (source / path.name).symlink_to(path)
    import_days(source, landing_root)

    result = run_days(DECEMBER_AND_JANUARY, assets=TABLE_ASSETS)

    assert result.success
    lines = distinct_valid_lines(landing_root)
    gold = {row["order_date"]: row.asDict() for row in lakehouse.read(spark, SALES_METRICS).collect()}
    day_status = expected_day_status(landing_root, DECEMBER_AND_JANUARY.days())
    assert gold == expected_sales_metrics(lines, DECEMBER_AND_JANUARY.days(), day_status)
    assert "missing_delivery" not in day_status.values(), "the trading calendar explains every day without a file"
    source_rows = sum(len(p.read_text().splitlines()) - 1 for p in source.iterdir())
    assert lakehouse.read(spark, ORDER_TRANSACTIONS).count() == source_rows
    assert gold[date(2011, 1, 18)]["units_sold"] >= 74_215, "the famous 74,215-unit order of 18 January"
    silver = lakehouse.read(spark, ORDERS_CLEANED)
    assert silver.where("customer_id LIKE '%.0'").count() == 0

    evaluations = result.get_asset_check_evaluations()
    assert all(e.passed for e in evaluations if e.severity == AssetCheckSeverity.ERROR)
    flagged = {(e.check_name, e.partition) for e in evaluations if not e.passed}
    assert not {day for check, day in flagged if check == "delivery"}, "no trading day of the real data lacks its file"
    assert ("figures_anomaly", "2011-01-18") in flagged, "18 January's 74,215-unit order, cancelled the same day"
    january_18 = (
        next(e for e in evaluations if (e.check_name, e.partition) == ("figures_anomaly", "2011-01-18"))
        .metadata["observed"]
        .value
    )
    assert {"gross_revenue", "avg_order_value", "returns_share"} <= {
        metric for metric, facets in january_18.items() if isinstance(facets, dict) and not facets["passed"]
    }, "its revenue, average order and returns share are each flagged"
    judged_days = {e.partition for e in evaluations if "not judged" not in (e.description or "")}
    assert len({day for _, day in flagged}) <= len(judged_days) / 3, "ordinary days mostly pass"

    clv = lakehouse.read(spark, CUSTOMER_LIFETIME_VALUE).collect()
    assert {
        row["customer_id"]: {k: row[k] for k in ("orders", "gross_revenue", "returns_amount")} for row in clv
    } == expected_customer_totals(lines)
    products = {row["stock_code"]: row.asDict() for row in lakehouse.read(spark, PRODUCT_PERFORMANCE).collect()}
    assert {
        code: {k: row[k] for k in ("units_sold", "gross_revenue", "returned_units")} for code, row in products.items()
    } == expected_product_totals(lines)
    assert products["23166"]["return_rate"] > 0.9, "the 74,215 storage jars came back the same day"
    assert products["23166"]["category"] == "Kitchen & Dining"
    versions = lakehouse.read(spark, DIM_PRODUCTS).groupBy("stock_code").count().where("count > 1").count()
    assert versions > 0, "real descriptions and prices change: some products have SCD2 history"
    coverage = next(e for e in evaluations if e.check_name == "category_coverage")
    assert coverage.passed, coverage.description


def test_the_trading_calendar_explains_every_day_of_the_real_data_without_a_file():
    calendar = load_trading_calendar()
    delivered = {date.fromisoformat(path.stem[:10]) for path in SHARED_DAYS.glob("*.csv")}
    every_day = DateRange(min(delivered), max(delivered)).days()

    unexplained = [day for day in every_day if day not in delivered and calendar.closure(day) is None]
    closed_with_a_file = [day for day in delivered if calendar.closure(day) is not None]

    assert unexplained == []
    assert closed_with_a_file == [], "the shop never trades on a day the calendar closes"
