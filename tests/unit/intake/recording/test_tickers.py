"""Kraken, OKX, Coinbase and Gemini quotes: real captures and hand-made bad messages."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from libs.common.clock import TestClock
from libs.common.events import QuoteTick
from services.intake.domain.records import BadLine
from services.intake.recording.engine import replay
from services.intake.recording.records import Skipped
from services.intake.recording.sinks import MemorySink
from services.intake.recording.symbols import SymbolTable
from services.intake.recording.tickers import (
    CoinbaseMessages,
    GeminiMessages,
    KrakenMessages,
    OkxMessages,
)
from tests.unit.intake.recording.helpers import CRYPTOFEED, cf_json, ws

D = Decimal


def quotes_of(*names: str) -> list[QuoteTick]:
    sink = MemorySink()
    summary = asyncio.run(replay([CRYPTOFEED / n for n in names], 0, sink, clock=TestClock(1)))
    assert not summary.bad_lines
    return [e for e in sink.events if isinstance(e, QuoteTick)]


def assert_sane(quotes: list[QuoteTick]) -> None:
    last: dict[str, int] = {}
    for q in quotes:
        assert 0 < q.bid <= q.ask, q
        assert q.ts_event >= last.get(q.instrument_id, 0)
        last[q.instrument_id] = q.ts_event


def test_kraken_tickers_become_quotes_with_xbt_named_btc() -> None:
    quotes = quotes_of("KRAKEN.ws.49.0.gz")
    tickers = [m for m in cf_json("KRAKEN.ws.49.0.gz") if isinstance(m, list) and m[-2] == "ticker"]
    assert len(quotes) == len(tickers)
    assert_sane(quotes)
    first = tickers[0]
    q = quotes[0]
    assert (q.bid, q.ask, q.bid_size, q.ask_size) == (D(first[1]["b"][0]), D(first[1]["a"][0]),
                                                      D(first[1]["b"][2]), D(first[1]["a"][2]))
    assert "KSM/BTC.KRAKEN" in {x.instrument_id for x in quotes}


def test_okx_tickers_become_quotes_with_spot_future_and_swap_ids() -> None:
    quotes = quotes_of("OKX.ws.1.0.gz")
    items = [d for m in cf_json("OKX.ws.1.0.gz")
             if m.get("arg", {}).get("channel") == "tickers" and "data" in m for d in m["data"]]
    assert len(quotes) == len(items)
    assert_sane(quotes)
    assert {q.instrument_id for q in quotes} == {"BTC/USDT.OKX", "BTC/USD-220527.OKX",
                                                 "UNI/USD-PERP.OKX"}
    assert [q.ts_event for q in quotes] == [int(d["ts"]) * 1_000_000 for d in items]


def test_coinbase_tickers_become_quotes_at_exchange_time() -> None:
    quotes = quotes_of("COINBASE.ws.28.0.gz")
    tickers = [m for m in cf_json("COINBASE.ws.28.0.gz") if m.get("type") == "ticker"]
    assert len(quotes) == len(tickers)
    assert [(q.bid, q.ask) for q in quotes] == [(D(t["best_bid"]), D(t["best_ask"]))
                                                for t in tickers]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert [q.ts_event for q in quotes] == [
        (datetime.fromisoformat(t["time"].replace("Z", "+00:00")) - epoch)
        // timedelta(microseconds=1) * 1000 for t in tickers]


def test_gemini_top_of_book_quotes_start_from_each_symbols_first_message() -> None:
    quotes = quotes_of("GEMINI.0.gz", "GEMINI.ws.1.0.gz")
    assert_sane(quotes)
    msgs = [m for m in cf_json("GEMINI.ws.1.0.gz") if m.get("type") == "l2_updates"]
    assert len(quotes) <= len(msgs)
    first_msg = {}
    for m in msgs:
        first_msg.setdefault(m["symbol"], m)
    first_quote = {}
    for q in quotes:
        first_quote.setdefault(q.symbol, q)
    for symbol, q in first_quote.items():
        changes = first_msg[symbol]["changes"]
        best_bid = max(D(p) for side, p, s in changes if side == "buy" and D(s) > 0)
        best_ask = min(D(p) for side, p, s in changes if side == "sell" and D(s) > 0)
        assert (q.bid, q.ask) == (best_bid, best_ask), symbol


def test_crossed_or_incomplete_tickers_are_bad_lines() -> None:
    clock, symbols = TestClock(1), SymbolTable()
    kraken = KrakenMessages(clock, symbols)
    (b,) = kraken.on_message(ws("KRAKEN", [1, {"a": ["10", 1, "1"], "b": ["11", 1, "1"]},
                                           "ticker", "XBT/USD"]))
    assert isinstance(b, BadLine) and "bid 11 above ask 10" in b.reason
    okx = OkxMessages(clock, symbols)
    (b,) = okx.on_message(ws("OKX", {"arg": {"channel": "tickers"}, "data": [
        {"instId": "BTC-USDT", "askPx": "1", "bidSz": "1", "askSz": "1", "ts": "5"}]}))
    assert isinstance(b, BadLine) and "bidPx" in b.reason
    cb = CoinbaseMessages(clock, symbols)
    (b,) = cb.on_message(ws("COINBASE", {"type": "ticker", "product_id": "BTC-USD",
                                         "best_bid": "1", "best_ask": "2", "time": "yesterday"}))
    assert isinstance(b, BadLine) and "ISO" in b.reason
    (s,) = cb.on_message(ws("COINBASE", {"type": "heartbeat"}))
    assert isinstance(s, Skipped)


def test_gemini_crossed_book_stops_that_symbols_quotes() -> None:
    g = GeminiMessages(TestClock(1), SymbolTable())
    (q,) = g.on_message(ws("GEMINI", {"type": "l2_updates", "symbol": "BTCUSD", "changes": [
        ["buy", "100", "1"], ["sell", "101", "2"]]}))
    assert isinstance(q, QuoteTick) and q.instrument_id == "BTC/USD.GEMINI"
    assert g.on_message(ws("GEMINI", {"type": "l2_updates", "symbol": "BTCUSD",
                                      "changes": [["buy", "99", "3"]]})) == []  # top unchanged
    (b,) = g.on_message(ws("GEMINI", {"type": "l2_updates", "symbol": "BTCUSD",
                                      "changes": [["buy", "102", "1"]]}))
    assert isinstance(b, BadLine) and "crossed" in b.reason
    (s,) = g.on_message(ws("GEMINI", {"type": "l2_updates", "symbol": "BTCUSD",
                                      "changes": [["buy", "102", "0"]]}))
    assert isinstance(s, Skipped)
    assert Counter(type(x).__name__ for x in g.on_message(
        ws("GEMINI", {"type": "l2_updates", "symbol": "ETHUSD", "changes": [["up", "1", "1"]]}))
    ) == {"BadLine": 1}
