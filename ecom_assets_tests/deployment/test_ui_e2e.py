"""The Dagster UI, driven in headless Chromium (Playwright with Debian's chromium), on a real `dagster dev`
(webserver and daemon): materialize a partition, backfill a range through the daemon as one run, see the checks
and the per-day plots.

The days are the last week: the asset page's metadata plots open per partition, over the last 120
days of the partitions definition (up to today), so only recent days show there.
"""

import re
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ecom_assets.platform.dates import DateRange
from ecom_assets.sales.sample_data import generate
from ecom_assets_tests.dagster_dev import dagster_dev, graphql

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PLOTTED_FIGURES = (
    *("gross_revenue", "returns_amount", "net_revenue", "order_count", "units_sold", "avg_order_value"),
    *("active_customers", "new_customers", "returning_customers"),
    *("days_in_run", "days_quarantined", "later_days_restated", "first_sales_moved"),
)
"""The numbers a gold partition carries: the day's nine figures and the run's four counts (`day_status` is text)."""
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]
BRONZE = "ecommerce_catalog/raw/order_transactions"
RUNS = """{ runsOrError { ... on Runs { results { runId status
  tags { key value } } } } }"""
YESTERDAY = datetime.now(UTC).date() - timedelta(days=1)
WEEK = DateRange(YESTERDAY - timedelta(days=6), YESTERDAY)
ONE_DAY = WEEK.start + timedelta(days=1)
BACKFILL = DateRange(WEEK.start + timedelta(days=2), WEEK.start + timedelta(days=4))
BACKFILLS = """{ partitionBackfillsOrError { ... on PartitionBackfills { results { id status } } } }"""


def launch_from_dialog(page, url: str, partitions: str, button: re.Pattern) -> None:
    """Open the page's 'Materialize' dialog (a job's or an asset's), type the partitions, press the launch button."""
    page.goto(url)
    page.locator("button", has_text="Materialize").first.click()
    show_all = page.get_by_text("Show all partitions")  # the dialog starts with the last 90 days only
    confirm = page.get_by_role("button", name="Confirm")
    show_all.or_(confirm).first.wait_for()
    if confirm.is_visible():  # the dimensions also read the feeds' tables, which this instance never materialized
        confirm.click()
    show_all.click()
    box = page.locator("input[type=text]:visible").first
    box.fill(partitions)
    box.press("Enter")
    page.get_by_role("button", name=button).click()


def wait_for_runs(base_url: str, count: int, timeout: float = 900) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        runs = graphql(base_url, RUNS)["runsOrError"]["results"]
        if len(runs) >= count and all(run["status"] in ("SUCCESS", "FAILURE", "CANCELED") for run in runs):
            return runs
        assert time.monotonic() < deadline, f"runs did not finish: {runs}"
        time.sleep(3)


def wait_for_backfills(base_url: str, timeout: float = 120) -> list[dict]:
    """The instance's backfills, once the daemon has closed every one (it does so on its next pass after the runs)."""
    deadline = time.monotonic() + timeout
    while True:
        backfills = graphql(base_url, BACKFILLS)["partitionBackfillsOrError"]["results"]
        if backfills and all(backfill["status"] not in ("REQUESTED", "CANCELING") for backfill in backfills):
            return backfills
        assert time.monotonic() < deadline, f"backfills not closed: {backfills}"
        time.sleep(3)


def test_materialize_and_backfill_from_the_ui(tmp_path, dagster_home):
    from playwright.sync_api import sync_playwright

    generate(tmp_path / "data", WEEK)
    ARTIFACTS.mkdir(exist_ok=True)
    with dagster_dev(tmp_path, dagster_home) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(f"{base_url}/locations/ecom_assets/jobs/daily_sales_job")
        page.locator("button", has_text="Materialize").first.wait_for()
        time.sleep(2)
        if page.get_by_role("button", name="Skip").is_visible():  # Dagster's first-visit community dialog
            page.get_by_role("button", name="Skip").click()

        # one day of one asset from its own page, then a backfill of the whole job from the job's page
        launch_from_dialog(page, f"{base_url}/assets/{BRONZE}", ONE_DAY.isoformat(), re.compile(r"Launch 1 run"))
        wait_for_runs(base_url, 1)
        launch_from_dialog(
            page,
            f"{base_url}/locations/ecom_assets/jobs/daily_sales_job",
            f"[{BACKFILL.start}...{BACKFILL.end}]",
            re.compile(r"Launch backfill"),
        )
        runs = wait_for_runs(base_url, 2)
        backfills = wait_for_backfills(base_url)

        page.goto(f"{base_url}/assets/ecommerce_catalog/analytics/sales_metrics?view=partitions")
        page.get_by_text("Materialized (3)").wait_for()  # the backfill's three days
        page.goto(f"{base_url}/assets/{BRONZE}?view=partitions")
        page.get_by_text("Materialized (4)").wait_for()  # one day alone, then the backfill's three
        page.screenshot(path=str(ARTIFACTS / "sales_metrics_partitions.png"), full_page=True)
        page.goto(f"{base_url}/assets/ecommerce_catalog/analytics/sales_metrics?view=checks")
        for check in ("schema", "non_negative", "reconciles_with_silver", "figures_anomaly"):
            page.get_by_text(check, exact=True).first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "sales_metrics_checks.png"), full_page=True)
        page.goto(f"{base_url}/assets/ecommerce_catalog/raw/order_transactions?view=checks")
        page.get_by_text("header_conformity", exact=True).first.wait_for()
        page.get_by_text("row_conservation", exact=True).first.wait_for()
        # the overview's Metadata section: its plots open per partition, which must show the days' figures
        page.goto(f"{base_url}/assets/ecommerce_catalog/analytics/sales_metrics")
        page.locator("button", has_text="Plots").first.click()  # beside "Table", over the metadata
        page.get_by_text("When graphing values by partition").wait_for()
        for figure in PLOTTED_FIGURES:
            page.get_by_text(figure, exact=True).first.wait_for()
        page.locator("canvas").nth(len(PLOTTED_FIGURES) - 1).wait_for()
        time.sleep(1)  # let the charts draw
        plotted_series = page.locator("canvas").count()
        page.screenshot(path=str(ARTIFACTS / "sales_metrics_plots.png"), full_page=True)
        page.goto(f"{base_url}/runs")
        page.get_by_text("Success").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "runs.png"), full_page=True)
        browser.close()

    assert plotted_series == len(PLOTTED_FIGURES), "each numeric figure of a day plotted once, per day"
    assert [run["status"] for run in runs] == ["SUCCESS", "SUCCESS"]
    (backfill,) = backfills
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS")
    backfill_runs = [run for run in runs if {"key": "dagster/backfill", "value": backfill["id"]} in run["tags"]]
    assert len(backfill_runs) == 1, "the single-run backfill policy makes the daemon launch the range as one run"
    assert (tmp_path / "data/warehouse/ecommerce_catalog/analytics/sales_metrics/_delta_log").is_dir()
    ranges = sorted(
        (
            tags.get("dagster/partition")
            or tags["dagster/asset_partition_range_start"] + "..." + tags["dagster/asset_partition_range_end"]
        )
        for tags in ({t["key"]: t["value"] for t in run["tags"]} for run in runs)
    )
    assert ranges == [ONE_DAY.isoformat(), f"{BACKFILL.start}...{BACKFILL.end}"]
