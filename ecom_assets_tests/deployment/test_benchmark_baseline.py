"""The benchmark compares like with like: the plain baseline does the pipeline's work on the same local Spark."""

import csv
import importlib.util
from datetime import date
from pathlib import Path

import pytest
from dagster import AssetKey

from ecom_assets.platform.dates import DateRange
from ecom_assets.sales.sample_data import HEADER, generate
from ecom_assets.sales.tables import ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS
from ecom_assets_tests.reference import distinct_valid_lines, expected_day_status, expected_sales_metrics
from ecom_assets_tests.runs import write_day
from resources import Lakehouse
from resources.landing import day_folder

pytestmark = pytest.mark.slow
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
RETURNING_INVOICE = 990001


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def plain_pyspark():
    return load_script("plain_pyspark")


def test_the_plain_script_writes_the_gold_the_definitions_give_in_one_run_and_day_by_day_on_its_history(
    spark, plain_pyspark, landing_root, tmp_path
):
    """A run over a range (the backfill's baseline), then days replaced in the tables it wrote (the baseline of the
    pipeline's one day on the full history): new days, and an earlier day again."""
    days = DateRange(date(2011, 1, 3), date(2011, 1, 9))
    generate(landing_root, days, seed=7)
    [first_day_file] = (landing_root / day_folder(date(2011, 1, 4))).glob("*.csv")
    customer = next(row["CustomerID"] for row in csv.DictReader(first_day_file.open()) if row["CustomerID"])
    for number, day in enumerate((date(2011, 1, 5), date(2011, 1, 7))):  # a customer of 2011-01-04 buys again
        returning = f"{RETURNING_INVOICE + number},85123A,HEART HOLDER,2,{day} 12:00:00,2.55,{customer},UK"
        write_day(landing_root, "returning.csv", (",".join(HEADER) + "\n" + returning + "\n").encode(), day)
    warehouse = Lakehouse(warehouse_root=str(tmp_path / "plain"))
    root = Path(warehouse.warehouse_root)
    history = DateRange(days.start, date(2011, 1, 6))

    written = plain_pyspark.run(spark, landing_root, root, history)
    stored = {table: warehouse.read(spark, table).count() for table in (ORDER_TRANSACTIONS, ORDERS_CLEANED)}
    new_days = plain_pyspark.run_on_history(spark, landing_root, root, DateRange(date(2011, 1, 7), days.end))
    rerun = plain_pyspark.run_on_history(spark, landing_root, root, DateRange(date(2011, 1, 5), date(2011, 1, 5)))

    assert (written["bronze"], written["silver"]) == (stored[ORDER_TRANSACTIONS], stored[ORDERS_CLEANED])
    assert (written["gold"], new_days["gold"], rerun["gold"]) == (4, 3, 1)
    lines = distinct_valid_lines(landing_root)
    gold = {row["order_date"]: row.asDict() for row in warehouse.read(spark, SALES_METRICS).collect()}
    assert gold == expected_sales_metrics(lines, days.days(), expected_day_status(landing_root, days.days()))
    assert all(gold[day]["returning_customers"] >= 1 for day in (date(2011, 1, 5), date(2011, 1, 7)))
    source_rows = sum(len(path.read_text().splitlines()) - 1 for path in landing_root.glob("raw/**/*.csv"))
    assert warehouse.read(spark, ORDER_TRANSACTIONS).count() == source_rows
    assert warehouse.read(spark, ORDERS_CLEANED).count() == len(lines)
    engines = {warehouse.history(table)[0].engine for table in (ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS)}
    assert all("Delta-Lake" in engine for engine in engines), "the baseline writes with the pipeline's engine"


def test_the_local_session_jvm_runs_with_the_resources_java_options(test_spark, spark):
    jvm_arguments = list(spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())

    assert test_spark.java_options and set(test_spark.java_options.split()) <= set(jvm_arguments)


def test_the_warm_day_measures_the_plain_scripts_three_tables_and_nothing_else():
    warm_one_day = load_script("warm_one_day")

    materialized = {key for asset in warm_one_day.core_assets() for key in asset.keys}

    assert materialized == {
        AssetKey(list(table.parts)) for table in (ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS)
    }


def test_the_minimal_script_counts_every_distinct_typed_line_of_the_landing_files(spark, landing_root, tmp_path):
    minimal_pyspark = load_script("minimal_pyspark")
    days = DateRange(date(2011, 1, 3), date(2011, 1, 9))
    generate(landing_root, days, seed=7)
    warehouse = Lakehouse(warehouse_root=str(tmp_path / "minimal"))

    minimal_pyspark.run(spark, landing_root, Path(warehouse.warehouse_root), days)

    distinct = set()
    for path in landing_root.glob("raw/**/*.csv"):
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                try:
                    typed = (int(row["Quantity"]), float(row["UnitPrice"]), row["InvoiceDate"][:10])
                except ValueError:
                    continue
                distinct.add((row["InvoiceNo"], row["StockCode"], *typed, row["CustomerID"] or None, row["Country"]))
    units = {}
    for _, _, quantity, _, day, _, _ in distinct:
        if quantity > 0:
            units[date.fromisoformat(day)] = units.get(date.fromisoformat(day), 0) + quantity
    gold = {row["order_date"]: row["units_sold"] for row in warehouse.read(spark, SALES_METRICS).collect()}
    assert gold == units and units, "every typed line counted once, on its day"
