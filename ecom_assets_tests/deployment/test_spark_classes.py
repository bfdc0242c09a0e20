"""The Spark class archive: written by `ecom-spark-classes`, mapped by local sessions, skipped when unusable.

Each session here starts in its own process: the test process already has its JVM.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ecom_assets.cli.spark_classes import _remove_stale_archives
from resources.spark import default_class_archive

pytestmark = pytest.mark.slow

SESSION_SCRIPT = """
import json, sys
from resources.spark import LocalSparkSession
session = LocalSparkSession(class_archive=sys.argv[1], java_options=sys.argv[2]).get_session()
runtime = session._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
print(json.dumps({"count": session.range(7).count(), "jvm_arguments": list(runtime.getInputArguments())}))
"""


def start_session(archive: Path, java_options: str, cwd: Path) -> tuple[dict, str]:
    """Start a local session with the archive in a fresh process; returns its JVM's arguments and a job's result."""
    done = subprocess.run(
        [sys.executable, "-c", SESSION_SCRIPT, str(archive), java_options],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.fixture(scope="module")
def written_archive(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """An archive the command wrote, and how a second run of the command went.

    The set-up (`./dev.sh`) runs the command into the environment; when that archive is there it
    is the one judged, since writing another costs minutes of the suite. Otherwise the command
    writes one into an empty folder here.
    """
    installed = Path(default_class_archive() or "/nonexistent")
    if installed.is_file():
        archive, where = installed, []
    else:
        archive = tmp_path_factory.mktemp("archive") / "spark-classes.jsa"
        where = ["--out", str(archive)]
        subprocess.run(
            [sys.executable, "-m", "ecom_assets.cli.spark_classes", *where],
            timeout=600,
            check=True,
            capture_output=True,
        )
    command = [sys.executable, "-m", "ecom_assets.cli.spark_classes", *where]
    again = subprocess.run(command, cwd=archive.parent, timeout=120, check=True, capture_output=True, text=True)
    return archive, again


def test_the_command_writes_an_archive_once_and_leaves_no_partial_file(written_archive):
    archive, second_run = written_archive

    assert archive.is_file()
    assert not [path.name for path in archive.parent.iterdir() if path.name.startswith(f"{archive.name}.")], (
        "no partial file left beside it"
    )
    assert "present" in second_run.stdout


def test_a_session_maps_the_archive(written_archive, tmp_path):
    archive, _ = written_archive

    # -Xshare:on: a JVM that cannot map the archive does not start (and the session would retry without it)
    session, _ = start_session(archive, "-Xshare:on", tmp_path)

    assert session["count"] == 7
    assert f"-XX:SharedArchiveFile={archive}" in session["jvm_arguments"]


def test_a_session_starts_without_an_archive_its_jvm_cannot_use(written_archive, tmp_path):
    truncated = tmp_path / "truncated.jsa"
    truncated.write_bytes(written_archive[0].read_bytes()[:4096])  # a valid header, no classes: the JVM dies

    session, log = start_session(truncated, "-Xss2m", tmp_path)

    assert session["count"] == 7
    assert not any("SharedArchiveFile" in argument for argument in session["jvm_arguments"])
    assert f"did not start with the class archive {truncated}" in log


def test_a_new_default_archive_removes_the_archives_of_other_versions_beside_it(tmp_path):
    current = tmp_path / "spark-4.2.0-cb6afcd7-java-17.0.15-c976bb03.jsa"
    stale = tmp_path / "spark-4.2.0-cb6afcd7-java-17.0.14-0a1b2c3d.jsa"
    unrelated = tmp_path / "pyspark-4.0.0"
    for path in (current, stale, unrelated):
        path.write_bytes(b"")

    _remove_stale_archives(current)

    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([current.name, unrelated.name])
