"""Drawdown from the equity peak; equity = starting equity + realized + unrealized PnL."""
from __future__ import annotations

from decimal import Decimal

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext, money


class DrawdownGate:
    name = "drawdown"

    def check(self, ctx: GateContext) -> Denial | None:
        limit = ctx.limits.max_drawdown_pct
        if limit <= 0:
            return None
        s = ctx.snapshot
        pnl = s.realized_pnl + s.unrealized_pnl
        peak = ctx.limits.equity + max(s.pnl_peak, pnl)
        equity = ctx.limits.equity + pnl
        if peak <= 0:
            return Denial(DenialReason.DRAWDOWN, f"equity peak {money(peak)} <= 0")
        dd = (peak - equity) / peak * Decimal(100)
        if dd < limit:
            return None
        return Denial(DenialReason.DRAWDOWN,
                      f"drawdown {dd:.2f}% (equity {money(equity)} from peak {money(peak)}) "
                      f">= limit {limit}%")
