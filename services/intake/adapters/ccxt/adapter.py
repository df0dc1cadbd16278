"""The crypto-exchange adapter: one ccxt-based class, venue subclasses stating their differences.

REST (markets, one-off book snapshots) goes through the `ccxt.async_support` methods of the
same `ccxt.pro` instance that streams the books with `watch_order_book`: one instance, one
aiohttp session, one rate limiter (`enableRateLimit`) for both.

Books: ccxt keeps the book (snapshot + diffs, the venue's sequence rules, and the checksum
where the venue sends one, see `exchanges.py`); each book ccxt hands out becomes an
`OrderBookUpdated` with the top `depth` levels when that top changed. A sequence break
(`InvalidNonce`, or Binance's `ChecksumError`, which ccxt raises for a U/u break) counts as a
gap, a checksum mismatch as a checksum failure; either drops the book, publishes
`BookGapDetected` (so the scanner stops pricing on it) and re-subscribes, which brings a fresh
snapshot (counted in `resyncs`). A lost connection is re-opened with capped exponential backoff
(`reconnects`), also with a `BookGapDetected` per instrument since diffs may have been missed.
`BookGapDetected.got_from` is -1: ccxt does not say which update id arrived.

A book without a venue time (Kraken's and Coinbase's snapshots carry none) is never stamped
with our own clock, so `ts_event` stays the venue's: the first one is held until the next diff
brings a time; a resync snapshot gets the venue time of the last book published (it is no
older than that book).
"""
from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import AsyncIterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import ccxt

from libs.common.clock import Clock, LiveClock
from libs.common.errors import ConfigurationError, TrifectaError
from libs.common.events import BookGapDetected, Event, InstrumentsUpdated, OrderBookUpdated
from services.intake.adapters.base import AdapterStats, BadMessage
from services.intake.adapters.ccxt.errors import translate
from services.intake.adapters.ccxt.exchanges import (
    BinancePro,
    BitstampPro,
    CoinbaseExchangePro,
    KrakenPro,
    OkxPro,
    PoloniexPro,
)
from services.intake.adapters.ccxt.parsing import (
    NS_PER_MS,
    BookInvalid,
    BookTracker,
    InstrumentsTracker,
    book_event,
    instruments_event,
    instruments_of,
    symbol_of,
    top_levels,
)
from services.intake.adapters.ccxt.policy import Backoff, rebase_urls
from services.intake.adapters.ccxt.settings import CcxtVenueSettings

logger = logging.getLogger(__name__)

_END = object()  # queue sentinel: close() ends a running stream
_QUEUE_SIZE = 10_000


def _deep_merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(
            out.get(k), Mapping) else v
    return out


