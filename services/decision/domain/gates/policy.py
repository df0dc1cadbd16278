"""Policy: learning can switch a strategy off."""
from __future__ import annotations

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext


class PolicyGate:
    name = "policy"

    def check(self, ctx: GateContext) -> Denial | None:
        if ctx.policy.enabled:
            return None
        return Denial(DenialReason.POLICY_DISABLED,
                      f"policy v{ctx.policy.version} disables {ctx.order.strategy}")
