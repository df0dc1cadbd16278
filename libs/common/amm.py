"""Constant-product (Uniswap V2) pool maths in integers, exactly as the chain computes it. Pure.

Uniswap V2's `UniswapV2Library.getAmountOut` charges its 0.3% fee as
``amountInWithFee = amountIn * 997`` and pays
``amountInWithFee * reserveOut // (reserveIn * 1000 + amountInWithFee)``. Here the fee is a
parameter in basis points over a denominator of 10,000, so 30 bps computes
``amountIn * 9970 * reserveOut // (reserveIn * 10000 + amountIn * 9970)``: both numerator and
denominator are V2's times ten, so the floor is the same integer for every input, and forks
with other fees (25 bps, 20 bps...) are covered without rounding of their own.

Like the Solidity code, every function works on raw token units (no decimals), floors where
V2 floors, refuses what V2 reverts on (zero amounts, empty reserves, an output that would drain
the pool) and refuses intermediate values above 2**256 - 1, where the EVM's checked arithmetic
reverts. Prices and price impact, which the chain never computes, are exact `Fraction`s.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

FEE_DENOMINATOR = 10_000
UNISWAP_V2_FEE_BPS = 30
UINT256_MAX = 2**256 - 1
UINT112_MAX = 2**112 - 1


class AmmError(ValueError):
    """A swap the pool contract would revert; the name says which check fails."""


class InsufficientInputAmount(AmmError):
    """amount in is zero (V2: INSUFFICIENT_INPUT_AMOUNT)."""


class InsufficientOutputAmount(AmmError):
    """amount out is zero (V2: INSUFFICIENT_OUTPUT_AMOUNT)."""


class InsufficientLiquidity(AmmError):
    """A reserve is empty, or the output would take the whole reserve (INSUFFICIENT_LIQUIDITY)."""


class ArithmeticOverflow(AmmError):
    """An intermediate product exceeds uint256: the EVM reverts on it."""


class InvalidPath(AmmError):
    """A multi-hop path with no hop (V2: INVALID_PATH)."""


def _uint(name: str, value: int) -> int:
    # bool is an int in Python; an amount is never a bool.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int (raw token units), got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    if value > UINT256_MAX:
        raise ArithmeticOverflow(f"{name} {value} does not fit in uint256")
    return value


def _fee(fee_bps: int) -> int:
    if not isinstance(fee_bps, int) or isinstance(fee_bps, bool):
        raise TypeError(f"fee_bps must be an int, got {type(fee_bps).__name__}")
    if not 0 <= fee_bps < FEE_DENOMINATOR:
        raise ValueError(f"fee_bps must be in [0, {FEE_DENOMINATOR}), got {fee_bps}")
    return fee_bps


def _checked(value: int) -> int:
    if value > UINT256_MAX:
        raise ArithmeticOverflow("intermediate value exceeds uint256; the EVM would revert")
    return value


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int,
                   fee_bps: int = UNISWAP_V2_FEE_BPS) -> int:
    """Output of swapping `amount_in` into a pool holding (`reserve_in`, `reserve_out`).

    Raises InsufficientInputAmount (amount_in == 0), InsufficientLiquidity (a reserve is 0) or
    ArithmeticOverflow, where `UniswapV2Library.getAmountOut` reverts.
    """
    amount_in = _uint("amount_in", amount_in)
    reserve_in = _uint("reserve_in", reserve_in)
    reserve_out = _uint("reserve_out", reserve_out)
    fee_bps = _fee(fee_bps)
    if amount_in == 0:
        raise InsufficientInputAmount("amount_in must be > 0")
    if reserve_in == 0 or reserve_out == 0:
        raise InsufficientLiquidity("pool has an empty reserve")
    amount_in_with_fee = _checked(amount_in * (FEE_DENOMINATOR - fee_bps))
    numerator = _checked(amount_in_with_fee * reserve_out)
    denominator = _checked(_checked(reserve_in * FEE_DENOMINATOR) + amount_in_with_fee)
    return numerator // denominator


def get_amount_in(amount_out: int, reserve_in: int, reserve_out: int,
                  fee_bps: int = UNISWAP_V2_FEE_BPS) -> int:
    """Smallest input that yields at least `amount_out` (V2 `getAmountIn`: floor + 1).

    Raises InsufficientOutputAmount (amount_out == 0), InsufficientLiquidity (a reserve is 0, or
    amount_out >= reserve_out: the pool can never pay it) or ArithmeticOverflow.
    """
    amount_out = _uint("amount_out", amount_out)
    reserve_in = _uint("reserve_in", reserve_in)
    reserve_out = _uint("reserve_out", reserve_out)
    fee_bps = _fee(fee_bps)
    if amount_out == 0:
        raise InsufficientOutputAmount("amount_out must be > 0")
    if reserve_in == 0 or reserve_out == 0:
        raise InsufficientLiquidity("pool has an empty reserve")
    if amount_out >= reserve_out:
        raise InsufficientLiquidity(
            f"amount_out {amount_out} >= reserve_out {reserve_out}: the pool cannot pay it")
    numerator = _checked(_checked(reserve_in * amount_out) * FEE_DENOMINATOR)
    denominator = _checked((reserve_out - amount_out) * (FEE_DENOMINATOR - fee_bps))
    return numerator // denominator + 1


def quote(amount_a: int, reserve_a: int, reserve_b: int) -> int:
    """Equivalent amount of B at the pool's ratio, no fee, no impact (V2 `quote`, floored)."""
    amount_a = _uint("amount_a", amount_a)
    reserve_a = _uint("reserve_a", reserve_a)
    reserve_b = _uint("reserve_b", reserve_b)
    if amount_a == 0:
        raise InsufficientInputAmount("amount_a must be > 0")
    if reserve_a == 0 or reserve_b == 0:
        raise InsufficientLiquidity("pool has an empty reserve")
    return _checked(amount_a * reserve_b) // reserve_a


