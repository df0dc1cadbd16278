"""A restarted scanner warms up from what its group already handled, skipping pending entries."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
from redis.asyncio import Redis

from libs.common.bus import FIELD, ensure_groups
from libs.common.events import encode
from libs.common.testing.factories import book
from services.scanner.app import build
from services.scanner.config import ScannerSettings

pytestmark = pytest.mark.integration


async def test_warm_up_rebuilds_books_from_handled_entries_not_pending_ones(
        redis: Redis, redis_url: str) -> None:
    await redis.flushdb()
    await ensure_groups(redis)
    spot = dict(instrument_id="BTC/USDT.BINANCE", venue="BINANCE", symbol="BTCUSDT",
                instrument_kind="SPOT", base="BTC", quote="USDT", contract_size=None)
    for seq in (1, 2, 3):
        await redis.xadd("md.books", {FIELD: encode(book(**spot, sequence=seq,
                                                         ts_event=10**18 + seq))})
    # entries 1 and 2 were handled and acked, entry 3 was delivered and is still pending
    rows = await redis.xreadgroup("scanner", "dead", {"md.books": ">"}, count=3)
    ids = [entry_id for entry_id, _ in rows[0][1]]
    await redis.xack("md.books", "scanner", ids[0], ids[1])
    service = build(ScannerSettings(redis_url=redis_url))
    assert service.warm_up is not None
    await service.warm_up(redis)
    health = await service.health()
    assert health["warm_start"] == {"instruments": 0, "books": 2, "bars": 0}
    # the scanner holds the newest handled book, not the pending one
    scanners = service.domain
    assert scanners.arb.latest_book("BTC/USDT.BINANCE").sequence == 2
    assert scanners.arb.latest_book("BTC/USDT.BINANCE").bids[0][0] == D("61800.1")
