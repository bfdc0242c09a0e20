"""Each data-quality check, passing and failing, on tiny hand-built DataFrames."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pandera.pyspark as pa
import pytest
from pyspark.sql import Row
from pyspark.sql import types as T

from ecom_assets.platform.anomaly import AnomalyRule, combined_outcome
from ecom_assets.platform.schemas import schema_version
from ecom_assets.platform.table_checks import conservation_outcomes, day_counts, schema_outcomes
from ecom_assets.sales.checks import (
    header_outcomes,
    line_integrity_counts,
    non_negative_outcomes,
    reconciliation_outcomes,
    silver_integrity_outcomes,
    silver_sale_totals,
)
from ecom_assets.sales.schemas import GoldSalesMetrics, SilverOrdersCleaned
from ecom_assets.sales.transforms.gold import FIGURE_COLUMNS
from ecom_assets.sales.transforms.silver import SILVER_COLUMNS

DAY = date(2011, 1, 4)
OTHER_DAY = date(2011, 1, 5)
THIRD_DAY = date(2011, 1, 6)
SILVER_DDL = (
    "line_id string, invoice_no string, stock_code string, description string, quantity int, "
    "unit_price decimal(12,3), line_amount decimal(18,3), currency string, invoice_ts timestamp, "
    "order_date date, customer_id string, is_guest boolean, country string, line_type string, "
    "landing_date date, source_file_name string"
)
GOLD_DDL = (
    "order_date date, day_status string, gross_revenue decimal(18,2), returns_amount decimal(18,2), "
    "net_revenue decimal(18,2), order_count long, units_sold long, avg_order_value decimal(18,2), "
    "active_customers long, new_customers long, returning_customers long"
)


def silver_line(line_id="a" * 64, invoice="536365", qty=6, price="2.55", line_type="sale", day=DAY, **overrides):
    values = {
        "line_id": line_id,
        "invoice_no": invoice,
        "stock_code": "85123A",
        "description": "WHITE HEART",
        "quantity": qty,
        "unit_price": Decimal(price),
        "line_amount": Decimal(price) * qty,
        "currency": "GBP",
        "invoice_ts": datetime(day.year, day.month, day.day, 8, 26),
        "order_date": day,
        "customer_id": "17850",
        "is_guest": False,
        "country": "United Kingdom",
        "line_type": line_type,
        "landing_date": day,
        "source_file_name": f"{day:%Y/%m/%d}/a.csv",
    }
    values.update(overrides)
    return tuple(values[column] for column in SILVER_COLUMNS)


def silver_frame(spark, *lines):
    return spark.createDataFrame(list(lines), SILVER_DDL)


def integrity_outcomes(frame, days):
    """Silver's line integrity of the frame's days, its per-day counts computed over the frame itself."""
    return silver_integrity_outcomes(frame, days, day_counts(frame, "landing_date", line_integrity_counts()))


def gold_row(day=DAY, gross="100.00", returns="10.00", orders=2, units=12, **overrides):
    values = {
        "order_date": day,
        "day_status": "complete",
        "gross_revenue": Decimal(gross),
        "returns_amount": Decimal(returns),
        "net_revenue": Decimal(gross) - Decimal(returns),
        "order_count": orders,
        "units_sold": units,
        "avg_order_value": Decimal(gross) / orders if orders else None,
        "active_customers": 1,
        "new_customers": 1,
        "returning_customers": 0,
    }
    values.update(overrides)
    return Row(**values)


# --- schema ----------------------------------------------------------------------------------


class _SilverWithAnotherColumn(SilverOrdersCleaned):
    """The silver contract with one more column: another version of it."""

    extra: T.StringType() = pa.Field(nullable=True)


def test_schema_check_passes_conforming_rows_and_names_its_model_version(spark):
    outcomes = schema_outcomes(SilverOrdersCleaned, silver_frame(spark, silver_line()), "landing_date", [DAY])
    assert outcomes[DAY].passed
    version = outcomes[DAY].observed["schema_version"]
    assert len(version) == 12 and set(version) <= set("0123456789abcdef"), "a short hexadecimal fingerprint"
    again = schema_outcomes(SilverOrdersCleaned, silver_frame(spark, silver_line()), "landing_date", [DAY])
    assert again[DAY].observed["schema_version"] == version, "the same contract, the same version"
    assert schema_version(_SilverWithAnotherColumn) != version, "another contract, another version"


def test_schema_check_fails_only_the_day_whose_rows_break_the_model(spark):
    frame = silver_frame(spark, silver_line(), silver_line(line_id="b" * 64, day=OTHER_DAY, line_type="gift"))
    outcomes = schema_outcomes(SilverOrdersCleaned, frame, "landing_date", [DAY, OTHER_DAY])
    assert outcomes[DAY].passed
    assert not outcomes[OTHER_DAY].passed and "line_type: isin" in outcomes[OTHER_DAY].summary


def test_compiled_constraints_agree_with_panderas_own_data_validation(spark):
    broken = [
        silver_line(line_id="short", currency="EUR"),
        silver_line(line_id="b" * 64, customer_id="17850.0", line_type="gift"),
        silver_line(line_id="c" * 64, invoice=None),
    ]
    frame = silver_frame(spark, silver_line(), *broken)
    pandera_failed = {
        (error["column"], error["check"].split("(")[0])
        for by_kind in dict(SilverOrdersCleaned.validate(frame).pandera.errors).values()
        for errors in by_kind.values()
        for error in errors
    }
    outcome = schema_outcomes(SilverOrdersCleaned, frame, "landing_date", [DAY])[DAY]
    compiled_failed = {(error["column"], error["check"]) for error in outcome.observed["errors"]}
    assert (
        compiled_failed
        == pandera_failed
        == {
            ("line_id", "str_length"),
            ("currency", "isin"),
            ("customer_id", "str_matches"),
            ("line_type", "isin"),
            ("invoice_no", "not_nullable"),
        }
    )
    assert len(outcome.failing_sample) == 3


def test_schema_check_fails_every_day_when_a_column_is_missing_or_mistyped(spark):
    gold = spark.createDataFrame([gold_row()], GOLD_DDL)
    for broken in (gold.drop("units_sold"), gold.withColumn("order_count", gold["order_count"].cast("string"))):
        outcomes = schema_outcomes(GoldSalesMetrics, broken, "order_date", [DAY, OTHER_DAY])
        assert not outcomes[DAY].passed and not outcomes[OTHER_DAY].passed


def test_schema_check_fails_negative_gold_revenue(spark):
    gold = spark.createDataFrame([gold_row(gross="-1.00")], GOLD_DDL)
    assert not schema_outcomes(GoldSalesMetrics, gold, "order_date", [DAY])[DAY].passed


def test_schema_check_fails_an_unknown_day_status(spark):
    gold = spark.createDataFrame([gold_row(day_status="probably fine")], GOLD_DDL)
    assert not schema_outcomes(GoldSalesMetrics, gold, "order_date", [DAY])[DAY].passed


# --- bronze ----------------------------------------------------------------------------------


def test_header_check_fails_the_day_of_a_file_without_source_columns():
    files = {DAY: ["/l/2011/01/04/a.csv", "/l/2011/01/04/b.csv"], OTHER_DAY: ["/l/2011/01/05/c.csv"]}
    outcomes = header_outcomes([DAY, OTHER_DAY], files, {"/l/2011/01/04/b.csv": "the header lacks column(s) Country"})
    assert not outcomes[DAY].passed and outcomes[DAY].failing_sample[0]["file"] == "b.csv"
    assert "lacks column(s) Country" in outcomes[DAY].summary
    assert outcomes[OTHER_DAY].passed


def test_conservation_check_passes_when_every_row_is_accounted_for_and_fails_otherwise():
    counts = {DAY: {"in": 10, "kept": 7, "rejected": 3}, OTHER_DAY: {"in": 10, "kept": 7, "rejected": 2}}
    outcomes = conservation_outcomes([DAY, OTHER_DAY], counts, "in", ("kept", "rejected"))
    assert outcomes[DAY].passed and outcomes[DAY].summary == "in 10 = kept 7 + rejected 3"
    assert not outcomes[OTHER_DAY].passed and outcomes[OTHER_DAY].expected == {"in": 9}


# --- silver ----------------------------------------------------------------------------------


def test_line_integrity_passes_on_clean_lines_with_every_facet_counted_at_zero(spark):
    frame = silver_frame(spark, silver_line(), silver_line(line_id="b" * 64, qty=-1, line_type="return"))
    outcome = integrity_outcomes(frame, [DAY])[DAY]
    assert outcome.passed and outcome.failing_sample == ()
    assert outcome.observed == {
        "rows": 2,
        "null_key_rows": 0,
        "repeated_line_ids": 0,
        "sale_lines": 1,
        "non_positive_sale_lines": 0,
        "non_positive_sale_orders": 0,
    }
    assert set(outcome.expected) == {k for k in outcome.observed if k not in ("rows", "sale_lines")}


def test_a_null_key_fails_line_integrity_with_a_sample_of_the_rows(spark):
    frame = silver_frame(spark, silver_line(), silver_line(line_id="b" * 64, invoice=None))
    outcome = integrity_outcomes(frame, [DAY])[DAY]
    assert not outcome.passed and outcome.observed["null_key_rows"] == 1
    assert outcome.summary == "1 row(s) with a null invoice_no, stock_code, line_id, order_date"
    assert outcome.failing_sample[0]["line_id"] == "b" * 64


def test_a_repeated_line_id_fails_line_integrity(spark):
    frame = silver_frame(spark, silver_line(), silver_line(qty=7))
    outcome = integrity_outcomes(frame, [DAY])[DAY]
    assert not outcome.passed and outcome.failing_sample[0] == {
        "line_id": "a" * 64,
        "copies": 2,
        "landing_date": "2011-01-04",
    }


@pytest.mark.parametrize(
    "bad_line",
    [silver_line(line_id="b" * 64, qty=0), silver_line(line_id="b" * 64, price="0.00")],
    ids=["zero_quantity", "zero_price"],
)
def test_a_sale_line_without_positive_quantity_and_price_fails_line_integrity(spark, bad_line):
    outcome = integrity_outcomes(silver_frame(spark, silver_line(), bad_line), [DAY])[DAY]
    assert not outcome.passed and outcome.observed["non_positive_sale_lines"] == 1


def test_a_sale_order_totalling_zero_fails_line_integrity(spark):
    zero_total = silver_line(line_id="b" * 64, invoice="536400", line_amount=Decimal("0.000"))
    outcome = integrity_outcomes(silver_frame(spark, silver_line(), zero_total), [DAY])[DAY]
    assert not outcome.passed and outcome.observed["non_positive_sale_orders"] == 1
    assert outcome.failing_sample[0]["invoice_no"] == "536400"


def test_a_repeated_line_id_counts_once_on_its_first_day_and_a_bad_order_once_whatever_its_lines(spark):
    frame = silver_frame(
        spark,
        silver_line(day=OTHER_DAY),
        silver_line(day=DAY, qty=7),
        silver_line(day=OTHER_DAY, qty=8),  # three copies of one line_id over two days
        silver_line(line_id="c" * 64, invoice="536400", line_amount=Decimal("5.000"), day=OTHER_DAY),
        silver_line(line_id="d" * 64, invoice="536400", line_amount=Decimal("-5.000"), day=OTHER_DAY),
        silver_line(line_id="e" * 64, invoice="536400", line_type="return", qty=-1, day=OTHER_DAY),
    )
    outcomes = integrity_outcomes(frame, [DAY, OTHER_DAY])

    assert outcomes[DAY].observed["repeated_line_ids"] == 1
    assert outcomes[OTHER_DAY].observed["repeated_line_ids"] == 0
    assert outcomes[OTHER_DAY].observed["non_positive_sale_orders"] == 1  # two sale lines, one order; the return apart
    assert outcomes[DAY].observed["non_positive_sale_orders"] == 0
    assert outcomes[OTHER_DAY].summary == "1 sale order(s) totalling ≤ 0"
    assert outcomes[DAY].summary == "1 line_id value(s) occurring more than once"


def test_line_integrity_names_every_failed_facet_and_samples_the_first(spark):
    frame = silver_frame(
        spark,
        silver_line(),
        silver_line(qty=7),  # the same line_id again
        silver_line(line_id="b" * 64, invoice="536401", stock_code=None),
        silver_line(line_id="c" * 64, qty=0),  # in an order that still totals > 0
    )
    outcome = integrity_outcomes(frame, [DAY])[DAY]
    assert not outcome.passed
    assert outcome.summary == (
        "1 row(s) with a null invoice_no, stock_code, line_id, order_date; "
        "1 line_id value(s) occurring more than once; 1 sale line(s) with quantity or unit price ≤ 0"
    )
    assert [row["line_id"] for row in outcome.failing_sample] == ["b" * 64]


# --- gold ------------------------------------------------------------------------------------


def test_non_negative_passes_negative_net_revenue_but_fails_other_negative_figures():
    rows = [gold_row(gross="5.00", returns="50.00"), gold_row(day=OTHER_DAY, units=-3)]
    outcomes = non_negative_outcomes(rows, [DAY, OTHER_DAY])
    assert outcomes[DAY].passed
    assert not outcomes[OTHER_DAY].passed and outcomes[OTHER_DAY].failing_sample == ({"units_sold": -3},)


def withheld_row(day=DAY, status="missing_delivery", **figures):
    return Row(**{"order_date": day, "day_status": status, **dict.fromkeys(FIGURE_COLUMNS), **figures})


def test_a_complete_day_must_show_every_figure_and_a_withheld_day_none():
    rows = [
        gold_row(units=None),
        withheld_row(OTHER_DAY),
        withheld_row(THIRD_DAY, gross_revenue=Decimal("0.00")),
    ]
    outcomes = non_negative_outcomes(rows, [DAY, OTHER_DAY, THIRD_DAY])

    assert not outcomes[DAY].passed and "missing figure(s): units_sold" in outcomes[DAY].summary
    assert outcomes[OTHER_DAY].passed and outcomes[OTHER_DAY].summary == "no figures shown: the day is missing_delivery"
    assert (
        not outcomes[THIRD_DAY].passed
        and "figures shown on a day that is missing_delivery" in outcomes[THIRD_DAY].summary
    )


def test_a_withheld_day_has_nothing_to_reconcile():
    outcome = reconciliation_outcomes([withheld_row()], [], [DAY])[DAY]
    assert outcome.passed and "withholds" in outcome.summary


def test_reconciliation_passes_when_gold_equals_silver_sums_and_fails_on_any_difference(spark):
    lines = silver_frame(
        spark,
        silver_line(qty=4, price="2.50"),
        silver_line(line_id="b" * 64, invoice="536366", qty=8, price="10.00"),
        silver_line(line_id="c" * 64, qty=-2, price="2.50", line_type="return"),
    )
    totals = silver_sale_totals(lines).collect()
    assert reconciliation_outcomes([gold_row(gross="90.00", orders=2, units=12)], totals, [DAY])[DAY].passed
    wrong = reconciliation_outcomes([gold_row(gross="90.01", orders=2, units=12)], totals, [DAY])[DAY]
    assert not wrong.passed and "gross_revenue (90.01 vs 90.00)" in wrong.summary


def test_reconciliation_of_a_day_without_sales_expects_zeros():
    assert reconciliation_outcomes([gold_row(gross="0.00", orders=0, units=0)], [], [DAY])[DAY].passed
    assert not reconciliation_outcomes([], [], [DAY])[DAY].passed


# --- anomalies -------------------------------------------------------------------------------


def history(values: list[float], last_day: date = DAY) -> dict[date, float]:
    return {last_day - timedelta(days=len(values) - i): v for i, v in enumerate(values)}


def test_an_ordinary_day_passes_and_a_spike_is_flagged_with_its_expected_range():
    rule = AnomalyRule()
    values = history([100, 104, 96, 101, 99, 103, 97, 100, 102, 98, 100, 95])
    values[DAY] = 103
    assert rule.judge("gross_revenue", DAY, values).passed
    values[DAY] = 400
    spike = rule.judge("gross_revenue", DAY, values)
    assert not spike.passed
    assert spike.observed["value"] == 400 and spike.expected["median"] == 100
    assert spike.expected["low"] < 100 < spike.expected["high"] < 400
    assert "median" in spike.observed["rule"] and "400" in spike.summary


def test_a_flat_history_uses_the_floor_instead_of_flagging_every_wobble():
    values = history([0.0] * 20)
    values[DAY] = 0.005
    assert AnomalyRule(absolute_floor=0.01).judge("rejected_share", DAY, values).passed
    values[DAY] = 0.2
    assert not AnomalyRule(absolute_floor=0.01).judge("rejected_share", DAY, values).passed


def test_days_without_enough_history_or_without_trading_are_not_judged():
    values = history([100, 100, 100])
    values[DAY] = 1000
    short = AnomalyRule(min_history=10).judge("gross_revenue", DAY, values)
    assert short.passed and "not judged" in short.summary
    closed = AnomalyRule().judge("gross_revenue", OTHER_DAY, history([100] * 20))
    assert closed.passed and "no trading" in closed.summary


def test_only_the_trailing_window_counts():
    values = history([1000.0] * 20, last_day=DAY - timedelta(days=40))
    values.update(history([100.0] * 12))
    values[DAY] = 100.0
    assert AnomalyRule(window_days=28).judge("gross_revenue", DAY, values).passed


def test_one_combined_anomaly_verdict_fails_when_any_metric_is_flagged_and_keeps_each_metrics_facets():
    rule = AnomalyRule()
    revenue = history([100, 104, 96, 101, 99, 103, 97, 100, 102, 98, 100, 95])
    orders = dict(revenue)
    revenue[DAY], orders[DAY] = 400, 101
    judgments = {
        "gross_revenue": rule.judge("gross_revenue", DAY, revenue),
        "order_count": rule.judge("order_count", DAY, orders),
        "returns_share": rule.judge("returns_share", DAY, {DAY: 0.1}),
    }

    combined = combined_outcome(judgments)

    assert not combined.passed
    assert combined.summary.startswith(judgments["gross_revenue"].summary)
    assert "1 of 3 metric(s) within their expected range" in combined.summary
    assert "not judged: returns_share" in combined.summary
    assert combined.observed["metrics_flagged"] == 1
    assert combined.observed["gross_revenue"]["value"] == 400 and not combined.observed["gross_revenue"]["passed"]
    assert combined.observed["order_count"]["passed"]
    assert combined.expected["gross_revenue"] == judgments["gross_revenue"].expected
    assert "returns_share" not in combined.expected, "an unjudged metric has no band"
    assert combined_outcome({"order_count": judgments["order_count"]}).passed
