"""Data-quality gates through real runs: per-partition check results, blocking, the bad-input corpus."""

import json
from dataclasses import dataclass
from datetime import date

import pytest
from dagster import AssetCheckSeverity
from pyspark.sql import functions as F

from benchmarks.benchmark import step_and_check_seconds
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.tables import DATA_QUALITY_RESULTS, ETL_ERRORS
from ecom_assets.sales.bronze import order_transactions
from ecom_assets.sales.sample_data import HEADER, generate
from ecom_assets.sales.silver import orders_cleaned
from ecom_assets.sales.tables import ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS
from ecom_assets_tests.conftest import day_runner
from ecom_assets_tests.runs import evaluations, run_log, write_day
from resources import Lakehouse
from resources.landing import day_folder

pytestmark = pytest.mark.slow

DAY = date(2011, 1, 4)
ONE_DAY = DateRange(DAY, DAY)
CSV_HEADER = ",".join(HEADER)
GOOD_LINES = (
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2011-01-04 08:26:00,2.55,17850.0,United Kingdom",
    '536365,71053,"LANTERN, WHITE METAL",6,2011-01-04 08:26:00,3.39,17850.0,United Kingdom',
    "536366,22633,HAND WARMER UNION JACK,6,2011-01-04 08:28:00,1.85,,United Kingdom",
)
VALID = "536400,21730,GLASS STAR FROSTED,4,2011-01-04 11:00:00,4.25,13047.0,United Kingdom"
BRONZE = "ecommerce_catalog.raw.order_transactions"
SILVER = "ecommerce_catalog.processed.orders_cleaned"


# --- checks on a clean run -------------------------------------------------------------------


def test_every_check_reports_each_partition_of_a_range_run_and_lands_in_the_results_table(
    spark, landing_root, lakehouse, run_days
):
    week = DateRange(date(2011, 1, 3), date(2011, 1, 9))
    generate(landing_root, week, seed=7)

    result = run_days(week)

    assert result.success
    found = evaluations(result)
    checks = {(asset, check) for asset, check, _ in found}
    assert len(checks) == 15, "12 checks of the data, and each table's published check"
    assert {partition for *_, partition in found} == {day.isoformat() for day in week}
    assert len(found) == 15 * len(week), "one evaluation per check and day"
    blocking_failures = [k for k, e in found.items() if e.severity == AssetCheckSeverity.ERROR and not e.passed]
    assert blocking_failures == []
    conservation = found[("ecommerce_catalog/processed/orders_cleaned", "row_conservation", "2011-01-05")]
    assert conservation.metadata["bronze_rows"].value == sum(
        conservation.metadata[name].value for name in ("silver_rows", "duplicates_removed", "rows_rejected")
    )
    assert (
        "not judged: gross_revenue"
        in found[("ecommerce_catalog/analytics/sales_metrics", "figures_anomaly", "2011-01-05")].description
    )

    stored = lakehouse.read(spark, DATA_QUALITY_RESULTS).collect()
    assert len(stored) == len(found)
    assert {row["run_id"] for row in stored} == {result.run_id}
    reconciled = next(r for r in stored if r["check_name"] == "reconciles_with_silver" and r["partition_date"] == DAY)
    assert reconciled["passed"] and reconciled["severity"] == "ERROR" and reconciled["blocking"]
    assert json.loads(reconciled["observed"])["expected"]["silver_order_count"] > 0


def test_each_checked_step_logs_its_check_time_and_the_benchmark_reads_it(landing_root, run_days):
    generate(landing_root, ONE_DAY, seed=3)

    result = run_days(ONE_DAY)

    step_seconds, check_seconds = step_and_check_seconds(run_log(run_days, result))
    assert (
        set(check_seconds)
        == set(step_seconds)
        == {
            "raw.order_transactions",
            "processed.orders_cleaned",
            "analytics.sales_metrics",
        }
    )
    for step, seconds in check_seconds.items():
        assert 0 < seconds < step_seconds[step], f"{step}'s checks take part of its step time"


