"""Raw recorded records in, the events intake publishes out. Pure: no files, no clock reads.

Feed it the merged, time-ordered records of the Binance captures and the FXCM bars
(`replay.merge_ordered` with `replay_key`). Per record it returns what to publish:

- `OrderBookUpdated` after the snapshot (`is_snapshot=True`) and after each applied diff that
  changed the top `depth` levels;
- `BookGapDetected` when a diff does not follow (the book then waits for a new snapshot);
- `BarClosed` for each bar, passed through;
- `BadLine` for what could not be used: the caller sends it to the dead-letter stream.

- `TradeTick` for each `trade` message (the tape execution fills resting limit orders from).
  Binance's `m: true` means the buyer was the maker, so the aggressor (taker) was the SELLER.

bookTicker messages are counted and skipped. `stats` holds per-instrument counts for progress
and health.

Times: `ts_event` is the exchange time `E` (ms -> ns here, at the edge). The snapshot event
takes the time of the last buffered diff replayed on it, else the snapshot's own `E`, else the
line's local receive time (spot snapshots carry no `E`). The recorder's clock ran about 1.27 s
behind Binance's in these captures, so receive times are used for ordering only. A trade's
`ts_event` is its message's `E` too: `RawTrade` does not carry the trade time `T` (on Binance's
trade stream `T` <= `E`, typically equal to the ms).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from libs.common.clock import Clock
from libs.common.errors import ValidationFailed
from libs.common.events import (
    BarClosed,
    BookGapDetected,
    OrderBookUpdated,
    ReplayFinished,
    TradeTick,
)
from services.intake.domain.bars import is_crossed
from services.intake.domain.binance_book import (
    DEFAULT_BUFFER_LIMIT,
    DEFAULT_DEPTH,
    BinanceBook,
    BookGap,
    DiffOutcome,
)
from services.intake.domain.instruments import INSTRUMENTS, InstrumentSpec
from services.intake.domain.records import (
    BadLine,
    RawBookTicker,
    RawDepthUpdate,
    RawSnapshot,
    RawTrade,
)

NS_PER_MS = 1_000_000

IntakeInput = RawSnapshot | RawDepthUpdate | RawBookTicker | RawTrade | BadLine | BarClosed
IntakeOutput = OrderBookUpdated | BookGapDetected | BarClosed | TradeTick | BadLine


def replay_key(item: IntakeInput) -> int:
    """The ns time a record is replayed at: receive time for captures, close time for bars."""
    return item.ts_event if isinstance(item, BarClosed) else item.ts_recv


@dataclass(slots=True)
class SourceStats:
    """Counts for one instrument.

    `diffs` == `diffs_applied` + `diffs_dropped` + the diffs the book still buffers (those
    before a snapshot, and from a gap on). `diffs_buffered` counts diffs that waited for a
    snapshot; they are counted again as applied or dropped when it came.
    """

    instrument_id: str
    snapshots: int = 0
    diffs: int = 0
    diffs_applied: int = 0
    diffs_dropped: int = 0
    diffs_buffered: int = 0
    gaps: int = 0
    books_emitted: int = 0
    book_tickers_skipped: int = 0
    trades_emitted: int = 0
    bars_emitted: int = 0
    bars_crossed: int = 0  # ask close < bid close, published as the vendor gave it
    bad_lines: int = 0
    last_ts_event: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for /health and logs."""
        return asdict(self)


