"""Every enum of the product. Values are the wire form."""
from __future__ import annotations

from enum import IntEnum, StrEnum


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    OPEN = "OPEN"
    FILLED = "FILLED"
    PARTIAL = "PARTIAL"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    LONG = "LONG"
    SHORT = "SHORT"

    @property
    def sign(self) -> int:
        """+1 for sides that add to a position, -1 for sides that take from it."""
        return 1 if self in (OrderSide.BUY, OrderSide.LONG) else -1


class RouteType(StrEnum):
    TWO_HOP = "TWO_HOP"
    THREE_HOP = "THREE_HOP"
    FOUR_HOP = "FOUR_HOP"
    CROSS_CHAIN = "CROSS_CHAIN"


class ChainId(IntEnum):
    ETHEREUM = 1
    POLYGON = 137
    ARBITRUM = 42161
    OPTIMISM = 10
    BASE = 8453
    BSC = 56
    AVALANCHE = 43114
    FANTOM = 250


class TokenType(StrEnum):
    NATIVE = "NATIVE"
    BRIDGED = "BRIDGED"
    WRAPPED = "WRAPPED"
    LIQUID_STAKING = "LIQUID_STAKING"
    SYNTHETIC = "SYNTHETIC"


class Engine(StrEnum):
    ARBITRAGE = "ARBITRAGE"
    FOREX = "FOREX"
    BINARY = "BINARY"


class Mode(StrEnum):
    DEMO = "DEMO"
    PAPER = "PAPER"
    SHADOW = "SHADOW"
    LIVE = "LIVE"


class DenialReason(StrEnum):
    """Why the risk gate refused an opportunity. Each is a named, countable outcome."""

    KILL_SWITCH = "KILL_SWITCH"
    STALE_QUOTE = "STALE_QUOTE"
    MIN_NET_EDGE = "MIN_NET_EDGE"
    MAX_NOTIONAL = "MAX_NOTIONAL"
    MAX_OPEN_POSITIONS = "MAX_OPEN_POSITIONS"
    POLICY_DISABLED = "POLICY_DISABLED"
    REDUCE_ONLY = "REDUCE_ONLY"  # kill switch in REDUCING: only exposure-reducing orders
    DAILY_LOSS = "DAILY_LOSS"
    DRAWDOWN = "DRAWDOWN"
    LOSS_STREAK = "LOSS_STREAK"
    COOLDOWN = "COOLDOWN"
    EXPOSURE = "EXPOSURE"  # per-asset or portfolio-wide exposure limit
    RATE_LIMIT = "RATE_LIMIT"  # order rate throttle
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    MIN_NOTIONAL = "MIN_NOTIONAL"  # venue min-notional / lot rules


class HealthState(StrEnum):
    RUNNING = "RUNNING"
    DEGRADED = "DEGRADED"
    FAULTED = "FAULTED"


class InstrumentKind(StrEnum):
    """How an instrument's size is quoted; decides how a quantity converts to base units."""

    SPOT = "SPOT"  # size in base asset
    LINEAR = "LINEAR"  # size in base asset (USDT-margined perp)
    INVERSE = "INVERSE"  # size in contracts worth `contract_size` quote units each
    FX = "FX"  # size in base currency units


class CloseCause(StrEnum):
    """Why a position went flat."""

    HEDGED = "HEDGED"  # arbitrage legs netted out
    TAKE_PROFIT = "TAKE_PROFIT"
    STOP_LOSS = "STOP_LOSS"
    EXPIRY = "EXPIRY"
    UNWIND = "UNWIND"  # a multi-leg arbitrage leg failed and the rest was unwound
    MANUAL = "MANUAL"
    OTHER = "OTHER"