class CcxtAdapter:
    """A `VenueAdapter` for any exchange ccxt supports; subclasses set `venue`, `ccxt_class`
    and, in `_has`, only what differs from `_has_default` (freqtrade's `_ft_has`)."""

    venue: ClassVar[str] = ""
    ccxt_class: ClassVar[type[Any]]
    _has_default: ClassVar[Mapping[str, Any]] = MappingProxyType({
        "watch_limit": None,  # `limit` passed to watch_order_book; None = ccxt's default
        "checksum": False,  # the venue sends a book checksum, checked (ChecksumError = bad sum)
        "fetch_currencies": False,  # markets only; currencies are not needed for market data
        "ccxt_options": {},  # deep-merged into ccxt's options
    })
    _has: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def __init__(self, settings: CcxtVenueSettings, clock: Clock | None = None) -> None:
        if settings.venue != self.venue:
            raise ConfigurationError(f"{type(self).__name__} is for {self.venue}, settings are "
                                     f"for {settings.venue}")
        self.settings = settings
        self.clock: Clock = clock or LiveClock()
        self.stats = AdapterStats(extra={"book_updates": 0, "unchanged_tops": 0,
                                         "untimed_books_held": 0, "untimed_books_stamped": 0,
                                         "crossed_books": 0,
                                         "ts_raised": 0, "bad_dropped": 0})
        self._ex: Any = None
        self._markets_loaded = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._queues: list[asyncio.Queue[Any]] = []
        self._instruments = InstrumentsTracker()
        self._books = BookTracker()
        self._last_net_error: BaseException | None = None

    # ---- capabilities ---------------------------------------------------------------------

    @property
    def has(self) -> Mapping[str, Any]:
        """`_has_default` with this venue's `_has` on top."""
        return MappingProxyType(_deep_merge(self._has_default, self._has))

    def _build_exchange(self) -> Any:
        s = self.settings
        config: dict[str, Any] = {
            "enableRateLimit": True,  # ccxt spaces REST calls by the venue's rate limit
            "timeout": s.timeout_ms,
            "options": copy.deepcopy(dict(self.has["ccxt_options"])),
        }
        if s.allow_live and s.api_key is not None and s.api_secret is not None:
            config["apiKey"] = s.api_key.get_secret_value()
            config["secret"] = s.api_secret.get_secret_value()
        ex = self.ccxt_class(config)
        ex.has["fetchCurrencies"] = bool(self.has["fetch_currencies"])
        if s.base_url is not None:
            ex.urls["api"] = rebase_urls(ex.urls["api"], str(s.base_url), ex.implode_hostname)
            if s.base_url.scheme == "http":
                ex.timeout_on_exit = 0  # ccxt waits 250 ms on close for TLS shutdowns; no TLS
        elif s.sandbox:
            try:
                ex.set_sandbox_mode(True)
            except ccxt.BaseError as e:
                raise ConfigurationError(f"{self.venue}: no sandbox in ccxt: {e}") from e
        ex.on_message = self._on_message
        ex.on_bad = self._on_bad
        return ex

    def _error(self, e: BaseException) -> TrifectaError:
        return translate(self.venue, e, self.settings.secrets())

    # ---- VenueAdapter ---------------------------------------------------------------------

    async def start(self) -> None:
        """Create the ccxt instance and load the markets; idempotent."""
        if self._ex is None:
            self._ex = self._build_exchange()
        if not self._markets_loaded:
            await self._load_markets(reload=False)

    async def _load_markets(self, reload: bool) -> None:
        try:
            await self._ex.load_markets(reload)
        except ccxt.BaseError as e:
            if isinstance(e, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
                self.stats.rate_limited += 1
            raise self._error(e) from e
        self._markets_loaded = True

    def _instruments_now(self) -> InstrumentsUpdated:
        infos = instruments_of(self.venue, self._ex.markets.values(), self._ex.precisionMode)
        return instruments_event(self.venue, infos, self.clock.now_ns())

    async def instruments(self) -> InstrumentsUpdated:
        """The venue's spot markets as ccxt loaded them (tick, lot, minimums, fees)."""
        await self.start()
        return self._instruments_now()

    async def instruments_if_changed(self, reload: bool = True) -> InstrumentsUpdated | None:
        """Reload the markets (if `reload`) and return them only if they differ from the last
        ones returned here: publish once at start, then on change."""
        await self.start()
        if reload:
            await self._load_markets(reload=True)
        event = self._instruments_now()
        return event if self._instruments.changed(event.instruments) else None

    async def snapshot(self, iid: str, limit: int | None = None) -> OrderBookUpdated:
        """One REST order book (top `depth`), e.g. to seed a consumer; not part of `stream`.

        ts_event is the venue's time, or ours when the venue's REST book has none (Binance).
        """
        await self.start()
        symbol, market = self._market_of(iid)
        try:
            book = await self._ex.fetch_order_book(symbol, limit)
        except ccxt.BaseError as e:
            raise self._error(e) from e
        where = f"{self.venue} {symbol}"
        ts_ms = book.get("timestamp")
        ts = ts_ms * NS_PER_MS if isinstance(ts_ms, int) and ts_ms > 0 else self.clock.now_ns()
        nonce = book.get("nonce")
        return book_event(
            venue=self.venue, iid=iid, venue_symbol=market["id"], base=market["base"],
            quote=market["quote"], ts_event=ts, ts_init=self.clock.now_ns(),
            bids=top_levels(book["bids"], self.settings.depth, "bids", where),
            asks=top_levels(book["asks"], self.settings.depth, "asks", where),
            sequence=nonce if isinstance(nonce, int) and nonce >= 0 else 0, is_snapshot=True)

    def _market_of(self, iid: str) -> tuple[str, Mapping[str, Any]]:
        symbol = symbol_of(iid, self.venue)
        market = self._ex.markets.get(symbol) if self._ex.markets else None
        if market is None or not market.get("spot"):
            raise ConfigurationError(f"{iid}: {self.venue} has no spot market {symbol!r}")
        return symbol, market

    async def stream(self, instrument_ids: list[str]) -> AsyncIterator[Event | BadMessage]:
        """Order books of `instrument_ids` (and BadMessages) until `close()`.

        Raises ConfigurationError for an unknown instrument, and the translated error when
        ccxt fails in a way a retry cannot fix.
        """
        await self.start()
        targets = [(iid, *self._market_of(iid)) for iid in instrument_ids]
        queue: asyncio.Queue[Any] = asyncio.Queue(_QUEUE_SIZE)
        self._queues.append(queue)
        tasks = [asyncio.create_task(self._watch(iid, symbol, market, queue),
                                     name=f"ccxt-{self.venue}-{iid}")
                 for iid, symbol, market in targets]
        self._tasks.update(tasks)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)
            if queue in self._queues:
                self._queues.remove(queue)

    async def close(self) -> None:
        """Stop the streams and close ccxt's connections; idempotent."""
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        for q in self._queues:
            try:
                q.put_nowait(_END)
            except asyncio.QueueFull:
                pass
        ex, self._ex = self._ex, None
        self._markets_loaded = False
        if ex is not None:
            try:
                await ex.close()
            except Exception as e:  # closing must not fail the caller's shutdown
                logger.warning("%s: closing ccxt failed: %s", self.venue, self._error(e))

    # ---- internals ------------------------------------------------------------------------

    def _on_message(self) -> None:
        self.stats.messages += 1

    def _on_bad(self, payload: str, reason: str) -> None:
        self.stats.bad_messages += 1
        bad = BadMessage(venue=self.venue, reason=reason, payload=payload)
        for q in self._queues:
            try:
                q.put_nowait(bad)
            except asyncio.QueueFull:
                self.stats.extra["bad_dropped"] += 1

    def _gap(self, iid: str, detail: str) -> BookGapDetected:
        now = self.clock.now_ns()
        last_ts = self._books.last_ts(iid)
        self._books.resubscribed(iid)
        return BookGapDetected(ts_event=last_ts if last_ts else now, ts_init=now,
                               instrument_id=iid,
                               expected_from=self._books.last_sequence(iid) + 1, got_from=-1,
                               detail=detail[:500])

    async def _watch(self, iid: str, symbol: str, market: Mapping[str, Any],
                     queue: asyncio.Queue[Any]) -> None:
        s = self.settings
        backoff = Backoff(s.backoff_initial_s, s.backoff_max_s)
        limit = s.watch_limit if s.watch_limit is not None else self.has["watch_limit"]
        self._books.resubscribed(iid)
        while True:
            try:
                book = await self._ex.watch_order_book(symbol, limit)
            except asyncio.CancelledError:
                raise
            except ccxt.InvalidNonce as e:  # includes ChecksumError
                if isinstance(e, ccxt.ChecksumError) and self.has["checksum"]:
                    self.stats.checksum_failures += 1
                    what = "checksum mismatch"
                else:
                    self.stats.gaps += 1
                    what = "sequence gap"
                self.stats.resyncs += 1
                await self._put(queue, self._gap(iid, f"{what}, resubscribing: {self._error(e)}"))
                if backoff.failures:  # the first resync is immediate, repeats back off
                    await asyncio.sleep(backoff.next_delay())
                else:
                    backoff.next_delay()
                continue
            except (ccxt.RateLimitExceeded, ccxt.DDoSProtection):
                self.stats.rate_limited += 1
                await asyncio.sleep(backoff.next_delay())
                continue
            except ccxt.NetworkError as e:
                if e is not self._last_net_error:  # one count per lost connection
                    self._last_net_error = e
                    self.stats.reconnects += 1
                await self._put(queue, self._gap(iid, f"connection lost, reconnecting: "
                                                      f"{self._error(e)}"))
                await asyncio.sleep(backoff.next_delay())
                continue
            except ccxt.BaseError as e:
                await queue.put(self._error(e))
                return
            backoff.reset()
            self.stats.extra["book_updates"] += 1
            out = self._to_event(iid, market, book)
            if out is not None:
                await self._put(queue, out)

    async def _put(self, queue: asyncio.Queue[Any], item: Event | BadMessage) -> None:
        if isinstance(item, Event):
            self.stats.events += 1
        await queue.put(item)

    def _to_event(self, iid: str, market: Mapping[str, Any],
                  book: Mapping[str, Any]) -> OrderBookUpdated | BadMessage | None:
        ts_ms = book.get("timestamp")
        if not isinstance(ts_ms, int) or ts_ms <= 0:
            last_ts = self._books.last_ts(iid)
            if last_ts is None:  # a first snapshot without venue time: wait for a diff
                self.stats.extra["untimed_books_held"] += 1
                return None
            # A resync snapshot without venue time is no older than the last book published:
            # stamp it with that venue time rather than ours.
            self.stats.extra["untimed_books_stamped"] += 1
            ts_ms = last_ts // NS_PER_MS
        where = f"{self.venue} {market['symbol']}"
        depth = self.settings.depth
        try:
            bids = top_levels(book["bids"], depth, "bids", where)
            asks = top_levels(book["asks"], depth, "asks", where)
        except BookInvalid as e:
            self.stats.bad_messages += 1
            payload = json.dumps({"bids": list(book["bids"][:depth]),
                                  "asks": list(book["asks"][:depth])}, default=str)
            return BadMessage(venue=self.venue, reason=str(e), payload=payload[:2_000])
        tracker = self._books
        if not tracker.should_publish(iid, bids, asks):
            self.stats.extra["unchanged_tops"] += 1
            return None
        nonce = book.get("nonce")
        numbered = isinstance(nonce, int) and not isinstance(nonce, bool) and nonce >= 0
        try:
            event = book_event(
                venue=self.venue, iid=iid, venue_symbol=market["id"], base=market["base"],
                quote=market["quote"], bids=bids, asks=asks, ts_event=tracker.stamp(iid, ts_ms),
                ts_init=self.clock.now_ns(), sequence=tracker.sequence(iid, nonce),
                is_snapshot=tracker.is_fresh(iid))
        except BookInvalid:
            self.stats.extra["crossed_books"] += 1
            return None
        tracker.published(event, numbered)
        self.stats.extra["ts_raised"] = tracker.ts_raised
        return event


