"""Balance: the configured balance of the engine's quote currency, less open notional."""
from __future__ import annotations

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext, money


class BalanceGate:
    name = "balance"

    def check(self, ctx: GateContext) -> Denial | None:
        o = ctx.order
        key = f"{o.engine.value}:{o.quote}"
        balance = ctx.limits.balances.get(key)
        if balance is None or ctx.is_reducing():
            return None
        available = balance - ctx.snapshot.open_notional(o.engine, o.quote)
        if o.notional <= available:
            return None
        return Denial(DenialReason.INSUFFICIENT_BALANCE,
                      f"{key} available {money(available)} (balance {money(balance)}) < "
                      f"notional {money(o.notional)}")
