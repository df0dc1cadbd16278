"""The dashboard page in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright's Python package; no browser download). Skips when either is absent."""
from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from libs.common.events import encode
from libs.common.streams import OPPORTUNITIES
from libs.common.testing import factories as f
from tests.integration.test_dashboard import (
    TOKEN,
    RunningDashboard,
    last_control,
    publish,
    start_dashboard,
)

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "var" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="the playwright Python package is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def dashboard(redis_url: str, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[RunningDashboard]:
    with start_dashboard(redis_url, tmp_path_factory.mktemp("dash-browser")) as running:
        yield running


@pytest.fixture(scope="module")
def page(dashboard: RunningDashboard) -> Iterator[sync_api.Page]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            pg = browser.new_page(viewport={"width": 1400, "height": 900})
            pg.set_default_timeout(10_000)
            yield pg
        finally:
            browser.close()


def test_page_shows_the_mode_and_live_opportunities_and_sends_the_kill_switch(
        page: sync_api.Page, dashboard: RunningDashboard, redis_url: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(dashboard.url)
    page.wait_for_selector("body[data-ready='1']")
    assert page.text_content("#mode") == "PAPER"
    page.screenshot(path=str(SHOTS / "dashboard-loaded.png"), full_page=True)

    opp = f.arbitrage(opportunity_id="opp-browser-1")
    publish(redis_url, OPPORTUNITIES, encode(opp))
    row = page.wait_for_selector("#opportunities tbody tr[data-id='opp-browser-1']")
    cells = [c.text_content() for c in row.query_selector_all("td")]
    assert cells[0] == "ARBITRAGE"
    assert cells[3] == str(opp.net_edge_bps)

    before = time.time_ns()
    page.fill("#token", TOKEN)
    page.click("#btn-halt")
    page.wait_for_selector("#control-result[data-status='200']")
    page.wait_for_function("document.getElementById('kill-state').textContent === 'HALTED'")
    _, event = last_control(redis_url)
    assert (event.active, event.reduce_only) == (True, False)
    assert event.ts_event >= before
    page.screenshot(path=str(SHOTS / "dashboard-halted.png"), full_page=True)

    page.fill("#token", "wrong")
    page.click("#btn-resume")
    page.wait_for_selector("#control-result[data-status='401']")
    assert last_control(redis_url)[1].active is True  # nothing published without the token
