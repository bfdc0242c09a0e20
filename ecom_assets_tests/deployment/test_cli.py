"""The whole thing through the command lines a user types: ecom-sample and dagster."""

import os
import subprocess
from datetime import date

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, EventRecordsFilter

from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.tables import asset_key
from ecom_assets.sales.tables import SALES_METRICS
from ecom_assets_tests.conftest import BIN
from ecom_assets_tests.reference import distinct_valid_lines, expected_day_status, expected_sales_metrics
from ecom_assets_tests.servers import postgres_connection
from resources import Lakehouse

pytestmark = pytest.mark.slow


def test_dagster_cli_materializes_a_partition_range_as_one_run_on_the_postgresql_instance(
    spark, tmp_path, postgres_instance
):
    instance, credentials = postgres_instance
    env = {
        **os.environ,
        "ECOM_LANDING_ROOT": str(tmp_path / "data"),
        "ECOM_WAREHOUSE_ROOT": str(tmp_path / "data" / "warehouse"),
        "DAGSTER_HOME": instance.root_directory,
    }
    subprocess.run(
        [
            BIN / "ecom-sample",
            "generate",
            "--start",
            "2011-01-03",
            "--end",
            "2011-01-05",
            "--landing-root",
            tmp_path / "data",
        ],
        check=True,
        env=env,
    )
    completed = subprocess.run(
        [
            BIN / "dagster",
            "asset",
            "materialize",
            "-m",
            "ecom_assets.definitions",
            "--select",
            f"*{'/'.join(SALES_METRICS.parts)}",  # gold and everything upstream of it
            "--partition-range",
            "2011-01-03...2011-01-05",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stderr.count("RUN_SUCCESS") == 1

    lakehouse = Lakehouse(warehouse_root=env["ECOM_WAREHOUSE_ROOT"])
    gold = {row["order_date"]: row.asDict() for row in lakehouse.read(spark, SALES_METRICS).collect()}
    days = DateRange(date(2011, 1, 3), date(2011, 1, 5))
    statuses = expected_day_status(tmp_path / "data", days.days())
    assert statuses[date(2011, 1, 3)] == "closed", "the range holds a bank holiday: no file, zero sales"
    assert gold == expected_sales_metrics(distinct_valid_lines(tmp_path / "data"), days.days(), statuses)

    instance_recorded_the_run_in_postgresql(instance, credentials, days)


def instance_recorded_the_run_in_postgresql(
    instance: DagsterInstance, credentials: dict[str, str], days: DateRange
) -> None:
    """The run, each day's materialization and check verdicts are in the PostgreSQL instance, and its password in
    none of the stored events or runs."""
    assert type(instance.run_storage).__module__.startswith("dagster_postgres")
    [run] = instance.get_runs()
    assert run.status == DagsterRunStatus.SUCCESS
    gold = instance.get_materialized_partitions(asset_key(SALES_METRICS))
    assert gold == {str(day) for day in days}
    checks = instance.get_event_records(EventRecordsFilter(DagsterEventType.ASSET_CHECK_EVALUATION), limit=10_000)
    judged = {
        (
            record.event_log_entry.dagster_event.asset_check_evaluation_data.asset_key,
            record.event_log_entry.dagster_event.asset_check_evaluation_data.partition,
        )
        for record in checks
    }
    assert {(asset_key(SALES_METRICS), str(day)) for day in days} <= judged
    connection = postgres_connection(credentials)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM event_logs")
            assert cursor.fetchone()[0] > 0
            cursor.execute(
                "SELECT (SELECT count(*) FROM event_logs WHERE event LIKE %s) + (SELECT count(*) FROM runs WHERE"
                " run_body LIKE %s)",
                (f"%{credentials['DAGSTER_PG_PASSWORD']}%",) * 2,
            )
            assert cursor.fetchone()[0] == 0
    finally:
        connection.close()
