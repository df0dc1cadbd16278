"""A scripted order trail for the ledger, in stream order:

- opp-a (arbitrage, scanner net_pnl 1.20 on 600 notional): approved as int-a under policy 3,
  two legs filled (fees 0.60 + 0.30), closed as trd-a with realized 0.70;
- opp-b (arbitrage): denied MIN_NET_EDGE under policy 3;
- opp-c (forex BUY at 1.57600): approved as int-c, entry order expired unfilled;
- opp-d (forex BUY at 1.57600): approved as int-d, entry filled at 1.57610, its bracket exit
  (child of ord-d1) filled at 1.57700, closed as trd-d with realized 8.10;
- fill-x of int-x, whose intent and opportunity were never seen.
"""
from __future__ import annotations

from decimal import Decimal as D

from libs.common.enums import DenialReason, Engine, OrderSide, OrderStatus, OrderType
from libs.common.events import Event
from libs.common.testing.factories import (
    arbitrage,
    closed,
    denied,
    filled,
    forex_signal,
    intent,
    submitted,
    trade,
)

ARB = dict(engine=Engine.ARBITRAGE, strategy="cross_venue_2leg")
FX = dict(engine=Engine.FOREX, strategy="fx_rsi_reversion")


def script() -> list[Event]:
    """The events above, each with its own event id."""
    return [
        arbitrage(opportunity_id="opp-a", ts_event=100, net_pnl=D("1.20"), notional=D("600")),
        intent(intent_id="int-a", opportunity_id="opp-a", policy_version=3, ts_event=101,
               position_key="ARBITRAGE:BTC:int-a", **ARB),
        submitted(order_id="ord-a1", intent_id="int-a", opportunity_id="opp-a",
                  side=OrderSide.BUY, order_type=OrderType.MARKET, parent_order_id=None,
                  stop_price=None, **ARB),
        submitted(order_id="ord-a2", intent_id="int-a", opportunity_id="opp-a",
                  side=OrderSide.SELL, order_type=OrderType.MARKET, parent_order_id=None,
                  stop_price=None, **ARB),
        filled(fill_id="fill-a1", order_id="ord-a1", intent_id="int-a", side=OrderSide.BUY,
               price=D("60000"), base_quantity=D("0.01"), fee=D("0.60"), **ARB),
        filled(fill_id="fill-a2", order_id="ord-a2", intent_id="int-a", side=OrderSide.SELL,
               price=D("60160"), base_quantity=D("0.01"), fee=D("0.30"), **ARB),
        trade(trade_id="trd-a", intent_ids=("int-a",), opportunity_ids=("opp-a",),
              gross_pnl=D("1.60"), fees=D("0.90"), realized_pnl=D("0.70"), closed_ts=110,
              ts_event=110, **ARB),
        arbitrage(opportunity_id="opp-b", ts_event=200),
        denied(opportunity_id="opp-b", reason=DenialReason.MIN_NET_EDGE, policy_version=3,
               ts_event=201),
        forex_signal(opportunity_id="opp-c", ts_event=300),
        intent(intent_id="int-c", opportunity_id="opp-c", ts_event=301),
        submitted(order_id="ord-c1", intent_id="int-c", opportunity_id="opp-c",
                  side=OrderSide.BUY, order_type=OrderType.LIMIT, parent_order_id=None,
                  stop_price=None, limit_price=D("1.5760")),
        closed(order_id="ord-c1", intent_id="int-c", status=OrderStatus.EXPIRED,
               reason="limit not reached", **FX),
        forex_signal(opportunity_id="opp-d", ts_event=400),
        intent(intent_id="int-d", opportunity_id="opp-d", policy_version=4, ts_event=401),
        submitted(order_id="ord-d1", intent_id="int-d", opportunity_id="opp-d",
                  side=OrderSide.BUY, order_type=OrderType.MARKET, parent_order_id=None,
                  stop_price=None),
        filled(fill_id="fill-d1", order_id="ord-d1", intent_id="int-d", side=OrderSide.BUY,
               price=D("1.57610"), quantity=D("10000"), base_quantity=D("10000"),
               fee=D("0.45"), **FX),
        submitted(order_id="ord-d2", intent_id="int-d", opportunity_id="opp-d",
                  side=OrderSide.SELL, order_type=OrderType.LIMIT, parent_order_id="ord-d1",
                  stop_price=None, limit_price=D("1.57700")),
        filled(fill_id="fill-d2", order_id="ord-d2", intent_id="int-d", side=OrderSide.SELL,
               price=D("1.57700"), quantity=D("10000"), base_quantity=D("10000"),
               fee=D("0.45"), **FX),
        trade(trade_id="trd-d", intent_ids=("int-d",), opportunity_ids=("opp-d",),
              gross_pnl=D("9.00"), fees=D("0.90"), realized_pnl=D("8.10"), closed_ts=410,
              ts_event=410, **FX),
        filled(fill_id="fill-x", order_id="ord-x", intent_id="int-x", ts_event=500,
               fee=D("0.10"), **ARB),
    ]
