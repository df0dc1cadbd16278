"""Bitstamp `diff_order_book` + REST `/api/v2/order_book/<pair>` -> exact books. Pure.

Bitstamp numbers nothing: a diff carries only its `microtimestamp` and absolute sizes (zero
removes the level), and the REST snapshot carries its own `microtimestamp`. The rules:

- diffs before the snapshot wait for it (bounded buffer); when it comes, those at or before its
  microtimestamp are stale (already in it) and dropped, the rest are applied in order;
- after the snapshot every diff must be newer than the last one applied: an equal
  microtimestamp is a duplicate (dropped: sizes are absolute, so nothing is lost), an older one
  arrived out of order and the book can no longer be trusted: a gap;
- a diff that leaves the book crossed (best bid >= best ask) means one was lost: a gap.

After a gap the book publishes nothing until a new snapshot. With no sequence numbers, a lost
diff that does not cross the book cannot be seen; that is Bitstamp's limit, not hidden here.

Levels and the top-20 `OrderBookUpdated` come from the exact `BinanceBook` used as storage: the
snapshot's microtimestamp is its update id and each applied diff spans (last + 1 .. its own
microtimestamp), so `sequence` on the events is the last applied microtimestamp.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from libs.common.clock import Clock
from libs.common.events import OrderBookUpdated
from services.intake.domain.binance_book import (
    DEFAULT_BUFFER_LIMIT,
    DEFAULT_DEPTH,
    BinanceBook,
    BookGap,
    DiffOutcome,
    DiffResult,
    SnapshotResult,
    replay_buffered,
)
from services.intake.domain.instruments import InstrumentSpec
from services.intake.recording import fields as f
from services.intake.recording.records import REST, WS, RawMessage, Skipped, bad
from services.intake.recording.symbols import SymbolTable, instrument_spec
from services.intake.recording.venue_base import Out, rest_metadata

VENUE = "BITSTAMP"
NS_PER_US = 1_000
Level = tuple[Decimal, Decimal]


class BitstampState(StrEnum):
    AWAITING_SNAPSHOT = "AWAITING_SNAPSHOT"
    SYNCED = "SYNCED"


@dataclass(frozen=True, slots=True)
class _Diff:
    micro: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class BitstampBook:
    """The exact L2 book of one Bitstamp pair; see the module rules."""

    def __init__(self, spec: InstrumentSpec, buffer_limit: int = DEFAULT_BUFFER_LIMIT) -> None:
        self.instrument_id = spec.instrument_id
        self._levels = BinanceBook.from_spec(spec)
        self._state = BitstampState.AWAITING_SNAPSHOT
        self._buffer: deque[_Diff] = deque(maxlen=buffer_limit)
        self._snapshot_micro = 0
        self._last = 0  # microtimestamp the book is at

    @property
    def state(self) -> BitstampState:
        return self._state

    @property
    def last_micro(self) -> int:
        return self._last

    def top(self, n: int = DEFAULT_DEPTH) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        return self._levels.top(n)

    def apply_snapshot(self, micro: int, bids: Iterable[Level], asks: Iterable[Level],
                       ) -> SnapshotResult:
        """Load the REST snapshot, then the buffered diffs newer than it."""
        self._levels.apply_snapshot(micro, bids, asks, ts_event=micro * NS_PER_US)
        self._state = BitstampState.SYNCED
        self._snapshot_micro = self._last = micro
        return replay_buffered(self._buffer, self._sequence)

    def apply_diff(self, micro: int, bids: Iterable[Level], asks: Iterable[Level]) -> DiffResult:
        d = _Diff(micro, tuple(bids), tuple(asks))
        if self._state is BitstampState.AWAITING_SNAPSHOT:
            self._buffer.append(d)
            return DiffResult(DiffOutcome.BUFFERED)
        return self._sequence(d)

    def _sequence(self, d: _Diff) -> DiffResult:
        if d.micro <= self._snapshot_micro or d.micro == self._last:
            return DiffResult(DiffOutcome.STALE)  # in the snapshot, or a duplicate
        if d.micro < self._last:
            return self._gap(d, self._last + 1,
                             f"diff at {d.micro} arrived after {self._last}: out of order")
        result = self._levels.apply_diff(self._last + 1, d.micro, None, d.bids, d.asks,
                                         ts_event=d.micro * NS_PER_US)
        assert result.outcome is DiffOutcome.APPLIED, result  # spans last+1..micro by design
        expected_from, self._last = self._last + 1, d.micro
        bids, asks = self._levels.top(1)
        if bids and asks and bids[0][0] >= asks[0][0]:
            return self._gap(d, expected_from,
                             f"book crossed after diff at {d.micro} (bid {bids[0][0]} >= "
                             f"ask {asks[0][0]}): a diff was lost")
        return result

    def _gap(self, d: _Diff, expected_from: int, detail: str) -> DiffResult:
        self._state = BitstampState.AWAITING_SNAPSHOT
        self._buffer.clear()
        self._buffer.append(d)  # a newer snapshot may still need it
        gap = BookGap(self.instrument_id, expected_from, d.micro, detail, d.micro * NS_PER_US)
        return DiffResult(DiffOutcome.GAP, gap)

    def emit_update(self, *, ts_init: int, depth: int = DEFAULT_DEPTH, is_snapshot: bool = False,
                    ) -> OrderBookUpdated | None:
        """The top-`depth` event after a change (None when unsynced or the top is unchanged)."""
        if self._state is not BitstampState.SYNCED:
            return None
        return self._levels.emit_update(ts_init=ts_init, depth=depth, is_snapshot=is_snapshot)


class BitstampMessages:
    """Bitstamp messages in replay order -> books, gaps, BadLines, Skipped."""

    venue = VENUE

    def __init__(self, clock: Clock, symbols: SymbolTable, *, depth: int = DEFAULT_DEPTH,
                 ) -> None:
        self._clock = clock
        self._symbols = symbols
        self._depth = depth
        self.books: dict[str, BitstampBook] = {}

    def book(self, pair: str) -> BitstampBook | None:
        """The book of a url symbol (`ethusd`), made when first met; None if unsplittable."""
        book = self.books.get(pair)
        if book is None:
            p = self._symbols.pair(VENUE, pair)
            if p is None:
                return None
            book = self.books[pair] = BitstampBook(instrument_spec(VENUE, pair, p))
        return book

    def on_message(self, msg: RawMessage) -> list[Out]:
        if msg.kind == REST:
            path = urlsplit(msg.url).path.rstrip("/")
            if "/order_book/" in path:
                return self._on_snapshot(msg, path.rsplit("/", 1)[-1])
            return rest_metadata(msg, self._symbols)
        if msg.kind != WS:
            return [Skipped(f"{msg.kind} line")]
        try:
            doc = f.json_object(msg.payload)
            event, channel = f.string(doc, "event"), doc.get("channel", "")
        except f.FieldInvalid as e:
            return [bad(msg, str(e))]
        if event.startswith("bts:"):
            return [Skipped(f"control message ({event})")]
        if event == "trade":
            return [Skipped("live_trades (trades are not published)")]
        if event != "data" or not isinstance(channel, str) \
                or not channel.startswith("diff_order_book_"):
            return [bad(msg, f"unexpected message event={event!r} channel={channel!r}")]
        try:
            data = f.obj(doc, "data")
            micro = f.integer(data, "microtimestamp")
            bids, asks = f.levels(data, "bids"), f.levels(data, "asks")
        except f.FieldInvalid as e:
            return [bad(msg, str(e))]
        book = self.book(channel.removeprefix("diff_order_book_"))
        if book is None:
            return [bad(msg, f"cannot tell base and quote of {channel!r}")]
        result = book.apply_diff(micro, bids, asks)
        if result.outcome is DiffOutcome.GAP:
            assert result.gap is not None
            return [result.gap.to_event(ts_init=self._clock.now_ns())]
        if result.outcome is DiffOutcome.APPLIED:
            ev = book.emit_update(ts_init=self._clock.now_ns(), depth=self._depth)
            return [ev] if ev is not None else []
        return []

    def _on_snapshot(self, msg: RawMessage, pair: str) -> list[Out]:
        try:
            doc: Any = f.json_object(msg.payload)
            micro = f.integer(doc, "microtimestamp")
            bids, asks = f.levels(doc, "bids"), f.levels(doc, "asks")
        except f.FieldInvalid as e:
            return [bad(msg, f"order book snapshot: {e}")]
        book = self.book(pair)
        if book is None:
            return [bad(msg, f"cannot tell base and quote of {pair!r}")]
        result = book.apply_snapshot(micro, bids, asks)
        if result.gap is not None:
            return [result.gap.to_event(ts_init=self._clock.now_ns())]
        ev = book.emit_update(ts_init=self._clock.now_ns(), depth=self._depth, is_snapshot=True)
        return [ev] if ev is not None else []
