"""The live Pocket Option adapter: BinaryOptionsToolsV2 holds the connection, we read the frames.

What the library does here: the websocket (custom URL or the broker's servers), the Engine.IO /
Socket.IO handshake, the `auth` frame, pongs, the `42["ps"]` keep-alive, reconnection and
subscription (`changeSymbol` + `subfor`). What this adapter does: it reads
every frame through the library's raw subscription and parses `updateAssets` and `updateStream`
itself, because the library's own views lose information (its tick stream truncates times to
whole seconds; `active_assets()`/`payouts()` drop inactive assets), and it subscribes again
after a reconnect, which the library 0.2.16 does not do (see `_resubscribe`).

Both library streams are drained all the time: an unread library stream fills its bounded
channel and stalls the whole client (observed with 0.2.16, README.md). Parsed events go to a
bounded queue for `stream()`; when it is full the oldest event is dropped and counted
(`stats.extra["dropped_events"]`).

Gated: the constructor raises ConfigurationError unless `live_enabled` and an ssid are set.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from libs.common.clock import Clock, LiveClock
from libs.common.errors import ConfigurationError, OperationalError, TemporaryError
from libs.common.events import BinaryAssetsUpdated, Event, InstrumentsUpdated
from services.intake.adapters.base import AdapterStats, BadMessage
from services.intake.adapters.pocketoption.client import build_live_client, require_live
from services.intake.adapters.pocketoption.config import PocketOptionLiveSettings
from services.intake.adapters.pocketoption.parsing import (
    VENUE,
    binary_assets_event,
    instrument_id_for,
    instruments_event,
    parse_update_assets,
    parse_update_stream,
    quote_from_tick,
)
from services.intake.adapters.pocketoption.protocol import (
    EngineType,
    EventAssembler,
    Frame,
    ProtocolError,
    SocketEvent,
)
from services.intake.adapters.pocketoption.schemas import AssetRow

logger = logging.getLogger(__name__)

_END = object()  # queue sentinel: the library stream ended or the adapter closed
_CUT = 300
ASSETS_LOAD = '42["assets/load"]'
MAX_LIBRARY_SUBSCRIPTIONS = 4  # BinaryOptionsTools-v2 subscriptions.rs MAX_SUBSCRIPTIONS


def _cut(message: Any) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return text[:_CUT]


class PocketOptionAdapter:
    """Live Pocket Option market data: asset list with payouts, and price ticks as quotes.

    `instruments()` -> InstrumentsUpdated, `assets()` -> BinaryAssetsUpdated (payout %, allowed
    durations, active and OTC flags as the broker sends them), `stream(ids)` -> QuoteTick
    (bid = ask = the broker's single price), BadMessage for frames that fail validation, and a
    BinaryAssetsUpdated whenever a later `updateAssets` changes the list.
    """

    venue = VENUE

    def __init__(self, settings: PocketOptionLiveSettings, *, clock: Clock | None = None) -> None:
        require_live(settings)  # fail at construction, before anything connects
        self._settings = settings
        self._clock: Clock = clock or LiveClock()
        self.stats = AdapterStats()
        self._client: Any = None
        self._assembler = EventAssembler()
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=settings.queue_size)
        self._assets: dict[str, AssetRow] = {}
        self._assets_ts = 0
        self._assets_seen = asyncio.Event()
        self._wanted: set[str] = set()
        self._last_ts: dict[str, int] = {}
        self._pump: asyncio.Task[None] | None = None
        self._drains: dict[str, asyncio.Task[None]] = {}
        self._handshakes = 0
        self._auths = 0
        self._resubscribing: asyncio.Task[None] | None = None
        self._started = False
        self._closed = False
        self._start_lock = asyncio.Lock()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, authenticate and wait for the asset list; idempotent.

        TemporaryError when the broker does not answer in `connect_timeout_s`.
        """
        async with self._start_lock:
            if self._started:
                return
            if self._closed:
                raise OperationalError("Pocket Option adapter is closed")
            self._client = await build_live_client(self._settings)
            try:
                await self._connect()
            except BaseException:
                await self._shutdown_client()
                if self._pump is not None:
                    self._pump.cancel()
                    await asyncio.gather(self._pump, return_exceptions=True)
                    self._pump = None
                raise
            self._started = True

    async def _connect(self) -> None:
        timeout = self._settings.connect_timeout_s
        try:
            raw = await self._client.subscribe_raw()
        except Exception as e:
            raise TemporaryError(f"Pocket Option raw subscription failed: "
                                 f"{type(e).__name__}: {e}") from e
        self._pump = asyncio.create_task(self._run_pump(raw), name="pocketoption-frames")
        try:
            await self._client.wait_for_assets(timeout)
        except Exception as e:
            raise TemporaryError(f"Pocket Option sent no asset list within {timeout} s: "
                                 f"{type(e).__name__}: {e}") from e
        # The library may have parsed updateAssets before our raw subscription existed; asking
        # again is what the browser does on every (re)connect and costs one frame.
        if not await self._wait_assets(0.2):
            await self._client.send_raw(ASSETS_LOAD)
            if not await self._wait_assets(timeout):
                raise TemporaryError(f"no updateAssets frame within {timeout} s")

    async def _wait_assets(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._assets_seen.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop the streams and shut the library client down; idempotent."""
        if self._closed:
            return
        self._closed = True
        for task in self._drains.values():
            task.cancel()
        await self._shutdown_client()
        tasks = [*self._drains.values(), *([self._pump] if self._pump else []),
                 *([self._resubscribing] if self._resubscribing else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._push(_END)

    async def _shutdown_client(self) -> None:
        if self._client is None:
            return
        client, self._client = self._client, None
        try:
            await asyncio.wait_for(client.shutdown(), 10)
        except Exception as e:  # already gone; nothing left to release
            logger.warning("pocketoption shutdown: %s: %s", type(e).__name__, e)

    # ---- metadata --------------------------------------------------------------------------

    async def instruments(self) -> InstrumentsUpdated:
        """The broker's asset list as markets metadata (inactive assets included)."""
        await self.start()
        return instruments_event(list(self._assets.values()), ts_event=self._assets_ts,
                                 ts_init=self._clock.now_ns())

    async def assets(self) -> BinaryAssetsUpdated:
        """Payout %, allowed durations, active and OTC flags of every asset."""
        await self.start()
        return binary_assets_event(self._assets.values(), ts_event=self._assets_ts,
                                   ts_init=self._clock.now_ns())

    def symbol_for(self, iid: str) -> str:
        """The broker symbol of an instrument id from the current asset list."""
        for symbol in self._assets:
            if instrument_id_for(symbol, self.venue) == iid:
                return symbol
        known = sorted(instrument_id_for(s, self.venue) for s in self._assets)
        raise ConfigurationError(f"{iid!r} is not in Pocket Option's asset list; known: {known}")

    # ---- market data -----------------------------------------------------------------------

    async def stream(self, instrument_ids: list[str]) -> AsyncIterator[Event | BadMessage]:
        """Quotes of the given instruments until close(), across reconnects. At most 4
        instruments (the library's subscription limit)."""
        if len(set(instrument_ids)) > MAX_LIBRARY_SUBSCRIPTIONS:
            raise ConfigurationError(f"BinaryOptionsToolsV2 allows {MAX_LIBRARY_SUBSCRIPTIONS} "
                                     f"subscriptions per client; asked for "
                                     f"{len(set(instrument_ids))}")
        await self.start()
        symbols = [self.symbol_for(i) for i in instrument_ids]
        for symbol in symbols:
            await self._subscribe(symbol)
        while True:
            item = await self._queue.get()
            if item is _END:
                self._push(_END)  # leave it for any other reader
                return
            yield item

    async def _subscribe(self, symbol: str, *, again: bool = False) -> None:
        if self._client is None or (symbol in self._drains and not again):
            return
        self._wanted.add(symbol)
        old = self._drains.pop(symbol, None)
        if old is not None:
            old.cancel()
        try:
            subscription = await self._client.subscribe_symbol(symbol)
        except Exception as e:
            if not again:
                self._wanted.discard(symbol)
            raise OperationalError(f"subscribing to {symbol} failed: "
                                   f"{type(e).__name__}: {e}") from e
        self._drains[symbol] = asyncio.create_task(self._drain(subscription),
                                                   name=f"pocketoption-drain-{symbol}")

    async def _resubscribe(self) -> None:
        """Subscribe again after a reconnect.

        BinaryOptionsToolsV2 0.2.16 clears its subscription table when the connection drops
        (`State::clear_temporal_data`) before its reconnect callback re-sends that table, so
        after a reconnect only its default symbol is streamed (observed against the local
        server). The adapter re-subscribes what `stream()` asked for.
        """
        for symbol in sorted(self._wanted):
            try:
                await self._subscribe(symbol, again=True)
                self._count("resubscriptions")
            except OperationalError as e:
                logger.warning("pocketoption resubscribe: %s", e)

    async def _drain(self, subscription: Any) -> None:
        """Read the library's own tick stream so it never blocks the client; count it."""
        extra = self.stats.extra
        try:
            async for _ in subscription:
                extra["library_ticks"] = extra.get("library_ticks", 0) + 1
        except asyncio.CancelledError:
            raise
        except Exception as e:
            logger.warning("pocketoption library tick stream ended: %s: %s",
                           type(e).__name__, e)

    async def _run_pump(self, raw: Any) -> None:
        try:
            async for message in raw:
                self._on_message(message)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            logger.warning("pocketoption raw stream ended: %s: %s", type(e).__name__, e)
        finally:
            self._push(_END)

    def _on_message(self, message: str | bytes) -> None:
        self.stats.messages += 1
        if not message:
            # The library hands websocket control frames (ping/pong) over as empty messages.
            self._count("empty_frames")
            return
        for out in self._assembler.feed(message):
            if isinstance(out, ProtocolError):
                self._bad(str(out), message)
            elif isinstance(out, Frame):
                if out.engine is EngineType.OPEN:
                    self._handshakes += 1
                    if self._handshakes > 1:
                        self.stats.reconnects += 1
            else:
                self._on_event(out, message)

    def _on_event(self, event: SocketEvent, message: str | bytes) -> None:
        payload = event.args[0] if event.args else None
        if event.name == "updateStream":
            ticks, errors = parse_update_stream(payload)
            for reason in errors:
                self._bad(f"updateStream: {reason}", message)
            now = self._clock.now_ns()
            for tick in ticks:
                if tick.symbol not in self._wanted:
                    self._count("unrequested_ticks")
                    continue
                last = self._last_ts.get(tick.symbol, 0)
                if tick.ts_ns < last:
                    self._bad(f"updateStream: {tick.symbol} tick at {tick.ts_ns} is older than "
                              f"the last one ({last}); dropped", message)
                    continue
                self._last_ts[tick.symbol] = tick.ts_ns
                self._emit(quote_from_tick(tick, ts_init=now, venue=self.venue))
        elif event.name == "updateAssets":
            rows, errors = parse_update_assets(payload)
            for reason in errors:
                self._bad(f"updateAssets: {reason}", message)
            if not rows:
                return
            changed = self._assets_seen.is_set() and \
                {r.symbol: r for r in rows} != self._assets
            self._assets = {r.symbol: r for r in rows}
            self._assets_ts = self._clock.now_ns()
            self._assets_seen.set()
            if changed:
                self._emit(binary_assets_event(rows, ts_event=self._assets_ts,
                                               ts_init=self._assets_ts))
        else:
            self._count(f"event:{event.name}")
            if event.name == "successauth":
                self._auths += 1
                if self._auths > 1 and self._wanted and not self._closed:
                    self._resubscribing = asyncio.get_running_loop().create_task(
                        self._resubscribe(), name="pocketoption-resubscribe")

    # ---- queue -----------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self.stats.events += 1
        self._push(event)

    def _bad(self, reason: str, message: str | bytes) -> None:
        self.stats.bad_messages += 1
        self._push(BadMessage(venue=self.venue, reason=reason, payload=_cut(message)))

    def _count(self, key: str) -> None:
        self.stats.extra[key] = self.stats.extra.get(key, 0) + 1

    def _push(self, item: Any) -> None:
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                dropped = self._queue.get_nowait()
                if dropped is _END:  # never lose the end marker
                    self._queue.put_nowait(_END)
                    return
                self._count("dropped_events")
