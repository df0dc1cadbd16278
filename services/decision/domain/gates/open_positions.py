"""Maximum number of open (or reserved) positions across all three engines."""
from __future__ import annotations

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext


class OpenPositionsGate:
    name = "max_open_positions"

    def check(self, ctx: GateContext) -> Denial | None:
        n, cap = len(ctx.snapshot.positions), ctx.limits.max_open_positions
        if ctx.is_reducing() or n < cap:
            return None
        return Denial(DenialReason.MAX_OPEN_POSITIONS, f"{n} open >= {cap}")
