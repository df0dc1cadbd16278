"""ccxt.pro exchange classes with the few fixes our adapter needs, one per venue.

What each adds to ccxt 4.5.x, and why:

- all (`Guarded`): a websocket payload ccxt cannot handle (invalid JSON, a field of the wrong
  type) is reported to the adapter as a bad message instead of raising inside ccxt's receive
  callback, where the exception would stop the connection's receive loop for good.
- Kraken: ccxt's own book checksum (`watchOrderBook.checksum`) is off by default and, when
  turned on, calls `str.split` on the float prices it stores and fails. `handle_order_book`
  here follows ccxt's and checks the checksum on the venue's text of each level.
- OKX: ccxt checks `seqId`/`prevSeqId` but not the `checksum` OKX sends with every book
  message; it is checked here, after the message is applied and before the book is handed
  out, the same way ccxt handles a bad nonce (drop the book, re-subscribe).
- Poloniex: markets are the spot ones (`/markets`); ccxt also loads the v3 futures list.
  `book_lv2` messages carry `lastId`/`id`; ccxt ignores them, here a break is an InvalidNonce.

A checksum or sequence failure rejects the watcher with ccxt's `ChecksumError` /
`InvalidNonce` after dropping the book and the subscription, so the next `watch_order_book`
call subscribes again and gets a fresh snapshot (what ccxt itself does on a bad nonce).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import ccxt.pro as ccxtpro
from ccxt.base.errors import ChecksumError, InvalidNonce

from services.intake.adapters.ccxt.checksum import (
    KRAKEN_LEVELS,
    OKX_LEVELS,
    LevelTexts,
    decimals_of,
    fixed_text,
    kraken_checksum,
    okx_checksum,
    plain_text,
)

BadSink = Callable[[str, str], None]  # (payload text, reason)
_PAYLOAD_CUT = 2_000
_TEXT_SLACK = 200  # level texts kept beyond the book's depth before pruning


def _payload_text(message: Any) -> str:
    if isinstance(message, str | bytes):
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    else:
        try:
            text = json.dumps(message, default=str)
        except (TypeError, ValueError):
            text = repr(message)
    return text[:_PAYLOAD_CUT]


class Guarded:
    """Mixin: counts websocket messages and reports the ones ccxt cannot handle.

    `on_message()` is called for every decoded message, `on_bad(payload, reason)` for a message
    that is not JSON or that ccxt's handler raised on. Without `on_bad` errors propagate as in
    plain ccxt.
    """

    on_message: Callable[[], None] | None = None
    on_bad: BadSink | None = None
    text_messages: frozenset[str] = frozenset()  # plain-text frames the venue sends ("pong")

    def _report(self, payload: Any, reason: str) -> None:
        if self.on_bad is None:
            raise ValueError(reason)
        self.on_bad(_payload_text(payload), reason)

    def handle_message(self, client: Any, message: Any) -> Any:
        if self.on_message is not None:
            self.on_message()
        if isinstance(message, str) and message not in self.text_messages:
            self._report(message, "not a JSON message")
            return None
        try:
            return super().handle_message(client, message)  # type: ignore[misc]
        except Exception as e:  # a payload ccxt could not use; the connection goes on
            if self.on_bad is None:
                raise
            self.on_bad(_payload_text(message), f"ccxt could not handle the message: "
                                                f"{type(e).__name__}: {e}"[:500])
            return None

    def client(self, url: str) -> Any:
        client = super().client(url)  # type: ignore[misc]
        if not getattr(client, "_trifecta_guarded", False):
            decode = client.handle_text_or_binary_message

            def guarded(data: Any) -> None:
                try:
                    decode(data)
                except ValueError as e:  # invalid JSON (orjson / json decode errors)
                    self._report(data, f"invalid JSON: {e}"[:300])

            client.handle_text_or_binary_message = guarded
            client._trifecta_guarded = True
        return client


def _drop_book(exchange: Any, client: Any, symbol: str, message_hash: str,
               error: Exception) -> None:
    """What ccxt does on a bad nonce: forget book and subscription, reject the watcher."""
    client.subscriptions.pop(message_hash, None)
    exchange.orderbooks.pop(symbol, None)
    client.reject(error, message_hash)


class BinancePro(Guarded, ccxtpro.binance):
    """Binance: ccxt's U/u sequencing as is (a break raises ChecksumError in ccxt)."""


