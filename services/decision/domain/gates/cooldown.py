"""Cooldown: T seconds of event time after any losing trade."""
from __future__ import annotations

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext


class CooldownGate:
    name = "cooldown"

    def check(self, ctx: GateContext) -> Denial | None:
        t, last = ctx.limits.cooldown_after_loss_ns, ctx.snapshot.last_loss_ts
        if t <= 0 or last is None:
            return None
        since = ctx.order.ts_event - last
        if since >= t:
            return None
        return Denial(DenialReason.COOLDOWN,
                      f"{since / 1e9:.1f} s since last loss < cooldown {t / 1e9:.1f} s")
