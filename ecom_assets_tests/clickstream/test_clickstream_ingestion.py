"""Streaming ingestion of event files into bronze: every file appended once, across reruns and re-deliveries."""

import os
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dagster import DagsterInstance, Definitions, ResourceDefinition, build_sensor_context
from pyspark.sql import functions as F

from ecom_assets.clickstream.ingest import EVERY_LINE_INGESTED, clickstream_events_raw, every_line_ingested
from ecom_assets.clickstream.jobs import clickstream_file_sensor, clickstream_hourly_schedule, clickstream_ingest_job
from ecom_assets.clickstream.tables import CLICKSTREAM_EVENTS_RAW, FUNNEL_DAILY, FUNNEL_HOURLY
from ecom_assets.clickstream.transforms import (
    EVENT_FILES_GLOB,
    bronze_event_lines,
    event_file_stream,
)
from ecom_assets_tests.clickstream.landing import land_events
from ecom_assets_tests.conftest import BIN, fresh_dagster_home
from resources import LocalLandingZone
from resources.lakehouse import Lakehouse


def _event(minute: int, hour: int = 0, event_type: str = "view") -> str:
    return (
        f"2019-10-01 {hour:02d}:{minute:02d}:00 UTC,{event_type},1004237,2053013555631882655,"
        f"electronics.smartphone,apple,1081.98,535871217,8f5a3c1e-0000-4000-8000-00000000000{hour}"
    )


def _ingest(spark, lakehouse: Lakehouse, landing_root: Path):
    return lakehouse.append_new_from_stream(
        CLICKSTREAM_EVENTS_RAW, bronze_event_lines(event_file_stream(spark, str(landing_root / EVENT_FILES_GLOB)))
    )


def test_each_event_file_is_appended_once_across_reruns_and_a_redelivered_file_is_not_read_again(spark, tmp_path):
    landing = tmp_path / "landing"
    lakehouse = Lakehouse(warehouse_root=str(tmp_path / "warehouse"))
    first = land_events(landing, 0, "a.csv", _event(1), _event(2), _event(3, event_type="purchase"))
    land_events(landing, 1, "b.csv", _event(5, hour=1), _event(6, hour=1), _event(7, hour=1)[:40], end="")

    assert _ingest(spark, lakehouse, landing).rows == 6
    bronze = lakehouse.read(spark, CLICKSTREAM_EVENTS_RAW)
    assert bronze.count() == 6
    assert bronze.where(F.col("corrupt_record").isNotNull()).count() == 1, "the truncated line is kept whole"
    hours = {row.source_file.rsplit("/", 1)[-1]: row.landing_hour for row in bronze.collect()}
    assert hours == {"a.csv": datetime(2019, 10, 1, 0), "b.csv": datetime(2019, 10, 1, 1)}
    version = lakehouse.history(CLICKSTREAM_EVENTS_RAW, limit=1)[0].version

    assert _ingest(spark, lakehouse, landing).rows == 0, "a rerun without new files appends nothing"
    assert lakehouse.history(CLICKSTREAM_EVENTS_RAW, limit=1)[0].version == version

    first.write_text(first.read_text())  # the same file delivered again
    land_events(landing, 1, "c.csv", _event(9, hour=1))
    again = Lakehouse(warehouse_root=str(tmp_path / "warehouse"))  # a new query from the same checkpoint
    assert _ingest(spark, again, landing).rows == 1
    assert lakehouse.read(spark, CLICKSTREAM_EVENTS_RAW).count() == 7
    assert Path(lakehouse.checkpoint_location(CLICKSTREAM_EVENTS_RAW)).is_dir()
    assert lakehouse.checkpoint_location(CLICKSTREAM_EVENTS_RAW) == str(
        (tmp_path / "warehouse/ecommerce_catalog/raw/_checkpoints/clickstream_events").resolve()
    )


def test_streaming_into_a_table_by_catalog_name_keeps_its_checkpoint_under_the_configured_root():
    assert (
        Lakehouse(checkpoint_root="/Volumes/ecommerce_catalog/raw/checkpoints/").checkpoint_location(
            CLICKSTREAM_EVENTS_RAW
        )
        == "/Volumes/ecommerce_catalog/raw/checkpoints/ecommerce_catalog/raw/clickstream_events"
    )
    with pytest.raises(ValueError, match="needs a checkpoint_root"):
        Lakehouse().checkpoint_location(CLICKSTREAM_EVENTS_RAW)


def _appended(result) -> int:
    """The rows the run appended; its conservation check must have passed over the same rows."""
    [materialization] = result.asset_materializations_for_node(clickstream_events_raw.op.name)
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == EVERY_LINE_INGESTED and check.passed, check.description
    assert check.metadata["bronze_rows"].value == materialization.metadata["rows_appended"].value
    return materialization.metadata["rows_appended"].value


