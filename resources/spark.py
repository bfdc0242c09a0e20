"""Where Spark runs, and the settings every session of the pipeline gets, locally and on a cluster.

`SESSION_SETTINGS` are applied to every session the steps run on, the local one and a
Databricks cluster's alike, so the transforms see the same time zone, the same ANSI semantics
and the same Delta behaviour wherever they run. The local session adds what a cluster has built
in (the Delta extension and catalog, the Delta and S3 jars) and tuning that only suits a small
local machine (`LOCAL_TUNING`); neither is ever sent to a cluster.
"""

import atexit
import functools
import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

import pyspark
from dagster import ConfigurableResource
from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from resources.settings import class_archive_setting, java_home
from resources.spark_jars import ARTIFACTS, DELTA, S3, jar_paths, log_store_jar

CLASS_ARCHIVE_ENV = "ECOM_SPARK_CLASS_ARCHIVE"
QUIET_CLASS_SHARING = "-Xlog:cds=off -Xlog:cds+dynamic=off"
"""JVM options that keep class-data-sharing notices (classes it skips, archives it cannot use) off the console."""

SESSION_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    # A write never widens a table's schema on its own: a new or retyped column is a code change.
    "spark.databricks.delta.schema.autoMerge.enabled": "false",
    # VACUUM refuses a retention shorter than the table's deleted-file retention (7 days).
    "spark.databricks.delta.retentionDurationCheck.enabled": "true",
}
"""Settings of every session the steps run on: local, and a Databricks cluster's (`ClusterSparkSession`)."""

DELTA_ENGINE = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}
"""Delta Lake in open-source Spark; a Databricks runtime has it built in."""

LOCAL_TUNING = {
    # Delta rebuilds a table's state with a Spark job of this many tasks after every commit; the
    # default (50) suits a cluster and costs seconds per table version on a few local cores.
    "spark.databricks.delta.snapshotPartitions": "1",
    # VACUUM and file listings run as Spark jobs of up to 10,000 tasks by default.
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "4",
    # A run reads hundreds of day files: list them on the driver instead of in a Spark job.
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
    "spark.ui.showConsoleProgress": "false",
    # Every broadcast hash table takes at least one memory page, and the driver keeps it until its
    # query is garbage: the default page (heap / cores / 16, 64 MB with 4 GB on 2 cores) makes
    # each broadcast of a few rows cost that much. Larger records still get pages of their size.
    "spark.buffer.pageSize": "2m",
    # A step caches the rows it checks and writes, then reads them six or seven times: uncompressed,
    # caching silver's 3.7 million lines (ten times the shared data) took 18 s instead of 24 s and
    # each read 1.5 s instead of 2-3 s, for 833 MB of memory instead of 494 MB (beyond the driver's
    # storage memory the cache goes to disk).
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
}
"""Tuning for a local machine with a few cores; never applied to a cluster."""

CONDITIONAL_PUT_LOG_STORE = "ecom.delta.ConditionalPutLogStore"
"""The Delta log store for `s3a://` tables: commits by conditional PUT, safe with writers on many machines."""

log = logging.getLogger(__name__)


