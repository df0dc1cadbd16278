"""Small builders for intake tests: levels from strings, raw records with defaults."""
from __future__ import annotations

from decimal import Decimal

from libs.common.enums import InstrumentKind
from services.intake.domain.binance_book import BinanceBook
from services.intake.domain.records import Levels, RawDepthUpdate, RawSnapshot

SPOT_FILE = "binance_spot_btcusdt_20240808.gz"
USDM_FILE = "binance_usdm_btcusdt_20240808.gz"
COINM_FILE = "binance_cm_btcusd_perp_20240808.gz"


def lv(*pairs: tuple[str, str]) -> Levels:
    """Levels from (price, size) strings."""
    return tuple((Decimal(p), Decimal(s)) for p, s in pairs)


def spot_book() -> BinanceBook:
    return BinanceBook("BTC/USDT.BINANCE", "BINANCE", "BTCUSDT", "spot", base="BTC",
                       quote="USDT", instrument_kind=InstrumentKind.SPOT)


def futures_book() -> BinanceBook:
    return BinanceBook("BTC/USD-PERP.BINANCE_COINM", "BINANCE_COINM", "BTCUSD_PERP", "futures",
                       base="BTC", quote="USD", instrument_kind=InstrumentKind.INVERSE,
                       contract_size=Decimal("100"))


def snapshot(last_update_id: int, bids: Levels, asks: Levels, *, source: str = SPOT_FILE,
             ts_recv: int = 1_000, event_time_ms: int | None = None, line_no: int = 1,
             symbol: str | None = None) -> RawSnapshot:
    return RawSnapshot(source, line_no, ts_recv, last_update_id, event_time_ms, symbol, bids,
                       asks)


def diff(first: int, final: int, bids: Levels = (), asks: Levels = (), *, pu: int | None = None,
         source: str = SPOT_FILE, ts_recv: int = 2_000, event_time_ms: int = 5,
         line_no: int = 2, symbol: str = "BTCUSDT") -> RawDepthUpdate:
    return RawDepthUpdate(source, line_no, ts_recv, symbol, event_time_ms, first, final, pu,
                          bids, asks)
