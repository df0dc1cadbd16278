"""Multi-hop arbitrage: 3- and 4-leg currency cycles over spot books, net of taker fees. Pure.

`MultiHopArbitrage` keeps the latest book of every spot market in its market set, feeds each
book's top to the incremental cycle search (cycles.py), and depth-checks the best few cycles
that the changed book makes positive at the touch: it walks every leg's book for a start
amount, with VWAP, taker fees and the venue's lot size and minimums, and emits what it finds
as `ArbitrageOpportunityDetected` (route THREE_HOP or FOUR_HOP, one leg per hop).

Money flow of a cycle (`walk_cycle`): the start amount is spent by the first hop; each hop
spends what the previous one received:
- SELL hop (BASE -> QUOTE): sells its input rounded down to the lot size, walking the bids;
  receives notional x (1 - fee);
- BUY hop (QUOTE -> BASE): buys the largest lot-rounded base quantity whose ask walk costs no
  more than its input; receives quantity x (1 - fee).
The fee is taken from what the hop receives (Binance spot without BNB); in the hop market's
quote units it is fee rate x notional, which is what each leg's `fee` reports.

What lot rounding leaves unspent (dust) stays in that hop's input currency, as inventory. The
PnL marks it to the start currency at the rates the rest of the walk actually got (its hops'
received / spent), so a coarse lot does not read as a loss of up to one lot per hop;
`CycleCheck.delivered_pnl` is the conservative figure that counts only what comes back.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, localcontext
from types import MappingProxyType

import numpy as np

from libs.common.clock import Clock
from libs.common.enums import InstrumentKind, OrderSide, RouteType
from libs.common.errors import ConfigurationError, ValidationFailed
from libs.common.events.market import (
    BookGapDetected,
    InstrumentInfo,
    InstrumentsUpdated,
    OrderBookUpdated,
)
from libs.common.events.opportunity import ArbitrageOpportunityDetected, OpportunityLeg
from libs.common.identifiers import derived_id
from services.scanner.domain.cycles import CYCLE_LENGTHS, CycleSearch
from services.scanner.domain.fees import FeeSchedule
from services.scanner.domain.graph import RateGraph, edge_side, markets_from_infos
from services.scanner.domain.vwap import Level, walk_book

STRATEGY = "multi_hop_cycle"

_ZERO = Decimal(0)
_ONE = Decimal(1)
_BPS = Decimal(10_000)
_EDGE_STEP = Decimal("0.0001")  # bps on the wire: 4 decimals
_PNL_STEP = Decimal("0.00000001")  # start-currency units on the wire: 8 decimals
_ROUTES = {3: RouteType.THREE_HOP, 4: RouteType.FOUR_HOP}


# ---- depth check (pure functions on book levels) -------------------------------------------


@dataclass(frozen=True, slots=True)
class Hop:
    """One leg of a cycle: the book side it takes and the venue's rounding rules.

    BUY spends quote for base and walks `levels` = asks; SELL spends base for quote and walks
    `levels` = bids (best first, sizes in base units: spot only).
    """

    instrument_id: str
    side: OrderSide
    levels: tuple[Level, ...]
    taker_rate: Decimal
    lot_size: Decimal | None = None
    min_quantity: Decimal | None = None
    min_notional: Decimal | None = None

    @classmethod
    def from_book(cls, book: OrderBookUpdated, side: OrderSide, taker_rate: Decimal,
                  info: InstrumentInfo | None = None) -> Hop:
        """The hop that takes `book` on `side`, with `info`'s lot size and minimums."""
        return cls(book.instrument_id, side, book.asks if side is OrderSide.BUY else book.bids,
                   taker_rate, info.lot_size if info else None,
                   info.min_quantity if info else None, info.min_notional if info else None)


