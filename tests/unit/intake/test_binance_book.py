from __future__ import annotations

from decimal import Decimal

import pytest

from libs.common.enums import InstrumentKind
from libs.common.errors import SequenceGap, ValidationFailed
from libs.common.events import BookGapDetected, decode, encode
from services.intake.domain.binance_book import BinanceBook, BookState, DiffOutcome
from services.intake.domain.instruments import BINANCE_USDM_BTCUSDT, FXCM_GBPUSD
from tests.unit.intake.factories import futures_book, lv, spot_book

D = Decimal
BIDS = lv(("100.0", "1"), ("99.5", "2"), ("99.0", "3"))
ASKS = lv(("100.5", "1"), ("101.0", "2"), ("102.0", "4"))


def synced_spot(last_update_id: int = 100) -> BinanceBook:
    book = spot_book()
    book.apply_snapshot(last_update_id, BIDS, ASKS, ts_event=1)
    return book


def test_snapshot_gives_top_best_first_with_exact_decimals() -> None:
    book = synced_spot()
    bids, asks = book.top(2)
    assert bids == ((D("100.0"), D("1")), (D("99.5"), D("2")))
    assert asks == ((D("100.5"), D("1")), (D("101.0"), D("2")))
    assert book.state is BookState.AWAITING_FIRST_DIFF
    assert book.last_update_id == 100


def test_top_returns_whole_book_when_n_exceeds_depth() -> None:
    bids, asks = synced_spot().top(50)
    assert [p for p, _ in bids] == [D("100.0"), D("99.5"), D("99.0")]
    assert [p for p, _ in asks] == [D("100.5"), D("101.0"), D("102.0")]


def test_spot_contiguous_diffs_update_insert_and_remove_levels() -> None:
    book = synced_spot(100)
    r1 = book.apply_diff(95, 105, None, lv(("100.2", "5"), ("99.5", "0")), lv(("100.5", "7")))
    r2 = book.apply_diff(106, 110, None, lv(("100.0", "0.000")), lv(("100.4", "1.5")))
    assert (r1.outcome, r2.outcome) == (DiffOutcome.APPLIED, DiffOutcome.APPLIED)
    assert book.top(5) == (
        ((D("100.2"), D("5")), (D("99.0"), D("3"))),
        ((D("100.4"), D("1.5")), (D("100.5"), D("7")), (D("101.0"), D("2")),
         (D("102.0"), D("4"))),
    )
    assert book.state is BookState.SYNCED
    assert book.last_update_id == 110
    assert book.depth() == (2, 4)


def test_removing_a_level_the_book_does_not_hold_is_harmless() -> None:
    book = synced_spot(100)
    result = book.apply_diff(101, 101, None, lv(("50", "0")), ())
    assert result.outcome is DiffOutcome.APPLIED
    assert book.depth() == (3, 3)


def test_same_price_written_with_trailing_zeros_is_one_level() -> None:
    book = synced_spot(100)
    book.apply_diff(101, 101, None, lv(("100.00000000", "9")), ())
    bids, _ = book.top(1)
    assert bids == ((D("100.0"), D("9")),)
    assert book.depth() == (3, 3)


def test_spot_diff_older_than_snapshot_is_dropped_as_stale() -> None:
    book = synced_spot(100)
    assert book.apply_diff(90, 100, None, lv(("100.0", "0")), ()).outcome is DiffOutcome.STALE
    assert book.top(1)[0] == ((D("100.0"), D("1")),)
    assert book.state is BookState.AWAITING_FIRST_DIFF


def test_spot_first_diff_must_span_snapshot_id_plus_one() -> None:
    book = synced_spot(100)
    result = book.apply_diff(102, 110, None, (), ())
    assert result.outcome is DiffOutcome.GAP
    assert result.gap is not None
    assert (result.gap.expected_from, result.gap.got_from) == (101, 102)


def test_spot_first_diff_starting_exactly_after_snapshot_is_applied() -> None:
    book = synced_spot(100)
    assert book.apply_diff(101, 103, None, (), ()).outcome is DiffOutcome.APPLIED


