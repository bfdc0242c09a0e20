"""The Databricks deployment: steps launched on a Databricks cluster, tables in Unity Catalog.

Everything here is configured from the environment (see the README's production section);
the host and token are read as Dagster `EnvVar`s, never stored in config or logs.
"""

import hashlib
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from importlib.metadata import version
from pathlib import Path

from dagster import ResourceDefinition
from dagster_databricks import databricks_pyspark_step_launcher
from pyspark.sql import DataFrame, SparkSession

from ecom_assets.dates import DateRange
from ecom_assets.tables import TableName
from resources.lakehouse import (
    Filter,
    Lakehouse,
    MaintenanceReport,
    MergeCounts,
    apply_filters,
    range_and_scope,
    sql_predicate,
    within,
)
from resources.spark import SparkSessionResource

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CODE_PACKAGES = ("ecom_assets", "resources")
CODE_SUFFIXES = (".py", ".yaml")
"""The code and the business rules files it ships with (`ecom_assets/config`)."""
"""The top-level packages shipped to the cluster with every step (code.zip)."""
CLUSTER_LIBRARIES = ("deltalake", "pandera", "pyarrow", "dagster-aws")
"""PyPI packages the steps need on the cluster beyond Databricks' runtime and the launcher's defaults."""
DEFAULT_SPARK_VERSION = "15.4.x-scala2.12"
"""Databricks Runtime 15.4 LTS."""


class ClusterSparkSession(SparkSessionResource):
    """The Spark session a Databricks cluster already runs (the step executes on its driver)."""

    def get_session(self) -> SparkSession:
        """The cluster's session."""
        return SparkSession.builder.getOrCreate()


class UnityCatalogLakehouse(Lakehouse):
    """Delta tables in Unity Catalog, written by Spark's Delta writer and delta-spark's `DeltaTable`.

    Tables are addressed by their three-level names (`ecommerce_catalog.processed.orders_cleaned`);
    the catalog and schemas must exist and the cluster's principal must be allowed to write them.
    """

    def _spark(self) -> SparkSession:
        return SparkSession.builder.getOrCreate()

    def location(self, table: TableName) -> str:
        """The Unity Catalog name."""
        return table.full_name

    def exists(self, table: TableName) -> bool:
        """Whether the catalog has the table."""
        return self._spark().catalog.tableExists(table.full_name)

    def read(
        self,
        spark: SparkSession,
        table: TableName,
        columns: Sequence[str] | None = None,
        filters: Sequence[Filter] = (),
    ) -> DataFrame:
        """The table's rows matching the filters (Delta data skipping prunes files)."""
        if not self.exists(table):
            raise LookupError(f"table {table.full_name} does not exist yet")
        rows = apply_filters(spark.table(table.full_name), filters)
        return rows.select(*columns) if columns else rows

    def replace_date_range(
        self,
        table: TableName,
        rows: DataFrame,
        date_column: str,
        date_range: DateRange,
        partition_by: Sequence[str] = (),
        scope: Mapping[str, str] | None = None,
    ) -> Counter[date]:
        """One Delta overwrite with `replaceWhere` over the range and scope; creates the table on first write."""
        rows = rows.cache()
        try:
            counts = Counter({row[0]: row[1] for row in rows.groupBy(date_column).count().collect()})
            writer = rows.write.format("delta")
            if self.exists(table):
                predicate = sql_predicate(range_and_scope(date_column, date_range, scope))
                writer.mode("overwrite").option("replaceWhere", predicate).saveAsTable(table.full_name)
            else:
                writer.mode("append").partitionBy(*partition_by).saveAsTable(table.full_name)
            return counts
        finally:
            rows.unpersist()

    def overwrite(self, table: TableName, rows: DataFrame) -> int:
        """A Delta overwrite of the whole table; the rows are checkpointed first, so they may read the table itself."""
        rows = rows.localCheckpoint()
        rows.write.format("delta").mode("overwrite").option("overwriteSchema", "true").saveAsTable(table.full_name)
        return rows.count()

    def append(self, table: TableName, rows: DataFrame) -> None:
        """A Delta append."""
        rows.write.format("delta").mode("append").saveAsTable(table.full_name)

    def delete_date_range(
        self, table: TableName, date_column: str, date_range: DateRange, scope: Mapping[str, str]
    ) -> None:
        """A Delta DELETE by predicate."""
        if self.exists(table):
            from delta.tables import DeltaTable

            DeltaTable.forName(self._spark(), table.full_name).delete(
                sql_predicate(range_and_scope(date_column, date_range, scope))
            )

    def merge_on_key(
        self,
        table: TableName,
        rows: DataFrame,
        key: str,
        delete_unmatched_in: tuple[str, DateRange] | None = None,
    ) -> MergeCounts:
        """delta-spark MERGE; the counts come from the commit's operation metrics."""
        from delta.tables import DeltaTable

        if not self.exists(table):
            rows.write.format("delta").saveAsTable(table.full_name)
            return MergeCounts(inserted=self._spark().table(table.full_name).count(), updated=0, deleted=0)
        target = DeltaTable.forName(self._spark(), table.full_name)
        merger = (
            target.alias("target")
            .merge(rows.alias("source"), f"target.{key} = source.{key}")
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
        )
        if delete_unmatched_in is not None:
            column, date_range = delete_unmatched_in
            merger = merger.whenNotMatchedBySourceDelete(sql_predicate(within(f"target.{column}", date_range)))
        merger.execute()
        metrics = target.history(1).collect()[0]["operationMetrics"]
        return MergeCounts(
            inserted=int(metrics.get("numTargetRowsInserted", 0)),
            updated=int(metrics.get("numTargetRowsUpdated", 0)),
            deleted=int(metrics.get("numTargetRowsDeleted", 0)),
        )

    def compact_and_vacuum(self, table: TableName, retention_hours: int) -> MaintenanceReport:
        """OPTIMIZE and VACUUM by SQL; file counts from DESCRIBE DETAIL."""
        spark = self._spark()

        def files() -> int:
            return spark.sql(f"DESCRIBE DETAIL {table.full_name}").first()["numFiles"]

        before = files()
        spark.sql(f"OPTIMIZE {table.full_name}")
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", str(retention_hours >= 168).lower())
        vacuumed = spark.sql(f"VACUUM {table.full_name} RETAIN {retention_hours} HOURS").count()
        return MaintenanceReport(before, files(), vacuumed)


