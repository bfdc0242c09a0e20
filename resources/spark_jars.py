"""The JVM libraries local Spark loads beside its own: Delta Lake, and hadoop-aws for `s3a://`.

They are resolved once, at install (`ecom-spark-jars`, which `dev.sh` runs), from Maven Central
into the virtualenv, each checked against the SHA-256 pinned below; later sessions and the
tests load them from there and need no network. The list is the runtime closure of
`io.delta:delta-spark_4.2_2.13` and `org.apache.hadoop:hadoop-aws` minus what pyspark already
ships (Scala, Hadoop's client, Parquet, Jackson, ...), so no class comes in two versions.

Beside them it compiles this project's own Delta log store for S3 (`jvm/ConditionalPutLogStore.java`,
commits by conditional PUT) with the JDK's `javac`.

    ecom-spark-jars [--dir DIR]
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pyspark

from resources.settings import jars_dir_setting, java_home, maven_repository

JARS_DIR_ENV = "ECOM_SPARK_JARS_DIR"
MAVEN_REPOSITORY_ENV = "ECOM_MAVEN_REPOSITORY"
MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2"


@dataclass(frozen=True)
class Artifact:
    """One pinned Maven artifact: coordinates, the SHA-256 of its jar, and which feature needs it."""

    group: str
    name: str
    version: str
    sha256: str
    feature: str

    @property
    def file_name(self) -> str:
        """The jar's file name, as Maven names it."""
        return f"{self.name}-{self.version}.jar"

    def url(self, repository: str) -> str:
        """Where the repository serves the jar."""
        return f"{repository.rstrip('/')}/{self.group.replace('.', '/')}/{self.name}/{self.version}/{self.file_name}"


DELTA = "delta"
S3 = "s3"
ARTIFACTS = (
    # Delta Lake 4.4.0 for Spark 4.2 (Maven Central serves 4.4.0 of this artifact; 4.4.1 is not published).
    Artifact(
        "io.delta",
        "delta-spark_4.2_2.13",
        "4.4.0",
        "27d4fd8b1f879535c573ed1c718177d6a27f24d3e626ba02e216369725721ead",
        DELTA,
    ),
    Artifact(
        "io.delta", "delta-storage", "4.4.0", "c46735481fa8e326b0957be02b4420cbcab4b325bb08009b7f2045a95133f1cc", DELTA
    ),
    Artifact(
        "io.delta",
        "delta-kernel-api",
        "4.4.0",
        "ee9b5a14ac3b7efdff4d61a58478fe8eb0e5a3fbca43889dca7290795fe79a11",
        DELTA,
    ),
    Artifact(
        "io.delta",
        "delta-kernel-defaults",
        "4.4.0",
        "225c975199e4718b38ee5b7e6da7f19e9585024262b2cec2656b32151a856b0b",
        DELTA,
    ),
    Artifact(
        "io.delta",
        "delta-kernel-unitycatalog",
        "4.4.0",
        "cea22dfb4ac562b3cd27bf652697750e8336009d73fb06631363aaaad5345ffa",
        DELTA,
    ),
    Artifact(
        "io.unitycatalog",
        "unitycatalog-client",
        "0.6.0",
        "48257499a86b801a3e2372cec55ac226ca1c1c7eabe5c118e7302f29a1fdbc19",
        DELTA,
    ),
    Artifact(
        "io.unitycatalog",
        "unitycatalog-hadoop",
        "0.6.0",
        "c47b63c961c87102b9e1d63809a0915ba4c86b7652f57c8d39ca3a05b441a150",
        DELTA,
    ),
    # S3A, matching the Hadoop 3.5.0 client pyspark 4.2.0 ships, with the AWS SDK v2 bundle it is built against.
    Artifact(
        "org.apache.hadoop",
        "hadoop-aws",
        "3.5.0",
        "66bd9eefb938b1a1657487324b63c13df2d8b17164a1dd24e0ef37b905bc5baa",
        S3,
    ),
    Artifact(
        "software.amazon.awssdk",
        "bundle",
        "2.35.4",
        "db4b55f24ad1b4e70f17eb1717a4de76a8dadc5a27d764be7c44ff67b2c1c677",
        S3,
    ),
    Artifact(
        "software.amazon.s3.analyticsaccelerator",
        "analyticsaccelerator-s3",
        "1.3.1",
        "4959a9747cbb479c73c3ffbcd479bee5b014f8b2880994585a8693fb9d24675e",
        S3,
    ),
)


