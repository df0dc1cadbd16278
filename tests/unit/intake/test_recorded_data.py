"""The real recorded files, end to end through the intake domain (about 10 s in all)."""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

from libs.common.clock import TestClock
from libs.common.events import BarClosed, OrderBookUpdated, TradeTick
from services.intake.adapters.recorded import DEFAULT_DATA_DIR, recorded_sources
from services.intake.domain.instruments import BINANCE_INSTRUMENTS, FXCM_GBPUSD, INSTRUMENTS
from services.intake.domain.pipeline import IntakePipeline, replay_key
from services.intake.domain.records import RawBookTicker
from services.intake.domain.replay import merge_ordered

SPOT, USDM, COINM = (s.instrument_id for s in BINANCE_INSTRUMENTS)


def test_recorded_files_match_the_checksums_in_sources_md() -> None:
    sources_md = (DEFAULT_DATA_DIR / "SOURCES.md").read_text()
    listed = dict(re.findall(r"\| `([\w./-]+)` \|.*\| `([0-9a-f]{64})` \|", sources_md))
    needed = {f for spec in INSTRUMENTS for f in spec.files}
    assert needed <= listed.keys()
    assert {"binance/LICENSE.hftbacktest.txt",
            "fxcm/LICENSE.nautilus_trader-LGPL-3.0.txt"} <= listed.keys()
    for rel, digest in listed.items():
        assert hashlib.sha256((DEFAULT_DATA_DIR / rel).read_bytes()).hexdigest() == digest, rel


def test_three_recorded_binance_books_build_exactly_without_gaps() -> None:
    clock = TestClock(1)
    pipeline = IntakePipeline(clock, BINANCE_INSTRUMENTS)
    records = merge_ordered(recorded_sources(clock=clock, specs=BINANCE_INSTRUMENTS), replay_key)
    by_source = {spec.sources[0]: spec.instrument_id for spec in BINANCE_INSTRUMENTS}
    emitted: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    last_ts: dict[str, int] = {}
    ticker_checks: Counter[str] = Counter()
    tickers: dict[str, dict[int, RawBookTicker]] = {iid: {} for iid in by_source.values()}
    for record in records:
        assert not isinstance(record, BarClosed)
        for out in pipeline.process(record):
            kinds[type(out).__name__] += 1
            if isinstance(out, TradeTick):
                continue
            assert isinstance(out, OrderBookUpdated)
            emitted[out.instrument_id] += 1
            assert out.bids[0][0] < out.asks[0][0], out
            assert len(out.bids) == len(out.asks) == 20
            assert out.ts_event >= last_ts.get(out.instrument_id, 0)
            last_ts[out.instrument_id] = out.ts_event
        # Independent check of exactness: a bookTicker stamped with the book's update id
        # must show the same best levels as the rebuilt book (either may arrive first).
        iid = by_source[record.source]
        book = pipeline.book(iid)
        if isinstance(record, RawBookTicker):
            tickers[iid][record.update_id] = record
        ticker = tickers[iid].get(book.last_update_id)
        if ticker is not None and book.has_book and ticker_checks[f"{iid}@{ticker.line_no}"] == 0:
            ticker_checks[f"{iid}@{ticker.line_no}"] += 1
            (best_bid,), (best_ask,) = book.top(1)
            assert (best_bid, best_ask) == ((ticker.bid_price, ticker.bid_qty),
                                            (ticker.ask_price, ticker.ask_qty)), ticker
    stats = {iid: s.as_dict() for iid, s in pipeline.stats.items()}
    assert kinds == Counter({"OrderBookUpdated": 25_103, "TradeTick": 33_356})
    assert dict(emitted) == {SPOT: 3_233, USDM: 6_173, COINM: 15_697}
    assert {iid: (s["diffs_applied"], s["diffs_dropped"], s["gaps"], s["bad_lines"])
            for iid, s in stats.items()} == {
        SPOT: (3_449, 2, 0, 0), USDM: (6_547, 4, 0, 0), COINM: (26_824, 23, 0, 0)}
    assert {iid: s["diffs_buffered"] for iid, s in stats.items()} == {SPOT: 3, USDM: 6, COINM: 25}
    assert {iid: (s["book_tickers_skipped"], s["trades_emitted"]) for iid, s in stats.items()} == {
        SPOT: (28_040, 9_757), USDM: (66_089, 21_313), COINM: (19_136, 2_286)}
    assert all(pipeline.book(iid).buffered == 0 for iid in stats)
    per_book = Counter(key.split("@")[0] for key in ticker_checks)
    assert dict(per_book) == {SPOT: 564, USDM: 629, COINM: 1_124}


def test_recorded_fxcm_month_gives_one_bar_per_row_and_counts_crossed_closes() -> None:
    clock = TestClock(1)
    pipeline = IntakePipeline(clock, (FXCM_GBPUSD,))
    outputs = list(pipeline.run(recorded_sources(clock=clock, specs=(FXCM_GBPUSD,))[
        FXCM_GBPUSD.instrument_id]))
    assert all(isinstance(o, BarClosed) for o in outputs)
    stats = pipeline.stats[FXCM_GBPUSD.instrument_id]
    assert (stats.bars_emitted, stats.bars_crossed, stats.bad_lines) == (30_117, 347, 0)
    first, last = outputs[0], outputs[-1]
    assert isinstance(first, BarClosed) and isinstance(last, BarClosed)
    assert (first.ts_open, first.ts_event) == (1_328_054_400 * 10**9, 1_328_054_460 * 10**9)
    assert last.ts_open == 1_330_560_000 * 10**9  # 2012-03-01 00:00 UTC
    assert str(first.bid_open) == "1.57597" and str(first.ask_open) == "1.57608"


def test_data_directory_is_inside_the_repo() -> None:
    repo = Path(__file__).resolve().parents[3]
    assert DEFAULT_DATA_DIR == repo / "data" / "recorded"
