"""Bounded event-time history of books and bars, so an order can be priced as of its due time.

Market data and intents arrive on independent streams: an intent may be seen before or after
the data at its time. Keeping a short history lets the paper venue answer "what did the book
look like at T?" either way, which makes fills independent of stream interleaving.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from enum import StrEnum

from libs.common.errors import ConfigurationError
from libs.common.events import BarClosed, OrderBookUpdated, TradeTick


class Lookup(StrEnum):
    """Outcome of asking the history for the market state at a time."""

    FOUND = "FOUND"  # the state is known and final
    WAIT = "WAIT"  # data reaching that time has not arrived yet
    GONE = "GONE"  # the state was pruned: the history window is too short for this order
    NONE = "NONE"  # no data at or before that time ever existed


@dataclass
class _BookSeries:
    ts: list[int] = field(default_factory=list)
    books: list[OrderBookUpdated] = field(default_factory=list)
    pruned: bool = False


class BookHistory:
    """Books per instrument for the last `window_ns` of event time.

    The book in force at the cutoff is always kept, so any time inside the window can be
    answered. A time T is final for an instrument once a book with ts_event > T arrived:
    several updates may share one timestamp, and the last of them is the state at T.
    Books older than the latest of their instrument are ignored (history is append-only).
    """

    def __init__(self, window_ns: int) -> None:
        if window_ns <= 0:
            raise ConfigurationError(f"book history window must be > 0 ns, got {window_ns}")
        self._window_ns = window_ns
        self._series: dict[str, _BookSeries] = {}

    def add(self, book: OrderBookUpdated) -> bool:
        """Record `book`; False (ignored) when it is older than the latest for its instrument."""
        s = self._series.setdefault(book.instrument_id, _BookSeries())
        if s.ts and book.ts_event < s.ts[-1]:
            return False
        s.ts.append(book.ts_event)
        s.books.append(book)
        # Keep every book at or after the cutoff plus the one in force at the cutoff.
        keep_from = bisect_right(s.ts, book.ts_event - self._window_ns) - 1
        if keep_from > 0:
            del s.ts[:keep_from]
            del s.books[:keep_from]
            s.pruned = True
        return True

    def as_of(self, instrument_id: str, ts: int) -> tuple[Lookup, OrderBookUpdated | None]:
        """The book in force at `ts` (the last one with ts_event <= ts), if it is final.

        GONE and NONE come with the oldest book kept, the closest state there is.
        """
        s = self._series.get(instrument_id)
        if s is None or s.ts[-1] <= ts:
            return Lookup.WAIT, None
        i = bisect_right(s.ts, ts) - 1
        if i >= 0:
            return Lookup.FOUND, s.books[i]
        return (Lookup.GONE if s.pruned else Lookup.NONE), s.books[0]

    def last(self, instrument_id: str) -> OrderBookUpdated | None:
        """The latest book of an instrument, whatever its time."""
        s = self._series.get(instrument_id)
        return s.books[-1] if s else None

    def between(self, instrument_id: str, start: int, end: int) -> list[OrderBookUpdated]:
        """Books with start <= ts_event < end, oldest first (those kept)."""
        s = self._series.get(instrument_id)
        if s is None:
            return []
        return s.books[bisect_left(s.ts, start):bisect_left(s.ts, end)]

    def __len__(self) -> int:
        return sum(len(s.books) for s in self._series.values())


@dataclass
class _BarSeries:
    opens: list[int] = field(default_factory=list)
    bars: list[BarClosed] = field(default_factory=list)
    pruned_last_open: int | None = None


class BarHistory:
    """The last `max_bars` bars per instrument, in time order.

    Bars whose close is not after the latest of their instrument are ignored (redelivery).
    """

    def __init__(self, max_bars: int) -> None:
        if max_bars <= 0:
            raise ConfigurationError(f"bar history must keep > 0 bars, got {max_bars}")
        self._max_bars = max_bars
        self._series: dict[str, _BarSeries] = {}

    def add(self, bar: BarClosed) -> bool:
        """Record `bar`; False (ignored) when it does not close after the latest one."""
        s = self._series.setdefault(bar.instrument_id, _BarSeries())
        if s.bars and bar.ts_event <= s.bars[-1].ts_event:
            return False
        s.opens.append(bar.ts_open)
        s.bars.append(bar)
        extra = len(s.bars) - self._max_bars
        if extra > 0:
            s.pruned_last_open = s.opens[extra - 1]
            del s.opens[:extra]
            del s.bars[:extra]
        return True

    def first_open_at_or_after(self, instrument_id: str,
                               ts: int) -> tuple[Lookup, BarClosed | None]:
        """The first bar with ts_open >= ts: the next tradable open after a signal at `ts`.

        GONE comes with the oldest bar kept (a later open than the true first one).
        """
        s = self._series.get(instrument_id)
        if s is None:
            return Lookup.WAIT, None
        i = bisect_left(s.opens, ts)
        if i == len(s.bars):
            return Lookup.WAIT, None
        if i == 0 and s.pruned_last_open is not None and s.pruned_last_open >= ts:
            return Lookup.GONE, s.bars[0]  # the true first bar was pruned: oldest kept
        return Lookup.FOUND, s.bars[i]

    def last(self, instrument_id: str) -> BarClosed | None:
        """The latest bar of an instrument."""
        s = self._series.get(instrument_id)
        return s.bars[-1] if s else None

    def after(self, instrument_id: str, ts_event: int) -> list[BarClosed]:
        """Bars of an instrument closing after `ts_event`, oldest first."""
        s = self._series.get(instrument_id)
        if s is None:
            return []
        closes = [b.ts_event for b in s.bars]
        return s.bars[bisect_right(closes, ts_event):]

    def __len__(self) -> int:
        return sum(len(s.bars) for s in self._series.values())


class TradeHistory:
    """Tape trades per instrument for the last `window_ns` of event time, append-only.

    Trades older than the latest of their instrument are ignored; a redelivered trade (same
    trade id as one at the latest time) too.
    """

    def __init__(self, window_ns: int) -> None:
        if window_ns <= 0:
            raise ConfigurationError(f"trade history window must be > 0 ns, got {window_ns}")
        self._window_ns = window_ns
        self._ts: dict[str, list[int]] = {}
        self._trades: dict[str, list[TradeTick]] = {}

    def add(self, trade: TradeTick) -> bool:
        """Record `trade`; False (ignored) when older than the latest or already held."""
        ts = self._ts.setdefault(trade.instrument_id, [])
        trades = self._trades.setdefault(trade.instrument_id, [])
        if ts and trade.ts_event < ts[-1]:
            return False
        i = len(ts) - 1
        while i >= 0 and ts[i] == trade.ts_event:
            if trades[i].trade_id == trade.trade_id:
                return False
            i -= 1
        ts.append(trade.ts_event)
        trades.append(trade)
        cut = bisect_left(ts, trade.ts_event - self._window_ns)
        if cut > 0:
            del ts[:cut]
            del trades[:cut]
        return True

    def last_ts(self, instrument_id: str) -> int | None:
        """ts_event of the latest trade of an instrument (None before the first)."""
        ts = self._ts.get(instrument_id)
        return ts[-1] if ts else None

    def between(self, instrument_id: str, start: int, end: int) -> list[TradeTick]:
        """Trades with start <= ts_event < end, oldest first (those kept)."""
        ts = self._ts.get(instrument_id)
        if not ts:
            return []
        return self._trades[instrument_id][bisect_left(ts, start):bisect_left(ts, end)]

    def __len__(self) -> int:
        return sum(len(t) for t in self._trades.values())
