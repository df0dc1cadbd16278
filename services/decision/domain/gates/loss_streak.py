"""Loss streak: after N consecutive losing trades, pause until a pause time has passed."""
from __future__ import annotations

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext


class LossStreakGate:
    name = "loss_streak"

    def check(self, ctx: GateContext) -> Denial | None:
        n, s = ctx.limits.max_loss_streak, ctx.snapshot
        if n <= 0 or s.loss_streak < n or s.last_loss_ts is None:
            return None
        until = s.last_loss_ts + ctx.limits.loss_streak_pause_ns
        if ctx.order.ts_event >= until:
            return None
        return Denial(DenialReason.LOSS_STREAK,
                      f"{s.loss_streak} losing trades in a row >= {n}; paused "
                      f"{(until - ctx.order.ts_event) / 1e9:.1f} s more")
