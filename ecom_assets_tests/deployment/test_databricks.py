"""ECOM_DEPLOYMENT=databricks against a Databricks REST stand-in on 127.0.0.1 that runs each step in a subprocess.

The stand-in's "cluster" is local Spark with Delta Lake and a persistent Hive metastore standing
in for the workspace catalog, so the production lakehouse (tables by three-level catalog name)
runs for real; see `databricks_standin.py`.
"""

import base64
import json
import os
import subprocess
from datetime import date
from pathlib import Path

import pytest
import requests
from dagster import DagsterEventType, DagsterInstance
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.errors import ResourceDoesNotExist
from databricks.sdk.service.jobs import SparkPythonTask, SubmitTask

from ecom_assets.definitions import defs
from ecom_assets.platform.dates import DateRange
from ecom_assets.sales.sample_data import generate
from ecom_assets.sales.tables import SALES_METRICS
from ecom_assets_tests.conftest import BIN
from ecom_assets_tests.databricks_standin import DatabricksStandIn
from ecom_assets_tests.reference import distinct_valid_lines, expected_day_status, expected_sales_metrics
from resources import Lakehouse, Settings, deployment_resources
from resources.databricks import ClusterSparkSession, step_launcher_config

pytestmark = pytest.mark.slow
DAY = DateRange(date(2011, 1, 4), date(2011, 1, 4))
TOKEN = "dapi-standin-token"
SECRET_LOOKING = {
    "ECOM_SMTP_PASSWORD": "smtp-password-never-sent",
    "ECOM_REPORTING_API_TOKEN": "api-token-never-sent",
    "ECOM_PARTNER_KEY": "partner-key-never-sent",
}
"""Variables a deployment might have, whose values must never leave for the cluster."""


@pytest.fixture
def databricks(tmp_path):
    """The stand-in serving on loopback, and the environment that points the code location at it."""
    landing = tmp_path / "databricks_landing"
    generate(landing, DAY, seed=21)
    environment = {
        **os.environ,
        **SECRET_LOOKING,
        "ECOM_DEPLOYMENT": "databricks",
        "ECOM_CATALOG": "spark_catalog",
        "ECOM_LANDING_ROOT": str(landing),
        "ECOM_DATABRICKS_POLL_SECONDS": "0.5",
        "ECOM_DATABRICKS_SECRET_SCOPE": "ecom-test",
        "DATABRICKS_TOKEN": TOKEN,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    environment.pop("ECOM_WAREHOUSE_ROOT", None)
    (tmp_path / "dagster_home").mkdir()
    standin = DatabricksStandIn(
        root=tmp_path / "standin",
        environment={name: value for name, value in environment.items() if name not in SECRET_LOOKING},
        secrets={"ecom-test": {"aws_access_key_id": "AKIASTANDIN", "aws_secret_access_key": "standin-secret"}},
    )
    environment["DATABRICKS_HOST"] = standin.start()
    try:
        yield standin, environment
    finally:
        standin.stop()


DAILY_JOB_GROUPS = "group:bronze or group:silver or group:dimensions or group:gold"
"""The daily sales job's assets as a CLI selection (`*` would take the operational feeds' too)."""


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
        timeout=1800,
    )


def test_the_whole_daily_job_runs_remotely_on_one_cluster_with_the_production_lakehouse(databricks, tmp_path, spark):
    standin, environment = databricks
    every_asset = defs.resolve_job_def("daily_sales_job").asset_layer.executable_asset_keys

    completed = materialize(environment, DAILY_JOB_GROUPS, tmp_path)

    assert completed.returncode == 0, completed.stderr[-4000:]
    tasks = standin.submitted_tasks()
    assert len(tasks) == len(every_asset), "every asset of the daily job ran as one submitted run"
    assert all(run.result_state == "SUCCESS" for run in standin.runs.values())
    (cluster,) = standin.clusters.values()
    assert {task["existing_cluster_id"] for task in tasks} == {cluster.cluster_id}, "one cluster for the whole run"
    assert cluster.state == "TERMINATED", "the run's cluster ends with the run"
    assert cluster.spec["spark_version"] == "17.3.x-scala2.13" and cluster.spec["autotermination_minutes"] > 0
    assert standin.tokens == {TOKEN}
    step_stdouts = sorted((standin.dbfs / "dagster_staging").glob("*/*/stdout"))
    assert len(step_stdouts) == len(every_asset)
    assert all("Running dagster job" in path.read_text() for path in step_stdouts), "each step ran on the cluster"
    sent = b"".join(standin.received)
    assert not [name for name, value in SECRET_LOOKING.items() if value.encode() in sent], "no secret left home"

    remote_gold_path = standin.managed_table_path("analytics", "sales_metrics")
    remote_gold = spark.read.format("delta").load(str(remote_gold_path))
    history = spark.sql(f"DESCRIBE HISTORY delta.`{remote_gold_path}`").first()
    assert history["engineInfo"].startswith("Apache-Spark") and "Delta-Lake" in history["engineInfo"]
    landing = Path(environment["ECOM_LANDING_ROOT"])
    gold = {row["order_date"]: row.asDict() for row in remote_gold.collect()}
    assert gold == expected_sales_metrics(
        distinct_valid_lines(landing), DAY.days(), expected_day_status(landing, DAY.days())
    ), "the remote gold equals an independent computation from the files"


