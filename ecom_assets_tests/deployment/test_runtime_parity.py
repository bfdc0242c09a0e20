"""The transforms run on the Spark of the default Databricks runtime, not only on the local one.

The transform, business-transform and check-rule tests run again in a subprocess whose `pyspark`
is the Databricks Runtime's (`DATABRICKS_RUNTIME_SPARK`, installed beside the virtualenv by
`./dev.sh test`), on a session with the cluster settings (`SESSION_SETTINGS`).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from resources.settings import DATABRICKS_RUNTIME, DATABRICKS_RUNTIME_SPARK

pytestmark = pytest.mark.slow
RUNTIME_PYSPARK = Path(sys.prefix) / "share" / "ecom-assets" / f"pyspark-{DATABRICKS_RUNTIME_SPARK}"
TRANSFORM_TESTS = ("sales/test_transforms.py", "sales/test_business_transforms.py", "sales/test_quality_rules.py")


def test_the_transform_tests_pass_on_the_databricks_runtime_spark(tmp_path):
    assert (RUNTIME_PYSPARK / "pyspark").is_dir(), (
        f"PySpark {DATABRICKS_RUNTIME_SPARK} ({DATABRICKS_RUNTIME}) is not installed at {RUNTIME_PYSPARK}; "
        "./dev.sh test installs it"
    )
    here = Path(__file__).resolve().parents[1]
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "0",  # the suite's own workers already use the cores
            "-p",
            "no:cacheprovider",
            *(str(here / name) for name in TRANSFORM_TESTS),
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(RUNTIME_PYSPARK), os.environ.get("PYTHONPATH", "")])},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert f"pyspark {DATABRICKS_RUNTIME_SPARK}" in completed.stdout, completed.stdout[-2000:]
    assert completed.returncode == 0, completed.stdout[-6000:]
