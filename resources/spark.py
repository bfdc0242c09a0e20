"""Where Spark runs: an in-process local session by default."""

import functools
import hashlib
import logging
import os
import re
import subprocess
import sys
from abc import ABC, abstractmethod
from pathlib import Path

import pyspark
from dagster import ConfigurableResource
from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

CLASS_ARCHIVE_ENV = "ECOM_SPARK_CLASS_ARCHIVE"
QUICK_JIT = "-XX:TieredStopAtLevel=1"
"""The driver JVM's default options: the quick JIT tier only (see `LocalSparkSession`)."""
QUIET_CLASS_SHARING = "-Xlog:cds=off -Xlog:cds+dynamic=off"
"""JVM options that keep class-data-sharing notices (classes it skips, archives it cannot use) off the console."""

log = logging.getLogger(__name__)


class SparkSessionResource(ConfigurableResource, ABC):
    """Gives the steps their Spark session; where that session runs is the implementation's business."""

    @abstractmethod
    def get_session(self) -> SparkSession:
        """The session to run the step's Spark work on."""


class LocalSparkSession(SparkSessionResource):
    """An in-process Spark session, bound to loopback, shared by every step of a run.

    The session is created on first use and reused (one JVM per process), so a run with the
    in-process executor materializes bronze, silver and gold on one Spark session.

    `java_options` go to the driver JVM. The default, `-XX:TieredStopAtLevel=1`, compiles with
    the quick JIT tier only: local runs are short jobs on a few cores, where the optimizing
    compiler's threads compete with Spark's own for the CPU and pay off too late. Measured on
    2 cores: a one-day run 23.0 s -> 17.1 s, the 245-day plain script 23.2 s -> 21.8 s; heavy
    steps lose (dim_products 8.7 s -> 10.0 s). Set it to "" for long, CPU-heavy local runs.

    `class_archive` is a JVM class-data archive of Spark's classes (`ecom-spark-classes` writes
    it; `dev.sh` does so once per install). The JVM maps it instead of loading and verifying
    those classes one by one. `None` means the default archive of this environment when it
    exists (see `default_class_archive`), "" means none. An archive the JVM cannot use is
    skipped with a warning: the session then starts without it.
    """

    master: str = "local[*]"
    shuffle_partitions: int = 8
    driver_memory: str = "4g"
    ui_enabled: bool = False
    java_options: str = QUICK_JIT
    class_archive: str | None = None

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

    def _session(self, java_options: str) -> SparkSession:
        session = (
            SparkSession.builder.appName("ecom_assets")
            .master(self.master)
            .config("spark.driver.memory", self.driver_memory)
            .config("spark.driver.extraJavaOptions", java_options)
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", str(self.ui_enabled).lower())
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(self.shuffle_partitions))
            .config("spark.sql.ansi.enabled", "true")
            # A run reads hundreds of day files: list them on the driver instead of in a Spark job.
            .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("WARN")
        return session


def default_class_archive() -> str:
    """Where this environment's Spark class archive lives: `ECOM_SPARK_CLASS_ARCHIVE`, else in the virtualenv.

    The file is named for the Spark and Java versions, since an archive fits only the JVM and
    classpath that wrote it. Without a `java` to ask, there is none ("").
    """
    if (configured := os.environ.get(CLASS_ARCHIVE_ENV)) is not None:
        return configured
    java = _java_build()
    if not java:
        return ""
    return str(Path(sys.prefix) / "share" / "ecom-assets" / f"spark-{pyspark.__version__}-java-{java}.jsa")


@functools.cache
def _java_build() -> str:
    """The Java version Spark will launch (JAVA_HOME's, else the PATH's), plus a digest of its full build."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else "java"
    try:
        banner = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=True).stderr
    except (OSError, subprocess.SubprocessError):
        return ""
    version = re.search(r'version "([^"]+)"', banner)
    digest = hashlib.sha256(banner.encode()).hexdigest()[:8]
    return f"{version.group(1) if version else 'unknown'}-{digest}"
