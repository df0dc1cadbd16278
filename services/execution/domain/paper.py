"""The paper venue: fills approved intents against recorded or live market data, in event time.

Why event time: intents (`orders.intents`) and market data (`md.books`, `md.bars`) are
consumed independently, so an intent may be handled before or after execution has seen the
market at the intent's time. Every order is therefore priced against the market *as of* its
due time, `intent.signal_ts + latency(venue)`, taken from a bounded history: immediately if
the history already reaches past that time, else when data reaching it arrives. Fills, ids and
timestamps are then the same whatever the interleaving. Nothing here is random.

Release order: fills of one `position_key` are emitted in intent arrival order (an intent is
held while an earlier intent of the same key still waits for data), so the OMS nets them into
the same trades on every run even if keys are shared (decision names one per intent today).
Order acknowledgements (`OrderSubmitted`) and refusals are not held: they move no position.

Limit orders (IntentLeg.limit_price): the part marketable at the due time takes liquidity up to
the limit (taker fee); the rest rests in the queue at its price (domain/queue.py) and fills,
at the limit price with the maker fee, as the tape (`md.trades`) and later books allow, until
its time in force ends (OrderClosed EXPIRED). A resting order moves only through market data
that is final on both streams (books and, for `tape_venues`, trades): events with ts_event
below the older of the two latest times. So its fills do not depend on interleaving either.
A resting order does not hold its position key's queue: its later fills are published as they
happen, like bracket exits.

Multi-leg intents: when all legs are done unevenly filled, the configured ImbalancePolicy
(domain/unwind.py) places MARKET follow-up orders. They are ordinary reports: OrderSubmitted
with `parent_order_id` = the leg's order, then OrderFilled / OrderClosed. An UNWIND is on the
opposite side of its parent, a HEDGE / RETRY on the same side. Their ids derive from the leg id
plus `/unwind<k>`, `/hedge<k>`, `/retry<k>`. The unwind cost (the excess's round trip: entry
price vs unwind price times base, plus the fees of both) is summed in `unwind_cost`.

Causal chain: `OrderSubmitted` is caused by the intent; a fill or close by its
`OrderSubmitted`; a bracket exit order by the entry fill. Event ids are derived from order and
fill ids, so a re-run after a crash republishes the very same events.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from libs.common.clock import Clock
from libs.common.enums import InstrumentKind, OrderSide, OrderStatus, OrderType
from libs.common.errors import ConfigurationError
from libs.common.events import (
    BarClosed,
    Event,
    IntentLeg,
    OrderBookUpdated,
    OrderClosed,
    OrderFilled,
    OrderIntentApproved,
    OrderSubmitted,
    ReplayFinished,
    TradeTick,
)
from libs.common.identifiers import derived_id
from libs.common.instruments import to_base
from libs.common.venues import DEFAULT_FEES
from services.execution.domain.history import BarHistory, BookHistory, Lookup, TradeHistory
from services.execution.domain.latency import LatencyModel
from services.execution.domain.matching import ExitKind, bracket_exit, walk_book
from services.execution.domain.queue import RestingLimit
from services.execution.domain.unwind import (
    FollowUp,
    ImbalanceConfig,
    ImbalancePolicy,
    balanced,
    excess,
    shortfall,
)

# Taker rates per venue (Binance VIP 0; FXCM charges through the spread): libs/common/venues.py.
DEFAULT_TAKER_FEES: Mapping[str, Decimal] = MappingProxyType({
    venue: taker for venue, (taker, _maker) in DEFAULT_FEES.items()
})

DEFAULT_MAKER_FEES: Mapping[str, Decimal] = MappingProxyType({
    venue: maker for venue, (_taker, maker) in DEFAULT_FEES.items()
})

# Venues whose trade tape execution receives on md.trades: resting orders there wait for it.
DEFAULT_TAPE_VENUES = frozenset({"BINANCE", "BINANCE_USDM", "BINANCE_COINM"})

KILL_SWITCH_REASON = "kill switch"
_END = 2**63  # "no more data will come": a horizon past any event time

_OPPOSITE = {
    OrderSide.BUY: OrderSide.SELL, OrderSide.SELL: OrderSide.BUY,
    OrderSide.LONG: OrderSide.SHORT, OrderSide.SHORT: OrderSide.LONG,
}


def venue_of(instrument_id: str) -> str:
    """The venue part of an instrument id written `SYMBOL.VENUE`."""
    return instrument_id.rsplit(".", 1)[-1]


def order_id_for(intent_id: str, leg_id: str) -> str:
    """Deterministic id of the order placed for one leg of an intent."""
    return derived_id("ord", intent_id, leg_id)


def fill_id_for(intent_id: str, leg_id: str) -> str:
    """Deterministic id of the (single) fill of that order."""
    return derived_id("fill", intent_id, leg_id)


def exit_order_id_for(intent_id: str, leg_id: str) -> str:
    """Deterministic id of the bracket exit order of a leg (take-profit or stop-loss)."""
    return derived_id("ord", intent_id, leg_id, "exit")


def exit_fill_id_for(intent_id: str, leg_id: str) -> str:
    return derived_id("fill", intent_id, leg_id, "exit")


def nth_fill_id_for(intent_id: str, leg_id: str, n: int) -> str:
    """Id of the n-th fill (0-based) of a leg's order: n=0 is `fill_id_for`, so a market
    order's single fill keeps its id; later fills of a resting limit order get their own."""
    return fill_id_for(intent_id, leg_id) if n == 0 else derived_id("fill", intent_id, leg_id,
                                                                     str(n))


