"""The pure PySpark transforms on tiny hand-built DataFrames."""

import contextlib
import hashlib
import io
import json
import random
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from pyspark.sql import Row

from ecom_assets.platform.columns import line_outcome
from ecom_assets.platform.landing_scan import LATIN1
from ecom_assets.platform.table_checks import day_counts, schema_counts
from ecom_assets.sales.checks import line_integrity_counts, silver_outcome_counts
from ecom_assets.sales.schemas import SilverOrdersCleaned
from ecom_assets.sales.transforms.bronze import (
    BRONZE_SCHEMA,
    file_error_entries,
    file_errors,
    read_landing_csv,
    rejected_file_lines,
    to_bronze,
)
from ecom_assets.sales.transforms.gold import (
    DELIVERIES_SCHEMA,
    FIGURE_COLUMNS,
    daily_sales_metrics,
    first_sale_dates,
    restate_new_customers,
    sale_customers,
    with_day_status,
)
from ecom_assets.sales.transforms.landing_files import SOURCE_COLUMNS, header_problem, profile_landing_file
from ecom_assets.sales.transforms.silver import parse_order_lines, rejected_line_errors, silver_lines
from resources.untrusted import LandingLimits

HEADER = ",".join(SOURCE_COLUMNS)
DAY = date(2011, 1, 4)


def day_folder_of(landing_root):
    """The (created) landing folder of DAY under a landing root."""
    folder = landing_root / "raw/ecommerce_sales/2011/01/04"
    folder.mkdir(parents=True)
    return folder


def malformed_file(landing_root) -> str:
    """A landing file with one line that does not split into the source columns."""
    path = day_folder_of(landing_root) / "bad.csv"
    path.write_text(HEADER + "\n536365,85123A,too few fields\n")
    return str(path)


def bronze_rows(spark, *lines: tuple, landing_date: date = DAY, file: str = "2011/01/04/a.csv"):
    """Bronze rows from source tuples in SOURCE_COLUMNS order, landed on `landing_date` in `file`."""
    rows = [(*line, None, DAY, file, landing_date, landing_date.year, landing_date.month) for line in lines]
    return spark.createDataFrame(rows, BRONZE_SCHEMA)


def line(
    invoice="536365",
    stock="85123A",
    qty="6",
    price="2.55",
    customer="17850.0",
    ts="2011-01-04 08:26:00",
    description="WHITE HANGING HEART T-LIGHT HOLDER",
    country="United Kingdom",
):
    return (invoice, stock, description, qty, ts, price, customer, country)


def parsed_one(spark, source_line: tuple) -> Row:
    return parse_order_lines(bronze_rows(spark, source_line)).collect()[0]


# --- bronze ----------------------------------------------------------------------------------


def test_bronze_keeps_rows_one_to_one_as_strings_with_lineage(spark, tmp_path):
    folder = day_folder_of(tmp_path)
    (folder / "orders.csv").write_text(
        HEADER + "\n"
        '536381,82567,"AIRLINE LOUNGE,METAL SIGN",2,2011-01-04 09:41:00,2.1,15311.0,United Kingdom\n'
        "536382,10002,INFLATABLE GLOBE,12,2011-01-04 09:45:00,0.85,,United Kingdom\n"
    )
    bronze = to_bronze(read_landing_csv(spark, [str(folder / "orders.csv")]), ingestion_date=date(2026, 1, 1))
    rows = bronze.orderBy("InvoiceNo").collect()
    assert len(rows) == 2
    assert rows[0]["Description"] == "AIRLINE LOUNGE,METAL SIGN"
    assert rows[0]["Quantity"] == "2" and rows[0]["CustomerID"] == "15311.0"
    assert rows[1]["CustomerID"] is None
    assert {r["source_file_name"] for r in rows} == {"2011/01/04/orders.csv"}
    assert {(r["partition_date"], r["year"], r["month"]) for r in rows} == {(DAY, 2011, 1)}
    assert [(f.name, f.dataType) for f in bronze.schema] == [(f.name, f.dataType) for f in BRONZE_SCHEMA]


