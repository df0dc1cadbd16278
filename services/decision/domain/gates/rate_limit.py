"""Order rate throttle: at most N intents per rolling window of event time."""
from __future__ import annotations

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext


class RateLimitGate:
    name = "rate_limit"

    def check(self, ctx: GateContext) -> Denial | None:
        n, lim = ctx.snapshot.intents_in_window, ctx.limits
        if lim.max_intents_per_window <= 0 or n < lim.max_intents_per_window:
            return None
        return Denial(DenialReason.RATE_LIMIT,
                      f"{n} intents in {lim.rate_window_ns / 1e9:.0f} s >= "
                      f"{lim.max_intents_per_window}")
