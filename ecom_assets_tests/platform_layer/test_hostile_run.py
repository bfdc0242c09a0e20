"""One real run over a landing zone full of hostile and careless deliveries (generated here, never committed).

Every hostile input is rejected with its reason, the other days reach gold, a planted secret (in
the environment and in a file outside the landing root) appears nowhere the pipeline writes, and
the run and a sensor tick stay within stated memory bounds (measured and printed).
"""

import json
import os
import resource
import tracemalloc
from datetime import date
from pathlib import Path

import pytest
from dagster import AssetMaterialization, DagsterInstance, ResourceDefinition, build_sensor_context, materialize

from ecom_assets.api_sources.standins import free_port
from ecom_assets.cli.report import read_range, render_report
from ecom_assets.cli.run_summary import render, summarize, write_email_previews
from ecom_assets.feeds.batches import FEED_BRONZE_ASSETS, FEED_SILVER_ASSETS
from ecom_assets.feeds.contract import feed_file_path, trigger_path
from ecom_assets.feeds.jobs import FEEDS_AWAIT, feed_trigger_sensor
from ecom_assets.feeds.sample_data import write_batch, write_feeds_for_sales
from ecom_assets.feeds.validation import validation_results
from ecom_assets.platform.alerts import check_failure_email_sensor
from ecom_assets.platform.checks import RESULTS_SCHEMA
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.errors import ETL_ERROR_COLUMNS
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.platform.tables import DATA_QUALITY_RESULTS, ETL_ERRORS, asset_key
from ecom_assets.sales.bronze import order_transactions
from ecom_assets.sales.business_rules import BusinessRules
from ecom_assets.sales.gold import sales_metrics
from ecom_assets.sales.jobs import landing_file_sensor
from ecom_assets.sales.sample_data import generate
from ecom_assets.sales.silver import orders_cleaned
from ecom_assets.sales.tables import SALES_METRICS
from ecom_assets_tests.conftest import fresh_dagster_home
from ecom_assets_tests.leaks import files_holding, tables_holding
from ecom_assets_tests.mail import mailer, smtp_server
from resources import Lakehouse, LocalLandingZone, Settings
from resources.landing import QUARANTINE_PREFIX, day_folder
from resources.table_reader import TableReader

pytestmark = pytest.mark.slow

MARKER = "HOSTILE-7f3a9c-SECRET"
"""Planted in the environment (under a secret's name and a plain one) and in a file outside the landing root."""
RANGE = DateRange(date(2011, 1, 4), date(2011, 1, 14))
LINK_DAY, FIELD_DAY, COLUMNS_DAY, HUGE_DAY, VANISH_DAY = (date(2011, 1, d) for d in (4, 5, 6, 7, 10))
TRAVERSAL_DAY, NESTED_DAY, INFINITY_DAY, MANY_FILES_DAY = LINK_DAY, FIELD_DAY, COLUMNS_DAY, HUGE_DAY
HOSTILE_SALES_DAYS = {LINK_DAY, FIELD_DAY, COLUMNS_DAY, HUGE_DAY, VANISH_DAY}
HUGE_BYTES = 300 * 1024 * 1024
RUN_GROWTH_BOUND = 350e6
"""The run may grow the test process by this much at most; reading the 300 MB line whole would pass it."""
TICK_BOUND = 32e6


class VanishingLandingZone(LocalLandingZone):
    """The local landing zone, but the file named `vanishing.csv` is deleted just before it is opened (a partner
    withdrawing a file between the listing and its reading)."""

    def open(self, path):
        if path.endswith("/vanishing.csv"):
            Path(path).unlink(missing_ok=True)
        return super().open(path)


def _trigger(day: date, files: list[dict] | str) -> bytes:
    if isinstance(files, str):
        return files.encode()
    document = {"batch_id": f"h-{day}", "business_date": day.isoformat(), "created_at": f"{day}T23:00:00"}
    return json.dumps(document | {"files": files}).encode()