class BinanceAdapter(CcxtAdapter):
    """Binance spot: snapshot (REST depth, limit 1000) + diffs checked on U/u by ccxt."""

    venue = "BINANCE"
    ccxt_class = BinancePro
    _has = MappingProxyType({"ccxt_options": {"fetchMarkets": {"types": ["spot"]}}})


class KrakenAdapter(CcxtAdapter):
    """Kraken spot, WS v2 `book`: snapshot + updates with the venue's CRC32 checksum."""

    venue = "KRAKEN"
    ccxt_class = KrakenPro
    _has = MappingProxyType({"watch_limit": 1000, "checksum": True,
                             "ccxt_options": {"watchOrderBook": {"checksum": True}}})


class OkxAdapter(CcxtAdapter):
    """OKX spot, `books` channel: snapshot + updates, seqId (ccxt) and checksum checked."""

    venue = "OKX"
    ccxt_class = OkxPro
    _has = MappingProxyType({"checksum": True, "ccxt_options": {
        "fetchMarkets": {"types": ["spot"]}, "watchOrderBook": {"checksum": True}}})


class BitstampAdapter(CcxtAdapter):
    """Bitstamp: `diff_order_book` + REST snapshot ordered by microtimestamp (no sequence)."""

    venue = "BITSTAMP"
    ccxt_class = BitstampPro


class CoinbaseAdapter(CcxtAdapter):
    """Coinbase Exchange (the Coinbase Pro API) `level2`: snapshot + l2update (no sequence)."""

    venue = "COINBASE"
    ccxt_class = CoinbaseExchangePro


class PoloniexAdapter(CcxtAdapter):
    """Poloniex v3 spot `book_lv2`: snapshot + updates checked on lastId/id."""

    venue = "POLONIEX"
    ccxt_class = PoloniexPro


ADAPTERS: Mapping[str, type[CcxtAdapter]] = MappingProxyType({
    cls.venue: cls for cls in (BinanceAdapter, KrakenAdapter, OkxAdapter, BitstampAdapter,
                               CoinbaseAdapter, PoloniexAdapter)
})


def make_adapter(settings: CcxtVenueSettings, clock: Clock | None = None) -> CcxtAdapter:
    """The adapter class of `settings.venue`, built on `settings`."""
    return ADAPTERS[settings.venue](settings, clock)
