"""The landing zone on S3, against moto's S3-compatible server on 127.0.0.1 started by the tests."""

import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import boto3
import pytest
from dagster import DagsterInstance, ResourceDefinition, build_sensor_context, materialize

from ecom_assets.dates import DateRange
from ecom_assets.sample_data import generate
from ecom_assets.sensors import landing_file_sensor
from ecom_assets.tables import ETL_ERRORS, SALES_METRICS
from ecom_assets_tests.conftest import PIPELINE_ASSETS, TEST_SPARK
from ecom_assets_tests.dagster_dev import free_port
from resources import DataQualityPolicy, DeltaRsLakehouse, S3LandingZone, landing_from_environment

pytestmark = pytest.mark.slow
BUCKET = "ecom-landing"
DAYS = DateRange(date(2011, 1, 4), date(2011, 1, 5))


@pytest.fixture
def s3_endpoint(monkeypatch):
    """moto's S3 server (its own process, as delta-rs holds the GIL while it waits for S3) on loopback.

    Test credentials go into the environment; the server is stopped after the test.
    """
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = subprocess.Popen(
        [Path(sys.executable).parent / "moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "moto_server did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def uploaded(s3_endpoint, landing_root, monkeypatch):
    """Generated landing files uploaded with boto3 under `s3://ecom-landing/prod/raw/ecommerce_sales/...`."""
    generate(landing_root, DAYS, seed=17)
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(landing_root.rglob("*.csv")):
        client.upload_file(str(path), BUCKET, "prod/" + path.relative_to(landing_root).as_posix())
    monkeypatch.setenv("ECOM_LANDING_BUCKET", BUCKET)
    monkeypatch.setenv("ECOM_LANDING_PREFIX", "prod/")
    monkeypatch.setenv("ECOM_S3_ENDPOINT_URL", s3_endpoint)
    return client


def materialize_days(landing, lakehouse):
    """Bronze, silver and gold for DAYS as one run, from the given landing zone into the given lakehouse."""
    return materialize(
        PIPELINE_ASSETS,
        resources={
            "spark": TEST_SPARK,
            "landing": landing,
            "lakehouse": lakehouse,
            "quality": DataQualityPolicy(),
            "step_launcher": ResourceDefinition.none_resource(),
        },
        tags={
            "dagster/asset_partition_range_start": DAYS.start.isoformat(),
            "dagster/asset_partition_range_end": DAYS.end.isoformat(),
        },
    )


def test_days_materialize_from_s3_landing_files_like_from_a_folder(
    uploaded, tmp_path, spark, landing_root, lakehouse, run_days
):
    landing = landing_from_environment()
    assert isinstance(landing, S3LandingZone)
    assert (landing.bucket, landing.prefix, landing.stage_for_spark) == (BUCKET, "prod/", True)
    landing = S3LandingZone(s3=landing.s3, bucket=BUCKET, prefix="prod/", staging_dir=str(tmp_path / "staging"))
    s3_lakehouse = type(lakehouse)(warehouse_root=str(tmp_path / "s3_warehouse"))

    result = materialize_days(landing, s3_lakehouse)

    assert result.success
    assert run_days(DAYS).success  # the same files from the local folder
    assert sorted(s3_lakehouse.read(spark, SALES_METRICS).collect()) == sorted(
        lakehouse.read(spark, SALES_METRICS).collect()
    )
    assert not s3_lakehouse.exists(ETL_ERRORS), "nothing was rejected"
    staged = sorted(p.relative_to(tmp_path / "staging").as_posix() for p in (tmp_path / "staging").rglob("*.csv"))
    assert staged and all(p.startswith(f"{BUCKET}/prod/raw/ecommerce_sales/2011/01/0") for p in staged)


def test_the_landing_sensor_sees_new_and_redelivered_objects_on_s3(uploaded):
    landing = landing_from_environment()

    def tick(cursor):
        instance = DagsterInstance.ephemeral()
        with build_sensor_context(instance=instance, cursor=cursor, resources={"landing": landing}) as context:
            result = landing_file_sensor(context)
        return [r.partition_key for r in result.run_requests or []], result.cursor

    days, cursor = tick(None)
    assert days == ["2011-01-04", "2011-01-05"]
    assert tick(cursor)[0] == [], "nothing changed, nothing runs"
    key = next(o["Key"] for o in uploaded.list_objects_v2(Bucket=BUCKET)["Contents"] if "/2011/01/05/" in o["Key"])
    body = uploaded.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    uploaded.put_object(Bucket=BUCKET, Key=key, Body=body + body.splitlines(keepends=True)[1])
    assert tick(cursor)[0] == ["2011-01-05"], "a re-delivered object runs its day again"


def test_the_delta_rs_warehouse_can_live_on_s3(uploaded, s3_endpoint, tmp_path, spark, lakehouse, run_days):
    uploaded.create_bucket(Bucket="ecom-warehouse")
    landing = S3LandingZone(s3=landing_from_environment().s3, bucket=BUCKET, prefix="prod/", staging_dir=str(tmp_path))
    warehouse = DeltaRsLakehouse(warehouse_root="s3://ecom-warehouse/lakehouse")

    result = materialize_days(landing, warehouse)

    assert result.success
    keys = [o["Key"] for o in uploaded.list_objects_v2(Bucket="ecom-warehouse")["Contents"]]
    assert any(k.startswith("lakehouse/ecommerce_catalog/analytics/sales_metrics/_delta_log/") for k in keys)
    assert run_days(DAYS).success
    assert sorted(warehouse.read(spark, SALES_METRICS).collect()) == sorted(
        lakehouse.read(spark, SALES_METRICS).collect()
    )
