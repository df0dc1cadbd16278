"""What every gate reads: the order under check, a snapshot of the shared risk state, the
limits and the strategy's policy. Pure: no I/O, no wall clock."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from libs.common.enums import DenialReason, Engine
from libs.common.events import InstrumentInfo

NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S


@dataclass(frozen=True)
class Denial:
    """A gate's refusal: the reason and the figures that tripped it, readable."""

    reason: DenialReason
    detail: str


@dataclass(frozen=True)
class RiskLimits:
    """Every limit the gates apply. Money in quote units; 0 switches a limit off where noted."""

    max_notional: dict[Engine, Decimal] = field(default_factory=lambda: {
        Engine.ARBITRAGE: Decimal("5000"), Engine.FOREX: Decimal("50000"),
        Engine.BINARY: Decimal("100")})
    max_open_positions: int = 5
    min_net_edge_bps: Decimal = Decimal("0")  # arbitrage must be profitable after costs
    max_quote_age_ns: int = 500_000_000
    kill_switch: bool = False
    equity: Decimal = Decimal("100000")  # starting equity; the PnL curve is added to it
    max_daily_loss: Decimal = Decimal("0")  # 0: off
    max_drawdown_pct: Decimal = Decimal("0")  # of the equity peak; 0: off
    max_loss_streak: int = 0  # 0: off
    loss_streak_pause_ns: int = 3_600 * NS_PER_S
    cooldown_after_loss_ns: int = 0  # 0: off
    max_asset_exposure: Decimal = Decimal("0")  # 0: off
    max_total_exposure: Decimal = Decimal("0")  # 0: off
    max_intents_per_window: int = 0  # 0: off
    rate_window_ns: int = 60 * NS_PER_S
    # an approved intent holds its slot until its position shows up; if it never does (the
    # orders failed), the reservation lapses after this much event time
    reservation_ttl_ns: int = 60 * NS_PER_S
    balances: dict[str, Decimal] = field(default_factory=dict)  # "ENGINE:CCY" -> balance


@dataclass(frozen=True)
class Policy:
    version: int
    enabled: bool
    size_multiplier: Decimal
    trades: int = 0
    wins: int = 0


DEFAULT_POLICY = Policy(version=0, enabled=True, size_multiplier=Decimal(1))


@dataclass(frozen=True)
class OpenPosition:
    """One open (or reserved) position as the risk state holds it."""

    key: str
    engine: Engine
    asset: str
    quote: str
    subject: str  # the instrument (forex, binary) or the base asset (arbitrage)
    quantity: Decimal  # signed, base units
    notional: Decimal  # absolute, quote units
    unrealized_pnl: Decimal = Decimal(0)
    reserved_ts: int | None = None  # set while only reserved (no position update seen yet)


@dataclass(frozen=True)
class RiskSnapshot:
    """The shared risk state at one moment, as every replica sees it."""

    kill_active: bool = False
    reduce_only: bool = False
    positions: tuple[OpenPosition, ...] = ()
    day_pnl: Decimal = Decimal(0)  # realized PnL of the UTC day asked for
    realized_pnl: Decimal = Decimal(0)
    pnl_peak: Decimal = Decimal(0)  # highest realized + unrealized seen
    loss_streak: int = 0
    last_loss_ts: int | None = None
    intents_in_window: int = 0

    @property
    def unrealized_pnl(self) -> Decimal:
        return sum((p.unrealized_pnl for p in self.positions), Decimal(0))

    def expired(self, ts_event: int, ttl_ns: int) -> tuple[str, ...]:
        """Keys of reservations no position update confirmed within `ttl_ns`."""
        return tuple(p.key for p in self.positions
                     if p.reserved_ts is not None and p.reserved_ts + ttl_ns < ts_event)

    def asset_exposure(self, asset: str) -> Decimal:
        return sum((p.notional for p in self.positions if p.asset == asset), Decimal(0))

    @property
    def total_exposure(self) -> Decimal:
        return sum((p.notional for p in self.positions), Decimal(0))

    def open_notional(self, engine: Engine, quote: str) -> Decimal:
        return sum((p.notional for p in self.positions
                    if p.engine is engine and p.quote == quote), Decimal(0))


@dataclass(frozen=True)
class OrderView:
    """The (sized) order an opportunity would become, in the terms the gates need."""

    opportunity_id: str
    engine: Engine
    strategy: str
    asset: str
    quote: str
    subject: str
    signed_quantity: Decimal  # base units, + adds long, - adds short
    notional: Decimal
    ts_event: int
    age_ns: int
    ttl_ns: int = 0
    net_edge_bps: Decimal | None = None
    instrument_ids: tuple[str, ...] = ()
    quantities: tuple[Decimal, ...] = ()  # per instrument id, venue units, after sizing
    reducible: bool = True  # False: can never reduce an open position (arbitrage, binary)


@dataclass(frozen=True)
class GateContext:
    order: OrderView
    snapshot: RiskSnapshot
    limits: RiskLimits
    policy: Policy
    now_ns: int
    instruments: Mapping[str, InstrumentInfo] = field(default_factory=dict)

    def is_reducing(self) -> bool:
        """True if the order would shrink the absolute size of an open position."""
        o = self.order
        if not o.reducible:
            return False
        held = sum((p.quantity for p in self.snapshot.positions if p.subject == o.subject),
                   Decimal(0))
        return held != 0 and abs(held + o.signed_quantity) < abs(held)


class Gate(Protocol):
    name: str

    def check(self, ctx: GateContext) -> Denial | None: ...


def money(x: Decimal) -> str:
    return f"{x:.2f}"