def test_bronze_marks_lines_the_csv_parser_cannot_split(spark, tmp_path):
    rows = to_bronze(read_landing_csv(spark, [malformed_file(tmp_path)]), DAY).collect()
    assert rows[0]["corrupt_record"] == "536365,85123A,too few fields"


def test_no_files_give_an_empty_bronze_frame(spark):
    assert to_bronze(read_landing_csv(spark, []), DAY).count() == 0


# --- silver ----------------------------------------------------------------------------------


def test_silver_types_and_normalizes_a_sale(spark):
    row = parsed_one(spark, line())
    assert row["rejection_reason"] is None
    assert row["invoice_no"] == "536365" and row["stock_code"] == "85123A"
    assert row["quantity"] == 6 and row["unit_price"] == Decimal("2.550")
    assert row["line_amount"] == Decimal("15.300")
    assert row["invoice_ts"] == datetime(2011, 1, 4, 8, 26) and row["order_date"] == DAY
    assert row["customer_id"] == "17850" and row["is_guest"] is False
    assert row["currency"] == "GBP" and row["line_type"] == "sale"
    assert row["landing_date"] == DAY and row["source_file_name"] == "2011/01/04/a.csv"


@pytest.mark.parametrize(
    ("source_line", "line_type"),
    [
        (line(invoice="C536379", qty="-1"), "return"),
        (line(invoice="A563185", stock="B", qty="1", price="-11062.06"), "adjustment"),
        (line(stock="POST", price="18"), "fee"),
        (line(stock="m", price="2.55"), "fee"),
        (line(stock="BANK CHARGES", price="15"), "fee"),
        (line(stock="AMAZONFEE", price="5575.28"), "fee"),
        (line(qty="6", price="0"), "other"),
        (line(qty="-12", price="0", customer=""), "other"),
        (line(qty="6", price="2.55"), "sale"),
    ],
)
def test_silver_classifies_each_line_type(spark, source_line, line_type):
    assert parsed_one(spark, source_line)["line_type"] == line_type


def test_return_takes_precedence_over_fee(spark):
    assert parsed_one(spark, line(invoice="C536379", stock="POST", qty="-1"))["line_type"] == "return"


def test_missing_customer_is_a_guest(spark):
    row = parsed_one(spark, line(customer=""))
    assert row["customer_id"] is None and row["is_guest"] is True


@pytest.mark.parametrize(
    ("source_line", "reason"),
    [
        (line(qty="six"), "unparseable_quantity"),
        (line(qty="2.5"), "unparseable_quantity"),
        (line(price="£2"), "unparseable_unit_price"),
        (line(ts="2011-02-30 10:00:00"), "unparseable_invoice_date"),
        (line(ts="yesterday"), "unparseable_invoice_date"),
        (line(invoice=""), "missing_invoice_no"),
        (line(stock=" "), "missing_stock_code"),
        (line(qty="2000000"), "absurd_quantity"),
        (line(price="-250000"), "absurd_unit_price"),
        (line(ts="2011-01-05 09:00:00"), "invoice_date_outside_partition"),
        (line(price="2.5555"), "unit_price_too_precise"),
        (line(price="0.00049"), "unit_price_too_precise"),
        (line(price="1.5E-4"), "unit_price_too_precise"),
    ],
)
def test_unparseable_rows_are_rejected_with_their_reason(spark, source_line, reason):
    parsed = parse_order_lines(bronze_rows(spark, source_line, line()))
    errors = rejected_line_errors(parsed, "silver", "step", datetime(2026, 1, 1)).collect()
    assert [(e["error_type"], e["partition_date"], e["source_file_name"]) for e in errors] == [
        (reason, DAY, "2011/01/04/a.csv")
    ]
    assert json.loads(errors[0]["record"]) == dict(zip(SOURCE_COLUMNS, source_line, strict=True))
    assert errors[0]["error_message"] and len(errors[0]["error_id"]) == 64
    assert sorted(parsed.select("rejection_reason").collect(), key=str) == sorted(
        [Row(rejection_reason=reason), Row(rejection_reason=None)], key=str
    )
    assert silver_lines(parsed).count() == 1


