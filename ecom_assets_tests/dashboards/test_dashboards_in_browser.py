"""The dashboards in Chromium (Playwright with Debian's chromium) against the app on 127.0.0.1, over tables built
by a real run of the demo (three weeks with its planted faults: a quarantined day, a missing delivery, a burst of bad
lines; a day of web-shop events): every page renders with no error and no request leaving loopback, its figures
equal what the tables say when computed here independently, a withheld day is drawn as withheld, the date filter
changes the figures, and the SQL warehouse reader answers every page's query as the local reader does. The demo
run they are drawn from (with `--api`, a shop sent through the Shopify and Stripe stand-ins too) is tested here
as well: its report says what failed, what was kept out and where to look, and echoes no secret."""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, sync_playwright

from ecom_assets.api_sources.standins import free_port, loopback_server
from ecom_assets.dashboards.pages import PAGES, page_path
from ecom_assets.feeds.tables import INVENTORY_DAILY
from ecom_assets.platform.tables import QUARANTINED_DAYS
from ecom_assets.sales.tables import CUSTOMER_LIFETIME_VALUE, DIM_PRODUCTS, SALES_METRICS
from ecom_assets_tests.dagster_dev import PROJECT_ROOT
from ecom_assets_tests.databricks_sql_standin import sql_warehouse
from ecom_assets_tests.deployment.test_dev_commands import FRAMEWORK_WARNING, SPARK_WINDOW_WARNING, dev_sh
from resources.settings import DashboardSettings, Settings
from resources.table_queries import table_queries_for
from resources.table_reader import TableReader

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
START, END = date(2025, 3, 4), date(2025, 3, 24)
"""Three weeks after the clickstream's first hour (2019-10-01), so the last day's web-shop events build its funnel."""
QUARANTINED_DAY, MISSING_DAY = date(2025, 3, 6), date(2025, 3, 9)
"""The demo's planted faults in this range: the third trading day's renamed header, the fifth's missing file."""
ARTIFACTS = Path(os.environ.get("ECOM_TEST_ARTIFACTS", PROJECT_ROOT / "output" / "test-artifacts")) / "dashboards"
LOOPBACK = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The demo run over START .. END, with its faults, the last day's clickstream and the API shop: its folder
    (landing, warehouse, output) and the finished command."""
    root = tmp_path_factory.mktemp("dashboards")
    completed = dev_sh(root, "demo", "--clickstream", "--api", START.isoformat(), END.isoformat(), timeout=1800)
    assert completed.returncode == 1, completed.stdout[-3000:] + completed.stderr[-3000:]
    return root, completed


@pytest.fixture(scope="module")
def built(demo) -> Path:
    """The demo's tables."""
    root, completed = demo
    assert "Dashboards over these tables: ./dev.sh dashboards" in completed.stdout
    return root / "data" / "warehouse"


@pytest.fixture(scope="module")
def tables(built) -> TableReader:
    return TableReader(Settings(warehouse_root=str(built)))


@pytest.fixture(scope="module")
def app(built) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "ECOM_WAREHOUSE_ROOT": str(built), "ECOM_UI_BASE_URL": "http://127.0.0.1:3999"}
    with loopback_server([sys.executable, "-m", "ecom_assets.dashboards", "--port", str(port)], port, env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def test_the_demo_with_planted_faults_exits_1_and_says_what_failed_what_was_kept_out_and_where_to_look(demo):
    """With `--api` it also reconciles a shop sent through the API stand-ins, and no secret reaches its output.

    Its runs take in every asset, so their logs show that none prints a framework warning (they are
    filtered in one place) or Spark's warning of a window that moves every row to one partition."""
    root, completed = demo
    out = completed.stdout
    assert "FAILED" in out and "What failed:" in out
    failed_check = re.search(
        rf"check header_conformity \(ERROR\) of ecommerce_catalog\.raw\.order_transactions on {QUARANTINED_DAY}: (.+)",
        out,
    )
    assert failed_check and f"{QUARANTINED_DAY}-late.csv" in failed_check.group(1), out
    kept_out = out.split("What was kept out")[1]
    for table in ("raw.order_transactions", "processed.orders_cleaned", "analytics.sales_metrics"):
        assert f"ecommerce_catalog.{table} {QUARANTINED_DAY}:" in kept_out
    assert "python -m ecom_assets.cli.show ecommerce_catalog.logs.etl_errors" in out
    assert f"ecom-dq-report --start {START} --end {END}" in out
    assert "planted by the demo's sample data" in out and "did NOT pass" in out
    previews = [path.read_text() for path in (root / "output").glob("email_check_failures_*.html")]
    assert any("header_conformity" in preview for preview in previews)

    reconciliation = out.split("Payments reconciled with orders")[1]
    for status in ("matched", "unpaid", "overpaid", "refund_mismatch", "orphan_charge"):
        assert f" {status}" in reconciliation, reconciliation
    assert re.search(r"planted: charge ch_\w+ for no order", out)
    logs = "".join(path.read_text() for path in (root / "output" / "logs").glob("*.log"))
    assert "sk_test_" not in out + completed.stderr + logs, "the demo's Stripe key is never echoed"
    assert not FRAMEWORK_WARNING.findall(logs), "known framework warnings are filtered in one place"
    assert SPARK_WINDOW_WARNING not in logs, "no window moves every row to one partition"


class Visit:
    """A page opened in a fresh tab, with the page errors and non-loopback requests it caused."""

    def __init__(self, browser, url: str) -> None:
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.page: Page = browser.new_page(viewport={"width": 1400, "height": 1800})
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda r: None if r.url.startswith(LOOPBACK) else self.foreign.append(r.url))
        self.page.goto(url)
        self.wait()

    def wait(self) -> None:
        """Until the script has run and every chart is drawn."""
        self.page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"] h1', timeout=60_000)
        self.page.wait_for_function(
            """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
                       .every(chart => chart.querySelector('svg, canvas'))""",
            timeout=30_000,
        )

    def metric(self, label: str) -> str:
        """The value of the metric labelled `label`."""
        metric = self.page.locator('[data-testid="stMetric"]', has=self.page.get_by_text(label, exact=True))
        return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()

    def data_table(self, title: str) -> pd.DataFrame:
        """The table behind a chart (its expander opened), as text."""
        expander = self.page.locator('[data-testid="stExpander"]', has_text=f"Data: {title}")
        expander.locator("summary").click()
        table = expander.locator("table")
        table.wait_for(state="visible")
        header = [text.strip() for text in table.locator("thead tr").last.locator("th").all_text_contents()]
        rows = [
            [text.strip() for text in row.locator("th, td").all_text_contents()][-len(header) :]
            for row in table.locator("tbody tr").all()
        ]
        return pd.DataFrame(rows, columns=header)

    def chart_labels(self) -> list[str]:
        """The accessible descriptions of every drawn mark (Vega writes each mark's fields into its aria-label)."""
        return self.page.eval_on_selector_all(
            "svg [aria-label]", "marks => marks.map(m => m.getAttribute('aria-label'))"
        )


