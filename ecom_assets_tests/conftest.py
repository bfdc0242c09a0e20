"""Shared fixtures: one real local Spark session with Delta Lake, moto's S3 server, temporary landing and warehouse."""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyspark
import pytest
from dagster import DagsterInstance, ResourceDefinition, materialize
from pyspark.sql import SparkSession

from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.sales.bronze import order_transactions
from ecom_assets.sales.business_rules import BusinessRules
from ecom_assets.sales.gold import sales_metrics
from ecom_assets.sales.silver import orders_cleaned
from ecom_assets_tests.servers import TEST_AWS_ENVIRONMENT, moto_server, postgres_program, postgres_server
from resources import Lakehouse, LocalLandingZone, LocalSparkSession
from resources.instance_storage import EVENT_BATCH_SIZE_ENV
from resources.spark import SESSION_SETTINGS

BIN = Path(sys.executable).parent
"""The virtualenv's console scripts (dagster, ecom-sample, ...), as the tests run them."""
POSTGRES_INSTANCE_CONFIG = Path(__file__).resolve().parents[1] / "instance" / "postgres.yaml"
"""The documented `dagster.yaml` of a team's instance on PostgreSQL."""

SHARED_DAYS = Path(__file__).resolve().parents[2] / "shared" / "data" / "online-retail" / "by-day"
PIPELINE_ASSETS = [order_transactions, orders_cleaned, sales_metrics]
ON_RUNTIME_SPARK = not pyspark.__version__.startswith("4.2.")
"""True when this suite runs on the Databricks Runtime's Spark instead of the pipeline's (test_runtime_parity.py)."""


HEAVIEST_FILES = (
    "test_feeds.py",
    "test_pipeline.py",
    "test_dashboards_in_browser.py",
    "test_databricks.py",
    "test_business_pipeline.py",
    "test_ui_e2e.py",
    "test_s3.py",
    "test_runtime_parity.py",
    "test_product_history.py",
    "test_hostile_run.py",
    "test_dev_commands.py",
    "test_clickstream_pipeline.py",
    "test_clickstream_ingestion.py",
    "test_stripe_pipeline.py",
    "test_quarantine.py",
    "test_lakehouse.py",
    "test_quality.py",
    "test_shopify_pipeline.py",
    "test_shared_data.py",
)
"""Test files by measured wall time, longest first (each 1.5-14 minutes of one worker on 2 cores; the full suite of
f044259 with --durations=0, the dashboards file with the demo test it took over)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the longest files first, so that with one file per worker (`--dist loadfile`) no long
    file starts last and holds up the end of the suite; the order within a file is kept."""

    def weight(item: pytest.Item) -> int:
        name = item.path.name
        return HEAVIEST_FILES.index(name) if name in HEAVIEST_FILES else len(HEAVIEST_FILES)

    items.sort(key=weight)


def pytest_report_header() -> str:
    """Name the Spark the suite runs on (the runtime-parity test looks for it)."""
    return f"pyspark {pyspark.__version__}"


@pytest.fixture(scope="session")
def test_spark() -> LocalSparkSession:
    """The local Spark resource of the tests: Delta Lake, and hadoop-aws for `s3a://` paths (pointed at moto's
    server only when a test asks for `s3_endpoint`, so a test that uses no S3 starts none)."""
    return LocalSparkSession(
        master="local[2]",
        shuffle_partitions=2,
        driver_memory="2g",
        java_options="-Xss4m",  # a marker the JVM-options test looks for; the JVM's own JIT otherwise
        s3=True,
    )


