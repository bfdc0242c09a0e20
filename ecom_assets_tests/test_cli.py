"""The whole thing through the command lines a user types: ecom-sample and dagster."""

import os
import subprocess
from datetime import date

import pytest

from ecom_assets.dates import DateRange
from ecom_assets.tables import SALES_METRICS
from ecom_assets_tests.conftest import BIN
from ecom_assets_tests.reference import distinct_valid_lines, expected_sales_metrics
from resources import Lakehouse

pytestmark = pytest.mark.slow


def test_dagster_cli_materializes_a_partition_range_as_one_run(spark, tmp_path, dagster_home):
    env = {
        **os.environ,
        "ECOM_LANDING_ROOT": str(tmp_path / "data"),
        "ECOM_WAREHOUSE_ROOT": str(tmp_path / "data" / "warehouse"),
        "DAGSTER_HOME": str(dagster_home),
    }
    subprocess.run(
        [
            BIN / "ecom-sample",
            "generate",
            "--start",
            "2011-01-03",
            "--end",
            "2011-01-05",
            "--landing-root",
            tmp_path / "data",
        ],
        check=True,
        env=env,
    )
    completed = subprocess.run(
        [
            BIN / "dagster",
            "asset",
            "materialize",
            "-m",
            "ecom_assets.definitions",
            "--select",
            f"*{'/'.join(SALES_METRICS.parts)}",  # gold and everything upstream of it
            "--partition-range",
            "2011-01-03...2011-01-05",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stderr.count("RUN_SUCCESS") == 1

    lakehouse = Lakehouse(warehouse_root=env["ECOM_WAREHOUSE_ROOT"])
    gold = {row["order_date"]: row.asDict() for row in lakehouse.read(spark, SALES_METRICS).collect()}
    days = DateRange(date(2011, 1, 3), date(2011, 1, 5))
    assert gold == expected_sales_metrics(distinct_valid_lines(tmp_path / "data"), days.days())
