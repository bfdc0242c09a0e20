"""The Databricks deployment: every step of a run launched on one Databricks cluster.

`run_cluster_step_launcher` is dagster-databricks' step launcher with two changes:
- all steps of a Dagster run go to one cluster: the existing cluster the settings name, or a
  cluster it starts at the run's first step and terminates when the run ends (the cluster also
  auto-terminates after `autotermination_minutes` idle, should the run's process die);
- only the settings reach the cluster (`Settings.forwarded_environment`), never a secret: the
  AWS keys come from the workspace's secret scope, the Databricks token stays home (the step
  on the cluster gets no launcher and needs no token).
The host and token are read from `DATABRICKS_HOST` / `DATABRICKS_TOKEN` at run time (`EnvVar`).
"""

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from dagster import InitResourceContext, ResourceDefinition, resource
from dagster._core.execution.context.system import StepExecutionContext
from dagster_databricks import databricks_pyspark_step_launcher
from dagster_databricks.databricks_pyspark_step_launcher import DatabricksPySparkStepLauncher
from databricks.sdk.service.compute import AutoScale, DataSecurityMode
from pyspark.sql import SparkSession

from resources.settings import DatabricksSettings, Settings
from resources.spark import SESSION_SETTINGS, SparkSessionResource

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CODE_PACKAGES = ("ecom_assets", "resources")
"""The top-level packages shipped to the cluster with every step (code.zip)."""
CODE_SUFFIXES = (".py", ".yaml")
"""The code and the configuration files it ships with (the areas' `config/` folders)."""
CLUSTER_LIBRARIES = ("pandera", "dagster-aws")
"""PyPI packages the steps need on the cluster beyond the Databricks Runtime and the launcher's own."""
RUN_TAG = "dagster_run_id"
CLUSTER_START_TIMEOUT = timedelta(minutes=30)


class ClusterSparkSession(SparkSessionResource):
    """The Spark session a Databricks cluster already runs, with the pipeline's session settings applied."""

    def get_session(self) -> SparkSession:
        """The cluster's session, with `SESSION_SETTINGS` (UTC, ANSI, Delta behaviour) set on it."""
        session = SparkSession.builder.getOrCreate()
        for key, value in SESSION_SETTINGS.items():
            session.conf.set(key, value)
        return session


class RunClusterStepLauncher(DatabricksPySparkStepLauncher):
    """dagster-databricks' launcher, running every step of one Dagster run on one cluster.

    With `run_cluster` (a Clusters API spec) and no existing cluster configured, the first step
    starts a cluster for the run, tagged with the run id, and later steps reuse it;
    `terminate_run_cluster` ends it. Libraries are installed on it once, by the first step.
    """

    def __init__(self, run_cluster: dict[str, Any] | None = None, **launcher_config: Any) -> None:
        super().__init__(**launcher_config)
        self.run_cluster = run_cluster
        self.run_cluster_id: str | None = None

    def launch_step(self, step_context: StepExecutionContext) -> Iterator:
        """Start the run's cluster on the first step (when the run has its own), then launch the step on it."""
        if self.run_cluster is not None and self.run_cluster_id is None:
            self.run_cluster_id = self._start_run_cluster(step_context)
        if self.run_cluster_id is not None:
            self.run_config = {**self.run_config, "cluster": {"existing": self.run_cluster_id}}
        yield from super().launch_step(step_context)

    def _start_run_cluster(self, step_context: StepExecutionContext) -> str:
        run_id = step_context.dagster_run.run_id
        spec = {**self.run_cluster, "cluster_name": f"ecom_assets run {run_id[:8]}"}
        spec["custom_tags"] = {**spec.get("custom_tags", {}), RUN_TAG: run_id}
        step_context.log.info(f"Starting a Databricks cluster for run {run_id} ({spec['spark_version']})")
        clusters = self.databricks_runner.client.workspace_client.clusters
        waiter = clusters.create(
            spark_version=spec["spark_version"],
            cluster_name=spec["cluster_name"],
            node_type_id=spec.get("node_type_id"),
            instance_pool_id=spec.get("instance_pool_id"),
            autoscale=AutoScale(**spec["autoscale"]),
            autotermination_minutes=spec["autotermination_minutes"],
            custom_tags=spec["custom_tags"],
            data_security_mode=DataSecurityMode.SINGLE_USER,
        )
        cluster = waiter.result(timeout=CLUSTER_START_TIMEOUT)
        step_context.log.info(f"Databricks cluster {cluster.cluster_id} is running; every step of the run uses it")
        return cluster.cluster_id

    def terminate_run_cluster(self) -> None:
        """Terminate the cluster this launcher started for its run (nothing when it started none)."""
        if self.run_cluster_id is not None:
            self.databricks_runner.client.workspace_client.clusters.delete(self.run_cluster_id)
            self.run_cluster_id = None


