"""Write the Spark JVM's class-data archive, so local runs start faster: `ecom-spark-classes`.

A local run spends its first seconds loading and verifying thousands of Spark classes. This
command runs bronze, silver and gold over one generated day in a JVM that dumps the classes it
loaded into an archive (Java's AppCDS); later local sessions map that archive instead (see
`LocalSparkSession.class_archive`). The archive is checked by a JVM that must map it before it
takes its place, so a half-written file never does. It is written once per Java and Spark
version; rerunning finds it present.

    ecom-spark-classes [--out FILE] [--force]
"""

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from pyspark import SparkContext

from resources.spark import CLASS_ARCHIVE_ENV, QUIET_CLASS_SHARING, LocalSparkSession, default_class_archive

WORKLOAD_DAY = date(2011, 1, 4)


def write_archive(target: Path) -> bool:
    """Dump, check, then move the archive into place; False (with the reason on stderr) if it could not be made."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        for stage in ("dump", "check"):
            command = [sys.executable, "-m", __spec__.name, "--stage", stage, "--out", str(partial)]
            subprocess.run(command, check=True, capture_output=True, text=True)
        os.replace(partial, target)
        return True
    except subprocess.CalledProcessError as error:
        print(error.stderr[-3000:], file=sys.stderr)
        print(
            f"no Spark class archive written (the {stage} stage failed); local runs start without one", file=sys.stderr
        )
        return False
    finally:
        partial.unlink(missing_ok=True)


def _dump(archive: Path) -> None:
    """Run the core assets over one generated day in a JVM that writes the classes it loaded to `archive` at exit."""
    from dagster import DagsterInstance, ResourceDefinition, materialize

    from ecom_assets.platform.dates import DateRange
    from ecom_assets.platform.quality_policy import DataQualityPolicy
    from ecom_assets.sales.bronze import order_transactions
    from ecom_assets.sales.gold import sales_metrics
    from ecom_assets.sales.sample_data import generate
    from ecom_assets.sales.silver import orders_cleaned
    from resources import Lakehouse, LocalLandingZone

    spark = LocalSparkSession(class_archive="", java_options=f"-XX:ArchiveClassesAtExit={archive}")
    with tempfile.TemporaryDirectory(prefix="ecom-spark-classes-") as scratch:
        landing = Path(scratch) / "landing"
        generate(landing, DateRange(WORKLOAD_DAY, WORKLOAD_DAY), seed=1)
        materialize(
            [order_transactions, orders_cleaned, sales_metrics],
            instance=DagsterInstance.ephemeral(),
            partition_key=WORKLOAD_DAY.isoformat(),
            resources={
                "spark": spark,
                "landing": LocalLandingZone(root=str(landing)),
                "lakehouse": Lakehouse(warehouse_root=str(Path(scratch) / "warehouse")),
                "quality": DataQualityPolicy(),
                "step_launcher": ResourceDefinition.none_resource(),
            },
        )
    _stop_jvm()


def _check(archive: Path) -> None:
    """Run a Spark job in a JVM that must map `archive` (`-Xshare:on` makes one that cannot fail to start)."""
    options = f"-Xshare:on -XX:SharedArchiveFile={archive} {QUIET_CLASS_SHARING}"
    session = LocalSparkSession(class_archive="", java_options=options).get_session()
    if session.range(10).count() != 10:
        raise SystemExit("the Spark job on the archived classes gave a wrong count")
    _stop_jvm()


def _stop_jvm() -> None:
    """Stop Spark and wait for its JVM to exit, which is when an archive being dumped is complete."""
    jvm = SparkContext._gateway.proc
    SparkContext.getOrCreate().stop()
    jvm.stdin.close()  # the gateway JVM exits when its stdin closes
    jvm.wait(timeout=300)


def main(argv: list[str] | None = None) -> None:
    """Command line: write the archive where local sessions look for it, unless it is there already."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="archive file (default: where LocalSparkSession looks)")
    parser.add_argument("--force", action="store_true", help="write it again even if present")
    parser.add_argument("--stage", choices=["dump", "check"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage == "dump":
        return _dump(args.out)
    if args.stage == "check":
        return _check(args.out)
    default = default_class_archive()
    if args.out is None and not default:
        raise SystemExit(f"no archive location: {CLASS_ARCHIVE_ENV} is set empty, or no java was found")
    target = args.out or Path(default)
    if target.is_file() and not args.force:
        print(f"Spark class archive present: {target}")
        return None
    if write_archive(target):
        print(f"Spark class archive written: {target} ({target.stat().st_size / 2**20:.0f} MB)")
        if args.out is None:
            _remove_stale_archives(target)
    return None


def _remove_stale_archives(current: Path) -> None:
    """Delete the default folder's archives of other Spark, Java or jar versions: no JVM here can map them."""
    for stale in current.parent.glob("spark-*-java-*.jsa"):
        if stale != current:
            stale.unlink(missing_ok=True)
            print(f"removed the stale Spark class archive {stale.name}")


if __name__ == "__main__":
    main()
