"""The risk gate: an opportunity becomes an approved intent or a named denial. Pure."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from libs.common.enums import DenialReason, Engine, OrderSide, OrderType
from libs.common.events import (
    ArbitrageOpportunityDetected,
    Bracket,
    ForexSignalDetected,
    IntentLeg,
    KillSwitchSet,
    OrderDenied,
    OrderIntentApproved,
    PolicyUpdated,
    PositionUpdated,
)
from libs.common.identifiers import derived_id

Opportunity = ArbitrageOpportunityDetected | ForexSignalDetected
QTY_STEP = Decimal("0.00000001")


@dataclass(frozen=True)
class RiskLimits:
    """Limits per engine; quote-currency notionals."""

    max_notional: dict[Engine, Decimal] = field(default_factory=lambda: {
        Engine.ARBITRAGE: Decimal("5000"), Engine.FOREX: Decimal("50000"),
        Engine.BINARY: Decimal("100")})
    max_open_positions: int = 5
    min_net_edge_bps: Decimal = Decimal("0")  # arbitrage must be profitable after fees
    max_quote_age_ns: int = 500_000_000
    kill_switch: bool = False


@dataclass(frozen=True)
class Policy:
    version: int
    enabled: bool
    size_multiplier: Decimal


DEFAULT_POLICY = Policy(version=0, enabled=True, size_multiplier=Decimal(1))


class RiskGate:
    """Checks run in a fixed order and the first failing check names the denial."""

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self.kill_switch = limits.kill_switch
        self.open_positions: dict[str, Decimal] = {}
        self.policies: dict[tuple[Engine, str], Policy] = {}
        self.policy_version = 0
        self.seen: set[str] = set()

    # ---- state from other streams --------------------------------------------------------
    def on_position(self, p: PositionUpdated) -> None:
        if p.quantity == 0:
            self.open_positions.pop(p.position_key, None)
        else:
            self.open_positions[p.position_key] = p.quantity

    def on_policy(self, p: PolicyUpdated) -> None:
        current = self.policies.get((p.engine, p.strategy))
        if current is None or p.version > current.version:
            self.policies[(p.engine, p.strategy)] = Policy(p.version, p.enabled,
                                                           p.size_multiplier)
        self.policy_version = max(self.policy_version, p.version)

    def on_kill_switch(self, k: KillSwitchSet) -> None:
        self.kill_switch = k.active

    def policy_for(self, engine: Engine, strategy: str) -> Policy:
        return self.policies.get((engine, strategy), DEFAULT_POLICY)

    # ---- the gate ------------------------------------------------------------------------
    def decide(self, opp: Opportunity) -> OrderIntentApproved | OrderDenied | None:
        """None for an opportunity already decided (a redelivery)."""
        if opp.opportunity_id in self.seen:
            return None
        self.seen.add(opp.opportunity_id)
        policy = self.policy_for(opp.engine, opp.strategy)
        m = policy.size_multiplier
        notional = (opp.notional * m).quantize(Decimal("0.01"))
        net_bps = opp.net_edge_bps if isinstance(opp, ArbitrageOpportunityDetected) else None
        age = (opp.oldest_quote_age_ns if isinstance(opp, ArbitrageOpportunityDetected)
               else opp.quote_age_ns)

        def deny(reason: DenialReason, detail: str) -> OrderDenied:
            return OrderDenied(ts_event=opp.ts_event, opportunity_id=opp.opportunity_id,
                               engine=opp.engine, strategy=opp.strategy, reason=reason,
                               detail=detail, policy_version=policy.version,
                               net_edge_bps=net_bps, **opp.caused())

        lim = self.limits
        if self.kill_switch:
            return deny(DenialReason.KILL_SWITCH, "kill switch is active")
        if not policy.enabled:
            return deny(DenialReason.POLICY_DISABLED,
                        f"policy v{policy.version} disables {opp.strategy}")
        if age > lim.max_quote_age_ns:
            return deny(DenialReason.STALE_QUOTE,
                        f"oldest quote {age / 1e6:.1f} ms old > "
                        f"{lim.max_quote_age_ns / 1e6:.0f} ms")
        if net_bps is not None and net_bps < lim.min_net_edge_bps:
            return deny(DenialReason.MIN_NET_EDGE,
                        f"net edge {net_bps:.2f} bps < {lim.min_net_edge_bps} bps")
        cap = lim.max_notional.get(opp.engine, Decimal(0))
        if notional > cap:
            return deny(DenialReason.MAX_NOTIONAL, f"notional {notional} > {cap}")
        if len(self.open_positions) >= lim.max_open_positions:
            return deny(DenialReason.MAX_OPEN_POSITIONS,
                        f"{len(self.open_positions)} open >= {lim.max_open_positions}")
        return self._approve(opp, policy)

    def _approve(self, opp: Opportunity, policy: Policy) -> OrderIntentApproved:
        m = policy.size_multiplier
        intent_id = derived_id("int", opp.opportunity_id)
        if isinstance(opp, ArbitrageOpportunityDetected):
            legs = tuple(
                IntentLeg(leg_id=f"leg{i}", instrument_id=leg.instrument_id, side=leg.side,
                          order_type=OrderType.MARKET,
                          quantity=_q(leg.native_quantity * m), base_quantity=_q(leg.quantity * m))
                for i, leg in enumerate(opp.legs))
            return OrderIntentApproved(
                ts_event=opp.ts_event, intent_id=intent_id, opportunity_id=opp.opportunity_id,
                engine=opp.engine, strategy=opp.strategy, policy_version=policy.version,
                position_key=f"{opp.engine.value}:{opp.base}:{intent_id}", legs=legs,
                notional=(opp.notional * m).quantize(Decimal("0.01")),
                expected_net_pnl=(opp.net_pnl * m).quantize(Decimal("0.00000001")),
                signal_ts=min(leg.quote_ts for leg in opp.legs), **opp.caused())
        side = OrderSide.BUY if opp.side in (OrderSide.BUY, OrderSide.LONG) else OrderSide.SELL
        qty = _q(opp.quantity * m)
        leg = IntentLeg(leg_id="entry", instrument_id=opp.instrument_id, side=side,
                        order_type=OrderType.MARKET, quantity=qty, base_quantity=qty)
        return OrderIntentApproved(
            ts_event=opp.ts_event, intent_id=intent_id, opportunity_id=opp.opportunity_id,
            engine=opp.engine, strategy=opp.strategy, policy_version=policy.version,
            position_key=f"{opp.engine.value}:{opp.instrument_id}:{intent_id}", legs=(leg,),
            bracket=Bracket(take_profit=opp.take_profit, stop_loss=opp.stop_loss),
            notional=(opp.notional * m).quantize(Decimal("0.01")), signal_ts=opp.ts_event,
            **opp.caused())


def _q(x: Decimal) -> Decimal:
    return x.quantize(QTY_STEP, rounding=ROUND_DOWN)
