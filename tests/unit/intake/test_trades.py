"""The trade tape: recorded `@trade` messages become TradeTick events on md.trades."""
from __future__ import annotations

from collections import Counter
from decimal import Decimal

from libs.common.clock import TestClock
from libs.common.events import BarClosed, OrderBookUpdated, TradeTick
from libs.common.streams import MD_BARS, MD_BOOKS, MD_TRADES
from services.intake.adapters.recorded import recorded_sources
from services.intake.domain.instruments import BINANCE_INSTRUMENTS, BINANCE_SPOT_BTCUSDT
from services.intake.domain.pipeline import IntakePipeline
from services.intake.domain.records import BadLine, RawTrade
from services.intake.replayer import stream_for
from tests.unit.intake.factories import COINM_FILE, SPOT_FILE

D = Decimal
SPOT = "BTC/USDT.BINANCE"


def pipeline() -> IntakePipeline:
    return IntakePipeline(TestClock(7), BINANCE_INSTRUMENTS)


def raw(maker: bool, *, source: str = SPOT_FILE, symbol: str = "BTCUSDT",
        price: str = "61000.5", qty: str = "0.25") -> RawTrade:
    return RawTrade(source, 12, 1_723_161_600_123_000_000, symbol, 1_723_161_600_100, 42,
                    D(price), D(qty), maker)


def test_buyer_maker_means_the_seller_was_the_aggressor() -> None:
    (sell,) = pipeline().process(raw(True))
    (buy,) = pipeline().process(raw(False))
    assert isinstance(sell, TradeTick) and isinstance(buy, TradeTick)
    assert (sell.aggressor, buy.aggressor) == ("SELL", "BUY")


def test_trade_tick_carries_instrument_price_size_id_and_exchange_time_in_ns() -> None:
    p = pipeline()
    (tick,) = p.process(raw(False))
    assert isinstance(tick, TradeTick)
    assert (tick.instrument_id, tick.venue, tick.price, tick.quantity, tick.trade_id) == (
        SPOT, "BINANCE", D("61000.5"), D("0.25"), "42")
    assert (tick.ts_event, tick.ts_init) == (1_723_161_600_100_000_000, 7)
    stats = p.stats[SPOT]
    assert (stats.trades_emitted, stats.last_ts_event, p.published) == (
        1, 1_723_161_600_100_000_000, 1)


def test_bad_trades_become_bad_lines_and_are_counted() -> None:
    p = pipeline()
    wrong_symbol, = p.process(raw(False, source=COINM_FILE, symbol="BTCUSDT"))
    zero, = p.process(raw(False, qty="0"))
    unknown, = p.process(raw(False, source="nowhere.gz"))
    assert isinstance(wrong_symbol, BadLine) and "symbol 'BTCUSDT'" in wrong_symbol.reason
    assert isinstance(zero, BadLine) and "must be positive" in zero.reason
    assert isinstance(unknown, BadLine) and "no Binance instrument" in unknown.reason
    assert p.published == 0 and p.stats[SPOT].trades_emitted == 0


def test_each_output_goes_to_its_md_stream() -> None:
    (tick,) = pipeline().process(raw(True))
    assert isinstance(tick, TradeTick)
    assert stream_for(tick) == MD_TRADES
    assert MD_BOOKS != MD_TRADES != MD_BARS


def test_recorded_spot_tape_is_published_in_time_order_with_both_aggressors() -> None:
    clock = TestClock(1)
    p = IntakePipeline(clock, (BINANCE_SPOT_BTCUSDT,))
    (source,) = recorded_sources(clock=clock, specs=(BINANCE_SPOT_BTCUSDT,)).values()
    ticks: list[TradeTick] = []
    for record in source:
        assert not isinstance(record, BarClosed)
        for out in p.process(record):
            if isinstance(out, TradeTick):
                ticks.append(out)
            else:
                assert isinstance(out, OrderBookUpdated)
    assert len(ticks) == p.stats[SPOT].trades_emitted == 9_757
    assert all(a.ts_event <= b.ts_event for a, b in zip(ticks, ticks[1:], strict=False))
    sides = Counter(t.aggressor for t in ticks)
    assert set(sides) == {"BUY", "SELL"}
    assert len({t.trade_id for t in ticks}) == len(ticks)
    assert all(t.price > 0 and t.quantity > 0 for t in ticks)
