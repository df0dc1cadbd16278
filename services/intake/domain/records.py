"""Typed raw records read from recorded venue files, before they become our events.

Field names follow the venue where it helps reading the venue docs side by side (`U`, `u`, `pu`
become `first_update_id`, `final_update_id`, `prev_final_update_id`). Prices and sizes are
already `Decimal`; exchange times are still venue milliseconds (converted to ns by the pipeline).
Every record carries `source` (file base name), `line_no` (1-based) and `ts_recv` (the recorder's
local receive time in ns) so replay can order and trace it.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

Levels = tuple[tuple[Decimal, Decimal], ...]  # (price, size) as the venue lists them


@dataclass(frozen=True, slots=True)
class RawSnapshot:
    """The REST depth snapshot (`GET /depth`): the base the diffs are applied on."""

    source: str
    line_no: int
    ts_recv: int
    last_update_id: int
    event_time_ms: int | None  # futures snapshots carry "E"; spot ones do not
    symbol: str | None  # COIN-M names it; spot and USDⓈ-M do not
    bids: Levels
    asks: Levels


@dataclass(frozen=True, slots=True)
class RawDepthUpdate:
    """One `depthUpdate` stream message (a diff of the book)."""

    source: str
    line_no: int
    ts_recv: int
    symbol: str
    event_time_ms: int
    first_update_id: int  # U
    final_update_id: int  # u
    prev_final_update_id: int | None  # pu, futures only
    bids: Levels
    asks: Levels


@dataclass(frozen=True, slots=True)
class RawBookTicker:
    """One `bookTicker` message (best bid/ask). Not used yet; counted."""

    source: str
    line_no: int
    ts_recv: int
    symbol: str
    update_id: int
    bid_price: Decimal
    bid_qty: Decimal
    ask_price: Decimal
    ask_qty: Decimal


@dataclass(frozen=True, slots=True)
class RawTrade:
    """One `trade` message. Not used yet; counted."""

    source: str
    line_no: int
    ts_recv: int
    symbol: str
    event_time_ms: int
    trade_id: int
    price: Decimal
    qty: Decimal
    buyer_is_maker: bool


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line (or row) that could not be used; it goes to the dead-letter stream.

    `ts_recv` is the line's timestamp when it could be read, else the previous good line's, so
    the record still sorts in place during a merged replay.
    """

    source: str
    line_no: int
    ts_recv: int
    reason: str
    text: str  # the offending line, cut to a readable length

    def describe(self) -> str:
        """`file:line: reason`, the form an operator greps for."""
        return f"{self.source}:{self.line_no}: {self.reason}"


BinanceRecord = RawSnapshot | RawDepthUpdate | RawBookTicker | RawTrade | BadLine
