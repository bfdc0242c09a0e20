"""Shared fixtures: one real local Spark session, temporary landing and warehouse folders."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, ResourceDefinition, materialize
from pyspark.sql import SparkSession

from ecom_assets.assets.bronze import order_transactions
from ecom_assets.assets.gold import sales_metrics
from ecom_assets.assets.silver import orders_cleaned
from ecom_assets.dates import DateRange
from resources import BusinessRules, DataQualityPolicy, DeltaRsLakehouse, LocalLandingZone, LocalSparkSession

SHARED_DAYS = Path(__file__).resolve().parents[2] / "shared" / "data" / "online-retail" / "by-day"
PIPELINE_ASSETS = [order_transactions, orders_cleaned, sales_metrics]
TEST_SPARK = LocalSparkSession(master="local[2]", shuffle_partitions=2, driver_memory="2g")


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    """The real in-process Spark session every test shares (one JVM per test process)."""
    return TEST_SPARK.get_session()


@pytest.fixture
def dagster_home(tmp_path: Path) -> Iterator[Path]:
    """An empty DAGSTER_HOME, in memory (/dev/shm) where the machine has it, removed afterwards.

    Dagster's SQLite event log commits every event on its own; on disk that is ~10 ms each, which
    the end-to-end tests' many check evaluations would spend waiting for the disk.
    """
    shm = Path("/dev/shm")
    parent = shm if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path
    home = Path(tempfile.mkdtemp(prefix="ecom-dagster-home-", dir=parent))
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def landing_root(tmp_path: Path) -> Path:
    """An empty landing root; files go to `raw/ecommerce_sales/YYYY/MM/DD/`."""
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def lakehouse(tmp_path: Path) -> DeltaRsLakehouse:
    """A delta-rs lakehouse in an empty temporary warehouse folder."""
    return DeltaRsLakehouse(warehouse_root=str(tmp_path / "warehouse"))


@pytest.fixture
def run_days(spark, landing_root: Path, lakehouse: DeltaRsLakehouse):
    """Materialize bronze, silver and gold (or the given assets) for a range of days as one run; returns the result.

    `run.lakehouse` and `run.resources` may be replaced between runs (another warehouse, other rules).
    """
    instance = DagsterInstance.ephemeral()

    def run(days: DateRange, raise_on_error: bool = True, assets=PIPELINE_ASSETS):
        return materialize(
            assets,
            instance=instance,
            resources={**run.resources, "lakehouse": run.lakehouse},
            tags={
                "dagster/asset_partition_range_start": days.start.isoformat(),
                "dagster/asset_partition_range_end": days.end.isoformat(),
            },
            raise_on_error=raise_on_error,
        )

    run.instance = instance
    run.lakehouse = lakehouse
    run.resources = {
        "spark": TEST_SPARK,
        "landing": LocalLandingZone(root=str(landing_root)),
        "quality": DataQualityPolicy(),
        "business_rules": BusinessRules(),
        "step_launcher": ResourceDefinition.none_resource(),
    }
    return run