@dataclass(frozen=True, slots=True)
class HopFill:
    """What one hop spends, trades and receives. `quantity` in base units, `notional` and
    `fee` in the hop market's quote units, `amount_in`/`amount_out` in the hop's input/output
    currency."""

    instrument_id: str
    side: OrderSide
    amount_in: Decimal
    quantity: Decimal
    notional: Decimal
    vwap: Decimal
    best_price: Decimal
    fee: Decimal
    amount_out: Decimal
    residual: Decimal  # input left unspent by lot rounding


@dataclass(frozen=True, slots=True)
class CycleWalk:
    """One pass through a cycle's books for one start amount.

    The walk stops at the first hop that cannot be done: `short_hop` when its book held less
    than its input (`capacity_ratio` = what the book could take / the input), `below_minimum`
    when its lot-rounded size is zero or under the venue's minimum quantity or notional.
    `final_amount` is 0 then.
    """

    start_amount: Decimal  # what the first hop actually spent
    final_amount: Decimal  # what the last hop received, in the start currency
    fills: tuple[HopFill, ...]
    residual_value: Decimal = _ZERO  # later hops' dust, marked to the start currency
    short_hop: int | None = None
    capacity_ratio: Decimal = _ONE
    below_minimum: int | None = None

    @property
    def complete(self) -> bool:
        """True when every hop could be done."""
        return self.short_hop is None and self.below_minimum is None


def _round_down(x: Decimal, step: Decimal | None) -> Decimal:
    if step is None or step <= 0:
        return x
    return (x / step).to_integral_value(ROUND_DOWN) * step


def _buy_quantity(levels: Sequence[Level], budget: Decimal) -> tuple[Decimal, Decimal]:
    """(base quantity the asks sell for at most `budget`, total ask notional)."""
    remaining = budget
    qty = _ZERO
    total = _ZERO
    for price, size in levels:
        cost = price * size
        total += cost
        if remaining > 0:
            if cost >= remaining:
                with localcontext() as ctx:  # never buy a hair more than the budget
                    ctx.rounding = ROUND_DOWN
                    qty += remaining / price
                remaining = _ZERO
            else:
                qty += size
                remaining -= cost
    return qty, total


def walk_cycle(hops: Sequence[Hop], start_amount: Decimal, *, with_fees: bool = True,
               ) -> CycleWalk:
    """Spend `start_amount` of the first hop's input currency through every hop in order."""
    if start_amount <= 0:
        raise ValueError(f"start amount must be positive, got {start_amount}")
    amount = start_amount
    spent_first = _ZERO
    fills: list[HopFill] = []
    for i, hop in enumerate(hops):
        rate = hop.taker_rate if with_fees else _ZERO
        if not hop.levels:
            return CycleWalk(spent_first, _ZERO, tuple(fills), short_hop=i, capacity_ratio=_ZERO)
        if hop.side is OrderSide.SELL:
            capacity = sum((s for _, s in hop.levels), _ZERO)
            if amount > capacity:
                return CycleWalk(spent_first, _ZERO, tuple(fills), short_hop=i,
                                 capacity_ratio=capacity / amount)
            qty = _round_down(amount, hop.lot_size)
        else:
            raw_qty, capacity = _buy_quantity(hop.levels, amount)
            if amount > capacity:
                return CycleWalk(spent_first, _ZERO, tuple(fills), short_hop=i,
                                 capacity_ratio=capacity / amount)
            qty = _round_down(raw_qty, hop.lot_size)
        if qty <= 0 or (hop.min_quantity is not None and qty < hop.min_quantity):
            return CycleWalk(spent_first, _ZERO, tuple(fills), below_minimum=i)
        walk = walk_book(hop.levels, qty, InstrumentKind.SPOT)
        if walk is None or walk.depth_exhausted:  # unreachable after the capacity check
            return CycleWalk(spent_first, _ZERO, tuple(fills), short_hop=i, capacity_ratio=_ZERO)
        notional = walk.notional
        if hop.min_notional is not None and notional < hop.min_notional:
            return CycleWalk(spent_first, _ZERO, tuple(fills), below_minimum=i)
        if hop.side is OrderSide.SELL:
            spent, out = qty, notional * (1 - rate)
        else:
            spent, out = notional, qty * (1 - rate)
        if i == 0:
            spent_first = spent
        fills.append(HopFill(hop.instrument_id, hop.side, amount, qty, notional, walk.vwap,
                             walk.best_price, rate * notional, out, amount - spent))
        amount = out
    # Dust of hop i (i >= 1; the first hop's is simply not spent) is worth what hops i.. would
    # turn it into at the rates they got.
    marked = _ZERO
    factor = _ONE
    for i in range(len(fills) - 1, 0, -1):
        f = fills[i]
        factor *= f.amount_out / (f.amount_in - f.residual)
        marked += f.residual * factor
    return CycleWalk(spent_first, amount, tuple(fills), residual_value=marked)


