"""Market data events (`md.*` streams)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from libs.common.enums import InstrumentKind
from libs.common.events.base import Event, Money

Level = tuple[Money, Money]  # (price, size in the venue's native unit)


class OrderBookUpdated(Event):
    """Top-of-book depth after an exactly applied diff (or a snapshot)."""

    kind: Literal["md.book"] = "md.book"
    instrument_id: str
    venue: str
    symbol: str
    instrument_kind: InstrumentKind
    base: str
    quote: str
    contract_size: Money | None = None  # quote units per contract, INVERSE only
    sequence: int = Field(ge=0, description="venue update id of the last applied diff")
    bids: tuple[Level, ...]  # best first
    asks: tuple[Level, ...]  # best first
    is_snapshot: bool = False


class BarClosed(Event):
    """A closed bar with separate bid and ask OHLC. ts_event is the bar's close time."""

    kind: Literal["md.bar"] = "md.bar"
    instrument_id: str
    venue: str
    symbol: str
    base: str
    quote: str
    timeframe_s: int = Field(gt=0)
    ts_open: int = Field(ge=0)
    bid_open: Money
    bid_high: Money
    bid_low: Money
    bid_close: Money
    ask_open: Money
    ask_high: Money
    ask_low: Money
    ask_close: Money


class BookGapDetected(Event):
    """A diff did not follow the book; the book was discarded until it can be rebuilt."""

    kind: Literal["md.gap"] = "md.gap"
    instrument_id: str
    expected_from: int
    got_from: int
    detail: str


class ReplayFinished(Event):
    """End of a replay: downstream flushes what waits for more data."""

    kind: Literal["md.replay_finished"] = "md.replay_finished"
    source: str
    events_published: int = Field(ge=0)