def mid_price(reserve_in: int, reserve_out: int) -> Fraction:
    """Marginal price before fee, in raw units of out per raw unit of in."""
    reserve_in = _uint("reserve_in", reserve_in)
    reserve_out = _uint("reserve_out", reserve_out)
    if reserve_in == 0 or reserve_out == 0:
        raise InsufficientLiquidity("pool has an empty reserve")
    return Fraction(reserve_out, reserve_in)


def price_impact(amount_in: int, reserve_in: int, reserve_out: int,
                 fee_bps: int = UNISWAP_V2_FEE_BPS) -> Fraction:
    """Share of the mid-price value lost on this swap, fee included, in [0, 1).

    Defined as the Uniswap SDKs define it: ``(amount_in * mid - amount_out) / (amount_in * mid)``.
    A tiny swap in a 30 bps pool therefore shows an impact of about 0.003.
    """
    return path_price_impact(amount_in, [Hop(reserve_in, reserve_out, fee_bps)])


@dataclass(frozen=True)
class Hop:
    """One pool on a path, oriented in the direction of the trade."""

    reserve_in: int
    reserve_out: int
    fee_bps: int = UNISWAP_V2_FEE_BPS


def get_amounts_out(amount_in: int, hops: Sequence[Hop]) -> list[int]:
    """Amounts along a path, starting with `amount_in` (V2 `getAmountsOut`)."""
    if not hops:
        raise InvalidPath("a path needs at least one hop")
    amounts = [_uint("amount_in", amount_in)]
    for hop in hops:
        amounts.append(get_amount_out(amounts[-1], hop.reserve_in, hop.reserve_out, hop.fee_bps))
    return amounts


def get_amounts_in(amount_out: int, hops: Sequence[Hop]) -> list[int]:
    """Inputs needed along a path to end with `amount_out`, first hop first (V2 `getAmountsIn`)."""
    if not hops:
        raise InvalidPath("a path needs at least one hop")
    amounts = [_uint("amount_out", amount_out)]
    for hop in reversed(hops):
        amounts.append(get_amount_in(amounts[-1], hop.reserve_in, hop.reserve_out, hop.fee_bps))
    return amounts[::-1]


def path_mid_price(hops: Sequence[Hop]) -> Fraction:
    """Product of the hops' mid prices: raw units of the last token per raw unit of the first."""
    if not hops:
        raise InvalidPath("a path needs at least one hop")
    price = Fraction(1)
    for hop in hops:
        price *= mid_price(hop.reserve_in, hop.reserve_out)
    return price


def path_price_impact(amount_in: int, hops: Sequence[Hop]) -> Fraction:
    """Price impact of `amount_in` along the path, fees included (see `price_impact`)."""
    amount_out = get_amounts_out(amount_in, hops)[-1]
    at_mid = amount_in * path_mid_price(hops)
    return (at_mid - amount_out) / at_mid