def test_rejection_messages_quote_the_offending_value(spark):
    parsed = parse_order_lines(bronze_rows(spark, line(qty="six"), line(price="£2"), line(ts="2011-02-30 10:00:00")))
    messages = sorted(
        r["error_message"] for r in rejected_line_errors(parsed, "a", "s", datetime(2026, 1, 1)).collect()
    )
    assert messages == [
        "InvoiceDate '2011-02-30 10:00:00' is not a valid date and time (yyyy-MM-dd HH:mm:ss)",
        "Quantity 'six' is not a whole number",
        "UnitPrice '£2' is not a decimal number",
    ]


def test_a_malformed_line_is_recorded_raw(spark, tmp_path):
    bronze = to_bronze(read_landing_csv(spark, [malformed_file(tmp_path)]), DAY)
    error = rejected_line_errors(parse_order_lines(bronze), "a", "s", datetime(2026, 1, 1)).first()
    assert error["error_type"] == "malformed_csv_line" and error["record"] == "536365,85123A,too few fields"


def test_the_original_us_date_format_also_parses(spark):
    assert parsed_one(spark, line(ts="1/4/2011 8:26"))["invoice_ts"] == datetime(2011, 1, 4, 8, 26)


def test_line_id_is_deterministic_and_separates_different_lines(spark):
    parsed = parse_order_lines(bronze_rows(spark, line(), line(), line(qty="7")))
    ids = {r["quantity"]: r["line_id"] for r in parsed.collect()}
    assert parsed.select("line_id").distinct().count() == 2 and ids[6] != ids[7]
    assert ids[6] == parse_order_lines(bronze_rows(spark, line())).first()["line_id"]


def test_a_price_is_kept_exactly_or_rejected_never_rounded(spark):
    kept = parsed_one(spark, line(price="2.5500000"))
    assert kept["rejection_reason"] is None and kept["unit_price"] == Decimal("2.550")

    parsed = parse_order_lines(bronze_rows(spark, line(price="2.5555")))
    error = rejected_line_errors(parsed, "a", "s", datetime(2026, 1, 1)).first()

    assert error["error_message"] == "UnitPrice '2.5555' has more than the 3 decimals silver keeps: it would be rounded"
    assert silver_lines(parsed).count() == 0


def test_a_re_export_writing_the_same_values_differently_is_the_same_line(spark):
    original = line(price="2.55", customer="17850")
    re_exported = line(price="2.550", customer="17850.0", ts="2011-01-04 08:26")
    spaced = line(price=" 2.55 ", customer=" 17850 ", qty=" 6 ")

    ids = {r["line_id"] for r in parse_order_lines(bronze_rows(spark, original, re_exported, spaced)).collect()}

    assert len(ids) == 1
    assert ids != {parsed_one(spark, line(price="2.56", customer="17850"))["line_id"]}


def test_exact_duplicates_are_removed_keeping_the_first_delivery(spark):
    first = bronze_rows(spark, line(), line(), line(qty="7"), landing_date=date(2011, 1, 4), file="2011/01/04/a.csv")
    again = bronze_rows(spark, line(), file="2011/01/04/b.csv")
    parsed = parse_order_lines(again.unionByName(first))
    unique = silver_lines(parsed).collect()
    assert len(unique) == 2
    assert {r["source_file_name"] for r in unique if r["quantity"] == 6} == {"2011/01/04/a.csv"}
    outcomes = sorted(r["outcome"] for r in parsed.select(line_outcome().alias("outcome")).collect())
    assert outcomes == ["duplicate", "duplicate", "kept", "kept"]