def run_cluster_spec(databricks: DatabricksSettings) -> dict[str, Any]:
    """The cluster a run starts for its steps when no existing cluster is configured."""
    spec: dict[str, Any] = {
        "spark_version": databricks.spark_version,
        "autoscale": {"min_workers": databricks.min_workers, "max_workers": databricks.max_workers},
        "autotermination_minutes": databricks.autotermination_minutes,
    }
    if databricks.instance_pool_id:
        spec["instance_pool_id"] = databricks.instance_pool_id
    else:
        spec["node_type_id"] = databricks.node_type
    return spec


def staged_code_root() -> str:
    """A folder holding only this project's packages, zipped and shipped to the cluster with every step.

    The launcher zips everything under `local_pipeline_package_path`; pointing it at the project
    root would ship the virtualenv and the data too. The folder is named by a hash of the code,
    so reloading the code location reuses it until the code changes.
    """
    sources = sorted(
        path
        for package in CODE_PACKAGES
        for path in (PROJECT_ROOT / package).rglob("*")
        if path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts
    )
    digest = hashlib.sha256()
    for path in sources:
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + path.read_bytes())
    root = Path(tempfile.gettempdir()) / "ecom_assets_code" / digest.hexdigest()[:16]
    if not root.is_dir():
        root.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="staging_", dir=root.parent))
        for path in sources:
            target = staging / path.relative_to(PROJECT_ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        try:
            staging.rename(root)  # atomic: a concurrent loader may have staged the same code first
        except OSError:
            shutil.rmtree(staging)
    return str(root)


STARTED_PER_RUN = "started-per-run"
"""Stands for the run's own cluster in the launcher's config until the first step starts it."""


def step_launcher_config(settings: Settings) -> dict[str, Any]:
    """The step launcher's configuration, from the settings; no secret value is in it.

    Host and token are `EnvVar`s read at run time. The environment forwarded to the cluster is
    the settings' own (`Settings.forwarded_environment`); the AWS keys reach the cluster from
    the secret scope (keys `aws_access_key_id`, `aws_secret_access_key`).
    """
    databricks = settings.databricks
    libraries = [{"pypi": {"package": f"{name}=={version(name)}"}} for name in CLUSTER_LIBRARIES]
    return {
        "run_config": {
            "run_name": "ecom_assets step",
            "cluster": {"existing": databricks.cluster_id or STARTED_PER_RUN},
            "libraries": libraries,
            "install_default_libraries": databricks.install_libraries,
        },
        "databricks_host": {"env": "DATABRICKS_HOST"},
        "databricks_token": {"env": "DATABRICKS_TOKEN"},
        "env_variables": settings.forwarded_environment(),
        "add_dagster_env_variables": False,
        "secrets_to_env_variables": [
            {"name": "AWS_ACCESS_KEY_ID", "key": "aws_access_key_id", "scope": databricks.secret_scope},
            {"name": "AWS_SECRET_ACCESS_KEY", "key": "aws_secret_access_key", "scope": databricks.secret_scope},
        ],
        "local_pipeline_package_path": staged_code_root(),
        "staging_prefix": databricks.staging_prefix,
        "poll_interval_sec": databricks.poll_seconds,
        "verbose_logs": False,
    }


def run_cluster_step_launcher(settings: Settings) -> ResourceDefinition:
    """The step launcher of the Databricks deployment: one cluster per run (see `RunClusterStepLauncher`)."""
    run_cluster = None if settings.databricks.cluster_id else run_cluster_spec(settings.databricks)

    @resource(
        config_schema=databricks_pyspark_step_launcher.config_schema,
        description="Launches each step on Databricks; all steps of a run share one cluster.",
    )
    def launcher(context: InitResourceContext) -> Iterator[RunClusterStepLauncher]:
        step_launcher = RunClusterStepLauncher(run_cluster=run_cluster, **context.resource_config)
        try:
            yield step_launcher
        finally:
            step_launcher.terminate_run_cluster()

    return launcher.configured(step_launcher_config(settings))
