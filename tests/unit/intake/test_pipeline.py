from __future__ import annotations

from decimal import Decimal

from libs.common.clock import TestClock
from libs.common.events import BarClosed, BookGapDetected, OrderBookUpdated, TradeTick
from services.intake.domain.instruments import BINANCE_INSTRUMENTS, INSTRUMENTS
from services.intake.domain.pipeline import IntakeInput, IntakePipeline, replay_key
from services.intake.domain.records import BadLine, RawBookTicker, RawTrade
from services.intake.domain.replay import merge_ordered
from tests.unit.intake.factories import COINM_FILE, SPOT_FILE, USDM_FILE, diff, lv, snapshot

D = Decimal
SPOT = "BTC/USDT.BINANCE"
COINM = "BTC/USD-PERP.BINANCE_COINM"
BIDS = lv(("100", "1"), ("99", "2"))
ASKS = lv(("101", "1"), ("102", "2"))


def pipeline(depth: int = 20) -> IntakePipeline:
    return IntakePipeline(TestClock(7), INSTRUMENTS, depth=depth)


def test_snapshot_emits_is_snapshot_update_at_receive_time_when_it_has_no_E() -> None:
    p = pipeline()
    [event] = p.process(snapshot(100, BIDS, ASKS, ts_recv=1_234))
    assert isinstance(event, OrderBookUpdated)
    assert (event.is_snapshot, event.sequence, event.ts_event, event.ts_init) == (True, 100,
                                                                                 1_234, 7)
    assert event.bids[0] == (D("100"), D("1"))


def test_snapshot_takes_time_of_last_buffered_diff_applied_on_it() -> None:
    p = pipeline()
    assert p.process(diff(95, 104, event_time_ms=3_000)) == []
    [event] = p.process(snapshot(100, BIDS, ASKS, ts_recv=1))
    assert isinstance(event, OrderBookUpdated)
    assert (event.sequence, event.ts_event) == (104, 3_000_000_000)
    s = p.stats[SPOT]
    assert (s.diffs, s.diffs_buffered, s.diffs_applied, s.diffs_dropped) == (1, 1, 1, 0)


def test_futures_snapshot_uses_its_exchange_time() -> None:
    p = pipeline()
    [event] = p.process(snapshot(100, BIDS, ASKS, source=COINM_FILE, event_time_ms=9,
                                 symbol="BTCUSD_PERP"))
    assert isinstance(event, OrderBookUpdated)
    assert (event.instrument_id, event.ts_event, event.contract_size) == (COINM, 9_000_000,
                                                                         D("100"))


def test_only_diffs_that_change_the_top_levels_are_published() -> None:
    p = pipeline(depth=1)
    p.process(snapshot(100, BIDS, ASKS))
    deep = p.process(diff(101, 101, lv(("99", "5"))))
    top = p.process(diff(102, 102, lv(("100", "3")), event_time_ms=42))
    assert deep == []
    [event] = top
    assert isinstance(event, OrderBookUpdated)
    assert (event.sequence, event.ts_event, event.bids) == (102, 42_000_000,
                                                            ((D("100"), D("3")),))
    s = p.stats[SPOT]
    assert (s.diffs_applied, s.books_emitted) == (2, 2)  # the snapshot counts as emitted


def test_gap_is_published_and_book_silent_until_next_snapshot() -> None:
    p = pipeline()
    p.process(snapshot(100, BIDS, ASKS))
    p.process(diff(101, 105))
    [gap] = p.process(diff(110, 112, event_time_ms=50))
    assert isinstance(gap, BookGapDetected)
    assert (gap.instrument_id, gap.expected_from, gap.got_from, gap.ts_event) == (
        SPOT, 106, 110, 50_000_000)
    assert p.process(diff(113, 114, lv(("100.5", "1")))) == []
    [resync] = p.process(snapshot(111, BIDS, ASKS))
    assert isinstance(resync, OrderBookUpdated) and resync.is_snapshot
    assert resync.sequence == 114
    assert p.stats[SPOT].gaps == 1


