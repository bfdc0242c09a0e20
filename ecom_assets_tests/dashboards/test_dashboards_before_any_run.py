"""A fresh machine: before any run the dashboards serve every page, each saying which tables are not built yet
instead of drawing zeros, with no error and no request leaving loopback."""

import os
import shutil
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from ecom_assets.api_sources.standins import free_port, loopback_server
from ecom_assets.dashboards.pages import PAGES, page_path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LOOPBACK = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)")
def test_every_page_says_what_is_not_built_yet(tmp_path):
    port = free_port()
    env = {**os.environ, "ECOM_WAREHOUSE_ROOT": str(tmp_path / "warehouse")}
    command = [sys.executable, "-m", "ecom_assets.dashboards", "--port", str(port)]
    with loopback_server(command, port, env) as app, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for page in PAGES:
            tab = browser.new_page()
            errors, foreign = [], []
            tab.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            tab.on("request", lambda r, foreign=foreign: None if r.url.startswith(LOOPBACK) else foreign.append(r.url))
            tab.goto(f"{app}/{page_path(page)}")
            tab.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"] h1', timeout=60_000)

            body = tab.inner_text("body")
            assert "Not built yet:" in body, body[:2000]
            assert tab.locator('[data-testid="stException"]').count() == 0, body[:2000]
            assert not errors and not foreign, (errors, foreign)
            tab.close()
        browser.close()
