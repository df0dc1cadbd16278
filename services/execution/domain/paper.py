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
)
from libs.common.identifiers import derived_id
from libs.common.venues import DEFAULT_FEES
from services.execution.domain.history import BarHistory, BookHistory, Lookup
from services.execution.domain.latency import LatencyModel
from services.execution.domain.matching import ExitKind, bracket_exit, walk_book

# Taker rates per venue (Binance VIP 0; FXCM charges through the spread): libs/common/venues.py.
DEFAULT_TAKER_FEES: Mapping[str, Decimal] = MappingProxyType({
    venue: taker for venue, (taker, _maker) in DEFAULT_FEES.items()
})

KILL_SWITCH_REASON = "kill switch"

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


@dataclass(frozen=True)
class PaperConfig:
    """How the paper venue fills.

    `bar_venues` fill from 1-minute bid/ask bars (entry at the next bar's open, brackets
    tested on each bar); every other venue fills by walking its order book.
    `book_history_ns` and `bar_history` bound memory; an intent older than what they keep
    fills against the oldest state kept (counted in `PaperVenue.late_fills`), so size them
    above the worst lag between decision and market data.
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

    def __post_init__(self) -> None:
        negative = {v: r for v, r in self.taker_fees.items() if r < 0}
        if negative:
            raise ConfigurationError(f"taker fee rates must be >= 0, got {negative}")
        if self.book_history_ns <= 0 or self.bar_history <= 0:
            raise ConfigurationError(
                f"history must be positive: book_history_ns={self.book_history_ns}, "
                f"bar_history={self.bar_history}")
        object.__setattr__(self, "taker_fees", MappingProxyType(dict(self.taker_fees)))


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
    """Deterministic paper matching for MARKET intents, with forex brackets.

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
        out.extend(self._drain())
        return out

    def on_book(self, book: OrderBookUpdated) -> list[Event]:
        """Record a book; fill the orders whose due time it makes final."""
        if not self._books.add(book):
            return []
        self._books_ended = False
        self._resolve_waiting(self._waiting_books, book.instrument_id)
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
                           bars: bool = True) -> list[Event]:
        """End of data: book orders fill on the last book seen (or expire if there was none);
        bar entries that never got a bar expire. Open brackets stay open (the position is).

        The replayer ends each dataset on its own stream (Binance on md.books, FXCM on
        md.bars), so pass `books` / `bars` for the stream the marker came on: ending the books
        must not expire forex entries whose bars are still coming. Expiries are stamped with
        the instrument's last market time, not `evt.ts_event` (the replayer's wall clock), so
        replays stay identical. Until new data comes on that stream, orders of intents that
        arrive later are closed out the same way at once.
        """
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
        return self._drain()

    # ---- read-only views ----------------------------------------------------------------

    @property
    def kill_switch_active(self) -> bool:
        return self._kill_switch

    @property
    def pending_orders(self) -> int:
        """Accepted orders still waiting for market data at their due time."""
        return (sum(len(v) for v in self._waiting_books.values())
                + sum(len(v) for v in self._waiting_bars.values()))

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
        if leg.order_type is not OrderType.MARKET:
            return f"paper venue takes MARKET orders only, got {leg.order_type.value}"
        if leg.quantity <= 0 or leg.base_quantity <= 0:
            return f"quantity must be positive, got {leg.quantity} ({leg.base_quantity} base)"
        if venue not in self._config.taker_fees:
            return f"no taker fee configured for venue {venue}"
        if intent.bracket is not None and venue not in self._config.bar_venues:
            return f"brackets need a bar venue; {venue} fills from books"
        return None

    def _accept(self, intent: OrderIntentApproved, leg: IntentLeg, venue: str,
                due: int) -> _Order:
        order_id = order_id_for(intent.intent_id, leg.leg_id)
        submitted = OrderSubmitted(
            event_id=derived_id("evt", "submitted", order_id),
            ts_event=due, ts_init=self._clock.now_ns(), **intent.caused(),
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
        if last is not None:
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
            self._emit(order, self._filled(
                order, fill_id=fill_id_for(order.intent.intent_id, leg.leg_id),
                order_id=order.order_id, side=leg.side, price=walk.price,
                quantity=walk.quantity, base_quantity=walk.base_quantity,
                fee=order.fee_rate * walk.notional, leaves=leaves,
                levels_taken=walk.levels_taken, book_ts=book.ts_event, ts=order.due_ns,
                cause=order.submitted))
        if leaves > 0:
            self._finish(order, OrderStatus.CANCELLED,
                         f"insufficient depth: filled {walk.quantity} of {leg.quantity}",
                         order.due_ns)
        order.resolved = True

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

    # ---- event builders -----------------------------------------------------------------

    def _filled(self, order: _Order, *, fill_id: str, order_id: str, side: OrderSide,
                price: Decimal, quantity: Decimal, base_quantity: Decimal, fee: Decimal,
                leaves: Decimal, levels_taken: int, book_ts: int, ts: int,
                cause: Event) -> OrderFilled:
        intent = order.intent
        return OrderFilled(
            event_id=derived_id("evt", "filled", fill_id), ts_event=ts,
            ts_init=self._clock.now_ns(), **cause.caused(),
            fill_id=fill_id, order_id=order_id, intent_id=intent.intent_id,
            engine=intent.engine, strategy=intent.strategy,
            position_key=intent.position_key, instrument_id=order.leg.instrument_id,
            side=side, price=price, quantity=quantity, base_quantity=base_quantity, fee=fee,
            leaves_quantity=leaves,
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
