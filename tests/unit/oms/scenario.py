"""A scripted OMS input sequence shared by the restart tests: an arbitrage pair with a partial
fill, a forex bracket that takes profit, one that stops out, a cancelled order, and the
redeliveries a restart produces (a fill and an acknowledgement seen twice)."""
from __future__ import annotations

from libs.common.enums import Engine, OrderSide, OrderStatus, OrderType
from libs.common.events import Event
from tests.unit.oms.factories import FX_KEY, GBPUSD, closed, filled, intent, submitted

FX2_KEY = "FOREX:GBP/USD.FXCM:int-fx2"
_FX2 = dict(intent_id="int-fx2", position_key=FX2_KEY, engine=Engine.FOREX,
            strategy="fx_rsi_reversion")


def script() -> list[Event]:
    """Inputs in stream order; intents precede the reports of their orders."""
    fx = dict(position_key=FX_KEY, instrument_id=GBPUSD)
    fx2 = _FX2 | dict(instrument_id=GBPUSD)
    return [
        intent(),
        submitted("ord-1", side=OrderSide.BUY),
        submitted("ord-2", side=OrderSide.SELL),
        filled("ord-1", qty="0.004", price="50000", fee="0.2", fill_id="f1a",
               status=OrderStatus.PARTIAL, leaves_quantity="0.006"),
        filled("ord-1", qty="0.006", price="50010", fee="0.3", fill_id="f1b", ts=3),
        filled("ord-2", side=OrderSide.SELL, price="50100", fee="0.25", ts=4),
        filled("ord-2", side=OrderSide.SELL, price="50100", fee="0.25", ts=4),  # redelivered
        submitted("ord-3", side=OrderSide.BUY),
        closed("ord-3", status=OrderStatus.CANCELLED, reason="insufficient depth"),
        intent(position_key=FX_KEY, opportunity_id="opp-fx", policy_version=8),
        submitted("fx-entry", **fx, quantity="1000"),
        filled("fx-entry", **fx, qty="1000", price="1.2500", fee="0.05", ts=10),
        submitted("fx-tp", **fx, side=OrderSide.SELL, order_type=OrderType.LIMIT,
                  quantity="1000", limit_price="1.2600", parent_order_id="fx-entry"),
        filled("fx-tp", **fx, side=OrderSide.SELL, qty="1000", price="1.2600", fee="0.05",
               ts=20),
        intent(**_FX2, opportunity_id="opp-fx2", policy_version=8),
        submitted("fx2-entry", **fx2, quantity="2000"),
        submitted("fx2-entry", **fx2, quantity="2000", event_id="evt-sub-again"),  # order id
        filled("fx2-entry", **fx2, qty="2000", price="1.2550", fee="0.1", ts=30),
        submitted("fx2-sl", **fx2, side=OrderSide.SELL, order_type=OrderType.STOP,
                  quantity="2000", stop_price="1.2500", parent_order_id="fx2-entry"),
        filled("fx2-sl", **fx2, side=OrderSide.SELL, qty="2000", price="1.2498", fee="0.1",
               ts=40),
    ]
