"""The risk gates, one pure module each, and the fixed order the RiskGate runs them in.

Order (the first failing gate names the denial):
 1 kill_switch   2 policy        3 stale           4 min_net_edge    5 max_notional
 6 min_notional  7 daily_loss    8 drawdown        9 loss_streak    10 cooldown
11 max_open_positions           12 exposure       13 rate_limit     14 balance
Cheap, order-independent refusals come first; the ones that depend on shared counters last,
and exposure/open positions/rate are checked again atomically when the slot is reserved.
"""
from __future__ import annotations

from services.decision.domain.gates.balance import BalanceGate
from services.decision.domain.gates.base import (
    DEFAULT_POLICY,
    Denial,
    Gate,
    GateContext,
    OpenPosition,
    OrderView,
    Policy,
    RiskLimits,
    RiskSnapshot,
)
from services.decision.domain.gates.cooldown import CooldownGate
from services.decision.domain.gates.daily_loss import DailyLossGate
from services.decision.domain.gates.drawdown import DrawdownGate
from services.decision.domain.gates.exposure import ExposureGate
from services.decision.domain.gates.kill_switch import KillSwitchGate
from services.decision.domain.gates.loss_streak import LossStreakGate
from services.decision.domain.gates.max_notional import MaxNotionalGate
from services.decision.domain.gates.min_edge import MinNetEdgeGate
from services.decision.domain.gates.min_notional import MinNotionalGate
from services.decision.domain.gates.open_positions import OpenPositionsGate
from services.decision.domain.gates.policy import PolicyGate
from services.decision.domain.gates.rate_limit import RateLimitGate
from services.decision.domain.gates.stale import StaleGate

GATE_ORDER: tuple[Gate, ...] = (
    KillSwitchGate(), PolicyGate(), StaleGate(), MinNetEdgeGate(), MaxNotionalGate(),
    MinNotionalGate(), DailyLossGate(), DrawdownGate(), LossStreakGate(), CooldownGate(),
    OpenPositionsGate(), ExposureGate(), RateLimitGate(), BalanceGate(),
)

# Re-checked on the fresh shared state inside the atomic reservation.
RESERVATION_GATES: tuple[Gate, ...] = (OpenPositionsGate(), ExposureGate(), RateLimitGate())


def first_denial(ctx: GateContext, gates: tuple[Gate, ...] = GATE_ORDER) -> Denial | None:
    """Run `gates` in order; the first refusal, or None if every gate passes."""
    for gate in gates:
        denial = gate.check(ctx)
        if denial is not None:
            return denial
    return None


__all__ = [
    "DEFAULT_POLICY", "GATE_ORDER", "RESERVATION_GATES", "BalanceGate", "CooldownGate",
    "DailyLossGate", "Denial", "DrawdownGate", "ExposureGate", "Gate", "GateContext",
    "KillSwitchGate", "LossStreakGate", "MaxNotionalGate", "MinNetEdgeGate", "MinNotionalGate",
    "OpenPosition", "OpenPositionsGate", "OrderView", "Policy", "PolicyGate", "RateLimitGate",
    "RiskLimits", "RiskSnapshot", "StaleGate", "first_denial",
]
