"""Exposure: sum of |notional| of open positions, per asset and portfolio-wide."""
from __future__ import annotations

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext, money


class ExposureGate:
    name = "exposure"

    def check(self, ctx: GateContext) -> Denial | None:
        if ctx.is_reducing():
            return None
        o, lim, s = ctx.order, ctx.limits, ctx.snapshot
        if lim.max_asset_exposure > 0:
            now = s.asset_exposure(o.asset)
            if now + o.notional > lim.max_asset_exposure:
                return Denial(DenialReason.EXPOSURE,
                              f"{o.asset} exposure {money(now)} + {money(o.notional)} > "
                              f"limit {money(lim.max_asset_exposure)}")
        if lim.max_total_exposure > 0:
            now = s.total_exposure
            if now + o.notional > lim.max_total_exposure:
                return Denial(DenialReason.EXPOSURE,
                              f"portfolio exposure {money(now)} + {money(o.notional)} > "
                              f"limit {money(lim.max_total_exposure)}")
        return None
