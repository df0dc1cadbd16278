"""Opportunities found by the scanner (`opportunities` stream)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from libs.common.enums import Engine, OrderSide, RouteType
from libs.common.events.base import Event, Money, Record


class OpportunityLeg(Record):
    """One leg of an arbitrage, priced by walking the book for `quantity`."""

    instrument_id: str
    side: OrderSide
    quantity: Money  # base units
    native_quantity: Money  # venue units (contracts for INVERSE)
    vwap: Money
    best_price: Money
    fee_rate: Money
    fee: Money  # quote units
    quote_ts: int = Field(ge=0)  # ts_event of the book this leg was priced on
    book_sequence: int = Field(ge=0)


class ArbitrageOpportunityDetected(Event):
    """Buy on one venue, sell on another; edges are after walking both books for `quantity`."""

    kind: Literal["opportunity.arbitrage"] = "opportunity.arbitrage"
    opportunity_id: str
    engine: Literal[Engine.ARBITRAGE] = Engine.ARBITRAGE
    strategy: str
    route: RouteType = RouteType.TWO_HOP
    base: str
    quote: str
    legs: tuple[OpportunityLeg, ...]
    # TWO_HOP: base units, the same on every leg; notional in quote units at the buy leg's VWAP.
    # THREE_HOP/FOUR_HOP: `base` = `quote` = the start currency of the cycle; quantity =
    # notional = what the first leg spends; PnL and fees in the start currency.
    quantity: Money
    notional: Money
    gross_pnl: Money
    fees: Money
    net_pnl: Money
    gross_edge_bps: Money
    net_edge_bps: Money
    oldest_quote_age_ns: int = Field(ge=0)


class ForexSignalDetected(Event):
    """An entry signal with ATR-based take-profit and stop-loss."""

    kind: Literal["opportunity.forex"] = "opportunity.forex"
    opportunity_id: str
    engine: Literal[Engine.FOREX] = Engine.FOREX
    strategy: str
    instrument_id: str
    side: OrderSide
    entry_price: Money  # the closing ask (buy) or bid (sell) of the signal bar
    take_profit: Money
    stop_loss: Money
    atr: Money
    rsi: Money
    sma: Money
    quantity: Money  # base currency units
    notional: Money  # quote units
    spread_bps: Money
    quote_age_ns: int = Field(ge=0)