@dataclass(frozen=True, slots=True)
class CycleCheck:
    """A cycle that can be done at `net.start_amount`: the fee-paying walk, and the same start
    amount walked through the same books with no fee charged (`gross`).

    pnl = final amount + marked dust - start amount, in the start currency; fees = gross_pnl -
    net_pnl, the start-currency cost of every fee, including that each fee shrinks the next
    hop's size. `capped`: book depth cut the size below the target.
    """

    net: CycleWalk
    gross: CycleWalk
    capped: bool

    @property
    def start_amount(self) -> Decimal:
        """Start-currency amount the first hop spends."""
        return self.net.start_amount

    @property
    def gross_pnl(self) -> Decimal:
        """Profit before fees, in the start currency."""
        g = self.gross
        return g.final_amount + g.residual_value - g.start_amount

    @property
    def net_pnl(self) -> Decimal:
        """Profit after taker fees, in the start currency (dust marked)."""
        n = self.net
        return n.final_amount + n.residual_value - n.start_amount

    @property
    def delivered_pnl(self) -> Decimal:
        """Profit after fees counting only what comes back in the start currency."""
        return self.net.final_amount - self.net.start_amount

    @property
    def fees(self) -> Decimal:
        """gross_pnl - net_pnl."""
        return self.gross_pnl - self.net_pnl

    @property
    def gross_edge_bps(self) -> Decimal:
        """gross_pnl / start amount, in basis points."""
        return self.gross_pnl * _BPS / self.net.start_amount

    @property
    def net_edge_bps(self) -> Decimal:
        """net_pnl / start amount, in basis points."""
        return self.net_pnl * _BPS / self.net.start_amount


def depth_check(hops: Sequence[Hop], target: Decimal, max_rounds: int = 8,
                ) -> CycleCheck | None:
    """The cycle at the largest start amount up to `target` that every book can take.

    Sized on the fee-free walk (its later hops are the larger), so the fee-paying walk at the
    same amount fits too. When a hop's book runs out, the start amount is scaled by that
    book's capacity ratio and walked again (a smaller size gets better prices upstream, so a
    few rounds converge). None when nothing fits, or the size falls under a venue minimum.
    """
    amount = target
    for round_ in range(max_rounds):
        gross = walk_cycle(hops, amount, with_fees=False)
        if gross.short_hop is not None:
            if gross.capacity_ratio <= 0:
                return None
            # 1 ppm below the ratio so rounding cannot leave it a hair above capacity.
            amount = amount * gross.capacity_ratio * Decimal("0.999999")
            continue
        if gross.below_minimum is not None:
            return None
        net = walk_cycle(hops, amount, with_fees=True)
        if not net.complete or net.start_amount <= 0:
            return None
        return CycleCheck(net, gross, capped=round_ > 0)
    return None