def test_a_line_in_another_days_folder_is_rejected_even_when_it_repeats_a_kept_line(spark):
    on_its_day = bronze_rows(spark, line())
    in_next_days_folder = bronze_rows(spark, line(), landing_date=date(2011, 1, 5), file="2011/01/05/b.csv")
    for parsed in (
        parse_order_lines(on_its_day.unionByName(in_next_days_folder)),
        parse_order_lines(in_next_days_folder),
    ):
        wrong_day = parsed.where("landing_date = DATE'2011-01-05'").first()
        assert wrong_day["rejection_reason"] == "invoice_date_outside_partition"
        assert (
            "'2011-01-04 08:26:00' is not on the day of its file's folder (2011-01-05)"
            in wrong_day["rejection_message"]
        )


def test_a_line_rejected_in_an_earlier_days_folder_does_not_displace_its_delivery_on_its_own_day(spark):
    in_previous_days_folder = bronze_rows(spark, line(), landing_date=date(2011, 1, 3), file="2011/01/03/b.csv")
    on_its_day = bronze_rows(spark, line())
    together = parse_order_lines(in_previous_days_folder.unionByName(on_its_day))
    alone = parse_order_lines(on_its_day)

    kept = silver_lines(together).collect()
    assert [r["landing_date"] for r in kept] == [DAY]
    assert kept == silver_lines(alone).collect()
    outcomes = sorted(r["outcome"] for r in together.select(line_outcome().alias("outcome")).collect())
    assert outcomes == ["invoice_date_outside_partition", "kept"]


def test_every_row_has_exactly_one_outcome(spark):
    parsed = parse_order_lines(bronze_rows(spark, line(), line(), line(qty="x"), line(qty="x"), line(qty="7")))
    outcomes = sorted(r["outcome"] for r in parsed.select(line_outcome().alias("outcome")).collect())
    assert outcomes == ["duplicate", "kept", "kept", "unparseable_quantity", "unparseable_quantity"]


def test_silvers_check_counts_from_its_outcome_job_are_those_of_its_kept_rows_alone(spark):
    next_day = DAY + timedelta(days=1)
    rows = bronze_rows(
        spark, line(), line(), line(invoice=""), line(qty="x"), line(invoice="C536379", qty="-1"), line(stock="POST")
    ).unionByName(bronze_rows(spark, line(ts="2011-01-05 09:00:00"), landing_date=next_day, file="2011/01/05/a.csv"))
    parsed = parse_order_lines(rows)

    outcomes, counts = silver_outcome_counts(parsed)

    on_their_own = day_counts(
        silver_lines(parsed), "landing_date", {**schema_counts(SilverOrdersCleaned), **line_integrity_counts()}
    )
    assert {day: dict(day_figures) for day, day_figures in counts.items()} == on_their_own
    assert (counts[DAY]["rows"], counts[DAY]["sale_lines"], counts[next_day]["rows"]) == (3, 1, 1)
    assert sum(row["rows"] for row in outcomes) == 7, "every parsed row is in the outcome counts"


# --- gold ------------------------------------------------------------------------------------


def silver(spark, *lines: tuple):
    """Silver-like lines: (order_date, invoice_no, customer_id, quantity, line_amount, line_type)."""
    return spark.createDataFrame(
        [(d, inv, cust, qty, Decimal(amount), kind) for d, inv, cust, qty, amount, kind in lines],
        "order_date date, invoice_no string, customer_id string, quantity int, "
        "line_amount decimal(18,3), line_type string",
    )


D1, D2, D3 = date(2011, 1, 4), date(2011, 1, 5), date(2011, 1, 6)


def metrics_by_day(lines, days):
    first = first_sale_dates(sale_customers(lines))
    return {row["order_date"]: row.asDict() for row in daily_sales_metrics(lines, first, days).collect()}


