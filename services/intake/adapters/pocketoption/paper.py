"""The DEMO Pocket Option venue: configured assets, recorded prices, deterministic settlement.

Nothing is random. The asset list, payouts and expiries come from `PaperPocketOptionConfig`;
prices are the recorded forex ticks of `data/recorded/forex/`; an option's entry and close prices
are looked up on the same recorded path by `settlement.py`. `stream()` replays the recorded
bid/ask ticks of the requested assets as QuoteTicks merged in time order, as fast as the reader
takes them (pacing is the replayer's job), and ends when the files end.
"""
from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from libs.common.clock import Clock
from libs.common.enums import InstrumentKind
from libs.common.errors import ConfigurationError, InvalidOrder, OperationalError
from libs.common.events import (
    BinaryAsset,
    BinaryAssetsUpdated,
    Event,
    InstrumentInfo,
    InstrumentsUpdated,
    QuoteTick,
)
from libs.common.identifiers import derived_id
from services.intake.adapters.base import AdapterStats, BadMessage
from services.intake.adapters.pocketoption.config import PaperAsset, PaperPocketOptionConfig
from services.intake.adapters.pocketoption.parsing import VENUE, instrument_id_for, split_symbol
from services.intake.adapters.pocketoption.settlement import (
    Direction,
    OpenedOption,
    OptionRequest,
    OptionSettlement,
    PricePath,
    PricePoint,
    SettlementRules,
    SettlementUnavailable,
    open_option,
    settle_option,
)
from services.intake.adapters.pocketoption.ticks import RecordedTick, read_ticks
from services.intake.adapters.recorded import DEFAULT_DATA_DIR
from services.intake.domain.records import BadLine

_YIELD_EVERY = 500  # hand the loop back this often while replaying


@dataclass(frozen=True, slots=True)
class _Loaded:
    asset: PaperAsset
    items: tuple[RecordedTick | BadLine, ...]
    path: PricePath


def load_asset(asset: PaperAsset, data_dir: Path, config: PaperPocketOptionConfig) -> _Loaded:
    """Read one asset's tick file and build its settlement price path."""
    items = tuple(read_ticks(data_dir / asset.tick_file, asset.tick_format))
    path = PricePath([PricePoint(t.ts_ns, t.price(config.price_source))
                      for t in items if isinstance(t, RecordedTick)])
    return _Loaded(asset, items, path)


