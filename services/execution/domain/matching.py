"""Pure matching rules of the paper venue: walking a book side, and bracket exits on a bar."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from libs.common.enums import InstrumentKind
from libs.common.events import BarClosed
from libs.common.instruments import to_base

ZERO = Decimal(0)


@dataclass(frozen=True)
class BookWalk:
    """What a marketable order takes from one side of a book.

    `quantity` is venue-native (contracts for INVERSE), `base_quantity` is base units and
    `notional` quote units; `price` is the base-weighted VWAP in quote per base unit.
    """

    quantity: Decimal
    base_quantity: Decimal
    notional: Decimal
    levels_taken: int

    @property
    def price(self) -> Decimal:
        return self.notional / self.base_quantity if self.base_quantity else ZERO


def walk_book(levels: Sequence[tuple[Decimal, Decimal]], quantity: Decimal,
              kind: InstrumentKind, contract_size: Decimal | None = None) -> BookWalk:
    """Take up to `quantity` (native units) from `levels` (best first), IOC.

    INVERSE levels size in contracts of `contract_size` quote units: each level adds
    contracts * contract_size / price base units and contracts * contract_size of notional,
    so the VWAP is the base-weighted (harmonic) mean of the level prices.
    """
    inverse = kind is InstrumentKind.INVERSE
    if inverse and contract_size is None:
        raise ValueError("INVERSE instrument needs contract_size")
    cs = contract_size if contract_size is not None else ZERO
    remaining = quantity
    filled = base = notional = ZERO
    taken = 0
    for price, size in levels:
        if remaining <= 0:
            break
        if size <= 0:
            continue
        take = min(size, remaining)
        notional += take * cs if inverse else take * price
        base += to_base(take, price, kind, contract_size)
        filled += take
        remaining -= take
        taken += 1
    return BookWalk(quantity=filled, base_quantity=base, notional=notional, levels_taken=taken)


class ExitKind(StrEnum):
    TAKE_PROFIT = "TAKE_PROFIT"
    STOP_LOSS = "STOP_LOSS"


@dataclass(frozen=True)
class BracketExit:
    """A bracket leg that triggered: which one, at what price, and when in the bar."""

    kind: ExitKind
    price: Decimal
    ts: int
    gap: bool  # the bar opened beyond the level; filled at the open


def bracket_exit(long: bool, take_profit: Decimal, stop_loss: Decimal,
                 bar: BarClosed) -> BracketExit | None:
    """Whether a bracket on an open position exits inside `bar`, and how.

    A long exits by selling, so it is tested on bid prices; a short buys back, on ask
    prices. An open already beyond a level fills at the open (a gap) at `bar.ts_open`,
    because that is the first price traded. Otherwise a touched level fills at the level,
    stamped at the bar close (when it is known). When both levels are touched inside one
    bar the OHLC cannot tell which came first: the stop-loss is assumed, the conservative
    choice, so backtests never flatter a strategy.
    """
    if long:
        o, h, lo = bar.bid_open, bar.bid_high, bar.bid_low
        tp_gapped, sl_gapped = o >= take_profit, o <= stop_loss
        sl_touched, tp_touched = lo <= stop_loss, h >= take_profit
    else:
        o, h, lo = bar.ask_open, bar.ask_high, bar.ask_low
        tp_gapped, sl_gapped = o <= take_profit, o >= stop_loss
        sl_touched, tp_touched = h >= stop_loss, lo <= take_profit
    if tp_gapped:
        return BracketExit(ExitKind.TAKE_PROFIT, o, bar.ts_open, gap=True)
    if sl_gapped:
        return BracketExit(ExitKind.STOP_LOSS, o, bar.ts_open, gap=True)
    if sl_touched:
        return BracketExit(ExitKind.STOP_LOSS, stop_loss, bar.ts_event, gap=False)
    if tp_touched:
        return BracketExit(ExitKind.TAKE_PROFIT, take_profit, bar.ts_event, gap=False)
    return None
