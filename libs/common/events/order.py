"""Order reports from execution (`orders.reports`)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from libs.common.enums import Engine, OrderSide, OrderStatus, OrderType
from libs.common.events.base import Event, Money


class OrderSubmitted(Event):
    """Execution accepted an order from an intent (PENDING -> OPEN)."""

    kind: Literal["order.submitted"] = "order.submitted"
    order_id: str
    intent_id: str
    opportunity_id: str
    engine: Engine
    strategy: str
    position_key: str
    instrument_id: str
    side: OrderSide
    order_type: OrderType
    quantity: Money  # venue-native units
    limit_price: Money | None = None
    stop_price: Money | None = None
    parent_order_id: str | None = None  # bracket exits name their entry order


class OrderFilled(Event):
    """A (partial) fill. `status` is the order's status after it."""

    kind: Literal["order.filled"] = "order.filled"
    fill_id: str
    order_id: str
    intent_id: str
    engine: Engine
    strategy: str
    position_key: str
    instrument_id: str
    side: OrderSide
    price: Money  # VWAP of the levels taken, quote per base unit
    quantity: Money  # venue-native units
    base_quantity: Money  # base units, signed by side in the OMS
    fee: Money  # quote units
    liquidity: Literal["TAKER", "MAKER"] = "TAKER"
    leaves_quantity: Money
    status: OrderStatus
    levels_taken: int = Field(ge=0)
    book_ts: int = Field(ge=0, description="ts_event of the book or bar the fill was priced on")


class OrderClosed(Event):
    """The order ended without (fully) filling: CANCELLED, REJECTED or EXPIRED, with why."""

    kind: Literal["order.closed"] = "order.closed"
    order_id: str
    intent_id: str
    engine: Engine
    strategy: str
    position_key: str
    instrument_id: str
    status: OrderStatus
    reason: str
