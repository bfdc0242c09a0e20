"""The stewards' HTML data-quality report, rendered from a real run's tables without Dagster."""

import re
import subprocess
import sys
from datetime import date

import pytest

from ecom_assets.cli.report import main
from ecom_assets.platform.dates import DateRange
from ecom_assets.sales.sample_data import RENAMED_HEADER, generate
from resources.landing import day_folder

pytestmark = pytest.mark.slow


def test_the_report_plots_checked_metrics_and_lists_failures_and_rejected_rows(
    tmp_path, landing_root, lakehouse, run_days
):
    days = DateRange(date(2011, 1, 4), date(2011, 1, 18))
    generate(landing_root, days, seed=11)
    last_file = next((landing_root / day_folder(days.end)).glob("*.csv"))
    lines = last_file.read_text().splitlines()
    for number in range(1, len(lines) // 3):
        lines[number] = lines[number].replace(",2011-01-18 ", ",2011-01-18T", 1)
    last_file.write_text("\n".join(lines) + "\n")
    broken_day = date(2011, 1, 11)
    renamed = ",".join(RENAMED_HEADER) + "\n"  # a header-only file: the day's verdict, no error rows of its own
    (landing_root / day_folder(broken_day) / "late.csv").write_text(renamed)
    assert run_days(days).success
    out = tmp_path / "report.html"

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecom_assets.cli.report",
            "--start",
            "2011-01-01",
            "--end",
            "2011-01-31",
            "--out",
            str(out),
        ],
        env={"ECOM_WAREHOUSE_ROOT": lakehouse.warehouse_root, "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )

    assert "failed" in completed.stdout
    page = out.read_text()
    assert page.count("<svg") == 5, "one plot per checked metric"
    assert "Gross revenue (GBP)" in page and "Share of bronze rows rejected by silver" in page
    revenue_chart = page.split("<h3>Gross revenue (GBP)")[1].split("<h3>")[0]
    # the generated shop closes on Saturdays; the broken day is quarantined, so gold has no figures for it
    trading_days = [day for day in days if day.weekday() != 5 and day != broken_day]
    assert revenue_chart.count("<circle") == len(trading_days), "a point per day with orders, from its metric facets"
    assert "day (UTC)</text>" in revenue_chart and ">2011-01-04</text>" in revenue_chart, "a dated axis"
    assert ">2011-01-18</text>" in revenue_chart and "class='axis'" in revenue_chart
    assert "without an expected band, from 2011-01-04" in revenue_chart, "the first days lack history"
    stale = page.split("<h2>Days kept out: stale in their tables</h2>")[1].split("<h2>")[0]
    for table in ("raw.order_transactions", "processed.orders_cleaned", "analytics.sales_metrics"):
        assert re.search(rf"<td>2011-01-11</td><td>ecommerce_catalog\.{table}</td><td>[^<]*header", stale), table
    assert "max-width: 36em; overflow-wrap: anywhere" in page, "long failing-row cells wrap"
    failures = page.split("<h2>Failed checks</h2>")[1].split("<h2>")[0]
    assert "rejected_share_anomaly" in failures and "2011-01-18" in failures
    assert "unparseable_invoice_date" in page and "2011-01-18T" in page, "rejected rows with their records"
    assert re.search(r"<strong>\d+</strong> check evaluation\(s\)", page)
    assert "http" not in page.replace("http://www.w3.org", ""), "self-contained: no external assets"


def test_the_report_of_a_warehouse_without_results_or_errors_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ECOM_WAREHOUSE_ROOT", str(tmp_path / "empty_warehouse"))
    out = tmp_path / "report.html"

    main(["--start", "2011-01-01", "--end", "2011-01-31", "--out", str(out)])

    page = out.read_text()
    assert "No failed checks in the range." in page and "No error rows in the range." in page
    assert page.count("No judged days in the range.") == 5
    assert "(0 evaluations, 0 failed, 0 error rows)" in capsys.readouterr().out