def test_gold_metrics_follow_the_definitions(spark):
    lines = silver(
        spark,
        (D1, "1", "A", 2, "10.005", "sale"),
        (D1, "1", "A", 1, "5.000", "sale"),
        (D1, "2", None, 3, "3.000", "sale"),
        (D1, "C3", "A", -1, "-5.000", "return"),
        (D1, "4", "B", 1, "18.000", "fee"),
        (D1, "5", "B", 6, "0.000", "other"),
        (D2, "6", "A", 1, "1.000", "sale"),
        (D2, "7", "C", 4, "8.000", "sale"),
    )
    day1, day2 = (metrics_by_day(lines, [D1, D2])[d] for d in (D1, D2))
    assert day1 == {
        "order_date": D1,
        "gross_revenue": Decimal("18.01"),
        "returns_amount": Decimal("5.00"),
        "net_revenue": Decimal("13.01"),
        "order_count": 2,
        "units_sold": 6,
        "avg_order_value": Decimal("9.00"),
        "active_customers": 1,
        "new_customers": 1,
        "returning_customers": 0,
    }
    assert (day2["active_customers"], day2["new_customers"], day2["returning_customers"]) == (2, 1, 1)
    assert day2["avg_order_value"] == Decimal("4.50")


def test_a_day_without_sales_has_zeros_and_no_average(spark):
    lines = silver(spark, (D1, "1", "A", 2, "10.000", "sale"))
    day3 = metrics_by_day(lines, [D1, D3])[D3]
    assert day3["gross_revenue"] == Decimal("0.00") and day3["order_count"] == 0
    assert day3["avg_order_value"] is None and day3["active_customers"] == 0


def test_new_customers_are_judged_against_all_history_not_the_run(spark):
    history = silver(
        spark,
        (D1, "1", "A", 1, "1.000", "sale"),
        (D3, "2", "A", 1, "1.000", "sale"),
        (D3, "3", "B", 1, "1.000", "sale"),
    )
    first = first_sale_dates(sale_customers(history))
    only_d3 = history.where(f"order_date = '{D3}'")
    row = daily_sales_metrics(only_d3, first, [D3]).first()
    assert (row["active_customers"], row["new_customers"], row["returning_customers"]) == (2, 1, 1)


def deliveries(spark, statuses: dict):
    return spark.createDataFrame(list(statuses.items()), DELIVERIES_SCHEMA)


def test_a_day_shows_figures_only_when_its_file_arrived_or_the_shop_was_closed(spark):
    days = [date(2011, 1, 3) + timedelta(days=offset) for offset in range(6)]
    lines = silver(spark, *((day, f"{n}", "A", 1, "2.000", "sale") for n, day in enumerate(days)))
    statuses = dict(zip(days, ["delivered", "closed", "missing", "awaited", "unreadable"], strict=False))

    rows = {
        row["order_date"]: row
        for row in with_day_status(
            daily_sales_metrics(lines, first_sale_dates(sale_customers(lines)), days), deliveries(spark, statuses)
        ).collect()
    }

    assert [rows[day]["day_status"] for day in days] == [
        "complete",
        "closed",
        "missing_delivery",
        "awaiting_delivery",
        "unreadable_delivery",
        "not_loaded",
    ]
    assert rows[days[0]]["gross_revenue"] == rows[days[1]]["gross_revenue"] == Decimal("2.00")
    for day in days[2:]:
        assert all(rows[day][name] is None for name in FIGURE_COLUMNS), f"{day} shows no figure"


def test_restating_later_days_moves_customers_from_new_to_returning(spark):
    later = silver(spark, (D3, "2", "A", 1, "1.000", "sale"), (D3, "3", "B", 1, "1.000", "sale"))
    stored = with_day_status(
        daily_sales_metrics(later, first_sale_dates(sale_customers(later)), [D3]), deliveries(spark, {D3: "delivered"})
    )
    assert stored.first()["new_customers"] == 2
    backfilled = later.unionByName(silver(spark, (D1, "1", "A", 1, "1.000", "sale")))

    row = restate_new_customers(stored, first_sale_dates(sale_customers(backfilled))).first()

    assert (row["active_customers"], row["new_customers"], row["returning_customers"]) == (2, 1, 1)
    assert row["gross_revenue"] == stored.first()["gross_revenue"] and row["day_status"] == "complete"


