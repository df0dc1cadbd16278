"""`Mt5Adapter`: forex quotes and bars from a MetaTrader 5 terminal, as a VenueAdapter.

MT5 has no push API for Python, so the adapter polls, per symbol and per `poll_interval_s`:
1. `copy_rates_from_pos(symbol, timeframe, 0, lookback + 1)`: the rows before the last are
   closed bars, published once each as `BarClosed` (ask side derived from `spread`, see
   `parsing`); the last row is the bar still forming.
2. ticks, by `tick_source`: "range" asks `copy_ticks_range` from the last tick seen (nothing
   is lost between polls or across a reconnect; the first poll starts from
   `symbol_info_tick`), "last" only reads `symbol_info_tick` (lighter, skips ticks between
   polls). Each becomes a `QuoteTick` stamped from `time_msc`.
Ticks at or after the forming bar's close wait for the next poll, and each poll's events are
put in time order, so per instrument `ts_event` never goes back.

When the terminal goes away (an IPC `last_error()`, or the mt5linux connection breaks) the
stream re-initializes with exponential backoff and goes on from where it was.
"""
from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from libs.common.clock import Clock, LiveClock
from libs.common.errors import (
    ConfigurationError,
    OperationalError,
    TemporaryError,
    ValidationFailed,
)
from libs.common.events import BarClosed, Event, InstrumentInfo, InstrumentsUpdated, QuoteTick
from libs.common.identifiers import instrument_id
from services.intake.adapters.base import AdapterStats, BadMessage
from services.intake.adapters.mt5 import schemas as S
from services.intake.adapters.mt5.client import Mt5Client
from services.intake.adapters.mt5.config import Mt5Settings
from services.intake.adapters.mt5.parsing import (
    SymbolMeta,
    TickCursor,
    forming_bar_close_msc,
    parse_rates,
    parse_symbol_info,
    parse_tick,
    parse_ticks,
    server_zone,
    utc_ms_to_server_datetime,
)

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MS = 86_400_000


@dataclass
class _SymbolState:
    meta: SymbolMeta
    cursor: TickCursor | None = None
    last_bar_time: int | None = None  # server-time seconds of the newest published bar