def jars_dir() -> Path:
    """Where the jars live: `ECOM_SPARK_JARS_DIR`, else inside the virtualenv (`<prefix>/share/ecom-assets/jars`)."""
    configured = jars_dir_setting()
    return Path(configured) if configured else Path(sys.prefix) / "share" / "ecom-assets" / "jars"


def jar_paths(features: tuple[str, ...], directory: Path | None = None) -> list[Path]:
    """The jars of the given features, fetching any that are missing (network needed only then)."""
    directory = directory or jars_dir()
    wanted = [artifact for artifact in ARTIFACTS if artifact.feature in features]
    missing = [artifact for artifact in wanted if not (directory / artifact.file_name).is_file()]
    if missing:
        fetch(missing, directory)
    return [directory / artifact.file_name for artifact in wanted]


def fetch(artifacts: list[Artifact], directory: Path) -> None:
    """Download each artifact into `directory`, checking its SHA-256 before it takes its place."""
    repository = maven_repository(default=MAVEN_CENTRAL)
    directory.mkdir(parents=True, exist_ok=True)
    for artifact in artifacts:
        target = directory / artifact.file_name
        print(f"fetching {artifact.group}:{artifact.name}:{artifact.version} from {repository}", file=sys.stderr)
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{artifact.file_name}.", delete=False) as partial:
            try:
                with urllib.request.urlopen(artifact.url(repository), timeout=60) as response:
                    for block in iter(lambda: response.read(1 << 20), b""):
                        digest.update(block)
                        partial.write(block)
            except OSError as error:
                Path(partial.name).unlink(missing_ok=True)
                raise RuntimeError(
                    f"could not fetch {artifact.file_name} from {repository} ({error}); local Spark needs it. "
                    f"Run `ecom-spark-jars` where Maven Central (or {MAVEN_REPOSITORY_ENV}) is reachable."
                ) from error
        if digest.hexdigest() != artifact.sha256:
            Path(partial.name).unlink(missing_ok=True)
            raise RuntimeError(f"{artifact.file_name} from {repository} does not have its pinned SHA-256")
        os.replace(partial.name, target)


LOG_STORE_SOURCE = Path(__file__).resolve().parent / "jvm" / "ConditionalPutLogStore.java"


def log_store_jar(directory: Path | None = None) -> Path:
    """The jar of the conditional-PUT Delta log store, compiled from its source when missing or older than it."""
    directory = directory or jars_dir()
    digest = hashlib.sha256(LOG_STORE_SOURCE.read_bytes()).hexdigest()[:12]
    target = directory / f"ecom-delta-logstore-{digest}.jar"
    if not target.is_file():
        _compile_log_store(target, directory)
    return target


def _compile_log_store(target: Path, directory: Path) -> None:
    home = java_home()
    javac = shutil.which("javac", path=str(Path(home, "bin"))) if home else None
    javac = javac or shutil.which("javac")
    if javac is None:
        raise RuntimeError(
            "Delta tables on S3 need this project's conditional-PUT log store, compiled from "
            f"{LOG_STORE_SOURCE} at install; no `javac` was found: "
            "install a JDK (17 or newer), then run `ecom-spark-jars`."
        )
    hadoop_api = sorted((Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar"))
    class_path = os.pathsep.join(str(path) for path in [*hadoop_api, *jar_paths((DELTA,), directory)])
    with tempfile.TemporaryDirectory() as classes:
        subprocess.run(
            [javac, "--release", "17", "-d", classes, "-cp", class_path, str(LOG_STORE_SOURCE)],
            check=True,
            capture_output=True,
            text=True,
        )
        partial = target.with_name(f".{target.name}.partial")
        with zipfile.ZipFile(partial, "w") as jar:
            for path in sorted(Path(classes).rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
        os.replace(partial, target)


def main(argv: list[str] | None = None) -> None:
    """Command line: make sure every pinned jar is present, and the S3 log store compiled."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help=f"where to keep them (default: {jars_dir()})")
    args = parser.parse_args(argv)
    paths = jar_paths((DELTA, S3), args.dir)
    try:
        paths.append(log_store_jar(args.dir))
    except RuntimeError as error:  # only tables on S3 need it; say so and go on
        print(f"notice: {error}", file=sys.stderr)
    size = sum(path.stat().st_size for path in paths)
    print(f"{len(paths)} Spark jars ready in {paths[0].parent} ({size / 2**20:.0f} MB)")


if __name__ == "__main__":
    main()
