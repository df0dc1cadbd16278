"""An exact L2 order book for one Binance market, built from a REST snapshot plus stream diffs.

The sequencing rules are Binance's "how to manage a local order book correctly":

- spot: drop a diff with ``u <= lastUpdateId``; the first applied diff must have
  ``U <= lastUpdateId + 1 <= u``; every later diff must have ``U == previous u + 1``.
- futures (USDⓈ-M and COIN-M): drop a diff with ``u < lastUpdateId``; the first applied diff
  must have ``U <= lastUpdateId <= u``; every later diff must have ``pu == previous u``.

Diffs that arrive before the snapshot are buffered and replayed on it. A diff that does not
follow is a gap: the book is cleared and stays unusable until a new snapshot (never papered
over), and the caller gets a `BookGap` to publish as `BookGapDetected`.

Prices and sizes are `Decimal` end to end; a side is a dict (price -> size) plus an ascending
price list kept sorted with `bisect`, so a diff costs O(levels changed x log depth) and
`top(n)` is a slice.
"""
from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal, TypeVar

from libs.common.enums import InstrumentKind
from libs.common.errors import IllegalTransition, SequenceGap, ValidationFailed
from libs.common.events import BookGapDetected, OrderBookUpdated
from services.intake.domain.instruments import InstrumentSpec

D = TypeVar("D")

Level = tuple[Decimal, Decimal]
Top = tuple[tuple[Level, ...], tuple[Level, ...]]
BookMarket = Literal["spot", "futures"]

DEFAULT_DEPTH = 20
DEFAULT_BUFFER_LIMIT = 10_000


class BookState(StrEnum):
    """Where the book is in Binance's sync procedure."""

    AWAITING_SNAPSHOT = "AWAITING_SNAPSHOT"  # no usable book; diffs are buffered
    AWAITING_FIRST_DIFF = "AWAITING_FIRST_DIFF"  # snapshot loaded; no diff bridged it yet
    SYNCED = "SYNCED"  # snapshot plus a contiguous chain of diffs


class _Trigger(StrEnum):
    SNAPSHOT = "SNAPSHOT"
    BUFFER = "BUFFER"
    STALE = "STALE"
    APPLY = "APPLY"
    GAP = "GAP"


_S, _T = BookState, _Trigger
_TRANSITIONS: dict[tuple[BookState, _Trigger], BookState] = {
    (_S.AWAITING_SNAPSHOT, _T.BUFFER): _S.AWAITING_SNAPSHOT,
    (_S.AWAITING_SNAPSHOT, _T.SNAPSHOT): _S.AWAITING_FIRST_DIFF,
    (_S.AWAITING_FIRST_DIFF, _T.SNAPSHOT): _S.AWAITING_FIRST_DIFF,
    (_S.AWAITING_FIRST_DIFF, _T.STALE): _S.AWAITING_FIRST_DIFF,
    (_S.AWAITING_FIRST_DIFF, _T.APPLY): _S.SYNCED,
    (_S.AWAITING_FIRST_DIFF, _T.GAP): _S.AWAITING_SNAPSHOT,
    (_S.SYNCED, _T.SNAPSHOT): _S.AWAITING_FIRST_DIFF,
    (_S.SYNCED, _T.STALE): _S.SYNCED,
    (_S.SYNCED, _T.APPLY): _S.SYNCED,
    (_S.SYNCED, _T.GAP): _S.AWAITING_SNAPSHOT,
}


class DiffOutcome(StrEnum):
    """What `apply_diff` did with one diff."""

    APPLIED = "APPLIED"
    STALE = "STALE"  # older than the book; dropped as Binance says
    BUFFERED = "BUFFERED"  # no snapshot yet; kept for it
    GAP = "GAP"  # did not follow; the book is discarded until a new snapshot