def test_stale_diffs_are_dropped_and_counted() -> None:
    p = pipeline()
    p.process(snapshot(100, BIDS, ASKS))
    assert p.process(diff(90, 100)) == []
    assert p.stats[SPOT].diffs_dropped == 1


def test_book_ticker_is_counted_not_published_and_trade_is_published() -> None:
    p = pipeline()
    ticker = RawBookTicker(USDM_FILE, 3, 1, "BTCUSDT", 1, D(1), D(1), D(2), D(1))
    trade = RawTrade(USDM_FILE, 4, 1, "BTCUSDT", 1, 1, D(1), D(1), False)
    assert p.process(ticker) == []
    (tick,) = p.process(trade)
    assert isinstance(tick, TradeTick)
    s = p.stats["BTC/USDT-PERP.BINANCE_USDM"]
    assert (s.book_tickers_skipped, s.trades_emitted, p.published) == (1, 1, 1)


def test_bad_line_is_passed_on_for_the_dead_letters_and_counted() -> None:
    p = pipeline()
    bad = BadLine(SPOT_FILE, 9, 1, "invalid JSON", "x")
    assert p.process(bad) == [bad]
    assert p.stats[SPOT].bad_lines == 1
    assert p.published == 0


def test_diff_with_wrong_symbol_or_unknown_file_becomes_bad_line() -> None:
    p = pipeline()
    [wrong] = p.process(diff(1, 2, symbol="ETHUSDT", line_no=12))
    [unknown] = p.process(diff(1, 2, source="mystery.gz"))
    assert isinstance(wrong, BadLine) and (wrong.source, wrong.line_no) == (SPOT_FILE, 12)
    assert isinstance(unknown, BadLine) and "mystery.gz" in unknown.reason
    assert p.stats[SPOT].bad_lines == 1
    assert p.stats["mystery.gz"].bad_lines == 1


def test_futures_diff_without_pu_becomes_bad_line() -> None:
    p = pipeline()
    [bad] = p.process(diff(1, 2, source=COINM_FILE, symbol="BTCUSD_PERP"))
    assert isinstance(bad, BadLine) and "pu" in bad.reason


def bar(ask_close: str) -> BarClosed:
    return BarClosed(ts_event=60, ts_init=0, instrument_id="GBP/USD.FXCM", venue="FXCM",
                     symbol="GBPUSD", base="GBP", quote="USD", timeframe_s=60, ts_open=0,
                     bid_open=D(1), bid_high=D(2), bid_low=D(1), bid_close=D("1.5"),
                     ask_open=D(1), ask_high=D(2), ask_low=D(1), ask_close=D(ask_close))


def test_bars_pass_through_and_crossed_ones_are_counted() -> None:
    p = pipeline()
    normal, crossed = bar(ask_close="1.6"), bar(ask_close="1.4")
    assert p.process(normal) == [normal] and p.process(crossed) == [crossed]
    s = p.stats["GBP/USD.FXCM"]
    assert (s.bars_emitted, s.bars_crossed) == (2, 1)
    assert p.finished("recorded").events_published == 2


def test_run_over_merged_sources_is_ordered_by_replay_time() -> None:
    p = IntakePipeline(TestClock(0), BINANCE_INSTRUMENTS)
    sources: dict[str, list[IntakeInput]] = {
        "spot": [snapshot(100, BIDS, ASKS, ts_recv=10), diff(101, 101, lv(("100", "2")),
                                                              ts_recv=30)],
        "coinm": [snapshot(5, BIDS, ASKS, source=COINM_FILE, ts_recv=20, event_time_ms=1)],
    }
    out = list(p.run(merge_ordered(sources, replay_key)))
    assert [(type(o).__name__, getattr(o, "instrument_id", "")) for o in out] == [
        ("OrderBookUpdated", SPOT), ("OrderBookUpdated", COINM), ("OrderBookUpdated", SPOT)]
    assert p.published == 3