def test_spot_diff_with_gap_is_reported_and_book_discarded() -> None:
    book = synced_spot(100)
    book.apply_diff(101, 105, None, (), (), ts_event=7)
    result = book.apply_diff(107, 110, None, (), (), ts_event=9)
    assert result.outcome is DiffOutcome.GAP
    gap = result.gap
    assert gap is not None
    assert (gap.instrument_id, gap.expected_from, gap.got_from, gap.ts_event) == (
        "BTC/USDT.BINANCE", 106, 107, 9)
    assert book.state is BookState.AWAITING_SNAPSHOT
    assert not book.has_book
    assert book.top(5) == ((), ())
    assert book.emit_update(ts_init=1) is None


def test_after_gap_diffs_wait_for_a_new_snapshot_which_resyncs() -> None:
    book = synced_spot(100)
    book.apply_diff(101, 105, None, (), ())
    book.apply_diff(107, 110, None, (), ())  # gap; this diff is kept for the next snapshot
    assert book.apply_diff(111, 115, None, lv(("98", "1")), ()).outcome is DiffOutcome.BUFFERED
    result = book.apply_snapshot(108, BIDS, ASKS)
    assert (result.applied, result.stale, result.gap) == (2, 0, None)
    assert book.state is BookState.SYNCED
    assert book.last_update_id == 115
    assert book.top(5)[0][-1] == (D("98"), D("1"))


def test_diffs_before_snapshot_are_buffered_then_valid_ones_applied() -> None:
    book = spot_book()
    outcomes = [
        book.apply_diff(80, 90, None, lv(("1", "1")), ()).outcome,  # stale at snapshot 100
        book.apply_diff(91, 104, None, lv(("100.0", "8")), ()).outcome,  # spans 101
        book.apply_diff(105, 106, None, (), lv(("100.5", "0"))).outcome,
    ]
    assert outcomes == [DiffOutcome.BUFFERED] * 3
    assert book.buffered == 3
    result = book.apply_snapshot(100, BIDS, ASKS, ts_event=1)
    assert (result.applied, result.stale, result.gap) == (2, 1, None)
    assert book.last_update_id == 106
    assert book.top(1) == (((D("100.0"), D("8")),), ((D("101.0"), D("2")),))
    assert book.buffered == 0


def test_snapshot_older_than_buffered_diffs_is_a_gap_and_keeps_them() -> None:
    book = spot_book()
    book.apply_diff(110, 120, None, (), ())
    book.apply_diff(121, 125, None, (), ())
    result = book.apply_snapshot(100, BIDS, ASKS)
    assert result.gap is not None
    assert (result.gap.expected_from, result.gap.got_from) == (101, 110)
    assert book.state is BookState.AWAITING_SNAPSHOT
    assert book.buffered == 2
    retry = book.apply_snapshot(115, BIDS, ASKS)
    assert (retry.applied, retry.gap) == (2, None)
    assert book.last_update_id == 125


def test_buffered_time_becomes_book_time_after_snapshot() -> None:
    book = spot_book()
    book.apply_diff(95, 105, None, (), (), ts_event=555)
    book.apply_snapshot(100, BIDS, ASKS, ts_event=111)
    assert book.ts_event == 555


def test_futures_drops_diff_with_final_id_below_snapshot() -> None:
    book = futures_book()
    book.apply_snapshot(100, BIDS, ASKS)
    assert book.apply_diff(90, 99, 89, (), ()).outcome is DiffOutcome.STALE


def test_futures_first_diff_may_end_exactly_at_snapshot_id() -> None:
    book = futures_book()
    book.apply_snapshot(100, BIDS, ASKS)
    assert book.apply_diff(95, 100, 94, (), ()).outcome is DiffOutcome.APPLIED
    assert book.state is BookState.SYNCED


def test_futures_first_diff_starting_after_snapshot_is_a_gap() -> None:
    book = futures_book()
    book.apply_snapshot(100, BIDS, ASKS)
    result = book.apply_diff(101, 110, 100, (), ())
    assert result.outcome is DiffOutcome.GAP
    assert result.gap is not None
    assert (result.gap.expected_from, result.gap.got_from) == (100, 101)


