from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import httpx

from libs.common.service import Service
from services.learning.app import NAME, add_routes
from services.learning.config import LearningSettings
from services.learning.domain.learner import Learner
from services.learning.domain.ledger import COLUMNS, Ledger
from services.learning.handlers import make_handler
from tests.unit.learning.scenario import script


async def client_after_script() -> httpx.AsyncClient:
    settings = LearningSettings()
    learner, ledger = Learner(settings.learner()), Ledger()
    handle = make_handler(learner, ledger)
    for e in script():
        await handle("any", e)
    service = Service(NAME, settings, default_port=0)
    add_routes(service, learner, ledger)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=service.app),
                             base_url="http://learning")


async def test_ledger_endpoint_filters_by_engine_and_since() -> None:
    async with await client_after_script() as c:
        fx = (await c.get("/ledger", params={"engine": "forex"})).json()
        late = (await c.get("/ledger", params={"since": 400})).json()
        bad = await c.get("/ledger", params={"engine": "stocks"})
    assert [r["opportunity_id"] for r in fx] == ["opp-c", "opp-d"]
    assert [r["opportunity_id"] or r["intent_id"] for r in late] == ["opp-d", "int-x"]
    assert bad.status_code == 422


async def test_ledger_csv_has_header_and_one_line_per_row() -> None:
    async with await client_after_script() as c:
        resp = await c.get("/ledger.csv")
        rows = (await c.get("/ledger")).json()
    assert resp.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(resp.text)))
    assert tuple(parsed[0]) == COLUMNS and len(parsed) == len(rows) == 5
    a = next(r for r in parsed if r["opportunity_id"] == "opp-a")
    assert (a["order_ids"], a["slippage"], a["denial_reason"]) == ("ord-a1;ord-a2", "0.50", "")


async def test_stats_endpoint_reports_per_engine_and_strategy() -> None:
    async with await client_after_script() as c:
        doc = (await c.get("/stats")).json()
    assert doc["policy_version"] == 2  # two closed trades, two policy versions
    arb, fx = doc["strategies"]["ARBITRAGE:cross_venue_2leg"], \
        doc["strategies"]["FOREX:fx_rsi_reversion"]
    assert (arb["trades"], D(arb["net_pnl"]), D(arb["fees"])) == (1, D("0.70"), D("1.00"))
    assert (D(arb["slippage_total"]), arb["slippage_count"]) == (D("0.50"), 1)
    assert (fx["trades"], D(fx["net_pnl"]), D(fx["fees"])) == (1, D("8.10"), D("0.90"))
    assert D(fx["slippage_total"]) == D("0.00010") and fx["win_rate"] == "1"
