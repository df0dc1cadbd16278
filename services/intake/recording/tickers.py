"""Kraken, OKX, Coinbase (legacy) and Gemini messages -> `QuoteTick`s. Pure.

What each venue gives and what is used:

- Kraken ws v1 `ticker` (`[chanId, {"a": [price, wholeLot, lot], "b": [...], ...}, "ticker",
  "XBT/CHF"]`): best bid/ask and lot sizes. No exchange time in it: `ts_event` is the receive
  time. `book-N` (checksummed) and `trade` are skipped.
- OKX v5 `tickers`: `bidPx/bidSz/askPx/askSz`, `ts` (ms). `books` and `trades` are skipped.
- Coinbase Pro `ticker`: `best_bid/best_ask`, `time` (ISO, µs). `level2` (no sequence numbers
  on that channel), `match` and the rest are skipped.
- Gemini v2 `l2_updates`: no ticker channel, so the top of book is rebuilt: the first message
  of a symbol is its whole book, later ones change levels (absolute sizes). Gemini v2 numbers
  nothing, so a lost update cannot be seen unless it crosses the book: then quotes for that
  symbol stop (counted) rather than publish a wrong price. A `QuoteTick` is published when the
  best bid or ask (or their sizes) changes; `ts_event` is the receive time.

A quote with bid above ask, or a non-positive price, is a BadLine.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from libs.common.clock import Clock
from libs.common.enums import InstrumentKind
from libs.common.events import QuoteTick
from services.intake.domain.binance_book import BinanceBook, DiffOutcome
from services.intake.recording import fields as f
from services.intake.recording.records import REST, WS, RawMessage, Skipped, bad
from services.intake.recording.symbols import Pair, SymbolTable
from services.intake.recording.venue_base import Out, rest_metadata

NS_PER_MS = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def quote(clock: Clock, venue: str, symbol: str, instrument: str, ts_event: int, bid: Decimal,
          ask: Decimal, bid_size: Decimal | None = None, ask_size: Decimal | None = None,
          ) -> QuoteTick:
    """A validated QuoteTick (FieldInvalid when crossed)."""
    f.check_not_crossed(bid, ask, f"{instrument} quote")
    return QuoteTick(ts_event=ts_event, ts_init=clock.now_ns(), instrument_id=instrument,
                     venue=venue, symbol=symbol, bid=bid, ask=ask, bid_size=bid_size,
                     ask_size=ask_size)


def instrument_id(venue: str, pair: Pair, suffix: str = "") -> str:
    return f"{pair.base}/{pair.quote}{suffix}.{venue}"


class _QuoteVenue:
    """Shared plumbing: REST bodies teach symbols; other non-ws lines are skipped."""

    venue = ""

    def __init__(self, clock: Clock, symbols: SymbolTable) -> None:
        self._clock = clock
        self._symbols = symbols

    def on_message(self, msg: RawMessage) -> list[Out]:
        if msg.kind == REST:
            return rest_metadata(msg, self._symbols)
        if msg.kind != WS:
            return [Skipped(f"{msg.kind} line")]
        try:
            doc = f.json_value(msg.payload)
            return self._on_ws(msg, doc)
        except f.FieldInvalid as e:
            return [bad(msg, str(e))]

    def _on_ws(self, msg: RawMessage, doc: Any) -> list[Out]:
        raise NotImplementedError

    def _pair(self, symbol: str) -> Pair:
        pair = self._symbols.pair(self.venue, symbol)
        if pair is None:
            raise f.FieldInvalid(f"cannot tell base and quote of {self.venue} symbol {symbol!r}")
        return pair


class KrakenMessages(_QuoteVenue):
    venue = "KRAKEN"

    def _on_ws(self, msg: RawMessage, doc: Any) -> list[Out]:
        if isinstance(doc, dict):
            return [Skipped(f"control message ({doc.get('event')})")]
        if not isinstance(doc, list) or len(doc) < 4 or not isinstance(doc[-2], str):
            raise f.FieldInvalid("expected [channelID, data, channelName, pair]")
        channel, symbol = doc[-2], doc[-1]
        if channel != "ticker":
            return [Skipped(f"{channel.split('-')[0]} channel (not published here)")]
        if not isinstance(symbol, str) or not isinstance(doc[1], dict):
            raise f.FieldInvalid("ticker needs a data object and a pair name")
        data = doc[1]
        ask, bid = data.get("a"), data.get("b")
        if not (isinstance(ask, list) and isinstance(bid, list) and len(ask) == len(bid) == 3):
            raise f.FieldInvalid("ticker 'a' and 'b' must be [price, wholeLotVolume, lotVolume]")
        iid = instrument_id(self.venue, self._pair(symbol))
        return [quote(self._clock, self.venue, symbol, iid, msg.ts_recv,
                      f.price(bid[0], "b price"), f.price(ask[0], "a price"),
                      f.decimal(bid[2], "b lot volume"), f.decimal(ask[2], "a lot volume"))]


class OkxMessages(_QuoteVenue):
    venue = "OKX"

    def _on_ws(self, msg: RawMessage, doc: Any) -> list[Out]:
        if not isinstance(doc, dict):
            raise f.FieldInvalid("JSON is not an object")
        if "event" in doc:
            return [Skipped(f"control message ({doc.get('event')})")]
        arg, data = f.obj(doc, "arg"), doc.get("data")
        channel = f.string(arg, "channel")
        if channel != "tickers":
            return [Skipped(f"{channel} channel (not published here)")]
        if not isinstance(data, list) or not data:
            raise f.FieldInvalid("tickers needs a non-empty data list")
        out: list[Out] = []
        for item in data:
            if not isinstance(item, dict):
                raise f.FieldInvalid("tickers data item is not an object")
            inst = f.string(item, "instId")
            iid = instrument_id(self.venue, self._pair(inst), okx_suffix(inst))
            out.append(quote(self._clock, self.venue, inst, iid,
                             f.integer(item, "ts") * NS_PER_MS,
                             f.price(item.get("bidPx"), "bidPx"),
                             f.price(item.get("askPx"), "askPx"),
                             f.decimal(item.get("bidSz"), "bidSz"),
                             f.decimal(item.get("askSz"), "askSz")))
        return out


def okx_suffix(inst_id: str) -> str:
    """`BTC-USD-SWAP` -> `-PERP`, `BTC-USD-220527` -> `-220527`, spot -> ''."""
    parts = inst_id.split("-")
    if len(parts) < 3:
        return ""
    return "-PERP" if parts[2] == "SWAP" else f"-{parts[2]}"


class CoinbaseMessages(_QuoteVenue):
    venue = "COINBASE"

    def _on_ws(self, msg: RawMessage, doc: Any) -> list[Out]:
        if not isinstance(doc, dict):
            raise f.FieldInvalid("JSON is not an object")
        kind = f.string(doc, "type")
        if kind != "ticker":
            return [Skipped(f"{kind} message (not published here)")]
        product = f.string(doc, "product_id")
        iid = instrument_id(self.venue, self._pair(product))
        ts = parse_iso_ns(doc["time"]) if "time" in doc else msg.ts_recv
        return [quote(self._clock, self.venue, product, iid, ts,
                      f.price(doc.get("best_bid"), "best_bid"),
                      f.price(doc.get("best_ask"), "best_ask"))]


def parse_iso_ns(value: Any) -> int:
    """`2021-04-17T16:43:30.244075Z` -> ns since epoch (exact to the µs)."""
    if not isinstance(value, str):
        raise f.FieldInvalid(f"time must be an ISO string, got {value!r}"[:200])
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise f.FieldInvalid(f"time {value!r} is not ISO-8601"[:200]) from None
    if dt.tzinfo is None:
        raise f.FieldInvalid(f"time {value!r} has no UTC offset"[:200])
    return (dt - EPOCH) // timedelta(microseconds=1) * 1000


class GeminiMessages(_QuoteVenue):
    venue = "GEMINI"

    def __init__(self, clock: Clock, symbols: SymbolTable) -> None:
        super().__init__(clock, symbols)
        self.books: dict[str, BinanceBook] = {}
        self.crossed: set[str] = set()  # symbols whose quotes stopped (a crossed book)
        self._last: dict[str, tuple[Any, ...]] = {}

    def _on_ws(self, msg: RawMessage, doc: Any) -> list[Out]:
        if not isinstance(doc, dict):
            raise f.FieldInvalid("JSON is not an object")
        kind = f.string(doc, "type")
        if kind != "l2_updates":
            return [Skipped(f"{kind} message (not published here)")]
        symbol = f.string(doc, "symbol")
        changes = doc.get("changes")
        if not isinstance(changes, list):
            raise f.FieldInvalid("l2_updates needs a 'changes' list")
        bids, asks = [], []
        for c in changes:
            if not isinstance(c, list) or len(c) != 3 or c[0] not in ("buy", "sell"):
                raise f.FieldInvalid(f"change must be [buy|sell, price, size], got {c!r}"[:200])
            (bids if c[0] == "buy" else asks).append(f.level(c[1:], c[0]))
        if symbol in self.crossed:
            return [Skipped("book crossed earlier: quotes stopped for this symbol")]
        pair = self._pair(symbol)
        book = self.books.get(symbol)
        if book is None:  # the first message of a symbol is its whole book
            iid = instrument_id(self.venue, pair)
            book = self.books[symbol] = BinanceBook(iid, self.venue, symbol, "spot",
                                                    base=pair.base, quote=pair.quote,
                                                    instrument_kind=InstrumentKind.SPOT)
            book.apply_snapshot(0, bids, asks)
        else:  # unnumbered updates, chained with a local counter
            n = book.last_update_id + 1
            result = book.apply_diff(n, n, None, bids, asks)
            assert result.outcome is not DiffOutcome.GAP, result
        (top_bids, top_asks) = book.top(1)
        if not top_bids or not top_asks:
            return []
        (bid, bid_size), (ask, ask_size) = top_bids[0], top_asks[0]
        if bid >= ask:
            self.crossed.add(symbol)
            return [bad(msg, f"{book.instrument_id} book crossed (bid {bid} >= ask {ask}): an "
                             "update was lost; quotes stop for this symbol")]
        top = (bid, bid_size, ask, ask_size)
        if self._last.get(symbol) == top:
            return []
        self._last[symbol] = top
        return [quote(self._clock, self.venue, symbol, book.instrument_id, msg.ts_recv, bid, ask,
                      bid_size, ask_size)]
