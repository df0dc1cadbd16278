"""Binance raw messages (cryptofeed captures, our recordings) -> exact books. Pure.

Reuses what the hftbacktest path already has: `hftbacktest_file.parse_line` validates each
combined-stream message and REST depth body into `RawDepthUpdate` / `RawSnapshot` /
`RawBookTicker` / `RawTrade`, and an `IntakePipeline` per symbol runs the exact `BinanceBook`
(snapshot + `U`/`u`/`pu` checked diffs, gaps, top-20 `OrderBookUpdated`). One recording may hold
several symbols (cryptofeed's Binance capture has four), so this adds only the routing: the
symbol comes from the message (`data.s`) or from the REST URL (`?symbol=`).

Venue names decide the sequencing rules: `BINANCE` is spot; `BINANCE_USDM` and `BINANCE_COINM`
are futures. bookTicker, trade, kline and aggTrade messages are read and skipped (counted),
as the hftbacktest path does.
"""
from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

from libs.common.clock import Clock
from libs.common.enums import InstrumentKind
from services.intake.adapters.hftbacktest_file import MalformedLine, parse_line
from services.intake.domain.binance_book import DEFAULT_DEPTH
from services.intake.domain.records import RawBookTicker, RawSnapshot, RawTrade
from services.intake.recording.fields import FieldInvalid, json_object
from services.intake.recording.records import REST, WS, RawMessage, Skipped, bad
from services.intake.recording.symbols import Pair, SymbolTable, book_source
from services.intake.recording.venue_base import Out, SymbolBooks, rest_metadata

BINANCE_VENUES = ("BINANCE", "BINANCE_USDM", "BINANCE_COINM")
_SKIPPED_STREAMS = {"kline": "kline (trade-price candles, no bid/ask)",
                    "aggTrade": "aggTrade (trades are not published)"}


def _classify(venue: str, symbol: str, pair: Pair) -> tuple[str, InstrumentKind, str]:
    if venue == "BINANCE_USDM":
        return "futures", InstrumentKind.LINEAR, "-PERP" if "_" not in symbol else ""
    if venue == "BINANCE_COINM":
        return "futures", InstrumentKind.INVERSE, "-PERP" if symbol.endswith("_PERP") else ""
    return "spot", InstrumentKind.SPOT, ""


class BinanceMessages:
    """One Binance venue's messages in replay order -> books, gaps, BadLines, Skipped."""

    def __init__(self, venue: str, clock: Clock, symbols: SymbolTable, *,
                 depth: int = DEFAULT_DEPTH) -> None:
        if venue not in BINANCE_VENUES:
            raise ValueError(f"not a Binance venue: {venue!r}")
        self.venue = venue
        self._symbols = symbols
        self.books = SymbolBooks(venue, clock, symbols, depth=depth, classify=_classify)

    def on_message(self, msg: RawMessage) -> list[Out]:
        if msg.kind == REST:
            return self._on_rest(msg)
        if msg.kind != WS:
            return [Skipped(f"{msg.kind} line")]
        try:
            doc = json_object(msg.payload)
        except FieldInvalid as e:
            return [bad(msg, str(e))]
        stream, data = doc.get("stream"), doc.get("data")
        if not isinstance(stream, str) or not isinstance(data, dict):
            if "result" in doc and "id" in doc:
                return [Skipped("subscription reply")]
            return [bad(msg, "expected a combined-stream message {stream, data}")]
        kind = data.get("e") or (stream.split("@") + [""])[1]
        if kind in _SKIPPED_STREAMS:
            return [Skipped(_SKIPPED_STREAMS[kind])]
        symbol = data.get("s")
        if not isinstance(symbol, str) or not symbol:
            return [bad(msg, "stream message without a symbol 's'")]
        try:
            record = parse_line(f"{msg.ts_recv} {msg.text()}", book_source(self.venue, symbol),
                                msg.line_no)
        except MalformedLine as e:
            return [bad(msg, e.reason)]
        out = self.books.process(msg, symbol, record)
        if isinstance(record, RawBookTicker):
            out.append(Skipped("bookTicker (not published yet, as on the hftbacktest path)"))
        elif isinstance(record, RawTrade):
            out.append(Skipped("trade (trades are not published)"))
        return out

    def _on_rest(self, msg: RawMessage) -> list[Out]:
        parts = urlsplit(msg.url)
        if not parts.path.endswith("/depth"):
            return rest_metadata(msg, self._symbols)
        symbol = (parse_qs(parts.query).get("symbol") or [""])[0].upper()
        if not symbol:
            return [bad(msg, "depth snapshot URL names no symbol")]
        try:
            record = parse_line(f"{msg.ts_recv} {msg.text()}", book_source(self.venue, symbol),
                                msg.line_no)
        except MalformedLine as e:
            return [bad(msg, e.reason)]
        if not isinstance(record, RawSnapshot):
            return [bad(msg, "depth URL body is not a depth snapshot")]
        if record.symbol is not None and record.symbol != symbol:
            return [bad(msg, f"snapshot for {record.symbol!r} under URL symbol {symbol!r}")]
        return self.books.process(msg, symbol, dataclasses.replace(record, symbol=None))
