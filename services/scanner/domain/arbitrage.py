"""Two-leg cross-venue arbitrage: buy where it is cheap, sell where it is dear, net of fees."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from libs.common.clock import Clock
from libs.common.enums import InstrumentKind, OrderSide
from libs.common.errors import ConfigurationError, ValidationFailed
from libs.common.events.market import (
    BookGapDetected,
    InstrumentInfo,
    InstrumentsUpdated,
    OrderBookUpdated,
)
from libs.common.events.opportunity import ArbitrageOpportunityDetected, OpportunityLeg
from libs.common.identifiers import derived_id
from services.scanner.domain.costs import TransferCosts
from services.scanner.domain.fees import FeeSchedule
from services.scanner.domain.freshness import FreshnessBudget
from services.scanner.domain.vwap import BookWalk, Level, floor_to_step, walk_book, walk_native

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
    transfers: withdrawal fees and rebalancing period (costs.py); Binance-internal is free.
    freshness: per-venue round trip x safety factor (freshness.py); None = no budget, no
        stale filter, ttl_ns 0.
    """

    target_quantity: Mapping[str, Decimal] = field(
        default_factory=lambda: MappingProxyType({"BTC": Decimal("0.01")}))
    min_interval_ns: int = 1_000_000_000
    min_change_bps: Decimal = Decimal(1)
    quote_classes: Mapping[str, str] = field(default_factory=lambda: USD_LIKE)
    strategy: str = STRATEGY
    transfers: TransferCosts = field(default_factory=TransferCosts)
    freshness: FreshnessBudget | None = field(default_factory=FreshnessBudget)

    def __post_init__(self) -> None:
        bad = {b: q for b, q in self.target_quantity.items() if not q > 0}
        if bad:
            raise ConfigurationError(f"arbitrage target_quantity must be > 0, got {bad}")
        if self.min_interval_ns < 0:
            raise ConfigurationError(f"min_interval_ns must be >= 0, got {self.min_interval_ns}")
        if self.min_change_bps < 0:
            raise ConfigurationError(f"min_change_bps must be >= 0, got {self.min_change_bps}")


