"""Bronze → silver → gold materialized together over generated landing data."""

import os
import shutil
import signal
import subprocess
import time
from datetime import date
from pathlib import Path, PurePosixPath
from subprocess import DEVNULL
from urllib.parse import urlparse

import pytest
from dagster import DagsterEventType, DagsterInstance
from pyspark.sql import functions as F

from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.tables import ETL_ERRORS, tables_owned
from ecom_assets.sales.sample_data import HEADER, generate
from ecom_assets.sales.tables import CUSTOMER_FIRST_SALES, ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS
from ecom_assets_tests.conftest import BIN, day_runner
from ecom_assets_tests.reference import distinct_valid_lines, expected_day_status, expected_sales_metrics
from resources import Lakehouse, LocalLandingZone
from resources.landing import QUARANTINE_PREFIX, day_folder

pytestmark = pytest.mark.slow

BRONZE_NODE = "ecommerce_catalog__raw__order_transactions"
SILVER_NODE = "ecommerce_catalog__processed__orders_cleaned"
GOLD_NODE = "ecommerce_catalog__analytics__sales_metrics"
FIRST_WEEK = DateRange(date(2011, 1, 3), date(2011, 1, 9))
PIPELINE_TABLES = (ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS)


def gold_rows(spark, lakehouse) -> dict[date, dict]:
    return {row["order_date"]: row.asDict() for row in lakehouse.read(spark, SALES_METRICS).collect()}


def table_count(spark, lakehouse, table) -> int:
    return lakehouse.read(spark, table).count()


@pytest.fixture(scope="module")
def first_week(spark, test_spark, tmp_path_factory):
    """Bronze, silver and gold materialized over the first week in one run: (its result, landing root, lakehouse)."""
    root = tmp_path_factory.mktemp("first_week")
    generate(root / "landing", FIRST_WEEK, seed=7)
    run = day_runner(test_spark, root / "landing", Lakehouse(warehouse_root=str(root / "warehouse")))
    return run(FIRST_WEEK), root / "landing", run.lakehouse


def test_a_week_materializes_as_one_run_and_gold_matches_an_independent_computation(spark, first_week):
    result, landing_root, lakehouse = first_week

    assert result.success
    gold_partitions = {m.partition for m in result.asset_materializations_for_node(GOLD_NODE)}
    assert gold_partitions == {day.isoformat() for day in FIRST_WEEK}, "one run materializes every day"
    expected = expected_sales_metrics(
        distinct_valid_lines(landing_root), FIRST_WEEK.days(), expected_day_status(landing_root, FIRST_WEEK.days())
    )
    assert gold_rows(spark, lakehouse) == expected
    saturday = date(2011, 1, 8)
    assert expected[saturday]["order_count"] == 0, "the generator does not trade on Saturdays"


def test_each_partition_carries_its_own_day_figures_and_the_run_a_preview(first_week):
    result, landing_root, _ = first_week

    def by_partition(node):
        return {m.partition: m.metadata for m in result.asset_materializations_for_node(node)}

    bronze, silver, gold = (by_partition(node) for node in (BRONZE_NODE, SILVER_NODE, GOLD_NODE))
    expected = expected_sales_metrics(
        distinct_valid_lines(landing_root), FIRST_WEEK.days(), expected_day_status(landing_root, FIRST_WEEK.days())
    )
    for day in FIRST_WEEK:
        key = day.isoformat()
        source_rows = sum(len(p.read_text().splitlines()) - 1 for p in landing_root.glob(f"raw/*/{day:%Y/%m/%d}/*.csv"))
        assert bronze[key]["rows_in"].value == source_rows
        assert silver[key]["rows_in"].value == bronze[key]["rows_out"].value
        assert silver[key]["rows_in"].value == sum(
            silver[key][name].value for name in ("rows_out", "duplicates_removed", "rows_rejected")
        )
        assert gold[key]["gross_revenue"].value == float(expected[day]["gross_revenue"])
        assert gold[key]["new_customers"].value == expected[day]["new_customers"]
    saturday = date(2011, 1, 8).isoformat()
    assert bronze[saturday]["files_read"].value == 0 and "avg_order_value" not in gold[saturday]
    assert sum(silver[key]["duplicates_removed"].value for key in silver) > 0
    assert "| order_date | day_status | gross_revenue |" in gold[FIRST_WEEK.start.isoformat()]["preview"].value