def test_futures_follows_pu_not_u_plus_one() -> None:
    book = futures_book()
    book.apply_snapshot(100, BIDS, ASKS)
    book.apply_diff(95, 105, 94, (), ())
    # Futures ids jump: U need not be 106, only pu must equal the previous u.
    assert book.apply_diff(180, 200, 105, (), ()).outcome is DiffOutcome.APPLIED
    result = book.apply_diff(201, 210, 199, (), ())
    assert result.outcome is DiffOutcome.GAP
    assert result.gap is not None
    assert (result.gap.expected_from, result.gap.got_from) == (200, 199)


def test_futures_diff_without_pu_is_rejected() -> None:
    book = futures_book()
    with pytest.raises(ValidationFailed):
        book.apply_diff(1, 2, None, (), ())


def test_duplicate_diff_after_sync_is_dropped_not_a_gap() -> None:
    spot = synced_spot(100)
    spot.apply_diff(101, 105, None, (), ())
    assert spot.apply_diff(101, 105, None, (), ()).outcome is DiffOutcome.STALE
    fut = futures_book()
    fut.apply_snapshot(100, BIDS, ASKS)
    fut.apply_diff(95, 105, 94, (), ())
    assert fut.apply_diff(95, 105, 94, (), ()).outcome is DiffOutcome.STALE
    assert fut.state is BookState.SYNCED


def test_full_pre_snapshot_buffer_drops_oldest_and_counts_it() -> None:
    book = BinanceBook("X.BINANCE", "BINANCE", "X", "spot", base="X", quote="Y",
                       instrument_kind=InstrumentKind.SPOT, buffer_limit=2)
    for i in range(3):
        book.apply_diff(10 + i, 10 + i, None, (), ())
    assert (book.buffered, book.buffer_overflow) == (2, 1)


def test_emit_update_publishes_snapshot_then_only_top_changes() -> None:
    book = synced_spot(100)
    first = book.emit_update(ts_init=5, depth=2, is_snapshot=True)
    assert first is not None and first.is_snapshot and first.sequence == 100
    book.apply_diff(101, 101, None, lv(("99.0", "7")), (), ts_event=10)  # level 3: below top 2
    assert book.emit_update(ts_init=6, depth=2) is None
    book.apply_diff(102, 102, None, lv(("99.5", "9")), (), ts_event=11)
    event = book.emit_update(ts_init=7, depth=2)
    assert event is not None
    assert (event.sequence, event.ts_event, event.ts_init, event.is_snapshot) == (102, 11, 7, False)
    assert event.bids == ((D("100.0"), D("1")), (D("99.5"), D("9")))
    assert book.emit_update(ts_init=8, depth=2) is None


def test_emitted_update_carries_instrument_fields_and_round_trips() -> None:
    book = futures_book()
    book.apply_snapshot(100, BIDS, ASKS, ts_event=42)
    event = book.emit_update(ts_init=43, is_snapshot=True)
    assert event is not None
    assert (event.instrument_id, event.venue, event.symbol, event.instrument_kind,
            event.contract_size) == ("BTC/USD-PERP.BINANCE_COINM", "BINANCE_COINM",
                                     "BTCUSD_PERP", InstrumentKind.INVERSE, D("100"))
    assert decode(encode(event)) == event


def test_linear_book_has_no_contract_size() -> None:
    book = BinanceBook.from_spec(BINANCE_USDM_BTCUSDT)
    book.apply_snapshot(1, BIDS, ASKS, ts_event=1)
    event = book.emit_update(ts_init=1, is_snapshot=True)
    assert event is not None and event.contract_size is None
    assert event.instrument_kind is InstrumentKind.LINEAR


def test_gap_converts_to_event_and_error() -> None:
    book = synced_spot(100)
    result = book.apply_diff(200, 210, None, (), (), ts_event=77)
    assert result.gap is not None
    event = result.gap.to_event(ts_init=78)
    assert isinstance(event, BookGapDetected)
    assert (event.ts_event, event.expected_from, event.got_from) == (77, 101, 200)
    assert isinstance(result.gap.to_error(), SequenceGap)


def test_fx_spec_has_no_binance_book() -> None:
    with pytest.raises(ValueError):
        BinanceBook.from_spec(FXCM_GBPUSD)