def _plant(root: Path, outside: Path) -> None:
    """Put the hostile corpus into a landing zone holding a clean sample with its feeds."""
    sales = {day: root / day_folder(day) for day in HOSTILE_SALES_DAYS}
    (sales[LINK_DAY] / "leak.csv").symlink_to(outside)
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    wide = f'536999,85123A,"{"W" * 200_000}",1,2011-01-05 10:00:00,2.55,17850.0,United Kingdom\n'
    (sales[FIELD_DAY] / "wide_field.csv").write_text(header + wide)
    (sales[COLUMNS_DAY] / "many_columns.csv").write_text(",".join(f"c{n}" for n in range(50_000)) + "\n1,2\n")
    with open(sales[HUGE_DAY] / "huge.csv", "wb") as huge:
        for _ in range(HUGE_BYTES // (1 << 20)):
            huge.write(b"H" * (1 << 20))
    (sales[VANISH_DAY] / "vanishing.csv").write_text(header + "536998,71053,LANTERN,1,2011-01-10 09:00,3.39,,UK\n")
    hostile_triggers = {
        TRAVERSAL_DAY: _trigger(
            TRAVERSAL_DAY,
            [
                {"domain": "products", "path": "../../outside/secret.csv", "rows": 1, "sha256": "0" * 64},
                {
                    "domain": "customers",
                    "path": "../../../../../../../../proc/self/environ",
                    "rows": 1,
                    "sha256": "0" * 64,
                },
            ],
        ),
        NESTED_DAY: _trigger(NESTED_DAY, "[" * 100_000),
        INFINITY_DAY: _trigger(
            INFINITY_DAY,
            [
                {
                    "domain": "shipping",
                    "path": feed_file_path("shipping", INFINITY_DAY),
                    "rows": "INF",
                    "sha256": "0" * 64,
                }
            ],
        ).replace(b'"INF"', b"Infinity"),
        MANY_FILES_DAY: _trigger(
            MANY_FILES_DAY,
            [
                {"domain": "products", "path": f"products/f{n}.csv", "rows": 0, "sha256": "0" * 64}
                for n in range(100_000)
            ],
        ),
    }
    for day, content in hostile_triggers.items():
        (root / "raw" / trigger_path(day)).write_bytes(content)


def _python_peak_after_reset() -> int:
    """Reset this process's peak resident size (Linux `clear_refs`); returns the resident size now, in bytes."""
    Path("/proc/self/clear_refs").write_text("5")
    return _proc_status("VmRSS")


def _proc_status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _tick_peak(sensor, instance, landing, cursor=None):
    tracemalloc.start()
    try:
        with build_sensor_context(instance=instance, resources={"landing": landing}, cursor=cursor) as context:
            result = sensor(context)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_hostile_landing_zone_costs_its_inputs_and_nothing_else(
    spark, test_spark, tmp_path, monkeypatch, capfd, caplog
):
    monkeypatch.setenv("ECOM_HOSTILE_TEST_PASSWORD", MARKER)
    monkeypatch.setenv("ECOM_HOSTILE_PLAIN_VALUE", MARKER[::-1])
    outside = tmp_path / "outside" / "secret.csv"
    outside.parent.mkdir()
    outside.write_text(f"{MARKER},{MARKER[::-1]}\n{MARKER},{MARKER[::-1]}\n")  # a header that would be quoted
    root = tmp_path / "landing"
    generate(root, RANGE, seed=5)
    write_feeds_for_sales(root, days=RANGE)
    _plant(root, outside)
    landing = VanishingLandingZone(root=str(root))
    warehouse = tmp_path / "warehouse"
    lakehouse = Lakehouse(warehouse_root=str(warehouse))

    with fresh_dagster_home(tmp_path) as home, DagsterInstance.from_config(str(home)) as instance:
        sales_tick, sales_tick_peak = _tick_peak(landing_file_sensor, instance, LocalLandingZone(root=str(root)))
        for table in FEEDS_AWAIT:
            for day in RANGE:
                instance.report_runless_asset_event(AssetMaterialization(asset_key(table), partition=day.isoformat()))
        feed_tick, feed_tick_peak = _tick_peak(feed_trigger_sensor, instance, landing)

        rss_before = _python_peak_after_reset()
        result = materialize(
            [
                order_transactions,
                orders_cleaned,
                sales_metrics,
                *FEED_BRONZE_ASSETS,
                *FEED_SILVER_ASSETS,
                validation_results,
            ],
            instance=instance,
            resources={
                "spark": test_spark,
                "landing": landing,
                "lakehouse": lakehouse,
                "quality": DataQualityPolicy(),
                "business_rules": BusinessRules(),
                "step_launcher": ResourceDefinition.none_resource(),
            },
            tags={
                "dagster/asset_partition_range_start": RANGE.start.isoformat(),
                "dagster/asset_partition_range_end": RANGE.end.isoformat(),
            },
            raise_on_error=False,
        )
        run_growth = _proc_status("VmHWM") - rss_before
        print(
            f"\npeak Python memory: landing sensor tick {sales_tick_peak / 1e6:.1f} MB, trigger sensor tick"
            f" {feed_tick_peak / 1e6:.1f} MB; the run grew the process by {run_growth / 1e6:.0f} MB at its peak"
            f" (resident before: {rss_before / 1e6:.0f} MB; the largest input: a {HUGE_BYTES / 1e6:.0f} MB line);"
            f" children's peak (the Spark JVM): {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e3:.0f} MB"
        )
        assert sales_tick_peak < TICK_BOUND and feed_tick_peak < TICK_BOUND
        assert run_growth < RUN_GROWTH_BOUND
        assert result.success, "no hostile input fails the run"
        sales_days = {request.partition_key for request in sales_tick.run_requests}
        assert {day.isoformat() for day in HOSTILE_SALES_DAYS} <= sales_days, "hostile files still launch their days"
        assert len(feed_tick.run_requests) == len(RANGE), "every day's trigger, hostile or not, gets its run"

        checks = {(e.asset_key.path[-1], e.check_name, e.partition): e for e in result.get_asset_check_evaluations()}
        header = {
            day: checks[("order_transactions", "header_conformity", day.isoformat())] for day in HOSTILE_SALES_DAYS
        }
        assert "symbolic link" in header[LINK_DAY].description
        assert "line 2 is longer than the limit of 65536" in header[FIELD_DAY].description
        assert "line 1 is longer than the limit" in header[COLUMNS_DAY].description
        assert "line 1 is longer than the limit" in header[HUGE_DAY].description
        assert "vanished between the listing and its reading" in header[VANISH_DAY].description
        assert all(not check.passed for check in header.values())
        batch = {
            day: checks[("product_feed", "batch_complete", day.isoformat())]
            for day in (TRAVERSAL_DAY, NESTED_DAY, INFINITY_DAY, MANY_FILES_DAY)
        }
        assert "not the contract's path raw/products/2011/01/04" in str(batch[TRAVERSAL_DAY].metadata["observed"].value)
        assert "nested deeper" in batch[NESTED_DAY].description
        assert "Infinity is not a number" in batch[INFINITY_DAY].description
        assert "is larger than 1048576 bytes" in batch[MANY_FILES_DAY].description, "refused before it is parsed"

        gold = {row["order_date"]: row["day_status"] for row in lakehouse.read(spark, SALES_METRICS).collect()}
        clean_sales_days = {day for day in RANGE if (root / day_folder(day)).exists()} - HOSTILE_SALES_DAYS
        assert clean_sales_days and clean_sales_days <= set(gold), "the other days of the run reach gold"
        assert not HOSTILE_SALES_DAYS & set(gold), "no hostile day is shown in gold"
        errors = lakehouse.read(spark, ETL_ERRORS).groupBy("error_type").count().collect()
        assert {"refused_file", "file_kept_whole"} <= {row["error_type"] for row in errors}

        quarantine = root / day_folder(LINK_DAY, QUARANTINE_PREFIX)
        assert os.path.islink(quarantine / "leak.csv") and outside.read_text().startswith(MARKER)
        assert (root / day_folder(HUGE_DAY, QUARANTINE_PREFIX) / "huge.csv").stat().st_size == HUGE_BYTES
        assert (root / "raw" / trigger_path(NESTED_DAY)).exists(), "a refused trigger stays until it is re-sent"
        clean_feed_day = RANGE.end
        assert (root / "archive" / trigger_path(clean_feed_day)).exists(), "the other batches are archived"

        output = tmp_path / "output"
        summary = summarize(instance, result.run_id)
        settings = Settings(landing_root=str(root), warehouse_root=str(warehouse), output_root=output)
        (output / "summary.txt").parent.mkdir(parents=True)
        (output / "summary.txt").write_text(render(summary, settings, "http://127.0.0.1:3000"))
        write_email_previews(summary, output, "http://127.0.0.1:3000")
        reader = TableReader(settings)
        report = render_report(
            read_range(reader, DATA_QUALITY_RESULTS, RESULTS_SCHEMA.names, RANGE),
            read_range(reader, ETL_ERRORS, ETL_ERROR_COLUMNS, RANGE),
            RANGE,
        )
        (output / "dq-report.html").write_text(report)
        port = free_port()
        with smtp_server(port) as inbox:
            context = build_sensor_context(instance=instance, resources={"email": mailer(port)})
            check_failure_email_sensor(context)
        assert inbox.messages, "the failed checks were mailed"
        mails = "".join(message.as_string() for message in inbox.messages)
        event_log = "\n".join(str(entry) for entry in instance.all_logs(result.run_id))

        captured = capfd.readouterr()
        logs = captured.out + captured.err + "\n".join(record.getMessage() for record in caplog.records)
        for marker in (MARKER, MARKER[::-1]):
            assert tables_holding(spark, warehouse, marker) == {}, "no table holds the secret"
            assert files_holding(home, marker.encode()) == [], "the instance's storage does not hold it"
            assert files_holding(output, marker.encode()) == [], "neither the report, the summary nor the previews"
            assert marker not in mails and marker not in event_log and marker not in logs


def test_a_redelivery_landing_between_bronze_and_validation_stays_in_raw_for_its_own_run(spark, test_spark, tmp_path):
    root = tmp_path / "landing"
    day = date(2011, 1, 4)
    generate(root, DateRange(day, day), seed=5)
    write_feeds_for_sales(root, days=DateRange(day, day))
    lakehouse = Lakehouse(warehouse_root=str(tmp_path / "warehouse"))
    instance = DagsterInstance.ephemeral()

    def run(assets):
        return materialize(
            assets,
            instance=instance,
            partition_key=day.isoformat(),
            resources={
                "spark": test_spark,
                "landing": LocalLandingZone(root=str(root)),
                "lakehouse": lakehouse,
                "quality": DataQualityPolicy(),
                "step_launcher": ResourceDefinition.none_resource(),
            },
        )

    run([order_transactions, orders_cleaned, *FEED_BRONZE_ASSETS, *FEED_SILVER_ASSETS])
    loaded = (root / "raw" / trigger_path(day)).read_bytes()
    redelivered = write_batch(root, day, {"customers": [{"customer_id": "17850", "customer_tier": "gold"}]}, "again")

    run([validation_results])

    assert (root / "raw" / trigger_path(day)).read_bytes() != loaded
    assert json.loads((root / "raw" / trigger_path(day)).read_text())["batch_id"] == redelivered.batch_id
    assert not (root / "archive").exists(), "the re-delivery was never loaded, so nothing is archived"

    run([*FEED_BRONZE_ASSETS, *FEED_SILVER_ASSETS, validation_results])

    assert json.loads((root / "archive" / trigger_path(day)).read_text())["batch_id"] == "again"
    assert not (root / "raw" / trigger_path(day)).exists(), "its own run loaded and archived it"