def test_rerunning_the_same_days_changes_nothing(spark, first_week, lakehouse, run_days):
    _, loaded_landing, loaded = first_week
    shutil.copytree(loaded.warehouse_root, lakehouse.warehouse_root)  # the loaded week, in this test's own warehouse
    run_days.resources["landing"] = LocalLandingZone(root=str(loaded_landing))
    before = [table_count(spark, lakehouse, t) for t in (ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS)]
    gold_before = gold_rows(spark, lakehouse)

    run_days(FIRST_WEEK)
    run_days(DateRange(date(2011, 1, 4), date(2011, 1, 4)))

    after = [table_count(spark, lakehouse, t) for t in (ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS)]
    assert after == before
    assert gold_rows(spark, lakehouse) == gold_before


def test_out_of_order_backfill_keeps_new_and_returning_customers_right(spark, landing_root, lakehouse, run_days):
    january = DateRange(date(2011, 1, 3), date(2011, 1, 16))
    generate(landing_root, january, seed=11)
    run_days(DateRange(date(2011, 1, 10), date(2011, 1, 16)))
    late_first = gold_rows(spark, lakehouse)

    run_days(DateRange(date(2011, 1, 3), date(2011, 1, 9)))

    expected = expected_sales_metrics(
        distinct_valid_lines(landing_root), january.days(), expected_day_status(landing_root, january.days())
    )
    assert gold_rows(spark, lakehouse) == expected
    restated = [d for d in late_first if late_first[d]["new_customers"] != expected[d]["new_customers"]]
    assert restated, "the earlier week must have turned some later 'new' customers into returning ones"


def test_a_line_delivered_again_in_a_later_file_counts_once(spark, landing_root, lakehouse, run_days):
    generate(landing_root, DateRange(date(2011, 1, 4), date(2011, 1, 4)), seed=3)
    first_file = next((landing_root / day_folder(date(2011, 1, 4))).glob("*.csv"))
    redelivery = landing_root / day_folder(date(2011, 1, 5)) / "redelivery.csv"
    redelivery.parent.mkdir(parents=True)
    shutil.copy(first_file, redelivery)
    days = DateRange(date(2011, 1, 4), date(2011, 1, 5))

    run_days(days)

    bronze = lakehouse.read(spark, ORDER_TRANSACTIONS)
    silver = lakehouse.read(spark, ORDERS_CLEANED)
    assert bronze.where(F.col("partition_date") == date(2011, 1, 5)).count() > 0
    assert silver.count() == silver.select("line_id").distinct().count()
    assert gold_rows(spark, lakehouse) == expected_sales_metrics(
        distinct_valid_lines(landing_root), days.days(), expected_day_status(landing_root, days.days())
    )