def test_the_file_sensor_starts_one_ingestion_per_landing_and_each_run_appends_only_the_new_files(
    spark, test_spark, tmp_path
):
    landing = LocalLandingZone(root=str(tmp_path / "landing"))
    resources = {
        "spark": test_spark,
        "landing": landing,
        "lakehouse": Lakehouse(warehouse_root=str(tmp_path / "warehouse")),
        "step_launcher": ResourceDefinition.none_resource(),
    }
    job = Definitions(
        assets=[clickstream_events_raw], jobs=[clickstream_ingest_job], resources=resources
    ).resolve_job_def(clickstream_ingest_job.name)
    with fresh_dagster_home(tmp_path) as dagster_home:
        instance = DagsterInstance.local_temp(str(dagster_home))

        def tick(cursor: str | None):
            return clickstream_file_sensor(
                build_sensor_context(instance=instance, resources={"landing": landing}, cursor=cursor)
            )

        assert tick(None).run_requests == [], "nothing landed yet"
        land_events(tmp_path / "landing", 0, "a.csv", _event(1), _event(2))
        land_events(tmp_path / "landing", 1, "b.csv", _event(5, hour=1))
        first = tick(None)
        [request] = first.run_requests
        assert request.tags["ecom/new_files"] == "2"
        waiting = instance.create_run_for_job(job)  # an ingestion run not finished yet
        assert tick(None).run_requests == [] and waiting.run_id in tick(None).skip_reason.skip_message
        instance.delete_run(waiting.run_id)

        assert _appended(job.execute_in_process(instance=instance, tags={"dagster/run_key": request.run_key})) == 3
        assert tick(first.cursor).run_requests == [], "the same files are not noticed twice"

        land_events(tmp_path / "landing", 2, "c.csv", _event(9, hour=2))
        [again] = tick(first.cursor).run_requests
        assert again.tags["ecom/new_files"] == "1" and again.run_key != request.run_key
        outside = land_events(tmp_path / "elsewhere", 3, "events.csv", _event(1, hour=3), _event(2, hour=3))
        link = tmp_path / "landing/raw/clickstream/2019/10/01/03"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(outside.parent, target_is_directory=True)  # an hour folder that is a link out of the root
        assert _appended(job.execute_in_process(instance=instance)) == 1, "nothing behind the link is appended"
        assert (tmp_path / "landing/quarantine/clickstream/2019/10/01/03").is_symlink() and not link.exists()
        assert _appended(job.execute_in_process(instance=instance)) == 0, "the hourly schedule's run with nothing new"
        instance.dispose()
    assert clickstream_hourly_schedule.cron_schedule == "5 * * * *"
    assert clickstream_hourly_schedule.execution_timezone == "UTC"


@pytest.mark.slow
def test_the_readme_commands_ingest_then_build_the_hours_then_the_day_through_the_dagster_cli(spark, tmp_path):
    landing = tmp_path / "data"
    land_events(landing, 0, "a.csv", _event(1), _event(2), _event(3, event_type="cart"))
    land_events(landing, 2, "b.csv", _event(4, hour=2, event_type="purchase"))
    with fresh_dagster_home(tmp_path) as dagster_home:
        env = {
            **os.environ,
            "ECOM_LANDING_ROOT": str(landing),
            "ECOM_WAREHOUSE_ROOT": str(landing / "warehouse"),
            "DAGSTER_HOME": str(dagster_home),
        }
        command = [BIN / "dagster", "asset", "materialize", "-m", "ecom_assets.definitions"]
        outputs = []
        for options in (
            ["--select", "group:clickstream_ingest"],
            ["--select", "group:clickstream", "--partition-range", "2019-10-01-00:00...2019-10-01-02:00"],
            ["--select", "group:clickstream_daily", "--partition", "2019-10-01"],
        ):
            completed = subprocess.run(
                [*command, *options], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600
            )
            assert completed.returncode == 0, completed.stderr[-3000:]
            outputs.append(completed.stderr)
    assert "appended 4 line(s)" in outputs[0]
    lakehouse = Lakehouse(warehouse_root=str(landing / "warehouse"))
    assert lakehouse.read(spark, CLICKSTREAM_EVENTS_RAW).count() == 4
    hourly = {row.hour.hour: row for row in lakehouse.read(spark, FUNNEL_HOURLY).collect()}
    assert {hour: row.sessions for hour, row in hourly.items()} == {0: 1, 1: 0, 2: 1}
    [day] = lakehouse.read(spark, FUNNEL_DAILY).collect()
    assert (day.event_date, day.sessions, day.purchases, day.hours_processed, day.day_status) == (
        date(2019, 10, 1),
        2,
        1,
        3,
        "partial",
    )


def test_the_conservation_check_names_a_file_whose_lines_differ_from_what_was_appended(spark, tmp_path):
    landing = LocalLandingZone(root=str(tmp_path / "landing"))
    lakehouse = Lakehouse(warehouse_root=str(tmp_path / "warehouse"))
    started = datetime.now(UTC)
    path = land_events(tmp_path / "landing", 0, "a.csv", _event(1), _event(2))
    land_events(tmp_path / "landing", 1, "b.csv", _event(5, hour=1))
    _ingest(spark, lakehouse, tmp_path / "landing")
    assert every_line_ingested(spark, lakehouse, landing, started).passed

    path.write_text(path.read_text() + _event(3) + "\n")  # rewritten after the stream read it: never re-read
    check = every_line_ingested(spark, lakehouse, landing, started)
    assert not check.passed and check.observed["files"] == 2
    assert check.observed["differing_files"] == {"2019/10/01/00/a.csv": {"bronze_rows": 2, "lines_in_file": 3}}
