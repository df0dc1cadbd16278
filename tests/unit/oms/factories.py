"""Builders for OMS tests: execution reports and intents with every field defaulted."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from libs.common.enums import Engine, OrderSide, OrderStatus, OrderType
from libs.common.events import (
    BarClosed,
    IntentLeg,
    OrderClosed,
    OrderFilled,
    OrderIntentApproved,
    OrderSubmitted,
)

D = Decimal
KEY = "ARBITRAGE:BTC:int-1"
FX_KEY = "FOREX:GBP/USD.FXCM:int-fx"
GBPUSD = "GBP/USD.FXCM"


def _names(kw: dict[str, Any]) -> dict[str, Any]:
    fx = kw.get("position_key") == FX_KEY
    return dict(intent_id="int-fx" if fx else "int-1",
                engine=Engine.FOREX if fx else Engine.ARBITRAGE,
                strategy="fx_rsi_reversion" if fx else "cross_venue_2leg",
                position_key=FX_KEY if fx else KEY)


def intent(**kw: Any) -> OrderIntentApproved:
    base: dict[str, Any] = _names(kw) | dict(
        ts_event=1, opportunity_id="opp-1", policy_version=7,
        legs=(IntentLeg(leg_id="leg0", instrument_id="BTC/USDT.BINANCE", side=OrderSide.BUY,
                        order_type=OrderType.MARKET, quantity=D("0.01"),
                        base_quantity=D("0.01")),),
        notional=D("500"), signal_ts=1)
    return OrderIntentApproved(**(base | kw))


def submitted(order_id: str = "ord-1", **kw: Any) -> OrderSubmitted:
    base: dict[str, Any] = _names(kw) | dict(
        event_id=f"evt-sub-{order_id}", ts_event=1, order_id=order_id, opportunity_id="opp-1",
        instrument_id="BTC/USDT.BINANCE", side=OrderSide.BUY, order_type=OrderType.MARKET,
        quantity=D("0.01"))
    return OrderSubmitted(**(base | kw))


def filled(order_id: str = "ord-1", *, side: OrderSide = OrderSide.BUY, qty: str = "0.01",
           price: str = "50000", fee: str = "0", ts: int = 2, fill_id: str | None = None,
           **kw: Any) -> OrderFilled:
    fid = fill_id or f"fill-{order_id}"
    base: dict[str, Any] = _names(kw) | dict(
        event_id=f"evt-{fid}", ts_event=ts, fill_id=fid, order_id=order_id,
        instrument_id="BTC/USDT.BINANCE", side=side, price=D(price), quantity=D(qty),
        base_quantity=D(qty), fee=D(fee), leaves_quantity=D(0), status=OrderStatus.FILLED,
        levels_taken=1, book_ts=ts)
    return OrderFilled(**(base | kw))


def closed(order_id: str = "ord-1", status: OrderStatus = OrderStatus.CANCELLED,
           reason: str = "why", **kw: Any) -> OrderClosed:
    base: dict[str, Any] = _names(kw) | dict(
        event_id=f"evt-closed-{order_id}", ts_event=3, order_id=order_id,
        instrument_id="BTC/USDT.BINANCE", status=status, reason=reason)
    return OrderClosed(**(base | kw))


def fx_bar(ts: int, bid_close: str, ask_close: str, instrument_id: str = GBPUSD) -> BarClosed:
    bid, ask = D(bid_close), D(ask_close)
    return BarClosed(
        ts_event=ts, instrument_id=instrument_id, venue="FXCM", symbol="GBPUSD", base="GBP",
        quote="USD", timeframe_s=60, ts_open=max(0, ts - 60_000_000_000), bid_open=bid,
        bid_high=bid, bid_low=bid, bid_close=bid, ask_open=ask, ask_high=ask, ask_low=ask,
        ask_close=ask)
