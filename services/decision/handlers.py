"""Decision handler: validate (done by the bus), call the risk gate, say where results go.

Beside the gate: the agents choose in shadow for every opportunity (and, only when
`agent_enabled`, an agent skip becomes a denial); closed trades reward the agents and feed the
governor, whose allocation caps each engine's notional and is published when it moves."""
from __future__ import annotations

from collections.abc import Sequence

from libs.common.bus import Handler, Output
from libs.common.enums import DenialReason
from libs.common.events import (
    ArbitrageOpportunityDetected,
    BinarySignalDetected,
    Event,
    ForexSignalDetected,
    InstrumentsUpdated,
    KillSwitchSet,
    OrderDenied,
    OrderIntentApproved,
    PolicyUpdated,
    PositionUpdated,
    TradeClosed,
)
from libs.common.streams import DECISIONS_ALLOCATIONS, DECISIONS_REJECTED, ORDERS_INTENTS
from services.decision.domain.agents import AgentBook
from services.decision.domain.governor import Governor, apply_allocation
from services.decision.domain.risk import Opportunity, RiskGate


def make_handler(gate: RiskGate, governor: Governor | None = None,
                 agents: AgentBook | None = None, enforce_allocation: bool = True) -> Handler:
    base_limits = gate.limits

    async def decide(opp: Opportunity) -> OrderIntentApproved | OrderDenied | None:
        if agents is None or opp.opportunity_id in gate.seen:
            return await gate.decide(opp)
        choice = agents.choose(opp, gate.open_positions)
        if agents.enabled and not choice.take:
            gate.seen.add(opp.opportunity_id)
            return OrderDenied(ts_event=opp.ts_event, opportunity_id=opp.opportunity_id,
                               engine=opp.engine, strategy=opp.strategy,
                               reason=DenialReason.POLICY_DISABLED,
                               detail=f"agent v{choice.policy_version} skip",
                               policy_version=gate.policy_for(opp.engine, opp.strategy).version,
                               **opp.caused())
        result = await gate.decide(opp)
        if result is not None:
            agents.record_baseline(opp.opportunity_id, isinstance(result, OrderIntentApproved))
        return result

    async def handle(stream: str, event: Event) -> Sequence[Output]:
        if isinstance(event, ArbitrageOpportunityDetected | ForexSignalDetected
                      | BinarySignalDetected):
            result = await decide(event)
            if result is None:
                return []
            return [(DECISIONS_REJECTED if isinstance(result, OrderDenied) else ORDERS_INTENTS,
                     result)]
        if isinstance(event, KillSwitchSet):
            await gate.on_kill_switch(event)
        elif isinstance(event, PositionUpdated):
            await gate.on_position(event)
        elif isinstance(event, TradeClosed):
            await gate.on_trade(event)
            if agents is not None:
                agents.on_trade(event)
            if governor is not None:
                allocation = governor.on_trade(event)
                if allocation is not None:
                    if enforce_allocation:
                        gate.limits = apply_allocation(base_limits, allocation)
                    return [(DECISIONS_ALLOCATIONS, allocation)]
        elif isinstance(event, PolicyUpdated):
            gate.on_policy(event)
        elif isinstance(event, InstrumentsUpdated):
            gate.on_instruments(event)
        return []

    return handle