def test_a_failed_blocking_check_quarantines_the_day_in_every_table_downstream(
    spark, landing_root, lakehouse, run_days
):
    write_day(landing_root, "good.csv", "\n".join([CSV_HEADER, *GOOD_LINES, ""]).encode())
    write_day(
        landing_root,
        "no_country.csv",
        (",".join(HEADER[:-1]) + "\n536500,22633,X,1,2011-01-04 09:00:00,1.85,\n").encode(),
    )

    result = run_days(ONE_DAY, raise_on_error=False)

    assert result.success, "the day is quarantined, the run goes on"
    found = evaluations(result)
    header = found[("ecommerce_catalog/raw/order_transactions", "header_conformity", "2011-01-04")]
    assert not header.passed and header.severity.value == "ERROR"
    assert not header.blocking, "reported without blocking: the quarantine already keeps the day out"
    assert header.metadata["failing_rows"].value == [
        {
            "file": "no_country.csv",
            "problem": "the header lacks column(s) Country; it has 7 column(s): "
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID",
        }
    ]
    assert "lacks column(s) Country" in header.description
    for asset in ("raw/order_transactions", "processed/orders_cleaned", "analytics/sales_metrics"):
        published = found[(f"ecommerce_catalog/{asset}", "published", "2011-01-04")]
        assert not published.passed and "header_conformity" in published.description
    assert lakehouse.read(spark, ORDERS_CLEANED).count() == 0
    assert lakehouse.read(spark, SALES_METRICS).count() == 0