class BitstampPro(Guarded, ccxtpro.bitstamp):
    """Bitstamp: ccxt's snapshot + microtimestamp-ordered diffs as is (no sequence ids)."""


class CoinbaseExchangePro(Guarded, ccxtpro.coinbaseexchange):
    """Coinbase Exchange (ex Coinbase Pro) books: `level2` with keys, `level2_batch` without.

    ccxt always subscribes to `level2`, which Coinbase has required keys for since 2022, and
    raises without them. Without keys this subscribes to the public `level2_batch` channel,
    whose `snapshot` / `l2update` messages are the same (batched every 50 ms); ccxt's handler
    takes them unchanged. No sequence numbers on either channel.
    """

    async def watch_order_book_for_symbols(self, symbols: list[str], limit: int | None = None,
                                           params: dict[str, Any] | None = None) -> Any:
        params = params or {}
        if self.apiKey and self.secret:
            return await super().watch_order_book_for_symbols(symbols, limit, params)
        if not symbols:
            raise ValueError("watch_order_book_for_symbols needs symbols")
        if self.markets is None:
            await self.load_markets()
        market_ids = self.market_ids(self.market_symbols(symbols))
        hashes = [f"level2:{m}" for m in market_ids]
        request = self.extend({"type": "subscribe", "product_ids": market_ids,
                               "channels": ["level2_batch"]}, params)
        subscription = {"messageHash": "level2", "symbols": symbols, "marketIds": market_ids,
                        "limit": limit}
        orderbook = await self.watch_multiple(self.urls["api"]["ws"], hashes, request, hashes,
                                              subscription)
        return orderbook.limit()

    async def watch_order_book(self, symbol: str, limit: int | None = None,
                               params: dict[str, Any] | None = None) -> Any:
        if self.apiKey and self.secret:
            return await super().watch_order_book(symbol, limit, params or {})
        return await self.watch_order_book_for_symbols([symbol], limit, params)


