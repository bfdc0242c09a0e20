"""The daily schedule, the landing sensor and the maintenance job."""

import json
import os
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    EventRecordsFilter,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)
from dagster._core.test_utils import create_run_for_test

from ecom_assets.definitions import defs
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.tables import asset_key
from ecom_assets.sales.jobs import REMEMBERED_DAYS, daily_sales_schedule, landing_file_sensor
from ecom_assets.sales.sample_data import generate
from ecom_assets.sales.tables import ORDER_TRANSACTIONS
from ecom_assets_tests.conftest import BIN
from resources import LocalLandingZone
from resources.landing import day_folder, landing_day


def schedule_tick(landing_root, instance, day_after: date):
    """The daily schedule's tick at 03:00 UTC of `day_after`."""
    schedule = defs.get_schedule_def(daily_sales_schedule.name)
    with build_schedule_context(
        instance=instance,
        scheduled_execution_time=datetime.combine(day_after, datetime.min.time(), tzinfo=UTC) + timedelta(hours=3),
        resources={"landing": LocalLandingZone(root=str(landing_root))},
        repository_def=defs.get_repository_def(),
    ) as context:
        return schedule.evaluate_tick(context)


def test_the_03_00_utc_tick_targets_the_previous_day(landing_root):
    schedule = defs.get_schedule_def(daily_sales_schedule.name)
    assert schedule.cron_schedule == "0 3 * * *" and schedule.execution_timezone == "UTC"
    with instance_for_test() as instance:
        requests = schedule_tick(landing_root, instance, date(2011, 1, 5)).run_requests
    assert [request.partition_key for request in requests] == ["2011-01-04"]
    assert schedule.job_name == "daily_sales_job"


def evaluate(landing_root, cursor, instance=None):
    context = build_sensor_context(
        instance=instance or DagsterInstance.ephemeral(),
        cursor=cursor,
        resources={"landing": LocalLandingZone(root=str(landing_root))},
    )
    result = landing_file_sensor(context)
    return result.run_requests or [], result.cursor


def test_the_schedule_and_the_landing_sensor_never_run_one_delivery_twice(landing_root):
    day = date(2011, 1, 4)
    generate(landing_root, DateRange(day, day))
    delivered = time.time() - 120  # two minutes before the runs below are created
    for path in (landing_root / day_folder(day)).glob("*.csv"):
        os.utime(path, (delivered, delivered))
    with instance_for_test() as instance:
        check_one_run_per_delivery(landing_root, instance, day)


def check_one_run_per_delivery(landing_root, instance, day):
    """The schedule's tick and the sensor's, as runs of the day are launched and a file is re-delivered."""

    def launched(status):
        return create_run_for_test(
            instance, job_name="daily_sales_job", tags={"dagster/partition": day.isoformat()}, status=status
        )

    assert [r.partition_key for r in schedule_tick(landing_root, instance, day + timedelta(days=1)).run_requests] == [
        day.isoformat()
    ]
    launched(DagsterRunStatus.FAILURE)
    assert schedule_tick(landing_root, instance, day + timedelta(days=1)).run_requests, "a failed run covers nothing"
    launched(DagsterRunStatus.STARTED)  # the schedule's run, in progress

    requests, cursor = evaluate(landing_root, None, instance)
    assert requests == [], "the sensor sees the delivery the schedule's run is processing"
    skipped = schedule_tick(landing_root, instance, day + timedelta(days=1))
    assert not skipped.run_requests and "already has run" in skipped.skip_message

    day_file = next((landing_root / day_folder(day)).glob("*.csv"))
    day_file.write_bytes(
        day_file.read_bytes() + b"537999,85123A,LATE LINE,1,2011-01-04 18:00:00,2.55,,United Kingdom\n"
    )
    os.utime(day_file, (time.time() + 5, time.time() + 5))
    assert [r.partition_key for r in evaluate(landing_root, cursor, instance)[0]] == [day.isoformat()], (
        "a re-delivery after that run is a new delivery"
    )


def test_landing_sensor_runs_new_and_redelivered_files_once_and_unchanged_ones_never(landing_root):
    generate(landing_root, DateRange(date(2011, 1, 4), date(2011, 1, 5)))
    requests, cursor = evaluate(landing_root, None)
    assert sorted(r.partition_key for r in requests) == ["2011-01-04", "2011-01-05"]

    assert evaluate(landing_root, cursor)[0] == [], "nothing changed: no run"

    day_file = next((landing_root / day_folder(date(2011, 1, 5))).glob("*.csv"))
    content = day_file.read_bytes()
    day_file.write_bytes(content)
    os.utime(day_file, (time.time() + 5, time.time() + 5))
    requests, cursor = evaluate(landing_root, cursor)
    assert requests == [], "same content delivered again: nothing new to process"

    day_file.write_bytes(content + b"537999,85123A,LATE LINE,1,2011-01-05 18:00:00,2.55,,United Kingdom\n")
    requests, cursor_after = evaluate(landing_root, cursor)
    assert [r.partition_key for r in requests] == ["2011-01-05"]
    assert evaluate(landing_root, cursor_after)[0] == [], "the cursor remembers the re-delivery"
    first_key = requests[0].run_key
    assert evaluate(landing_root, cursor)[0][0].run_key == first_key, "run key is stable for the same delivery"


