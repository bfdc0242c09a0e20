"""Each dashboard page's time to its first complete render on a year of data, and again when its results are cached.

    .venv/bin/python -m benchmarks.dashboards [--warehouse PATH --start DAY --end DAY] [--days 365] [--keep DIR]

Without `--warehouse`, builds the tables first (not timed): a year of generated sales with feeds
and a faulted day or two (`ecom-sample generate --feeds --faults`), materialized as one backfill
through `./dev.sh backfill`, plus the last day's web-shop events. Then starts the app on
127.0.0.1 and opens each page in a fresh Chromium tab (its queries not cached yet; the first page also finds
the server just started), then goes to another page and back in the same tab (every result
cached per table version). A render is complete when the page's script has finished and every
chart is drawn. Targets: first render under
3 s, cached under 1 s.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from ecom_assets.api_sources.standins import free_port, loopback_server
from ecom_assets.dashboards.pages import PAGES, page_path

PROJECT = Path(__file__).resolve().parents[1]
FIRST_RENDER_TARGET_SECONDS = 3.0
CACHED_RENDER_TARGET_SECONDS = 1.0
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def build_year(work: Path, days: int) -> tuple[Path, str, str]:
    """Generates and materializes `days` days up to yesterday under `work`; returns the warehouse and the range."""
    end = datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    env = {
        **os.environ,
        "ECOM_LANDING_ROOT": str(work / "data"),
        "ECOM_WAREHOUSE_ROOT": str(work / "data" / "warehouse"),
        "ECOM_OUTPUT_ROOT": str(work / "output"),
        "DAGSTER_HOME": str(work / "dagster_home"),
    }
    sample = [str(Path(sys.executable).parent / "ecom-sample")]
    dagster = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "ecom_assets.definitions"]
    landing = ["--landing-root", str(work / "data")]
    print(f"Building {start} .. {end} under {work} (not timed) ...", flush=True)
    for command in (
        [*sample, "generate", "--start", str(start), "--end", str(end), "--feeds", "--faults", *landing],
        ["bash", str(PROJECT / "dev.sh"), "backfill", str(start), str(end)],
        [*sample, "clickstream", "--start", str(end), "--end", str(end), *landing],
        [*dagster, "--select", "group:clickstream_ingest"],
        [*dagster, "--select", "group:clickstream", "--partition-range", f"{end}-00:00...{end}-23:00"],
        [*dagster, "--select", "group:clickstream_daily", "--partition", str(end)],
    ):
        subprocess.run(command, env=env, check=False, cwd=PROJECT)
    return work / "data" / "warehouse", str(start), str(end)


def wait_until_drawn(page, title: str) -> None:
    """Until the page titled `title` has run its script and drawn every chart (as SVG, or canvas when large)."""
    page.wait_for_function(
        """title => {
            const app = document.querySelector('[data-testid="stApp"]');
            const heading = app && app.querySelector('h1');
            return app.getAttribute('data-test-script-state') === 'notRunning' && heading
                && heading.innerText.trim() === title
                && [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
                       .every(chart => chart.querySelector('svg, canvas'));
        }""",
        arg=title,
        timeout=120_000,
    )
    if shown := page.locator('[data-testid="stException"]').all_inner_texts():
        raise RuntimeError(f"{title} did not render: {shown}")


def page_seconds(browser, app: str, page_def, query: str) -> tuple[float, float]:
    """The page's first render in a fresh tab (its queries not cached yet), then its render when the user comes
    back to it from another page in the same tab (every result cached)."""
    tab = browser.new_page(viewport={"width": 1400, "height": 1800})
    started = time.perf_counter()
    tab.goto(f"{app}/{page_path(page_def)}{query}")
    wait_until_drawn(tab, page_def.title)
    first = time.perf_counter() - started
    other = PAGES[1] if page_def is PAGES[0] else PAGES[0]
    tab.locator('[data-testid="stSidebarNav"] a', has_text=other.title).click()
    wait_until_drawn(tab, other.title)
    started = time.perf_counter()
    tab.locator('[data-testid="stSidebarNav"] a', has_text=page_def.title).click()
    wait_until_drawn(tab, page_def.title)
    cached = time.perf_counter() - started
    tab.close()
    return first, cached


def main() -> None:
    """Builds (or takes) the tables, times each page, prints the figures beside their targets."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, help="an existing warehouse folder to read instead of building one")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--keep", type=Path, help="build under this folder and keep it (pass it as --warehouse later)")
    parser.add_argument("--start", help="the first day to show (default: a year before the last)")
    parser.add_argument("--end", help="the last day to show (default: the last day built)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dashboards-benchmark-") as scratch:
        if options.warehouse:
            warehouse, start, end = options.warehouse, options.start, options.end
        else:
            warehouse, start, end = build_year(options.keep or Path(scratch), options.days)
        query = f"?start={start}&end={end}" if start and end else ""
        port = free_port()
        env = {**os.environ, "ECOM_WAREHOUSE_ROOT": str(warehouse)}
        command = [sys.executable, "-m", "ecom_assets.dashboards", "--port", str(port)]
        with loopback_server(command, port, env) as app, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            figures = []
            for page in PAGES:
                figures.append((page.title, *page_seconds(browser, app, page, query)))
            browser.close()
    print(f"\nDashboards on {warehouse} ({start or 'default'} .. {end or 'default'}):")
    print(
        f"{'page':<14}{'first render':>14}{'cached':>10}  verdict (targets < {FIRST_RENDER_TARGET_SECONDS:.0f} s, "
        f"< {CACHED_RENDER_TARGET_SECONDS:.0f} s cached)"
    )
    for title, first, cached in figures:
        met = first < FIRST_RENDER_TARGET_SECONDS and cached < CACHED_RENDER_TARGET_SECONDS
        print(f"{title:<14}{first:>12.2f} s{cached:>8.2f} s  {'MET' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
