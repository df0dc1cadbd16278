"""Stub factories: every field defaulted to something valid; override what the test is about."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from libs.common.enums import Engine, OrderSide
from libs.common.events import (
    ArbitrageOpportunityDetected,
    ForexSignalDetected,
    OpportunityLeg,
    PositionUpdated,
    TradeClosed,
)

D = Decimal


def arb_leg(**kw: Any) -> OpportunityLeg:
    base: dict[str, Any] = dict(instrument_id="BTC/USDT.BINANCE", side=OrderSide.BUY,
                                quantity=D("0.01"), native_quantity=D("0.01"), vwap=D("60000"),
                                best_price=D("60000"), fee_rate=D("0.001"), fee=D("0.6"),
                                quote_ts=1_000, book_sequence=1)
    return OpportunityLeg(**(base | kw))


def arbitrage(**kw: Any) -> ArbitrageOpportunityDetected:
    base: dict[str, Any] = dict(
        ts_event=1_000, opportunity_id="opp-1", strategy="cross_venue_2leg", base="BTC",
        quote="USD",
        legs=(arb_leg(), arb_leg(instrument_id="BTC/USDT-PERP.BINANCE_USDM", side=OrderSide.SELL,
                                 vwap=D("60020"), best_price=D("60020"), fee_rate=D("0.0005"),
                                 fee=D("0.3001"))),
        quantity=D("0.01"), notional=D("600"), gross_pnl=D("0.2"), fees=D("0.9001"),
        net_pnl=D("-0.7001"), gross_edge_bps=D("3.33"), net_edge_bps=D("-11.67"),
        oldest_quote_age_ns=0)
    return ArbitrageOpportunityDetected(**(base | kw))


def forex_signal(**kw: Any) -> ForexSignalDetected:
    base: dict[str, Any] = dict(
        ts_event=60_000_000_000, opportunity_id="opp-fx-1", strategy="fx_rsi_reversion",
        instrument_id="GBP/USD.FXCM", side=OrderSide.BUY, entry_price=D("1.57600"),
        take_profit=D("1.57700"), stop_loss=D("1.57525"), atr=D("0.0005"), rsi=D("31"),
        sma=D("1.5761"), quantity=D("10000"), notional=D("15760"), spread_bps=D("0.6"),
        quote_age_ns=0)
    return ForexSignalDetected(**(base | kw))


def position(**kw: Any) -> PositionUpdated:
    base: dict[str, Any] = dict(ts_event=1, position_key="FOREX:GBP/USD.FXCM:int-1",
                                engine=Engine.FOREX, strategy="fx_rsi_reversion",
                                quantity=D("10000"), avg_price=D("1.576"), realized_pnl=D(0),
                                unrealized_pnl=D(0), fees=D(0))
    return PositionUpdated(**(base | kw))


def trade(**kw: Any) -> TradeClosed:
    base: dict[str, Any] = dict(
        ts_event=1, trade_id="trd-1", position_key="FOREX:GBP/USD.FXCM:int-1",
        engine=Engine.FOREX, strategy="fx_rsi_reversion", intent_ids=("int-1",),
        opportunity_ids=("opp-1",), policy_version=0, quantity=D("10000"),
        entry_price=D("1.576"), exit_price=D("1.577"), gross_pnl=D("10"), fees=D(0),
        realized_pnl=D("10"), opened_ts=0, closed_ts=1)
    return TradeClosed(**(base | kw))
