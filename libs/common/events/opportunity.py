"""Opportunities found by the scanner (`opportunities` stream)."""
from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

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
    levels_used: int = Field(default=0, ge=0)  # book levels the walk took (v2)
    chain_id: int | None = None  # CROSS_CHAIN legs: the chain this leg trades on (v2)


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
    # v2: costs beyond taker fees, in the same unit as net_pnl (withdrawal/transfer, bridge,
    # gas), already subtracted from net_pnl; and the freshness budget: the opportunity is not
    # to be acted on after ts_event + ttl_ns (0 = no budget stated).
    transfer_cost: Money = Decimal(0)
    ttl_ns: int = Field(default=0, ge=0)

    schema_version: int = 2
    SUPPORTED_VERSIONS: ClassVar[frozenset[int]] = frozenset({1, 2})


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


class BinarySignalDetected(Event):
    """A short-expiry binary option whose payout-adjusted expected value is positive."""

    kind: Literal["opportunity.binary"] = "opportunity.binary"
    opportunity_id: str
    engine: Literal[Engine.BINARY] = Engine.BINARY
    strategy: str
    instrument_id: str
    direction: Literal["CALL", "PUT"]
    expiry_s: int = Field(gt=0)
    entry_price: Money  # the price in force when the signal was made
    probability: Money  # estimated probability of finishing in the money, 0..1
    payout_pct: Money  # paid on a win, % of stake
    expected_value: Money  # per unit stake: p_win * payout_pct / 100 - p_loss (a tie refunds)
    stake: Money
    notional: Money  # = stake, for the risk gate
    volatility: Money  # per-second realized volatility the probability came from
    drift: Money
    quote_age_ns: int = Field(ge=0)
    features: dict[str, Money] = Field(default_factory=dict)


class FeaturesComputed(Event):
    """Named numeric features of one instrument at one time (e.g. Fibonacci levels and
    clusters), published on `md.signals` for scanners and decision to use."""

    kind: Literal["md.features"] = "md.features"
    instrument_id: str
    source: str  # what computed them, e.g. "fibonacci"
    features: dict[str, Money]