def test_a_failing_remote_step_fails_the_dagster_step_with_the_remote_error(databricks, tmp_path):
    standin, environment = databricks

    completed = materialize(environment, "ecommerce_catalog/processed/orders_cleaned", tmp_path)

    assert completed.returncode != 0
    (failure,) = step_failures(environment)
    assert "table ecommerce_catalog.raw.order_transactions does not exist yet" in failure
    assert [run.result_state for run in standin.runs.values()] == ["SUCCESS"], "the remote run ends, the step fails"
    assert [cluster.state for cluster in standin.clusters.values()] == ["TERMINATED"], "a failed run ends its cluster"


def test_a_databricks_run_that_does_not_succeed_fails_the_step_with_its_state_message(databricks, tmp_path):
    standin, environment = databricks
    standin.fail_next_run_with = "Cluster terminated. Reason: Spot instance lost"

    completed = materialize(environment, "ecommerce_catalog/raw/order_transactions", tmp_path)

    assert completed.returncode != 0
    (failure,) = step_failures(environment)
    assert "Spot instance lost" in failure


def test_the_settings_pick_the_deployment_and_address_tables_by_catalog_name_on_databricks(monkeypatch):
    monkeypatch.setenv("ECOM_DEPLOYMENT", "databricks")
    monkeypatch.delenv("ECOM_WAREHOUSE_ROOT", raising=False)
    monkeypatch.setenv("ECOM_DATABRICKS_CLUSTER_ID", "0101-123456-abcdefgh")
    chosen = deployment_resources()
    assert isinstance(chosen["spark"], ClusterSparkSession)
    assert chosen["lakehouse"].warehouse_root is None
    assert chosen["lakehouse"].identifier(SALES_METRICS) == "ecommerce_catalog.analytics.sales_metrics"
    launcher_config = step_launcher_config(Settings.from_environment())
    assert launcher_config["run_config"]["cluster"] == {"existing": "0101-123456-abcdefgh"}
    assert launcher_config["databricks_token"] == {"env": "DATABRICKS_TOKEN"}, "the token is read at run time"
    assert Path(launcher_config["local_pipeline_package_path"], "ecom_assets", "definitions.py").is_file()
    assert not Path(launcher_config["local_pipeline_package_path"], ".venv").exists()

    monkeypatch.setenv("ECOM_DEPLOYMENT", "local")
    local = deployment_resources()["lakehouse"]
    assert isinstance(local, Lakehouse) and local.identifier(SALES_METRICS).startswith("delta.`")
    monkeypatch.setenv("ECOM_DEPLOYMENT", "kubernetes")
    with pytest.raises(ValueError, match="ECOM_DEPLOYMENT must be one of local, databricks"):
        deployment_resources()


def test_only_the_settings_and_never_a_secret_are_forwarded_to_the_cluster(monkeypatch):
    for name, value in SECRET_LOOKING.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ECOM_DEPLOYMENT", "databricks")
    monkeypatch.setenv("ECOM_LANDING_BUCKET", "landing-bucket")

    config = step_launcher_config(Settings.from_environment())

    forwarded = config["env_variables"]
    assert forwarded["ECOM_DEPLOYMENT"] == "databricks" and forwarded["ECOM_LANDING_BUCKET"] == "landing-bucket"
    assert not set(forwarded) & set(SECRET_LOOKING)
    assert not [value for value in SECRET_LOOKING.values() if value in json.dumps(config)]


def test_the_standin_speaks_the_dbfs_clusters_and_jobs_apis_as_the_databricks_sdk_uses_them(tmp_path):
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

        cluster = client.clusters.create(spark_version="17.3.x-scala2.13", cluster_name="c", num_workers=1).result()
        assert cluster.state.value == "RUNNING"
        client.clusters.delete(cluster.cluster_id).result()
        assert client.clusters.get(cluster.cluster_id).state.value == "TERMINATED"

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