def test_a_corrected_file_replaces_what_its_day_delivered_before(spark, landing_root, lakehouse, run_days):
    day = DateRange(date(2011, 1, 4), date(2011, 1, 4))
    generate(landing_root, day, seed=5)
    run_days(day)
    day_file = next((landing_root / day_folder(day.start)).glob("*.csv"))
    lines = day_file.read_text().splitlines()
    day_file.write_text("\n".join(lines[: len(lines) // 2]) + "\n")

    run_days(day)

    assert gold_rows(spark, lakehouse) == expected_sales_metrics(
        distinct_valid_lines(landing_root), day.days(), expected_day_status(landing_root, day.days())
    )
    bronze_rows = table_count(spark, lakehouse, ORDER_TRANSACTIONS)
    assert bronze_rows == len(lines) // 2 - 1


def test_a_corrected_first_day_moves_first_sales_to_later_days_and_restates_them(
    spark, landing_root, lakehouse, run_days
):
    week = DateRange(date(2011, 1, 4), date(2011, 1, 10))
    generate(landing_root, week, seed=13)
    run_days(week)
    first_file = next((landing_root / day_folder(week.start)).glob("*.csv"))
    lines = first_file.read_text().splitlines()
    first_file.write_text(lines[0] + "\n")  # the corrected delivery: no sales that day after all
    before = gold_rows(spark, lakehouse)

    run_days(DateRange(week.start, week.start))

    expected = expected_sales_metrics(
        distinct_valid_lines(landing_root), week.days(), expected_day_status(landing_root, week.days())
    )
    assert gold_rows(spark, lakehouse) == expected
    assert any(before[day]["new_customers"] != expected[day]["new_customers"] for day in list(week)[1:]), (
        "customers first seen on the corrected day are new on a later day now"
    )
    silver = lakehouse.read(spark, ORDERS_CLEANED).where("line_type = 'sale' AND customer_id IS NOT NULL")
    recomputed = {row[0]: row[1] for row in silver.groupBy("customer_id").agg(F.min("order_date")).collect()}
    stored = {row[0]: row[1] for row in lakehouse.read(spark, CUSTOMER_FIRST_SALES).collect()}
    assert stored == recomputed


def test_days_without_files_are_days_without_sales(spark, landing_root, lakehouse, run_days):
    (landing_root / "raw/ecommerce_sales").mkdir(parents=True)
    days = DateRange(date(2011, 1, 1), date(2011, 1, 2))

    result = run_days(days)

    assert result.success
    assert table_count(spark, lakehouse, ORDER_TRANSACTIONS) == 0
    assert [row["gross_revenue"] for row in gold_rows(spark, lakehouse).values()] == [0, 0]


def test_header_only_landing_file_is_an_empty_day(spark, landing_root, lakehouse, run_days):
    folder = landing_root / day_folder(date(2011, 1, 4))
    folder.mkdir(parents=True)
    (folder / "empty.csv").write_text(",".join(HEADER) + "\n")
    result = run_days(DateRange(date(2011, 1, 4), date(2011, 1, 4)))
    assert result.success
    assert gold_rows(spark, lakehouse)[date(2011, 1, 4)]["order_count"] == 0


def test_every_source_row_ends_in_silver_as_a_duplicate_or_in_the_error_table(spark, landing_root, lakehouse, run_days):
    day = DateRange(date(2011, 1, 4), date(2011, 1, 4))
    generate(landing_root, day, seed=9)
    day_file = next((landing_root / day_folder(day.start)).glob("*.csv"))
    with day_file.open("a") as handle:
        handle.write("536999,85123A,BAD QUANTITY,six,2011-01-04 10:00:00,2.55,17850.0,United Kingdom\n")
        handle.write("536999,85123A,BAD DATE,1,2011-02-30 10:00:00,2.55,17850.0,United Kingdom\n")
        handle.write('536999,85123A,"UNCLOSED QUOTE,1,2011-01-04 10:00:00,2.55,17850.0,United Kingdom\n')
    source_rows = len(day_file.read_text().splitlines()) - 1

    result = run_days(day)
    run_days(day)  # a rerun must not duplicate error rows

    errors = lakehouse.read(spark, ETL_ERRORS).collect()
    assert sorted(e["error_type"] for e in errors) == [
        "malformed_csv_line",
        "unparseable_invoice_date",
        "unparseable_quantity",
    ]
    assert {e["asset"] for e in errors} == {"ecommerce_catalog.processed.orders_cleaned"}
    assert all(e["partition_date"] == day.start and e["source_file_name"].endswith(day_file.name) for e in errors)
    silver_figures = result.asset_materializations_for_node(SILVER_NODE)[0].metadata
    silver_rows = table_count(spark, lakehouse, ORDERS_CLEANED)
    duplicates = silver_figures["duplicates_removed"].value
    assert table_count(spark, lakehouse, ORDER_TRANSACTIONS) == source_rows
    assert source_rows == silver_rows + duplicates + len(errors)


def test_a_bad_file_is_recorded_quarantines_its_day_and_keeps_every_line_of_the_others(
    spark, landing_root, lakehouse, run_days
):
    day = DateRange(date(2011, 1, 4), date(2011, 1, 4))
    generate(landing_root, day, seed=13)
    folder = landing_root / day_folder(day.start)
    good_file = next(folder.glob("*.csv"))
    good_rows = len(good_file.read_text().splitlines()) - 1
    (folder / "no_price.csv").write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,CustomerID,Country\n"
        "537001,85123A,WHITE HEART,6,2011-01-04 08:26:00,17850.0,United Kingdom\n"
        "537001,71053,WHITE LANTERN,6,2011-01-04 08:26:00,17850.0,United Kingdom\n"
    )
    (folder / "empty.csv").write_text("")
    (folder / "reordered_bom_crlf.csv").write_bytes(
        "\ufeffCountry,InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\r\n"
        "United Kingdom,537002,85123A,WHITE HEART,2,2011-01-04 09:00:00,2.55,17850.0\r\n".encode()
    )

    result = run_days(day, raise_on_error=False)

    assert result.success, "files without the source columns quarantine their day, they do not fail the run"
    assert lakehouse.read(spark, ORDER_TRANSACTIONS).count() == 0, "the day is quarantined, not published"
    errors = lakehouse.read(spark, ETL_ERRORS).where("asset = 'ecommerce_catalog.raw.order_transactions'").collect()
    assert sorted(
        (e["error_type"], e["source_file_name"].rsplit("/", 1)[1])
        for e in errors
        if e["error_type"] != "day_quarantined"
    ) == [
        ("columns_reordered", "reordered_bom_crlf.csv"),
        ("crlf_line_endings", "reordered_bom_crlf.csv"),
        ("empty_file", "empty.csv"),
        ("unreadable_file", "no_price.csv"),
        ("unreadable_file", "no_price.csv"),
        ("utf8_bom_removed", "reordered_bom_crlf.csv"),
    ]
    assert all(
        "lacks column(s) UnitPrice" in e["error_message"] for e in errors if e["error_type"] == "unreadable_file"
    )
    held = [e for e in errors if e["error_type"] == "day_quarantined"]
    assert len(held) == good_rows + 1, "every readable line waits in the error table with the day's reason"
    assert any('"InvoiceNo":"537002"' in e["record"] and '"UnitPrice":"2.55"' in e["record"] for e in held)
    figures = result.asset_materializations_for_node(BRONZE_NODE)[0].metadata
    assert (figures["files_read"].value, figures["files_rejected"].value) == (4, 2)
    assert (figures["rows_in"].value, figures["rows_out"].value, figures["rows_rejected"].value) == (
        good_rows + 3,
        0,
        2,
    )

    quarantine = landing_root / day_folder(day.start, QUARANTINE_PREFIX)
    assert sorted(path.name for path in quarantine.iterdir()) == ["empty.csv", "no_price.csv"]
    for path in quarantine.iterdir():
        path.unlink()  # the steward accepts the day without them
    (folder / "reordered_bom_crlf.csv").unlink()
    assert run_days(day).success
    assert lakehouse.read(spark, ETL_ERRORS).where("asset = 'ecommerce_catalog.raw.order_transactions'").count() == 0
    assert lakehouse.read(spark, ORDER_TRANSACTIONS).count() == good_rows


def cli_week_run(landing: Path, warehouse: Lakehouse, dagster_home: Path) -> tuple[list, dict]:
    """The `dagster asset materialize` command of bronze, silver and gold over the first week, and its environment."""
    environment = {
        **os.environ,
        "ECOM_LANDING_ROOT": str(landing),
        "ECOM_WAREHOUSE_ROOT": warehouse.warehouse_root,
        "DAGSTER_HOME": str(dagster_home),
    }
    command = [BIN / "dagster", "asset", "materialize", "-m", "ecom_assets.definitions"]
    command += ["--select", ",".join("/".join(t.parts) for t in PIPELINE_TABLES)]
    command += ["--partition-range", f"{FIRST_WEEK.start}...{FIRST_WEEK.end}"]
    return command, environment


def assert_equal_tables(spark, lakehouse: Lakehouse, reference: Lakehouse) -> None:
    for table in PIPELINE_TABLES:
        assert sorted(lakehouse.read(spark, table).collect()) == sorted(reference.read(spark, table).collect()), table


def step_windows(instance: DagsterInstance) -> dict[str, dict[str, tuple[float, float]]]:
    """Each run's (start, end) time of each step, from the instance's event log."""
    windows: dict[str, dict[str, list[float]]] = {}
    for record in instance.get_run_records():
        run_id = record.dagster_run.run_id
        events = instance.get_records_for_run(
            run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
        ).records
        for event in events:
            entry = event.event_log_entry
            windows.setdefault(run_id, {}).setdefault(entry.step_key, []).append(entry.timestamp)
    return {run: {step: (min(times), max(times)) for step, times in steps.items()} for run, steps in windows.items()}


def test_two_runs_of_the_same_week_at_once_lose_and_double_nothing(spark, first_week, tmp_path, dagster_home):
    _, landing, clean = first_week
    shared = Lakehouse(warehouse_root=str(tmp_path / "warehouse"))
    week_run, environment = cli_week_run(landing, shared, dagster_home)
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.upgrade()  # the instance's storage exists before two processes open it at once, as in production

    logs = [tmp_path / f"run_{number}.log" for number in (1, 2)]
    runs = []
    for log in logs:
        with log.open("w") as output:
            runs.append(subprocess.Popen(week_run, env=environment, cwd=tmp_path, stdout=DEVNULL, stderr=output))

    for run, log in zip(runs, logs, strict=True):
        assert run.wait(timeout=900) == 0, log.read_text()[-3000:]
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        windows = step_windows(instance)
    assert len(windows) == 2
    first, second = windows.values()
    overlapping = [
        step
        for step in first
        if step in second and first[step][0] < second[step][1] and second[step][0] < first[step][1]
    ]
    assert overlapping, f"the two runs never wrote the same table at once, so nothing was tested: {windows}"
    assert_equal_tables(spark, shared, clean)


def test_a_run_killed_mid_write_leaves_every_table_readable_and_its_rerun_equals_a_clean_run(
    spark, first_week, tmp_path, dagster_home
):
    _, landing, clean = first_week
    for attempt in range(KILL_ATTEMPTS):  # until the kill lands between silver's first data file and its commit
        crashed = Lakehouse(warehouse_root=str(tmp_path / f"warehouse-{attempt}"))
        week_run, environment = cli_week_run(landing, crashed, dagster_home)
        silver_folder = Path(crashed.location(ORDERS_CLEANED))
        written, committed = _kill_when_silver_writes(week_run, environment, tmp_path, silver_folder, spark, crashed)
        if written - committed:
            break
    assert written - committed, f"in {KILL_ATTEMPTS} attempts the commit always won the race with the kill"
    for table in tables_owned():  # every table the killed run committed reads; one it was creating is none yet
        if crashed.exists(table):
            crashed.read(spark, table).count()
    assert crashed.read(spark, ORDER_TRANSACTIONS).count() == clean.read(spark, ORDER_TRANSACTIONS).count()

    rerun = subprocess.run(week_run, env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=900)

    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_equal_tables(spark, crashed, clean)


KILL_ATTEMPTS = 5


def _kill_when_silver_writes(week_run, environment, cwd, silver_folder, spark, lakehouse) -> tuple[set, set]:
    """Start the week's run, SIGKILL its process group as soon as silver's first data file appears; returns the data
    files silver wrote and those its table's current version references (none when it was never committed)."""
    run = subprocess.Popen(week_run, env=environment, cwd=cwd, stdout=DEVNULL, stderr=DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while not list(silver_folder.glob("*.parquet")):  # silver's data files are being written; its commit is not
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before silver was written"
        time.sleep(0.005)
    os.killpg(run.pid, signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL
    written = {path.name for path in silver_folder.glob("*.parquet")}
    committed = (
        {PurePosixPath(urlparse(uri).path).name for uri in lakehouse.read(spark, ORDERS_CLEANED).inputFiles()}
        if lakehouse.exists(ORDERS_CLEANED)
        else set()
    )
    return written, committed