@dataclass(frozen=True, slots=True)
class BookGap:
    """A sequence break, with what was expected and what came (venue update ids)."""

    instrument_id: str
    expected_from: int
    got_from: int
    detail: str
    ts_event: int | None  # ns, the breaking diff's exchange time when known

    def to_event(self, ts_init: int, ts_event: int | None = None) -> BookGapDetected:
        """The `BookGapDetected` intake publishes for this gap."""
        ts = ts_event if ts_event is not None else self.ts_event
        if ts is None:
            raise ValueError("BookGap.to_event needs a ts_event (the diff had none)")
        return BookGapDetected(
            ts_event=ts, ts_init=ts_init, instrument_id=self.instrument_id,
            expected_from=self.expected_from, got_from=self.got_from, detail=self.detail,
        )

    def to_error(self) -> SequenceGap:
        """The same fact as an exception, for callers that prefer to raise."""
        return SequenceGap(f"{self.instrument_id}: {self.detail}")


@dataclass(frozen=True, slots=True)
class DiffResult:
    """Outcome of one diff; `gap` is set exactly when `outcome` is GAP."""

    outcome: DiffOutcome
    gap: BookGap | None = None


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """What loading a snapshot did with the diffs buffered before it."""

    applied: int
    stale: int
    gap: BookGap | None = None  # the buffered diffs did not bridge the snapshot


def replay_buffered(buffer: deque[D] | list[D],
                    sequence: Callable[[D], DiffResult]) -> SnapshotResult:
    """Apply the diffs held for a new snapshot, in order, through `sequence`.

    Stale ones are dropped; at the first gap the diffs after it stay buffered for the next
    snapshot. Shared by every exact book that buffers diffs until its snapshot arrives.
    """
    pending = list(buffer)
    buffer.clear()
    applied = stale = 0
    for i, diff in enumerate(pending):
        result = sequence(diff)
        if result.outcome is DiffOutcome.APPLIED:
            applied += 1
        elif result.outcome is DiffOutcome.STALE:
            stale += 1
        else:
            buffer.extend(pending[i + 1:])
            return SnapshotResult(applied, stale, result.gap)
    return SnapshotResult(applied, stale)


@dataclass(frozen=True, slots=True)
class _Diff:
    first_id: int
    final_id: int
    prev_final_id: int | None
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    ts_event: int | None


class _Side:
    """Price -> size plus the ascending list of prices."""

    __slots__ = ("levels", "prices")

    def __init__(self) -> None:
        self.levels: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []

    def load(self, levels: Iterable[Level]) -> None:
        book: dict[Decimal, Decimal] = {}
        for price, size in levels:
            # A snapshot never lists an empty level, but a zero there would mean "absent" too.
            if size:
                book[price] = size
            else:
                book.pop(price, None)
        self.levels = book
        self.prices = sorted(book)

    def clear(self) -> None:
        self.levels = {}
        self.prices = []

    def update(self, levels: Iterable[Level]) -> None:
        book = self.levels
        prices = self.prices
        for price, size in levels:
            if not size:
                # Removing a level the book does not hold is normal (Binance docs).
                if book.pop(price, None) is not None:
                    del prices[bisect_left(prices, price)]
            else:
                if price not in book:
                    insort(prices, price)
                book[price] = size

    def best_high(self, n: int) -> tuple[Level, ...]:
        book = self.levels
        prices = self.prices
        return tuple((p, book[p]) for p in reversed(prices[max(0, len(prices) - n):]))

    def best_low(self, n: int) -> tuple[Level, ...]:
        book = self.levels
        return tuple((p, book[p]) for p in self.prices[:n])


