"""Walking one side of an order book for a base quantity: the price a market order would get."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from libs.common.enums import InstrumentKind
from libs.common.instruments import to_base, to_native

Level = tuple[Decimal, Decimal]  # (price, size in the venue's native unit), as in OrderBookUpdated

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class BookWalk:
    """What taking `requested` base units from one side of a book would fill, and at what price.

    `quantity` < `requested` exactly when `depth_exhausted`: the levels given ran out first.
    `notional` is in quote units (sum of price x base units per level), `vwap` = notional /
    quantity. `native_quantity` is in the venue's size unit (contracts for INVERSE; a partly
    taken level gives fractional contracts, lot sizes are not applied here).
    """

    requested: Decimal
    quantity: Decimal
    native_quantity: Decimal
    notional: Decimal
    vwap: Decimal
    best_price: Decimal
    levels_used: int
    depth_exhausted: bool


def walk_book(levels: Sequence[Level], quantity: Decimal, kind: InstrumentKind,
              contract_size: Decimal | None = None) -> BookWalk | None:
    """Take `quantity` base units from `levels` (best first). None when it holds nothing.

    INVERSE levels are converted at each level's own price (contracts x contract_size / price),
    so the quote notional of a fully taken inverse level is exactly contracts x contract_size.
    """
    if quantity <= 0:
        raise ValueError(f"walk quantity must be positive, got {quantity}")
    if not levels:
        return None
    inverse = kind is InstrumentKind.INVERSE
    cs = _ZERO
    if inverse:
        if contract_size is None:
            raise ValueError("INVERSE instrument needs contract_size")
        cs = contract_size
    remaining = quantity
    native = _ZERO
    notional = _ZERO
    used = 0
    for price, size in levels:
        used += 1
        level_base = to_base(size, price, kind, cs) if inverse else size
        if level_base >= remaining:
            native += to_native(remaining, price, kind, cs) if inverse else remaining
            notional += remaining * price
            remaining = _ZERO
            break
        native += size
        # price x (contracts x cs / price) is contracts x cs: computed so, it stays exact.
        notional += size * cs if inverse else size * price
        remaining -= level_base
    filled = quantity - remaining
    if filled <= 0:
        return None
    return BookWalk(
        requested=quantity,
        quantity=filled,
        native_quantity=native,
        notional=notional,
        vwap=notional / filled,
        best_price=levels[0][0],
        levels_used=used,
        depth_exhausted=remaining > 0,
    )


def available_base(levels: Sequence[Level], kind: InstrumentKind,
                   contract_size: Decimal | None = None) -> Decimal:
    """Total base units resting on `levels`."""
    if kind is InstrumentKind.INVERSE:
        return sum((to_base(s, p, kind, contract_size) for p, s in levels if s > 0), _ZERO)
    return sum((s for _, s in levels if s > 0), _ZERO)


def walk_native(levels: Sequence[Level], native: Decimal, kind: InstrumentKind,
                contract_size: Decimal | None = None) -> BookWalk | None:
    """Take `native` venue units (contracts for INVERSE) from `levels`, best first.

    Used to price a whole number of contracts: the base quantity then follows from each
    level's price. For SPOT/LINEAR native units are base units and this is `walk_book`.
    """
    if kind is not InstrumentKind.INVERSE:
        return walk_book(levels, native, kind, contract_size)
    if native <= 0:
        raise ValueError(f"walk quantity must be positive, got {native}")
    if contract_size is None:
        raise ValueError("INVERSE instrument needs contract_size")
    if not levels:
        return None
    remaining = native
    base = _ZERO
    used = 0
    for price, size in levels:
        used += 1
        take = min(size, remaining)
        base += to_base(take, price, kind, contract_size)
        remaining -= take
        if remaining <= 0:
            break
    taken = native - remaining
    if taken <= 0:
        return None
    notional = taken * contract_size
    short = to_base(remaining, levels[-1][0], kind, contract_size) if remaining > 0 else _ZERO
    return BookWalk(requested=base + short,
                    quantity=base, native_quantity=taken, notional=notional,
                    vwap=notional / base, best_price=levels[0][0], levels_used=used,
                    depth_exhausted=remaining > 0)


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """`value` rounded down to a whole multiple of `step` (> 0): the size a venue accepts."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    return (value // step) * step