@pytest.fixture(scope="session")
def s3_endpoint(spark: SparkSession) -> Iterator[str]:
    """moto's S3 server on loopback for the whole test session, with its test credentials in the environment and
    the session's S3A pointed at it."""
    saved = {name: os.environ.get(name) for name in TEST_AWS_ENVIRONMENT}
    os.environ.update(TEST_AWS_ENVIRONMENT)
    try:
        with moto_server() as endpoint:
            hadoop = spark.sparkContext._jsc.hadoopConfiguration()
            for key, value in S3_ENDPOINT_SETTINGS.items():
                hadoop.set(key, endpoint if value is None else value)
            # the JVM may have started before these variables were set: its S3A takes the keys from its settings
            hadoop.set("fs.s3a.access.key", TEST_AWS_ENVIRONMENT["AWS_ACCESS_KEY_ID"])
            hadoop.set("fs.s3a.secret.key", TEST_AWS_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"])
            yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


S3_ENDPOINT_SETTINGS = {
    "fs.s3a.endpoint": None,
    "fs.s3a.path.style.access": "true",
    "fs.s3a.connection.ssl.enabled": "false",
}
"""What a session's S3A needs to reach moto's server (None: the endpoint's address)."""


@pytest.fixture(scope="session")
def spark(request: pytest.FixtureRequest) -> SparkSession:
    """The real in-process Spark session every test shares (one JVM per test process).

    On the Databricks Runtime's Spark it is a plain session with the settings every cluster
    session of the pipeline gets (`SESSION_SETTINGS`), as `ClusterSparkSession` sets them.
    """
    if not ON_RUNTIME_SPARK:
        return request.getfixturevalue("test_spark").get_session()
    builder = SparkSession.builder.master("local[2]").config("spark.driver.bindAddress", "127.0.0.1")
    for key, value in {**SESSION_SETTINGS, "spark.sql.shuffle.partitions": "2"}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@contextmanager
def fresh_dagster_home(fallback_parent: Path) -> Iterator[Path]:
    """An empty DAGSTER_HOME, in memory (/dev/shm) where the machine has it, removed afterwards.

    Dagster's SQLite event log commits every event on its own; on disk that is ~10 ms each, which
    the end-to-end tests' many check evaluations would spend waiting for the disk.
    """
    shm = Path("/dev/shm")
    parent = shm if shm.is_dir() and os.access(shm, os.W_OK) else fallback_parent
    home = Path(tempfile.mkdtemp(prefix="ecom-dagster-home-", dir=parent))
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def dagster_home(tmp_path: Path) -> Iterator[Path]:
    """A test's own empty DAGSTER_HOME (see `fresh_dagster_home`)."""
    with fresh_dagster_home(tmp_path) as home:
        yield home


@pytest.fixture
def postgres_dagster_home(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A DAGSTER_HOME with the documented PostgreSQL `dagster.yaml`, on a real PostgreSQL server this fixture
    starts on 127.0.0.1 and stops; yields the home and the environment variables holding the credentials.
    Skipped where PostgreSQL is not installed (`.ci/run` installs it)."""
    if postgres_program("initdb") is None:
        pytest.skip("PostgreSQL's server programs are not installed (Debian: apt-get install postgresql)")
    with postgres_server() as credentials:
        home = tmp_path / "postgres_dagster_home"
        home.mkdir()
        shutil.copy(POSTGRES_INSTANCE_CONFIG, home / "dagster.yaml")
        yield home, credentials


@pytest.fixture
def postgres_instance(postgres_dagster_home, monkeypatch) -> Iterator[tuple[DagsterInstance, dict[str, str]]]:
    """The documented PostgreSQL instance, its credentials in the environment only (as a deployment sets them);
    yields it and the credentials."""
    home, credentials = postgres_dagster_home
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    # the instance turns Dagster's event batching on for the process; restore the variable as it was afterwards
    monkeypatch.setenv(EVENT_BATCH_SIZE_ENV, os.environ.get(EVENT_BATCH_SIZE_ENV, ""))
    monkeypatch.delenv(EVENT_BATCH_SIZE_ENV)
    with DagsterInstance.from_config(str(home)) as instance:
        yield instance, credentials


@pytest.fixture
def landing_root(tmp_path: Path) -> Path:
    """An empty landing root; files go to `raw/ecommerce_sales/YYYY/MM/DD/`."""
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def lakehouse(tmp_path: Path) -> Lakehouse:
    """Delta tables by path in an empty temporary warehouse folder."""
    return Lakehouse(warehouse_root=str(tmp_path / "warehouse"))


def day_runner(test_spark: LocalSparkSession, landing_root: Path, lakehouse: Lakehouse):
    """A function materializing bronze, silver and gold (or the given assets) for a range of days as one run,
    on its own ephemeral instance; returns the result.

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
        "spark": test_spark,
        "landing": LocalLandingZone(root=str(landing_root)),
        "quality": DataQualityPolicy(),
        "business_rules": BusinessRules(),
        "step_launcher": ResourceDefinition.none_resource(),
    }
    return run


@pytest.fixture
def run_days(spark, test_spark: LocalSparkSession, landing_root: Path, lakehouse: Lakehouse):
    """A test's `day_runner` over its own landing root and warehouse."""
    return day_runner(test_spark, landing_root, lakehouse)