class Mt5Adapter:
    """VenueAdapter over the MetaTrader5 package API (or anything with the same functions).

    `mt5` is the `MetaTrader5` module on Windows, an mt5linux `MetaTrader5(host, port)` client
    on Linux, or the fake terminal in tests; it is never imported here. `reopen`, if given,
    builds a fresh handle after the transport broke (mt5linux); with `mt5=None` the first
    `start()` builds it. Prefer `Mt5Adapter.from_settings(settings)`.
    """

    def __init__(self, mt5: Any | None, settings: Mt5Settings | None = None, *,
                 clock: Clock | None = None, reopen: Callable[[], Any] | None = None) -> None:
        self.settings = settings or Mt5Settings()
        self.venue = self.settings.venue
        self.stats = AdapterStats()
        self.rejected: list[BadMessage] = []  # symbols instruments() could not use
        self._clock = clock or LiveClock()
        self._client = Mt5Client(mt5, reopen=reopen)
        self._zone = server_zone(self.settings.server_timezone)
        tf = self.settings.bar_timeframe
        self._tf: tuple[int, int] | None = S.TIMEFRAMES[tf] if tf else None
        self._metas: dict[str, SymbolMeta] = {}
        self._connected = False
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Mt5Settings, *, clock: Clock | None = None) -> Mt5Adapter:
        """The adapter for `settings.backend`; ConfigurationError unless `settings.enabled`.

        "native" imports MetaTrader5 now (Windows only); "mt5linux" connects to the mt5linux
        server on `mt5linux_host:mt5linux_port` at `start()`.
        """
        if not settings.enabled:
            raise ConfigurationError(
                "MT5 is off: set TRIFECTA_MT5_ENABLED=true to connect to a terminal")
        if settings.backend == "native":
            try:
                mt5 = importlib.import_module("MetaTrader5")
            except ImportError as e:
                raise ConfigurationError(
                    "TRIFECTA_MT5_BACKEND=native needs the MetaTrader5 package, which exists "
                    "for Windows only (pip install MetaTrader5); on Linux run the terminal "
                    "under Wine and use TRIFECTA_MT5_BACKEND=mt5linux") from e
            return cls(mt5, settings, clock=clock)
        try:
            bridge = importlib.import_module("mt5linux")
        except ImportError as e:
            raise ConfigurationError(
                "TRIFECTA_MT5_BACKEND=mt5linux needs: pip install 'mt5linux<1'") from e
        host, port = settings.mt5linux_host, settings.mt5linux_port
        return cls(None, settings, clock=clock,
                   reopen=lambda: bridge.MetaTrader5(host=host, port=port))

    # -- VenueAdapter -------------------------------------------------------------------------
    async def start(self) -> None:
        """Attach to the terminal (logging in when a login is set), retrying with backoff."""
        if not self._connected:
            await self._connect(reconnect=False)

    async def instruments(self) -> InstrumentsUpdated:
        """The configured symbols (or all of the broker's) as InstrumentInfo, from symbol_info.

        A symbol whose spec cannot be read is left out, counted in `stats.bad_messages` and
        kept in `rejected` with the reason. An unknown configured symbol is a
        ConfigurationError.
        """
        await self.start()
        try:
            infos = await self._symbol_infos()
        except TemporaryError:
            await self._connect(reconnect=True)
            infos = await self._symbol_infos()
        found: list[InstrumentInfo] = []
        metas: dict[str, SymbolMeta] = {}
        for info in infos:
            try:
                inst, meta = parse_symbol_info(info, self.venue)
            except ValidationFailed as e:
                self.stats.bad_messages += 1
                self.rejected.append(BadMessage(self.venue, str(e), repr(info)[:300]))
                continue
            if inst.instrument_id in metas:  # EURUSD and EURUSD.pro: the second keeps its name
                iid = instrument_id(meta.symbol, self.venue)
                inst = inst.model_copy(update={"instrument_id": iid})
                meta = SymbolMeta(meta.symbol, iid, meta.base, meta.quote, meta.digits,
                                  meta.point)
            metas[inst.instrument_id] = meta
            found.append(inst)
        self._metas = metas
        return InstrumentsUpdated(ts_event=self._clock.now_ns(), venue=self.venue,
                                  instruments=tuple(found))

    async def stream(self, instrument_ids: list[str]) -> AsyncIterator[Event | BadMessage]:
        """Quotes and closed bars of `instrument_ids` until `close()`, reconnecting on its own.

        Ends with ConfigurationError (unknown instrument, credentials refused) or
        OperationalError (terminal unreachable after `reconnect_max_attempts`).
        """
        await self.start()
        if not self._metas:
            await self.instruments()
        unknown = [i for i in instrument_ids if i not in self._metas]
        if unknown:
            raise ConfigurationError(f"{self.venue}: unknown instruments {unknown}; known: "
                                     f"{sorted(self._metas)}")
        states = [_SymbolState(self._metas[i]) for i in instrument_ids]
        selected = False
        lost: TemporaryError | None = None
        while not self._closed:
            try:
                if lost is not None:
                    logger.warning("%s: terminal lost (%s); reconnecting", self.venue, lost)
                    await self._connect(reconnect=True)
                    lost, selected = None, False
                if not selected:
                    for st in states:
                        await self._client.symbol_select(st.meta.symbol)
                    selected = True
                for st in states:
                    for item in await self._poll(st):
                        yield item
                await asyncio.sleep(self.settings.poll_interval_s)
            except TemporaryError as e:
                lost = e
            except OperationalError:
                if self._closed:  # close() from another task while a call was in flight
                    return
                raise

    async def close(self) -> None:
        """Detach from the terminal and stop the worker thread; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._connected:
            await self._client.shutdown()
        self._connected = False
        await self._client.close()

    # -- connection ---------------------------------------------------------------------------
    async def _connect(self, *, reconnect: bool) -> None:
        s = self.settings
        delay = s.reconnect_initial_s
        attempt = 0
        while True:
            if self._closed:
                raise OperationalError(f"{self.venue}: adapter closed")
            try:
                if reconnect or attempt:
                    await self._client.shutdown()
                await self._client.initialize(path=s.terminal_path, login=s.login,
                                              password=s.password, server=s.server,
                                              timeout_ms=s.timeout_ms)
            except TemporaryError as e:
                attempt += 1
                if s.reconnect_max_attempts and attempt >= s.reconnect_max_attempts:
                    raise OperationalError(f"{self.venue}: terminal unreachable after "
                                           f"{attempt} attempts: {e}") from e
                logger.warning("%s: initialize failed (%s); retry in %.2fs", self.venue, e,
                               delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, s.reconnect_max_s)
                continue
            self._connected = True
            if reconnect:
                self.stats.reconnects += 1
            return

    async def _symbol_infos(self) -> list[Any]:
        if self.settings.symbols:
            return [await self._client.symbol_info(sym) for sym in self.settings.symbols]
        return list(await self._client.symbols_get())

    # -- polling ------------------------------------------------------------------------------
    async def _poll(self, st: _SymbolState) -> list[Event | BadMessage]:
        ts_init = self._clock.now_ns()
        items: list[Event | BadMessage] = []
        horizon: int | None = None
        if self._tf is not None:
            tf, tf_s = self._tf
            rows = await self._client.copy_rates_from_pos(st.meta.symbol, tf, 0,
                                                          self.settings.bar_lookback + 1)
            if rows is not None and len(rows):
                bars, st.last_bar_time, gap = parse_rates(
                    rows, st.meta, st.last_bar_time, initial=self.settings.initial_bars,
                    timeframe_s=tf_s, zone=self._zone, ts_init=ts_init, venue=self.venue)
                self.stats.messages += len(bars)
                self.stats.gaps += int(gap)
                horizon = forming_bar_close_msc(rows, tf_s)
                items.extend(bars)
        if self.settings.tick_source == "range" and st.cursor is not None:
            items.extend(await self._ticks_range(st, horizon, ts_init))
        else:
            items.extend(await self._last_tick(st, horizon, ts_init))
        events = sorted((i for i in items if not isinstance(i, BadMessage)),
                        key=lambda e: e.ts_event)
        bad = [i for i in items if isinstance(i, BadMessage)]
        self._count(events, bad)
        return [*events, *bad]

    async def _ticks_range(self, st: _SymbolState, horizon: int | None, ts_init: int,
                           ) -> list[QuoteTick | BadMessage]:
        assert st.cursor is not None
        date_from = _EPOCH + timedelta(milliseconds=st.cursor.last_msc)  # server time as-is
        date_to = utc_ms_to_server_datetime(
            max(self._clock.now_ns() // 1_000_000, st.cursor.last_msc) + _DAY_MS, self._zone)
        rows = await self._client.copy_ticks_range(st.meta.symbol, date_from, date_to,
                                                   S.COPY_TICKS_ALL)
        if rows is None:
            return []
        self.stats.messages += len(rows)
        out, st.cursor = parse_ticks(rows, st.meta, st.cursor, horizon_msc=horizon,
                                     zone=self._zone, ts_init=ts_init, venue=self.venue)
        return out

    async def _last_tick(self, st: _SymbolState, horizon: int | None, ts_init: int,
                         ) -> list[QuoteTick | BadMessage]:
        tick = await self._client.symbol_info_tick(st.meta.symbol)
        try:
            msc = int(tick.time_msc)
            bid, ask = tick.bid, tick.ask
        except (AttributeError, TypeError, ValueError) as e:
            return [BadMessage(self.venue, f"{st.meta.symbol}: unreadable tick: {e}",
                               repr(tick)[:300])]
        if msc <= 0 or (horizon is not None and msc >= horizon):
            return []  # no quote yet, or one that belongs after a bar still forming
        if st.cursor is not None and msc <= st.cursor.last_msc:
            return []  # the same tick as last poll
        self.stats.messages += 1
        st.cursor = TickCursor(msc, 1)
        try:
            return [parse_tick(st.meta, time_msc=msc, bid=bid, ask=ask, zone=self._zone,
                               ts_init=ts_init, venue=self.venue)]
        except ValidationFailed as e:
            return [BadMessage(self.venue, str(e), repr(tick)[:300])]

    def _count(self, events: list[Event], bad: list[BadMessage]) -> None:
        self.stats.events += len(events)
        self.stats.bad_messages += len(bad)
        extra = self.stats.extra
        extra["polls"] = extra.get("polls", 0) + 1
        for e in events:
            if isinstance(e, QuoteTick) and e.ask < e.bid:
                extra["quotes_crossed"] = extra.get("quotes_crossed", 0) + 1
            elif isinstance(e, BarClosed) and e.ask_close < e.bid_close:
                extra["bars_crossed"] = extra.get("bars_crossed", 0) + 1
