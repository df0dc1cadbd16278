"""Venue rules from InstrumentInfo: minimum quantity, lot size and minimum notional."""
from __future__ import annotations

from libs.common.enums import DenialReason
from services.decision.domain.gates.base import Denial, GateContext, money


class MinNotionalGate:
    name = "min_notional"

    def check(self, ctx: GateContext) -> Denial | None:
        o = ctx.order
        for instrument_id, qty in zip(o.instrument_ids, o.quantities, strict=False):
            info = ctx.instruments.get(instrument_id)
            if info is None:
                continue
            if qty <= 0 or (info.lot_size and qty < info.lot_size):
                return Denial(DenialReason.MIN_NOTIONAL,
                              f"{instrument_id} quantity {qty} < lot {info.lot_size}")
            if info.min_quantity is not None and qty < info.min_quantity:
                return Denial(DenialReason.MIN_NOTIONAL,
                              f"{instrument_id} quantity {qty} < min {info.min_quantity}")
            if info.min_notional is not None and o.notional < info.min_notional:
                return Denial(DenialReason.MIN_NOTIONAL,
                              f"{instrument_id} notional {money(o.notional)} < min "
                              f"{money(info.min_notional)}")
        return None