def url_of(app: str, page, start: date = START, end: date = END, **more) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"start": start, "end": end, **more}.items())
    return f"{app}/{page_path(page)}?{query}"


def published_net_revenue(tables: TableReader) -> pd.Series:
    """Net revenue by day over the days gold publishes (complete or closed, not quarantined), computed here."""
    metrics = tables.to_pandas(SALES_METRICS)
    quarantine = tables.to_pandas(QUARANTINED_DAYS)
    held = set(quarantine.loc[quarantine["asset"] == SALES_METRICS.full_name, "partition_date"])
    shown = metrics[metrics["day_status"].isin(["complete", "closed"]) & ~metrics["order_date"].isin(held)]
    return shown.set_index("order_date")["net_revenue"].sort_index()


def test_every_page_renders_without_an_error_or_a_request_leaving_loopback(browser, app):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        visit = Visit(browser, url_of(app, page))

        assert visit.page.locator("h1").first.inner_text() == page.title
        assert visit.page.locator('[data-testid="stException"]').count() == 0, visit.page.inner_text("body")[:3000]
        assert visit.page.get_by_text("Page not found").count() == 0
        assert not visit.errors and not visit.foreign, (visit.errors, visit.foreign)
        assert re.search(
            rf"Days covered: {START:%Y-%m-%d} to {END:%Y-%m-%d} \(UTC\); tables last changed \d{{4}}-\d\d-\d\d",
            visit.page.inner_text("body"),
        )
        visit.page.screenshot(path=str(ARTIFACTS / f"{page.slug}.png"), full_page=True)
        visit.page.close()


def test_revenue_figures_equal_the_gold_table_and_withheld_days_are_drawn_as_withheld(browser, app, tables):
    net = published_net_revenue(tables)
    in_range = net[(net.index >= START) & (net.index <= END)]
    end = max(in_range.index)
    current = sum(net.get(end - timedelta(days=i), Decimal(0)) for i in range(7))
    previous = sum(net.get(end - timedelta(days=7 + i), Decimal(0)) for i in range(7))

    visit = Visit(browser, url_of(app, PAGES[0]))

    assert visit.metric("Net revenue") == f"£{sum(in_range):,.2f}"
    assert all(end - timedelta(days=i) in net.index for i in range(14)), "the last 14 days are all published"
    assert visit.metric("Week over week") == f"{float((current - previous) / abs(previous)):+.1%}"
    body = visit.page.inner_text("body")
    assert visit.metric("Year over year") == "n/a"
    assert "Year over year: n/a, 7 day(s) of the two periods not published" in body, "no sales a year before"
    assert f"{QUARANTINED_DAY:%Y-%m-%d}: quarantined:" in body and f"{MISSING_DAY:%Y-%m-%d}: withheld: missing" in body
    daily = visit.data_table("daily net revenue").set_index("order_date")
    assert daily.loc[f"{MISSING_DAY:%Y-%m-%d}", "net_revenue"] == "withheld (missing_delivery)"
    assert daily.loc[f"{QUARANTINED_DAY:%Y-%m-%d}", "net_revenue"] == "withheld (quarantined)"
    labels = visit.chart_labels()
    missing = f"{MISSING_DAY:%b} {MISSING_DAY.day:02d}, {MISSING_DAY.year}"
    assert any(missing in label and "status: missing_delivery" in label for label in labels), "a dashed rule"
    assert not any(missing in label and "series: net revenue" in label for label in labels), "never a point"