def test_restating_leaves_the_counts_of_a_day_without_its_delivery_null(spark):
    later = silver(spark, (D3, "2", "A", 1, "1.000", "sale"))
    first_sales = first_sale_dates(sale_customers(later))
    stored = with_day_status(daily_sales_metrics(later, first_sales, [D3]), deliveries(spark, {D3: "missing"}))

    row = restate_new_customers(stored, first_sales).first()

    assert row["day_status"] == "missing_delivery"
    assert (row["active_customers"], row["new_customers"], row["returning_customers"]) == (None, None, None)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (SOURCE_COLUMNS, None),
        (tuple(reversed(SOURCE_COLUMNS)), None),
        ((*SOURCE_COLUMNS, "Discount"), None),
        (("\ufeffInvoiceNo", *SOURCE_COLUMNS[1:]), None),
        ((" InvoiceNo ", *SOURCE_COLUMNS[1:]), None),
        (SOURCE_COLUMNS[:-1], "the header lacks column(s) Country"),
        ((), "the file is empty"),
        ((*SOURCE_COLUMNS, "Country"), "the header repeats column(s) Country"),
    ],
)
def test_header_problem_accepts_any_order_and_names_what_is_missing(header, problem):
    found = header_problem(header)
    assert found == problem or (problem and found.startswith(problem))


def test_reordered_columns_are_read_by_name(spark, tmp_path):
    folder = day_folder_of(tmp_path)
    header = ["Country", "Extra", *reversed(SOURCE_COLUMNS[:-1])]
    (folder / "reordered.csv").write_text(
        ",".join(header) + "\nUnited Kingdom,x,17850.0,2.55,2011-01-04 08:26:00,6,WHITE HEART,85123A,536365\n"
    )
    row = read_landing_csv(spark, [str(folder / "reordered.csv")], header).first()
    assert (row["InvoiceNo"], row["StockCode"], row["Quantity"], row["Country"]) == (
        "536365",
        "85123A",
        "6",
        "United Kingdom",
    )


def test_every_line_of_an_unreadable_file_becomes_an_error_row(spark, tmp_path):
    folder = day_folder_of(tmp_path)
    no_country = (",".join(SOURCE_COLUMNS[:-1]) + "\nline one\n\nline two\n").encode()
    (folder / "no_country.csv").write_bytes(no_country)
    (folder / "empty.csv").write_bytes(b"")
    profiles = {name: profile_landing_file((folder / name).read_bytes()) for name in ("no_country.csv", "empty.csv")}
    entries = [entry for name, profile in profiles.items() for entry in file_error_entries(str(folder / name), profile)]
    path = str(folder / "no_country.csv")
    lines = rejected_file_lines(spark, [(path, path, profiles["no_country.csv"].problem, "UTF-8")])
    errors = file_errors(spark, entries, "bronze", "step", datetime(2026, 1, 1), lines).collect()
    assert sorted((e["error_type"], e["record"], e["source_file_name"]) for e in errors) == [
        ("empty_file", "", "2011/01/04/empty.csv"),
        ("unreadable_file", "line one", "2011/01/04/no_country.csv"),
        ("unreadable_file", "line two", "2011/01/04/no_country.csv"),
    ]
    assert {e["partition_date"] for e in errors} == {DAY} and len({e["error_id"] for e in errors}) == 3
    assert all("lacks column(s) Country" in e["error_message"] for e in errors if e["error_type"] != "empty_file")
    assert profiles["no_country.csv"].data_lines == 2


