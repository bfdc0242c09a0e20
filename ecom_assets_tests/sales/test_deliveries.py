"""A missing delivery is not a day without sales: real runs on real Delta tables."""

from datetime import date

from ecom_assets.platform.alerts import check_failure_email, failed_checks
from ecom_assets.platform.dates import DateRange
from ecom_assets.sales.sample_data import generate
from ecom_assets.sales.tables import LANDING_DELIVERIES, SALES_METRICS
from ecom_assets.sales.transforms.gold import FIGURE_COLUMNS
from ecom_assets_tests.reference import distinct_valid_lines, expected_sales_metrics
from resources.landing import day_folder

FRIDAY, SATURDAY, SUNDAY, MONDAY = (date(2011, 1, day) for day in (7, 8, 9, 10))
DAYS = DateRange(FRIDAY, MONDAY)


def test_a_missing_trading_day_is_flagged_alerted_and_withheld_next_to_a_closed_day_of_clean_zeros(
    spark, landing_root, lakehouse, run_days
):
    generate(landing_root, DAYS, seed=5)  # no file on Saturday: the shop is closed
    for path in (landing_root / day_folder(MONDAY)).glob("*.csv"):
        path.unlink()  # Monday's delivery never arrives

    result = run_days(DAYS)

    assert result.success, "a missing day never stops the other days of the run"
    gold = {row["order_date"]: row for row in lakehouse.read(spark, SALES_METRICS).collect()}
    assert [gold[day]["day_status"] for day in DAYS] == ["complete", "closed", "complete", "missing_delivery"]
    assert gold[SATURDAY]["order_count"] == 0 and gold[SATURDAY]["gross_revenue"] == 0, "closed: clean zeros"
    assert all(gold[MONDAY][name] is None for name in FIGURE_COLUMNS), "missing: no figure a reader could trust"
    expected = expected_sales_metrics(distinct_valid_lines(landing_root), [FRIDAY, SUNDAY])
    assert [gold[day]["order_count"] for day in (FRIDAY, SUNDAY)] == [
        expected[day]["order_count"] for day in (FRIDAY, SUNDAY)
    ]
    deliveries = {row["partition_date"]: row for row in lakehouse.read(spark, LANDING_DELIVERIES).collect()}
    assert deliveries[MONDAY]["delivery_status"] == "missing" and deliveries[SATURDAY]["closure"] == "Saturday"

    delivery_checks = {
        evaluation.partition: evaluation.passed
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == "delivery"
    }
    assert delivery_checks == {"2011-01-07": True, "2011-01-08": True, "2011-01-09": True, "2011-01-10": False}
    failures = [f for f in failed_checks(run_days.instance, result.run_id) if f.check == "delivery"]
    assert [failure.partition for failure in failures] == ["2011-01-10"]
    subject, text, _ = check_failure_email(result.run_id, failures, "http://127.0.0.1:3000")
    assert "delivery" in subject and "2011-01-10" in subject and "missing delivery" in text

    generate(landing_root, DateRange(MONDAY, MONDAY), seed=5)  # the file arrives late
    assert run_days(DateRange(MONDAY, MONDAY)).success

    monday = lakehouse.read(spark, SALES_METRICS, filters=[("order_date", "=", MONDAY)]).first()
    late = expected_sales_metrics(distinct_valid_lines(landing_root), [MONDAY])[MONDAY]
    assert monday["day_status"] == "complete" and monday["order_count"] == late["order_count"]
    assert lakehouse.read(spark, SALES_METRICS).count() == 4
