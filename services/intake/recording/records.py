"""Typed records read from recordings, before they become events. Pure: no I/O.

Readers yield these (plus the Binance capture records of `domain.records` and FXCM
`BarClosed`s, from the readers reused as they are); the recording pipeline turns them into
events. Every record carries `source` (the file, as the replay names it), `line_no` (1-based)
and `ts_recv` (ns, the time it is replayed at) so replay can order it and point back at it.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from libs.common.events import BarClosed
from libs.common.identifiers import instrument_id
from services.intake.domain.records import (
    BadLine,
    RawBookTicker,
    RawDepthUpdate,
    RawSnapshot,
    RawTrade,
)

# Channel names a raw message can come on (ours: the `<source>` token; cryptofeed: the line form).
WS = "ws"  # received on a websocket (`ws` or `ws:<name>`)
SENT = "sent"  # we sent it (subscriptions)
CONNECT = "connect"  # a websocket connection was opened; payload is the URL
REST = "rest"  # `rest:<url>`: the body of a REST response for <url>
CONFIG = "config"  # cryptofeed's closing `configuration: {...}` line
EVENT = "event"  # one of our events as JSON (recorded from a VenueAdapter)
BAD = "bad"  # a payload the adapter rejected: {"reason": ..., "payload": ...}


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One raw venue message with its receive time, from our format or cryptofeed format 1."""

    source: str
    line_no: int
    ts_recv: int
    venue: str
    channel: str
    payload: str | bytes

    @property
    def kind(self) -> str:
        """The channel without its qualifier: `ws:2` -> `ws`, `rest:<url>` -> `rest`."""
        return self.channel.partition(":")[0]

    @property
    def url(self) -> str:
        """The URL of a `rest:<url>` message ('' for other channels)."""
        kind, _, rest = self.channel.partition(":")
        return rest if kind == REST else ""

    def text(self) -> str:
        """The payload as text (bytes decoded as UTF-8, undecodable bytes replaced)."""
        p = self.payload
        return p.decode("utf-8", "replace") if isinstance(p, bytes) else p


@dataclass(frozen=True, slots=True)
class TickInstrument:
    """Who quoted a forex tick file: venue and pair (the file itself does not say)."""

    venue: str
    base: str
    quote: str

    @property
    def symbol(self) -> str:
        return f"{self.base}{self.quote}"

    @property
    def instrument_id(self) -> str:
        """`USD/JPY.TRUEFX` style."""
        return instrument_id(f"{self.base}/{self.quote}", self.venue)


@dataclass(frozen=True, slots=True)
class TickRow:
    """One forex tick (best bid/ask), time already in UTC ns (`ts_recv` is the tick time)."""

    source: str
    line_no: int
    ts_recv: int
    instrument: TickInstrument
    bid: Decimal
    ask: Decimal


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record read and understood but deliberately not published, with why (counted)."""

    reason: str


Record = (RawMessage | TickRow | RawSnapshot | RawDepthUpdate | RawBookTicker | RawTrade
          | BarClosed | BadLine)


def record_key(record: Record) -> int:
    """The ns time a record is replayed at: a bar's close time, else its receive/tick time."""
    return record.ts_event if isinstance(record, BarClosed) else record.ts_recv


def bad(record: RawMessage | TickRow, reason: str, text: str = "") -> BadLine:
    """A BadLine pointing at `record`'s file and line (text cut to 300 characters)."""
    if not text and isinstance(record, RawMessage):
        text = record.text()
    return BadLine(record.source, record.line_no, record.ts_recv, reason[:500], text[:300])


__all__ = [
    "BAD", "CONFIG", "CONNECT", "EVENT", "REST", "SENT", "WS", "BadLine", "RawMessage", "Record",
    "Skipped", "TickInstrument", "TickRow", "bad", "record_key",
]
