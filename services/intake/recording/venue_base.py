"""What every venue parser shares: its output type, its protocol, per-symbol exact books. Pure.

A venue parser takes one `RawMessage` (a websocket message or a REST body, from our format or
cryptofeed's) and returns what to publish: events, `BadLine`s (the message could not be used:
it goes to the dead-letter stream) and `Skipped` (understood, deliberately not published).
Parsers keep state (books, what the venue's REST metadata said) across messages, so one parser
must see all of a venue's messages in replay order.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from libs.common.clock import Clock
from libs.common.enums import InstrumentKind
from libs.common.events import Event
from services.intake.domain.binance_book import DEFAULT_DEPTH
from services.intake.domain.instruments import INSTRUMENTS, InstrumentSpec
from services.intake.domain.pipeline import IntakeInput, IntakePipeline
from services.intake.domain.records import BadLine
from services.intake.recording.fields import FieldInvalid, json_value
from services.intake.recording.records import RawMessage, Skipped, bad
from services.intake.recording.symbols import Pair, SymbolTable, book_source, instrument_spec

Out = Event | BadLine | Skipped


class VenueParser(Protocol):
    """Raw messages of one venue in, events / BadLines / Skipped out."""

    venue: str

    def on_message(self, msg: RawMessage) -> list[Out]: ...


# (venue, symbol, pair) -> (market rules, kind, instrument-id suffix)
Classifier = Callable[[str, str, Pair], tuple[str, InstrumentKind, str]]


def spot(_venue: str, _symbol: str, _pair: Pair) -> tuple[str, InstrumentKind, str]:
    return "spot", InstrumentKind.SPOT, ""


class SymbolBooks:
    """One `IntakePipeline` (an exact `BinanceBook` plus its counters) per symbol of a venue,
    made the first time the symbol is met. Records handed to `process` must carry
    `book_source(venue, symbol)` as their `source`; BadLines coming back are re-pointed at the
    recording file and line."""

    def __init__(self, venue: str, clock: Clock, symbols: SymbolTable, *,
                 depth: int = DEFAULT_DEPTH, classify: Classifier = spot) -> None:
        self.venue = venue
        self._clock = clock
        self._symbols = symbols
        self._depth = depth
        self._classify = classify
        self.pipelines: dict[str, IntakePipeline] = {}

    def pipeline(self, symbol: str) -> IntakePipeline | None:
        """The symbol's pipeline, or None when its base/quote cannot be told."""
        pipe = self.pipelines.get(symbol)
        if pipe is None:
            spec = self._spec(symbol)
            if spec is None:
                return None
            pipe = self.pipelines[symbol] = IntakePipeline(self._clock, (spec,),
                                                           depth=self._depth)
        return pipe

    def _spec(self, symbol: str) -> InstrumentSpec | None:
        for known in INSTRUMENTS:  # the instrument table wins (it knows contract sizes)
            if known.venue == self.venue and known.symbol == symbol:
                return dataclasses.replace(known, files=(book_source(self.venue, symbol),))
        pair = self._symbols.pair(self.venue, symbol)
        if pair is None:
            return None
        market, kind, suffix = self._classify(self.venue, symbol, pair)
        return instrument_spec(self.venue, symbol, pair, market=market, kind=kind,
                               suffix=suffix)

    def process(self, msg: RawMessage, symbol: str, record: IntakeInput) -> list[Out]:
        pipe = self.pipeline(symbol)
        if pipe is None:
            return [bad(msg, f"cannot tell base and quote of {self.venue} symbol {symbol!r}")]
        out: list[Out] = []
        for o in pipe.process(record):
            if isinstance(o, BadLine):
                o = dataclasses.replace(o, source=msg.source, line_no=msg.line_no,
                                        ts_recv=msg.ts_recv, text=o.text or msg.text()[:300])
            out.append(o)
        return out


def rest_metadata(msg: RawMessage, symbols: SymbolTable) -> list[Out]:
    """A REST body that is not a book: learn symbols from it if it is a market list."""
    try:
        body = json_value(msg.payload)
    except FieldInvalid as e:
        return [bad(msg, f"REST body {msg.url[:120]}: {e}")]
    learned = symbols.learn_from_rest(msg.venue, msg.url, body)
    return [Skipped("REST metadata (symbols learned)" if learned else "REST metadata")]