def test_the_date_and_country_filters_change_the_figures(browser, app, tables):
    net = published_net_revenue(tables)
    start, end = date(2025, 3, 16), date(2025, 3, 20)

    visit = Visit(browser, url_of(app, PAGES[0], start, end))

    assert visit.metric("Net revenue") == f"£{sum(net[(net.index >= start) & (net.index <= end)]):,.2f}"
    assert f"Days covered: {start:%Y-%m-%d} to {end:%Y-%m-%d}" in visit.page.inner_text("body")
    assert visit.metric("Net revenue") != f"£{sum(net[(net.index >= START) & (net.index <= END)]):,.2f}"

    lifetime = tables.to_pandas(CUSTOMER_LIFETIME_VALUE)
    country = lifetime["country"].value_counts().index[1]
    in_country = lifetime[lifetime["country"] == country]["segment"].value_counts()
    customers = Visit(browser, url_of(app, PAGES[2], country=country.replace(" ", "%20")))
    for segment, count in in_country.items():
        assert customers.metric(f"{segment} customers") == f"{count:,}"
    revenue = Visit(browser, url_of(app, PAGES[0], country=country.replace(" ", "%20")))
    chosen = revenue.page.get_by_text(f"Sales revenue per day: {country}")
    chosen.first.wait_for(timeout=30_000)  # under load it was once drawn after Visit.wait returned
    assert chosen.count() == 1


def test_a_heatmap_cell_and_a_segments_count_equal_the_tables(browser, app, tables):
    stock = tables.to_pandas(INVENTORY_DAILY)
    products = tables.to_pandas(DIM_PRODUCTS)
    current = products[products["is_current"]][["stock_code", "catalog_category"]]
    joined = stock.merge(current, left_on="product_id", right_on="stock_code", how="left")
    day = max(joined["business_date"])
    category = sorted(joined["catalog_category"].dropna().unique())[0]
    expected = joined[(joined["business_date"] == day) & (joined["catalog_category"] == category)]["stock_on_hand"]

    inventory = Visit(browser, url_of(app, PAGES[1]))
    cells = inventory.data_table("units in stock by category and day").set_index("day")

    assert cells.loc[f"{day:%Y-%m-%d}", category].replace(",", "").split(".")[0] == str(int(expected.sum()))

    lifetime = tables.to_pandas(CUSTOMER_LIFETIME_VALUE)
    customers = Visit(browser, url_of(app, PAGES[2]))
    for segment, count in lifetime["segment"].value_counts().items():
        assert customers.metric(f"{segment} customers") == f"{count:,}"


def test_the_data_health_page_links_each_quarantined_day_to_its_run(browser, app, tables):
    quarantine = tables.to_pandas(QUARANTINED_DAYS)

    visit = Visit(browser, url_of(app, PAGES[4]))

    links = visit.page.locator('a[href^="http://127.0.0.1:3999/runs/"]')
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    assert {f"http://127.0.0.1:3999/runs/{run}" for run in quarantine["run_id"]} <= hrefs
    assert re.search(
        rf"{QUARANTINED_DAY:%Y-%m-%d}\s+ecommerce_catalog\.analytics\.sales_metrics", visit.page.inner_text("body")
    )


def test_the_sql_warehouse_reader_answers_every_pages_queries_as_the_local_reader(built, tmp_path, monkeypatch):
    local = table_queries_for(Settings(warehouse_root=str(built)))
    params = {
        "start": START,
        "end": END,
        "country": "",
        "day": END - timedelta(days=1),
        "min_views": 1,
        "start_hour": pd.Timestamp(END).to_pydatetime(),
        "end_hour": pd.Timestamp(END + timedelta(1)).to_pydatetime(),
        "check_name": "no_unexplained_stock_drop",
    }
    with sql_warehouse(built, "dapi-parity-token", tmp_path) as (host, http_path, certificate, _):
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-parity-token")
        remote = table_queries_for(
            Settings(
                deployment="databricks",
                warehouse_root=None,
                dashboards=DashboardSettings(databricks_host=host, sql_warehouse_http_path=http_path),
            )
        )
        for query in {query for page in PAGES for query in page.queries}:
            versions = {alias: local.version(table) for alias, table in query.tables.items()}
            assert all(versions.values()), f"the demo builds every table a page reads: {versions}"
            pinned = {alias: (query.tables[alias], version.version) for alias, version in versions.items()}
            used = {name: value for name, value in params.items() if re.search(rf":{name}\b", query.sql)}
            mine, theirs = local.query(query.sql, pinned, used), remote.query(query.sql, pinned, used)
            columns = list(mine.columns)
            pd.testing.assert_frame_equal(
                theirs.sort_values(columns).reset_index(drop=True),
                mine.sort_values(columns).reset_index(drop=True),
                check_dtype=False,
                obj=query.sql[:80],
            )