def follow_up_leg_id(leg_id: str, kind: FollowUp, k: int) -> str:
    """Leg id of the k-th follow-up of a leg; its order id is `order_id_for` of it."""
    return f"{leg_id}/{kind.value}{k}"


@dataclass(frozen=True)
class PaperConfig:
    """How the paper venue fills.

    `bar_venues` fill from 1-minute bid/ask bars (entry at the next bar's open, brackets
    tested on each bar); every other venue fills by walking its order book.
    `book_history_ns` and `bar_history` bound memory; an intent older than what they keep
    fills against the oldest state kept (counted in `PaperVenue.late_fills`), so size them
    above the worst lag between decision and market data.
    `maker_fees`: rates for the resting part of limit orders. `limit_tif_ns`: a limit order's
    time in force from its due time; it must stay below `book_history_ns`, because a resting
    order reads the books and trades of its whole life from the history. `tape_venues`: venues
    with a trade tape on md.trades (resting orders there wait for it; elsewhere books only).
    `imbalance`: the policy for unevenly filled multi-leg intents.
    `exit_on_entry_bar`: also test a bracket on the bar whose open filled the entry. Off by
    default, as docs/decisions/002 states (exits on later bars); the position is open during
    that whole bar though, so turning it on stops ignoring a stop hit right after the entry.
    """

    latency: LatencyModel = field(default_factory=LatencyModel)
    taker_fees: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_TAKER_FEES))
    bar_venues: frozenset[str] = frozenset({"FXCM"})
    book_history_ns: int = 30_000_000_000
    bar_history: int = 1_440
    exit_on_entry_bar: bool = False
    maker_fees: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_MAKER_FEES))
    limit_tif_ns: int | None = None  # None: 10 s, or half the book history if shorter
    tape_venues: frozenset[str] = DEFAULT_TAPE_VENUES
    imbalance: ImbalanceConfig = field(default_factory=ImbalanceConfig)

    def __post_init__(self) -> None:
        negative = {v: r for v, r in self.taker_fees.items() if r < 0}
        negative |= {f"{v} maker": r for v, r in self.maker_fees.items() if r < 0}
        if negative:
            raise ConfigurationError(f"fee rates must be >= 0, got {negative}")
        if not 0 < self.tif_ns < self.book_history_ns:
            raise ConfigurationError(
                f"limit_tif_ns must be > 0 and below book_history_ns ({self.book_history_ns}),"
                f" got {self.limit_tif_ns}")
        object.__setattr__(self, "maker_fees", MappingProxyType(dict(self.maker_fees)))
        if self.book_history_ns <= 0 or self.bar_history <= 0:
            raise ConfigurationError(
                f"history must be positive: book_history_ns={self.book_history_ns}, "
                f"bar_history={self.bar_history}")
        object.__setattr__(self, "taker_fees", MappingProxyType(dict(self.taker_fees)))


    @property
    def tif_ns(self) -> int:
        """The limit orders' time in force in effect, ns."""
        if self.limit_tif_ns is not None:
            return self.limit_tif_ns
        return min(10_000_000_000, self.book_history_ns // 2)


class _Source(StrEnum):
    BOOK = "BOOK"
    BAR = "BAR"


@dataclass(eq=False)
class _Order:
    """One leg in flight. Its events wait in `outbox` until the leg is released."""

    intent: OrderIntentApproved
    leg: IntentLeg
    order_id: str
    venue: str
    due_ns: int
    fee_rate: Decimal
    source: _Source
    submitted: OrderSubmitted
    resolved: bool = False
    released: bool = False
    outbox: list[Event] = field(default_factory=list)
    # fills so far (native, base, quote notional, fees) and how the order ended
    n_fills: int = 0
    filled: Decimal = Decimal(0)
    filled_base: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    terminal: bool = False
    end_ns: int = 0
    # a resting limit order: its queue place, the next event time to read, when it expires
    resting: RestingLimit | None = None
    kind: InstrumentKind = InstrumentKind.SPOT
    contract_size: Decimal | None = None
    cursor_ns: int = 0
    expires_ns: int = 0
    # multi-leg bookkeeping: the group, the entry leg index, the follow-up kind, and the
    # entry order whose outbox carries a follow-up's events (same release order)
    group: _Group | None = None
    leg_index: int = 0
    follow_up: FollowUp | None = None
    host: _Order | None = None


@dataclass(eq=False)
class _Group:
    """The accepted legs of one multi-leg intent and the follow-ups the policy placed."""

    intent: OrderIntentApproved
    entries: list[_Order]
    followups: list[_Order] = field(default_factory=list)
    stage: str = "ENTRY"  # ENTRY -> HEDGE | RETRY -> UNWIND -> done
    attempt: int = 0
    retry_deadline: int = 0
    retry_start: int = 0
    done: bool = False

    def net(self, i: int) -> Decimal:
        """Net native quantity leg i holds: entry fills, plus hedges, minus unwinds."""
        total = self.entries[i].filled
        for f in self.followups:
            if f.leg_index == i:
                total += -f.filled if f.follow_up is FollowUp.UNWIND else f.filled
        return total


@dataclass(eq=False)
class _Ticket:
    """An intent's accepted legs, queued behind earlier intents of the same position key."""

    orders: list[_Order]


@dataclass(eq=False)
class _OpenBracket:
    order: _Order
    entry: OrderFilled
    take_profit: Decimal
    stop_loss: Decimal
    last_bar_ts: int  # ts_event of the last bar tested


class PaperVenue:
    """Deterministic paper matching: MARKET and LIMIT legs on books (limit remainders rest in
    a queue filled from the tape), forex brackets on bars, imbalance policies on multi-leg
    intents.

    Each `on_*` method takes one input event and returns the report events to publish
    (`OrderSubmitted`, `OrderFilled`, `OrderClosed`), in publishing order.
    """

    def __init__(self, clock: Clock, config: PaperConfig | None = None) -> None:
        self._clock = clock
        self._config = config or PaperConfig()
        self._books = BookHistory(self._config.book_history_ns)
        self._bars = BarHistory(self._config.bar_history)
        self._seen_intents: set[str] = set()
        self._kill_switch = False
        self._queues: dict[str, deque[_Ticket]] = {}
        self._waiting_books: dict[str, list[_Order]] = {}
        self._waiting_bars: dict[str, list[_Order]] = {}
        self._brackets: dict[str, list[_OpenBracket]] = {}
        self._touched: list[_Order] = []
        self._late_fills = 0
        self._trades = TradeHistory(self._config.book_history_ns)
        self._resting: dict[str, list[_Order]] = {}
        self._new_follow_ups: list[_Order] = []
        self._unwind_cost = Decimal(0)
        self._unwinds = 0
        self._unbalanced = 0
        self._trades_ended = False
        # Set by the end-of-replay marker of a stream, cleared by new data on it: an intent
        # arriving after the end is closed out at once instead of waiting forever.
        self._books_ended = False
        self._bars_ended = False

    # ---- inputs -------------------------------------------------------------------------

    def on_kill_switch(self, active: bool) -> None:
        """While active, new intents are rejected; orders already accepted carry on."""
        self._kill_switch = active

    def on_intent(self, intent: OrderIntentApproved) -> list[Event]:
        """Accept (or refuse) each leg; fill at once if the history reaches its due time.

        A redelivered intent (same intent_id) yields nothing.
        """
        if intent.intent_id in self._seen_intents:
            return []
        self._seen_intents.add(intent.intent_id)
        out: list[Event] = []
        accepted: list[_Order] = []
        for leg in intent.legs:
            venue = venue_of(leg.instrument_id)
            due = self._config.latency.due_ns(intent.signal_ts, venue)
            refusal = self._refusal(intent, leg, venue)
            if refusal is not None:
                out.append(self._closed(intent, leg, order_id_for(intent.intent_id, leg.leg_id),
                                        OrderStatus.REJECTED, refusal, due, intent))
                continue
            order = self._accept(intent, leg, venue, due)
            out.append(order.submitted)
            accepted.append(order)
        if accepted:
            self._queues.setdefault(intent.position_key, deque()).append(_Ticket(accepted))
            if len(accepted) > 1 and all(o.source is _Source.BOOK for o in accepted):
                group = _Group(intent=intent, entries=accepted)
                for i, order in enumerate(accepted):
                    order.group, order.leg_index = group, i
            for order in accepted:
                if self._try_resolve(order):
                    continue
                if order.source is _Source.BOOK:
                    if self._books_ended:
                        self._end_book_order(order)
                    else:
                        self._waiting_books.setdefault(order.leg.instrument_id, []).append(order)
                elif self._bars_ended:
                    self._end_bar_order(order)
                else:
                    self._waiting_bars.setdefault(order.leg.instrument_id, []).append(order)
        self._settle()
        out.extend(self._drain())
        return out

    def on_book(self, book: OrderBookUpdated) -> list[Event]:
        """Record a book; fill the orders whose due time it makes final."""
        if not self._books.add(book):
            return []
        self._books_ended = False
        self._resolve_waiting(self._waiting_books, book.instrument_id)
        self._settle(book.instrument_id)
        return self._drain()

    def on_trade(self, trade: TradeTick) -> list[Event]:
        """Record a tape trade; advance resting limit orders the tape makes final."""
        if not self._trades.add(trade):
            return []
        self._trades_ended = False
        self._settle(trade.instrument_id)
        return self._drain()

    def on_bar(self, bar: BarClosed) -> list[Event]:
        """Record a bar; fill entries waiting for its open and test open brackets on it."""
        if not self._bars.add(bar):
            return []
        self._bars_ended = False
        self._resolve_waiting(self._waiting_bars, bar.instrument_id)
        brackets = self._brackets.get(bar.instrument_id, [])
        still_open = []
        for bracket in brackets:
            if bracket.last_bar_ts >= bar.ts_event or not self._test_bracket(bracket, bar):
                still_open.append(bracket)
        if brackets:
            self._brackets[bar.instrument_id] = still_open
        return self._drain()

    def on_replay_finished(self, evt: ReplayFinished, *, books: bool = True,
                           bars: bool = True, trades: bool = True) -> list[Event]:
        """End of data: book orders fill on the last book seen (or expire if there was none);
        bar entries that never got a bar expire. Open brackets stay open (the position is).

        The replayer ends each dataset on its own stream (Binance on md.books, FXCM on
        md.bars), so pass `books` / `bars` for the stream the marker came on: ending the books
        must not expire forex entries whose bars are still coming. Expiries are stamped with
        the instrument's last market time, not `evt.ts_event` (the replayer's wall clock), so
        replays stay identical. Until new data comes on that stream, orders of intents that
        arrive later are closed out the same way at once. Resting limit orders run to the end
        of their time in force on the data kept once books (and, on a tape venue, trades:
        the md.trades marker) have ended, then expire at their expiry time.
        """
        if trades:
            self._trades_ended = True
        if books:
            self._books_ended = True
            for orders in self._waiting_books.values():
                for order in orders:
                    self._end_book_order(order)
            self._waiting_books.clear()
        if bars:
            self._bars_ended = True
            for orders in self._waiting_bars.values():
                for order in orders:
                    self._end_bar_order(order)
            self._waiting_bars.clear()
        self._settle()
        return self._drain()

    # ---- read-only views ----------------------------------------------------------------

    @property
    def kill_switch_active(self) -> bool:
        return self._kill_switch

    @property
    def pending_orders(self) -> int:
        """Accepted orders still waiting for market data: at their due time, or resting."""
        return (sum(len(v) for v in self._waiting_books.values())
                + sum(len(v) for v in self._waiting_bars.values()) + self.resting_orders)

    @property
    def resting_orders(self) -> int:
        """Limit orders resting in a queue (not filled, not expired yet)."""
        return sum(len(v) for v in self._resting.values())

    @property
    def unwind_cost(self) -> Decimal:
        """Total cost of unwinds so far, quote units (see the module docstring)."""
        return self._unwind_cost

    @property
    def unwinds(self) -> int:
        """Unwind orders that filled (wholly or partly)."""
        return self._unwinds

    @property
    def unbalanced(self) -> int:
        """Multi-leg intents still uneven after their policy ran out (no depth to unwind)."""
        return self._unbalanced

    @property
    def open_brackets(self) -> int:
        """Filled bracket entries whose take-profit / stop-loss has not triggered yet."""
        return sum(len(v) for v in self._brackets.values())

    @property
    def late_fills(self) -> int:
        """Orders whose state at the due time was not kept (intent later than the history
        window, or due before the instrument's first data): they filled against the oldest
        state kept. Their fills show it: `book_ts` later than `ts_event` for books."""
        return self._late_fills

    @property
    def history_size(self) -> tuple[int, int]:
        """(books, bars) held in the event-time history."""
        return len(self._books), len(self._bars)

    # ---- acceptance ---------------------------------------------------------------------

    def _refusal(self, intent: OrderIntentApproved, leg: IntentLeg, venue: str) -> str | None:
        if self._kill_switch:
            return KILL_SWITCH_REASON
        if leg.order_type not in (OrderType.MARKET, OrderType.LIMIT):
            return f"paper venue takes MARKET and LIMIT orders only, got {leg.order_type.value}"
        if leg.order_type is OrderType.LIMIT:
            if leg.limit_price is None or leg.limit_price <= 0:
                return f"LIMIT order needs a positive limit_price, got {leg.limit_price}"
            if venue in self._config.bar_venues:
                return f"LIMIT orders need a book venue; {venue} fills from bars"
            if venue not in self._config.maker_fees:
                return f"no maker fee configured for venue {venue}"
        if leg.quantity <= 0 or leg.base_quantity <= 0:
            return f"quantity must be positive, got {leg.quantity} ({leg.base_quantity} base)"
        if venue not in self._config.taker_fees:
            return f"no taker fee configured for venue {venue}"
        if intent.bracket is not None and venue not in self._config.bar_venues:
            return f"brackets need a bar venue; {venue} fills from books"
        return None

    def _accept(self, intent: OrderIntentApproved, leg: IntentLeg, venue: str,
                due: int, parent: _Order | None = None) -> _Order:
        order_id = order_id_for(intent.intent_id, leg.leg_id)
        submitted = OrderSubmitted(
            event_id=derived_id("evt", "submitted", order_id),
            ts_event=due, ts_init=self._clock.now_ns(), **intent.caused(),
            parent_order_id=parent.order_id if parent else None,
            order_id=order_id, intent_id=intent.intent_id,
            opportunity_id=intent.opportunity_id, engine=intent.engine,
            strategy=intent.strategy, position_key=intent.position_key,
            instrument_id=leg.instrument_id, side=leg.side, order_type=leg.order_type,
            quantity=leg.quantity, limit_price=leg.limit_price,
        )
        source = _Source.BAR if venue in self._config.bar_venues else _Source.BOOK
        return _Order(intent=intent, leg=leg, order_id=order_id, venue=venue, due_ns=due,
                      fee_rate=self._config.taker_fees[venue], source=source,
                      submitted=submitted)

    # ---- resolution ---------------------------------------------------------------------

    def _resolve_waiting(self, waiting: dict[str, list[_Order]], instrument_id: str) -> None:
        orders = waiting.get(instrument_id)
        if not orders:
            return
        left = [o for o in orders if not self._try_resolve(o)]
        if left:
            waiting[instrument_id] = left
        else:
            del waiting[instrument_id]

    def _try_resolve(self, order: _Order) -> bool:
        """Fill (or close) `order` if the market at its due time is known; False to wait."""
        instrument_id = order.leg.instrument_id
        if order.source is _Source.BOOK:
            lookup, book = self._books.as_of(instrument_id, order.due_ns)
            if book is None:
                return False
            if lookup is not Lookup.FOUND:  # the state at the due time was not kept
                self._late_fills += 1
            if order.leg.order_type is OrderType.LIMIT:
                self._place_limit(order, book)
            else:
                self._fill_from_book(order, book)
            return True
        lookup, bar = self._bars.first_open_at_or_after(instrument_id, order.due_ns)
        if bar is None:
            return False
        if lookup is not Lookup.FOUND:
            self._late_fills += 1
        self._fill_from_bar(order, bar)
        return True

    def _end_book_order(self, order: _Order) -> None:
        """No more books will come: fill on the last one, or expire if there was none."""
        instrument_id = order.leg.instrument_id
        last = self._books.last(instrument_id)
        if last is not None and order.leg.order_type is OrderType.LIMIT:
            self._place_limit(order, last)
        elif last is not None:
            self._fill_from_book(order, last)
        else:
            self._finish(order, OrderStatus.EXPIRED,
                         f"no book for {instrument_id} before replay end", order.due_ns)

    def _end_bar_order(self, order: _Order) -> None:
        """No more bars will come: the entry never gets its bar and expires."""
        instrument_id = order.leg.instrument_id
        last = self._bars.last(instrument_id)
        self._finish(order, OrderStatus.EXPIRED,
                     f"no bar for {instrument_id} opened at or after {order.due_ns} before "
                     f"replay end", max(order.due_ns, last.ts_event if last else 0))

    def _fill_from_book(self, order: _Order, book: OrderBookUpdated) -> None:
        leg = order.leg
        if book.instrument_kind is InstrumentKind.INVERSE and book.contract_size is None:
            self._finish(order, OrderStatus.REJECTED,
                         f"book for {leg.instrument_id} has no contract_size", order.due_ns)
            return
        levels = book.asks if leg.side.sign > 0 else book.bids
        walk = walk_book(levels, leg.quantity, book.instrument_kind, book.contract_size)
        leaves = leg.quantity - walk.quantity
        if walk.quantity > 0:
            self._take(order, walk.quantity, walk.base_quantity, walk.notional, walk.price,
                       leaves, walk.levels_taken, book.ts_event)
        if leaves > 0:
            self._finish(order, OrderStatus.CANCELLED,
                         f"insufficient depth: filled {walk.quantity} of {leg.quantity}",
                         order.due_ns)
        else:
            self._terminate(order, order.due_ns)
        order.resolved = True

    def _take(self, order: _Order, quantity: Decimal, base: Decimal, notional: Decimal,
              price: Decimal, leaves: Decimal, levels_taken: int, book_ts: int) -> None:
        """Emit a taker fill at the due time and count it on the order."""
        fee = order.fee_rate * notional
        self._emit(order, self._filled(
            order, fill_id=nth_fill_id_for(order.intent.intent_id, order.leg.leg_id,
                                           order.n_fills),
            order_id=order.order_id, side=order.leg.side, price=price, quantity=quantity,
            base_quantity=base, fee=fee, leaves=leaves, levels_taken=levels_taken,
            book_ts=book_ts, ts=order.due_ns, cause=order.submitted))
        self._count_fill(order, quantity, base, notional, fee, price)

    def _count_fill(self, order: _Order, quantity: Decimal, base: Decimal, notional: Decimal,
                    fee: Decimal, price: Decimal) -> None:
        if order.follow_up is FollowUp.UNWIND and order.host is not None:
            entry = order.host
            if entry.filled_base > 0:
                entry_price = entry.notional / entry.filled_base
                sign = entry.leg.side.sign
                self._unwind_cost += (sign * (entry_price - price) * base + fee
                                      + entry.fees * base / entry.filled_base)
            self._unwinds += 1 if order.n_fills == 0 else 0
        order.n_fills += 1
        order.filled += quantity
        order.filled_base += base
        order.notional += notional
        order.fees += fee

    # ---- limit orders -------------------------------------------------------------------

    def _place_limit(self, order: _Order, book: OrderBookUpdated) -> None:
        """At the due time: take what is marketable up to the limit, rest the remainder."""
        leg = order.leg
        assert leg.limit_price is not None  # checked on acceptance
        if book.instrument_kind is InstrumentKind.INVERSE and book.contract_size is None:
            self._finish(order, OrderStatus.REJECTED,
                         f"book for {leg.instrument_id} has no contract_size", order.due_ns)
            return
        is_buy, limit = leg.side.sign > 0, leg.limit_price
        order.kind, order.contract_size = book.instrument_kind, book.contract_size
        levels = book.asks if is_buy else book.bids
        marketable = [lv for lv in levels if (lv[0] <= limit if is_buy else lv[0] >= limit)]
        walk = walk_book(marketable, leg.quantity, book.instrument_kind, book.contract_size)
        leaves = leg.quantity - walk.quantity
        if walk.quantity > 0:
            self._take(order, walk.quantity, walk.base_quantity, walk.notional, walk.price,
                       leaves, walk.levels_taken, book.ts_event)
        order.resolved = True
        if leaves <= 0:
            self._terminate(order, order.due_ns)
            return
        # what was marketable is taken: the rest joins its level behind the displayed size
        rest_bids = book.bids if is_buy else tuple(lv for lv in book.bids if lv[0] < limit)
        rest_asks = tuple(lv for lv in book.asks if lv[0] > limit) if is_buy else book.asks
        order.resting = RestingLimit.join(is_buy, limit, leaves, rest_bids, rest_asks)
        order.fee_rate = self._config.maker_fees[order.venue]
        order.cursor_ns = order.due_ns + 1
        order.expires_ns = order.due_ns + self._config.tif_ns
        self._resting.setdefault(leg.instrument_id, []).append(order)

    def _horizon(self, instrument_id: str) -> int:
        """Events of `instrument_id` with ts_event below this are final on every stream."""
        last_book = self._books.last(instrument_id)
        books = _END if self._books_ended else (last_book.ts_event if last_book else 0)
        if venue_of(instrument_id) not in self._config.tape_venues or self._trades_ended:
            return books
        return min(books, self._trades.last_ts(instrument_id) or 0)

    def _advance_resting(self, instrument_id: str) -> bool:
        """Move the resting orders of an instrument through final data. True if any ended."""
        orders = self._resting.get(instrument_id)
        if not orders:
            return False
        horizon = self._horizon(instrument_id)
        for order in orders:
            self._advance_order(order, horizon)
        left = [o for o in orders if not o.terminal]
        if left:
            self._resting[instrument_id] = left
        else:
            del self._resting[instrument_id]
        return len(left) < len(orders)

    def _advance_order(self, order: _Order, horizon: int) -> None:
        resting = order.resting
        assert resting is not None
        instrument_id = order.leg.instrument_id
        end = min(horizon, order.expires_ns + 1)
        if end > order.cursor_ns:
            tape = order.venue in self._config.tape_venues
            trades = self._trades.between(instrument_id, order.cursor_ns, end) if tape else []
            books = self._books.between(instrument_id, order.cursor_ns, end)
            # in time order; at one time the tape first (a trade moves the book it shows)
            merged: list[tuple[int, int, int, TradeTick | OrderBookUpdated]] = [
                (t.ts_event, 0, i, t) for i, t in enumerate(trades)]
            merged += [(b.ts_event, 1, i, b) for i, b in enumerate(books)]
            merged.sort(key=lambda e: e[:3])
            for ts, _, _, evt in merged:
                if isinstance(evt, TradeTick):
                    qty = resting.on_trade(evt.price, evt.quantity, evt.aggressor)
                else:
                    qty = resting.on_book(evt.bids, evt.asks)
                if qty > 0:
                    self._make(order, qty, ts)
                if resting.done:
                    self._terminate(order, ts)
                    return
            order.cursor_ns = end
        if horizon > order.expires_ns:
            secs = self._config.tif_ns / 1e9
            self._finish(order, OrderStatus.EXPIRED,
                         f"time in force {secs:g}s ended: filled {order.filled} of "
                         f"{order.leg.quantity}", order.expires_ns)

    def _make(self, order: _Order, quantity: Decimal, ts: int) -> None:
        """Emit a maker fill of a resting order at its limit price."""
        leg, resting = order.leg, order.resting
        assert resting is not None and leg.limit_price is not None
        price = leg.limit_price
        base = to_base(quantity, price, order.kind, order.contract_size)
        notional = (quantity * order.contract_size
                    if order.kind is InstrumentKind.INVERSE and order.contract_size
                    else quantity * price)
        fee = order.fee_rate * notional
        self._emit(order, self._filled(
            order, fill_id=nth_fill_id_for(order.intent.intent_id, leg.leg_id, order.n_fills),
            order_id=order.order_id, side=leg.side, price=price, quantity=quantity,
            base_quantity=base, fee=fee, leaves=resting.leaves, levels_taken=0, book_ts=ts,
            ts=ts, cause=order.submitted, liquidity="MAKER"))
        self._count_fill(order, quantity, base, notional, fee, price)

    # ---- settling: resting orders and multi-leg follow-ups -------------------------------

    def _settle(self, instrument_id: str | None = None) -> None:
        """Advance resting orders (of one instrument, or all) and place follow-ups, until
        nothing changes. Follow-ups are queued by `_terminate` and placed here, never while
        a waiting list is being walked."""
        while True:
            ids = [instrument_id] if instrument_id else sorted(self._resting)
            for iid in ids:
                self._advance_resting(iid)
            if not self._new_follow_ups:
                return
            new, self._new_follow_ups = self._new_follow_ups, []
            for order in new:
                if self._try_resolve(order):
                    continue
                if self._books_ended:
                    self._end_book_order(order)
                else:
                    self._waiting_books.setdefault(order.leg.instrument_id, []).append(order)
            instrument_id = None

    def _terminate(self, order: _Order, ts: int) -> None:
        """The order will not fill further: let its group's policy look at the legs."""
        order.terminal, order.end_ns = True, ts
        if order.group is not None:
            self._group_progress(order.group)

    def _group_progress(self, g: _Group) -> None:
        if g.done or not all(o.terminal for o in (*g.entries, *g.followups)):
            return
        t = max(o.end_ns for o in (*g.entries, *g.followups))
        sizes = [o.leg.quantity for o in g.entries]
        nets = [g.net(i) for i in range(len(g.entries))]
        if balanced(nets, sizes):
            g.done = True
            return
        policy = self._config.imbalance
        if g.stage == "ENTRY" and policy.policy is ImbalancePolicy.HEDGE:
            g.stage = "HEDGE"
            self._complete(g, FollowUp.HEDGE, 0, nets, sizes, t)
        elif g.stage in ("ENTRY", "RETRY") and policy.policy is ImbalancePolicy.RETRY_UNTIL:
            if g.stage == "ENTRY":
                g.stage, g.retry_start = "RETRY", t
                g.retry_deadline = t + policy.retry_window_ns
            at = max(t, g.retry_start + g.attempt * policy.retry_interval_ns)
            if at <= g.retry_deadline:
                self._complete(g, FollowUp.RETRY, g.attempt, nets, sizes, at)
                g.attempt += 1
            else:
                self._unwind(g, nets, sizes, t)
        elif g.stage != "UNWIND":
            self._unwind(g, nets, sizes, t)
        else:
            self._unbalanced += 1
            g.done = True

    def _complete(self, g: _Group, kind: FollowUp, k: int, nets: list[Decimal],
                  sizes: list[Decimal], at: int) -> None:
        for i, qty in enumerate(shortfall(nets, sizes)):
            if qty > 0:
                self._follow_up(g, i, kind, k, g.entries[i].leg.side, qty, at)

    def _unwind(self, g: _Group, nets: list[Decimal], sizes: list[Decimal], at: int) -> None:
        g.stage = "UNWIND"
        for i, qty in enumerate(excess(nets, sizes)):
            if qty > 0:
                self._follow_up(g, i, FollowUp.UNWIND, 0, _OPPOSITE[g.entries[i].leg.side],
                                qty, at)

    def _follow_up(self, g: _Group, i: int, kind: FollowUp, k: int, side: OrderSide,
                   quantity: Decimal, at: int) -> None:
        """A MARKET order for leg i, due `at` + latency; its events ride on the leg's order."""
        entry = g.entries[i]
        leg = entry.leg
        fleg = IntentLeg(leg_id=follow_up_leg_id(leg.leg_id, kind, k),
                         instrument_id=leg.instrument_id, side=side,
                         order_type=OrderType.MARKET, quantity=quantity,
                         base_quantity=leg.base_quantity * quantity / leg.quantity)
        due = self._config.latency.due_ns(at, entry.venue)
        order = self._accept(g.intent, fleg, entry.venue, due, parent=entry)
        order.group, order.leg_index, order.follow_up, order.host = g, i, kind, entry
        g.followups.append(order)
        self._emit(order, order.submitted)
        self._new_follow_ups.append(order)

    def _fill_from_bar(self, order: _Order, bar: BarClosed) -> None:
        leg = order.leg
        price = bar.ask_open if leg.side.sign > 0 else bar.bid_open
        entry = self._filled(
            order, fill_id=fill_id_for(order.intent.intent_id, leg.leg_id),
            order_id=order.order_id, side=leg.side, price=price, quantity=leg.quantity,
            base_quantity=leg.base_quantity, fee=order.fee_rate * price * leg.base_quantity,
            leaves=Decimal(0), levels_taken=1, book_ts=bar.ts_event, ts=bar.ts_open,
            cause=order.submitted)
        self._emit(order, entry)
        order.resolved = True
        bracket = order.intent.bracket
        if bracket is None:
            return
        state = _OpenBracket(order=order, entry=entry, take_profit=bracket.take_profit,
                             stop_loss=bracket.stop_loss, last_bar_ts=bar.ts_event)
        if self._config.exit_on_entry_bar and self._test_bracket(state, bar):
            return
        # An intent handled late finds later bars already in the history: test them now.
        for later in self._bars.after(leg.instrument_id, bar.ts_event):
            if self._test_bracket(state, later):
                return
        self._brackets.setdefault(leg.instrument_id, []).append(state)

    def _test_bracket(self, bracket: _OpenBracket, bar: BarClosed) -> bool:
        """Test one bar; on a trigger emit the exit order and its fill. True if it exited."""
        bracket.last_bar_ts = bar.ts_event
        order, entry = bracket.order, bracket.entry
        hit = bracket_exit(entry.side.sign > 0, bracket.take_profit, bracket.stop_loss, bar)
        if hit is None:
            return False
        intent, leg = order.intent, order.leg
        exit_order_id = exit_order_id_for(intent.intent_id, leg.leg_id)
        side = _OPPOSITE[entry.side]
        is_tp = hit.kind is ExitKind.TAKE_PROFIT
        submitted = OrderSubmitted(
            event_id=derived_id("evt", "submitted", exit_order_id),
            ts_event=hit.ts, ts_init=self._clock.now_ns(), **entry.caused(),
            order_id=exit_order_id, intent_id=intent.intent_id,
            opportunity_id=intent.opportunity_id, engine=intent.engine,
            strategy=intent.strategy, position_key=intent.position_key,
            instrument_id=leg.instrument_id, side=side,
            order_type=OrderType.LIMIT if is_tp else OrderType.STOP,
            quantity=entry.quantity,
            limit_price=bracket.take_profit if is_tp else None,
            stop_price=None if is_tp else bracket.stop_loss,
            parent_order_id=order.order_id,
        )
        filled = self._filled(
            order, fill_id=exit_fill_id_for(intent.intent_id, leg.leg_id),
            order_id=exit_order_id, side=side, price=hit.price, quantity=entry.quantity,
            base_quantity=entry.base_quantity,
            fee=order.fee_rate * hit.price * entry.base_quantity, leaves=Decimal(0),
            levels_taken=1, book_ts=bar.ts_event, ts=hit.ts, cause=submitted)
        self._emit(order, submitted, filled)
        return True

    def _finish(self, order: _Order, status: OrderStatus, reason: str, ts: int) -> None:
        """Close an accepted order without (further) fills."""
        self._emit(order, self._closed(order.intent, order.leg, order.order_id, status, reason,
                                       ts, order.submitted))
        order.resolved = True
        self._terminate(order, ts)

    # ---- event builders -----------------------------------------------------------------

    def _filled(self, order: _Order, *, fill_id: str, order_id: str, side: OrderSide,
                price: Decimal, quantity: Decimal, base_quantity: Decimal, fee: Decimal,
                leaves: Decimal, levels_taken: int, book_ts: int, ts: int,
                cause: Event, liquidity: str = "TAKER") -> OrderFilled:
        intent = order.intent
        return OrderFilled(
            event_id=derived_id("evt", "filled", fill_id), ts_event=ts,
            ts_init=self._clock.now_ns(), **cause.caused(),
            fill_id=fill_id, order_id=order_id, intent_id=intent.intent_id,
            engine=intent.engine, strategy=intent.strategy,
            position_key=intent.position_key, instrument_id=order.leg.instrument_id,
            side=side, price=price, quantity=quantity, base_quantity=base_quantity, fee=fee,
            leaves_quantity=leaves, liquidity=liquidity,
            status=OrderStatus.FILLED if leaves == 0 else OrderStatus.PARTIAL,
            levels_taken=levels_taken, book_ts=book_ts,
        )

    def _closed(self, intent: OrderIntentApproved, leg: IntentLeg, order_id: str,
                status: OrderStatus, reason: str, ts: int, cause: Event) -> OrderClosed:
        return OrderClosed(
            event_id=derived_id("evt", "closed", order_id), ts_event=ts,
            ts_init=self._clock.now_ns(), **cause.caused(),
            order_id=order_id, intent_id=intent.intent_id, engine=intent.engine,
            strategy=intent.strategy, position_key=intent.position_key,
            instrument_id=leg.instrument_id, status=status, reason=reason,
        )

    # ---- release ------------------------------------------------------------------------

    def _emit(self, order: _Order, *events: Event) -> None:
        order = order.host or order  # follow-ups are released with their leg's order
        order.outbox.extend(events)
        self._touched.append(order)

    def _drain(self) -> list[Event]:
        """Events ready to publish: later events of released orders (bracket exits), then
        every position key's queue released in intent order up to its first unresolved leg."""
        out: list[Event] = []
        touched, self._touched = self._touched, []
        for order in touched:
            if order.released and order.outbox:
                out.extend(order.outbox)
                order.outbox.clear()
        for key in list(self._queues):
            out.extend(self._release(key))
        return out

    def _release(self, key: str) -> list[Event]:
        out: list[Event] = []
        queue = self._queues[key]
        while queue:
            for order in queue[0].orders:
                if order.released:
                    continue
                if not order.resolved:
                    return out
                out.extend(order.outbox)
                order.outbox.clear()
                order.released = True
            queue.popleft()
        del self._queues[key]
        return out
