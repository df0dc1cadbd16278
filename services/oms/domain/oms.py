"""The OMS aggregate: order states, net positions, PnL and closed trades. Pure.

Inputs: approved intents (for each intent's policy version), execution reports
(`OrderSubmitted`, `OrderFilled`, `OrderClosed`) and bars (marks). Outputs: `PositionUpdated`
after every fill and on mark changes of open positions, `TradeClosed` when a position returns
to flat.

Marks: a position whose last fill's instrument has bars (forex) is marked at the bar's bid
close when long and ask close when short, i.e. at the price it could be closed at. Other
positions (arbitrage, on book venues) are marked at their last fill price: the OMS does not
read books, and an arbitrage position is open only between its two legs.

Delivery: reports are deduplicated by event id and fills by fill id, so a redelivered or
re-emitted report changes nothing. A report that cannot apply (a fill for an unknown order, an
illegal transition) is returned as an error for the handler to dead-letter; state is left
unchanged. `TradeClosed` carries the policy version of the intent that opened the trade; if
that intent has not been seen yet (the intents stream is read independently of the reports),
the trade is held and published when the intent arrives.

Close cause: a trade closed by a bracket exit order is TAKE_PROFIT (exit order type LIMIT) or
STOP_LOSS (STOP), as the paper venue submits them; otherwise an arbitrage trade is HEDGED (its
legs netted out), a binary trade EXPIRY (options settle at expiry), anything else OTHER.

Restart: `to_state()` is the whole aggregate as JSON-ready data and `restore()` loads it back,
so a snapshot plus a replay of the inputs after it gives the state live handling had.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from libs.common.clock import Clock
from libs.common.enums import CloseCause, Engine, OrderSide, OrderStatus, OrderType
from libs.common.errors import IllegalTransition
from libs.common.events import (
    BarClosed,
    Event,
    OrderClosed,
    OrderFilled,
    OrderIntentApproved,
    OrderSubmitted,
    PositionUpdated,
    TradeClosed,
)
from libs.common.identifiers import derived_id
from services.oms.domain.positions import ZERO, ClosedTrade, Position
from services.oms.domain.state_machine import (
    CLOSE_TRIGGERS,
    FILL_TRIGGERS,
    OrderStateMachine,
    OrderTrigger,
)

Report = OrderSubmitted | OrderFilled | OrderClosed


@dataclass(frozen=True)
class ReportResult:
    """What applying one report gave: events to publish, or why it cannot apply.

    `error` set: the handler dead-letters the report (state was not changed).
    `duplicate` set: already applied; ack it and publish nothing.
    """

    events: tuple[Event, ...] = ()
    error: str | None = None
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class OrderRecord:
    """What the OMS knows about one order."""

    order_id: str
    intent_id: str
    opportunity_id: str | None
    engine: Engine
    strategy: str
    position_key: str
    instrument_id: str
    side: OrderSide | None = None
    order_type: OrderType | None = None
    quantity: Decimal | None = None  # venue-native
    filled_quantity: Decimal = ZERO
    parent_order_id: str | None = None
    reason: str = ""
    machine: OrderStateMachine = field(default_factory=OrderStateMachine)

    @property
    def status(self) -> OrderStatus:
        return self.machine.status


@dataclass(frozen=True)
class PositionView:
    position_key: str
    engine: Engine
    strategy: str
    quantity: Decimal
    avg_price: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    mark_price: Decimal | None


@dataclass(frozen=True)
class EngineTotals:
    realized_pnl: Decimal  # after fees
    unrealized_pnl: Decimal
    fees: Decimal
    trades: int
    open_positions: int


@dataclass(frozen=True)
class _IntentInfo:
    policy_version: int
    opportunity_id: str


@dataclass(frozen=True)
class _HeldTrade:
    trade: ClosedTrade
    engine: Engine
    strategy: str
    cause: OrderFilled
    close_cause: CloseCause = CloseCause.OTHER

    def to_state(self) -> dict[str, Any]:
        return {"trade": self.trade.to_state(), "engine": self.engine.value,
                "strategy": self.strategy, "cause": self.cause.model_dump(mode="json"),
                "close_cause": self.close_cause.value}

    @classmethod
    def from_state(cls, doc: dict[str, Any]) -> _HeldTrade:
        return cls(ClosedTrade.from_state(doc["trade"]), Engine(doc["engine"]), doc["strategy"],
                   OrderFilled.model_validate(doc["cause"]), CloseCause(doc["close_cause"]))


STATE_VERSION = 1  # of `Oms.to_state()`; bump when its shape changes


def close_cause(order: OrderRecord, parent: OrderRecord | None = None) -> CloseCause:
    """Why the trade that `order`'s fill closed went flat (see the module docstring).

    A MARKET child on the opposite side of its parent leg is execution's unwind of an uneven
    multi-leg fill (services/execution/domain/unwind.py).
    """
    if (order.parent_order_id is not None and order.order_type is OrderType.MARKET
            and parent is not None and parent.side is not None and order.side is not None
            and parent.side.sign != order.side.sign):
        return CloseCause.UNWIND
    if order.parent_order_id is not None and order.order_type is OrderType.LIMIT:
        return CloseCause.TAKE_PROFIT
    if order.order_type is OrderType.STOP:
        return CloseCause.STOP_LOSS
    if order.engine is Engine.ARBITRAGE:
        return CloseCause.HEDGED
    if order.engine is Engine.BINARY:
        return CloseCause.EXPIRY
    return CloseCause.OTHER


class Oms:
    """Orders, positions and PnL from execution reports. Every method is synchronous and pure.

    `dust`: per engine, the residual base quantity at or below which a position counts as
    flat (see `Position`); default exactly zero for every engine.
    """

    def __init__(self, clock: Clock, dust: Mapping[Engine, Decimal] | None = None) -> None:
        self._clock = clock
        self._dust = dict(dust or {})
        self._intents: dict[str, _IntentInfo] = {}
        self._orders: dict[str, OrderRecord] = {}
        self._positions: dict[str, Position] = {}
        self._seen_events: set[str] = set()
        self._seen_fills: set[str] = set()
        self._held: list[_HeldTrade] = []
        self._last_bar_ts: dict[str, int] = {}

    # ---- inputs -------------------------------------------------------------------------

    def on_intent(self, intent: OrderIntentApproved) -> list[Event]:
        """Remember the intent's policy version; publish trades that were waiting for it."""
        if intent.intent_id in self._intents:
            return []
        self._intents[intent.intent_id] = _IntentInfo(intent.policy_version,
                                                      intent.opportunity_id)
        ready = [h for h in self._held if h.trade.opening_intent_id in self._intents]
        if not ready:
            return []
        self._held = [h for h in self._held if h.trade.opening_intent_id not in self._intents]
        return [self._trade_closed(h) for h in ready]

    def on_report(self, report: Report) -> ReportResult:
        """Apply one execution report through the order state machine and the positions."""
        if report.event_id in self._seen_events:
            return ReportResult(duplicate=True)
        if isinstance(report, OrderFilled):
            result = self._on_fill(report)
        elif isinstance(report, OrderSubmitted):
            result = self._on_submitted(report)
        else:
            result = self._on_closed(report)
        if result.ok and not result.duplicate:  # a duplicate changed nothing, state included
            self._seen_events.add(report.event_id)
        return result

    def on_bar(self, bar: BarClosed) -> list[Event]:
        """Mark open positions on the bar's instrument; report those whose unrealized moved."""
        last = self._last_bar_ts.get(bar.instrument_id)
        if last is not None and bar.ts_event <= last:
            return []
        self._last_bar_ts[bar.instrument_id] = bar.ts_event
        out: list[Event] = []
        for pos in self._positions.values():
            if not pos.is_open or pos.instrument_id != bar.instrument_id:
                continue
            before = pos.unrealized_pnl
            pos.mark(bar.bid_close if pos.quantity > 0 else bar.ask_close)
            if pos.unrealized_pnl != before:
                out.append(self._position_updated(
                    pos, bar, ts=bar.ts_event,
                    event_id=derived_id("evt", "position", pos.position_key,
                                        bar.instrument_id, str(bar.ts_event))))
        return out

    # ---- snapshot -----------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """The whole aggregate as JSON-ready data (Decimals as strings, sorted collections),
        so two equal states compare and serialize equal."""
        return {
            "version": STATE_VERSION,
            "intents": {k: [v.policy_version, v.opportunity_id]
                        for k, v in sorted(self._intents.items())},
            "orders": {k: _order_state(o) for k, o in sorted(self._orders.items())},
            "positions": {k: p.to_state() for k, p in sorted(self._positions.items())},
            "seen_events": sorted(self._seen_events),
            "seen_fills": sorted(self._seen_fills),
            "held": [h.to_state() for h in self._held],
            "last_bar_ts": dict(sorted(self._last_bar_ts.items())),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Replace this aggregate's state by `state` (from `to_state`). Raises ValueError
        (or KeyError/TypeError on a malformed document) and leaves the state unchanged."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"OMS state version {state.get('version')!r} is not "
                             f"{STATE_VERSION}")
        intents = {k: _IntentInfo(int(v[0]), v[1]) for k, v in state["intents"].items()}
        orders = {k: _order_from_state(d) for k, d in state["orders"].items()}
        positions = {k: Position.from_state(d, self._dust.get(Engine(d["engine"]), ZERO))
                     for k, d in state["positions"].items()}
        held = [_HeldTrade.from_state(d) for d in state["held"]]
        seen_events, seen_fills = set(state["seen_events"]), set(state["seen_fills"])
        last_bar_ts = {k: int(v) for k, v in state["last_bar_ts"].items()}
        self._intents, self._orders, self._positions = intents, orders, positions
        self._seen_events, self._seen_fills = seen_events, seen_fills
        self._held, self._last_bar_ts = held, last_bar_ts

    # ---- read-only views ----------------------------------------------------------------

    def open_positions(self) -> list[PositionView]:
        """Positions not flat, by key."""
        return [self._view(self._positions[k]) for k in sorted(self._positions)
                if self._positions[k].is_open]

    def position(self, position_key: str) -> PositionView | None:
        pos = self._positions.get(position_key)
        return self._view(pos) if pos else None

    def order_status(self, order_id: str) -> OrderStatus | None:
        order = self._orders.get(order_id)
        return order.status if order else None

    def orders_by_status(self) -> dict[OrderStatus, int]:
        """How many orders are in each status (every status listed, zero included)."""
        counts = dict.fromkeys(OrderStatus, 0)
        for order in self._orders.values():
            counts[order.status] += 1
        return counts

    def totals(self) -> dict[Engine, EngineTotals]:
        """Realized (after fees), unrealized, fees, closed trades and open positions per engine
        that has traded."""
        out: dict[Engine, EngineTotals] = {}
        for pos in self._positions.values():
            t = out.get(pos.engine) or EngineTotals(ZERO, ZERO, ZERO, 0, 0)
            out[pos.engine] = EngineTotals(
                realized_pnl=t.realized_pnl + pos.realized_pnl,
                unrealized_pnl=t.unrealized_pnl + pos.unrealized_pnl,
                fees=t.fees + pos.fees, trades=t.trades + pos.trades_closed,
                open_positions=t.open_positions + int(pos.is_open))
        return out

    @property
    def held_trades(self) -> int:
        """Closed trades waiting for their opening intent (to learn its policy version)."""
        return len(self._held)

    # ---- reports ------------------------------------------------------------------------

    def _on_submitted(self, rep: OrderSubmitted) -> ReportResult:
        order = self._orders.get(rep.order_id)
        if order is not None and order.status is not OrderStatus.PENDING:
            return ReportResult(duplicate=True)  # the same order acknowledged again
        if order is None:
            order = self._new_order(rep)
        order.side, order.order_type, order.quantity = rep.side, rep.order_type, rep.quantity
        order.opportunity_id = rep.opportunity_id
        order.parent_order_id = rep.parent_order_id
        return self._move(order, OrderTrigger.SUBMIT)

    def _on_closed(self, rep: OrderClosed) -> ReportResult:
        trigger = CLOSE_TRIGGERS.get(rep.status)
        if trigger is None:
            return ReportResult(error=f"order {rep.order_id} closed with non-closing status "
                                      f"{rep.status.value}")
        order = self._orders.get(rep.order_id)
        if order is not None and order.status is rep.status:
            return ReportResult(duplicate=True)
        if order is None:  # refused before acknowledgement (e.g. kill switch)
            order = self._new_order(rep)
        result = self._move(order, trigger)
        if result.ok:
            order.reason = rep.reason
        return result

    def _on_fill(self, fill: OrderFilled) -> ReportResult:
        if fill.fill_id in self._seen_fills:
            return ReportResult(duplicate=True)
        order = self._orders.get(fill.order_id)
        if order is None:
            return ReportResult(error=f"fill {fill.fill_id} for unknown order {fill.order_id}")
        trigger = FILL_TRIGGERS.get(fill.status)
        if trigger is None:
            return ReportResult(error=f"fill {fill.fill_id} reports non-fill status "
                                      f"{fill.status.value}")
        if fill.base_quantity <= 0:
            return ReportResult(error=f"fill {fill.fill_id} has base_quantity "
                                      f"{fill.base_quantity} <= 0")
        moved = self._move(order, trigger)
        if not moved.ok:
            return moved
        self._seen_fills.add(fill.fill_id)
        order.filled_quantity += fill.quantity

        pos = self._positions.get(fill.position_key)
        if pos is None:
            pos = Position(fill.position_key, fill.engine, fill.strategy,
                           self._dust.get(fill.engine, ZERO))
            self._positions[fill.position_key] = pos
        closed = pos.apply_fill(fill.side.sign * fill.base_quantity, fill.price, fill.fee,
                                fill.ts_event, fill.fill_id, fill.intent_id,
                                order.opportunity_id)
        pos.instrument_id = fill.instrument_id
        pos.mark(fill.price)
        events: list[Event] = [self._position_updated(
            pos, fill, ts=fill.ts_event, event_id=derived_id("evt", "position", fill.fill_id))]
        if closed is not None:
            held = _HeldTrade(closed, fill.engine, fill.strategy, fill,
                              close_cause(order, self._orders.get(order.parent_order_id or "")))
            if closed.opening_intent_id in self._intents:
                events.append(self._trade_closed(held))
            else:
                self._held.append(held)
        return ReportResult(events=tuple(events))

    def _new_order(self, rep: OrderSubmitted | OrderClosed) -> OrderRecord:
        info = self._intents.get(rep.intent_id)
        order = OrderRecord(
            order_id=rep.order_id, intent_id=rep.intent_id,
            opportunity_id=info.opportunity_id if info else None, engine=rep.engine,
            strategy=rep.strategy, position_key=rep.position_key,
            instrument_id=rep.instrument_id)
        self._orders[rep.order_id] = order
        return order

    def _move(self, order: OrderRecord, trigger: OrderTrigger) -> ReportResult:
        try:
            order.machine.apply(trigger)
        except IllegalTransition as e:
            return ReportResult(error=f"{type(e).__name__}: order {order.order_id}: {e}")
        return ReportResult()

    # ---- event builders -----------------------------------------------------------------

    def _position_updated(self, pos: Position, cause: Event, ts: int,
                          event_id: str) -> PositionUpdated:
        return PositionUpdated(
            event_id=event_id, ts_event=ts, ts_init=self._clock.now_ns(), **cause.caused(),
            position_key=pos.position_key, engine=pos.engine, strategy=pos.strategy,
            quantity=pos.quantity, avg_price=pos.avg_price, realized_pnl=pos.realized_pnl,
            unrealized_pnl=pos.unrealized_pnl, fees=pos.fees, mark_price=pos.mark_price,
        )

    def _trade_closed(self, held: _HeldTrade) -> TradeClosed:
        t = held.trade
        trade_id = derived_id("trd", t.position_key, t.opening_fill_id, t.closing_fill_id)
        return TradeClosed(
            event_id=derived_id("evt", "trade", trade_id), ts_event=t.closed_ts,
            ts_init=self._clock.now_ns(), **held.cause.caused(),
            trade_id=trade_id, position_key=t.position_key, engine=held.engine,
            strategy=held.strategy, intent_ids=t.intent_ids,
            opportunity_ids=t.opportunity_ids,
            policy_version=self._intents[t.opening_intent_id].policy_version,
            quantity=t.quantity, entry_price=t.entry_price, exit_price=t.exit_price,
            gross_pnl=t.gross_pnl, fees=t.fees, realized_pnl=t.realized_pnl,
            opened_ts=t.opened_ts, closed_ts=t.closed_ts, cause=held.close_cause,
        )

    def _view(self, pos: Position) -> PositionView:
        return PositionView(
            position_key=pos.position_key, engine=pos.engine, strategy=pos.strategy,
            quantity=pos.quantity, avg_price=pos.avg_price, realized_pnl=pos.realized_pnl,
            unrealized_pnl=pos.unrealized_pnl, fees=pos.fees, mark_price=pos.mark_price)


def _order_state(o: OrderRecord) -> dict[str, Any]:
    return {
        "order_id": o.order_id, "intent_id": o.intent_id, "opportunity_id": o.opportunity_id,
        "engine": o.engine.value, "strategy": o.strategy, "position_key": o.position_key,
        "instrument_id": o.instrument_id, "side": o.side.value if o.side else None,
        "order_type": o.order_type.value if o.order_type else None,
        "quantity": None if o.quantity is None else str(o.quantity),
        "filled_quantity": str(o.filled_quantity), "parent_order_id": o.parent_order_id,
        "reason": o.reason, "status": o.status.value,
    }


def _order_from_state(d: dict[str, Any]) -> OrderRecord:
    return OrderRecord(
        order_id=d["order_id"], intent_id=d["intent_id"], opportunity_id=d["opportunity_id"],
        engine=Engine(d["engine"]), strategy=d["strategy"], position_key=d["position_key"],
        instrument_id=d["instrument_id"],
        side=OrderSide(d["side"]) if d["side"] else None,
        order_type=OrderType(d["order_type"]) if d["order_type"] else None,
        quantity=None if d["quantity"] is None else Decimal(d["quantity"]),
        filled_quantity=Decimal(d["filled_quantity"]), parent_order_id=d["parent_order_id"],
        reason=d["reason"], machine=OrderStateMachine(OrderStatus(d["status"])))
