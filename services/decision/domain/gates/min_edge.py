"""Minimum net edge after every cost (fees, transfer, gas), for opportunities that state one."""
from __future__ import annotations

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext


class MinNetEdgeGate:
    name = "min_net_edge"

    def check(self, ctx: GateContext) -> Denial | None:
        edge = ctx.order.net_edge_bps
        floor = ctx.limits.min_net_edge_bps
        if edge is None or edge >= floor:
            return None
        return Denial(DenialReason.MIN_NET_EDGE, f"net edge {edge:.2f} bps < {floor} bps")
