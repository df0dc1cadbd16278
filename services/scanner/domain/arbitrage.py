"""Two-leg cross-venue arbitrage: buy where it is cheap, sell where it is dear, net of fees."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from libs.common.clock import Clock
from libs.common.enums import InstrumentKind, OrderSide
from libs.common.errors import ConfigurationError, ValidationFailed
from libs.common.events.market import BookGapDetected, OrderBookUpdated
from libs.common.events.opportunity import ArbitrageOpportunityDetected, OpportunityLeg
from libs.common.identifiers import derived_id
from services.scanner.domain.fees import FeeSchedule
from services.scanner.domain.vwap import BookWalk, Level, walk_book

STRATEGY = "cross_venue_2leg"

# Quotes treated as one currency. USDT is not USD (it can de-peg), so this is an approximation.
USD_LIKE: Mapping[str, str] = MappingProxyType({"USD": "USD", "USDT": "USD"})

_BPS = Decimal(10_000)
_EDGE_STEP = Decimal("0.0001")  # bps on the wire: 4 decimals
_PNL_STEP = Decimal("0.00000001")  # quote units on the wire: 8 decimals


@dataclass(frozen=True, slots=True)
class ArbitrageConfig:
    """Settings of `CrossVenueArbitrage`.

    target_quantity: base asset -> base units to price each pair for (bases not listed are not
        scanned). 0.01 BTC is about 620 USD at the recorded prices: above every Binance minimum
        notional and a handful of COIN-M contracts.
    min_interval_ns: re-emit a still-open pair after this much event time ...
    min_change_bps: ... or sooner when its net edge moved by more than this.
    quote_classes: quote currency -> class; books of one base and one class are compared.
    """

    target_quantity: Mapping[str, Decimal] = field(
        default_factory=lambda: MappingProxyType({"BTC": Decimal("0.01")}))
    min_interval_ns: int = 1_000_000_000
    min_change_bps: Decimal = Decimal(1)
    quote_classes: Mapping[str, str] = field(default_factory=lambda: USD_LIKE)
    strategy: str = STRATEGY

    def __post_init__(self) -> None:
        bad = {b: q for b, q in self.target_quantity.items() if not q > 0}
        if bad:
            raise ConfigurationError(f"arbitrage target_quantity must be > 0, got {bad}")
        if self.min_interval_ns < 0:
            raise ConfigurationError(f"min_interval_ns must be >= 0, got {self.min_interval_ns}")
        if self.min_change_bps < 0:
            raise ConfigurationError(f"min_change_bps must be >= 0, got {self.min_change_bps}")


@dataclass(slots=True)
class _Book:
    """The latest book of one instrument and its walks for the target quantity."""

    event: OrderBookUpdated
    taker_rate: Decimal
    tradable: bool  # both sides present and best bid < best ask
    buy: BookWalk | None = None  # asks walked for `target`
    sell: BookWalk | None = None  # bids walked for `target`


def _reuse_or_walk(prev_levels: tuple[Level, ...], prev: BookWalk | None,
                   levels: tuple[Level, ...], target: Decimal, book: OrderBookUpdated,
                   ) -> BookWalk | None:
    # A walk only reads the levels it used (all of them when depth ran out): if those are
    # unchanged, so is the walk. Most diffs touch levels below the few a small order takes.
    if prev is not None:
        if prev.depth_exhausted:
            if levels == prev_levels:
                return prev
        elif levels[:prev.levels_used] == prev_levels[:prev.levels_used]:
            return prev
    return walk_book(levels, target, book.instrument_kind, book.contract_size)


class CrossVenueArbitrage:
    """Keeps the latest book per instrument and prices every buy-here/sell-there pair.

    Books are grouped by base asset and quote class: USDT and USD count as one quote (see
    `USD_LIKE`). That is an approximation: USDT/USD basis, perpetual funding, margin, and the
    fact that an inverse (COIN-M) position settles its PnL in the base coin are not modelled.

    On each book update only the pairs that include the updated instrument are re-priced (the
    others have not changed). For each ordered pair (buy on A, sell on B) the size is the
    configured target capped by the depth of A's asks and B's bids; both legs are walked at
    that size and charged taker fees. A pair is emitted when its gross edge is positive and it
    was not emitted in the last `min_interval_ns` of event time or its net edge moved by more
    than `min_change_bps` since it last was. Near misses (gross > 0, net < 0) are emitted:
    the risk gate filters on net edge. Nothing is priced against a crossed, locked or empty
    book. Sizes are not rounded to lot sizes: COIN-M trades whole contracts, and a 0.01 BTC
    leg there is about 6.2 of them (`native_quantity` carries the fraction).
    """

    def __init__(self, clock: Clock, fees: FeeSchedule | None = None,
                 config: ArbitrageConfig | None = None) -> None:
        self._clock = clock
        self._fees = fees if fees is not None else FeeSchedule()
        self._config = config if config is not None else ArbitrageConfig()
        self._groups: dict[tuple[str, str], dict[str, _Book]] = {}
        self._group_of: dict[str, tuple[str, str]] = {}
        self._last_emitted: dict[tuple[str, str], tuple[int, Decimal]] = {}

    @property
    def config(self) -> ArbitrageConfig:
        """The settings in force."""
        return self._config

    def latest_book(self, instrument_id: str) -> OrderBookUpdated | None:
        """The book last accepted for `instrument_id`, if any."""
        group = self._group_of.get(instrument_id)
        book = self._groups[group].get(instrument_id) if group is not None else None
        return book.event if book is not None else None

    def discard(self, instrument_id: str) -> None:
        """Forget an instrument's book (it can no longer be trusted) until the next one."""
        group = self._group_of.get(instrument_id)
        if group is not None:
            self._groups[group].pop(instrument_id, None)

    def on_gap(self, gap: BookGapDetected) -> None:
        """A sequence gap makes the last book unreliable: stop pricing against it."""
        self.discard(gap.instrument_id)

    def on_book(self, book: OrderBookUpdated) -> list[ArbitrageOpportunityDetected]:
        """Store `book` and return the opportunities it opens, best net edge first."""
        cfg = self._config
        target = cfg.target_quantity.get(book.base)
        if target is None:
            return []
        if book.instrument_kind is InstrumentKind.INVERSE and not book.contract_size:
            raise ValidationFailed(f"{book.instrument_id}: INVERSE book without contract_size")
        group_key = (book.base, cfg.quote_classes.get(book.quote, book.quote))
        group = self._groups.setdefault(group_key, {})
        prev = group.get(book.instrument_id)
        if prev is not None and book.sequence < prev.event.sequence:
            return []  # an older book delivered late (or again): keep the newer one
        self._group_of[book.instrument_id] = group_key

        tradable = bool(book.bids) and bool(book.asks) and book.bids[0][0] < book.asks[0][0]
        state = _Book(event=book, tradable=tradable,
                      taker_rate=self._fees.rate(book.venue, "taker"))
        group[book.instrument_id] = state
        if not tradable:
            return []
        if prev is not None and prev.tradable:
            state.buy = _reuse_or_walk(prev.event.asks, prev.buy, book.asks, target, book)
            state.sell = _reuse_or_walk(prev.event.bids, prev.sell, book.bids, target, book)
        else:
            state.buy = walk_book(book.asks, target, book.instrument_kind, book.contract_size)
            state.sell = walk_book(book.bids, target, book.instrument_kind, book.contract_size)

        found: list[ArbitrageOpportunityDetected] = []
        for other_id, other in group.items():
            if other_id == book.instrument_id or not other.tradable:
                continue
            for buy, sell in ((state, other), (other, state)):
                opp = self._price(buy, sell, book)
                if opp is not None:
                    found.append(opp)
        found.sort(key=lambda o: o.net_edge_bps, reverse=True)
        return found

    def _price(self, buy: _Book, sell: _Book, trigger: OrderBookUpdated,
               ) -> ArbitrageOpportunityDetected | None:
        bw, sw = buy.buy, sell.sell
        if bw is None or sw is None:
            return None
        # sell VWAP <= best bid and buy VWAP >= best ask: no walk can beat the touch.
        if sw.best_price <= bw.best_price:
            return None
        qty = min(bw.quantity, sw.quantity)
        b_ev, s_ev = buy.event, sell.event
        if bw.quantity != qty:
            bw = walk_book(b_ev.asks, qty, b_ev.instrument_kind, b_ev.contract_size)
        if sw.quantity != qty:
            sw = walk_book(s_ev.bids, qty, s_ev.instrument_kind, s_ev.contract_size)
        if bw is None or sw is None:
            return None
        gross = sw.notional - bw.notional  # = (sell_vwap - buy_vwap) x qty
        if gross <= 0:
            return None
        buy_fee = buy.taker_rate * bw.notional
        sell_fee = sell.taker_rate * sw.notional
        fees = buy_fee + sell_fee
        net = gross - fees
        notional = bw.notional
        net_bps = net * _BPS / notional

        ts = trigger.ts_event
        key = (b_ev.instrument_id, s_ev.instrument_id)
        last = self._last_emitted.get(key)
        if (last is not None and ts - last[0] < self._config.min_interval_ns
                and abs(net_bps - last[1]) <= self._config.min_change_bps):
            return None
        self._last_emitted[key] = (ts, net_bps)

        strategy = self._config.strategy
        return ArbitrageOpportunityDetected(
            ts_event=ts,
            ts_init=self._clock.now_ns(),
            **trigger.caused(),
            opportunity_id=derived_id("opp", strategy, b_ev.instrument_id, s_ev.instrument_id,
                                      str(b_ev.sequence), str(s_ev.sequence)),
            strategy=strategy,
            base=b_ev.base,
            quote=b_ev.quote if b_ev.quote == s_ev.quote
            else self._config.quote_classes.get(b_ev.quote, b_ev.quote),
            legs=(_leg(b_ev, OrderSide.BUY, bw, buy.taker_rate, buy_fee),
                  _leg(s_ev, OrderSide.SELL, sw, sell.taker_rate, sell_fee)),
            quantity=qty,
            notional=notional,
            gross_pnl=gross.quantize(_PNL_STEP),
            fees=fees.quantize(_PNL_STEP),
            net_pnl=net.quantize(_PNL_STEP),
            gross_edge_bps=(gross * _BPS / notional).quantize(_EDGE_STEP),
            net_edge_bps=net_bps.quantize(_EDGE_STEP),
            oldest_quote_age_ns=max(0, ts - min(b_ev.ts_event, s_ev.ts_event)),
        )


def _leg(book: OrderBookUpdated, side: OrderSide, walk: BookWalk, rate: Decimal,
         fee: Decimal) -> OpportunityLeg:
    return OpportunityLeg(
        instrument_id=book.instrument_id,
        side=side,
        quantity=walk.quantity,
        native_quantity=walk.native_quantity,
        vwap=walk.vwap,
        best_price=walk.best_price,
        fee_rate=rate,
        fee=fee,
        quote_ts=book.ts_event,
        book_sequence=book.sequence,
    )
