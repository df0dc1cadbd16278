"""The intake service in PAPER mode, as a process, streaming from the local exchange simulator
through the ccxt adapter into md.* — the code path a live deployment runs."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from libs.common.bus import FIELD
from libs.common.events import InstrumentsUpdated, OrderBookUpdated, decode
from libs.common.redis_server import free_port
from libs.common.testing import eventually

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


async def test_intake_paper_mode_streams_books_and_metadata_from_an_exchange(
        redis_url: str, redis: Redis, tmp_path: Path) -> None:
    pytest.importorskip("ccxt")
    from services.intake.simulators.ccxt_server import CcxtSimServer

    await redis.flushdb()
    port = free_port()
    async with CcxtSimServer(["BINANCE"], speed=20) as sim:
        exchanges = [{"venue": "BINANCE", "symbols": ["NKN/USDT"],
                      "base_url": sim.urls["BINANCE"], "backoff_initial_s": 0.05}]
        env = {**os.environ, "TRIFECTA_REDIS_URL": redis_url, "TRIFECTA_MODE": "PAPER",
               "TRIFECTA_HTTP_PORT": str(port), "TRIFECTA_LOG_JSON": "true",
               "TRIFECTA_INTAKE_EXCHANGES": json.dumps(exchanges)}
        log = open(tmp_path / "intake.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "services.intake"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            async def books_arrived() -> bool:
                assert proc.poll() is None, (tmp_path / "intake.log").read_text()
                return await redis.xlen("md.books") >= 5

            await eventually(books_arrived, timeout=60, interval=0.2)
            async with httpx.AsyncClient() as client:
                health = (await client.get(f"http://127.0.0.1:{port}/health")).json()
        finally:
            proc.terminate()
            assert await asyncio.to_thread(proc.wait, 15) == 0
    assert health["status"] == "RUNNING"
    assert health["venues"]["BINANCE"]["events"] >= 5
    meta = [decode(f[FIELD]) for _, f in await redis.xrange("md.instruments")]
    assert isinstance(meta[0], InstrumentsUpdated) and meta[0].venue == "BINANCE"
    assert "NKN/USDT.BINANCE" in {i.instrument_id for i in meta[0].instruments}
    books = [decode(f[FIELD]) for _, f in await redis.xrange("md.books")]
    assert all(isinstance(b, OrderBookUpdated) and b.instrument_id == "NKN/USDT.BINANCE"
               for b in books)
    assert all(b.bids[0][0] < b.asks[0][0] for b in books)


def test_live_mode_without_any_venue_fails_at_start_with_a_clear_message(redis_url: str) -> None:
    env = {**os.environ, "TRIFECTA_REDIS_URL": redis_url, "TRIFECTA_MODE": "PAPER",
           "TRIFECTA_HTTP_PORT": str(free_port())}
    proc = subprocess.run([sys.executable, "-m", "services.intake"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "no venue configured" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("service", ["intake", "scanner", "decision", "execution", "oms",
                                     "learning"])
def test_live_mode_refuses_to_start_without_the_explicit_opt_in(redis_url: str,
                                                                service: str) -> None:
    env = {**os.environ, "TRIFECTA_REDIS_URL": redis_url, "TRIFECTA_MODE": "LIVE",
           "TRIFECTA_HTTP_PORT": str(free_port())}
    env.pop("TRIFECTA_LIVE_TRADING_ENABLED", None)
    proc = subprocess.run([sys.executable, "-m", f"services.{service}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "TRIFECTA_LIVE_TRADING_ENABLED=true" in proc.stderr