def test_rejected_lines_are_numbered_as_in_their_files_when_spark_reads_each_file_in_many_splits(spark, tmp_path):
    """Line numbers come from where Spark reads each line (no window over a file's lines), however it splits it."""
    folder = day_folder_of(tmp_path)
    files = {}
    for name, count in (("long.csv", 3000), ("short.csv", 3)):
        lines = ["Invoice,Price", *(f"{name}-{number:05d}" if number % 7 else "" for number in range(2, count + 2))]
        (folder / name).write_text("\n".join(lines) + "\n")
        files[name] = {number: line for number, line in enumerate(lines, start=1) if number > 1 and line}
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "4096")  # the long file is read in about ten splits
    try:
        paths = [(str(folder / name), str(folder / name), "wrong header", "UTF-8") for name in files]
        rows = rejected_file_lines(spark, paths).collect()
        splits = spark.read.text(str(folder / "long.csv")).rdd.getNumPartitions()
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)
    assert splits > 5
    numbered = {name: {} for name in files}
    for row in rows:
        numbered[row["source_path"].rsplit("/", 1)[-1]][row["line_number"]] = row["record"]
    assert numbered == files


def test_a_rejected_latin1_file_keeps_its_lines_in_the_error_table_decoded_as_latin1(spark, tmp_path):
    folder = day_folder_of(tmp_path)
    content = "InvoiceNo,Description\r\n536365,CR\xc8ME BR\xdbL\xc9E \xa3\r\n".encode("latin-1")
    (folder / "latin1.csv").write_bytes(content)
    profile = profile_landing_file(content)
    path = str(folder / "latin1.csv")
    rows = rejected_file_lines(spark, [(path, path, profile.problem, profile.encoding)]).collect()
    assert profile.encoding == LATIN1
    assert [(row["line_number"], row["record"]) for row in rows] == [(2, "536365,CRÈME BRÛLÉE £")]


@pytest.mark.parametrize(
    "content, notice",
    [
        (b"\xef\xbb\xbf" + HEADER.encode() + b"\n", "utf8_bom_removed"),
        (HEADER.encode() + b"\r\n1,2,3,4,5,6,7,8\r\n", "crlf_line_endings"),
        (HEADER.encode() + b"\n1,2,CAF\xc9,4,5,6,7,8\n", "decoded_as_latin1"),
        ((HEADER + ",Discount").encode() + b"\n", "extra_columns_dropped"),
        (",".join(reversed(SOURCE_COLUMNS)).encode() + b"\n", "columns_reordered"),
        (HEADER.encode() + b"\n", "header_only_file"),
    ],
)
def test_tolerated_file_quirks_are_named(content, notice):
    profile = profile_landing_file(content)
    assert profile.problem is None
    assert notice in [kind for kind, _ in profile.notices]


def test_latin1_bytes_are_read_with_the_latin1_charset(spark, tmp_path):
    folder = day_folder_of(tmp_path)
    content = (HEADER + "\n536365,85123A,CR\xc8ME BR\xdbL\xc9E \xa3,6,2011-01-04 08:26:00,2.55,,France\n").encode(
        "latin-1"
    )
    (folder / "latin1.csv").write_bytes(content)
    profile = profile_landing_file(content)
    assert profile.encoding == LATIN1 and profile.data_lines == 1
    row = read_landing_csv(spark, [str(folder / "latin1.csv")], profile.header, profile.encoding).first()
    assert row["Description"] == "CRÈME BRÛLÉE £"


def test_a_byte_order_mark_before_latin1_bytes_is_set_aside_and_the_file_read_as_latin1(spark, tmp_path):
    folder = day_folder_of(tmp_path)
    content = b"\xef\xbb\xbf" + (HEADER + "\n536365,85123A,CR\xc8ME \xa3,6,2011-01-04 08:26:00,2.55,,France\n").encode(
        "latin-1"
    )
    (folder / "bom_latin1.csv").write_bytes(content)

    profile = profile_landing_file(content)

    assert (profile.problem, profile.encoding, profile.data_lines) == (None, LATIN1, 1)
    assert profile.header == tuple(SOURCE_COLUMNS)
    notices = dict(profile.notices)
    assert set(notices) == {"utf8_bom_removed", "decoded_as_latin1"}
    first_latin1_byte = content.index(0xC8)
    assert f"byte 0xC8 at offset {first_latin1_byte}" in notices["decoded_as_latin1"], "counted in the file as sent"
    row = read_landing_csv(spark, [str(folder / "bom_latin1.csv")], profile.header, profile.encoding).first()
    assert (row["InvoiceNo"], row["Description"]) == ("536365", "CRÈME £")


