"""The risk gate: an opportunity becomes an approved intent or a named denial.

Per opportunity: size it (domain/sizing.py), read one snapshot of the shared risk state, run
the gates in GATE_ORDER (domain/gates/__init__.py) — the first failing gate names the
denial — then reserve the exposure slot atomically in the shared state (which re-runs the
open-positions, exposure and rate gates on the state as it is at that instant), and only then
approve. The logic here is pure; the shared state is reached through the `RiskState` port."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Protocol

from libs.common.clock import Clock
from libs.common.enums import Engine, OrderSide, OrderType
from libs.common.events import (
    ArbitrageOpportunityDetected,
    BinarySignalDetected,
    Bracket,
    ForexSignalDetected,
    InstrumentInfo,
    InstrumentsUpdated,
    IntentLeg,
    KillSwitchSet,
    OrderDenied,
    OrderIntentApproved,
    PolicyUpdated,
    PositionUpdated,
    TradeClosed,
)
from libs.common.identifiers import derived_id
from services.decision.domain.gates import (
    DEFAULT_POLICY,
    GATE_ORDER,
    RESERVATION_GATES,
    Denial,
    GateContext,
    OpenPosition,
    OrderView,
    Policy,
    RiskLimits,
    RiskSnapshot,
    first_denial,
)
from services.decision.domain.sizing import (
    ONE,
    SizingConfig,
    SizingMode,
    atr_units,
    binary_stake,
    fixed_fraction,
    kelly_fraction,
    quantize_down,
    scale_factor,
)

Opportunity = ArbitrageOpportunityDetected | ForexSignalDetected | BinarySignalDetected
Check = Callable[[RiskSnapshot], Denial | None]
CENT = Decimal("0.01")

__all__ = ["DEFAULT_POLICY", "EventClock", "Opportunity", "Policy", "RiskGate", "RiskLimits",
           "RiskState", "asset_of"]


class RiskState(Protocol):
    """The risk state every replica shares (adapters/risk_state.py)."""

    async def snapshot(self, ts_event: int, rate_window_ns: int) -> RiskSnapshot: ...

    async def reserve(self, position: OpenPosition, intent_id: str, ts_event: int,
                      rate_window_ns: int, check: Check) -> Denial | None: ...

    async def update_position(self, position: OpenPosition) -> None: ...

    async def release(self, key: str) -> None: ...

    async def record_trade(self, trade_id: str, realized_pnl: Decimal,
                           closed_ts: int) -> bool: ...

    async def set_kill_switch(self, active: bool, reduce_only: bool, ts_event: int) -> bool:
        """Apply unless a control event newer than `ts_event` is in force."""
        ...


class EventClock:
    """Event time: the latest ts_event seen (replay / DEMO, where the wall clock is not the
    market's clock)."""

    def __init__(self) -> None:
        self._now = 0

    def observe(self, ts_event: int) -> None:
        self._now = max(self._now, ts_event)

    def now_ns(self) -> int:
        return self._now


def asset_of(instrument_or_asset: str) -> tuple[str, str]:
    """(asset, quote) of "GBP/USD.FXCM" -> ("GBP", "USD"); a bare asset has no quote."""
    symbol = instrument_or_asset.split(".", 1)[0]
    if "/" not in symbol:
        return symbol, ""
    base, quote = symbol.split("/", 1)
    return base, quote.split("-", 1)[0].split(":", 1)[0]


@dataclass
class _Sized:
    factor: Decimal
    view: OrderView


@dataclass
class RiskGate:
    """Decides opportunities against limits and the shared risk state."""

    limits: RiskLimits
    state: RiskState
    clock: Clock = field(default_factory=EventClock)
    sizing: dict[Engine, SizingMode] = field(default_factory=dict)
    sizing_config: SizingConfig = field(default_factory=SizingConfig)
    policies: dict[tuple[Engine, str], Policy] = field(default_factory=dict)
    instruments: dict[str, InstrumentInfo] = field(default_factory=dict)
    policy_version: int = 0
    kill_switch: str = "RUNNING"  # this replica's last view, for /health
    open_positions: int = 0  # this replica's last view, for /health
    seen: set[str] = field(default_factory=set)

    # ---- state from other streams --------------------------------------------------------
    async def on_position(self, p: PositionUpdated) -> None:
        subject = p.position_key.split(":")[1] if p.position_key.count(":") >= 2 else ""
        asset, quote = asset_of(subject)
        price = p.mark_price if p.mark_price is not None else p.avg_price
        await self.state.update_position(OpenPosition(
            key=p.position_key, engine=p.engine, asset=asset, quote=quote, subject=subject,
            quantity=p.quantity, notional=abs(p.quantity * price),
            unrealized_pnl=p.unrealized_pnl))

    async def on_trade(self, t: TradeClosed) -> None:
        await self.state.record_trade(t.trade_id, t.realized_pnl, t.closed_ts)
        await self.state.release(t.position_key)

    def on_instruments(self, e: InstrumentsUpdated) -> None:
        for info in e.instruments:
            self.instruments[info.instrument_id] = info

    def on_policy(self, p: PolicyUpdated) -> None:
        current = self.policies.get((p.engine, p.strategy))
        if current is None or p.version > current.version:
            self.policies[(p.engine, p.strategy)] = Policy(p.version, p.enabled,
                                                           p.size_multiplier, p.trades, p.wins)
        self.policy_version = max(self.policy_version, p.version)

    async def on_kill_switch(self, k: KillSwitchSet) -> None:
        """Apply a control event to the shared state (an older one than in force is ignored,
        so the control watcher and the group consumer may both apply it)."""
        if await self.state.set_kill_switch(k.active, k.reduce_only, k.ts_event):
            self.kill_switch = ("RUNNING" if not k.active
                                else "REDUCING" if k.reduce_only else "HALTED")

    def policy_for(self, engine: Engine, strategy: str) -> Policy:
        return self.policies.get((engine, strategy), DEFAULT_POLICY)

    # ---- the gate ------------------------------------------------------------------------
    async def decide(self, opp: Opportunity) -> OrderIntentApproved | OrderDenied | None:
        """None for an opportunity already decided (a redelivery)."""
        if opp.opportunity_id in self.seen:
            return None
        self.seen.add(opp.opportunity_id)
        if isinstance(self.clock, EventClock):
            self.clock.observe(opp.ts_event)
        lim = self.limits
        policy = self.policy_for(opp.engine, opp.strategy)
        snap = self._live(await self.state.snapshot(opp.ts_event, lim.rate_window_ns),
                          opp.ts_event)
        for key in snap.expired(opp.ts_event, lim.reservation_ttl_ns):
            await self.state.release(key)
        self.open_positions = len(snap.positions)
        sized = self._size(opp, policy, snap)

        def ctx_for(s: RiskSnapshot) -> GateContext:
            return GateContext(order=sized.view, snapshot=s, limits=lim, policy=policy,
                               now_ns=self.clock.now_ns(), instruments=self.instruments)

        denial = first_denial(ctx_for(snap), GATE_ORDER)
        if denial is None:
            intent = self._approve(opp, policy, sized)
            reserved = OpenPosition(
                key=intent.position_key, engine=opp.engine, asset=sized.view.asset,
                quote=sized.view.quote, subject=sized.view.subject,
                quantity=sized.view.signed_quantity, notional=sized.view.notional,
                reserved_ts=opp.ts_event)
            denial = await self.state.reserve(
                reserved, intent.intent_id, opp.ts_event, lim.rate_window_ns,
                lambda s: first_denial(ctx_for(self._live(s, opp.ts_event)),
                                       RESERVATION_GATES))
            if denial is None:
                return intent
        return self._deny(opp, policy, denial)

    def _live(self, snap: RiskSnapshot, ts_event: int) -> RiskSnapshot:
        """The snapshot the gates see: lapsed reservations left out; the kill switch from
        settings held even without a control event."""
        expired = set(snap.expired(ts_event, self.limits.reservation_ttl_ns))
        if expired:
            snap = replace(snap, positions=tuple(p for p in snap.positions
                                                 if p.key not in expired))
        if self.limits.kill_switch and not snap.kill_active:
            snap = replace(snap, kill_active=True, reduce_only=False)
        return snap

    def _deny(self, opp: Opportunity, policy: Policy, d: Denial) -> OrderDenied:
        net_bps = opp.net_edge_bps if isinstance(opp, ArbitrageOpportunityDetected) else None
        return OrderDenied(ts_event=opp.ts_event, opportunity_id=opp.opportunity_id,
                           engine=opp.engine, strategy=opp.strategy, reason=d.reason,
                           detail=d.detail, policy_version=policy.version,
                           net_edge_bps=net_bps, **opp.caused())

    # ---- sizing --------------------------------------------------------------------------
    def _size(self, opp: Opportunity, policy: Policy, snap: RiskSnapshot) -> _Sized:
        """The share of the priced size to take, and the order view at that size."""
        cfg = self.sizing_config
        equity = self.limits.equity + snap.realized_pnl + snap.unrealized_pnl
        mode = self.sizing.get(opp.engine, SizingMode.NONE)
        target: Decimal | None = None  # in notional (quote) units
        if mode is SizingMode.FIXED_FRACTION:
            target = fixed_fraction(equity, cfg.fraction)
        elif mode is SizingMode.KELLY:
            if isinstance(opp, BinarySignalDetected):
                f = kelly_fraction(opp.probability, opp.payout_pct / 100, cfg.kelly_max_fraction)
            elif policy.trades >= cfg.kelly_min_trades:
                f = kelly_fraction(Decimal(policy.wins) / Decimal(policy.trades),
                                   cfg.kelly_win_loss_ratio, cfg.kelly_max_fraction)
            else:
                f = cfg.fraction
            target = fixed_fraction(equity, f)
        elif mode is SizingMode.ATR and isinstance(opp, ForexSignalDetected):
            target = atr_units(cfg.risk_per_trade, opp.entry_price, opp.stop_loss) \
                * opp.entry_price
        elif mode is SizingMode.BINARY_STAKE and isinstance(opp, BinarySignalDetected):
            target = binary_stake(equity, cfg, snap.loss_streak)
        factor = ONE if target is None else scale_factor(target, opp.notional)
        factor *= min(ONE, max(Decimal(0), policy.size_multiplier))
        return _Sized(factor, self._view(opp, factor))

    def _q(self, instrument_id: str, qty: Decimal) -> Decimal:
        info = self.instruments.get(instrument_id)
        return quantize_down(qty, info.lot_size if info else None)

    def _view(self, opp: Opportunity, m: Decimal) -> OrderView:
        notional = (opp.notional * m).quantize(CENT)
        if isinstance(opp, ArbitrageOpportunityDetected):
            return OrderView(
                opportunity_id=opp.opportunity_id, engine=opp.engine, strategy=opp.strategy,
                asset=opp.base, quote=opp.quote, subject=opp.base,
                signed_quantity=self._q("", opp.quantity * m), notional=notional,
                ts_event=opp.ts_event, age_ns=opp.oldest_quote_age_ns, ttl_ns=opp.ttl_ns,
                net_edge_bps=opp.net_edge_bps,
                instrument_ids=tuple(leg.instrument_id for leg in opp.legs),
                quantities=tuple(self._q(leg.instrument_id, leg.native_quantity * m)
                                 for leg in opp.legs),
                reducible=False)
        asset, quote = asset_of(opp.instrument_id)
        if isinstance(opp, ForexSignalDetected):
            qty = self._q(opp.instrument_id, opp.quantity * m)
            return OrderView(
                opportunity_id=opp.opportunity_id, engine=opp.engine, strategy=opp.strategy,
                asset=asset, quote=quote, subject=opp.instrument_id,
                signed_quantity=qty * opp.side.sign, notional=notional, ts_event=opp.ts_event,
                age_ns=opp.quote_age_ns, instrument_ids=(opp.instrument_id,),
                quantities=(qty,))
        stake = (opp.stake * m).quantize(CENT, rounding="ROUND_DOWN")
        return OrderView(
            opportunity_id=opp.opportunity_id, engine=opp.engine, strategy=opp.strategy,
            asset=asset, quote=quote, subject=opp.instrument_id, signed_quantity=stake,
            notional=stake, ts_event=opp.ts_event, age_ns=opp.quote_age_ns,
            net_edge_bps=opp.expected_value * 10_000, instrument_ids=(opp.instrument_id,),
            quantities=(stake,), reducible=False)

    # ---- the intent ----------------------------------------------------------------------
    def _approve(self, opp: Opportunity, policy: Policy, sized: _Sized) -> OrderIntentApproved:
        m, view = sized.factor, sized.view
        intent_id = derived_id("int", opp.opportunity_id)
        common = dict(ts_event=opp.ts_event, intent_id=intent_id,
                      opportunity_id=opp.opportunity_id, engine=opp.engine,
                      strategy=opp.strategy, policy_version=policy.version,
                      notional=view.notional, **opp.caused())
        if isinstance(opp, ArbitrageOpportunityDetected):
            legs = tuple(
                IntentLeg(leg_id=f"leg{i}", instrument_id=leg.instrument_id, side=leg.side,
                          order_type=OrderType.MARKET, quantity=view.quantities[i],
                          base_quantity=self._q(leg.instrument_id, leg.quantity * m))
                for i, leg in enumerate(opp.legs))
            return OrderIntentApproved(
                position_key=f"{opp.engine.value}:{opp.base}:{intent_id}", legs=legs,
                expected_net_pnl=(opp.net_pnl * m).quantize(Decimal("0.00000001")),
                signal_ts=min(leg.quote_ts for leg in opp.legs), **common)
        qty = view.quantities[0]
        if isinstance(opp, ForexSignalDetected):
            side = OrderSide.BUY if opp.side.sign > 0 else OrderSide.SELL
            bracket: Bracket | None = Bracket(take_profit=opp.take_profit,
                                              stop_loss=opp.stop_loss)
        else:
            side = OrderSide.BUY if opp.direction == "CALL" else OrderSide.SELL
            bracket = None
        leg = IntentLeg(leg_id="entry", instrument_id=opp.instrument_id, side=side,
                        order_type=OrderType.MARKET, quantity=qty, base_quantity=qty)
        return OrderIntentApproved(
            position_key=f"{opp.engine.value}:{opp.instrument_id}:{intent_id}", legs=(leg,),
            bracket=bracket, signal_ts=opp.ts_event, **common)

