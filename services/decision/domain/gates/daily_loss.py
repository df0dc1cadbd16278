"""Daily loss limit: realized PnL of the UTC day of the opportunity's ts_event."""
from __future__ import annotations

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext, money


class DailyLossGate:
    name = "daily_loss"

    def check(self, ctx: GateContext) -> Denial | None:
        limit = ctx.limits.max_daily_loss
        loss = -ctx.snapshot.day_pnl
        if limit <= 0 or loss < limit:
            return None
        return Denial(DenialReason.DAILY_LOSS, f"daily loss {money(loss)} >= limit {money(limit)}")