def test_line_counts_follow_spark_line_breaks_not_unicode_ones():
    content = (HEADER + "\n1,2,A\x85B,4,5,6,7,8\r\n\n   \n2,2,C,4,5,6,7,8").encode("latin-1")
    assert profile_landing_file(content).data_lines == 2


class _Trickle(io.RawIOBase):
    """A stream that answers every read with at most `step` bytes, as a network stream may."""

    def __init__(self, content: bytes, step: int) -> None:
        self._content, self._step, self._at = content, step, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        part = self._content[self._at : self._at + min(self._step, size if size >= 0 else self._step)]
        self._at += len(part)
        return part


def _reference_data_lines(text: str) -> int:
    """Data lines as Spark's line reader splits them (CR, LF or CRLF), the first line being the header and lines of
    nothing but whitespace skipped: written out here, independently of the streaming profile."""
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    return sum(1 for line in lines[1:] if line and not line.isspace())


@pytest.mark.parametrize("seed", range(4))
def test_the_streamed_profile_counts_the_data_lines_of_any_text_across_any_chunk_boundary(seed):
    pieces = ["a", "h", " ", "\t", "\n", "\r", "\r\n", "\x1c", "\x85", "\u2028", "\u00a0", ","]
    rng = random.Random(seed)
    texts = ["", "h", "h\n", "h\n\n", "\n", "\na\n", "h\r\n \r\n", "h\na\n\n \n\x1c\nb"]
    texts += ["".join(rng.choices(pieces, k=rng.randint(0, 14))) for _ in range(1_500)]
    for text in texts:
        content = text.encode()
        for step in (1, 2, 7, 1 << 20):
            profile = profile_landing_file(
                lambda content=content, step=step: contextlib.closing(_Trickle(content, step))
            )
            assert profile.data_lines == _reference_data_lines(text), (repr(text), step)


def test_a_line_over_the_limit_rejects_the_file_naming_the_line_and_keeps_its_lines_with_it():
    limits = LandingLimits(max_line_chars=10)
    content = ("InvoiceNo\nshort\n" + "x" * 25 + "\r\nafter\n").encode()
    for step in (1, 3, 1 << 20):
        profile = profile_landing_file(lambda step=step: contextlib.closing(_Trickle(content, step)), limits)
        assert profile.problem.startswith("line 3 is longer than the limit of 10 characters"), step
        assert (profile.data_lines, profile.lines_kept_with_file, profile.header_line) == (3, True, "InvoiceNo")
    assert file_error_entries("f.csv", profile)[0][2] == "file_kept_whole"


def test_the_profile_hashes_the_file_as_sent():
    content = b"\xef\xbb\xbf" + (HEADER + "\n1,2,CAF\xc9,4,5,6,7,8\n").encode("latin-1")
    profile = profile_landing_file(lambda: contextlib.closing(_Trickle(content, 5)))
    assert (profile.sha256, profile.size) == (hashlib.sha256(content).hexdigest(), len(content))


def test_a_header_of_many_columns_is_refused_by_count_and_repeats_are_named_once():
    limits = LandingLimits(max_columns=100)
    many = ",".join(f"c{number}" for number in range(50_000))
    assert header_problem(many.split(","), limits) == "the header names 50000 columns, more than the limit of 100"
    repeated = [*SOURCE_COLUMNS, *SOURCE_COLUMNS[:2], "InvoiceNo"]
    assert header_problem(repeated) == "the header repeats column(s) InvoiceNo, StockCode"
    lacking = header_problem(["x" * 300 for _ in range(20)], LandingLimits(max_message_chars=200))
    assert lacking.startswith("the header lacks column(s) InvoiceNo") and len(lacking) <= 200
