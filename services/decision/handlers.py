"""Decision handler: validate (done by the bus), call the risk gate, say where results go."""
from __future__ import annotations

from collections.abc import Sequence

from libs.common.bus import Handler, Output
from libs.common.events import (
    ArbitrageOpportunityDetected,
    BinarySignalDetected,
    Event,
    ForexSignalDetected,
    InstrumentsUpdated,
    KillSwitchSet,
    OrderDenied,
    PolicyUpdated,
    PositionUpdated,
    TradeClosed,
)
from libs.common.streams import DECISIONS_REJECTED, ORDERS_INTENTS
from services.decision.domain.risk import RiskGate


def make_handler(gate: RiskGate) -> Handler:
    async def handle(stream: str, event: Event) -> Sequence[Output]:
        if isinstance(event, ArbitrageOpportunityDetected | ForexSignalDetected
                      | BinarySignalDetected):
            result = await gate.decide(event)
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
        elif isinstance(event, PolicyUpdated):
            gate.on_policy(event)
        elif isinstance(event, InstrumentsUpdated):
            gate.on_instruments(event)
        return []

    return handle
