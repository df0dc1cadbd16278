"""Maximum notional of one order, per engine."""
from __future__ import annotations

from decimal import Decimal

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext, money


class MaxNotionalGate:
    name = "max_notional"

    def check(self, ctx: GateContext) -> Denial | None:
        cap = ctx.limits.max_notional.get(ctx.order.engine, Decimal(0))
        if ctx.order.notional <= cap:
            return None
        return Denial(DenialReason.MAX_NOTIONAL,
                      f"notional {money(ctx.order.notional)} > {money(cap)}")