class PaperPocketOption:
    """Pocket Option for DEMO runs: the VenueAdapter interface plus paper binary options.

    `open_option` prices the entry at the tick in force `latency_ns` after the request;
    `settle`/`settle_due` price the close at the tick in force at the expiry and return the
    outcome and profit (win +stake x payout%, loss -stake, tie 0).
    """

    venue = VENUE

    def __init__(self, config: PaperPocketOptionConfig | None = None, *, clock: Clock,
                 data_dir: str | Path = DEFAULT_DATA_DIR) -> None:
        self._config = config or PaperPocketOptionConfig()
        self._clock = clock
        self._data_dir = Path(data_dir)
        self._rules = SettlementRules(latency_ns=self._config.latency_ns,
                                      max_quote_age_ns=self._config.max_quote_age_ns)
        self._by_symbol = {a.symbol: a for a in self._config.assets}
        self._loaded: dict[str, _Loaded] = {}
        self._open: dict[str, OpenedOption] = {}
        self._settled: dict[str, OptionSettlement] = {}
        self._seq = 0
        self._closed = False
        self.stats = AdapterStats()

    async def start(self) -> None:
        """Load every configured tick file; idempotent. FileNotFoundError names a missing one."""
        if self._loaded:
            return
        loaded = await asyncio.to_thread(self._load_all)
        self._loaded = loaded

    def _load_all(self) -> dict[str, _Loaded]:
        return {a.symbol: load_asset(a, self._data_dir, self._config) for a in self._config.assets}

    async def close(self) -> None:
        """Stop streams; idempotent. Open options and settlements stay readable."""
        self._closed = True

    # ---- metadata --------------------------------------------------------------------------

    async def instruments(self) -> InstrumentsUpdated:
        now = self._clock.now_ns()
        return InstrumentsUpdated(venue=self.venue, ts_event=now, ts_init=now,
                                  instruments=tuple(self._info(a) for a in self._config.assets))

    async def assets(self) -> BinaryAssetsUpdated:
        """The configured assets with their payouts and expiries."""
        now = self._clock.now_ns()
        return BinaryAssetsUpdated(venue=self.venue, ts_event=now, ts_init=now, assets=tuple(
            BinaryAsset(symbol=a.symbol, name=a.name, payout_pct=a.payout_pct,
                        expiries_s=a.expiries_s, active=a.active, is_otc=a.is_otc)
            for a in self._config.assets))

    def _info(self, asset: PaperAsset) -> InstrumentInfo:
        base, quote, _ = split_symbol(asset.symbol)
        return InstrumentInfo(instrument_id=self.instrument_id(asset.symbol), venue=self.venue,
                              symbol=asset.symbol, base=base, quote=quote,
                              instrument_kind=InstrumentKind.FX if quote else InstrumentKind.SPOT,
                              active=asset.active)

    def instrument_id(self, symbol: str) -> str:
        return instrument_id_for(symbol, self.venue)

    def symbol_for(self, iid: str) -> str:
        for symbol in self._by_symbol:
            if self.instrument_id(symbol) == iid:
                return symbol
        raise ConfigurationError(f"{iid!r} is not a configured Pocket Option paper asset; known: "
                                 f"{[self.instrument_id(s) for s in self._by_symbol]}")

    # ---- market data -----------------------------------------------------------------------

    async def stream(self, instrument_ids: list[str]) -> AsyncIterator[Event | BadMessage]:
        """The recorded ticks of these instruments in time order (ties: the order asked)."""
        symbols = list(dict.fromkeys(self.symbol_for(i) for i in instrument_ids))
        await self.start()
        merged = heapq.merge(*(self._keyed(rank, s) for rank, s in enumerate(symbols)),
                             key=lambda kv: kv[0])
        for n, (_, symbol, item) in enumerate(merged, 1):
            if self._closed:
                return
            self.stats.messages += 1
            if isinstance(item, BadLine):
                self.stats.bad_messages += 1
                yield BadMessage(venue=self.venue, reason=item.describe(), payload=item.text)
            else:
                self.stats.events += 1
                yield QuoteTick(instrument_id=self.instrument_id(symbol), venue=self.venue,
                                symbol=symbol, bid=item.bid, ask=item.ask, ts_event=item.ts_ns,
                                ts_init=self._clock.now_ns())
            if n % _YIELD_EVERY == 0:
                await asyncio.sleep(0)

    def _keyed(self, rank: int, symbol: str,
               ) -> Iterator[tuple[tuple[int, int, int], str, RecordedTick | BadLine]]:
        for item in self._loaded[symbol].items:
            ts = item.ts_ns if isinstance(item, RecordedTick) else item.ts_recv
            yield (ts, rank, item.line_no), symbol, item

    # ---- paper options ---------------------------------------------------------------------

    def price_path(self, symbol: str) -> PricePath:
        """The settlement path of one asset (after start())."""
        if symbol not in self._loaded:
            raise OperationalError(f"{symbol}: prices not loaded; call start() first")
        return self._loaded[symbol].path

    def open_option(self, symbol: str, direction: Direction, stake: Decimal, expiry_s: int, *,
                    requested_ts_ns: int | None = None,
                    option_id: str | None = None) -> OpenedOption:
        """Accept an option and price its entry. InvalidOrder for an unknown or inactive asset,
        an expiry the asset does not offer, a bad stake or no price at the open time.

        `requested_ts_ns` defaults to the clock; `option_id` defaults to a deterministic id.
        """
        asset = self._by_symbol.get(symbol)
        if asset is None:
            raise InvalidOrder(f"unknown Pocket Option paper asset {symbol!r}")
        if not asset.active:
            raise InvalidOrder(f"{symbol} is not active")
        if expiry_s not in asset.expiries_s:
            raise InvalidOrder(f"{symbol} offers expiries {list(asset.expiries_s)} s, "
                               f"not {expiry_s}")
        ts = self._clock.now_ns() if requested_ts_ns is None else requested_ts_ns
        self._seq += 1
        oid = option_id or derived_id("pooption", symbol, direction.value, str(ts), str(stake),
                                      str(expiry_s), str(self._seq))
        if oid in self._open or oid in self._settled:
            raise InvalidOrder(f"option id {oid!r} already used")
        request = OptionRequest(option_id=oid, symbol=symbol, direction=direction,
                                stake=stake, payout_pct=asset.payout_pct, expiry_s=expiry_s,
                                requested_ts_ns=ts)
        opened = open_option(self.price_path(symbol), request, self._rules)
        self._open[oid] = opened
        return opened

    def settle(self, option_id: str) -> OptionSettlement:
        """The settlement of one option (the same object every time once settled).

        SettlementUnavailable while the recorded path does not reach the expiry.
        """
        if option_id in self._settled:
            return self._settled[option_id]
        opened = self._open.get(option_id)
        if opened is None:
            raise InvalidOrder(f"unknown option id {option_id!r}")
        result = settle_option(self.price_path(opened.request.symbol), opened)
        del self._open[option_id]
        self._settled[option_id] = result
        return result

    def settle_due(self, now_ns: int | None = None) -> list[OptionSettlement]:
        """Settle every open option whose expiry is at or before `now_ns` (default: the clock),
        in expiry order; those whose path ends before the expiry stay open."""
        now = self._clock.now_ns() if now_ns is None else now_ns
        due = sorted((o for o in self._open.values() if o.expiry_ts_ns <= now),
                     key=lambda o: (o.expiry_ts_ns, o.request.option_id))
        out: list[OptionSettlement] = []
        for opened in due:
            try:
                out.append(self.settle(opened.request.option_id))
            except SettlementUnavailable:
                continue
        return out

    @property
    def open_options(self) -> tuple[OpenedOption, ...]:
        return tuple(self._open.values())