def test_a_warn_anomaly_is_flagged_without_blocking(spark, landing_root, lakehouse, run_days):
    days = DateRange(date(2011, 1, 3), date(2011, 1, 18))
    generate(landing_root, days, seed=11)
    last_file = next((landing_root / day_folder(days.end)).glob("*.csv"))
    lines = last_file.read_text().splitlines()
    bad = [line.replace(",2011-01-18 ", ",2011-01-18T", 1) for line in lines[1 : len(lines) // 3]]
    last_file.write_text("\n".join([lines[0], *bad, *lines[len(lines) // 3 :]]) + "\n")

    result = run_days(days)

    assert result.success, "WARN checks never block"
    share = evaluations(result)[("ecommerce_catalog/processed/orders_cleaned", "rejected_share_anomaly", "2011-01-18")]
    assert not share.passed and share.severity == AssetCheckSeverity.WARN
    assert share.metadata["value"].value == pytest.approx(len(bad) / (len(lines) - 1))
    assert share.metadata["expected"].value["high"] < share.metadata["value"].value
    earlier = evaluations(result)[
        ("ecommerce_catalog/processed/orders_cleaned", "rejected_share_anomaly", "2011-01-17")
    ]
    assert earlier.passed


# --- the bad-input corpus --------------------------------------------------------------------


@dataclass(frozen=True)
class BadInput:
    """A landing file beside a good one; what the error table and the checks must show."""

    content: bytes
    errors: tuple[tuple[str, str, str], ...]
    """(asset, error_type, part of the message) of every error row about the file."""
    blocks: bool = False
    """The file quarantines its day: it fails a blocking check."""
    bronze_rows: int = 0
    """Rows of the bad file that reach bronze."""
    silver_rows: int = 0
    """Rows of the bad file that reach silver."""
    folder_day: date = DAY


def csv_bytes(*lines: str, header: str = CSV_HEADER, newline: str = "\n", encoding: str = "utf-8") -> bytes:
    return newline.join([header, *lines, ""]).encode(encoding)


CORPUS = {
    "wrong_field_count": BadInput(
        csv_bytes(VALID, "536401,21731,TOO FEW FIELDS,2"),
        ((SILVER, "malformed_csv_line", "does not split into the 8 source columns"),),
        bronze_rows=2,
        silver_rows=1,
    ),
    "too_many_fields": BadInput(
        csv_bytes(VALID, "536401,21731,STAR,2,2011-01-04 11:00:00,4.25,13047.0,United Kingdom,SURPLUS"),
        ((SILVER, "malformed_csv_line", "does not split into the 8 source columns"),),
        bronze_rows=2,
        silver_rows=1,
    ),
    "unclosed_quote": BadInput(
        csv_bytes(VALID, '536401,21731,"UNCLOSED STAR,2,2011-01-04 11:00:00,4.25,13047.0,United Kingdom'),
        ((SILVER, "malformed_csv_line", "unbalanced quotes"),),
        bronze_rows=2,
        silver_rows=1,
    ),
    "non_numeric_quantity": BadInput(
        csv_bytes(VALID, "536401,21731,STAR,two,2011-01-04 11:00:00,4.25,13047.0,United Kingdom"),
        ((SILVER, "unparseable_quantity", "Quantity 'two' is not a whole number"),),
        bronze_rows=2,
        silver_rows=1,
    ),
    "decimal_comma_in_price": BadInput(
        csv_bytes(VALID, "536401,21731,STAR,2,2011-01-04 11:00:00,4,25,13047.0,United Kingdom"),
        ((SILVER, "malformed_csv_line", "does not split"),),
        bronze_rows=2,
        silver_rows=1,
    ),
    "price_with_currency_sign": BadInput(
        csv_bytes(VALID, "536401,21731,STAR,2,2011-01-04 11:00:00,£4.25,13047.0,United Kingdom"),
        ((SILVER, "unparseable_unit_price", "UnitPrice '£4.25' is not a decimal number"),),
        bronze_rows=2,
        silver_rows=1,
    ),
    "impossible_date": BadInput(
        csv_bytes(VALID, "536401,21731,STAR,2,2011-02-30 11:00:00,4.25,13047.0,United Kingdom"),
        ((SILVER, "unparseable_invoice_date", "InvoiceDate '2011-02-30 11:00:00' is not a valid date"),),
        bronze_rows=2,
        silver_rows=1,
    ),
    "empty_file": BadInput(b"", ((BRONZE, "empty_file", "the file is empty"),), blocks=True),
    "header_only_file": BadInput(csv_bytes(), ((BRONZE, "header_only_file", "no data rows"),)),
    "missing_column": BadInput(
        csv_bytes(
            "536401,21731,STAR,2,2011-01-04 11:00:00,13047.0,United Kingdom",
            header=CSV_HEADER.replace(",UnitPrice", ""),
        ),
        ((BRONZE, "unreadable_file", "the header lacks column(s) UnitPrice"),),
        blocks=True,
    ),
    "extra_column": BadInput(
        csv_bytes(VALID + ",10%", header=CSV_HEADER + ",Discount"),
        ((BRONZE, "extra_columns_dropped", "Discount"),),
        bronze_rows=1,
        silver_rows=1,
    ),
    "reordered_columns": BadInput(
        csv_bytes(
            "United Kingdom,536400,21730,GLASS STAR FROSTED,4,2011-01-04 11:00:00,4.25,13047.0",
            header="Country," + CSV_HEADER.replace(",Country", ""),
        ),
        ((BRONZE, "columns_reordered", "read by name"),),
        bronze_rows=1,
        silver_rows=1,
    ),
    "utf8_bom": BadInput(
        b"\xef\xbb\xbf" + csv_bytes(VALID),
        ((BRONZE, "utf8_bom_removed", "byte-order mark"),),
        bronze_rows=1,
        silver_rows=1,
    ),
    "crlf_line_endings": BadInput(
        csv_bytes(VALID, VALID.replace("536400", "536401"), newline="\r\n"),
        ((BRONZE, "crlf_line_endings", "CRLF"),),
        bronze_rows=2,
        silver_rows=2,
    ),
    "latin1_bytes": BadInput(
        csv_bytes("536400,21730,CRÈME BRÛLÉE DISH,4,2011-01-04 11:00:00,4.25,13047.0,France", encoding="latin-1"),
        ((BRONZE, "decoded_as_latin1", "not valid UTF-8 (byte 0xC8"),),
        bronze_rows=1,
        silver_rows=1,
    ),
    "utf8_bom_before_latin1_bytes": BadInput(
        b"\xef\xbb\xbf"
        + csv_bytes("536400,21730,CRÈME BRÛLÉE DISH,4,2011-01-04 11:00:00,4.25,13047.0,France", encoding="latin-1"),
        (
            (BRONZE, "utf8_bom_removed", "byte-order mark"),
            (BRONZE, "decoded_as_latin1", "not valid UTF-8 (byte 0xC8"),
        ),
        bronze_rows=1,
        silver_rows=1,
    ),
    "file_in_the_wrong_days_folder": BadInput(
        csv_bytes(VALID.replace("2011-01-04", "2011-01-03")),
        ((SILVER, "invoice_date_outside_partition", "is not on the day of its file's folder (2011-01-04)"),),
        bronze_rows=1,
    ),
    "absurd_values": BadInput(
        csv_bytes(
            VALID,
            "536401,21731,STAR,7500000,2011-01-04 11:00:00,4.25,13047.0,United Kingdom",
            "536402,21731,STAR,1,2011-01-04 11:00:00,999999.99,13047.0,United Kingdom",
        ),
        (
            (SILVER, "absurd_quantity", "Quantity '7500000' is beyond ±1,000,000 units"),
            (SILVER, "absurd_unit_price", "UnitPrice '999999.99' is beyond ±100,000"),
        ),
        bronze_rows=3,
        silver_rows=1,
    ),
}


def with_own_invoices(content: bytes, case_number: int) -> bytes:
    """The case's file with invoice numbers no other case uses (silver counts a line delivered twice once)."""
    return content.replace(b"5364", str(9000 + case_number).encode())


@dataclass(frozen=True)
class CorpusRun:
    """One run of bronze and silver over a day holding a good file and several cases' files."""

    result: object
    lakehouse: Lakehouse
    log: str
    file_names: dict[str, str]
    """Each case's landing file name."""


@pytest.fixture(scope="module")
def corpus_runs(spark, test_spark, tmp_path_factory) -> dict[bool, CorpusRun]:
    """The corpus in two runs of one day: every case that must not block, side by side, then the blocking ones."""
    runs = {}
    for blocks in (False, True):
        root = tmp_path_factory.mktemp("blocking_corpus" if blocks else "corpus")
        landing = root / "landing"
        write_day(landing, "good.csv", csv_bytes(*GOOD_LINES))
        file_names = {}
        for number, (name, case) in enumerate(CORPUS.items()):
            if case.blocks == blocks:
                file_names[name] = f"{name}.csv"
                write_day(landing, file_names[name], with_own_invoices(case.content, number), case.folder_day)
        run = day_runner(test_spark, landing, Lakehouse(warehouse_root=str(root / "warehouse")))
        result = run(ONE_DAY, raise_on_error=False, assets=[order_transactions, orders_cleaned])
        runs[blocks] = CorpusRun(result, run.lakehouse, run_log(run, result), file_names)
    return runs


def rows_from(table, file_name: str):
    return table.where(F.col("source_file_name").endswith(f"/{file_name}"))


@pytest.mark.parametrize("name", list(CORPUS))
def test_bad_input_is_recorded_with_a_clear_message_and_every_row_accounted_for(spark, corpus_runs, name):
    case = CORPUS[name]
    run = corpus_runs[case.blocks]
    file_name = run.file_names[name]

    assert run.result.success, "a bad file quarantines its day at most, never fails the run"
    errors = rows_from(run.lakehouse.read(spark, ETL_ERRORS), file_name).collect()
    assert {(e["asset"], e["error_type"]) for e in errors} == {(asset, kind) for asset, kind, _ in case.errors}
    for asset, error_type, message in case.errors:
        matching = [e for e in errors if (e["asset"], e["error_type"]) == (asset, error_type)]
        assert matching and all(message in e["error_message"] for e in matching), (error_type, matching)
        assert all(e["partition_date"] == DAY and e["step"] and e["occurred_at"] for e in matching)
        assert message in run.log, f"the run log names {error_type}"

    found = evaluations(run.result)
    bronze = run.lakehouse.read(spark, ORDER_TRANSACTIONS)
    assert rows_from(bronze, file_name).count() == case.bronze_rows
    assert found[("ecommerce_catalog/raw/order_transactions", "row_conservation", "2011-01-04")].passed
    if case.blocks:
        assert not found[("ecommerce_catalog/raw/order_transactions", "header_conformity", "2011-01-04")].passed
        held = rows_from(run.lakehouse.read(spark, ETL_ERRORS), "good.csv").where("error_type = 'day_quarantined'")
        assert held.count() == len(GOOD_LINES), "the quarantined day's readable lines wait in the error table"
        return
    assert rows_from(bronze, "good.csv").count() == len(GOOD_LINES)
    silver = run.lakehouse.read(spark, ORDERS_CLEANED)
    assert rows_from(silver, "good.csv").count() == len(GOOD_LINES)
    assert rows_from(silver, file_name).count() == case.silver_rows


def test_silver_accounts_for_every_bronze_row_of_a_day_of_bad_files(spark, corpus_runs):
    run = corpus_runs[False]

    conservation = evaluations(run.result)[
        ("ecommerce_catalog/processed/orders_cleaned", "row_conservation", "2011-01-04")
    ]

    assert conservation.passed
    rejected = run.lakehouse.read(spark, ETL_ERRORS).where(F.col("asset") == SILVER).count()
    assert conservation.metadata["rows_rejected"].value == rejected > 0
    passing_cases = [CORPUS[name] for name in run.file_names]
    assert conservation.metadata["bronze_rows"].value == len(GOOD_LINES) + sum(c.bronze_rows for c in passing_cases)
    assert conservation.metadata["silver_rows"].value == len(GOOD_LINES) + sum(c.silver_rows for c in passing_cases)


def test_latin1_text_reaches_silver_intact(spark, corpus_runs):
    run = corpus_runs[False]
    silver = rows_from(run.lakehouse.read(spark, ORDERS_CLEANED), run.file_names["latin1_bytes"])
    assert [r["description"] for r in silver.collect()] == ["CRÈME BRÛLÉE DISH"]


def test_an_extra_columns_values_are_dropped_and_reordered_columns_land_in_place(spark, corpus_runs):
    run = corpus_runs[False]
    bronze = run.lakehouse.read(spark, ORDER_TRANSACTIONS)
    for name in ("extra_column", "reordered_columns"):
        (row,) = rows_from(bronze, run.file_names[name]).select(*HEADER).collect()
        number = list(CORPUS).index(name)
        assert tuple(row) == tuple(with_own_invoices(VALID.encode(), number).decode().split(",")), name


def test_a_failed_step_is_recorded_in_the_error_table_for_each_day_of_its_run(spark, lakehouse, run_days):
    days = DateRange(date(2011, 1, 4), date(2011, 1, 5))

    result = run_days(days, raise_on_error=False, assets=[orders_cleaned])  # silver before bronze exists

    assert not result.success
    errors = lakehouse.read(spark, ETL_ERRORS).collect()
    assert sorted(e["partition_date"] for e in errors) == days.days()
    assert {(e["asset"], e["error_type"], e["record"]) for e in errors} == {
        (SILVER, "step_failed", f"run {result.run_id}")
    }
    assert all("order_transactions does not exist yet" in e["error_message"] for e in errors)