def test_the_landing_sensor_cursor_stays_bounded_and_still_sees_a_late_correction_of_an_old_day(landing_root):
    generate(landing_root, DateRange(date(2011, 1, 4), date(2011, 6, 30)))
    requests, cursor = evaluate(landing_root, None)
    assert len(requests) > 120
    remembered = {landing_day(path) for path in json.loads(cursor)["files"]}
    assert min(remembered) >= date(2011, 6, 30) - timedelta(days=REMEMBERED_DAYS), "only the recent days"

    assert evaluate(landing_root, cursor)[0] == [], "forgotten old files do not run again"

    old_file = next((landing_root / day_folder(date(2011, 1, 4))).glob("*.csv"))
    old_file.write_bytes(
        old_file.read_bytes() + b"537999,85123A,LATE LINE,1,2011-01-04 18:00:00,2.55,,United Kingdom\n"
    )
    os.utime(old_file, (time.time() + 5, time.time() + 5))
    requests, cursor = evaluate(landing_root, cursor)
    assert [r.partition_key for r in requests] == ["2011-01-04"]
    assert evaluate(landing_root, cursor)[0] == []


def test_landing_sensor_waits_for_a_day_whose_partition_does_not_exist_yet(landing_root):
    future = date.today() + timedelta(days=400)
    folder = landing_root / day_folder(future)
    folder.mkdir(parents=True)
    (folder / "early.csv").write_text("InvoiceNo\n")
    requests, cursor = evaluate(landing_root, None)
    assert requests == [] and "early.csv" not in cursor


@pytest.mark.slow  # a CLI process with its own Spark; test_lakehouse covers compacting and vacuuming in the quick tier
def test_maintenance_in_a_process_of_its_own_compacts_and_vacuums_tables(spark, lakehouse, tmp_path):
    """Launched as its schedule launches it: a fresh process (`dagster job execute`), which starts its own Spark."""
    for day in range(1, 4):  # three small files, as three daily writes leave them
        rows = spark.range(5).selectExpr("id", f"date'2011-01-0{day}' AS landing_date")
        rows.write.format("delta").mode("append").save(lakehouse.location(ORDER_TRANSACTIONS))
    rows_before = lakehouse.read(spark, ORDER_TRANSACTIONS).count()
    bronze_files = Path(lakehouse.location(ORDER_TRANSACTIONS))
    on_disk_before = {path for path in bronze_files.rglob("*.parquet") if "_delta_log" not in path.parts}
    before = lakehouse.file_count(ORDER_TRANSACTIONS)
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = tmp_path / "maintenance.yaml"
    config.write_text(json.dumps({"ops": {"compact_and_vacuum_tables": {"config": {"retention_hours": 0}}}}))

    completed = subprocess.run(
        [BIN / "dagster", "job", "execute", "-m", "ecom_assets.definitions", "-j", "lakehouse_maintenance_job"]
        + ["-c", config],
        env={**os.environ, "DAGSTER_HOME": str(home), "ECOM_WAREHOUSE_ROOT": lakehouse.warehouse_root},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    with DagsterInstance.from_config(str(home)) as instance:
        (observation,) = [
            record.event_log_entry.asset_observation
            for record in instance.get_event_records(
                EventRecordsFilter(DagsterEventType.ASSET_OBSERVATION, asset_key=asset_key(ORDER_TRANSACTIONS))
            )
        ]
    bronze = observation.metadata
    on_disk_after = {path for path in bronze_files.rglob("*.parquet") if "_delta_log" not in path.parts}
    assert bronze["files_before"].value == before
    assert bronze["files_after"].value == len(on_disk_after) < len(on_disk_before)
    assert bronze["files_vacuumed"].value == len(on_disk_before - on_disk_after) > 0
    assert lakehouse.read(spark, ORDER_TRANSACTIONS).count() == rows_before
    retention = spark.sql(f"SHOW TBLPROPERTIES {lakehouse.identifier(ORDER_TRANSACTIONS)}").collect()
    assert ("delta.deletedFileRetentionDuration", "interval 0 hours") in [tuple(row) for row in retention]