class BinanceBook:
    """The exact L2 book of one Binance market (spot or futures sequencing rules).

    Feed it `apply_snapshot` and `apply_diff` in arrival order; read it with `top`; ask
    `emit_update` after each change for the `OrderBookUpdated` to publish (None when the top
    `depth` levels did not change, so intake publishes only real top-of-book moves).
    """

    def __init__(
        self,
        instrument_id: str,
        venue: str,
        symbol: str,
        market: BookMarket,
        *,
        base: str,
        quote: str,
        instrument_kind: InstrumentKind,
        contract_size: Decimal | None = None,
        buffer_limit: int = DEFAULT_BUFFER_LIMIT,
    ) -> None:
        if market not in ("spot", "futures"):
            raise ValueError(f"market must be 'spot' or 'futures', not {market!r}")
        if buffer_limit <= 0:
            raise ValueError("buffer_limit must be positive")
        self.instrument_id = instrument_id
        self.venue = venue
        self.symbol = symbol
        self.market: BookMarket = market
        self.base = base
        self.quote = quote
        self.instrument_kind = instrument_kind
        self.contract_size = contract_size
        self._bids = _Side()
        self._asks = _Side()
        self._state = BookState.AWAITING_SNAPSHOT
        self._last_update_id = 0
        self._ts_event: int | None = None
        self._buffer: deque[_Diff] = deque(maxlen=buffer_limit)
        self._last_top: Top | None = None
        self.buffer_overflow = 0  # diffs pushed out of a full pre-snapshot buffer

    @classmethod
    def from_spec(cls, spec: InstrumentSpec, buffer_limit: int = DEFAULT_BUFFER_LIMIT,
                  ) -> BinanceBook:
        """A book for one of the instruments in `domain.instruments`."""
        if spec.market == "fx":
            raise ValueError(f"{spec.instrument_id} has no Binance order book")
        return cls(spec.instrument_id, spec.venue, spec.symbol, spec.market, base=spec.base,
                   quote=spec.quote, instrument_kind=spec.kind,
                   contract_size=spec.contract_size, buffer_limit=buffer_limit)

    # ---- state --------------------------------------------------------------------------

    @property
    def state(self) -> BookState:
        return self._state

    @property
    def has_book(self) -> bool:
        """True when the levels are an exact book (a snapshot, plus diffs if any followed)."""
        return self._state is not BookState.AWAITING_SNAPSHOT

    @property
    def last_update_id(self) -> int:
        """Update id the book is at: the last applied diff's `u`, or the snapshot's id."""
        return self._last_update_id

    @property
    def ts_event(self) -> int | None:
        """Exchange time (ns) of the last snapshot or diff that changed the book, if known."""
        return self._ts_event

    @property
    def buffered(self) -> int:
        """Diffs waiting for a snapshot."""
        return len(self._buffer)

    def _move(self, trigger: _Trigger) -> None:
        try:
            self._state = _TRANSITIONS[(self._state, trigger)]
        except KeyError:
            raise IllegalTransition(
                f"{self.instrument_id}: {trigger.value} not allowed in {self._state.value}"
            ) from None

    # ---- input --------------------------------------------------------------------------

    def apply_snapshot(self, last_update_id: int, bids: Iterable[Level], asks: Iterable[Level],
                       *, ts_event: int | None = None) -> SnapshotResult:
        """Load a REST snapshot, then replay the buffered diffs on it.

        Diffs older than the snapshot are dropped; the rest must bridge it and follow each
        other. If they do not (the snapshot is older than the first buffered diff, say), the
        result carries the gap and the book waits for another snapshot, keeping the diffs from
        the breaking one on.
        """
        self._move(_Trigger.SNAPSHOT)
        self._bids.load(bids)
        self._asks.load(asks)
        self._last_update_id = last_update_id
        self._ts_event = ts_event
        self._last_top = None
        return replay_buffered(self._buffer, self._sequence)

    def apply_diff(self, first_update_id: int, final_update_id: int,
                   prev_final_update_id: int | None, bids: Iterable[Level], asks: Iterable[Level],
                   *, ts_event: int | None = None) -> DiffResult:
        """Apply one depth diff (`U`, `u`, `pu`) if it follows the book; see the module rules.

        `ts_event` (ns) is remembered as the book's time when the diff is applied. Futures
        diffs must carry `pu` (ValidationFailed otherwise).
        """
        if self.market == "futures" and prev_final_update_id is None:
            raise ValidationFailed(f"{self.instrument_id}: futures diff without pu "
                                   f"(U={first_update_id} u={final_update_id})")
        diff = _Diff(first_update_id, final_update_id, prev_final_update_id,
                     tuple(bids), tuple(asks), ts_event)
        if self._state is BookState.AWAITING_SNAPSHOT:
            self._push_buffer(diff)
            self._move(_Trigger.BUFFER)
            return DiffResult(DiffOutcome.BUFFERED)
        return self._sequence(diff)

    def _push_buffer(self, diff: _Diff) -> None:
        if len(self._buffer) == self._buffer.maxlen:
            # The oldest goes; a later snapshot will then either make it stale or show a gap.
            self.buffer_overflow += 1
        self._buffer.append(diff)

    def _sequence(self, d: _Diff) -> DiffResult:
        last = self._last_update_id
        spot = self.market == "spot"
        if self._state is BookState.AWAITING_FIRST_DIFF:
            stale = (d.final_id <= last) if spot else (d.final_id < last)
            if stale:
                self._move(_Trigger.STALE)
                return DiffResult(DiffOutcome.STALE)
            want = last + 1 if spot else last
            if not d.first_id <= want <= d.final_id:
                return self._gap(d, want, d.first_id,
                                 f"first diff after snapshot {last} must span {want}: "
                                 f"got U={d.first_id} u={d.final_id}")
        else:
            # A diff the book already covers is a duplicate or late delivery: drop it.
            if d.final_id <= last:
                self._move(_Trigger.STALE)
                return DiffResult(DiffOutcome.STALE)
            if spot:
                if d.first_id != last + 1:
                    return self._gap(d, last + 1, d.first_id,
                                     f"expected U={last + 1}, got U={d.first_id} u={d.final_id}")
            elif d.prev_final_id != last:
                got = d.prev_final_id if d.prev_final_id is not None else d.first_id
                return self._gap(d, last, got,
                                 f"expected pu={last}, got pu={d.prev_final_id} "
                                 f"U={d.first_id} u={d.final_id}")
        self._bids.update(d.bids)
        self._asks.update(d.asks)
        self._last_update_id = d.final_id
        if d.ts_event is not None:
            self._ts_event = d.ts_event
        self._move(_Trigger.APPLY)
        return DiffResult(DiffOutcome.APPLIED)

    def _gap(self, d: _Diff, expected_from: int, got_from: int, detail: str) -> DiffResult:
        self._move(_Trigger.GAP)
        self._bids.clear()
        self._asks.clear()
        self._last_top = None
        # Restart Binance's procedure: buffer from the breaking diff on for the next snapshot.
        self._push_buffer(d)
        gap = BookGap(self.instrument_id, expected_from, got_from, detail, d.ts_event)
        return DiffResult(DiffOutcome.GAP, gap)

    # ---- output -------------------------------------------------------------------------

    def top(self, n: int = DEFAULT_DEPTH) -> Top:
        """(bids best first, asks best first), at most `n` levels each; empty without a book."""
        return self._bids.best_high(n), self._asks.best_low(n)

    def depth(self) -> tuple[int, int]:
        """Number of (bid, ask) levels held."""
        return len(self._bids.prices), len(self._asks.prices)

    def emit_update(self, *, ts_init: int, depth: int = DEFAULT_DEPTH, is_snapshot: bool = False,
                    ts_event: int | None = None) -> OrderBookUpdated | None:
        """The `OrderBookUpdated` for the top `depth` levels, or None if nothing to publish.

        None when there is no exact book, or when the top `depth` equals the last one returned
        here (a diff deep in the book changes nothing downstream cares about). A snapshot is
        always returned. `ts_event` defaults to the book's own exchange time.
        """
        if self._state is BookState.AWAITING_SNAPSHOT:
            return None
        top = self.top(depth)
        if not is_snapshot and top == self._last_top:
            return None
        ts = ts_event if ts_event is not None else self._ts_event
        if ts is None:
            raise ValueError(f"{self.instrument_id}: no ts_event known for the update")
        self._last_top = top
        return OrderBookUpdated(
            ts_event=ts, ts_init=ts_init, instrument_id=self.instrument_id, venue=self.venue,
            symbol=self.symbol, instrument_kind=self.instrument_kind, base=self.base,
            quote=self.quote,
            contract_size=(self.contract_size
                           if self.instrument_kind is InstrumentKind.INVERSE else None),
            sequence=self._last_update_id, bids=top[0], asks=top[1], is_snapshot=is_snapshot,
        )