class IntakePipeline:
    """Turns recorded records into intake's events, one record at a time, keeping the books.

    `clock` only stamps `ts_init`. Records from a file no spec names become BadLines.
    """

    def __init__(self, clock: Clock, specs: Iterable[InstrumentSpec] = INSTRUMENTS, *,
                 depth: int = DEFAULT_DEPTH, buffer_limit: int = DEFAULT_BUFFER_LIMIT) -> None:
        if depth <= 0:
            raise ValueError("depth must be positive")
        self._clock = clock
        self._depth = depth
        self._specs = tuple(specs)
        self._by_source: dict[str, InstrumentSpec] = {
            src: spec for spec in self._specs for src in spec.sources
        }
        self._books: dict[str, BinanceBook] = {
            spec.instrument_id: BinanceBook.from_spec(spec, buffer_limit)
            for spec in self._specs if spec.market != "fx"
        }
        self._stats: dict[str, SourceStats] = {
            spec.instrument_id: SourceStats(spec.instrument_id) for spec in self._specs
        }
        self.published = 0  # events returned (BadLines excluded)

    @property
    def stats(self) -> Mapping[str, SourceStats]:
        """Per-instrument counts (keyed by instrument id; unknown files by file name)."""
        return self._stats

    def book(self, instrument_id: str) -> BinanceBook:
        """The live book of one Binance instrument (read-only use, e.g. health)."""
        return self._books[instrument_id]

    def run(self, records: Iterable[IntakeInput]) -> Iterator[IntakeOutput]:
        """Every output for `records`, in order."""
        for record in records:
            yield from self.process(record)

    def process(self, record: IntakeInput) -> list[IntakeOutput]:
        """What to publish for one record (often nothing: a deep diff, a bookTicker)."""
        if isinstance(record, RawDepthUpdate):
            out = self._on_diff(record)
        elif isinstance(record, RawBookTicker):
            self._stats_for(record.source).book_tickers_skipped += 1
            return []
        elif isinstance(record, RawTrade):
            out = self._on_trade(record)
        elif isinstance(record, RawSnapshot):
            out = self._on_snapshot(record)
        elif isinstance(record, BarClosed):
            out = self._on_bar(record)
        elif isinstance(record, BadLine):
            self._stats_for(record.source).bad_lines += 1
            return [record]
        else:
            raise TypeError(f"not an intake record: {type(record).__name__}")
        self.published += sum(1 for o in out if not isinstance(o, BadLine))
        return out

    def finished(self, source: str, ts_event: int | None = None) -> ReplayFinished:
        """The end-of-replay marker, counting what this pipeline published.

        `ts_event` defaults to the clock's now (the replay ends here, not at the venue).
        """
        now = self._clock.now_ns()
        return ReplayFinished(ts_event=now if ts_event is None else ts_event, ts_init=now,
                              source=source, events_published=self.published)

    # ---- handlers -----------------------------------------------------------------------

    def _stats_for(self, source: str) -> SourceStats:
        spec = self._by_source.get(source)
        key = spec.instrument_id if spec else source
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = SourceStats(key)
        return stats

    def _book_for(self, record: RawSnapshot | RawDepthUpdate) -> BinanceBook | BadLine:
        spec = self._by_source.get(record.source)
        if spec is None or spec.instrument_id not in self._books:
            return self._bad(record, f"no Binance instrument reads {record.source!r}")
        if record.symbol is not None and record.symbol != spec.symbol:
            return self._bad(record, f"symbol {record.symbol!r} in a {spec.symbol} file")
        return self._books[spec.instrument_id]

    def _bad(self, record: RawSnapshot | RawDepthUpdate | RawTrade, reason: str) -> BadLine:
        return BadLine(record.source, record.line_no, record.ts_recv, reason, "")

    def _on_snapshot(self, rec: RawSnapshot) -> list[IntakeOutput]:
        book = self._book_for(rec)
        if isinstance(book, BadLine):
            self._stats_for(rec.source).bad_lines += 1
            return [book]
        stats = self._stats[book.instrument_id]
        stats.snapshots += 1
        ts = rec.event_time_ms * NS_PER_MS if rec.event_time_ms is not None else rec.ts_recv
        result = book.apply_snapshot(rec.last_update_id, rec.bids, rec.asks, ts_event=ts)
        stats.diffs_applied += result.applied
        stats.diffs_dropped += result.stale
        if result.gap is not None:
            return [self._on_gap(stats, result.gap, ts)]
        event = book.emit_update(ts_init=self._clock.now_ns(), depth=self._depth,
                                 is_snapshot=True)
        return self._emitted(stats, event)

    def _on_diff(self, rec: RawDepthUpdate) -> list[IntakeOutput]:
        book = self._book_for(rec)
        if isinstance(book, BadLine):
            self._stats_for(rec.source).bad_lines += 1
            return [book]
        stats = self._stats[book.instrument_id]
        ts = rec.event_time_ms * NS_PER_MS
        try:
            result = book.apply_diff(rec.first_update_id, rec.final_update_id,
                                     rec.prev_final_update_id, rec.bids, rec.asks, ts_event=ts)
        except ValidationFailed as e:
            stats.bad_lines += 1
            return [self._bad(rec, str(e))]
        stats.diffs += 1
        outcome = result.outcome
        if outcome is DiffOutcome.APPLIED:
            stats.diffs_applied += 1
            event = book.emit_update(ts_init=self._clock.now_ns(), depth=self._depth)
            return self._emitted(stats, event)
        if outcome is DiffOutcome.STALE:
            stats.diffs_dropped += 1
            return []
        if outcome is DiffOutcome.BUFFERED:
            stats.diffs_buffered += 1
            return []
        assert result.gap is not None  # GAP always carries one
        return [self._on_gap(stats, result.gap, ts)]

    def _on_trade(self, rec: RawTrade) -> list[IntakeOutput]:
        spec = self._by_source.get(rec.source)
        if spec is None or spec.instrument_id not in self._books:
            self._stats_for(rec.source).bad_lines += 1
            return [self._bad(rec, f"no Binance instrument reads {rec.source!r}")]
        stats = self._stats[spec.instrument_id]
        if rec.symbol != spec.symbol:
            stats.bad_lines += 1
            return [self._bad(rec, f"symbol {rec.symbol!r} in a {spec.symbol} file")]
        if rec.price <= 0 or rec.qty <= 0:
            stats.bad_lines += 1
            return [self._bad(rec, f"trade {rec.trade_id} price {rec.price} and quantity "
                                   f"{rec.qty} must be positive")]
        ts = rec.event_time_ms * NS_PER_MS
        tick = TradeTick(
            ts_event=ts, ts_init=self._clock.now_ns(), instrument_id=spec.instrument_id,
            venue=spec.venue, price=rec.price, quantity=rec.qty,
            aggressor="SELL" if rec.buyer_is_maker else "BUY", trade_id=str(rec.trade_id))
        stats.trades_emitted += 1
        stats.last_ts_event = max(ts, stats.last_ts_event or 0)
        return [tick]

    def _on_gap(self, stats: SourceStats, gap: BookGap, ts_fallback: int) -> BookGapDetected:
        stats.gaps += 1
        ts = gap.ts_event if gap.ts_event is not None else ts_fallback
        stats.last_ts_event = ts
        return gap.to_event(ts_init=self._clock.now_ns(), ts_event=ts)

    def _emitted(self, stats: SourceStats,
                 event: OrderBookUpdated | None) -> list[IntakeOutput]:
        if event is None:
            return []
        stats.books_emitted += 1
        stats.last_ts_event = event.ts_event
        return [event]

    def _on_bar(self, bar: BarClosed) -> list[IntakeOutput]:
        stats = self._stats.get(bar.instrument_id)
        if stats is None:
            stats = self._stats[bar.instrument_id] = SourceStats(bar.instrument_id)
        stats.bars_emitted += 1
        if is_crossed(bar):
            stats.bars_crossed += 1
        stats.last_ts_event = bar.ts_event
        return [bar]