def staged_code_root() -> str:
    """A folder holding only this project's packages, zipped and shipped to the cluster with each step.

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


def _cluster() -> dict:
    """An existing cluster (`ECOM_DATABRICKS_CLUSTER_ID`) or a new job cluster as the seed's workflow had."""
    if cluster_id := os.environ.get("ECOM_DATABRICKS_CLUSTER_ID"):
        return {"existing": cluster_id}
    return {
        "new": {
            "size": {
                "autoscale": {
                    "min_workers": int(os.environ.get("ECOM_DATABRICKS_MIN_WORKERS", "4")),
                    "max_workers": int(os.environ.get("ECOM_DATABRICKS_MAX_WORKERS", "16")),
                }
            },
            "spark_version": os.environ.get("ECOM_DATABRICKS_SPARK_VERSION", DEFAULT_SPARK_VERSION),
            "nodes": {"node_types": {"node_type_id": os.environ.get("ECOM_DATABRICKS_NODE_TYPE", "m5.large")}},
            "data_security_mode": "SINGLE_USER",
        }
    }


def _forwarded_environment() -> dict[str, str]:
    """The pipeline's settings, passed on to the cluster so the remote step builds the same resources."""
    return {name: value for name, value in os.environ.items() if name.startswith("ECOM_") and "PASSWORD" not in name}


def step_launcher_config() -> dict:
    """The step launcher's configuration, from the environment.

    Host and token come from `DATABRICKS_HOST` / `DATABRICKS_TOKEN` at run time; AWS keys for
    boto3 on the cluster come from the secret scope `ECOM_DATABRICKS_SECRET_SCOPE` (keys
    `aws_access_key_id`, `aws_secret_access_key`) into environment variables.
    """
    scope = os.environ.get("ECOM_DATABRICKS_SECRET_SCOPE", "ecom")
    libraries = [{"pypi": {"package": f"{name}=={version(name)}"}} for name in CLUSTER_LIBRARIES]
    return {
        "run_config": {
            "run_name": "ecom_assets step",
            "cluster": _cluster(),
            "libraries": libraries,
            "install_default_libraries": os.environ.get("ECOM_DATABRICKS_INSTALL_LIBRARIES", "true") == "true",
        },
        "databricks_host": {"env": "DATABRICKS_HOST"},
        "databricks_token": {"env": "DATABRICKS_TOKEN"},
        "env_variables": _forwarded_environment(),
        "secrets_to_env_variables": [
            {"name": "AWS_ACCESS_KEY_ID", "key": "aws_access_key_id", "scope": scope},
            {"name": "AWS_SECRET_ACCESS_KEY", "key": "aws_secret_access_key", "scope": scope},
        ],
        "local_pipeline_package_path": staged_code_root(),
        "staging_prefix": os.environ.get("ECOM_DATABRICKS_STAGING_PREFIX", "/dagster_staging"),
        "poll_interval_sec": float(os.environ.get("ECOM_DATABRICKS_POLL_SECONDS", "5")),
        "verbose_logs": False,
    }


def databricks_step_launcher() -> ResourceDefinition:
    """`databricks_pyspark_step_launcher` configured from the environment (see `step_launcher_config`)."""
    return databricks_pyspark_step_launcher.configured(step_launcher_config())