# ---- the scanner -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MultiHopConfig:
    """Settings of `MultiHopArbitrage`.

    start_amounts: currency -> amount a cycle starts with; a cycle starts at the first of
        these currencies (in this order) that it passes through, and is not scanned if none.
        500 USDT is about the two-leg scanner's 0.01 BTC. Only USD-like by default: the
        event's notional is in the start currency and the risk gate caps notionals in USD.
    lengths: cycle lengths scanned (3 and/or 4 hops).
    max_candidates: per book update, at most this many cycles are depth-checked, those with
        the best net edge at the touch first (a big graph can make hundreds positive at once).
    min_interval_ns / min_change_bps: re-emit a still-open cycle after this much event time,
        or sooner when its net edge moved by more than this (as the two-leg scanner does).
    """

    start_amounts: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({
        "USDT": Decimal(500), "USD": Decimal(500)}))
    lengths: tuple[int, ...] = CYCLE_LENGTHS
    max_candidates: int = 8
    min_interval_ns: int = 1_000_000_000
    min_change_bps: Decimal = Decimal(1)
    strategy: str = STRATEGY

    def __post_init__(self) -> None:
        bad = {c: a for c, a in self.start_amounts.items() if not a > 0}
        if bad or not self.start_amounts:
            raise ConfigurationError(f"multi-hop start_amounts must be > 0 and not empty, "
                                     f"got {dict(self.start_amounts)}")
        if not self.lengths or not set(self.lengths) <= {3, 4}:
            raise ConfigurationError(f"multi-hop lengths must be 3 and/or 4, got {self.lengths}")
        if self.max_candidates < 1:
            raise ConfigurationError(f"max_candidates must be >= 1, got {self.max_candidates}")
        if self.min_interval_ns < 0:
            raise ConfigurationError(f"min_interval_ns must be >= 0, got {self.min_interval_ns}")
        if self.min_change_bps < 0:
            raise ConfigurationError(f"min_change_bps must be >= 0, got {self.min_change_bps}")


@dataclass(slots=True)
class MultiHopStats:
    """Counters for /health and /metrics."""

    books: int = 0
    candidates: int = 0  # cycles positive at the touch, summed over book updates
    depth_checked: int = 0
    not_executable: int = 0  # depth-checked, but no size fits the books and minimums
    unpriced: int = 0  # positive at the touch, not positive after walking the books
    throttled: int = 0
    emitted: int = 0


