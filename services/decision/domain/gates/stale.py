"""Staleness: the quotes priced on are too old, or the opportunity's time-to-live ran out."""
from __future__ import annotations

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext


class StaleGate:
    name = "stale"

    def check(self, ctx: GateContext) -> Denial | None:
        o, lim = ctx.order, ctx.limits
        if o.age_ns > lim.max_quote_age_ns:
            return Denial(DenialReason.STALE_QUOTE,
                          f"oldest quote {o.age_ns / 1e6:.1f} ms old > "
                          f"{lim.max_quote_age_ns / 1e6:.0f} ms")
        if o.ttl_ns and ctx.now_ns > o.ts_event + o.ttl_ns:
            return Denial(DenialReason.STALE_QUOTE,
                          f"age {(ctx.now_ns - o.ts_event) / 1e6:.1f} ms > "
                          f"ttl {o.ttl_ns / 1e6:.1f} ms")
        return None
