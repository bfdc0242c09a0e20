"""The way in for a new user: `dev.sh materialize` and `backfill` tell the truth about a run, the sample data can
carry realistic faults, and stopping the UI leaves nothing behind. (`dev.sh demo`'s report, and that its runs of
every asset print no framework or Spark window warning, are tested in test_dashboards_in_browser.py, on the demo run
the dashboards are drawn from.)"""

import os
import re
import signal
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path

import pytest

from ecom_assets.api_sources.standins import free_port
from ecom_assets.cli.ui import alive, process_tree
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.framework_warnings import (
    KNOWN_FRAMEWORK_WARNINGS,
    pythonwarnings,
    silence_known_framework_warnings,
)
from ecom_assets.sales.sample_data import BAD_LINES_IN_BURST, RENAMED_HEADER, generate, plant_faults
from ecom_assets_tests.dagster_dev import PROJECT_ROOT, wait_until_answering

FRAMEWORK_WARNING = re.compile(r"\b\w*Warning\b: ")
"""A Python warning as a log prints it."""
SPARK_WINDOW_WARNING = "WindowExec"
"""In Spark's warning that a window without a partition moves every row to one partition."""
CORE_STEPS = ",".join(
    f"ecommerce_catalog/{name}"
    for name in ("raw/order_transactions", "processed/orders_cleaned", "analytics/sales_metrics")
)
"""Bronze, silver and gold, as a `--select` of the Dagster CLI."""


def dev_sh(tmp_path: Path, *arguments: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run `./dev.sh` with its landing, warehouse, instance and output folders under `tmp_path`."""
    env = {
        **os.environ,
        "ECOM_LANDING_ROOT": str(tmp_path / "data"),
        "ECOM_WAREHOUSE_ROOT": str(tmp_path / "data" / "warehouse"),
        "ECOM_OUTPUT_ROOT": str(tmp_path / "output"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    return subprocess.run(
        ["bash", str(PROJECT_ROOT / "dev.sh"), *arguments], env=env, capture_output=True, text=True, timeout=timeout
    )


def command_log(tmp_path: Path) -> str:
    """The whole output of the one `dagster asset materialize` a `dev.sh` command ran."""
    (log,) = (tmp_path / "output" / "logs").glob("run-*.log")
    return log.read_text()


def test_the_known_framework_warnings_are_silenced_each_with_a_reason_and_others_still_show():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        silence_known_framework_warnings()
        for message in KNOWN_FRAMEWORK_WARNINGS:
            warnings.warn(f"{message}, and may have breaking changes.", UserWarning, stacklevel=1)
        warnings.warn("Parameter `something_new` is currently in beta", UserWarning, stacklevel=1)

    assert [str(warning.message) for warning in shown] == ["Parameter `something_new` is currently in beta"]
    assert all(len(reason) > 40 for reason in KNOWN_FRAMEWORK_WARNINGS.values()), "each says why it is safe"
    assert pythonwarnings().count("ignore:") == len(KNOWN_FRAMEWORK_WARNINGS)


def test_planted_faults_are_a_renamed_header_file_a_missing_day_and_a_burst_of_bad_lines(tmp_path):
    files = generate(tmp_path, DateRange(date(2011, 1, 4), date(2011, 1, 15)))

    planted = plant_faults(tmp_path, files)

    trading = sorted(files)
    assert len(planted) == 3
    late = trading[2].with_name(f"{trading[2].stem}-late.csv")
    assert late.read_text().splitlines()[0] == ",".join(RENAMED_HEADER)
    assert not trading[4].exists(), "the fifth trading day's file is never delivered"
    burst = trading[7].read_text().splitlines()[-BAD_LINES_IN_BURST:]
    assert all(",GARBLED," in line and "25:61:00" in line for line in burst)
    short = generate(tmp_path / "short", DateRange(date(2011, 1, 4), date(2011, 1, 6)))
    assert len(plant_faults(tmp_path / "short", short)) == 1, "a short range gets the faults its days allow"
    assert len(list((tmp_path / "short").rglob("*.csv"))) == 4


@pytest.mark.slow
def test_a_clean_day_exits_0_with_its_summary(tmp_path):
    """The core steps only: every asset's run, with the framework and Spark warnings it must not print, is the
    demo's (test_dashboards_in_browser.py)."""
    generate(tmp_path / "data", DateRange(date(2011, 1, 4), date(2011, 1, 4)))

    completed = dev_sh(tmp_path, "materialize", "2011-01-04", CORE_STEPS)

    out = completed.stdout
    assert completed.returncode == 0, out + completed.stderr
    assert "succeeded: every blocking check passed" in out
    assert re.search(r"Checks: [1-9][\d,]* passed, 0 failed", out)
    assert "Days: 1 (2011-01-04 .. 2011-01-04)" in out
    assert "RUN_SUCCESS" in command_log(tmp_path)


@pytest.mark.slow
def test_a_command_that_starts_no_run_fails_and_is_not_mistaken_for_the_previous_run(tmp_path):
    completed = dev_sh(tmp_path, "materialize", "2011-01-04", "no_such_asset")

    assert completed.returncode != 0
    assert "FAILED before starting a run" in completed.stdout
    assert "no_such_asset" in completed.stdout


@pytest.mark.slow
def test_stopping_the_ui_with_ctrl_c_leaves_no_process_behind(tmp_path):
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "ECOM_LANDING_ROOT": str(tmp_path / "data")}
    ui = subprocess.Popen(
        [sys.executable, "-m", "ecom_assets.cli.ui", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=(tmp_path / "ui.log").open("wb"),  # a file: an unread pipe would fill and stall dagster dev
        stderr=subprocess.STDOUT,
        start_new_session=True,  # like a terminal: Ctrl-C goes to the foreground process group
    )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}", ui, 120, str(tmp_path / "ui.log"))
        started = process_tree(ui.pid)
        assert len(started) >= 3, "dagster dev, its webserver, daemon and code server"

        os.killpg(ui.pid, signal.SIGINT)
        ui.wait(timeout=90)

        left = [pid for pid in started if alive(pid)]
        assert left == [], f"still running after Ctrl-C: {left}"
        assert "nothing left running" in (tmp_path / "ui.log").read_text()
    finally:
        for pid in [ui.pid, *process_tree(ui.pid)]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