class MultiHopArbitrage:
    """3- and 4-hop cycles over the spot markets of `set_instruments` / `on_instruments`.

    Books of instruments outside the market set are ignored. Each book update changes two
    edges of the rate graph; only the cycles through them are re-examined (cycles.py). A cycle
    is emitted when its depth-checked gross edge is positive; near misses (net < 0) included,
    since the risk gate filters on net edge. Nothing is priced against a crossed, locked or
    empty book: such a book takes its market out of every cycle until a good one comes.

    Event fields: one leg per hop in travel order, from the start currency back to it;
    `base` = `quote` = the start currency; `quantity` = `notional` = the start amount the first
    hop spends (start-currency units); PnL and fees in the start currency; each leg's `fee` in
    its market's quote units. The opportunity id derives from the legs and book sequences.
    """

    def __init__(self, clock: Clock, fees: FeeSchedule | None = None,
                 config: MultiHopConfig | None = None,
                 instruments: Iterable[InstrumentInfo] = ()) -> None:
        self._clock = clock
        self._fees = fees if fees is not None else FeeSchedule()
        self._config = config if config is not None else MultiHopConfig()
        self._infos: dict[str, dict[str, InstrumentInfo]] = {}  # venue -> id -> info
        self._books: dict[str, OrderBookUpdated] = {}
        self._last_emitted: dict[tuple[str, ...], tuple[int, Decimal]] = {}
        self.stats = MultiHopStats()
        self._graph = RateGraph([])
        self._search = CycleSearch(self._graph, self._config.lengths, near_misses=True)
        self._start_of: dict[int, int | None] = {}  # cycle -> index of its start hop
        infos = list(instruments)
        if infos:
            self.set_instruments(infos)

    @property
    def config(self) -> MultiHopConfig:
        """The settings in force."""
        return self._config

    @property
    def graph(self) -> RateGraph:
        """The current rate graph."""
        return self._graph

    @property
    def search(self) -> CycleSearch:
        """The current cycle search."""
        return self._search

    def set_instruments(self, infos: Iterable[InstrumentInfo]) -> None:
        """Replace the whole market set (every venue)."""
        self._infos = {}
        for info in infos:
            self._infos.setdefault(info.venue, {})[info.instrument_id] = info
        self._rebuild()

    def on_instruments(self, event: InstrumentsUpdated) -> None:
        """A venue's markets changed: replace that venue's part of the market set. The cycle
        index is rebuilt only when the set of tradable spot markets or their rules changed."""
        new = {i.instrument_id: i for i in event.instruments}
        if self._infos.get(event.venue) == new:
            return
        self._infos[event.venue] = new
        self._rebuild()

    def _rebuild(self) -> None:
        infos = [i for venue in sorted(self._infos)
                 for _, i in sorted(self._infos[venue].items())]
        markets = markets_from_infos(infos, self._fees)
        if markets == list(self._graph.markets):
            return
        self._graph = RateGraph(markets)
        self._search = CycleSearch(self._graph, self._config.lengths, near_misses=True)
        self._start_of = {}
        for iid, book in self._books.items():
            m = self._graph.market_index.get(iid)
            if m is not None and _tradable(book):
                self._search.quote(m, float(book.bids[0][0]), float(book.asks[0][0]))

    def _start_index(self, cycle: int) -> int | None:
        if cycle in self._start_of:
            return self._start_of[cycle]
        inputs = [self._graph.edge_assets(e)[0] for e in self._search.edges(cycle)]
        start = next((inputs.index(c) for c in self._config.start_amounts if c in inputs), None)
        self._start_of[cycle] = start
        return start

    def latest_book(self, instrument_id: str) -> OrderBookUpdated | None:
        """The book last accepted for `instrument_id`, if any."""
        return self._books.get(instrument_id)

    def discard(self, instrument_id: str) -> None:
        """Forget an instrument's book (it can no longer be trusted) until the next one."""
        self._books.pop(instrument_id, None)
        m = self._graph.market_index.get(instrument_id)
        if m is not None:
            self._search.unquote(m)

    def on_gap(self, gap: BookGapDetected) -> None:
        """A sequence gap makes the last book unreliable: stop pricing against it."""
        self.discard(gap.instrument_id)

    def on_book(self, book: OrderBookUpdated) -> list[ArbitrageOpportunityDetected]:
        """Store `book`, update its two edges and return the cycles it opens, best net first."""
        m = self._graph.market_index.get(book.instrument_id)
        if m is None:
            return []
        market = self._graph.markets[m]
        if (book.instrument_kind is not InstrumentKind.SPOT or book.base != market.base
                or book.quote != market.quote):
            raise ValidationFailed(f"{book.instrument_id}: {book.instrument_kind} "
                                   f"{book.base}/{book.quote} book for the SPOT market "
                                   f"{market.base}/{market.quote}")
        prev = self._books.get(book.instrument_id)
        if prev is not None and book.sequence < prev.sequence:
            return []  # an older book delivered late (or again): keep the newer one
        self._books[book.instrument_id] = book
        self.stats.books += 1
        search = self._search
        if not _tradable(book):
            search.unquote(m)
            return []
        candidates = search.quote(m, float(book.bids[0][0]), float(book.asks[0][0]))
        if not len(candidates):
            return []
        self.stats.candidates += len(candidates)
        k = self._config.max_candidates
        sums = search.net_sums(candidates)  # best net edge at the touch first
        if len(candidates) > k:
            best = np.argpartition(sums, k - 1)[:k]
            candidates, sums = candidates[best], sums[best]
        found: list[ArbitrageOpportunityDetected] = []
        for c in candidates[np.argsort(sums, kind="stable")].tolist():
            opp = self._price(c, book)
            if opp is not None:
                found.append(opp)
        found.sort(key=lambda o: o.net_edge_bps, reverse=True)
        return found

    def hops(self, cycle: int) -> tuple[tuple[Hop, ...], str] | None:
        """The hops of cycle `cycle` on the latest books, from its start currency, and that
        currency; None when it has no start currency or a book is missing."""
        start = self._start_index(cycle)
        if start is None:
            return None
        edges = self._search.edges(cycle)
        edges = edges[start:] + edges[:start]
        hops = []
        for e in edges:
            market = self._graph.markets[e // 2]
            book = self._books.get(market.instrument_id)
            if book is None:
                return None
            hops.append(Hop.from_book(book, edge_side(e), market.taker_rate, market.info))
        return tuple(hops), self._graph.edge_assets(edges[0])[0]

    def check(self, cycle: int) -> CycleCheck | None:
        """Depth-check cycle `cycle` on the latest books for its start amount."""
        found = self.hops(cycle)
        if found is None:
            return None
        hops, currency = found
        return depth_check(hops, self._config.start_amounts[currency])

    def _price(self, cycle: int, trigger: OrderBookUpdated) -> ArbitrageOpportunityDetected | None:
        found = self.hops(cycle)
        if found is None:
            return None
        hops, currency = found
        self.stats.depth_checked += 1
        check = depth_check(hops, self._config.start_amounts[currency])
        if check is None:
            self.stats.not_executable += 1
            return None
        if check.gross_pnl <= 0:
            self.stats.unpriced += 1
            return None
        net_bps = check.net_edge_bps
        ts = trigger.ts_event
        key = tuple(f"{h.instrument_id}:{h.side.value}" for h in hops)
        last = self._last_emitted.get(key)
        cfg = self._config
        if (last is not None and ts - last[0] < cfg.min_interval_ns
                and abs(net_bps - last[1]) <= cfg.min_change_bps):
            self.stats.throttled += 1
            return None
        self._last_emitted[key] = (ts, net_bps)
        books = [self._books[h.instrument_id] for h in hops]
        start = check.start_amount
        self.stats.emitted += 1
        return ArbitrageOpportunityDetected(
            ts_event=ts,
            ts_init=self._clock.now_ns(),
            **trigger.caused(),
            opportunity_id=derived_id("opp", cfg.strategy, *key,
                                      *(str(b.sequence) for b in books)),
            strategy=cfg.strategy,
            route=_ROUTES[len(hops)],
            base=currency,
            quote=currency,
            legs=tuple(_leg(f, h, b) for f, h, b in zip(check.net.fills, hops, books,
                                                         strict=True)),
            quantity=start,
            notional=start,
            gross_pnl=check.gross_pnl.quantize(_PNL_STEP),
            fees=check.fees.quantize(_PNL_STEP),
            net_pnl=check.net_pnl.quantize(_PNL_STEP),
            gross_edge_bps=check.gross_edge_bps.quantize(_EDGE_STEP),
            net_edge_bps=net_bps.quantize(_EDGE_STEP),
            oldest_quote_age_ns=max(0, ts - min(b.ts_event for b in books)),
        )


def _tradable(book: OrderBookUpdated) -> bool:
    return (bool(book.bids) and bool(book.asks) and book.bids[0][0] > 0
            and book.bids[0][0] < book.asks[0][0])


def _leg(fill: HopFill, hop: Hop, book: OrderBookUpdated) -> OpportunityLeg:
    return OpportunityLeg(
        instrument_id=fill.instrument_id,
        side=fill.side,
        quantity=fill.quantity,
        native_quantity=fill.quantity,  # spot: venue units are base units
        vwap=fill.vwap,
        best_price=fill.best_price,
        fee_rate=hop.taker_rate,
        fee=fill.fee,
        quote_ts=book.ts_event,
        book_sequence=book.sequence,
    )
