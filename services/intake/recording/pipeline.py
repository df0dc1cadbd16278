"""Records from any recording in, the events intake publishes out. Pure: no files, no clock reads.

Feed it every record of a replay in replay order (`engine` merges the files). Per record it
returns events, `BadLine`s and `Skipped` markers:

- Binance hftbacktest records and FXCM bars go to the existing `IntakePipeline` unchanged;
- forex tick rows become `QuoteTick`s;
- raw venue messages (cryptofeed format 1, our format) go to the venue's parser (exact books for
  Binance, Poloniex and Bitstamp; quotes for Kraken, OKX, Coinbase and Gemini);
- `event` lines (our events recorded from an adapter) are decoded and validated, `bad` lines
  become BadLines again, connects, sent messages and configuration lines are skipped.

One pipeline holds all books, so a venue's REST snapshot file and its websocket file must be in
the same replay.
"""
from __future__ import annotations

import json

from libs.common.clock import Clock
from libs.common.errors import ValidationFailed
from libs.common.events import BarClosed, Event, decode
from services.intake.domain.binance_book import DEFAULT_DEPTH
from services.intake.domain.instruments import INSTRUMENTS, InstrumentSpec
from services.intake.domain.pipeline import IntakePipeline
from services.intake.domain.records import (
    BadLine,
    RawBookTicker,
    RawDepthUpdate,
    RawSnapshot,
    RawTrade,
)
from services.intake.recording.binance_messages import BINANCE_VENUES, BinanceMessages
from services.intake.recording.bitstamp_book import BitstampMessages
from services.intake.recording.forex import to_quote
from services.intake.recording.poloniex_book import PoloniexMessages
from services.intake.recording.records import (
    BAD,
    EVENT,
    RawMessage,
    Record,
    Skipped,
    TickRow,
    bad,
)
from services.intake.recording.symbols import SymbolTable
from services.intake.recording.tickers import (
    CoinbaseMessages,
    GeminiMessages,
    KrakenMessages,
    OkxMessages,
)
from services.intake.recording.venue_base import Out, VenueParser

VENUES_WITH_PARSERS = (*BINANCE_VENUES, "POLONIEX", "BITSTAMP", "KRAKEN", "OKX", "COINBASE",
                       "GEMINI")


class RecordingPipeline:
    """Turns replay records into events, keeping every book; see the module docstring.

    `clock` only stamps `ts_init`. `specs` are the instruments the hftbacktest captures and
    FXCM bar files belong to (default: intake's table).
    """

    def __init__(self, clock: Clock, *, depth: int = DEFAULT_DEPTH,
                 specs: tuple[InstrumentSpec, ...] = INSTRUMENTS) -> None:
        self._clock = clock
        self._depth = depth
        self.symbols = SymbolTable()
        self.intake = IntakePipeline(clock, specs, depth=depth)
        self.venues: dict[str, VenueParser] = {}

    def process(self, record: Record) -> list[Out]:
        """What one record gives (often nothing: a deep diff, a buffered one)."""
        if isinstance(record, RawMessage):
            return self._on_message(record)
        if isinstance(record, TickRow):
            return [to_quote(record, self._clock)]
        if isinstance(record, RawBookTicker | RawTrade):
            self.intake.process(record)  # keeps its counters
            what = "bookTicker" if isinstance(record, RawBookTicker) else "trade"
            return [Skipped(f"{what} (not published, as on the hftbacktest path)")]
        if isinstance(record, RawSnapshot | RawDepthUpdate | BarClosed | BadLine):
            return list(self.intake.process(record))
        raise TypeError(f"not a replay record: {type(record).__name__}")

    def parser(self, venue: str) -> VenueParser | None:
        """The venue's parser (made on first use), or None for a venue we cannot parse."""
        p = self.venues.get(venue)
        if p is None:
            p = self._make(venue)
            if p is not None:
                self.venues[venue] = p
        return p

    def _make(self, venue: str) -> VenueParser | None:
        c, s, d = self._clock, self.symbols, self._depth
        if venue in BINANCE_VENUES:
            return BinanceMessages(venue, c, s, depth=d)
        if venue == "POLONIEX":
            return PoloniexMessages(c, s, depth=d)
        if venue == "BITSTAMP":
            return BitstampMessages(c, s, depth=d)
        quote_venues = {"KRAKEN": KrakenMessages, "OKX": OkxMessages,
                        "COINBASE": CoinbaseMessages, "GEMINI": GeminiMessages}
        maker = quote_venues.get(venue)
        return maker(c, s) if maker is not None else None

    def _on_message(self, msg: RawMessage) -> list[Out]:
        if msg.kind == EVENT:
            return [self._recorded_event(msg)]
        if msg.kind == BAD:
            return [self._recorded_bad(msg)]
        parser = self.parser(msg.venue)
        if parser is None:
            return [Skipped(f"no parser for venue {msg.venue!r}")]
        return parser.on_message(msg)

    @staticmethod
    def _recorded_event(msg: RawMessage) -> Event | BadLine:
        try:
            return decode(msg.payload)
        except ValidationFailed as e:
            return bad(msg, f"recorded event: {e}")

    @staticmethod
    def _recorded_bad(msg: RawMessage) -> BadLine:
        try:
            doc = json.loads(msg.payload)
            reason, payload = str(doc["reason"]), str(doc.get("payload", ""))
        except (ValueError, KeyError, TypeError):
            return bad(msg, "recorded BadMessage is not {reason, payload}")
        return bad(msg, f"rejected when recorded: {reason}", payload)