class KrakenPro(Guarded, ccxtpro.kraken):
    """Kraken WS v2 books with the checksum checked on the venue's text (see module doc)."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config or {})
        self.level_texts: dict[str, LevelTexts] = {}

    def _level_text(self, value: Any, decimals: int | None) -> str:
        # v1-style text (as a string) is used as sent; v2 numbers are written with the pair's
        # decimals, as Kraken's v2 checksum is defined.
        if isinstance(value, str):
            return value
        if decimals is None:
            return plain_text(value)
        return fixed_text(value, decimals)

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> None:
        kind = message.get("type")
        data = message.get("data")
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise ValueError("book message without data[0]")
        first = data[0]
        symbol = first.get("symbol")
        if not isinstance(symbol, str):
            raise ValueError("book message without a symbol")
        message_hash = self.get_message_hash("orderbook", None, symbol)
        market = (self.markets or {}).get(symbol) or {}
        precision = market.get("precision") or {}
        price_dp, qty_dp = decimals_of(precision.get("price")), decimals_of(precision.get("amount"))
        sides: list[tuple[str, list[tuple[str, str, float, float]]]] = []
        for side in ("asks", "bids"):
            levels = []
            for level in first.get(side) or []:
                price, qty = level["price"], level["qty"]
                levels.append((self._level_text(price, price_dp), self._level_text(qty, qty_dp),
                               float(price), float(qty)))
            sides.append((side, levels))
        texts = self.level_texts.setdefault(symbol, LevelTexts())
        if kind == "update":
            if symbol not in self.orderbooks:
                return  # the book was dropped after a failure; wait for the new snapshot
            orderbook = self.orderbooks[symbol]
            timestamp = self.safe_string(first, "timestamp")
            orderbook["timestamp"] = self.parse8601(timestamp)
            orderbook["datetime"] = timestamp
        elif kind == "snapshot":
            subscription = client.subscriptions.get(message_hash)
            limit = self.safe_integer(subscription if isinstance(subscription, dict) else {},
                                      "limit", 10)
            depth = max(len(first.get("asks") or []), limit or 10)
            depths = self.options.setdefault("wsOrderBookDepths", {})
            if symbol not in self.orderbooks or depths.get(symbol) != depth:
                self.orderbooks[symbol] = self.order_book({}, depth)
                depths[symbol] = depth
            orderbook = self.orderbooks[symbol]
            orderbook.reset({})
            texts.clear()
        else:
            return
        for side, levels in sides:
            bookside = orderbook[side]
            for price_text, qty_text, price, qty in levels:
                texts.apply(side, price_text, qty_text)
                bookside.store(price, qty)
        orderbook["symbol"] = symbol
        orderbook.limit()
        for side in ("asks", "bids"):
            if len(texts.side(side)) > len(orderbook[side]) + _TEXT_SLACK:
                texts.keep_only(side, [level[0] for level in orderbook[side]])
        checksum = first.get("checksum")
        if checksum is not None and self.handle_option("watchOrderBook", "checksum", False):
            asks = texts.texts("asks", [lv[0] for lv in orderbook["asks"][:KRAKEN_LEVELS]])
            bids = texts.texts("bids", [lv[0] for lv in orderbook["bids"][:KRAKEN_LEVELS]])
            if kraken_checksum(asks, bids) != int(checksum):
                texts.clear()
                _drop_book(self, client, symbol, message_hash,
                           ChecksumError(f"{self.id} {self.orderbook_checksum_message(symbol)}"))
                return
        client.resolve(orderbook, message_hash)


class OkxPro(Guarded, ccxtpro.okx):
    """OKX v5 books with the `checksum` of every message checked (see module doc)."""

    text_messages = frozenset({"pong"})

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config or {})
        self.level_texts: dict[str, LevelTexts] = {}
        self._action: str | None = None

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> Any:
        self._action = message.get("action")
        return super().handle_order_book(client, message)

    def handle_order_book_message(self, client: Any, message: dict[str, Any], orderbook: Any,
                                  messageHash: str, market: Any = None) -> Any:  # noqa: N803
        symbol = market["symbol"] if market else orderbook["symbol"]
        texts = self.level_texts.setdefault(symbol, LevelTexts())
        if self._action == "snapshot":
            texts.clear()
        for side in ("asks", "bids"):
            for level in message.get(side) or []:
                texts.apply(side, str(level[0]), str(level[1]))
        result = super().handle_order_book_message(client, message, orderbook, messageHash,
                                                   market)
        if messageHash not in client.subscriptions:
            texts.clear()
            return result  # ccxt found a bad seqId and dropped the book already
        checksum = message.get("checksum")
        if checksum is not None and self.handle_option("watchOrderBook", "checksum", False):
            bids = texts.texts("bids", [lv[0] for lv in orderbook["bids"][:OKX_LEVELS]])
            asks = texts.texts("asks", [lv[0] for lv in orderbook["asks"][:OKX_LEVELS]])
            if okx_checksum(bids, asks) != int(checksum):
                texts.clear()
                _drop_book(self, client, symbol, messageHash,
                           ChecksumError(f"{self.id} {self.orderbook_checksum_message(symbol)}"))
        return result


class PoloniexPro(Guarded, ccxtpro.poloniex):
    """Poloniex v3 spot: spot markets only; `book_lv2` lastId/id sequence checked."""

    async def fetch_markets(self, params: dict[str, Any] | None = None) -> list[Any]:
        return await self.fetch_spot_markets(params or {})

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> None:
        action = message.get("action")
        data = message.get("data")
        if not isinstance(data, list):
            raise ValueError("book_lv2 message without a data list")
        kept = []
        for item in data:
            if not isinstance(item, dict):
                raise ValueError("book_lv2 data item is not an object")
            symbol = self.safe_market(item.get("symbol"))["symbol"]
            book = self.orderbooks.get(symbol)
            last_id = item.get("lastId")
            if action == "update" and book is not None and book["nonce"] is not None \
                    and last_id != book["nonce"]:
                _drop_book(self, client, symbol, f"book_lv2::{symbol}",
                           InvalidNonce(f"{self.id} {symbol} book_lv2 lastId {last_id} does "
                                        f"not follow id {book['nonce']}"))
                continue
            kept.append(item)
        super().handle_order_book(client, {**message, "data": kept})
        for item in kept:
            symbol = self.safe_market(item.get("symbol"))["symbol"]
            if symbol in self.orderbooks and isinstance(item.get("id"), int):
                self.orderbooks[symbol]["nonce"] = item["id"]