@dataclass(slots=True)
class ArbitrageStats:
    """Counts of priced pairs that were not emitted, and why."""

    emitted: int = 0
    below_minimum: int = 0  # size under a leg's lot / min quantity / min notional
    stale: int = 0  # oldest quote older than the venues' freshness budget


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
    book.

    Costs and limits (v2): once `on_instruments` has given a market's rules, the size is
    rounded down to its lot (COIN-M: whole contracts) and a pair under a leg's minimum
    quantity or notional is counted (`stats.below_minimum`), not emitted; without rules sizes
    stay unrounded (a 0.01 BTC COIN-M leg is about 6.2 contracts). Withdrawal fees amortised
    over the rebalancing period (`ArbitrageConfig.transfers`) are `transfer_cost`, subtracted
    from net PnL and edge. `ttl_ns` is the freshness budget left (`ArbitrageConfig.freshness`);
    a pair whose oldest quote has used it up is counted (`stats.stale`), not emitted.
    """

    def __init__(self, clock: Clock, fees: FeeSchedule | None = None,
                 config: ArbitrageConfig | None = None) -> None:
        self._clock = clock
        self._fees = fees if fees is not None else FeeSchedule()
        self._config = config if config is not None else ArbitrageConfig()
        self._groups: dict[tuple[str, str], dict[str, _Book]] = {}
        self._group_of: dict[str, tuple[str, str]] = {}
        self._last_emitted: dict[tuple[str, str], tuple[int, Decimal]] = {}
        self._instruments: dict[str, InstrumentInfo] = {}
        self._stats = ArbitrageStats()

    @property
    def stats(self) -> ArbitrageStats:
        """What was emitted and what was held back (below minimum, stale)."""
        return self._stats

    def on_instruments(self, event: InstrumentsUpdated) -> None:
        """Learn a venue's trading rules (lot size, minimums); replaces that venue's previous
        list. Books of instruments without rules are priced unrounded, as before."""
        for iid in [i for i, info in self._instruments.items() if info.venue == event.venue]:
            del self._instruments[iid]
        for info in event.instruments:
            self._instruments[info.instrument_id] = info

    def instrument(self, instrument_id: str) -> InstrumentInfo | None:
        """The trading rules known for `instrument_id`, if any."""
        return self._instruments.get(instrument_id)

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
        b_info = self._instruments.get(b_ev.instrument_id)
        s_info = self._instruments.get(s_ev.instrument_id)
        contracts: dict[str, Decimal] = {}  # INVERSE legs rounded to whole lots of contracts
        if b_info is not None or s_info is not None:
            sized = _executable_size(qty, ((b_info, b_ev, b_ev.asks), (s_info, s_ev, s_ev.bids)),
                                     contracts)
            if sized is None:
                self._stats.below_minimum += 1
                return None
            qty = sized
        if bw.quantity != qty:
            bw = walk_book(b_ev.asks, qty, b_ev.instrument_kind, b_ev.contract_size)
        if sw.quantity != qty:
            sw = walk_book(s_ev.bids, qty, s_ev.instrument_kind, s_ev.contract_size)
        if bw is None or sw is None:
            return None
        gross = sw.notional - bw.notional  # = (sell_vwap - buy_vwap) x qty
        if gross <= 0:
            return None
        if not (_meets_minimum(b_info, bw, contracts.get(b_ev.instrument_id))
                and _meets_minimum(s_info, sw, contracts.get(s_ev.instrument_id))):
            self._stats.below_minimum += 1
            return None
        ts = trigger.ts_event
        age = max(0, ts - min(b_ev.ts_event, s_ev.ts_event))
        ttl = 0
        budget = self._config.freshness
        if budget is not None:
            ttl = budget.ttl_ns((b_ev.venue, s_ev.venue), age)
            if ttl <= 0:
                self._stats.stale += 1
                return None
        buy_fee = buy.taker_rate * bw.notional
        sell_fee = sell.taker_rate * sw.notional
        fees = buy_fee + sell_fee
        transfer = self._config.transfers.per_trade(b_ev.venue, s_ev.venue, b_ev.base,
                                                    s_ev.quote, bw.vwap)
        net = gross - fees - transfer
        notional = bw.notional
        net_bps = net * _BPS / notional

        key = (b_ev.instrument_id, s_ev.instrument_id)
        last = self._last_emitted.get(key)
        if (last is not None and ts - last[0] < self._config.min_interval_ns
                and abs(net_bps - last[1]) <= self._config.min_change_bps):
            return None
        self._last_emitted[key] = (ts, net_bps)
        self._stats.emitted += 1

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
            legs=(_leg(b_ev, OrderSide.BUY, bw, buy.taker_rate, buy_fee,
                       contracts.get(b_ev.instrument_id)),
                  _leg(s_ev, OrderSide.SELL, sw, sell.taker_rate, sell_fee,
                       contracts.get(s_ev.instrument_id))),
            quantity=qty,
            notional=notional,
            gross_pnl=gross.quantize(_PNL_STEP),
            fees=fees.quantize(_PNL_STEP),
            net_pnl=net.quantize(_PNL_STEP),
            gross_edge_bps=(gross * _BPS / notional).quantize(_EDGE_STEP),
            net_edge_bps=net_bps.quantize(_EDGE_STEP),
            oldest_quote_age_ns=age,
            transfer_cost=transfer.quantize(_PNL_STEP),
            ttl_ns=ttl,
        )


def _lot(info: InstrumentInfo) -> Decimal | None:
    if info.instrument_kind is InstrumentKind.INVERSE:
        return info.lot_size if info.lot_size else Decimal(1)  # whole contracts
    return info.lot_size if info.lot_size else None


def _executable_size(qty: Decimal,
                     legs: tuple[tuple[InstrumentInfo | None, OrderBookUpdated,
                                       tuple[Level, ...]], ...],
                     contracts: dict[str, Decimal]) -> Decimal | None:
    """`qty` rounded down so every leg with known rules trades whole lots; None when that
    leaves nothing. INVERSE legs go first: their contracts are rounded down to whole lots and
    what those contracts are worth in base (at the levels they take) caps the size; then the
    size is rounded down to every SPOT/LINEAR lot. An INVERSE leg's whole-contract count goes
    into `contracts`; it may be worth up to one lot of the other leg more than the priced size
    (an unhedged residual that is not priced)."""
    for info, ev, levels in legs:
        if info is None or ev.instrument_kind is not InstrumentKind.INVERSE:
            continue
        lot = _lot(info) or Decimal(1)
        walk = walk_book(levels, qty, ev.instrument_kind, ev.contract_size)
        if walk is None:
            return None
        whole = floor_to_step(walk.native_quantity, lot)
        if whole <= 0:
            return None
        rounded = walk_native(levels, whole, ev.instrument_kind, ev.contract_size)
        if rounded is None:
            return None
        contracts[ev.instrument_id] = whole
        qty = min(qty, rounded.quantity)
    for info, ev, _ in legs:
        if info is None or ev.instrument_kind is InstrumentKind.INVERSE:
            continue
        lot = _lot(info)
        if lot is not None:
            qty = floor_to_step(qty, lot)
    return qty if qty > 0 else None


def _meets_minimum(info: InstrumentInfo | None, walk: BookWalk,
                   contracts: Decimal | None) -> bool:
    """False when the leg is under the venue's minimum quantity (venue units) or notional."""
    if info is None:
        return True
    native = contracts if contracts is not None else walk.native_quantity
    if info.min_quantity is not None and native < info.min_quantity:
        return False
    return info.min_notional is None or walk.notional >= info.min_notional


def _leg(book: OrderBookUpdated, side: OrderSide, walk: BookWalk, rate: Decimal,
         fee: Decimal, contracts: Decimal | None = None) -> OpportunityLeg:
    return OpportunityLeg(
        instrument_id=book.instrument_id,
        side=side,
        quantity=walk.quantity,
        native_quantity=walk.native_quantity if contracts is None else contracts,
        vwap=walk.vwap,
        best_price=walk.best_price,
        fee_rate=rate,
        fee=fee,
        quote_ts=book.ts_event,
        book_sequence=book.sequence,
        levels_used=walk.levels_used,
    )
