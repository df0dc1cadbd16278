"""Kill switch: HALTED lets nothing through; REDUCING only what shrinks an open position."""
from __future__ import annotations

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext


class KillSwitchGate:
    name = "kill_switch"

    def check(self, ctx: GateContext) -> Denial | None:
        s = ctx.snapshot
        if not s.kill_active:
            return None
        if not s.reduce_only:
            return Denial(DenialReason.KILL_SWITCH, "kill switch is active (HALTED)")
        if ctx.is_reducing():
            return None
        return Denial(DenialReason.REDUCE_ONLY,
                      f"kill switch is REDUCING and {ctx.order.subject} "
                      f"{ctx.order.signed_quantity:+} does not reduce an open position")
