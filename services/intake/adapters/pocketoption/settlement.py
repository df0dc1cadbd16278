"""Fixed-expiry binary option settlement on a recorded price path. Pure: no I/O, no clock.

Rules (README.md has the sources):

- the order is accepted `latency_ns` after it is requested: `open_ts = requested_ts + latency`;
- the entry price is the price in force at `open_ts`: the last point with `ts <= open_ts`;
- the option expires at `expiry_ts = open_ts + expiry_s`; the close price is the price in
  force at `expiry_ts`, found the same way;
- CALL wins if close > entry, PUT wins if close < entry, close == entry is a tie;
- profit: win `+stake * payout_pct / 100`, loss `-stake`, tie `0` (the stake comes back).

The payout percentage is the one in force when the option is opened. Amounts are exact
Decimals; no rounding to cents is applied (the broker's rounding rule is not documented).
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from libs.common.errors import InvalidOrder, TrifectaError

NS_PER_S = 1_000_000_000
HUNDRED = Decimal(100)


class Direction(StrEnum):
    CALL = "CALL"  # wins if the price ends strictly higher
    PUT = "PUT"  # wins if the price ends strictly lower


class Outcome(StrEnum):
    WIN = "WIN"
    LOSS = "LOSS"
    TIE = "TIE"


class NoPriceAtOpen(InvalidOrder):
    """No price is in force at the open time (before the first point, or too old)."""


class SettlementUnavailable(TrifectaError):
    """The path does not reach the expiry yet: the close price cannot be known."""


@dataclass(frozen=True, slots=True)
class PricePoint:
    ts_ns: int
    price: Decimal


class PricePath:
    """One asset's prices in time order; `at(ts)` is the price in force at `ts`."""

    __slots__ = ("_points", "_ts")

    def __init__(self, points: Sequence[PricePoint]) -> None:
        for prev, cur in zip(points, points[1:], strict=False):
            if cur.ts_ns < prev.ts_ns:
                raise ValueError(f"price path goes back in time at {cur.ts_ns}")
        for p in points:
            if not p.price.is_finite() or p.price <= 0:
                raise ValueError(f"price {p.price} at {p.ts_ns} is not positive")
        self._points = tuple(points)
        self._ts = [p.ts_ns for p in points]

    def __len__(self) -> int:
        return len(self._points)

    @property
    def first_ts(self) -> int | None:
        return self._ts[0] if self._ts else None

    @property
    def last_ts(self) -> int | None:
        return self._ts[-1] if self._ts else None

    def at(self, ts_ns: int) -> PricePoint | None:
        """The last point with `ts_ns <= ts` (the latest of equal times), or None."""
        i = bisect_right(self._ts, ts_ns)
        return self._points[i - 1] if i else None


@dataclass(frozen=True, slots=True)
class SettlementRules:
    """How an order meets the path. `max_quote_age_ns`: refuse an entry priced on an older
    point (None: any age)."""

    latency_ns: int = 0
    max_quote_age_ns: int | None = None

    def __post_init__(self) -> None:
        if self.latency_ns < 0:
            raise ValueError("latency_ns must be >= 0")
        if self.max_quote_age_ns is not None and self.max_quote_age_ns < 0:
            raise ValueError("max_quote_age_ns must be >= 0")


@dataclass(frozen=True, slots=True)
class OptionRequest:
    option_id: str
    symbol: str
    direction: Direction
    stake: Decimal
    payout_pct: Decimal
    expiry_s: int
    requested_ts_ns: int

    def __post_init__(self) -> None:
        if not self.stake.is_finite() or self.stake <= 0:
            raise InvalidOrder(f"{self.option_id}: stake {self.stake} must be positive")
        if not self.payout_pct.is_finite() or self.payout_pct < 0:
            raise InvalidOrder(f"{self.option_id}: payout {self.payout_pct}% must be >= 0")
        if self.expiry_s <= 0:
            raise InvalidOrder(f"{self.option_id}: expiry {self.expiry_s} s must be positive")


@dataclass(frozen=True, slots=True)
class OpenedOption:
    """An accepted option: entry priced, expiry time fixed."""

    request: OptionRequest
    open_ts_ns: int
    expiry_ts_ns: int
    entry_price: Decimal
    entry_tick_ts_ns: int


@dataclass(frozen=True, slots=True)
class OptionSettlement:
    """The result of one option. `pnl` is the profit (+), the lost stake (-) or 0 on a tie;
    `returned` is what goes back to the balance (stake + profit on a win, stake on a tie)."""

    opened: OpenedOption
    close_price: Decimal
    close_tick_ts_ns: int
    outcome: Outcome
    pnl: Decimal
    returned: Decimal


def outcome_of(direction: Direction, entry: Decimal, close: Decimal) -> Outcome:
    """CALL wins strictly above the entry, PUT strictly below; equal is a tie."""
    if close == entry:
        return Outcome.TIE
    up = close > entry
    return Outcome.WIN if up == (direction is Direction.CALL) else Outcome.LOSS


def pnl_of(outcome: Outcome, stake: Decimal, payout_pct: Decimal) -> Decimal:
    """Win: stake x payout% / 100; loss: -stake; tie: 0."""
    if outcome is Outcome.WIN:
        return stake * payout_pct / HUNDRED
    if outcome is Outcome.LOSS:
        return -stake
    return Decimal(0)


def open_option(path: PricePath, request: OptionRequest,
                rules: SettlementRules = SettlementRules()) -> OpenedOption:
    """Price the entry; NoPriceAtOpen if no (fresh enough) price is in force at the open."""
    open_ts = request.requested_ts_ns + rules.latency_ns
    entry = path.at(open_ts)
    if entry is None:
        raise NoPriceAtOpen(f"{request.option_id}: no {request.symbol} price at or before "
                            f"{open_ts} (path starts at {path.first_ts})")
    age = open_ts - entry.ts_ns
    if rules.max_quote_age_ns is not None and age > rules.max_quote_age_ns:
        raise NoPriceAtOpen(f"{request.option_id}: last {request.symbol} price is {age} ns old "
                            f"at the open (limit {rules.max_quote_age_ns})")
    return OpenedOption(request=request, open_ts_ns=open_ts,
                        expiry_ts_ns=open_ts + request.expiry_s * NS_PER_S,
                        entry_price=entry.price, entry_tick_ts_ns=entry.ts_ns)


def settle_option(path: PricePath, opened: OpenedOption) -> OptionSettlement:
    """Settle at the expiry; SettlementUnavailable while the path ends before it.

    A path that ends exactly at the expiry settles: the point at `expiry_ts` is in force.
    """
    last = path.last_ts
    if last is None or last < opened.expiry_ts_ns:
        raise SettlementUnavailable(f"{opened.request.option_id}: path ends at {last}, before "
                                    f"the expiry {opened.expiry_ts_ns}")
    close = path.at(opened.expiry_ts_ns)
    assert close is not None  # the entry point is at or before the expiry
    req = opened.request
    outcome = outcome_of(req.direction, opened.entry_price, close.price)
    pnl = pnl_of(outcome, req.stake, req.payout_pct)
    returned = req.stake + pnl if outcome is not Outcome.LOSS else Decimal(0)
    return OptionSettlement(opened=opened, close_price=close.price, close_tick_ts_ns=close.ts_ns,
                            outcome=outcome, pnl=pnl, returned=returned)


def settle(path: PricePath, request: OptionRequest,
           rules: SettlementRules = SettlementRules()) -> OptionSettlement:
    """Open and settle in one step (backtests over a complete path)."""
    return settle_option(path, open_option(path, request, rules))
