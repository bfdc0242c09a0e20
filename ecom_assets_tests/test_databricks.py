"""ECOM_DEPLOYMENT=databricks against a Databricks REST stand-in on 127.0.0.1 that runs each step in a subprocess."""

import base64
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import requests
from dagster import DagsterEventType, DagsterInstance
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.errors import ResourceDoesNotExist
from databricks.sdk.service.jobs import SparkPythonTask, SubmitTask

from ecom_assets.dates import DateRange
from ecom_assets.sample_data import generate
from ecom_assets.tables import DIM_PROMOTIONS, SALES_METRICS
from ecom_assets_tests.databricks_standin import DatabricksStandIn
from resources import BusinessRules, DeltaRsLakehouse, deployment_resources
from resources.databricks import ClusterSparkSession, UnityCatalogLakehouse, step_launcher_config

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
DAY = DateRange(date(2011, 1, 4), date(2011, 1, 4))
TOKEN = "dapi-standin-token"


@pytest.fixture
def databricks(tmp_path):
    """The stand-in serving on loopback, and the environment that points the code location at it."""
    landing, warehouse = tmp_path / "databricks_landing", tmp_path / "databricks_warehouse"
    generate(landing, DAY, seed=21)
    environment = {
        **os.environ,
        "ECOM_DEPLOYMENT": "databricks",
        "ECOM_LAKEHOUSE": "delta_rs",
        "ECOM_LANDING_ROOT": str(landing),
        "ECOM_WAREHOUSE_ROOT": str(warehouse),
        "ECOM_DATABRICKS_POLL_SECONDS": "0.5",
        "ECOM_DATABRICKS_SECRET_SCOPE": "ecom-test",
        "DATABRICKS_TOKEN": TOKEN,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    (tmp_path / "dagster_home").mkdir()
    standin = DatabricksStandIn(
        root=tmp_path / "standin",
        environment=environment,
        secrets={"ecom-test": {"aws_access_key_id": "AKIASTANDIN", "aws_secret_access_key": "standin-secret"}},
    )
    environment["DATABRICKS_HOST"] = standin.start()
    try:
        yield standin, environment
    finally:
        standin.stop()


CORE_AND_CALENDAR = ",".join(
    [
        "ecommerce_catalog/raw/order_transactions",
        "ecommerce_catalog/processed/orders_cleaned",
        "ecommerce_catalog/analytics/sales_metrics",
        "ecommerce_catalog/processed/dim_promotions",
    ]
)
"""Bronze, silver, gold, and the asset that reads the promotions calendar shipped with the code."""


def step_failures(environment: dict) -> list[str]:
    """The error text of every STEP_FAILURE in the instance's event log.

    Read from the instance rather than the CLI's console output, which Dagster's compute-log
    capture can truncate under load.
    """
    with DagsterInstance.from_config(environment["DAGSTER_HOME"]) as instance:
        records = instance.get_records_for_run(
            instance.get_runs(limit=1)[0].run_id, of_type=DagsterEventType.STEP_FAILURE
        ).records
        return [record.event_log_entry.dagster_event.step_failure_data.error.to_string() for record in records]


def materialize(environment: dict, selection: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN / "dagster", "asset", "materialize", "-m", "ecom_assets.definitions", "--select", selection]
        + ["--partition", DAY.start.isoformat()],
        env=environment,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_each_step_runs_as_a_databricks_run_and_gold_matches_a_local_run(
    databricks, tmp_path, spark, lakehouse, run_days, landing_root
):
    standin, environment = databricks

    completed = materialize(environment, CORE_AND_CALENDAR, tmp_path)

    assert completed.returncode == 0, completed.stderr[-4000:]
    tasks = standin.submitted_tasks()
    assert len(tasks) == 4, "bronze, silver, gold and the calendar each ran as one submitted run"
    assert all(run.result_state == "SUCCESS" for run in standin.runs.values())
    main_files = [task["spark_python_task"]["python_file"] for task in tasks]
    assert all(f.startswith("dbfs:///dagster_staging/") and f.endswith("/databricks_step_main.py") for f in main_files)
    steps = [f.split("/")[-2] for f in main_files]
    assert [step for step in steps if "dim_promotions" not in step] == [
        "ecommerce_catalog__raw__order_transactions",
        "ecommerce_catalog__processed__orders_cleaned",
        "ecommerce_catalog__analytics__sales_metrics",
    ]
    cluster = tasks[0]["new_cluster"]
    assert cluster["autoscale"] == {"min_workers": 4, "max_workers": 16}
    assert cluster["node_type_id"] == "m5.large" and cluster["spark_version"].endswith("-scala2.12")
    assert any(lib.get("pypi", {}).get("package", "").startswith("deltalake==") for lib in tasks[0]["libraries"])
    assert standin.tokens == {TOKEN}
    step_stdouts = sorted((standin.dbfs / "dagster_staging").glob("*/*/stdout"))
    assert len(step_stdouts) == 4
    assert all("Running dagster job" in path.read_text() for path in step_stdouts), "each step ran in a subprocess"
    calendar = DeltaRsLakehouse(warehouse_root=environment["ECOM_WAREHOUSE_ROOT"]).read(spark, DIM_PROMOTIONS)
    assert calendar.count() == len(BusinessRules().promotions()), "the shipped calendar travelled with the code"

    remote = DeltaRsLakehouse(warehouse_root=environment["ECOM_WAREHOUSE_ROOT"])
    generate(landing_root, DAY, seed=21)
    assert run_days(DAY).success
    assert sorted(remote.read(spark, SALES_METRICS).collect()) == sorted(lakehouse.read(spark, SALES_METRICS).collect())


def test_a_failing_remote_step_fails_the_dagster_step_with_the_remote_error(databricks, tmp_path):
    standin, environment = databricks

    completed = materialize(environment, "ecommerce_catalog/processed/orders_cleaned", tmp_path)

    assert completed.returncode != 0
    (failure,) = step_failures(environment)
    assert "table ecommerce_catalog.raw.order_transactions does not exist yet" in failure
    assert [run.result_state for run in standin.runs.values()] == ["SUCCESS"], "the remote run ends, the step fails"


def test_a_databricks_run_that_does_not_succeed_fails_the_step_with_its_state_message(databricks, tmp_path):
    standin, environment = databricks
    standin.fail_next_run_with = "Cluster terminated. Reason: Spot instance lost"

    completed = materialize(environment, "ecommerce_catalog/raw/order_transactions", tmp_path)

    assert completed.returncode != 0
    (failure,) = step_failures(environment)
    assert "Spot instance lost" in failure


def test_the_deployment_switch_picks_the_resource_set_and_rejects_unknown_names(monkeypatch):
    monkeypatch.setenv("ECOM_DEPLOYMENT", "databricks")
    monkeypatch.delenv("ECOM_LAKEHOUSE", raising=False)
    monkeypatch.setenv("ECOM_DATABRICKS_CLUSTER_ID", "0101-123456-abcdefgh")
    chosen = deployment_resources()
    assert isinstance(chosen["lakehouse"], UnityCatalogLakehouse)
    assert isinstance(chosen["spark"], ClusterSparkSession)
    launcher_config = step_launcher_config()
    assert launcher_config["run_config"]["cluster"] == {"existing": "0101-123456-abcdefgh"}
    assert launcher_config["databricks_token"] == {"env": "DATABRICKS_TOKEN"}, "the token is read at run time"
    assert Path(launcher_config["local_pipeline_package_path"], "ecom_assets", "definitions.py").is_file()
    assert not Path(launcher_config["local_pipeline_package_path"], ".venv").exists()

    monkeypatch.setenv("ECOM_DEPLOYMENT", "local")
    assert isinstance(deployment_resources()["lakehouse"], DeltaRsLakehouse)
    monkeypatch.setenv("ECOM_DEPLOYMENT", "kubernetes")
    with pytest.raises(ValueError, match="ECOM_DEPLOYMENT must be one of local, databricks"):
        deployment_resources()


def test_the_standin_speaks_the_dbfs_and_jobs_apis_as_the_databricks_sdk_uses_them(tmp_path):
    standin = DatabricksStandIn(root=tmp_path / "standin", environment=dict(os.environ))
    host = standin.start()
    try:
        client = WorkspaceClient(config=Config(host=host, token=TOKEN, retry_timeout_seconds=5))
        client.dbfs.mkdirs("/checks/folder")
        client.dbfs.put("/checks/folder/a.txt", contents=base64.b64encode(b"hello").decode(), overwrite=True)
        status = client.dbfs.get_status("/checks/folder/a.txt")
        assert (status.is_dir, status.file_size) == (False, 5)
        assert base64.b64decode(client.dbfs.read("/checks/folder/a.txt").data) == b"hello"
        client.dbfs.delete("/checks/folder", recursive=True)
        with pytest.raises(ResourceDoesNotExist):
            client.dbfs.get_status("/checks/folder/a.txt")

        (standin.dbfs / "sleep.py").write_text("import time\ntime.sleep(60)\n")
        task = SubmitTask(task_key="t", spark_python_task=SparkPythonTask(python_file="dbfs:/sleep.py"))
        run_id = client.jobs.submit(run_name="cancelled", tasks=[task]).run_id
        client.jobs.cancel_run(run_id)
        assert client.jobs.get_run(run_id).state.result_state.value == "CANCELED"
        legacy = requests.get(f"{host}/api/2.1/jobs/runs/get", params={"run_id": run_id}, timeout=10).json()
        assert legacy["state"]["life_cycle_state"] == "TERMINATED", "API 2.1 answers like 2.2"
        assert standin.tokens == {TOKEN}
    finally:
        standin.stop()
