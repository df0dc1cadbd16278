"""Unit conversion between a venue's native size and base-asset quantity. Pure."""
from __future__ import annotations

from decimal import Decimal

from libs.common.enums import InstrumentKind


def to_base(native: Decimal, price: Decimal, kind: InstrumentKind,
            contract_size: Decimal | None = None) -> Decimal:
    """Base units held by `native` size at `price` (INVERSE: contracts x contract_size / price)."""
    if kind is InstrumentKind.INVERSE:
        if contract_size is None:
            raise ValueError("INVERSE instrument needs contract_size")
        return native * contract_size / price
    return native


def to_native(base: Decimal, price: Decimal, kind: InstrumentKind,
              contract_size: Decimal | None = None) -> Decimal:
    """Venue-native size for `base` units at `price` (inverse of `to_base`)."""
    if kind is InstrumentKind.INVERSE:
        if contract_size is None:
            raise ValueError("INVERSE instrument needs contract_size")
        return base * price / contract_size
    return base
