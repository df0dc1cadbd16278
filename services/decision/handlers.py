"""Decision handler: validate (done by the bus), call the risk gate, say where results go."""
from __future__ import annotations

from collections.abc import Sequence

from libs.common.bus import Handler, Output
from libs.common.events import (
    ArbitrageOpportunityDetected,
    Event,
    ForexSignalDetected,
    KillSwitchSet,
    OrderDenied,
    PolicyUpdated,
    PositionUpdated,
)
from libs.common.streams import DECISIONS_REJECTED, ORDERS_INTENTS
from services.decision.domain.risk import RiskGate


def make_handler(gate: RiskGate) -> Handler:
    async def handle(stream: str, event: Event) -> Sequence[Output]:
        if isinstance(event, ArbitrageOpportunityDetected | ForexSignalDetected):
            result = gate.decide(event)
            if result is None:
                return []
            return [(DECISIONS_REJECTED if isinstance(result, OrderDenied) else ORDERS_INTENTS,
                     result)]
        if isinstance(event, PositionUpdated):
            gate.on_position(event)
        elif isinstance(event, PolicyUpdated):
            gate.on_policy(event)
        elif isinstance(event, KillSwitchSet):
            gate.on_kill_switch(event)
        return []

    return handle