@functools.cache
def _process_catalog_dir() -> str:
    """A temporary folder for the in-memory catalog's named tables, removed when the process exits."""
    folder = tempfile.mkdtemp(prefix="ecom-spark-catalog-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


class SparkSessionResource(ConfigurableResource, ABC):
    """Gives the steps their Spark session; where that session runs is the implementation's business."""

    @abstractmethod
    def get_session(self) -> SparkSession:
        """The session to run the step's Spark work on."""


class LocalSparkSession(SparkSessionResource):
    """An in-process Spark session with Delta Lake, bound to loopback, shared by every step of a run.

    The session is created on first use and reused (one JVM per process), so a run with the
    in-process executor materializes every asset on one Spark session. It loads Delta Lake's
    jars, and with `s3` hadoop-aws and the conditional-PUT log store for `s3a://` paths (the
    endpoint and region come from the fields; credentials from the environment, `AWS_*`).

    `java_options` go to the driver JVM (none by default: the JVM's own tiered compilation,
    which on Delta Lake's many small jobs beats the quick tier alone once the JVM is warm).

    `class_archive` is a JVM class-data archive of Spark's classes (`ecom-spark-classes` writes
    it; `dev.sh` does so once per install). `None` means the default archive of this
    environment when it exists (see `default_class_archive`), "" means none. An archive the JVM
    cannot use is skipped with a warning: the session then starts without it.

    `catalog_dir` is where the session's own catalog (`spark.sql.warehouse.dir`) keeps tables
    addressed by name. Its metastore lives in memory, so by default the folder is a temporary one
    removed when the process ends, instead of a `spark-warehouse/` left in the working directory.
    """

    master: str = "local[*]"
    shuffle_partitions: int = 8
    driver_memory: str = "4g"
    ui_enabled: bool = False
    java_options: str = ""
    class_archive: str | None = None
    s3: bool = False
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    catalog_dir: str | None = None

    def get_session(self) -> SparkSession:
        """The active session, started with this resource's settings if none is running."""
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        archive = default_class_archive() if self.class_archive is None else self.class_archive
        if archive and Path(archive).is_file():
            try:
                return self._session(f"{self.java_options} -XX:SharedArchiveFile={archive} {QUIET_CLASS_SHARING}")
            except PySparkRuntimeError as error:
                log.warning("Spark did not start with the class archive %s (%s); starting without it", archive, error)
        return self._session(self.java_options)

    def settings(self) -> dict[str, str]:
        """Every Spark setting the local session starts with."""
        jars = jar_paths((DELTA, S3) if self.s3 else (DELTA,))
        settings = {
            **SESSION_SETTINGS,
            **DELTA_ENGINE,
            **LOCAL_TUNING,
            # On the JVM's own class path (not spark.jars), so the class-data archive can hold them too.
            "spark.driver.extraClassPath": os.pathsep.join(str(path) for path in jars),
            "spark.driver.memory": self.driver_memory,
            # Python workers (UDFs, local data) run on this environment's interpreter, not the PATH's.
            "spark.pyspark.python": sys.executable,
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.ui.enabled": str(self.ui_enabled).lower(),
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
            "spark.sql.warehouse.dir": self.catalog_dir or _process_catalog_dir(),
        }
        if self.s3:
            settings.update(self._s3_settings())
            settings["spark.driver.extraClassPath"] += os.pathsep + str(log_store_jar())
        return settings

    def _s3_settings(self) -> dict[str, str]:
        """S3A for `s3a://` paths: the endpoint and region of the fields, Delta commits by conditional PUT."""
        settings = {
            "spark.hadoop.fs.s3a.endpoint.region": self.s3_region,
            "spark.delta.logStore.s3a.impl": CONDITIONAL_PUT_LOG_STORE,
            "spark.delta.logStore.s3.impl": CONDITIONAL_PUT_LOG_STORE,
        }
        if self.s3_endpoint_url:
            settings.update(
                {
                    "spark.hadoop.fs.s3a.endpoint": self.s3_endpoint_url,
                    "spark.hadoop.fs.s3a.path.style.access": "true",
                    "spark.hadoop.fs.s3a.connection.ssl.enabled": str(
                        self.s3_endpoint_url.startswith("https://")
                    ).lower(),
                }
            )
        return settings

    def _session(self, java_options: str) -> SparkSession:
        builder = SparkSession.builder.appName("ecom_assets").master(self.master)
        for key, value in {**self.settings(), "spark.driver.extraJavaOptions": java_options}.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("WARN")
        return session


def default_class_archive() -> str:
    """Where this environment's Spark class archive lives: `ECOM_SPARK_CLASS_ARCHIVE`, else in the virtualenv.

    The file is named for the Spark and Java versions and the Delta jars, since an archive fits
    only the JVM and class path that wrote it. Without a `java` to ask, there is none ("").
    """
    if (configured := class_archive_setting()) is not None:
        return configured
    java = _java_build()
    if not java:
        return ""
    jars = hashlib.sha256(" ".join(a.file_name for a in ARTIFACTS if a.feature == DELTA).encode()).hexdigest()[:8]
    return str(Path(sys.prefix) / "share" / "ecom-assets" / f"spark-{pyspark.__version__}-{jars}-java-{java}.jsa")


@functools.cache
def _java_build() -> str:
    """The Java version Spark will launch (JAVA_HOME's, else the PATH's), plus a digest of its full build."""
    home = java_home()
    java = str(Path(home) / "bin" / "java") if home else "java"
    try:
        banner = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=True).stderr
    except (OSError, subprocess.SubprocessError):
        return ""
    version = re.search(r'version "([^"]+)"', banner)
    digest = hashlib.sha256(banner.encode()).hexdigest()[:8]
    return f"{version.group(1) if version else 'unknown'}-{digest}"
